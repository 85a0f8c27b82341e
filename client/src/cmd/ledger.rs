//! Reading what the node holds: its status and roster, the heads and
//! entries of its logs, evidence, checkpoints, a lot, a certificate.

use super::{Global, json, print, resolve_log};
use clap::Subcommand;
use kp_client::input::parse_participant;
use kp_client::{ClientError, render};
use kp_schemas::Hash32;

#[derive(Subcommand)]
pub enum LotCmd {
    /// A lot's holder, weight left, compliance and origin.
    Show {
        /// Participant code, for example CF.
        #[arg(value_parser = parse_participant)]
        participant: String,
        /// Lot id (may contain `/`).
        lot: String,
    },
}

#[derive(Subcommand)]
pub enum CertCmd {
    /// A certificate's shipment, HS lines and confirmation.
    Show {
        /// Certificate number, for example CF-000001.
        number: String,
    },
    /// Check a paper certificate against the ledger: genuine, unknown number,
    /// details that differ, reported forged, already confirmed or expired
    /// (exit 0 only when genuine and matching, else 1).
    Check(CheckArgs),
    /// Write the printable certificate (HTML with a QR code to its page on the node).
    Print {
        /// Certificate number, for example CF-000001.
        number: String,
        /// Where to write the HTML (stdout without it).
        #[arg(long, value_name = "FILE")]
        out: Option<std::path::PathBuf>,
    },
}

#[derive(clap::Args)]
pub struct CheckArgs {
    /// Certificate number on the paper, for example CF-000001.
    pub number: String,
    /// Exporter on the paper: exporting participant code or exporter name.
    #[arg(long)]
    pub exporter: Option<String>,
    /// Importer on the paper: importing participant code or consignee name.
    #[arg(long)]
    pub importer: Option<String>,
    /// Carats on the paper.
    #[arg(long, value_name = "CARATS")]
    pub carats: Option<String>,
    /// Value in US dollars on the paper.
    #[arg(long, value_name = "USD")]
    pub value: Option<String>,
    /// Number of parcels on the paper.
    #[arg(long, value_name = "N")]
    pub parcels: Option<String>,
    /// Date of issue on the paper.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub issued: Option<String>,
    /// Date of expiry on the paper.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub expires: Option<String>,
    /// The day that decides expiry (the node's date by default).
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = kp_client::input::parse_date)]
    pub today: Option<String>,
}

pub fn status(g: &Global) -> Result<(), ClientError> {
    g.show(&g.client().status()?, render::status_text);
    Ok(())
}

/// The roster's versions, or with `genesis` the signed genesis roster, which
/// is JSON either way: it is a file to keep.
pub fn roster(g: &Global, genesis: bool) -> Result<(), ClientError> {
    if genesis {
        print(&json(&g.client().roster()?));
    } else {
        g.show(&g.client().roster_chain()?, render::roster_chain_text);
    }
    Ok(())
}

pub fn logs(g: &Global) -> Result<(), ClientError> {
    g.show(&g.client().logs()?, |h| render::heads_text(h));
    Ok(())
}

pub fn log(g: &Global, author: &str, from: Option<u64>, limit: Option<u32>) -> Result<(), ClientError> {
    let client = g.client();
    let key = resolve_log(&client, author)?;
    g.show(&client.log_page(&key, from, limit)?, render::log_page_text);
    Ok(())
}

pub fn entry(g: &Global, hash: &Hash32) -> Result<(), ClientError> {
    g.show(&g.client().entry(hash)?, render::entry_text);
    Ok(())
}

/// Equivocations and checkpoint fraud, in one JSON object or two lists.
pub fn evidence(g: &Global) -> Result<(), ClientError> {
    let client = g.client();
    let (equivocations, frauds) = (client.evidence()?, client.checkpoint_evidence()?);
    if g.json {
        print(&json(&serde_json::json!({ "equivocations": equivocations, "checkpoint_frauds": frauds })));
    } else {
        print(&render::evidence_text(&equivocations));
        print(&render::frauds_text(&frauds));
    }
    Ok(())
}

pub fn checkpoints(g: &Global, log: &str, limit: Option<u32>) -> Result<(), ClientError> {
    let client = g.client();
    let key = resolve_log(&client, log)?;
    g.show(&client.checkpoints(&key, limit)?, |c| render::checkpoints_text(c));
    Ok(())
}

pub fn lot(g: &Global, cmd: &LotCmd) -> Result<(), ClientError> {
    let LotCmd::Show { participant, lot } = cmd;
    g.show(&g.client().lot(participant, lot)?, render::lot_text);
    Ok(())
}

/// `kp cert ...`; its exit code: `kp cert check` exits 1 for any verdict
/// but genuine.
pub fn cert(g: &Global, cmd: &CertCmd) -> Result<i32, ClientError> {
    match cmd {
        CertCmd::Show { number } => g.show(&g.client().certificate(number)?, render::cert_text),
        CertCmd::Check(a) => {
            let paper = kp_schemas::check::PaperCertificate {
                exporter: a.exporter.clone(),
                importer: a.importer.clone(),
                carats: a.carats.clone(),
                value: a.value.clone(),
                parcels: a.parcels.clone(),
                issued: a.issued.clone(),
                expires: a.expires.clone(),
            };
            let verdict = g.client().cert_check(&a.number, &paper, a.today.as_deref())?;
            g.show(&verdict, render::cert_check_text);
            if verdict.result != kp_schemas::check::CheckResult::Genuine {
                return Ok(kp_client::exit::REFUSED);
            }
        }
        CertCmd::Print { number, out } => {
            let html = g.client().cert_print(number)?;
            match out {
                Some(path) => std::fs::write(path, html)
                    .map_err(|e| ClientError::input(format!("cannot write {}: {e}", path.display())))?,
                None => print(&html),
            }
        }
    }
    Ok(kp_client::exit::OK)
}
