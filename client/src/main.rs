//! `kp`: the kpledger command-line client.
//!
//! Licensees sign records with their key file (`--key`); authorities,
//! monitors and the chair ask their node to sign actions (`--cookie`);
//! anyone reads lots, certificates and trails.
//!
//! This file is the command line: the top-level commands, what runs each
//! (one module per group in `cmd/`), and the exit codes. Exit codes (also in
//! `kp --help`):
//!
//! - 0: success
//! - 1: refused by a ledger rule (the error code starts with R1..R9), a
//!   bundle or Merkle proof `kp verify` finds invalid, or a node's proof
//!   `kp proof` finds does not hold
//! - 2: bad input or usage (a malformed argument, an unreadable key or
//!   cookie file, a 400 without a rule, a missing or wrong cookie)
//! - 3: node unreachable, unavailable or failing (5xx, unreadable answers)
//! - 4: not found (no such entry, lot, certificate, licensee)

mod cmd;

use clap::{Parser, Subcommand};
use cmd::attest::AttestArgs;
use cmd::bundle::BundleCmd;
use cmd::governance::GovernanceCmd;
use cmd::import::ImportCmd;
use cmd::ledger::{CertCmd, LotCmd};
use cmd::licensee::LicenseeCmd;
use cmd::proof::ProofCmd;
use cmd::records::{ExportArgs, LabArgs, ProduceArgs, TransferArgs};
use cmd::stats::{AnomaliesArgs, MirrorArgs, ReportArgs, StatsArgs};
use cmd::trail::TrailCmd;
use cmd::verify::VerifyArgs;
use cmd::zone::ZoneCmd;
use kp_client::input::{parse_hash, parse_participant};
use kp_client::{ClientError, exit};
use kp_schemas::Hash32;
use std::path::PathBuf;
use std::process::ExitCode;

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  refused by a ledger rule (the error code starts with R1..R9), a bundle or
     Merkle proof that `kp verify` finds invalid, or a node's proof that
     `kp proof` finds does not hold (proof.*, merkle.*)
  2  bad input or usage: a malformed argument, an unreadable key or cookie
     file, a request the node calls bad without naming a rule, no or a wrong cookie
  3  node unreachable, unavailable, or failing (5xx or an unreadable answer)
  4  not found: no such entry, lot, certificate, licensee or log

Errors are printed on stderr as `error: <code>: <message>`.
Weights are carats with at most two decimals (12.34); values are US dollars
with at most two decimals; dates are YYYY-MM-DD.";

