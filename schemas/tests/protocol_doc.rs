//! The worked bytes of `docs/PROTOCOL.md`: one example of every entry body,
//! a signed roster, a checkpoint with its cosignature, the keys they use and
//! the tags of every small enum.
//!
//! Each example is built here from fixed seeds and values, and written out by
//! an annotating encoder of this file's own, field by field, as the document
//! describes the layout. The suite checks that this second encoder writes
//! exactly the canonical bytes, that the document's blocks are exactly its
//! output, and that the hex printed in the document parses back, strictly,
//! to the same values and verifies. The bodies are those of the golden
//! vectors of the same name (`tests/golden/entries.json`), which give each
//! one's whole entry.
//!
//! A block is marked in the document by `<!-- example: NAME -->` before a
//! fenced `text` block, or `<!-- table: NAME -->` before a table. After an
//! intended change, rewrite them with
//! `KP_BLESS=1 cargo test --release -p kp-schemas --test protocol_doc`
//! and commit the document with the change.

use ed25519_dalek::{Signature, VerifyingKey};
use kp_schemas::checkpoint::{Checkpoint, CheckpointGossip, Cosignature, Fraud, SignedCheckpoint};
use kp_schemas::encoding::{decode, encode};
use kp_schemas::entry::sign_record;
use kp_schemas::model::*;
use kp_schemas::wire::{LogHead, SyncRequest, SyncResponse};
use kp_schemas::{Hash32, Keypair, PublicKey, SignatureBytes, SignedEntry, roster};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::path::PathBuf;

const DOC: &str = include_str!("../../docs/PROTOCOL.md");
const GOLDEN: &str = include_str!("golden/entries.json");

fn doc_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/PROTOCOL.md")
}

fn bless() -> bool {
    std::env::var("KP_BLESS").is_ok_and(|v| v == "1")
}

// ------------------------------------------------------------ the values

/// The golden vectors' network, seeds and times (`tests/golden.rs`).
const NETWORK: &str = "kp-golden";
const T0_MS: u64 = 1_509_494_400_000;
const LOT: &str = "CF/BER/2017/00042";

/// Every key the examples use: a name, and the byte its 32-byte seed repeats.
const KEYS: [(&str, u8); 12] = [
    ("chair", 0x01),
    ("next chair", 0x02),
    ("CF authority", 0x10),
    ("BE authority", 0x11),
    ("NA authority", 0x12),
    ("monitor MT-CF", 0x20),
    ("miner", 0x30),
    ("trader", 0x31),
    ("exporter", 0x32),
    ("laboratory", 0x33),
    ("GA authority", 0x41),
    ("NA authority, next", 0x42),
];

fn key(seed: u8) -> Keypair {
    Keypair::from_seed([seed; 32])
}

/// The golden vectors' importer key (seed 0x34), in no example's header.
fn importer() -> Keypair {
    key(0x34)
}

/// Stand-ins for hashes of entries the examples name: SHA-256 of a label.
const LABELS: [&str; 4] = ["zone BER", "zone BER, other monitor", "lab report 2017-118", "export entry CF-000123"];

fn label_hash(label: &str) -> Hash32 {
    Hash32(Sha256::digest(label.as_bytes()).into())
}

fn key_name(k: &PublicKey) -> String {
    if *k == importer().public() {
        return "importer (seed 34)".into();
    }
    let (name, seed) = KEYS.iter().find(|(_, s)| key(*s).public() == *k).expect("a key of the examples");
    format!("{name} (seed {seed:02x})")
}

fn hash_name(h: &Hash32) -> String {
    match LABELS.iter().find(|l| label_hash(l) == *h) {
        Some(l) => format!("SHA-256(\"{l}\"), a stand-in"),
        None => "hash".into(),
    }
}

fn entry(author: &Keypair, seq: u64, offset_ms: u64, context: Vec<Hash32>, body: Body) -> Entry {
    let mut context = context;
    context.sort();
    Entry {
        network: NETWORK.into(),
        author: author.public(),
        seq,
        prev: if seq == 1 { Hash32::ZERO } else { label_hash(&format!("prev {seq}")) },
        timestamp_ms: T0_MS + offset_ms,
        context,
        body,
    }
}

fn countersigned(licensee: &Keypair, nonce: u64, body: RecordBody) -> Body {
    Body::Countersigned(sign_record(NETWORK, licensee, nonce, body).to_countersigned())
}

