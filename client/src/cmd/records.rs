//! Records a licensee signs with its key file (`--key`) for the node to
//! countersign: production, transfer, export (a KP certificate), laboratory
//! finding.

use super::Global;
use clap::{Args, ValueEnum};
use kp_client::input::{
    parse_carats, parse_date, parse_hash, parse_hs_line, parse_output, parse_participant, parse_take, parse_usd,
};
use kp_client::{ClientError, keyfile, render};
use kp_schemas::entry::sign_record;
use kp_schemas::model::{
    Export, HsLine, LabResult, Nature, Output, Production, RecordBody, Take, Transfer, Weight, ZoneRef,
};
use kp_schemas::{Hash32, Keypair};
use std::path::PathBuf;

#[derive(Args)]
pub struct ProduceArgs {
    /// New lot id, unique in the participant (for example CF/BER/2017/00042).
    #[arg(long)]
    lot: String,
    /// Mine or digging site.
    #[arg(long, value_name = "NAME")]
    site: String,
    /// Zone id, for participants under the zone regime.
    #[arg(long)]
    zone: Option<String>,
    /// Hash of the zone-status entry the production relies on (`kp zones`).
    #[arg(long, value_name = "HASH", requires = "zone", value_parser = parse_hash)]
    zone_status: Option<Hash32>,
    /// Carats, at most two decimals.
    #[arg(long, value_name = "CARATS", value_parser = parse_carats)]
    weight: Weight,
    /// Number of stones.
    #[arg(long, value_name = "N")]
    stones: u32,
    /// Production date.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    date: String,
    /// Synthetic stones (natural by default).
    #[arg(long)]
    synthetic: bool,
    /// Declared value of the production in US dollars (optional): the
    /// production value statistics sum it.
    #[arg(long, value_name = "USD", value_parser = parse_usd)]
    value: Option<u64>,
}

#[derive(Args)]
pub struct TransferArgs {
    /// Input lot and the carats taken from it.
    #[arg(long = "in", value_name = "LOT=CARATS", required = true, num_args = 1.., value_parser = parse_take)]
    inputs: Vec<Take>,
    /// Output lot, its carats and its new holder's key.
    #[arg(long = "out", value_name = "LOT=CARATS@HOLDERKEY", required = true, num_args = 1.., value_parser = parse_output)]
    outputs: Vec<Output>,
    /// Transfer date.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    date: String,
}

#[derive(Args)]
pub struct ExportArgs {
    /// Certificate number, `<exporting participant>-<digits>`, for example CF-000001.
    #[arg(long, value_name = "NUMBER")]
    cert: String,
    /// Importing participant.
    #[arg(long, value_name = "PARTICIPANT", value_parser = parse_participant)]
    to: String,
    /// Consignee in the importing participant.
    #[arg(long, value_name = "NAME")]
    consignee: String,
    /// Input lot and the carats taken from it.
    #[arg(long = "in", value_name = "LOT=CARATS", required = true, num_args = 1.., value_parser = parse_take)]
    inputs: Vec<Take>,
    /// HS line: code, carats and value in US dollars.
    #[arg(long = "hs", value_name = "CODE=CARATS@USD", required = true, num_args = 1.., value_parser = parse_hs_line)]
    lines: Vec<HsLine>,
    /// Number of parcels.
    #[arg(long, value_name = "N")]
    parcels: u32,
    /// Issue date.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    issued: String,
    /// Expiry date.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    expires: String,
}

#[derive(Clone, Copy, ValueEnum)]
enum NatureArg {
    Natural,
    Synthetic,
}

impl From<NatureArg> for Nature {
    fn from(n: NatureArg) -> Self {
        match n {
            NatureArg::Natural => Nature::Natural,
            NatureArg::Synthetic => Nature::Synthetic,
        }
    }
}

