//! Offline verification bundles: every entry of a lot's or a certificate's
//! trail, and the governance entries that make the roster versions since
//! the genesis roster, each with an inclusion proof to a witnessed
//! checkpoint of its log, and those checkpoints with their cosignatures.
//! `kp verify BUNDLE` checks one with nothing but the genesis roster: the
//! governance entries replayed from it through the rules (R2, R3), then
//! signatures, proofs and the cosignature quorum under the roster version
//! they reach, and rules R2-R8 replayed along the trail, each entry against
//! the roster version its context names.
//!
//! The file is canonical JSON (what [`Bundle::to_json`] writes): a verifier
//! refuses any other bytes, so a change to any byte of a bundle fails.

use crate::bytes::{Hash32, PublicKey};
use crate::checkpoint::{self, Cosignature, SignedCheckpoint, log_name};
use crate::codes::Refusal;
use crate::entry::{SignedEntry, SignedRecord, Verified};
use crate::memory::MemLedger;
use crate::merkle;
use crate::model::{Body, HexBytes, RecordBody, SignedRoster, Subject};
use crate::rules::{self, LedgerView, Verdict};
use crate::state::{CHAIR, CertState, Head, LicenseeState, LotOrigin, LotState, NetworkState, VoidKey, ZoneRecord};
use crate::trail::{self, Trail, TrailError, TrailSource};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::convert::Infallible;

/// The `format` field of every bundle this version writes.
pub const FORMAT: &str = "kpledger-bundle/2";

/// A bundle: what `GET /v1/bundles/...` and `kp bundle` write, and
/// `kp verify BUNDLE` checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    /// `kpledger-bundle/2`, this version's `FORMAT`; a verifier refuses any
    /// other (`bundle.format`).
    pub format: String,
    /// The network id: the roster's.
    pub network: String,
    /// Hash of the signed genesis roster the exporting node runs.
    pub roster_hash: Hash32,
    /// The lot or certificate whose trail the bundle proves.
    pub subject: Subject,
    /// One checkpoint per log the trail and the governance entries touch.
    pub checkpoints: Vec<BundleCheckpoint>,
    /// The chair's logs, each from its first entry up to its checkpoint's
    /// size, in the order they were written (across chair handovers):
    /// replayed from the genesis roster, they make every roster version up
    /// to the one in force, which the checkpoints are judged under.
    pub governance: Vec<BundleEntry>,
    /// The trail's entries, in an order where each comes after every entry
    /// of the trail it relies on (the exporting node's acceptance order).
    pub entries: Vec<BundleEntry>,
}

/// A witnessed checkpoint of one log, which the bundle's entries of that
/// log are proven against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BundleCheckpoint {
    /// Signed checkpoint wire bytes.
    pub checkpoint: HexBytes,
    /// Its cosignatures: at least the log's quorum of independent witnesses.
    pub cosignatures: Vec<Cosignature>,
}

/// One entry of the trail, with its proof of inclusion in its log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BundleEntry {
    /// Entry wire bytes; its leaf index is `seq - 1`.
    pub entry: HexBytes,
    /// Index into `checkpoints`: the checkpoint of this entry's log.
    pub checkpoint: usize,
    /// Inclusion proof of the entry at the checkpoint's size.
    pub proof: Vec<Hash32>,
}

impl Bundle {
    /// The canonical bytes: pretty JSON and a final newline.
    pub fn to_json(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).expect("a bundle serialises");
        v.push(b'\n');
        v
    }
}

/// What collecting a trail's entries reads besides the trail itself. A read
/// that fails returns the source's [`TrailSource::Error`], and [`collect`]
/// fails with it rather than leave an entry out.
pub trait BundleSource: TrailSource {
    /// A licensee of `participant`, for the entry that registered it.
    fn licensee(&self, participant: &str, key: &PublicKey) -> Result<Option<LicenseeState>, Self::Error>;
    /// The participant whose authority writes or wrote `author`'s log (a
    /// replaced key included): read from the network, which every source
    /// holds in memory.
    fn participant_of(&self, author: &PublicKey) -> Option<String>;
    /// The newest governance entry accepted, none before the first: where
    /// [`governance_chain`] starts.
    fn latest_governance(&self) -> Option<Hash32>;
    /// The zone status an entry's context names, none if the hash is not a
    /// zone-status entry.
    fn zone(&self, entry: &Hash32) -> Result<Option<ZoneRecord>, Self::Error>;
    /// An entry by hash. The state does not say who received the other
    /// outputs of a transfer, yet replaying the transfer needs every output
    /// holder registered (R2), so [`collect`] reads that from the entries.
    fn entry(&self, hash: &Hash32) -> Result<Option<SignedEntry>, Self::Error>;
}

/// How a verifier judges a bundle: its own choices, never the bundle's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyOptions {
    /// Distinct other participants whose cosignatures a checkpoint needs at
    /// least. Each log's intersecting quorum ([`checkpoint::quorum`])
    /// applies whatever this says: it can ask for more, never for less.
    pub quorum: usize,
    /// `YYYY-MM-DD`, for compliance notes such as an expired certificate.
    pub today: String,
}

/// One thing wrong with a bundle. `code` is stable: `bundle.*` for the
/// file, its signatures and proofs, a rule id (`R5.overspend`) for a rule
/// the trail breaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Problem {
    /// The stable code: `bundle.*` (this module's `codes`), or a rule code.
    pub code: String,
    /// What is wrong, naming the entry or checkpoint by its place in the
    /// bundle (from 1) and in its log.
    pub message: String,
}