/// The golden entries whose bodies the document shows, by golden name.
fn entries() -> Vec<(&'static str, SignedEntry)> {
    let (cf, be, monitor, chair, next_chair) = (key(0x10), key(0x11), key(0x20), key(0x01), key(0x02));
    let (miner, trader) = (key(0x30), key(0x31));
    let zone = label_hash("zone BER");
    let production = Production {
        lot: LOT.into(),
        site: "Berbérati alluvial".into(),
        zone: Some(ZoneRef { zone: "BER".into(), status_entry: Some(zone) }),
        weight: 12_345,
        stones: 17,
        date: "2017-11-02".into(),
        nature: Nature::Natural,
        value_cents: Some(1_851_750),
    };
    let transfer = Transfer {
        inputs: vec![Take { lot: LOT.into(), weight: 12_345 }],
        outputs: vec![
            Output { lot: "CF/BGF/2017/00007".into(), weight: 10_000, holder: trader.public() },
            Output { lot: "CF/BER/2017/00042-R".into(), weight: 2_345, holder: miner.public() },
        ],
        date: "2017-11-05".into(),
    };
    let export = Export {
        certificate: "CF-000123".into(),
        importer: "BE".into(),
        consignee: "Antwerp Rough Traders NV".into(),
        inputs: vec![Take { lot: "CF/BGF/2017/00007".into(), weight: 10_000 }],
        lines: vec![HsLine { code: "7102.31".into(), weight: 10_000, value_cents: 1_234_500 }],
        parcels: 2,
        issued: "2017-11-20".into(),
        expires: "2018-01-19".into(),
    };
    let lab = LabResult {
        lot: LOT.into(),
        report_hash: label_hash("lab report 2017-118"),
        finding: Nature::Natural,
        note: "no synthetic growth features".into(),
    };
    let list = vec![
        (
            "register_licensee",
            &cf,
            entry(
                &cf,
                1,
                0,
                vec![],
                Body::RegisterLicensee(LicenseeRegistration {
                    licensee: miner.public(),
                    name: "Société Minière de Berbérati".into(),
                    roles: vec![Role::Miner, Role::Trader],
                }),
            ),
        ),
        (
            "revoke_licensee",
            &cf,
            entry(
                &cf,
                3,
                1_000,
                vec![],
                Body::RevokeLicensee(LicenseeRevocation {
                    licensee: trader.public(),
                    reason: "licence expired".into(),
                }),
            ),
        ),
        (
            "countersigned_production",
            &cf,
            entry(&cf, 5, 2_000, vec![zone], countersigned(&miner, 1, RecordBody::Production(production))),
        ),
        (
            "countersigned_transfer",
            &cf,
            entry(&cf, 7, 4_000, vec![], countersigned(&miner, 3, RecordBody::Transfer(transfer))),
        ),
        (
            "countersigned_export",
            &cf,
            entry(
                &cf,
                9,
                5_000,
                vec![zone, label_hash("zone BER, other monitor")],
                countersigned(&key(0x32), 1, RecordBody::Export(export)),
            ),
        ),
        (
            "countersigned_lab_result",
            &cf,
            entry(&cf, 10, 6_000, vec![], countersigned(&key(0x33), 1, RecordBody::LabResult(lab))),
        ),
        (
            "import_confirmation",
            &be,
            entry(
                &be,
                11,
                7_000,
                vec![zone],
                Body::ImportConfirmation(ImportConfirmation {
                    exporter: "CF".into(),
                    certificate: "CF-000123".into(),
                    certificate_entry: label_hash("export entry CF-000123"),
                    weight: 10_000,
                    parcels: 2,
                    lot: "BE/ANR/2017/CF-000123".into(),
                    holder: importer().public(),
                    date: "2017-11-23".into(),
                }),
            ),
        ),
        (
            "zone_status",
            &monitor,
            entry(
                &monitor,
                1,
                8_000,
                vec![],
                Body::ZoneStatus(ZoneStatus {
                    participant: "CF".into(),
                    zone: "BER".into(),
                    name: "Berbérati".into(),
                    status: ZoneState::Compliant,
                    effective: "2017-06-01".into(),
                    previous: None,
                }),
            ),
        ),
        (
            "zone_estimate",
            &monitor,
            entry(
                &monitor,
                3,
                8_700,
                vec![],
                Body::ZoneEstimate(ZoneEstimate {
                    participant: "CF".into(),
                    zone: "BER".into(),
                    year: 2018,
                    weight: 4_000_000,
                    note: "Working Group of Diamond Experts field estimate".into(),
                }),
            ),
        ),
        (
            "attestation_lot",
            &monitor,
            entry(
                &monitor,
                3,
                9_000,
                vec![],
                Body::Attestation(Attestation {
                    subject: Subject::Lot { participant: "CF".into(), lot: LOT.into() },
                    kind: AttestationKind::Hold,
                    note: "held pending site visit".into(),
                }),
            ),
        ),
        (
            "attestation_certificate",
            &be,
            entry(
                &be,
                12,
                10_000,
                vec![],
                Body::Attestation(Attestation {
                    subject: Subject::Certificate { number: "CF-000999".into() },
                    kind: AttestationKind::ForgedCertificate,
                    note: "number never issued by CF".into(),
                }),
            ),
        ),
        (
            "governance_admit_participant",
            &chair,
            entry(
                &chair,
                1,
                11_000,
                vec![],
                Body::Governance(Governance::AdmitParticipant(Participant {
                    code: "NA".into(),
                    name: "Namibia".into(),
                    authority: key(0x12).public(),
                    zone_regime: false,
                    nodes: vec![NodeInfo {
                        peer_id: "12D3KooWGoldenNamibiaNode".into(),
                        addrs: vec!["/ip4/192.0.2.10/tcp/4001".into()],
                    }],
                })),
            ),
        ),
        (
            "governance_suspend_participant",
            &chair,
            entry(
                &chair,
                3,
                12_000,
                vec![],
                Body::Governance(Governance::SuspendParticipant {
                    code: "CF".into(),
                    reason: "plenary decision".into(),
                    from: 15,
                }),
            ),
        ),
        (
            "governance_reinstate_participant",
            &chair,
            entry(
                &chair,
                5,
                13_000,
                vec![],
                Body::Governance(Governance::ReinstateParticipant { code: "CF".into(), from: 21 }),
            ),
        ),
        (
            "governance_chair_handover",
            &chair,
            entry(
                &chair,
                6,
                14_000,
                vec![],
                Body::Governance(Governance::ChairHandover { new_chair: key(0x02).public() }),
            ),
        ),
        (
            "governance_admit_conditionally",
            &next_chair,
            entry(
                &next_chair,
                1,
                15_000,
                vec![],
                Body::Governance(Governance::AdmitConditionally {
                    participant: Participant {
                        code: "GA".into(),
                        name: "Gabon".into(),
                        authority: key(0x41).public(),
                        zone_regime: false,
                        nodes: vec![NodeInfo {
                            peer_id: "12D3KooWGoldenGabonNode".into(),
                            addrs: vec!["/ip4/192.0.2.11/tcp/4001".into()],
                        }],
                    },
                    conditions: vec!["administrative decision AD 2017/1: statistics and legislation".into()],
                }),
            ),
        ),
        (
            "governance_lift_conditions",
            &next_chair,
            entry(
                &next_chair,
                2,
                16_000,
                vec![],
                Body::Governance(Governance::LiftConditions { code: "GA".into(), note: "conditions met".into() }),
            ),
        ),
        (
            "governance_set_nodes",
            &next_chair,
            entry(
                &next_chair,
                3,
                17_000,
                vec![],
                Body::Governance(Governance::SetNodes {
                    holder: "NA".into(),
                    nodes: vec![NodeInfo {
                        peer_id: "12D3KooWGoldenNamibiaNewNode".into(),
                        addrs: vec!["/ip4/192.0.2.12/tcp/4001".into()],
                    }],
                }),
            ),
        ),
        (
            "governance_rotate_key",
            &next_chair,
            entry(&next_chair, 4, 18_000, vec![], Body::Governance(planned_rotation())),
        ),
    ];
    list.into_iter().map(|(name, k, e)| (name, SignedEntry::sign(e, k))).collect()
}

/// Namibia's authority hands its log over to a new key after entry 40, as
/// in the golden vectors.
fn planned_rotation() -> Governance {
    let rotation = KeyRotation {
        network: NETWORK.into(),
        holder: "NA".into(),
        old_key: key(0x12).public(),
        new_key: key(0x42).public(),
        last: 40,
    };
    let statement = key(0x12).sign(kp_schemas::crypto::Domain::KeyRotation, &encode(&rotation));
    Governance::RotateKey { holder: "NA".into(), new_key: rotation.new_key, last: 40, statement: Some(statement) }
}

/// The entry shown whole in section 3; the others show their body only.
const WHOLE_ENTRY: &str = "zone_status";

fn signed_roster() -> SignedRoster {
    let roster = Roster {
        network: NETWORK.into(),
        version: 1,
        chair: key(0x01).public(),
        participants: vec![Participant {
            code: "CF".into(),
            name: "Central African Republic".into(),
            authority: key(0x10).public(),
            zone_regime: true,
            nodes: vec![NodeInfo {
                peer_id: "12D3KooWGoldenCentralAfrica".into(),
                addrs: vec!["/ip4/198.51.100.7/tcp/7171".into()],
            }],
        }],
        monitors: vec![Monitor {
            id: "MT-CF".into(),
            name: "CF monitoring team".into(),
            key: key(0x20).public(),
            scope: vec!["CF".into()],
            nodes: vec![],
        }],
        observers: vec![NodeInfo { peer_id: "12D3KooWGoldenObserver".into(), addrs: vec![] }],
    };
    roster::sign(roster, &key(0x01))
}

