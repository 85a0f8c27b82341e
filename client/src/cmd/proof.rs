//! `kp proof`: Merkle proofs from the node, verified here before they are
//! shown. An inclusion proof is checked against a roster the user holds,
//! never the node's word ([`kp_client::verifiable`]).

use super::{Global, read_roster, resolve_log};
use clap::Subcommand;
use kp_client::input::parse_hash;
use kp_client::{Client, ClientError, render, verifiable};
use kp_schemas::Hash32;
use kp_schemas::checkpoint::DEFAULT_QUORUM;
use kp_schemas::model::SignedRoster;
use std::path::{Path, PathBuf};

const INCLUSION_HELP: &str = "\
The node's answer is checked here against a roster you hold, never the node's
word: the entry's own bytes (they must hash to ENTRY and be signed by an author
of the roster), the audit path to the root, that root signed in a checkpoint by
the entry's author, and valid cosignatures of its log's intersecting quorum of
other participants (3 of 4; --quorum may ask for more), judged as `kp verify
BUNDLE` judges them. There is no default
roster: give --roster FILE (or KP_ROSTER; the demo's is kp-demo/EU/roster.json),
or --roster-hash HASH (or KP_ROSTER_HASH) to take the node's roster only if it
has that hash, as the chair publishes it.

Exit codes: 0 proven; 1 the node's answer does not hold (codes proof.wrong_entry,
proof.wrong_log, proof.wrong_position, proof.wrong_checkpoint,
proof.checkpoint_signature, proof.cosignature, proof.quorum, proof.unwitnessed,
merkle.*, ...); 2 no roster, or one that does not verify or has another hash;
3 node unreachable; 4 no such entry.";

#[derive(Subcommand)]
pub enum ProofCmd {
    /// That an entry is in its log, by default at the newest witnessed checkpoint,
    /// checked against a roster you hold, not the node's word.
    #[command(after_help = INCLUSION_HELP)]
    Inclusion {
        /// The entry's hash.
        #[arg(value_parser = parse_hash)]
        entry: Hash32,
        /// Prove it in the tree of this many entries of the log instead.
        #[arg(long, value_name = "N")]
        size: Option<u64>,
        /// The signed network roster to check against: a node's roster.json, or
        /// what `kp roster --genesis` printed from a node you trust.
        #[arg(long, env = "KP_ROSTER", value_name = "FILE")]
        roster: Option<PathBuf>,
        /// The hash the roster must have. Without --roster, the node's roster is
        /// fetched and used only if it has this hash.
        #[arg(long, env = "KP_ROSTER_HASH", value_name = "HASH", value_parser = parse_hash)]
        roster_hash: Option<Hash32>,
        /// Ask for at least this many cosignatures; the log's intersecting
        /// quorum applies anyway.
        #[arg(long, value_name = "N", default_value_t = DEFAULT_QUORUM)]
        quorum: usize,
    },
    /// That a log at one size extends itself at an earlier size.
    Consistency {
        /// Author key (hex), or a log name as `kp logs` shows it.
        log: String,
        /// The earlier size.
        from: u64,
        /// The later size [default: the log's size now].
        to: Option<u64>,
    },
}

pub fn run(g: &Global, cmd: &ProofCmd) -> Result<(), ClientError> {
    let client = g.client();
    match cmd {
        ProofCmd::Inclusion { entry, size, roster, roster_hash, quorum } => {
            let trust = trusted_roster(&client, roster.as_deref(), roster_hash.as_ref(), *quorum)?;
            let (view, p) = (client.entry(entry)?, client.inclusion_proof(entry, *size)?);
            let verified = verifiable::verify_inclusion_proof(entry, &view, &p, &trust).map_err(does_not_hold)?;
            g.show(&verified, render::inclusion_text);
        }
        ProofCmd::Consistency { log, from, to } => {
            let key = resolve_log(&client, log)?;
            let p = client.consistency_proof(&key, *from, *to)?;
            verifiable::check_consistency(&p).map_err(does_not_hold)?;
            g.show(&p, render::consistency_text);
        }
    }
    Ok(())
}

/// A served proof that does not verify is the node's fault, and the
/// answer to "is it in the log" is no: exit 1, like an invalid proof file.
fn does_not_hold(f: verifiable::ProofFailure) -> ClientError {
    ClientError::invalid(f.code, f.message)
}

/// The roster `kp proof inclusion` checks against: a file, whose hash must
/// be `pinned` if given; or the node's own roster, only if it has the
/// `pinned` hash. Never the node's roster on its word alone.
fn trusted_roster(
    client: &Client,
    file: Option<&Path>,
    pinned: Option<&Hash32>,
    quorum: usize,
) -> Result<verifiable::Trust, ClientError> {
    let roster: SignedRoster = match (file, pinned) {
        (Some(path), _) => read_roster(path)?,
        (None, Some(_)) => client.roster()?,
        (None, None) => {
            return Err(ClientError::input(
                "a proof is checked against a roster you hold, not the node's word: pass --roster FILE (a node's \
                 roster.json; the demo's is kp-demo/EU/roster.json) or --roster-hash HASH (the node's roster is then \
                 used only if it has that hash), or set KP_ROSTER",
            ));
        }
    };
    verifiable::Trust::new(&roster, pinned, quorum).map_err(|f| ClientError::input(f.to_string()))
}