/// A log as the bundle shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LogReport {
    /// Key of the log's writer.
    pub log: PublicKey,
    /// The log's name in the roster: `CF authority`, a monitor id, `chair`.
    pub name: String,
    /// Size of the bundle's checkpoint of the log.
    pub size: u64,
    /// Its root.
    pub root: Hash32,
    /// When the writer signed it, Unix milliseconds.
    pub timestamp_ms: u64,
    /// Participant codes whose cosignatures verify.
    pub witnesses: Vec<String>,
    /// Cosignatures the checkpoint needed: the log's intersecting quorum, or
    /// more if the verifier asked for more.
    pub quorum: usize,
    /// How many of the bundle's entries, governance entries included, are
    /// proven against this checkpoint.
    pub entries: usize,
}

/// The verdict on a bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Report {
    /// True when no problem was found: every check passed and the trail
    /// replays.
    pub valid: bool,
    /// The bundle's subject; none when the file is not a canonical bundle.
    pub subject: Option<Subject>,
    /// The bundle's network id; none when the file is not a canonical
    /// bundle.
    pub network: Option<String>,
    /// The hash of the roster the bundle was checked against (of its signed
    /// bytes), and the chair key it says signed it: the verifier's trust
    /// anchor, to compare with what the chair publishes.
    pub roster_hash: Hash32,
    /// The chair key the roster names as its signer.
    pub chair: PublicKey,
    /// The roster version in force: the number of the one the bundle's
    /// governance entries make from the genesis roster (the genesis's own
    /// when there are none); none when they do not replay.
    pub roster_version: Option<u64>,
    /// That version's hash ([`NetworkState::version_hash`]).
    pub roster_version_hash: Option<Hash32>,
    /// The least quorum the verifier asked for (`--quorum`); each log's
    /// quorum is in `logs`.
    pub quorum: usize,
    /// Number of trail entries in the bundle.
    pub entries: usize,
    /// Number of governance entries in the bundle.
    pub governance: usize,
    /// One per checkpoint that parses, in the bundle's order.
    pub logs: Vec<LogReport>,
    /// Everything found wrong; empty when `valid`.
    pub problems: Vec<Problem>,
    /// The trail rebuilt from the bundle's entries, when they replay.
    pub trail: Option<Trail>,
}

/// Stable codes of what [`verify`] finds wrong besides the rules: a rule
/// the trail breaks keeps the rule's own code (`R5.overspend`).
pub mod codes {
    /// Not JSON of a bundle's shape.
    pub const UNREADABLE: &str = "bundle.unreadable";
    /// JSON of a bundle, but not the bytes [`super::Bundle::to_json`] writes.
    pub const NOT_CANONICAL: &str = "bundle.not_canonical";
    /// A `format` this verifier does not read.
    pub const FORMAT: &str = "bundle.format";
    /// The roster does not verify, or is not the one the bundle was made under.
    pub const ROSTER: &str = "bundle.roster";
    /// The governance entries do not make a chain of roster versions from
    /// the genesis roster: one the rules refuse from there (the message
    /// names the rule's code), one missing, or a chair's log not carried up
    /// to its checkpoint; or a governance entry among the trail's.
    pub const GOVERNANCE: &str = "bundle.governance";
    /// An entry of a replaced key's log beyond the position where the
    /// rotation closed it.
    pub const CLOSED_LOG: &str = "bundle.closed_log";
    /// Checkpoint bytes that do not parse.
    pub const CHECKPOINT: &str = "bundle.checkpoint";
    /// A checkpoint not signed by the key of the log it names.
    pub const CHECKPOINT_SIGNATURE: &str = "bundle.checkpoint_signature";
    /// A checkpoint of another network than the roster's.
    pub const WRONG_NETWORK: &str = "bundle.wrong_network";
    /// A checkpoint of a log no author of the roster version in force
    /// writes or wrote.
    pub const UNKNOWN_LOG: &str = "bundle.unknown_log";
    /// Two checkpoints of one log: a bundle has one per log.
    pub const DUPLICATE_LOG: &str = "bundle.duplicate_log";
    /// A cosignature that does not verify, is not by an independent witness
    /// of the log, or repeats a participant.
    pub const COSIGNATURE: &str = "bundle.cosignature";
    /// A checkpoint cosigned by fewer participants than its quorum.
    pub const QUORUM: &str = "bundle.quorum";
    /// An entry refused before any rule reads it: bounds (R9) or signatures
    /// (R1). The message names the refusal code.
    pub const ENTRY: &str = "bundle.entry";
    /// An entry naming a checkpoint index the bundle lacks, or the
    /// checkpoint of another log.
    pub const WRONG_CHECKPOINT: &str = "bundle.wrong_checkpoint";
    /// An entry whose proof does not lead to its checkpoint's root.
    pub const INCLUSION: &str = "bundle.inclusion";
    /// An entry given twice, or two entries at one position of one log.
    pub const DUPLICATE_ENTRY: &str = "bundle.duplicate_entry";
    /// The entries replay, but create no lot or certificate of the
    /// bundle's subject.
    pub const SUBJECT_MISSING: &str = "bundle.subject_missing";
}

// ---------------------------------------------------------------- collect

enum Node {
    Lot(String, String),
    Cert(String),
}

struct Collector<'a, S> {
    src: &'a S,
    out: BTreeSet<Hash32>,
    licensees: HashSet<(String, PublicKey)>,
    zones: HashSet<(String, String)>,
    todo: Vec<Node>,
}