/// The CF authority's checkpoint of its log at size 1, whose root is the
/// id of its entry 1 (the `register_licensee` vector), cosigned by BE.
fn checkpoint_gossip() -> (SignedCheckpoint, CheckpointGossip) {
    let cf = key(0x10);
    let first = entries().into_iter().find(|(n, _)| *n == "register_licensee").expect("listed").1;
    let cp = SignedCheckpoint::sign(
        Checkpoint {
            network: NETWORK.into(),
            log: cf.public(),
            size: 1,
            root: first.hash(),
            timestamp_ms: T0_MS + 15_000,
        },
        &cf,
    );
    let cosignature = cp.cosign(&key(0x11));
    let gossip =
        CheckpointGossip::Checkpoint { checkpoint: HexBytes(cp.bytes().to_vec()), cosignatures: vec![cosignature] };
    (cp, gossip)
}

// ------------------------------------------------ the annotating encoder

/// Bytes are printed in the first 64 columns, labels from this one.
const LABEL_COLUMN: usize = 66;

/// Writes values field by field as `docs/PROTOCOL.md` describes them, one
/// line per field: its bytes in hex, then what they are.
#[derive(Default)]
struct Annotated {
    lines: Vec<String>,
    bytes: Vec<u8>,
    depth: usize,
    item: Option<usize>,
}

impl Annotated {
    fn line(&mut self, parts: &[&[u8]], label: impl AsRef<str>) {
        let hex = parts.iter().filter(|p| !p.is_empty()).map(hex::encode).collect::<Vec<_>>().join(" ");
        assert!(hex.len() <= 64, "a line of more than 32 bytes: {hex}");
        for p in parts {
            self.bytes.extend_from_slice(p);
        }
        let item = self.item.take().map(|i| format!("[{i}] ")).unwrap_or_default();
        let label = format!("{}{item}{}", "  ".repeat(self.depth), label.as_ref());
        self.lines.push(format!("{hex:<LABEL_COLUMN$}{label}").trim_end().to_string());
    }

    /// A line with no bytes: a result computed from the bytes above.
    fn note(&mut self, text: impl Into<String>) {
        self.lines.push(text.into());
    }

    fn u32(&mut self, v: u32, label: impl AsRef<str>) {
        self.line(&[&v.to_le_bytes()], label);
    }

    fn u64(&mut self, v: u64, label: impl AsRef<str>) {
        self.line(&[&v.to_le_bytes()], label);
    }

    fn u16(&mut self, v: u16, label: impl AsRef<str>) {
        self.line(&[&v.to_le_bytes()], label);
    }

    fn tag(&mut self, v: u32, what: &str, name: &str) {
        self.u32(v, format!("{what}: variant {v}, {name}"));
    }

    fn count(&mut self, n: usize, what: &str) {
        let s = if n == 1 { "" } else { "s" };
        self.u64(n as u64, format!("{what}: {n} item{s}"));
    }

    fn bool(&mut self, v: bool, label: &str) {
        self.line(&[&[u8::from(v)]], format!("{label} = {v}"));
    }

    fn string(&mut self, field: &str, s: &str) {
        let len = (s.len() as u64).to_le_bytes();
        let utf8 = if s.is_ascii() { "" } else { " (UTF-8)" };
        if 16 + 1 + 2 * s.len() <= 64 {
            self.line(&[&len, s.as_bytes()], format!("{field} \"{s}\"{utf8}"));
        } else {
            self.line(&[&len], format!("{field}: {} bytes", s.len()));
            self.depth += 1;
            for (i, chunk) in s.as_bytes().chunks(32).enumerate() {
                self.line(&[chunk], if i == 0 { format!("\"{s}\"{utf8}") } else { String::new() });
            }
            self.depth -= 1;
        }
    }

    fn key(&mut self, field: &str, k: &PublicKey) {
        self.line(&[&k.0], format!("{field} = {}", key_name(k)));
    }

    fn hash(&mut self, field: &str, h: &Hash32) {
        self.line(&[&h.0], format!("{field} = {}", hash_name(h)));
    }

    fn signature(&mut self, what: &str, s: &SignatureBytes) {
        self.line(&[&s.0[..32]], format!("{what} (R)"));
        self.line(&[&s.0[32..]], format!("{what} (S)"));
    }

    fn option<T>(&mut self, field: &str, v: &Option<T>, some: impl FnOnce(&mut Self, &T)) {
        match v {
            None => self.line(&[&[0]], format!("{field}: none")),
            Some(x) => {
                self.line(&[&[1]], format!("{field}: some"));
                self.nested(|a| some(a, x));
            }
        }
    }

    fn items<T>(&mut self, what: &str, list: &[T], mut each: impl FnMut(&mut Self, &T)) {
        self.count(list.len(), what);
        self.nested(|a| {
            for (i, x) in list.iter().enumerate() {
                if list.len() > 1 {
                    a.item = Some(i);
                }
                each(a, x);
            }
        });
    }

    fn nested(&mut self, f: impl FnOnce(&mut Self)) {
        self.depth += 1;
        f(self);
        self.depth -= 1;
    }

    fn text(&self) -> String {
        let mut s = self.lines.join("\n");
        s.push('\n');
        s
    }
}

fn role(r: Role) -> (u32, &'static str) {
    match r {
        Role::Miner => (0, "Miner"),
        Role::Trader => (1, "Trader"),
        Role::Exporter => (2, "Exporter"),
        Role::Importer => (3, "Importer"),
        Role::Laboratory => (4, "Laboratory"),
    }
}

fn nature(n: Nature) -> (u32, &'static str) {
    match n {
        Nature::Natural => (0, "Natural"),
        Nature::Synthetic => (1, "Synthetic"),
    }
}

fn zone_state(z: ZoneState) -> (u32, &'static str) {
    match z {
        ZoneState::Compliant => (0, "Compliant"),
        ZoneState::Suspended => (1, "Suspended"),
        ZoneState::Revoked => (2, "Revoked"),
    }
}

fn attestation_kind(k: &AttestationKind) -> (u32, &'static str) {
    match k {
        AttestationKind::ForgedCertificate => (0, "ForgedCertificate"),
        AttestationKind::Seizure => (1, "Seizure"),
        AttestationKind::Hold => (2, "Hold"),
        AttestationKind::Release => (3, "Release"),
        AttestationKind::Note => (4, "Note"),
    }
}

