//! `kp import confirm`: the importing authority confirms a certificate;
//! the shipment becomes a new lot.

use super::{ActAs, Global};
use clap::Subcommand;
use kp_client::input::{parse_carats, parse_date, parse_hash, parse_key, parse_participant};
use kp_client::{ClientError, render};
use kp_schemas::model::{Body, ImportConfirmation, Weight, certificate_participant};
use kp_schemas::{Hash32, PublicKey};

#[derive(Subcommand)]
pub enum ImportCmd {
    /// Confirm a certificate addressed to this node's participant; the shipment becomes a new lot.
    Confirm {
        /// Exporting participant (by default the prefix of the certificate number).
        #[arg(long, value_name = "PARTICIPANT", value_parser = parse_participant)]
        exporter: Option<String>,
        /// Certificate number, for example CF-000001.
        #[arg(long, value_name = "NUMBER")]
        cert: String,
        /// Hash of the certificate's entry (looked up on the node when left out).
        #[arg(long, value_name = "HASH", value_parser = parse_hash)]
        cert_entry: Option<Hash32>,
        /// Carats received.
        #[arg(long, value_name = "CARATS", value_parser = parse_carats)]
        weight: Weight,
        /// Parcels received.
        #[arg(long, value_name = "N")]
        parcels: u32,
        /// The new lot id.
        #[arg(long)]
        lot: String,
        /// The importer licensee who holds the new lot.
        #[arg(long, value_name = "PUBHEX", value_parser = parse_key)]
        holder: PublicKey,
        /// Date of receipt.
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
        date: String,
        #[command(flatten)]
        act: ActAs,
    },
}

pub fn run(g: &Global, cmd: &ImportCmd) -> Result<(), ClientError> {
    let ImportCmd::Confirm { exporter, cert, cert_entry, weight, parcels, lot, holder, date, act } = cmd;
    let client = g.action_client()?;
    let (exporter, certificate_entry) = match cert_entry {
        Some(h) => {
            let exporter = match exporter {
                Some(x) => x.clone(),
                None => certificate_participant(cert)
                    .ok_or_else(|| {
                        ClientError::input(format!(
                            "certificate number `{cert}` does not name its participant; pass --exporter"
                        ))
                    })?
                    .to_string(),
            };
            (exporter, *h)
        }
        None => {
            // The node's own record of the certificate is what the
            // confirmation will be judged against anyway.
            let state = client.certificate(cert)?;
            (exporter.clone().unwrap_or(state.exporter), state.entry)
        }
    };
    let body = Body::ImportConfirmation(ImportConfirmation {
        exporter,
        certificate: cert.clone(),
        certificate_entry,
        weight: *weight,
        parcels: *parcels,
        lot: lot.clone(),
        holder: *holder,
        date: date.clone(),
    });
    let submitted = client.action(act.who.as_deref(), body)?;
    g.show(&submitted, render::submitted_text);
    Ok(())
}