/// The hashes of every entry the trail of `subject` relies on: the entries
/// that create its lots and certificates, the zone statuses behind its
/// productions with the rest of those zones' history, the registrations of
/// the licensees that hold its lots or signed its records, and attestations
/// about its lots and certificates. Replayed in acceptance order after the
/// governance entries ([`governance_chain`]), they pass the rules without
/// any other entry. A read that fails is [`TrailError::Read`], never a set
/// with entries missing.
pub fn collect<S: BundleSource>(src: &S, subject: &Subject) -> Result<BTreeSet<Hash32>, TrailError<S::Error>> {
    let mut c =
        Collector { src, out: BTreeSet::new(), licensees: HashSet::new(), zones: HashSet::new(), todo: Vec::new() };
    c.todo.push(match subject {
        Subject::Lot { participant, lot } => Node::Lot(participant.clone(), lot.clone()),
        Subject::Certificate { number } => Node::Cert(number.clone()),
    });
    let (mut lots, mut certs) = (HashSet::new(), HashSet::new());
    while let Some(node) = c.todo.pop() {
        match node {
            Node::Lot(participant, lot) => {
                let key = (participant, lot);
                if lots.contains(&key) {
                    continue;
                }
                let state = TrailSource::lot(src, &key.0, &key.1)
                    .map_err(TrailError::Read)?
                    .ok_or_else(|| TrailError::UnknownLot { participant: key.0.clone(), lot: key.1.clone() })?;
                c.lot(&state).map_err(TrailError::Read)?;
                lots.insert(key);
            }
            Node::Cert(number) => {
                if certs.contains(&number) {
                    continue;
                }
                let cert = TrailSource::certificate(src, &number)
                    .map_err(TrailError::Read)?
                    .ok_or_else(|| TrailError::UnknownCertificate(number.clone()))?;
                c.cert(&cert).map_err(TrailError::Read)?;
                certs.insert(number);
            }
        }
    }
    // Registrations name only their own licensee, and zone statuses name no
    // context, so one pass is enough.
    c.context().map_err(TrailError::Read)?;
    Ok(c.out)
}

/// Every governance entry `src` holds, oldest first: the newest one and
/// every one before it, its own log back to the first entry and, through
/// the handover a new chair's first entry names in its context, the logs of
/// the chairs before. Replayed in this order from the genesis roster, they
/// make every roster version.
pub fn governance_chain<S: BundleSource>(src: &S) -> Result<Vec<SignedEntry>, S::Error> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let Some(head) = src.latest_governance() else { return Ok(out) };
    let mut next = src.entry(&head)?;
    while let Some(e) = next {
        if !seen.insert(e.hash()) {
            break;
        }
        next = if e.entry().seq > 1 {
            src.entry(&e.entry().prev)?
        } else {
            let mut found = None;
            for h in &e.entry().context {
                if let Some(g) = src.entry(h)?
                    && matches!(g.entry().body, Body::Governance(_))
                {
                    found = Some(g);
                    break;
                }
            }
            found
        };
        out.push(e);
    }
    out.reverse();
    Ok(out)
}

impl<S: BundleSource> Collector<'_, S> {
    /// What the collected entries read besides the trail: the licensees they
    /// name, the zone statuses and the network their verdicts read.
    fn context(&mut self) -> Result<(), S::Error> {
        let mut entries = Vec::with_capacity(self.out.len());
        for h in &self.out {
            entries.extend(self.src.entry(h)?);
        }
        for e in &entries {
            if let Some(code) = self.src.participant_of(&e.entry().author) {
                for key in licensees_named(e) {
                    self.licensee(&code, &key)?;
                }
            }
            // The statuses a verdict was judged against, with the chains
            // behind them (R6): the whole history of each zone named. The
            // network it read is the governance entries', which a bundle
            // carries apart.
            for h in &e.entry().context {
                if let Some(z) = self.src.zone(h)?
                    && self.zones.insert((z.status.participant.clone(), z.status.zone.clone()))
                {
                    let history = self.src.zone_history(&z.status.participant, &z.status.zone)?;
                    self.out.extend(history.iter().map(|z| z.entry));
                }
            }
        }
        Ok(())
    }

    fn licensee(&mut self, participant: &str, key: &PublicKey) -> Result<(), S::Error> {
        if self.licensees.insert((participant.to_string(), *key))
            && let Some(l) = self.src.licensee(participant, key)?
        {
            self.out.insert(l.registered_by);
        }
        Ok(())
    }

    fn attestations(&mut self, subject: &Subject) -> Result<(), S::Error> {
        for a in self.src.attestations(subject)? {
            self.out.insert(a.entry);
            // A laboratory's finding is its own signed record, about a lot
            // of its own participant.
            if let Subject::Lot { participant, .. } = subject {
                self.licensee(participant, &a.author)?;
            }
        }
        Ok(())
    }

    fn lot(&mut self, lot: &LotState) -> Result<(), S::Error> {
        self.out.insert(lot.created_by);
        self.licensee(&lot.participant, &lot.holder)?;
        self.attestations(&Subject::Lot { participant: lot.participant.clone(), lot: lot.lot.clone() })?;
        match &lot.origin {
            LotOrigin::Production { zone, zone_status, .. } => {
                self.out.extend(zone_status);
                // Later statuses of the zone are what the trail's "after the
                // fact" notes and problems are made of.
                if let Some(zone) = zone
                    && self.zones.insert((lot.participant.clone(), zone.clone()))
                {
                    self.out.extend(self.src.zone_history(&lot.participant, zone)?.iter().map(|z| z.entry));
                }
            }
            LotOrigin::Transfer { inputs } => {
                self.todo.extend(inputs.iter().map(|t| Node::Lot(lot.participant.clone(), t.lot.clone())));
            }
            LotOrigin::Import { certificate } => self.todo.push(Node::Cert(certificate.clone())),
        }
        Ok(())
    }

    fn cert(&mut self, cert: &CertState) -> Result<(), S::Error> {
        self.out.insert(cert.entry);
        self.licensee(&cert.exporter, &cert.exporter_licensee)?;
        self.attestations(&Subject::Certificate { number: cert.number.clone() })?;
        if let Some(c) = &cert.confirmation {
            self.out.insert(c.entry);
            // The confirmation creates a lot for a registered holder (R2).
            if let Some(lot) = TrailSource::lot(self.src, &cert.importer, &c.lot)? {
                self.licensee(&cert.importer, &lot.holder)?;
            }
        }
        self.todo.extend(cert.inputs.iter().map(|t| Node::Lot(cert.exporter.clone(), t.lot.clone())));
        Ok(())
    }
}