fn header(a: &mut Annotated, e: &Entry) {
    a.string("network", &e.network);
    a.key("author", &e.author);
    a.u64(e.seq, format!("seq = {}", e.seq));
    if e.prev == Hash32::ZERO {
        a.line(&[&e.prev.0], "prev: zero (the log's first entry)");
    } else {
        a.hash("prev", &e.prev);
    }
    a.u64(e.timestamp_ms, format!("timestamp_ms = {}", e.timestamp_ms));
    a.items("context", &e.context, |a, h| a.hash("id", h));
}

fn body(a: &mut Annotated, b: &Body) {
    match b {
        Body::RegisterLicensee(r) => {
            a.tag(0, "body", "RegisterLicensee");
            a.key("licensee", &r.licensee);
            a.string("name", &r.name);
            a.items("roles", &r.roles, |a, r| {
                let (tag, name) = role(*r);
                a.u32(tag, format!("Role {tag}, {name}"));
            });
        }
        Body::RevokeLicensee(r) => {
            a.tag(1, "body", "RevokeLicensee");
            a.key("licensee", &r.licensee);
            a.string("reason", &r.reason);
        }
        Body::Countersigned(c) => {
            a.tag(2, "body", "Countersigned");
            let r: Record = decode(&c.record.0).expect("the record decodes");
            a.u64(c.record.0.len() as u64, format!("record: {} bytes, a Record", c.record.0.len()));
            let start = a.bytes.len();
            a.nested(|a| record(a, &r));
            assert_eq!(&a.bytes[start..], &c.record.0[..], "the record's annotated bytes");
            a.signature("signature: the licensee's, over \"kpledger/v1/record\\0\" || record", &c.signature);
        }
        Body::ImportConfirmation(c) => {
            a.tag(3, "body", "ImportConfirmation");
            a.string("exporter", &c.exporter);
            a.string("certificate", &c.certificate);
            a.hash("certificate_entry", &c.certificate_entry);
            a.u64(c.weight, format!("weight = {}", c.weight));
            a.u32(c.parcels, format!("parcels = {}", c.parcels));
            a.string("lot", &c.lot);
            a.key("holder", &c.holder);
            a.string("date", &c.date);
        }
        Body::ZoneStatus(z) => {
            a.tag(4, "body", "ZoneStatus");
            a.string("participant", &z.participant);
            a.string("zone", &z.zone);
            a.string("name", &z.name);
            let (tag, name) = zone_state(z.status);
            a.u32(tag, format!("status: ZoneState {tag}, {name}"));
            a.string("effective", &z.effective);
            a.option("previous", &z.previous, |a, h| a.hash("id", h));
        }
        Body::Attestation(x) => {
            a.tag(5, "body", "Attestation");
            match &x.subject {
                Subject::Lot { participant, lot } => {
                    a.tag(0, "subject", "Lot");
                    a.nested(|a| {
                        a.string("participant", participant);
                        a.string("lot", lot);
                    });
                }
                Subject::Certificate { number } => {
                    a.tag(1, "subject", "Certificate");
                    a.nested(|a| a.string("number", number));
                }
            }
            let (tag, name) = attestation_kind(&x.kind);
            a.u32(tag, format!("kind: AttestationKind {tag}, {name}"));
            a.string("note", &x.note);
        }
        Body::ZoneEstimate(z) => {
            a.tag(7, "body", "ZoneEstimate");
            a.string("participant", &z.participant);
            a.string("zone", &z.zone);
            a.u16(z.year, format!("year = {}", z.year));
            a.u64(z.weight, format!("weight = {}", z.weight));
            a.string("note", &z.note);
        }
        Body::Governance(g) => {
            a.tag(6, "body", "Governance");
            match g {
                Governance::AdmitParticipant(p) => {
                    a.tag(0, "governance", "AdmitParticipant");
                    participant(a, p);
                }
                Governance::SuspendParticipant { code, reason, from } => {
                    a.tag(1, "governance", "SuspendParticipant");
                    a.string("code", code);
                    a.string("reason", reason);
                    a.u64(*from, format!("from = {from}"));
                }
                Governance::ReinstateParticipant { code, from } => {
                    a.tag(2, "governance", "ReinstateParticipant");
                    a.string("code", code);
                    a.u64(*from, format!("from = {from}"));
                }
                Governance::ChairHandover { new_chair } => {
                    a.tag(3, "governance", "ChairHandover");
                    a.key("new_chair", new_chair);
                }
                Governance::AdmitConditionally { participant: p, conditions } => {
                    a.tag(4, "governance", "AdmitConditionally");
                    a.nested(|a| participant(a, p));
                    a.items("conditions", conditions, |a, c| a.string("condition", c));
                }
                Governance::LiftConditions { code, note } => {
                    a.tag(5, "governance", "LiftConditions");
                    a.string("code", code);
                    a.string("note", note);
                }
                Governance::SetNodes { holder, nodes } => {
                    a.tag(6, "governance", "SetNodes");
                    a.string("holder", holder);
                    node_infos(a, "nodes", nodes);
                }
                Governance::RotateKey { holder, new_key, last, statement } => {
                    a.tag(7, "governance", "RotateKey");
                    a.string("holder", holder);
                    a.key("new_key", new_key);
                    a.u64(*last, format!("last = {last}"));
                    a.option("statement", statement, |a, s| a.signature("the old key's statement", s));
                }
            }
        }
    }
}

fn take(a: &mut Annotated, t: &Take) {
    a.string("lot", &t.lot);
    a.u64(t.weight, format!("weight = {}", t.weight));
}

fn record(a: &mut Annotated, r: &Record) {
    a.string("network", &r.network);
    a.key("licensee", &r.licensee);
    a.u64(r.nonce, format!("nonce = {}", r.nonce));
    match &r.body {
        RecordBody::Production(p) => {
            a.tag(0, "body", "Production");
            a.string("lot", &p.lot);
            a.string("site", &p.site);
            a.option("zone", &p.zone, |a, z| {
                a.string("zone", &z.zone);
                a.option("status_entry", &z.status_entry, |a, h| a.hash("id", h));
            });
            a.u64(p.weight, format!("weight = {}", p.weight));
            a.u32(p.stones, format!("stones = {}", p.stones));
            a.string("date", &p.date);
            let (tag, name) = nature(p.nature);
            a.u32(tag, format!("nature: Nature {tag}, {name}"));
            a.option("value_cents", &p.value_cents, |a, v| a.u64(*v, format!("value_cents = {v}")));
        }
        RecordBody::Transfer(t) => {
            a.tag(1, "body", "Transfer");
            a.items("inputs", &t.inputs, take);
            a.items("outputs", &t.outputs, |a, o| {
                a.string("lot", &o.lot);
                a.u64(o.weight, format!("weight = {}", o.weight));
                a.key("holder", &o.holder);
            });
            a.string("date", &t.date);
        }
        RecordBody::Export(x) => {
            a.tag(2, "body", "Export");
            a.string("certificate", &x.certificate);
            a.string("importer", &x.importer);
            a.string("consignee", &x.consignee);
            a.items("inputs", &x.inputs, take);
            a.items("lines", &x.lines, |a, l| {
                a.string("code", &l.code);
                a.u64(l.weight, format!("weight = {}", l.weight));
                a.u64(l.value_cents, format!("value_cents = {}", l.value_cents));
            });
            a.u32(x.parcels, format!("parcels = {}", x.parcels));
            a.string("issued", &x.issued);
            a.string("expires", &x.expires);
        }
        RecordBody::LabResult(l) => {
            a.tag(3, "body", "LabResult");
            a.string("lot", &l.lot);
            a.hash("report_hash", &l.report_hash);
            let (tag, name) = nature(l.finding);
            a.u32(tag, format!("finding: Nature {tag}, {name}"));
            a.string("note", &l.note);
        }
    }
}