#[derive(Parser)]
#[command(
    name = "kp",
    version,
    about = "kpledger client: record, confirm and trace rough diamonds under the Kimberley Process"
)]
#[command(after_help = EXIT_CODES)]
struct Cli {
    #[command(flatten)]
    global: cmd::Global,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Create a new key file (mode 0600, never overwritten) and print its public key.
    Keygen {
        /// Where to write the key file.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// The node's network, version, logs and evidence.
    Status,
    /// The roster's versions: the genesis roster and each governance entry since (what it
    /// did), then the participants, keys, nodes, conditions and suspensions now.
    Roster {
        /// Print the signed genesis roster JSON instead: the file nodes start from and
        /// `kp verify --roster` reads.
        #[arg(long)]
        genesis: bool,
    },
    /// The head of every log.
    Logs,
    /// Entries of one log.
    Log {
        /// Author key (hex), or a log name as `kp logs` shows it (`CF` for the CF authority).
        author: String,
        /// First sequence number to show.
        #[arg(long, value_name = "N")]
        from: Option<u64>,
        /// How many entries (the node allows at most 500).
        #[arg(long, value_name = "M")]
        limit: Option<u32>,
    },
    /// One entry by hash.
    Entry {
        /// The entry's hash (64 hex digits).
        #[arg(value_parser = parse_hash)]
        hash: Hash32,
    },
    /// Evidence the node holds: equivocations (two entries at one position of a
    /// log) and checkpoint fraud (a writer signing what cannot be true).
    Evidence,
    /// A log's newest checkpoints: its size and Merkle root signed by its writer,
    /// and which other participants cosigned them.
    Checkpoints {
        /// Author key (hex), or a log name as `kp logs` shows it (`CF` for the CF authority).
        log: String,
        /// How many, newest first.
        #[arg(long, value_name = "N")]
        limit: Option<u32>,
    },
    /// Merkle proofs from the node, verified here before they are shown
    /// (exit 1 when one does not verify).
    #[command(subcommand)]
    Proof(ProofCmd),
    /// Write one self-contained JSON file with every entry of a certificate's or a
    /// lot's trail and its proofs to witnessed checkpoints, for `kp verify BUNDLE`.
    #[command(subcommand)]
    Bundle(BundleCmd),
    /// Record production from a mine (miner licensee, --key).
    Produce(ProduceArgs),
    /// Record an internal hop: take weight from lots, create new lots (--key).
    Transfer(TransferArgs),
    /// Request a KP certificate for an export (exporter licensee, --key).
    Export(ExportArgs),
    /// Record a laboratory finding about a lot (laboratory licensee, --key).
    Lab(LabArgs),
    /// Register, revoke or show licensees.
    #[command(subcommand)]
    Licensee(LicenseeCmd),
    /// Declare a zone's status (monitor action).
    #[command(subcommand)]
    Zone(ZoneCmd),
    /// Zone-status records.
    Zones {
        /// Only this participant's zones.
        #[arg(long, value_parser = parse_participant)]
        participant: Option<String>,
    },
    /// Confirm an import (importing authority action).
    #[command(subcommand)]
    Import(ImportCmd),
    /// Attest about a lot or a certificate (authority or monitor action).
    Attest(AttestArgs),
    /// Admit (under conditions or not), lift conditions, suspend, reinstate; replace a
    /// holder's nodes or signing key; hand the chair over (chair action).
    #[command(subcommand)]
    Governance(GovernanceCmd),
    /// Show a lot.
    #[command(subcommand)]
    Lot(LotCmd),
    /// Show a certificate, check a paper one against the ledger, or print it.
    #[command(subcommand)]
    Cert(CertCmd),
    /// The trail of a lot or a certificate back to every production.
    #[command(subcommand)]
    Trail(TrailCmd),
    /// Check offline, with no node: a bundle against the roster, or one Merkle proof
    /// (exit 0 valid, 1 invalid, 2 unreadable).
    Verify(VerifyArgs),
    /// KP statistics by participant: production, exports and imports, by
    /// partner and HS code, with shares and completeness.
    Stats(StatsArgs),
    /// Mirror statistics: what each exporter certified to each importer
    /// against what the importer confirmed.
    Mirror(MirrorArgs),
    /// A participant's country analysis report (text, Markdown, JSON, CSV).
    Report(ReportArgs),
    /// Anomalies the checks find, with the entries that show them.
    Anomalies(AnomaliesArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            eprintln!("error: {}: {}", e.code(), e.message());
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

/// Run the command; its exit code, or the error whose class decides it
/// ([`ClientError::exit_code`]).
fn run(cli: &Cli) -> Result<i32, ClientError> {
    let g = &cli.global;
    match &cli.cmd {
        Cmd::Keygen { out } => cmd::keygen::run(g, out)?,

        Cmd::Status => cmd::ledger::status(g)?,
        Cmd::Roster { genesis } => cmd::ledger::roster(g, *genesis)?,
        Cmd::Logs => cmd::ledger::logs(g)?,
        Cmd::Log { author, from, limit } => cmd::ledger::log(g, author, *from, *limit)?,
        Cmd::Entry { hash } => cmd::ledger::entry(g, hash)?,
        Cmd::Evidence => cmd::ledger::evidence(g)?,
        Cmd::Checkpoints { log, limit } => cmd::ledger::checkpoints(g, log, *limit)?,
        Cmd::Lot(c) => cmd::ledger::lot(g, c)?,
        Cmd::Cert(c) => return cmd::ledger::cert(g, c),
        Cmd::Proof(c) => cmd::proof::run(g, c)?,
        Cmd::Bundle(c) => cmd::bundle::run(g, c)?,

        Cmd::Produce(a) => cmd::records::produce(g, a)?,
        Cmd::Transfer(a) => cmd::records::transfer(g, a)?,
        Cmd::Export(a) => cmd::records::export(g, a)?,
        Cmd::Lab(a) => cmd::records::lab(g, a)?,

        Cmd::Licensee(c) => cmd::licensee::run(g, c)?,
        Cmd::Zone(c) => cmd::zone::run(g, c)?,
        Cmd::Zones { participant } => cmd::zone::list(g, participant.as_deref())?,
        Cmd::Import(c) => cmd::import::run(g, c)?,
        Cmd::Attest(a) => cmd::attest::run(g, a)?,
        Cmd::Governance(c) => cmd::governance::run(g, c)?,

        Cmd::Trail(c) => cmd::trail::run(g, c)?,
        Cmd::Stats(a) => cmd::stats::stats(g, a)?,
        Cmd::Mirror(a) => cmd::stats::mirror(g, a)?,
        Cmd::Report(a) => cmd::stats::report(g, a)?,
        Cmd::Anomalies(a) => cmd::stats::anomalies(g, a)?,
        // The verdict, not an error, decides: 1 for a bundle or proof found invalid.
        Cmd::Verify(v) => return cmd::verify::run(g, v).map(|valid| if valid { exit::OK } else { exit::REFUSED }),
    }
    Ok(exit::OK)
}