/// Licensees an entry needs registered to be accepted.
fn licensees_named(e: &SignedEntry) -> Vec<PublicKey> {
    match &e.entry().body {
        Body::RegisterLicensee(r) => vec![r.licensee],
        Body::ImportConfirmation(c) => vec![c.holder],
        Body::Countersigned(c) => {
            let Ok(r) = SignedRecord::from_countersigned(c) else { return Vec::new() };
            let mut keys = vec![r.record().licensee];
            if let RecordBody::Transfer(t) = &r.record().body {
                keys.extend(t.outputs.iter().map(|o| o.holder));
            }
            keys
        }
        _ => Vec::new(),
    }
}

impl BundleSource for MemLedger {
    fn licensee(&self, participant: &str, key: &PublicKey) -> Result<Option<LicenseeState>, Infallible> {
        LedgerView::licensee(self, participant, key)
    }
    fn participant_of(&self, author: &PublicKey) -> Option<String> {
        self.network.participant_of(author).map(str::to_string)
    }
    fn latest_governance(&self) -> Option<Hash32> {
        self.governance_head
    }
    fn zone(&self, entry: &Hash32) -> Result<Option<ZoneRecord>, Infallible> {
        LedgerView::zone(self, entry)
    }
    fn entry(&self, hash: &Hash32) -> Result<Option<SignedEntry>, Infallible> {
        Ok(self.entries.values().find(|e| e.hash() == *hash).cloned())
    }
}

// ---------------------------------------------------------------- verify

fn problem(code: &str, message: impl Into<String>) -> Problem {
    Problem { code: code.to_string(), message: message.into() }
}

/// Check a bundle with nothing but the genesis roster; see the module docs.
/// Every problem found is listed, except that a file that is not a
/// canonical bundle is not read further, governance entries after the
/// first that does not replay are not judged, and the trail's rules are
/// replayed only over entries whose signatures and proofs all hold.
/// Positions in messages count from 1.
pub fn verify(bytes: &[u8], roster: &SignedRoster, opts: &VerifyOptions) -> Report {
    let mut report = Report {
        valid: false,
        subject: None,
        network: None,
        roster_hash: crate::crypto::roster_hash(&roster.bytes.0),
        chair: roster.roster.chair,
        roster_version: None,
        roster_version_hash: None,
        quorum: opts.quorum,
        entries: 0,
        governance: 0,
        logs: Vec::new(),
        problems: Vec::new(),
        trail: None,
    };
    let bundle: Bundle = match serde_json::from_slice(bytes) {
        Ok(b) => b,
        Err(e) => {
            report.problems.push(problem(codes::UNREADABLE, format!("not a bundle: {e}")));
            return report;
        }
    };
    let canonical = bundle.to_json();
    if canonical != bytes {
        report.problems.push(problem(codes::NOT_CANONICAL, not_canonical(bytes, &canonical)));
        return report;
    }
    report.subject = Some(bundle.subject.clone());
    report.network = Some(bundle.network.clone());
    report.entries = bundle.entries.len();
    report.governance = bundle.governance.len();
    check(&bundle, roster, opts, &mut report);
    report.valid = report.problems.is_empty();
    report
}

fn not_canonical(bytes: &[u8], canonical: &[u8]) -> String {
    let at = bytes.iter().zip(canonical).position(|(a, b)| a != b).unwrap_or(bytes.len().min(canonical.len()));
    let before = &bytes[..at];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let column = at - before.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1) + 1;
    let show = |b: Option<&u8>| match b {
        None => "the end of the file".to_string(),
        Some(b) if b.is_ascii_graphic() || *b == b' ' => format!("`{}`", *b as char),
        Some(b) => format!("byte 0x{b:02x}"),
    };
    format!(
        "the file differs from its canonical form at byte offset {at} (line {line}, column {column}): {} where {} belongs; \
         a bundle is checked byte for byte as it was written",
        show(bytes.get(at)),
        show(canonical.get(at))
    )
}