fn node_infos(a: &mut Annotated, what: &str, nodes: &[NodeInfo]) {
    a.items(what, nodes, |a, n| {
        a.string("peer_id", &n.peer_id);
        a.items("addrs", &n.addrs, |a, s| a.string("address", s));
    });
}

fn participant(a: &mut Annotated, p: &Participant) {
    a.string("code", &p.code);
    a.string("name", &p.name);
    a.key("authority", &p.authority);
    a.bool(p.zone_regime, "zone_regime");
    node_infos(a, "nodes", &p.nodes);
}

fn roster_fields(a: &mut Annotated, r: &Roster) {
    a.string("network", &r.network);
    a.u64(r.version, format!("version = {}", r.version));
    a.key("chair", &r.chair);
    a.items("participants", &r.participants, participant);
    a.items("monitors", &r.monitors, |a, m| {
        a.string("id", &m.id);
        a.string("name", &m.name);
        a.key("key", &m.key);
        a.items("scope", &m.scope, |a, c| a.string("code", c));
        node_infos(a, "nodes", &m.nodes);
    });
    node_infos(a, "observers", &r.observers);
}

fn checkpoint_fields(a: &mut Annotated, c: &Checkpoint) {
    a.string("network", &c.network);
    a.key("log", &c.log);
    a.u64(c.size, format!("size = {}", c.size));
    a.line(&[&c.root.0], "root = the id of the log's entry 1 (a one-leaf tree's root)");
    a.u64(c.timestamp_ms, format!("timestamp_ms = {}", c.timestamp_ms));
}

fn hex_id(h: &Hash32) -> String {
    h.to_hex()
}

// ------------------------------------------------ the document's blocks

/// What one block of the document shows.
enum Shows {
    /// A whole signed entry.
    Entry(SignedEntry),
    /// The body of a signed entry.
    Body(SignedEntry),
    Roster(SignedRoster),
    Checkpoint(SignedCheckpoint, CheckpointGossip),
    Keys,
    Enums,
}

struct Block {
    name: &'static str,
    /// `example` (a fenced text block) or `table` (a Markdown table).
    marker: &'static str,
    shows: Shows,
}

fn blocks() -> Vec<Block> {
    let mut out = vec![Block { name: "keys", marker: "example", shows: Shows::Keys }];
    for (name, signed) in entries() {
        let shows = if name == WHOLE_ENTRY { Shows::Entry(signed) } else { Shows::Body(signed) };
        out.push(Block { name, marker: "example", shows });
    }
    out.push(Block { name: "roster", marker: "example", shows: Shows::Roster(signed_roster()) });
    let (cp, gossip) = checkpoint_gossip();
    out.push(Block { name: "checkpoint_gossip", marker: "example", shows: Shows::Checkpoint(cp, gossip) });
    out.push(Block { name: "small_enums", marker: "table", shows: Shows::Enums });
    out
}

/// The block's text, from the annotating encoder; panics if that encoder
/// does not write the canonical bytes.
fn render(shows: &Shows) -> String {
    let mut a = Annotated::default();
    match shows {
        Shows::Entry(s) => {
            header(&mut a, s.entry());
            body(&mut a, &s.entry().body);
            a.signature("signature: the author's, over \"kpledger/v1/entry\\0\" || the bytes above", &s.signature());
            assert_eq!(a.bytes, s.bytes(), "annotated entry bytes");
            a.note(format!("id = SHA-256(00 || all {} bytes)", s.bytes().len()));
            a.note(format!("   = {}", hex_id(&s.hash())));
        }
        Shows::Body(s) => {
            body(&mut a, &s.entry().body);
            assert_eq!(a.bytes, encode(&s.entry().body), "annotated body bytes");
        }
        Shows::Roster(r) => {
            roster_fields(&mut a, &r.roster);
            assert_eq!(a.bytes, r.bytes.0, "annotated roster bytes");
            a.signature("signature: the chair's, over \"kpledger/v1/roster\\0\" || the bytes above", &r.signature);
            a.note(format!("roster bytes: the first {} bytes above; signature: the last 64", r.bytes.0.len()));
            a.note(format!(
                "roster hash = SHA-256(\"kpledger/v1/roster\\0\" || roster bytes) = {}",
                kp_schemas::crypto::roster_hash(&r.bytes.0)
            ));
        }
        Shows::Checkpoint(cp, gossip) => {
            let CheckpointGossip::Checkpoint { checkpoint, cosignatures } = gossip else { unreachable!() };
            a.tag(0, "CheckpointGossip", "Checkpoint");
            a.u64(checkpoint.0.len() as u64, format!("checkpoint: {} bytes, a signed checkpoint", checkpoint.0.len()));
            a.nested(|a| {
                checkpoint_fields(a, cp.checkpoint());
                let sig = SignatureBytes(cp.bytes()[cp.bytes().len() - 64..].try_into().expect("64 bytes"));
                a.signature("signature: the log's, over \"kpledger/v1/checkpoint\\0\" || the bytes above", &sig);
            });
            a.items("cosignatures", cosignatures, |a, c: &Cosignature| {
                a.key("witness", &c.witness);
                a.signature(
                    "signature: the witness's, over \"kpledger/v1/cosignature\\0\" || checkpoint",
                    &c.signature,
                );
            });
            assert_eq!(a.bytes, encode(gossip), "annotated checkpoint gossip bytes");
            a.note(format!(
                "checkpoint id = SHA-256(\"kpledger/v1/checkpoint\\0\" || the {} checkpoint bytes)",
                cp.bytes().len()
            ));
            a.note(format!("              = {}", hex_id(&cp.id())));
        }
        Shows::Keys => {
            for (name, seed) in KEYS {
                a.line(&[&key(seed).public().0], format!("{name}: seed 32 × {seed:02x}"));
            }
            a.line(&[&importer().public().0], "importer: seed 32 × 34");
        }
        Shows::Enums => return enum_table(),
    }
    a.text()
}

/// The tag the encoder writes for a value of an enum: its first 4 bytes.
fn tag_of<T: serde::Serialize>(v: &T) -> u32 {
    u32::from_le_bytes(encode(v)[..4].try_into().expect("an enum starts with its tag"))
}

