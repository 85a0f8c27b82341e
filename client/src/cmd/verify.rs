//! `kp verify`, offline, with no node: a bundle against the roster
//! ([`kp_schemas::bundle::verify`]), or one Merkle proof file in
//! transparency-dev's format ([`kp_client::proof_file`]). The verdict is
//! printed on stdout; it decides the exit code (0 valid, 1 invalid).

use super::{Global, read_file, read_roster};
use clap::{Args, Subcommand};
use kp_client::ClientError;
use kp_client::input::parse_date;
use kp_client::proof_file::{self, ProofKind};
use kp_client::render;
use kp_schemas::bundle::{self, VerifyOptions};
use kp_schemas::checkpoint::DEFAULT_QUORUM;
use std::path::{Path, PathBuf};

const VERIFY_HELP: &str = "\
A bundle (`kp verify BUNDLE --roster FILE`) holds every entry of a certificate's
or a lot's trail and the chair's governance entries since the genesis roster,
each with an inclusion proof to a checkpoint of its log that other participants
cosigned. Checked with nothing but the genesis roster: the file's exact bytes,
the governance entries replayed from the roster into the roster version in
force, every signature and proof, the cosignature quorum under that version,
and rules R2-R8 replayed along the trail. The verdict lists each problem as
`[code] message`.

Exit codes: 0 valid; 1 invalid (a bundle that is JSON but not a bundle's shape
is invalid, `bundle.unreadable`); 2 unreadable: a missing or unreadable file,
a roster that is not a signed roster's JSON, a bundle that is not JSON at all.
A bundle file named like a subcommand is given as `./inclusion`.";

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true, after_help = VERIFY_HELP)]
pub struct VerifyArgs {
    #[command(subcommand)]
    proof: Option<VerifyCmd>,
    /// A bundle file (`kpledger-bundle/2` JSON).
    #[arg(value_name = "BUNDLE", required = true)]
    bundle: Option<PathBuf>,
    /// The signed genesis roster: a node's roster.json, or what `kp roster --genesis` prints.
    /// The roster versions since come from the bundle's governance entries.
    #[arg(long, env = "KP_ROSTER", value_name = "FILE", required = true)]
    roster: Option<PathBuf>,
    /// Ask for at least this many cosignatures on each checkpoint. Each log's
    /// intersecting quorum (3 of 4 witnesses, for example) applies anyway.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_QUORUM)]
    quorum: usize,
    /// The day that decides which unconfirmed certificates are past expiry (today, UTC, by default).
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    today: Option<String>,
}

#[derive(Subcommand)]
enum VerifyCmd {
    /// An inclusion proof, as JSON with base64 hashes:
    /// {"leafIdx", "treeSize", "root", "leafHash", "proof": [..]}.
    Inclusion {
        /// The proof file.
        file: PathBuf,
    },
    /// A consistency proof, as JSON with base64 hashes:
    /// {"size1", "size2", "root1", "root2", "proof": [..]}.
    Consistency {
        /// The proof file.
        file: PathBuf,
    },
}

/// Print the verdict; `Ok(valid)`. An error is input that could not be
/// judged at all (exit 2).
pub fn run(g: &Global, v: &VerifyArgs) -> Result<bool, ClientError> {
    match (&v.proof, &v.bundle, &v.roster) {
        (Some(VerifyCmd::Inclusion { file }), _, _) => check_proof(g, ProofKind::Inclusion, file),
        (Some(VerifyCmd::Consistency { file }), _, _) => check_proof(g, ProofKind::Consistency, file),
        (None, Some(file), Some(roster)) => check_bundle(g, v, file, roster),
        _ => Err(ClientError::input("give a bundle and --roster FILE, or a subcommand (see `kp verify --help`)")),
    }
}

fn check_bundle(g: &Global, v: &VerifyArgs, path: &Path, roster_path: &Path) -> Result<bool, ClientError> {
    let roster = read_roster(roster_path)?;
    let bytes = read_file("bundle", path)?;
    // Not JSON at all (cut short, another kind of file): nothing to judge,
    // so unreadable like a missing file. JSON of another shape is judged
    // and found invalid.
    serde_json::from_slice::<serde::de::IgnoredAny>(&bytes)
        .map_err(|e| ClientError::input(format!("{} is not JSON: {e}", path.display())))?;
    let today = v.today.clone().unwrap_or_else(kp_schemas::model::today_utc);
    let report = bundle::verify(&bytes, &roster, &VerifyOptions { quorum: v.quorum, today });
    g.show(&report, render::bundle_report_text);
    Ok(report.valid)
}

fn check_proof(g: &Global, kind: ProofKind, file: &Path) -> Result<bool, ClientError> {
    let verdict = proof_file::verify_file(kind, file)?;
    g.show(&verdict, render::proof_file_text);
    Ok(verdict.valid)
}