fn check(bundle: &Bundle, roster: &SignedRoster, opts: &VerifyOptions, report: &mut Report) {
    if bundle.format != FORMAT {
        let msg = format!("the bundle's format is `{}`, this verifier reads `{FORMAT}`", bundle.format);
        report.problems.push(problem(codes::FORMAT, msg));
    }
    let (r, hash) = match crate::roster::verify(roster) {
        Ok(x) => x,
        Err(e) => {
            report.problems.push(problem(codes::ROSTER, format!("the roster does not verify: {e}")));
            return;
        }
    };
    if r.network != bundle.network {
        let msg = format!("the bundle is for network `{}`, the roster for `{}`", bundle.network, r.network);
        report.problems.push(problem(codes::ROSTER, msg));
    }
    if hash != bundle.roster_hash {
        let msg = format!(
            "the bundle was made under the roster with hash {}, this roster's hash is {hash}",
            bundle.roster_hash
        );
        report.problems.push(problem(codes::ROSTER, msg));
    }
    let mut seen = Seen::default();

    // The roster versions first: who writes which log, and who witnesses
    // it, is the version in force's.
    let (mem, governance, replayed) = replay_governance(bundle, NetworkState::from_roster(&r, hash), &mut seen, report);
    let net = mem.network.clone();
    if replayed {
        report.roster_version = Some(net.version);
        report.roster_version_hash = Some(net.version_hash());
    }

    let mut by_log = HashMap::new();
    let checkpoints: Vec<Option<(SignedCheckpoint, usize)>> = bundle
        .checkpoints
        .iter()
        .enumerate()
        .map(|(i, bc)| check_checkpoint(&net, replayed, i, bc, opts, &mut by_log, report))
        .collect();

    // Each chair's log is carried whole up to its checkpoint, so the
    // version in force is the one that checkpoint's witnesses vouch for,
    // not an older one a bundle could stop at.
    let mut carried: BTreeMap<PublicKey, (u64, Option<u64>)> = BTreeMap::new();
    for (be, g) in bundle.governance.iter().zip(&governance) {
        let Some(g) = g else { continue };
        let size = prove(&net, &checkpoints, be, g, report);
        let c = carried.entry(g.author).or_insert((0, None));
        c.0 = c.0.max(g.seq);
        c.1 = c.1.or(size);
    }
    if replayed {
        for (log, (last, size)) in carried {
            if let Some(size) = size.filter(|s| *s > last) {
                let msg = format!(
                    "the bundle carries entries 1 to {last} of the {}, whose checkpoint is at size {size}: a bundle \
                     carries every governance entry up to its checkpoint of each chair's log",
                    log_name(&net, &log)
                );
                report.problems.push(problem(codes::GOVERNANCE, msg));
            }
        }
    }

    let mut verified = Vec::with_capacity(bundle.entries.len());
    for (i, be) in bundle.entries.iter().enumerate() {
        let label = format!("entry {}", i + 1);
        let signed = match SignedEntry::parse(be.entry.0.clone()) {
            Ok(s) => s,
            Err(r) => {
                report.problems.push(problem(codes::ENTRY, format!("{label} does not parse: {r}")));
                verified.push(None);
                continue;
            }
        };
        let e = Parsed::of(&signed, label, &net);
        seen.note(&e, report);
        if let Body::Governance(_) = signed.entry().body {
            let msg = format!("{} is a governance entry: a bundle carries those apart, in `governance`", e.name);
            report.problems.push(problem(codes::GOVERNANCE, msg));
        }
        // The rules judge an entry by the version its context names, where
        // a key replaced since still signs: the version in force says
        // where its log was closed.
        if let Some(r) = net.retired(&e.author)
            && r.holder != CHAIR
            && e.seq > r.last
        {
            let msg = format!(
                "{} is signed by a key of {} that was replaced, beyond position {} where the rotation closed its \
                 log: only its entries 1 to {} stand",
                e.name, r.holder, r.last, r.last
            );
            report.problems.push(problem(codes::CLOSED_LOG, msg));
        }
        match signed.into_verified() {
            Ok(v) => verified.push(Some(v)),
            Err(r) => {
                report.problems.push(problem(codes::ENTRY, format!("{}: {r}", e.name)));
                verified.push(None);
            }
        }
        prove(&net, &checkpoints, be, &e, report);
    }

    if report.problems.is_empty() {
        let verified: Vec<Verified> =
            verified.into_iter().map(|v| v.expect("no problems: every entry verified")).collect();
        replay(mem, bundle, &verified, opts, report);
    }
}

/// An entry of the bundle as parsed: its id, its place, and its name in
/// messages (`entry 3 (CF authority log, entry 5)`).
struct Parsed {
    hash: Hash32,
    author: PublicKey,
    seq: u64,
    /// `entry 3` or `governance entry 1`: its place in the bundle.
    label: String,
    name: String,
}

impl Parsed {
    fn of(e: &SignedEntry, label: String, net: &NetworkState) -> Self {
        let (hash, author, seq) = (e.hash(), e.entry().author, e.entry().seq);
        let name = format!("{label} ({}, entry {seq})", log_name(net, &author));
        Self { hash, author, seq, label, name }
    }
}

/// The first place each entry and each position of a log was seen at, in
/// both lists of the bundle, to name what repeats it.
#[derive(Default)]
struct Seen {
    by_hash: HashMap<Hash32, String>,
    by_position: HashMap<(PublicKey, u64), String>,
}

impl Seen {
    fn note(&mut self, e: &Parsed, report: &mut Report) {
        if let Some(first) = self.by_hash.get(&e.hash) {
            report.problems.push(problem(codes::DUPLICATE_ENTRY, format!("{} repeats {first}", e.name)));
        } else if let Some(first) = self.by_position.get(&(e.author, e.seq)) {
            let msg = format!("{} and {first} are two different entries at one position of one log", e.name);
            report.problems.push(problem(codes::DUPLICATE_ENTRY, msg));
        }
        self.by_hash.entry(e.hash).or_insert_with(|| e.label.clone());
        self.by_position.entry((e.author, e.seq)).or_insert_with(|| e.label.clone());
    }
}