/// A row of the small-enum table: the tags the encoder writes, checked
/// against the names listed, which must be every variant in order.
fn enum_row<T: serde::Serialize>(enum_name: &str, used_in: &str, variants: &[(T, &str)]) -> String {
    let cells: Vec<String> = variants
        .iter()
        .enumerate()
        .map(|(i, (v, name))| {
            assert_eq!(tag_of(v) as usize, i, "{enum_name}::{name}");
            format!("{i} `{name}`")
        })
        .collect();
    format!("| `{enum_name}` | {used_in} | {} |", cells.join(", "))
}

/// The table of every enum's tags. The names are matched exhaustively
/// below, so a new variant does not compile until it is listed here.
fn enum_table() -> String {
    let k = PublicKey([0; 32]);
    let h = Hash32::ZERO;
    let s = String::new;
    let hb = HexBytes::default;
    let take = || Take { lot: s(), weight: 0 };
    let p = Participant { code: s(), name: s(), authority: k, zone_regime: false, nodes: vec![] };
    let body = |b: &Body| match b {
        Body::RegisterLicensee(_) => "RegisterLicensee",
        Body::RevokeLicensee(_) => "RevokeLicensee",
        Body::Countersigned(_) => "Countersigned",
        Body::ImportConfirmation(_) => "ImportConfirmation",
        Body::ZoneStatus(_) => "ZoneStatus",
        Body::Attestation(_) => "Attestation",
        Body::Governance(_) => "Governance",
        Body::ZoneEstimate(_) => "ZoneEstimate",
    };
    let bodies = [
        Body::RegisterLicensee(LicenseeRegistration { licensee: k, name: s(), roles: vec![] }),
        Body::RevokeLicensee(LicenseeRevocation { licensee: k, reason: s() }),
        Body::Countersigned(Countersigned { record: hb(), signature: SignatureBytes([0; 64]) }),
        Body::ImportConfirmation(ImportConfirmation {
            exporter: s(),
            certificate: s(),
            certificate_entry: h,
            weight: 0,
            parcels: 0,
            lot: s(),
            holder: k,
            date: s(),
        }),
        Body::ZoneStatus(ZoneStatus {
            participant: s(),
            zone: s(),
            name: s(),
            status: ZoneState::Compliant,
            effective: s(),
            previous: None,
        }),
        Body::Attestation(Attestation {
            subject: Subject::Certificate { number: s() },
            kind: AttestationKind::Note,
            note: s(),
        }),
        Body::Governance(Governance::ChairHandover { new_chair: k }),
        Body::ZoneEstimate(ZoneEstimate { participant: s(), zone: s(), year: 0, weight: 0, note: s() }),
    ];
    let record_body = |b: &RecordBody| match b {
        RecordBody::Production(_) => "Production",
        RecordBody::Transfer(_) => "Transfer",
        RecordBody::Export(_) => "Export",
        RecordBody::LabResult(_) => "LabResult",
    };
    let record_bodies = [
        RecordBody::Production(Production {
            lot: s(),
            site: s(),
            zone: None,
            weight: 0,
            stones: 0,
            date: s(),
            nature: Nature::Natural,
            value_cents: None,
        }),
        RecordBody::Transfer(Transfer { inputs: vec![take()], outputs: vec![], date: s() }),
        RecordBody::Export(Export {
            certificate: s(),
            importer: s(),
            consignee: s(),
            inputs: vec![],
            lines: vec![],
            parcels: 0,
            issued: s(),
            expires: s(),
        }),
        RecordBody::LabResult(LabResult { lot: s(), report_hash: h, finding: Nature::Natural, note: s() }),
    ];
    let governance = |g: &Governance| match g {
        Governance::AdmitParticipant(_) => "AdmitParticipant",
        Governance::SuspendParticipant { .. } => "SuspendParticipant",
        Governance::ReinstateParticipant { .. } => "ReinstateParticipant",
        Governance::ChairHandover { .. } => "ChairHandover",
        Governance::AdmitConditionally { .. } => "AdmitConditionally",
        Governance::LiftConditions { .. } => "LiftConditions",
        Governance::SetNodes { .. } => "SetNodes",
        Governance::RotateKey { .. } => "RotateKey",
    };
    let governances = [
        Governance::AdmitParticipant(p.clone()),
        Governance::SuspendParticipant { code: s(), reason: s(), from: 1 },
        Governance::ReinstateParticipant { code: s(), from: 1 },
        Governance::ChairHandover { new_chair: k },
        Governance::AdmitConditionally { participant: p.clone(), conditions: vec![] },
        Governance::LiftConditions { code: s(), note: s() },
        Governance::SetNodes { holder: s(), nodes: vec![] },
        Governance::RotateKey { holder: s(), new_key: k, last: 1, statement: None },
    ];
    let subject = |x: &Subject| match x {
        Subject::Lot { .. } => "Lot",
        Subject::Certificate { .. } => "Certificate",
    };
    let subjects = [Subject::Lot { participant: s(), lot: s() }, Subject::Certificate { number: s() }];
    let gossip = |g: &CheckpointGossip| match g {
        CheckpointGossip::Checkpoint { .. } => "Checkpoint",
        CheckpointGossip::Fraud(_) => "Fraud",
    };
    let fraud = |f: &Fraud| match f {
        Fraud::SplitView { .. } => "SplitView",
        Fraud::WrongRoot { .. } => "WrongRoot",
    };
    let frauds = [Fraud::SplitView { first: hb(), second: hb() }, Fraud::WrongRoot { checkpoint: hb(), entry: hb() }];
    let gossips = [
        CheckpointGossip::Checkpoint { checkpoint: hb(), cosignatures: vec![] },
        CheckpointGossip::Fraud(frauds[0].clone()),
    ];
    let request = |r: &SyncRequest| match r {
        SyncRequest::Heads => "Heads",
        SyncRequest::Page { .. } => "Page",
        SyncRequest::Since { .. } => "Since",
        SyncRequest::Checkpoints => "Checkpoints",
        SyncRequest::Equivocations => "Equivocations",
        SyncRequest::Withdrawn => "Withdrawn",
    };
    let requests = [
        SyncRequest::Heads,
        SyncRequest::Page { author: k, from: 0, limit: 0 },
        SyncRequest::Since { index: 0, limit: 0 },
        SyncRequest::Checkpoints,
        SyncRequest::Equivocations,
        SyncRequest::Withdrawn,
    ];
    let response = |r: &SyncResponse| match r {
        SyncResponse::Heads(_) => "Heads",
        SyncResponse::Page(_) => "Page",
        SyncResponse::Error(_) => "Error",
        SyncResponse::Ordered { .. } => "Ordered",
        SyncResponse::Checkpoints(_) => "Checkpoints",
        SyncResponse::Equivocations(_) => "Equivocations",
        SyncResponse::Withdrawn(_) => "Withdrawn",
    };
    let responses = [
        SyncResponse::Heads(vec![LogHead { author: k, seq: 0, hash: h }]),
        SyncResponse::Page(vec![]),
        SyncResponse::Error(s()),
        SyncResponse::Ordered { entries: vec![], next: 0 },
        SyncResponse::Checkpoints(vec![]),
        SyncResponse::Equivocations(vec![]),
        SyncResponse::Withdrawn(vec![]),
    ];
    fn named<T: Clone>(list: &[T], name: impl Fn(&T) -> &'static str) -> Vec<(T, &'static str)> {
        list.iter().map(|x| (x.clone(), name(x))).collect()
    }
    let roles: Vec<(Role, &str)> = Role::ALL.iter().map(|r| (*r, role(*r).1)).collect();
    assert_eq!(roles.iter().map(|(r, _)| role(*r).0).collect::<Vec<_>>(), [0, 1, 2, 3, 4]);
    let natures = [(Nature::Natural, nature(Nature::Natural).1), (Nature::Synthetic, nature(Nature::Synthetic).1)];
    let states = [ZoneState::Compliant, ZoneState::Suspended, ZoneState::Revoked].map(|z| (z, zone_state(z).1));
    let kinds = [
        AttestationKind::ForgedCertificate,
        AttestationKind::Seizure,
        AttestationKind::Hold,
        AttestationKind::Release,
        AttestationKind::Note,
    ]
    .map(|x| {
        let name = attestation_kind(&x).1;
        (x, name)
    });
    let rows = [
        "| enum | where | tag (`u32`) and variant |".to_string(),
        "|---|---|---|".to_string(),
        enum_row("Body", "`Entry.body`", &named(&bodies, body)),
        enum_row("Governance", "`Body::Governance`", &named(&governances, governance)),
        enum_row("RecordBody", "`Record.body`", &named(&record_bodies, record_body)),
        enum_row("Role", "`RegisterLicensee.roles`", &roles),
        enum_row("Nature", "`Production.nature`, `LabResult.finding`", &natures),
        enum_row("ZoneState", "`ZoneStatus.status`", &states),
        enum_row("Subject", "`Attestation.subject`", &named(&subjects, subject)),
        enum_row("AttestationKind", "`Attestation.kind`", &kinds),
        enum_row("CheckpointGossip", "checkpoint topic, `SyncResponse::Checkpoints`", &named(&gossips, gossip)),
        enum_row("Fraud", "`CheckpointGossip::Fraud`", &named(&frauds, fraud)),
        enum_row("SyncRequest", "`/kpledger/sync/1` requests", &named(&requests, request)),
        enum_row("SyncResponse", "`/kpledger/sync/1` responses", &named(&responses, response)),
    ];
    let mut text = rows.join("\n");
    text.push('\n');
    text
}

