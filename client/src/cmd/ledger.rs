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

pub fn cert(g: &Global, cmd: &CertCmd) -> Result<(), ClientError> {
    let CertCmd::Show { number } = cmd;
    g.show(&g.client().certificate(number)?, render::cert_text);
    Ok(())
}