/// Replay the governance entries in their order from the genesis roster,
/// through the rules (R2, R3) as any node judges them: the ledger they
/// leave holds every roster version they make, the newest as its network.
/// Also returns each entry as parsed, and whether every one was accepted.
/// After the first that is not, no later version can be made: only that
/// one is reported.
fn replay_governance(
    bundle: &Bundle,
    genesis: NetworkState,
    seen: &mut Seen,
    report: &mut Report,
) -> (MemLedger, Vec<Option<Parsed>>, bool) {
    let mut mem = MemLedger::new(genesis);
    let mut parsed = Vec::with_capacity(bundle.governance.len());
    let mut unbroken = true;
    for (i, be) in bundle.governance.iter().enumerate() {
        let label = format!("governance entry {}", i + 1);
        let signed = match SignedEntry::parse(be.entry.0.clone()) {
            Ok(s) => s,
            Err(r) => {
                report.problems.push(problem(codes::ENTRY, format!("{label} does not parse: {r}")));
                parsed.push(None);
                unbroken = false;
                continue;
            }
        };
        let e = Parsed::of(&signed, label, &mem.network);
        seen.note(&e, report);
        let name = e.name.clone();
        parsed.push(Some(e));
        let v = match signed.into_verified() {
            Ok(v) => v,
            Err(r) => {
                report.problems.push(problem(codes::ENTRY, format!("{name}: {r}")));
                unbroken = false;
                continue;
            }
        };
        if !matches!(v.entry.entry().body, Body::Governance(_)) {
            let msg = format!("{name} is a {} entry, not a governance entry", v.entry.entry().body.kind());
            report.problems.push(problem(codes::GOVERNANCE, msg));
            unbroken = false;
            continue;
        }
        if !unbroken {
            continue;
        }
        let why = match mem.ingest_verified(v) {
            Ok(Verdict::Accepted(a)) => match a.void {
                None => continue,
                Some(why) => format!("it is void: {why}"),
            },
            Ok(_) => "it takes a position of the chair's log that an earlier governance entry holds".to_string(),
            Err(r) => format!("{} ({})", r.message, r.code),
        };
        let msg = format!(
            "{name} does not follow from the genesis roster and the governance entries before it: {why}; the roster \
             versions from it on cannot be made"
        );
        report.problems.push(problem(codes::GOVERNANCE, msg));
        unbroken = false;
    }
    (mem, parsed, unbroken)
}

/// Check that an entry is in the checkpoint of its own log that it names,
/// counting it in that log's report; returns the checkpoint's size when it
/// is of the entry's log.
fn prove(
    net: &NetworkState,
    checkpoints: &[Option<(SignedCheckpoint, usize)>],
    be: &BundleEntry,
    e: &Parsed,
    report: &mut Report,
) -> Option<u64> {
    let name = &e.name;
    let cp = match checkpoints.get(be.checkpoint) {
        None => {
            let msg = format!(
                "{name} names checkpoint index {}, but the bundle has {} checkpoints, indexed from 0",
                be.checkpoint,
                checkpoints.len()
            );
            report.problems.push(problem(codes::WRONG_CHECKPOINT, msg));
            return None;
        }
        // Already reported as unreadable.
        Some(None) => return None,
        Some(Some((cp, log_report))) => {
            let c = cp.checkpoint();
            if c.log != e.author {
                let msg = format!("{name} names the checkpoint of the {}, not of its own log", log_name(net, &c.log));
                report.problems.push(problem(codes::WRONG_CHECKPOINT, msg));
                return None;
            }
            report.logs[*log_report].entries += 1;
            c
        }
    };
    let proven = match e.seq.checked_sub(1) {
        None => Err("logs start at entry 1".to_string()),
        Some(index) => merkle::verify_inclusion(&e.hash, index, cp.size, &be.proof, &cp.root)
            .map_err(|e| format!("{e} ({})", e.code())),
    };
    if let Err(why) = proven {
        let msg = format!(
            "{name} is not proven to be in the checkpoint of its log at size {} (root {}): {why}",
            cp.size, cp.root
        );
        report.problems.push(problem(codes::INCLUSION, msg));
    }
    Some(cp.size)
}

/// Parse one checkpoint and judge it with its cosignatures
/// ([`checkpoint::judge`]) under the roster version `net`, when that is the
/// one in force; returns it with the index of its [`LogReport`] when it
/// parses and its size is one a log can reach.
fn check_checkpoint(
    net: &NetworkState,
    in_force: bool,
    i: usize,
    bc: &BundleCheckpoint,
    opts: &VerifyOptions,
    by_log: &mut HashMap<PublicKey, usize>,
    report: &mut Report,
) -> Option<(SignedCheckpoint, usize)> {
    let problems = &mut report.problems;
    let cp = match SignedCheckpoint::parse(bc.checkpoint.0.clone()) {
        Ok(cp) => cp,
        Err(e) => {
            let msg = format!("checkpoint {} of the bundle does not parse: {} ({e})", i + 1, e.code());
            problems.push(problem(codes::CHECKPOINT, msg));
            return None;
        }
    };
    let mut judged = checkpoint::judge(net, &cp, &bc.cosignatures, opts.quorum);
    // Without the roster version in force, who writes a log and who may
    // witness it are not known: only what the bytes alone show is judged.
    if !in_force {
        use checkpoint::Fault;
        judged.problems.retain(|p| matches!(p.fault, Fault::Malformed | Fault::Signature | Fault::WrongNetwork));
        judged.witnesses.clear();
    }
    let malformed = judged.problems.iter().any(|p| p.fault == checkpoint::Fault::Malformed);
    for p in judged.problems {
        problems.push(problem(&format!("bundle.{}", p.fault.name()), p.message));
    }
    // No proof is checked against a checkpoint of a size no log reaches.
    if malformed {
        return None;
    }
    let c = cp.checkpoint();
    if let Some(first) = by_log.get(&c.log) {
        let name = format!("checkpoint of the {} at size {}", log_name(net, &c.log), c.size);
        let msg = format!("{name}: checkpoint {} is of the same log, and a bundle has one per log", first + 1);
        problems.push(problem(codes::DUPLICATE_LOG, msg));
    } else {
        by_log.insert(c.log, i);
    }
    report.logs.push(LogReport {
        log: c.log,
        name: net.author_name(&c.log),
        size: c.size,
        root: c.root,
        timestamp_ms: c.timestamp_ms,
        quorum: judged.quorum,
        witnesses: judged.witnesses.into_iter().collect(),
        entries: 0,
    });
    let index = report.logs.len() - 1;
    Some((cp, index))
}

/// The state the bundle's own entries build. A log's chain (R3) is proven
/// by the inclusion proofs, not replayed: each entry is judged as if the
/// log's head were the entry it names as previous.
struct Replay {
    mem: MemLedger,
    /// The author of the entry being judged, and its stand-in head.
    author: Option<PublicKey>,
    head: Option<Head>,
}