/// Where each marked block's text lies in the document: `(marker, name,
/// byte range)`. An example's text is its fenced block's inside; a table's
/// runs to the first blank line.
fn regions(doc: &str) -> Vec<(String, String, std::ops::Range<usize>)> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(found) = doc[at..].find("<!-- ") {
        let start = at + found;
        let line_end = start + doc[start..].find('\n').expect("a marker ends its line");
        let marker_line = &doc[start..line_end];
        at = line_end + 1;
        let Some(inner) = marker_line.strip_prefix("<!-- ").and_then(|m| m.strip_suffix(" -->")) else { continue };
        let Some((marker, name)) = inner.split_once(": ") else { continue };
        let range = match marker {
            "example" => {
                let open = "```text\n";
                assert!(doc[at..].starts_with(open), "<!-- example: {name} --> is not followed by a ```text block");
                let from = at + open.len();
                let to = from + doc[from..].find("```\n").expect("the block closes");
                assert!(to == from || doc[..to].ends_with('\n'), "{name}: the closing fence starts a line");
                from..to
            }
            "table" => {
                // Empty (a blank line right after the marker) until blessed.
                let to = if doc[at..].starts_with('\n') {
                    at
                } else {
                    doc[at..].find("\n\n").map_or(doc.len(), |i| at + i + 1)
                };
                at..to
            }
            _ => continue,
        };
        out.push((marker.to_string(), name.to_string(), range));
    }
    out
}

/// The text of a block as the document has it, or as blessing writes it.
fn doc_block(name: &str) -> String {
    if bless() {
        let b = blocks().into_iter().find(|b| b.name == name).expect("a block");
        return render(&b.shows);
    }
    let (_, _, range) =
        regions(DOC).into_iter().find(|(_, n, _)| n == name).unwrap_or_else(|| panic!("no block `{name}` in the doc"));
    DOC[range].to_string()
}

/// The bytes a block prints: the hex of every line whose first 64 columns
/// are hex digits and spaces; lines of results (`id = ...`) carry none.
fn doc_bytes(name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for line in doc_block(name).lines() {
        let column: String = line.chars().take(LABEL_COLUMN).filter(|c| *c != ' ').collect();
        if !column.is_empty() && column.chars().all(|c| c.is_ascii_hexdigit()) {
            out.extend(hex::decode(&column).unwrap_or_else(|e| panic!("{name}: `{line}`: {e}")));
        }
    }
    out
}

// ------------------------------------------------------------ the tests

#[test]
fn the_protocol_doc_blocks_are_what_the_encoder_writes() {
    let blocks = blocks();
    let found = regions(DOC);
    let want: BTreeSet<(&str, &str)> = blocks.iter().map(|b| (b.marker, b.name)).collect();
    let have: BTreeSet<(&str, &str)> = found.iter().map(|(m, n, _)| (m.as_str(), n.as_str())).collect();
    let mut failures = Vec::new();
    for (m, n) in want.difference(&have) {
        failures.push(format!("<!-- {m}: {n} --> is missing from the document"));
    }
    for (m, n) in have.difference(&want) {
        failures.push(format!("<!-- {m}: {n} --> in the document is not generated here"));
    }
    if bless() {
        assert!(failures.is_empty(), "markers to fix by hand:\n{}", failures.join("\n"));
        let mut doc = DOC.to_string();
        // From the end, so that earlier ranges stay valid.
        for (_, name, range) in found.into_iter().rev() {
            let b = blocks.iter().find(|b| b.name == name).expect("checked above");
            doc.replace_range(range, &render(&b.shows));
        }
        std::fs::write(doc_path(), doc).expect("the document is writable");
        return;
    }
    for b in &blocks {
        let Some((_, _, range)) = found.iter().find(|(_, n, _)| n == b.name) else { continue };
        let (doc, built) = (&DOC[range.clone()], render(&b.shows));
        if doc != built {
            failures.push(format!("{}:\n--- document\n{doc}--- built\n{built}", b.name));
        }
    }
    assert!(
        failures.is_empty(),
        "docs/PROTOCOL.md is out of date (if intended, rerun with KP_BLESS=1 and commit):\n{}",
        failures.join("\n")
    );
}