#[derive(Args)]
pub struct LabArgs {
    /// The lot examined, in the laboratory's participant.
    #[arg(long)]
    lot: String,
    /// SHA-256 of the report document (hex).
    #[arg(long, value_name = "HEX", value_parser = parse_hash, required_unless_present = "report_file", conflicts_with = "report_file")]
    report_hash: Option<Hash32>,
    /// The report document itself; its SHA-256 is recorded.
    #[arg(long = "report", value_name = "FILE")]
    report_file: Option<PathBuf>,
    /// What the stones are.
    #[arg(long, value_enum)]
    finding: NatureArg,
    /// Free text.
    #[arg(long, value_name = "TEXT", default_value = "")]
    note: String,
}

pub fn produce(g: &Global, a: &ProduceArgs) -> Result<(), ClientError> {
    if a.zone.is_some() && a.zone_status.is_none() {
        eprintln!(
            "note: no --zone-status: under the zone regime the lot will be recorded as non-compliant \
             (`kp zones --participant XX` lists zone-status entries)"
        );
    }
    submit(
        g,
        RecordBody::Production(Production {
            lot: a.lot.clone(),
            site: a.site.clone(),
            zone: a.zone.clone().map(|zone| ZoneRef { zone, status_entry: a.zone_status }),
            weight: a.weight,
            stones: a.stones,
            date: a.date.clone(),
            nature: if a.synthetic { Nature::Synthetic } else { Nature::Natural },
            value_cents: a.value,
        }),
    )
}

pub fn transfer(g: &Global, a: &TransferArgs) -> Result<(), ClientError> {
    submit(
        g,
        RecordBody::Transfer(Transfer { inputs: a.inputs.clone(), outputs: a.outputs.clone(), date: a.date.clone() }),
    )
}

pub fn export(g: &Global, a: &ExportArgs) -> Result<(), ClientError> {
    submit(
        g,
        RecordBody::Export(Export {
            certificate: a.cert.clone(),
            importer: a.to.clone(),
            consignee: a.consignee.clone(),
            inputs: a.inputs.clone(),
            lines: a.lines.clone(),
            parcels: a.parcels,
            issued: a.issued.clone(),
            expires: a.expires.clone(),
        }),
    )
}

pub fn lab(g: &Global, a: &LabArgs) -> Result<(), ClientError> {
    let report_hash = match (&a.report_hash, &a.report_file) {
        (Some(h), _) => *h,
        (None, Some(path)) => {
            let bytes = std::fs::read(path)
                .map_err(|e| ClientError::input(format!("cannot read report {}: {e}", path.display())))?;
            report_hash(&bytes)
        }
        (None, None) => unreachable!("clap requires one of --report-hash and --report"),
    };
    submit(
        g,
        RecordBody::LabResult(LabResult {
            lot: a.lot.clone(),
            report_hash,
            finding: a.finding.into(),
            note: a.note.clone(),
        }),
    )
}

/// The hash of a report document, as a laboratory names it.
fn report_hash(bytes: &[u8]) -> Hash32 {
    kp_schemas::crypto::sha256(&[bytes])
}

/// Sign a record with the licensee key for the node's network and submit
/// it.
fn submit(g: &Global, body: RecordBody) -> Result<(), ClientError> {
    let key = licensee_key(g)?;
    let client = g.client();
    let network = client.status()?.network;
    let signed = sign_record(&network, &key, nonce(), body);
    let submitted = client.submit_record(&signed)?;
    g.show(&submitted, render::submitted_text);
    Ok(())
}

fn licensee_key(g: &Global) -> Result<Keypair, ClientError> {
    let path = g
        .key
        .as_ref()
        .ok_or_else(|| ClientError::input("records are signed by a licensee key: pass --key FILE or set KP_KEY"))?;
    Ok(keyfile::load(path)?)
}

/// Nanoseconds since the epoch: distinct for every record one licensee
/// signs by hand, so equal records (two identical transfers) stay distinct.
fn nonce() -> u64 {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}