impl LedgerView for Replay {
    type Error = Infallible;
    fn network(&self) -> &NetworkState {
        &self.mem.network
    }
    fn genesis(&self) -> &NetworkState {
        &self.mem.genesis
    }
    fn network_at(&self, governance: &Hash32) -> Result<Option<std::sync::Arc<NetworkState>>, Infallible> {
        self.mem.network_at(governance)
    }
    fn governance_head(&self) -> Option<Hash32> {
        self.mem.governance_head
    }
    fn entry_known(&self, hash: &Hash32) -> Result<bool, Infallible> {
        self.mem.entry_known(hash)
    }
    fn head(&self, author: &PublicKey) -> Result<Option<Head>, Infallible> {
        if self.author == Some(*author) {
            return Ok(self.head.clone());
        }
        // A log a rotation closed counts as held to its end: what a new
        // key's entry relies on of it, the bundle carries and proves; that
        // a node waits for the rest first is an order, not a fact.
        let net = &self.mem.network;
        Ok(net.closed_logs().find(|(k, _)| *k == author).map(|(_, last)| Head {
            seq: last,
            hash: Hash32::ZERO,
            timestamp_ms: 0,
            frozen: true,
        }))
    }
    fn entry_hash_at(&self, author: &PublicKey, seq: u64) -> Result<Option<Hash32>, Infallible> {
        LedgerView::entry_hash_at(&self.mem, author, seq)
    }
    fn licensee(&self, participant: &str, key: &PublicKey) -> Result<Option<LicenseeState>, Infallible> {
        LedgerView::licensee(&self.mem, participant, key)
    }
    fn lot(&self, participant: &str, lot: &str) -> Result<Option<LotState>, Infallible> {
        LedgerView::lot(&self.mem, participant, lot)
    }
    fn certificate(&self, number: &str) -> Result<Option<CertState>, Infallible> {
        LedgerView::certificate(&self.mem, number)
    }
    fn zone(&self, entry: &Hash32) -> Result<Option<ZoneRecord>, Infallible> {
        LedgerView::zone(&self.mem, entry)
    }
    fn zone_head(&self, monitor: &PublicKey, participant: &str, zone: &str) -> Result<Option<Hash32>, Infallible> {
        self.mem.zone_head(monitor, participant, zone)
    }
    fn record_seen(&self, participant: &str, record: &Hash32) -> Result<bool, Infallible> {
        self.mem.record_seen(participant, record)
    }
    fn freeze_point(&self, _author: &PublicKey) -> Option<u64> {
        None
    }
    fn withdrawn(&self, _hash: &Hash32) -> Result<bool, Infallible> {
        Ok(false)
    }
    fn void(&self, _key: &VoidKey) -> Result<bool, Infallible> {
        Ok(false)
    }
}

