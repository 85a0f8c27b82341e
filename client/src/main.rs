//! `kp`: the kpledger command-line client.
//!
//! Licensees sign records with their key file (`--key`); authorities,
//! monitors and the chair ask their node to sign actions (`--cookie`);
//! anyone reads lots, certificates and trails.
//!
//! Exit codes (also in `kp --help`):
//!
//! - 0: success
//! - 1: refused by a ledger rule (the error code starts with R1..R9), a
//!   bundle or Merkle proof `kp verify` finds invalid, or a node's proof
//!   `kp proof` finds does not hold
//! - 2: bad input or usage (a malformed argument, an unreadable key or
//!   cookie file, a 400 without a rule, a missing or wrong cookie)
//! - 3: node unreachable, unavailable or failing (5xx, unreadable answers)
//! - 4: not found (no such entry, lot, certificate, licensee)

use clap::{Args, Parser, Subcommand, ValueEnum};
use kp_client::input::{
    parse_carats, parse_date, parse_hash, parse_hs_line, parse_key, parse_lot_ref, parse_output, parse_participant,
    parse_take,
};
use kp_client::{Client, ClientError, exit, http::DEFAULT_NODE, keyfile, read_cookie, render, verifiable};
use kp_schemas::bundle::{self, VerifyOptions};
use kp_schemas::checkpoint::DEFAULT_QUORUM;
use kp_schemas::entry::sign_record;
use kp_schemas::merkle::{MerkleError, verify_consistency, verify_inclusion};
use kp_schemas::model::{
    Attestation, AttestationKind, Body, Export, Governance, HsLine, ImportConfirmation, LabResult,
    LicenseeRegistration, LicenseeRevocation, Nature, Output, Participant, Production, RecordBody, Role, SignedRoster,
    Subject, Take, Transfer, Weight, ZoneRef, ZoneState, ZoneStatus, certificate_participant,
};
use kp_schemas::{Hash32, Keypair, PublicKey};
use serde::{Deserialize, Serialize};
use std::io::Write;
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
    /// The node's HTTP address.
    #[arg(long, env = "KP_NODE", default_value = DEFAULT_NODE, value_name = "URL")]
    #[arg(global = true, help_heading = "Global options")]
    node: String,
    /// Licensee key file that signs records (produce, transfer, export, lab).
    #[arg(long, env = "KP_KEY", value_name = "FILE", global = true, help_heading = "Global options")]
    key: Option<PathBuf>,
    /// The node's cookie file (<data dir>/.cookie), needed for actions.
    #[arg(long, env = "KP_COOKIE", value_name = "FILE", global = true, help_heading = "Global options")]
    cookie: Option<PathBuf>,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true, help_heading = "Global options")]
    json: bool,
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
    /// The signed network roster.
    Roster,
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
    /// Suspend, reinstate or admit participants, hand the chair over (chair action).
    #[command(subcommand)]
    Governance(GovernanceCmd),
    /// Show a lot.
    #[command(subcommand)]
    Lot(LotCmd),
    /// Show a certificate.
    #[command(subcommand)]
    Cert(CertCmd),
    /// The trail of a lot or a certificate back to every production.
    #[command(subcommand)]
    Trail(TrailCmd),
    /// Check offline, with no node: a bundle against the roster, or one Merkle proof
    /// (exit 0 valid, 1 invalid, 2 unreadable).
    Verify(VerifyArgs),
}

const VERIFY_HELP: &str = "\
A bundle (`kp verify BUNDLE --roster FILE`) holds every entry of a certificate's
or a lot's trail, each with an inclusion proof to a checkpoint of its log that
other participants cosigned. Checked with nothing but the roster: the file's
exact bytes, every signature and proof, the cosignature quorum, and rules R4-R8
replayed along the trail. The verdict lists each problem as `[code] message`.

