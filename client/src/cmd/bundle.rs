//! `kp bundle`: one self-contained file with every entry of a certificate's
//! or a lot's trail and its proofs to witnessed checkpoints, for `kp verify`.

use super::Global;
use clap::{Args, Subcommand};
use kp_client::input::parse_participant;
use kp_client::{Client, ClientError};
use kp_schemas::model::Subject;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Subcommand)]
pub enum BundleCmd {
    /// The bundle of a certificate.
    Cert {
        /// Certificate number, for example CF-000001.
        number: String,
        #[command(flatten)]
        out: BundleOut,
    },
    /// The bundle of a lot.
    Lot {
        /// Participant code, for example IN.
        #[arg(value_parser = parse_participant)]
        participant: String,
        /// Lot id (may contain `/`).
        lot: String,
        #[command(flatten)]
        out: BundleOut,
    },
}

#[derive(Args)]
pub struct BundleOut {
    /// Where to write the bundle [default: standard output].
    #[arg(long, short, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Seconds to wait for the logs' newest entries to be witnessed, when they
    /// are not yet.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    wait: u64,
}

pub fn run(g: &Global, cmd: &BundleCmd) -> Result<(), ClientError> {
    let (subject, out) = match cmd {
        BundleCmd::Cert { number, out } => (Subject::Certificate { number: number.clone() }, out),
        BundleCmd::Lot { participant, lot, out } => {
            (Subject::Lot { participant: participant.clone(), lot: lot.clone() }, out)
        }
    };
    write(&g.client(), &subject, out)
}

/// Fetch a bundle, waiting while its logs' newest entries are not yet
/// witnessed, and write the node's bytes unchanged.
fn write(client: &Client, subject: &Subject, out: &BundleOut) -> Result<(), ClientError> {
    let deadline = Instant::now() + Duration::from_secs(out.wait);
    let spinner = indicatif::ProgressBar::new_spinner();
    let bytes = loop {
        match client.bundle(subject) {
            Err(ClientError::Api { error, .. }) if error.code == "bundle.unwitnessed" && Instant::now() < deadline => {
                spinner.set_message(format!("waiting for witnesses: {}", error.message));
                spinner.tick();
                std::thread::sleep(Duration::from_millis(500));
            }
            other => break other?,
        }
    };
    spinner.finish_and_clear();
    match &out.out {
        Some(path) => {
            std::fs::write(path, &bytes)
                .map_err(|e| ClientError::input(format!("cannot write {}: {e}", path.display())))?;
            eprintln!(
                "bundle written to {} ({} bytes); check it offline with `kp verify {} --roster ROSTER`",
                path.display(),
                bytes.len(),
                path.display()
            );
        }
        None => {
            let mut o = std::io::stdout().lock();
            let _ = o.write_all(&bytes).and_then(|()| o.flush());
        }
    }
    Ok(())
}