/// Replay the trail's entries in the bundle's order into `mem`, which holds
/// the roster versions: each is judged against the version its context
/// names.
fn replay(mem: MemLedger, bundle: &Bundle, verified: &[Verified], opts: &VerifyOptions, report: &mut Report) {
    let mut view = Replay { mem, author: None, head: None };
    for (i, v) in verified.iter().enumerate() {
        let e = v.entry.entry();
        let name = format!("entry {} ({}, entry {})", i + 1, log_name(&view.mem.network, &e.author), e.seq);
        view.author = Some(e.author);
        view.head = (e.seq > 1).then(|| Head { seq: e.seq - 1, hash: e.prev, timestamp_ms: 0, frozen: false });
        match rules::judge(&view, v).map_err(Refusal::from) {
            Ok(Verdict::Accepted(a)) => {
                view.mem.entries.insert((a.author, a.head.seq), v.entry.clone());
                view.mem.apply(&a);
            }
            Ok(Verdict::Duplicate(_) | Verdict::Equivocation(_) | Verdict::Withdrawn(_)) => {
                let msg = format!("{name} takes a position of its log that an earlier entry holds");
                report.problems.push(problem(codes::DUPLICATE_ENTRY, msg));
            }
            Err(r) => report.problems.push(problem(&r.code, format!("{name}: {}", r.message))),
        }
    }
    // A refused entry leaves a hole that every later problem follows from.
    if !report.problems.is_empty() {
        return;
    }
    let trail = match &bundle.subject {
        Subject::Lot { participant, lot } if view.mem.lots.contains_key(&(participant.clone(), lot.clone())) => {
            trail::lot_trail(&view.mem, participant, lot, &opts.today)
        }
        Subject::Certificate { number } if view.mem.certs.contains_key(number) => {
            trail::certificate_trail(&view.mem, number, &opts.today)
        }
        s => {
            let msg = format!("the bundle's entries create no {s}, the bundle's subject");
            report.problems.push(problem(codes::SUBJECT_MISSING, msg));
            return;
        }
    };
    match trail {
        Ok(t) => report.trail = Some(t),
        Err(e) => report.problems.push(problem(e.code(), format!("the trail of {}: {e}", bundle.subject))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::Checkpoint;
    use crate::crypto::Keypair;
    use crate::entry::sign_record;
    use crate::model::{Entry, Output, Participant, Roster, Take, Transfer};

    fn roster() -> SignedRoster {
        let chair = Keypair::from_seed([1; 32]);
        let participant = |code: &str, seed: u8| Participant {
            code: code.into(),
            name: code.into(),
            authority: Keypair::from_seed([seed; 32]).public(),
            zone_regime: false,
            nodes: vec![],
        };
        let r = Roster {
            network: "net".into(),
            version: 1,
            chair: chair.public(),
            participants: vec![participant("BW", 2), participant("EU", 3)],
            monitors: vec![],
            observers: vec![],
        };
        crate::roster::sign(r, &chair)
    }

    fn empty(r: &SignedRoster) -> Bundle {
        Bundle {
            format: FORMAT.into(),
            network: "net".into(),
            roster_hash: crate::crypto::roster_hash(&r.bytes.0),
            subject: Subject::Certificate { number: "BW-1".into() },
            checkpoints: vec![],
            governance: vec![],
            entries: vec![],
        }
    }

    fn opts() -> VerifyOptions {
        VerifyOptions { quorum: 1, today: "2020-01-01".into() }
    }

    fn codes_of(r: &Report) -> Vec<&str> {
        r.problems.iter().map(|p| p.code.as_str()).collect()
    }

    #[test]
    fn checkpoint_faults_keep_the_bundle_codes() {
        use checkpoint::Fault;
        let pairs = [
            (Fault::Malformed, codes::CHECKPOINT),
            (Fault::Signature, codes::CHECKPOINT_SIGNATURE),
            (Fault::WrongNetwork, codes::WRONG_NETWORK),
            (Fault::UnknownLog, codes::UNKNOWN_LOG),
            (Fault::Cosignature, codes::COSIGNATURE),
            (Fault::Quorum, codes::QUORUM),
        ];
        for (fault, code) in pairs {
            assert_eq!(format!("bundle.{}", fault.name()), code);
        }
    }

    #[test]
    fn the_report_names_the_roster_it_checked_against() {
        let r = roster();
        let report = verify(b"{}", &r, &opts());
        assert_eq!(report.roster_hash, crate::crypto::roster_hash(&r.bytes.0));
        assert_eq!(report.chair, Keypair::from_seed([1; 32]).public());
    }

    #[test]
    fn the_first_difference_is_named_by_byte_line_and_column() {
        let m = not_canonical(b"{\n  \"a\": 1,\n  \"b\": 2\n}\n", b"{\n  \"a\": 1,\n  \"b\": 3\n}\n");
        assert!(m.contains("byte offset 19 (line 3, column 8): `2` where `3` belongs"), "{m}");
        let m = not_canonical(b"{}", b"{}\n");
        assert!(m.contains("byte offset 2 (line 1, column 3): the end of the file where byte 0x0a belongs"), "{m}");
        let m = not_canonical(b"{}\n\t", b"{}\n");
        assert!(m.contains("(line 2, column 1): byte 0x09 where the end of the file belongs"), "{m}");
    }

    #[test]
    fn an_empty_bundle_lacks_its_subject() {
        let r = roster();
        let report = verify(&empty(&r).to_json(), &r, &opts());
        assert_eq!(codes_of(&report), vec![codes::SUBJECT_MISSING]);
        assert!(report.problems[0].message.contains("certificate BW-1"));
        assert_eq!((report.valid, report.entries, report.network.as_deref()), (false, 0, Some("net")));

        let report = verify(b"{}", &r, &opts());
        assert_eq!(codes_of(&report), vec![codes::UNREADABLE]);
        assert!(report.problems[0].message.contains("missing field `format` at line 1 column 2"));
        let report = verify(b"[", &r, &opts());
        assert_eq!(codes_of(&report), vec![codes::UNREADABLE]);
    }

    #[test]
    fn a_checkpoint_beyond_any_log_size_is_malformed_not_a_panic() {
        let r = roster();
        let bw = Keypair::from_seed([2; 32]);
        let cp = SignedCheckpoint::sign(
            Checkpoint {
                network: "net".into(),
                log: bw.public(),
                size: (1 << 63) + 1,
                root: Hash32::ZERO,
                timestamp_ms: 0,
            },
            &bw,
        );
        let entry = SignedEntry::sign(
            Entry {
                network: "net".into(),
                author: bw.public(),
                seq: 1,
                prev: Hash32::ZERO,
                timestamp_ms: 0,
                context: vec![],
                body: Body::RevokeLicensee(crate::model::LicenseeRevocation {
                    licensee: Keypair::from_seed([9; 32]).public(),
                    reason: "x".into(),
                }),
            },
            &bw,
        );
        let mut b = empty(&r);
        let cosignatures = vec![cp.cosign(&Keypair::from_seed([3; 32]))];
        b.checkpoints.push(BundleCheckpoint { checkpoint: HexBytes(cp.into_bytes()), cosignatures });
        b.entries.push(BundleEntry { entry: HexBytes(entry.into_bytes()), checkpoint: 0, proof: vec![] });
        let report = verify(&b.to_json(), &r, &opts());
        assert_eq!(codes_of(&report), vec![codes::CHECKPOINT], "{:?}", report.problems);
        assert!(report.problems[0].message.contains("2^63"));
    }

    #[test]
    fn a_transfer_names_its_signer_and_every_new_holder() {
        let (bw, miner, a, b) = (
            Keypair::from_seed([2; 32]),
            Keypair::from_seed([20; 32]),
            Keypair::from_seed([21; 32]),
            Keypair::from_seed([22; 32]),
        );
        let out = |lot: &str, k: &Keypair| Output { lot: lot.into(), weight: 1, holder: k.public() };
        let rec = sign_record(
            "net",
            &miner,
            1,
            RecordBody::Transfer(Transfer {
                inputs: vec![Take { lot: "L".into(), weight: 2 }],
                outputs: vec![out("A", &a), out("B", &b)],
                date: "2017-01-01".into(),
            }),
        );
        let e = SignedEntry::sign(
            Entry {
                network: "net".into(),
                author: bw.public(),
                seq: 1,
                prev: Hash32::ZERO,
                timestamp_ms: 0,
                context: vec![],
                body: Body::Countersigned(rec.to_countersigned()),
            },
            &bw,
        );
        assert_eq!(licensees_named(&e), vec![miner.public(), a.public(), b.public()]);
    }
}