Exit codes: 0 valid; 1 invalid (a bundle that is JSON but not a bundle's shape
is invalid, `bundle.unreadable`); 2 unreadable: a missing or unreadable file,
a roster that is not a signed roster's JSON, a bundle that is not JSON at all.
A bundle file named like a subcommand is given as `./inclusion`.";

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

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true, after_help = VERIFY_HELP)]
struct VerifyArgs {
    #[command(subcommand)]
    proof: Option<VerifyCmd>,
    /// A bundle file (`kpledger-bundle/1` JSON).
    #[arg(value_name = "BUNDLE", required = true)]
    bundle: Option<PathBuf>,
    /// The signed network roster: a node's roster.json, or what `kp roster` prints.
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

#[derive(Subcommand)]
enum ProofCmd {
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
        /// what `kp roster` printed from a node you trust.
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

#[derive(Subcommand)]
enum BundleCmd {
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
struct BundleOut {
    /// Where to write the bundle [default: standard output].
    #[arg(long, short, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Seconds to wait for the logs' newest entries to be witnessed, when they
    /// are not yet.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    wait: u64,
}

#[derive(Args)]
struct ProduceArgs {
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
}

#[derive(Args)]
struct TransferArgs {
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
struct ExportArgs {
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
struct LabArgs {
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

/// Which of the node's keys signs an action.
#[derive(Args)]
struct ActAs {
    /// Participant code, monitor id or `chair`; may be left out when the node holds one fitting key.
    #[arg(long = "as", value_name = "WHO")]
    who: Option<String>,
}

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse()
}

#[derive(Subcommand)]
enum LicenseeCmd {
    /// Register a licensee key (authority action).
    Register {
        /// The licensee's public key (as `kp keygen` printed it).
        #[arg(long, value_name = "PUBHEX", value_parser = parse_key)]
        key_of: PublicKey,
        /// The licensee's name.
        #[arg(long)]
        name: String,
        /// miner, trader, exporter, importer or laboratory; repeat for several.
        #[arg(long = "role", value_name = "ROLE", required = true, num_args = 1.., value_parser = parse_role)]
        roles: Vec<Role>,
        #[command(flatten)]
        act: ActAs,
    },
    /// Revoke a licensee (authority action).
    Revoke {
        /// The licensee's public key.
        #[arg(long, value_name = "PUBHEX", value_parser = parse_key)]
        key_of: PublicKey,
        /// Why, for the record.
        #[arg(long, value_name = "TEXT")]
        reason: String,
        #[command(flatten)]
        act: ActAs,
    },
    /// Show a licensee.
    Show {
        /// The licensee's public key.
        #[arg(value_name = "PUBHEX", value_parser = parse_key)]
        key: PublicKey,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum ZoneStateArg {
    Compliant,
    Suspended,
    Revoked,
}

#[derive(Subcommand)]
enum ZoneCmd {
    /// Declare a zone compliant, suspended or revoked from a date (monitor action).
    Declare {
        /// The participant the zone is in.
        #[arg(long, value_parser = parse_participant)]
        participant: String,
        /// Short zone id, for example BER.
        #[arg(long)]
        zone: String,
        /// The zone's name, for example Berberati.
        #[arg(long)]
        name: String,
        #[arg(long, value_enum)]
        status: ZoneStateArg,
        /// The day the status takes effect.
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
        effective: String,
        #[command(flatten)]
        act: ActAs,
    },
}

#[derive(Subcommand)]
enum ImportCmd {
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

#[derive(Clone, Copy, ValueEnum)]
enum AttestKindArg {
    Hold,
    Release,
    Seizure,
    ForgedCertificate,
    Note,
}

#[derive(Args)]
struct AttestArgs {
    /// The lot, as PARTICIPANT/LOT (for example CF/CF/BER/2017/00042).
    #[arg(long, value_name = "PARTICIPANT/LOT", value_parser = parse_lot_ref, required_unless_present = "cert", conflicts_with = "cert")]
    lot: Option<(String, String)>,
    /// The certificate number.
    #[arg(long, value_name = "NUMBER")]
    cert: Option<String>,
    /// What is attested.
    #[arg(long, value_enum)]
    kind: AttestKindArg,
    /// Free text, for example the reason of a hold.
    #[arg(long, value_name = "TEXT")]
    note: String,
    #[command(flatten)]
    act: ActAs,
}

#[derive(Subcommand)]
enum GovernanceCmd {
    /// Suspend a participant: its authority can write nothing until reinstated.
    Suspend {
        /// Participant code.
        #[arg(value_parser = parse_participant)]
        code: String,
        /// Why, for the record.
        #[arg(long, value_name = "TEXT", default_value = "")]
        reason: String,
        /// The first position of the participant's log it stops (default: the
        /// one after the log's head, as the chair's node holds it).
        #[arg(long, value_name = "SEQ")]
        from: Option<u64>,
    },
    /// Reinstate a suspended participant.
    Reinstate {
        /// Participant code.
        #[arg(value_parser = parse_participant)]
        code: String,
        /// The first position of the participant's log it may write again
        /// (default: the one after the log's head, as the chair's node holds it).
        #[arg(long, value_name = "SEQ")]
        from: Option<u64>,
    },
    /// Admit a new participant with its authority key.
    Admit {
        /// Participant code (ISO 3166-1 alpha-2, or EU).
        #[arg(value_parser = parse_participant)]
        code: String,
        /// The participant's name.
        #[arg(long)]
        name: String,
        /// The KP authority's signing key.
        #[arg(long, value_name = "PUBHEX", value_parser = parse_key)]
        authority: PublicKey,
        /// Production must name a compliant zone (R6).
        #[arg(long)]
        zone_regime: bool,
    },
    /// Hand the chair over to a new governance key.
    Handover {
        /// The next chair's governance key.
        #[arg(long, value_name = "PUBHEX", value_parser = parse_key)]
        new_chair: PublicKey,
    },
}

#[derive(Subcommand)]
enum LotCmd {
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
enum CertCmd {
    /// A certificate's shipment, HS lines and confirmation.
    Show {
        /// Certificate number, for example CF-000001.
        number: String,
    },
}

#[derive(Args)]
struct TrailOpts {
    /// Print Graphviz DOT (pipe into `dot -Tsvg`).
    #[arg(long, conflicts_with = "json")]
    dot: bool,
    /// The day that decides which unconfirmed certificates are past expiry (the node's date by default).
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    today: Option<String>,
}

#[derive(Subcommand)]
enum TrailCmd {
    /// The trail of a lot.
    Lot {
        /// Participant code, for example CF.
        #[arg(value_parser = parse_participant)]
        participant: String,
        /// Lot id (may contain `/`).
        lot: String,
        #[command(flatten)]
        opts: TrailOpts,
    },
    /// The trail of a certificate.
    Cert {
        /// Certificate number, for example CF-000001.
        number: String,
        #[command(flatten)]
        opts: TrailOpts,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match &cli.cmd {
        Cmd::Verify(v) => verify(&cli, v).map(|valid| if valid { exit::OK } else { exit::REFUSED }),
        _ => run(&cli).map(|()| exit::OK),
    };
    match outcome {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            eprintln!("error: {}: {}", e.code(), e.message());
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

/// Write to stdout, ignoring a closed pipe (`kp logs | head`).
fn print(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

impl Cli {
    fn client(&self) -> Client {
        Client::new(self.node.clone())
    }

    fn action_client(&self) -> Result<Client, ClientError> {
        let path = self.cookie.as_ref().ok_or_else(|| {
            ClientError::input(
                "this command asks the node to sign with its own key: pass --cookie FILE \
                 (the node's <data dir>/.cookie) or set KP_COOKIE",
            )
        })?;
        Ok(self.client().with_cookie(read_cookie(path)?))
    }

    fn licensee_key(&self) -> Result<Keypair, ClientError> {
        let path = self
            .key
            .as_ref()
            .ok_or_else(|| ClientError::input("records are signed by a licensee key: pass --key FILE or set KP_KEY"))?;
        Ok(keyfile::load(path)?)
    }

    fn show<T: Serialize>(&self, value: &T, human: impl FnOnce(&T) -> String) {
        if self.json {
            print(&json(value));
        } else {
            print(&human(value));
        }
    }

    /// Sign a record with the licensee key for the node's network and
    /// submit it.
    fn record(&self, body: RecordBody) -> Result<(), ClientError> {
        let key = self.licensee_key()?;
        let client = self.client();
        let network = client.status()?.network;
        let signed = sign_record(&network, &key, nonce(), body);
        let submitted = client.submit_record(&signed)?;
        self.show(&submitted, render::submitted_text);
        Ok(())
    }

    fn action(&self, who: &ActAs, body: Body) -> Result<(), ClientError> {
        let submitted = self.action_client()?.action(who.who.as_deref(), body)?;
        self.show(&submitted, render::submitted_text);
        Ok(())
    }
}

fn json<T: Serialize>(value: &T) -> String {
    let mut s = serde_json::to_string_pretty(value).expect("API values always serialize");
    s.push('\n');
    s
}

/// Nanoseconds since the epoch: distinct for every record one licensee
/// signs by hand, so equal records (two identical transfers) stay distinct.
fn nonce() -> u64 {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

fn run(cli: &Cli) -> Result<(), ClientError> {
    match &cli.cmd {
        Cmd::Keygen { out } => {
            let key = keyfile::generate(out)?;
            if cli.json {
                #[derive(Serialize)]
                struct Generated<'a> {
                    public: PublicKey,
                    file: &'a std::path::Path,
                }
                print(&json(&Generated { public: key.public(), file: out }));
            } else {
                print(&format!("{}\n", key.public()));
            }
        }
        Cmd::Status => cli.show(&cli.client().status()?, render::status_text),
        Cmd::Roster => cli.show(&cli.client().roster()?, json),
        Cmd::Logs => cli.show(&cli.client().logs()?, |h| render::heads_text(h)),
        Cmd::Log { author, from, limit } => {
            let client = cli.client();
            let key = resolve_log(&client, author)?;
            cli.show(&client.log_page(&key, *from, *limit)?, render::log_page_text);
        }
        Cmd::Entry { hash } => cli.show(&cli.client().entry(hash)?, render::entry_text),
        Cmd::Evidence => {
            let client = cli.client();
            let (equivocations, frauds) = (client.evidence()?, client.checkpoint_evidence()?);
            if cli.json {
                print(&json(&serde_json::json!({ "equivocations": equivocations, "checkpoint_frauds": frauds })));
            } else {
                print(&render::evidence_text(&equivocations));
                print(&verifiable::frauds_text(&frauds));
            }
        }
        Cmd::Checkpoints { log, limit } => {
            let client = cli.client();
            let key = resolve_log(&client, log)?;
            cli.show(&client.checkpoints(&key, *limit)?, |c| verifiable::checkpoints_text(c));
        }
        Cmd::Proof(ProofCmd::Inclusion { entry, size, roster, roster_hash, quorum }) => {
            let client = cli.client();
            let trust = trusted_roster(&client, roster.as_deref(), roster_hash.as_ref(), *quorum)?;
            let (view, p) = (client.entry(entry)?, client.inclusion_proof(entry, *size)?);
            let verified = verifiable::verify_inclusion_proof(entry, &view, &p, &trust).map_err(proof_failure)?;
            cli.show(&verified, verifiable::inclusion_text);
        }
        Cmd::Proof(ProofCmd::Consistency { log, from, to }) => {
            let client = cli.client();
            let key = resolve_log(&client, log)?;
            let p = client.consistency_proof(&key, *from, *to)?;
            verifiable::check_consistency(&p).map_err(proof_failure)?;
            cli.show(&p, verifiable::consistency_text);
        }
        Cmd::Bundle(b) => {
            let (subject, out) = match b {
                BundleCmd::Cert { number, out } => (Subject::Certificate { number: number.clone() }, out),
                BundleCmd::Lot { participant, lot, out } => {
                    (Subject::Lot { participant: participant.clone(), lot: lot.clone() }, out)
                }
            };
            bundle(&cli.client(), &subject, out)?;
        }

        Cmd::Produce(a) => {
            if a.zone.is_some() && a.zone_status.is_none() {
                eprintln!(
                    "note: no --zone-status: under the zone regime the lot will be recorded as non-compliant \
                     (`kp zones --participant XX` lists zone-status entries)"
                );
            }
            cli.record(RecordBody::Production(Production {
                lot: a.lot.clone(),
                site: a.site.clone(),
                zone: a.zone.clone().map(|zone| ZoneRef { zone, status_entry: a.zone_status }),
                weight: a.weight,
                stones: a.stones,
                date: a.date.clone(),
                nature: if a.synthetic { Nature::Synthetic } else { Nature::Natural },
            }))?;
        }
        Cmd::Transfer(a) => cli.record(RecordBody::Transfer(Transfer {
            inputs: a.inputs.clone(),
            outputs: a.outputs.clone(),
            date: a.date.clone(),
        }))?,
        Cmd::Export(a) => cli.record(RecordBody::Export(Export {
            certificate: a.cert.clone(),
            importer: a.to.clone(),
            consignee: a.consignee.clone(),
            inputs: a.inputs.clone(),
            lines: a.lines.clone(),
            parcels: a.parcels,
            issued: a.issued.clone(),
            expires: a.expires.clone(),
        }))?,
        Cmd::Lab(a) => {
            let report_hash = match (&a.report_hash, &a.report_file) {
                (Some(h), _) => *h,
                (None, Some(path)) => {
                    let bytes = std::fs::read(path)
                        .map_err(|e| ClientError::input(format!("cannot read report {}: {e}", path.display())))?;
                    render::report_hash(&bytes)
                }
                (None, None) => unreachable!("clap requires one of --report-hash and --report"),
            };
            cli.record(RecordBody::LabResult(LabResult {
                lot: a.lot.clone(),
                report_hash,
                finding: a.finding.into(),
                note: a.note.clone(),
            }))?;
        }

        Cmd::Licensee(LicenseeCmd::Register { key_of, name, roles, act }) => cli.action(
            act,
            Body::RegisterLicensee(LicenseeRegistration {
                licensee: *key_of,
                name: name.clone(),
                roles: roles.clone(),
            }),
        )?,
        Cmd::Licensee(LicenseeCmd::Revoke { key_of, reason, act }) => {
            cli.action(act, Body::RevokeLicensee(LicenseeRevocation { licensee: *key_of, reason: reason.clone() }))?
        }
        Cmd::Licensee(LicenseeCmd::Show { key }) => cli.show(&cli.client().licensee(key)?, render::licensee_text),
        Cmd::Zone(ZoneCmd::Declare { participant, zone, name, status, effective, act }) => {
            let status = match status {
                ZoneStateArg::Compliant => ZoneState::Compliant,
                ZoneStateArg::Suspended => ZoneState::Suspended,
                ZoneStateArg::Revoked => ZoneState::Revoked,
            };
            cli.action(
                act,
                Body::ZoneStatus(ZoneStatus {
                    participant: participant.clone(),
                    zone: zone.clone(),
                    name: name.clone(),
                    status,
                    effective: effective.clone(),
                    // The monitor's node chains it to the zone's previous status.
                    previous: None,
                }),
            )?;
        }
        Cmd::Zones { participant } => cli.show(&cli.client().zones(participant.as_deref())?, |z| render::zones_text(z)),
        Cmd::Import(ImportCmd::Confirm { exporter, cert, cert_entry, weight, parcels, lot, holder, date, act }) => {
            let client = cli.action_client()?;
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
            cli.show(&submitted, render::submitted_text);
        }
        Cmd::Attest(a) => {
            let subject = match (&a.lot, &a.cert) {
                (Some((participant, lot)), _) => Subject::Lot { participant: participant.clone(), lot: lot.clone() },
                (None, Some(number)) => Subject::Certificate { number: number.clone() },
                (None, None) => unreachable!("clap requires one of --lot and --cert"),
            };
            let kind = match a.kind {
                AttestKindArg::Hold => AttestationKind::Hold,
                AttestKindArg::Release => AttestationKind::Release,
                AttestKindArg::Seizure => AttestationKind::Seizure,
                AttestKindArg::ForgedCertificate => AttestationKind::ForgedCertificate,
                AttestKindArg::Note => AttestationKind::Note,
            };
            cli.action(&a.act, Body::Attestation(Attestation { subject, kind, note: a.note.clone() }))?;
        }
        Cmd::Governance(g) => {
            let chair = ActAs { who: Some("chair".into()) };
            let body = match g {
                // A position of 0 asks the chair's node for the one after
                // the log's head.
                GovernanceCmd::Suspend { code, reason, from } => Governance::SuspendParticipant {
                    code: code.clone(),
                    reason: reason.clone(),
                    from: from.unwrap_or(0),
                },
                GovernanceCmd::Reinstate { code, from } => {
                    Governance::ReinstateParticipant { code: code.clone(), from: from.unwrap_or(0) }
                }
                GovernanceCmd::Admit { code, name, authority, zone_regime } => {
                    Governance::AdmitParticipant(Participant {
                        code: code.clone(),
                        name: name.clone(),
                        authority: *authority,
                        zone_regime: *zone_regime,
                        nodes: vec![],
                    })
                }
                GovernanceCmd::Handover { new_chair } => Governance::ChairHandover { new_chair: *new_chair },
            };
            cli.action(&chair, Body::Governance(body))?;
        }

        Cmd::Lot(LotCmd::Show { participant, lot }) => cli.show(&cli.client().lot(participant, lot)?, render::lot_text),
        Cmd::Cert(CertCmd::Show { number }) => cli.show(&cli.client().certificate(number)?, render::cert_text),
        Cmd::Trail(t) => {
            let client = cli.client();
            let (trail, opts) = match t {
                TrailCmd::Lot { participant, lot, opts } => {
                    (client.lot_trail(participant, lot, opts.today.as_deref())?, opts)
                }
                TrailCmd::Cert { number, opts } => (client.cert_trail(number, opts.today.as_deref())?, opts),
            };
            let text = if cli.json {
                render::trail_json(&trail) + "\n"
            } else if opts.dot {
                render::trail_dot(&trail)
            } else {
                render::trail_text(&trail)
            };
            print(&text);
        }
        Cmd::Verify(_) => unreachable!("main runs `kp verify` itself, for its own exit codes"),
    }
    Ok(())
}

/// The proof formats of transparency-dev/merkle's test data, so published
/// probes can be checked as they are. Fields they carry beyond the proof
/// (`desc`, `wantErr`) are ignored.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InclusionFile {
    leaf_idx: u64,
    tree_size: u64,
    root: String,
    leaf_hash: String,
    proof: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct ConsistencyFile {
    size1: u64,
    size2: u64,
    root1: String,
    root2: String,
    proof: Option<Vec<String>>,
}

#[derive(Serialize)]
struct ProofVerdict {
    kind: &'static str,
    valid: bool,
    code: Option<&'static str>,
    message: String,
}

fn read_proof_file<T: serde::de::DeserializeOwned>(path: &std::path::Path) -> Result<T, ClientError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ClientError::input(format!("cannot read {}: {e}", path.display())))?;
    serde_json::from_str(&text).map_err(|e| ClientError::input(format!("{} is not a proof file: {e}", path.display())))
}

fn base64(field: &str, value: &str) -> Result<Vec<u8>, ClientError> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(value)
        .map_err(|e| ClientError::input(format!("`{field}` is not base64: {e}")))
}

/// Decoding errors are bad input (exit 2); a hash of the wrong length is a
/// well-formed file holding an invalid proof (exit 1), as the published probes
/// expect.
fn hash_field(field: &str, value: &str) -> Result<Result<Hash32, String>, ClientError> {
    Ok(to_hash(field, &base64(field, value)?))
}

fn to_hash(field: &str, bytes: &[u8]) -> Result<Hash32, String> {
    <[u8; 32]>::try_from(bytes)
        .map(Hash32)
        .map_err(|_| format!("`{field}` is {} bytes, not a 32-byte SHA-256 hash", bytes.len()))
}

/// Two roots of trees of one size, when either is not 32 bytes. Such a
/// proof is empty and claims only that the roots are one value; nothing is
/// hashed with them, so transparency-dev compares them byte for byte at any
/// length, and its probes use 12-byte "don't care" placeholders there. Two
/// stand-ins, equal exactly when the roots are, let `verify_consistency`
/// apply its own rules (size 0 refused, proof empty) to them.
fn opaque_roots(root1: &[u8], root2: &[u8]) -> (Hash32, Hash32) {
    (Hash32::ZERO, if root1 == root2 { Hash32::ZERO } else { Hash32([1; 32]) })
}

/// `merkle::verify_inclusion` and `verify_consistency` overflow a shift
/// past 2^63 leaves; no log comes near that, so larger sizes are malformed.
const MAX_TREE_SIZE: u64 = 1 << 63;

fn check_sizes(sizes: &[u64]) -> Result<(), (&'static str, String)> {
    match sizes.iter().find(|&&s| s > MAX_TREE_SIZE) {
        Some(s) => Err(("merkle.malformed", format!("tree size {s} is beyond 2^63 leaves"))),
        None => Ok(()),
    }
}

fn proof_field(proof: &Option<Vec<String>>) -> Result<Result<Vec<Hash32>, String>, ClientError> {
    let mut hashes = Vec::new();
    for (i, p) in proof.iter().flatten().enumerate() {
        match hash_field(&format!("proof[{i}]"), p)? {
            Ok(h) => hashes.push(h),
            Err(why) => return Ok(Err(why)),
        }
    }
    Ok(Ok(hashes))
}

fn verify(cli: &Cli, v: &VerifyArgs) -> Result<bool, ClientError> {
    match (&v.proof, &v.bundle, &v.roster) {
        (Some(cmd), _, _) => verify_proof(cli, cmd),
        (None, Some(bundle), Some(roster)) => verify_bundle(cli, v, bundle, roster),
        _ => Err(ClientError::input("give a bundle and --roster FILE, or a subcommand (see `kp verify --help`)")),
    }
}

fn read_file(what: &str, path: &std::path::Path) -> Result<Vec<u8>, ClientError> {
    std::fs::read(path).map_err(|e| ClientError::input(format!("cannot read the {what} {}: {e}", path.display())))
}

fn verify_bundle(
    cli: &Cli,
    v: &VerifyArgs,
    path: &std::path::Path,
    roster_path: &std::path::Path,
) -> Result<bool, ClientError> {
    let roster: SignedRoster = serde_json::from_slice(&read_file("roster", roster_path)?)
        .map_err(|e| ClientError::input(format!("{} is not a signed roster: {e}", roster_path.display())))?;
    let bytes = read_file("bundle", path)?;
    // Not JSON at all (cut short, another kind of file): nothing to judge,
    // so unreadable like a missing file. JSON of another shape is judged
    // and found invalid.
    serde_json::from_slice::<serde::de::IgnoredAny>(&bytes)
        .map_err(|e| ClientError::input(format!("{} is not JSON: {e}", path.display())))?;
    let opts = VerifyOptions { quorum: v.quorum, today: v.today.clone().unwrap_or_else(today_utc) };
    let report = bundle::verify(&bytes, &roster, &opts);
    if cli.json {
        print(&json(&report));
    } else {
        print(&render::bundle_report_text(&report));
    }
    Ok(report.valid)
}

fn today_utc() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (y, m, d) = kp_schemas::model::civil_from_days((secs / 86_400) as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

fn verify_proof(cli: &Cli, cmd: &VerifyCmd) -> Result<bool, ClientError> {
    let malformed = |why: String| ("merkle.malformed", why);
    let (kind, outcome): (&'static str, Result<String, (&'static str, String)>) = match cmd {
        VerifyCmd::Inclusion { file } => {
            let f: InclusionFile = read_proof_file(file)?;
            let (leaf, root, proof) =
                (hash_field("leafHash", &f.leaf_hash)?, hash_field("root", &f.root)?, proof_field(&f.proof)?);
            let outcome = (|| {
                let (leaf, root, proof) =
                    (leaf.map_err(malformed)?, root.map_err(malformed)?, proof.map_err(malformed)?);
                check_sizes(&[f.tree_size])?;
                verify_inclusion(&leaf, f.leaf_idx, f.tree_size, &proof, &root).map_err(merkle_failure)?;
                Ok(format!(
                    "leaf {} is leaf {} of the tree of size {} with root {}",
                    leaf, f.leaf_idx, f.tree_size, root
                ))
            })();
            ("inclusion", outcome)
        }
        VerifyCmd::Consistency { file } => {
            let f: ConsistencyFile = read_proof_file(file)?;
            let (raw1, raw2, proof) = (base64("root1", &f.root1)?, base64("root2", &f.root2)?, proof_field(&f.proof)?);
            let outcome = (|| {
                let (root1, root2) = match (to_hash("root1", &raw1), to_hash("root2", &raw2)) {
                    (Ok(a), Ok(b)) => (a, b),
                    _ if f.size1 == f.size2 => opaque_roots(&raw1, &raw2),
                    (Err(why), _) | (_, Err(why)) => return Err(malformed(why)),
                };
                let proof = proof.map_err(malformed)?;
                check_sizes(&[f.size1, f.size2])?;
                verify_consistency(f.size1, f.size2, &proof, &root1, &root2).map_err(merkle_failure)?;
                // The roots as given: stand-ins for opaque ones mean nothing to a reader.
                let (shown1, shown2) = (hex::encode(&raw1), hex::encode(&raw2));
                Ok(format!("the tree of size {} ({shown2}) extends the tree of size {} ({shown1})", f.size2, f.size1))
            })();
            ("consistency", outcome)
        }
    };
    let verdict = match outcome {
        Ok(message) => ProofVerdict { kind, valid: true, code: None, message },
        Err((code, message)) => ProofVerdict { kind, valid: false, code: Some(code), message },
    };
    if cli.json {
        print(&json(&verdict));
    } else if verdict.valid {
        print(&format!("valid {kind} proof: {}\n", verdict.message));
    } else {
        print(&format!("invalid {kind} proof: {}: {}\n", verdict.code.unwrap_or_default(), verdict.message));
    }
    Ok(verdict.valid)
}

fn merkle_failure(e: MerkleError) -> (&'static str, String) {
    (e.code(), e.to_string())
}

/// A log named by key, by its name in `kp logs`, or by participant code.
/// A served proof that does not verify is the node's fault, and the
/// answer to "is it in the log" is no: exit 1, like an invalid proof file.
fn proof_failure(f: verifiable::ProofFailure) -> ClientError {
    ClientError::Api {
        status: 422,
        error: kp_schemas::api::ApiError { code: f.code, rule: Some("merkle".into()), message: f.message },
    }
}

/// The roster `kp proof inclusion` checks against: a file, whose hash must
/// be `pinned` if given; or the node's own roster, only if it has the
/// `pinned` hash. Never the node's roster on its word alone.
fn trusted_roster(
    client: &Client,
    file: Option<&std::path::Path>,
    pinned: Option<&Hash32>,
    quorum: usize,
) -> Result<verifiable::Trust, ClientError> {
    let roster: SignedRoster = match (file, pinned) {
        (Some(path), _) => serde_json::from_slice(&read_file("roster", path)?)
            .map_err(|e| ClientError::input(format!("{} is not a signed roster: {e}", path.display())))?,
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

/// Fetch a bundle, waiting while its logs' newest entries are not yet
/// witnessed, and write the node's bytes unchanged.
fn bundle(client: &Client, subject: &Subject, out: &BundleOut) -> Result<(), ClientError> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(out.wait);
    let spinner = indicatif::ProgressBar::new_spinner();
    let bytes = loop {
        match client.bundle(subject) {
            Err(ClientError::Api { error, .. })
                if error.code == "bundle.unwitnessed" && std::time::Instant::now() < deadline =>
            {
                spinner.set_message(format!("waiting for witnesses: {}", error.message));
                spinner.tick();
                std::thread::sleep(std::time::Duration::from_millis(500));
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

fn resolve_log(client: &Client, author: &str) -> Result<PublicKey, ClientError> {
    if let Ok(key) = parse_key(author) {
        return Ok(key);
    }
    let heads = client.logs()?;
    let wanted = [author.to_string(), format!("{author} authority")];
    heads.iter().find(|h| wanted.contains(&h.name)).map(|h| h.author).ok_or_else(|| {
        let names: Vec<_> = heads.iter().map(|h| h.name.as_str()).collect();
        ClientError::input(format!("no log named `{author}`; logs here: {}", names.join(", ")))
    })
}