#[test]
fn every_body_variant_in_the_protocol_doc_decodes_to_its_example() {
    let golden: serde_json::Value = serde_json::from_str(GOLDEN).expect("the golden file parses");
    let golden_bytes = |name: &str| -> Vec<u8> {
        let e = golden["entries"].as_array().unwrap().iter().find(|e| e["name"] == name);
        hex::decode(e.unwrap_or_else(|| panic!("no golden vector {name}"))["bytes"].as_str().unwrap()).unwrap()
    };
    let mut shown = BTreeSet::new();
    for (name, signed) in entries() {
        // The example is the golden vector's body, whole entry included.
        assert_eq!(golden_bytes(name), signed.bytes(), "{name}: not the golden vector's bytes");
        let printed = doc_bytes(name);
        let body_bytes = if name == WHOLE_ENTRY {
            let parsed = SignedEntry::parse(printed.clone()).unwrap_or_else(|r| panic!("{name}: {r}"));
            assert_eq!(parsed, signed, "{name}");
            encode(&parsed.entry().body)
        } else {
            printed
        };
        let body: Body = decode(&body_bytes).unwrap_or_else(|e| panic!("{name}: the doc's body: {e}"));
        assert_eq!(body, signed.entry().body, "{name}");
        // Put back in its entry, the doc's body parses and bears the author's
        // signature, and the licensee's for a record.
        let header = signed.signed_part().len() - body_bytes.len();
        let wire = [&signed.bytes()[..header], &body_bytes, &signed.signature().0].concat();
        let verified = SignedEntry::parse(wire)
            .and_then(|e| e.verify())
            .unwrap_or_else(|r| panic!("{name}: the doc's body in its entry: {r}"));
        assert_eq!(verified.entry.hash(), signed.hash(), "{name}");
        shown.insert(match (&body, &verified.record) {
            (Body::Countersigned(_), Some(r)) => r.body.kind().to_string(),
            (Body::Governance(g), _) => format!("{g:?}").split([' ', '(']).next().unwrap().to_string(),
            _ => body.kind().to_string(),
        });
    }
    let want = [
        "register_licensee",
        "revoke_licensee",
        "production",
        "transfer",
        "export",
        "lab_result",
        "import_confirmation",
        "zone_status",
        "zone_estimate",
        "attestation",
        "AdmitParticipant",
        "SuspendParticipant",
        "ReinstateParticipant",
        "ChairHandover",
        "AdmitConditionally",
        "LiftConditions",
        "SetNodes",
        "RotateKey",
    ];
    assert_eq!(shown, want.into_iter().map(String::from).collect::<BTreeSet<_>>());
}

#[test]
fn the_zone_status_entry_in_the_protocol_doc_verifies_under_the_entry_prefix() {
    let printed = doc_bytes(WHOLE_ENTRY);
    let split = printed.len() - 64;
    let author: [u8; 32] = printed[8 + NETWORK.len()..][..32].try_into().unwrap();
    let vk = VerifyingKey::from_bytes(&author).unwrap();
    let sig = Signature::from_bytes(&printed[split..].try_into().unwrap());
    let msg = [b"kpledger/v1/entry\0".as_slice(), &printed[..split]].concat();
    vk.verify_strict(&msg, &sig).expect("the author's signature");
    let id: [u8; 32] = Sha256::new().chain_update([0x00]).chain_update(&printed).finalize().into();
    let block = doc_block(WHOLE_ENTRY);
    assert!(block.contains(&hex::encode(id)), "the id printed is SHA-256(00 || bytes)");
}

#[test]
fn the_signed_roster_in_the_protocol_doc_verifies_with_the_chair_key_it_names() {
    let printed = doc_bytes("roster");
    let (bytes, sig) = printed.split_at(printed.len() - 64);
    let r: Roster = decode(bytes).expect("the roster bytes decode strictly");
    let signed = SignedRoster {
        roster: r.clone(),
        bytes: HexBytes(bytes.to_vec()),
        signature: SignatureBytes(sig.try_into().unwrap()),
    };
    assert_eq!(signed, signed_roster());
    let (_, hash) = roster::verify(&signed).expect("the roster verifies");
    // The prefix itself, with dalek and SHA-256 directly.
    let vk = VerifyingKey::from_bytes(&r.chair.0).unwrap();
    let msg = [b"kpledger/v1/roster\0".as_slice(), bytes].concat();
    vk.verify_strict(&msg, &Signature::from_bytes(sig.try_into().unwrap())).expect("the chair's signature");
    let want: [u8; 32] = Sha256::digest(&msg).into();
    assert_eq!(hash.0, want);
    assert!(doc_block("roster").contains(&hash.to_hex()), "the roster hash printed");
}

#[test]
fn the_checkpoint_and_cosignature_in_the_protocol_doc_verify_under_their_prefixes() {
    let printed = doc_bytes("checkpoint_gossip");
    let gossip: CheckpointGossip = decode(&printed).expect("the message decodes strictly");
    let (cp, built) = checkpoint_gossip();
    assert_eq!(gossip, built);
    let CheckpointGossip::Checkpoint { checkpoint, cosignatures } = gossip else { panic!("a checkpoint") };
    let parsed = SignedCheckpoint::parse(checkpoint.0.clone()).expect("the checkpoint parses");
    parsed.verify().expect("the writer's signature");
    assert_eq!(parsed, cp);
    let wire = &checkpoint.0;
    let (body, sig) = wire.split_at(wire.len() - 64);
    let log = VerifyingKey::from_bytes(&parsed.checkpoint().log.0).unwrap();
    let msg = [b"kpledger/v1/checkpoint\0".as_slice(), body].concat();
    log.verify_strict(&msg, &Signature::from_bytes(sig.try_into().unwrap())).expect("checkpoint prefix");
    let [c] = &cosignatures[..] else { panic!("one cosignature") };
    c.verify(&parsed).expect("the cosignature");
    let witness = VerifyingKey::from_bytes(&c.witness.0).unwrap();
    let msg = [b"kpledger/v1/cosignature\0".as_slice(), wire].concat();
    witness.verify_strict(&msg, &Signature::from_bytes(&c.signature.0)).expect("cosignature prefix");
    let id: [u8; 32] = Sha256::new().chain_update(b"kpledger/v1/checkpoint\0").chain_update(wire).finalize().into();
    assert_eq!(parsed.id().0, id);
    assert!(doc_block("checkpoint_gossip").contains(&hex::encode(id)), "the checkpoint id printed");
    // Its root is the id of the log's entry 1, as the block says.
    let first = entries().into_iter().find(|(n, _)| *n == "register_licensee").unwrap().1;
    assert_eq!(parsed.checkpoint().root, first.hash());
}

#[test]
fn the_keys_in_the_protocol_doc_are_those_of_their_seeds() {
    let printed = doc_bytes("keys");
    let want: Vec<u8> = KEYS.iter().map(|(_, s)| *s).chain([0x34]).flat_map(|s| key(s).public().0).collect::<Vec<_>>();
    assert_eq!(printed, want);
}
