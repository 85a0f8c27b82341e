//! Golden wire bytes: one signed entry of every body kind, built from fixed
//! seeds and timestamps, checked byte for byte against
//! `tests/golden/entries.json`.
//!
//! An entry's hash is its id across the whole network, so any change to the
//! canonical encoding, the signing domain or the hash is a change of wire
//! format: old logs would stop verifying and nodes on two versions would
//! disagree. This suite makes such a change visible in review.
//!
//! After an intended format change, rewrite the file with
//! `KP_BLESS=1 cargo test -p kp-schemas --test golden` and commit it with the
//! change that caused it.

use ed25519_dalek::{Signature, VerifyingKey};
use kp_schemas::codes;
use kp_schemas::crypto::{self, Domain};
use kp_schemas::entry::sign_record;
use kp_schemas::model::*;
use kp_schemas::{Hash32, Keypair, PublicKey, SignedEntry};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::PathBuf;

const NETWORK: &str = "kp-golden";
/// 2017-11-01T00:00:00Z; each entry adds its own offset.
const T0_MS: u64 = 1_509_494_400_000;

fn golden_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/entries.json")
}

fn bless() -> bool {
    std::env::var("KP_BLESS").is_ok_and(|v| v == "1")
}

/// Seeds are one repeated byte per role, so the keys are easy to recognise in
/// the hex and never change.
fn key(seed: u8) -> Keypair {
    Keypair::from_seed([seed; 32])
}

fn chair() -> Keypair {
    key(0x01)
}
fn cf_authority() -> Keypair {
    key(0x10)
}
fn be_authority() -> Keypair {
    key(0x11)
}
fn na_authority() -> Keypair {
    key(0x12)
}
fn monitor() -> Keypair {
    key(0x20)
}
fn miner() -> Keypair {
    key(0x30)
}
fn trader() -> Keypair {
    key(0x31)
}
fn exporter() -> Keypair {
    key(0x32)
}
fn laboratory() -> Keypair {
    key(0x33)
}
fn importer() -> Keypair {
    key(0x34)
}
fn next_chair() -> Keypair {
    key(0x02)
}

fn label_hash(label: &str) -> Hash32 {
    Hash32(Sha256::digest(label.as_bytes()).into())
}

const LOT: &str = "CF/BER/2017/00042";

fn entry(author: &Keypair, seq: u64, offset_ms: u64, body: Body) -> Entry {
    Entry {
        network: NETWORK.to_string(),
        author: author.public(),
        seq,
        // A first entry links to zero; the others to a fixed stand-in for
        // their predecessor, so each golden entry stands on its own.
        prev: if seq == 1 { Hash32::ZERO } else { label_hash(&format!("prev {seq}")) },
        timestamp_ms: T0_MS + offset_ms,
        context: vec![],
        body,
    }
}

/// The same entry judged against zone statuses of other logs (R3, R6).
fn with_context(mut e: Entry, mut context: Vec<Hash32>) -> Entry {
    context.sort();
    e.context = context;
    e
}

fn countersigned(licensee: &Keypair, nonce: u64, body: RecordBody) -> Body {
    Body::Countersigned(sign_record(NETWORK, licensee, nonce, body).to_countersigned())
}

/// Every golden entry: name, author key, entry. Names are the file's keys.
fn goldens() -> Vec<(&'static str, Keypair, Entry)> {
    let cf = cf_authority();
    let production = Production {
        lot: LOT.into(),
        site: "Berbérati alluvial".into(),
        zone: Some(ZoneRef { zone: "BER".into(), status_entry: Some(label_hash("zone BER")) }),
        weight: 12_345,
        stones: 17,
        date: "2017-11-02".into(),
        nature: Nature::Natural,
        value_cents: Some(1_851_750),
    };
    let unzoned = Production { lot: "CF/NOL/2017/00001".into(), zone: None, value_cents: None, ..production.clone() };
    let transfer = Transfer {
        inputs: vec![Take { lot: LOT.into(), weight: 12_345 }],
        outputs: vec![
            Output { lot: "CF/BGF/2017/00007".into(), weight: 10_000, holder: trader().public() },
            Output { lot: "CF/BER/2017/00042-R".into(), weight: 2_345, holder: miner().public() },
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
    vec![
        (
            "register_licensee",
            cf.clone(),
            entry(
                &cf,
                1,
                0,
                Body::RegisterLicensee(LicenseeRegistration {
                    licensee: miner().public(),
                    name: "Société Minière de Berbérati".into(),
                    roles: vec![Role::Miner, Role::Trader],
                }),
            ),
        ),
        (
            "revoke_licensee",
            cf.clone(),
            entry(
                &cf,
                3,
                1_000,
                Body::RevokeLicensee(LicenseeRevocation {
                    licensee: trader().public(),
                    reason: "licence expired".into(),
                }),
            ),
        ),
        (
            "countersigned_production",
            cf.clone(),
            with_context(
                entry(&cf, 5, 2_000, countersigned(&miner(), 1, RecordBody::Production(production))),
                vec![label_hash("zone BER")],
            ),
        ),
        (
            "countersigned_production_without_zone",
            cf.clone(),
            entry(&cf, 6, 3_000, countersigned(&miner(), 2, RecordBody::Production(unzoned))),
        ),
        (
            "countersigned_transfer",
            cf.clone(),
            entry(&cf, 7, 4_000, countersigned(&miner(), 3, RecordBody::Transfer(transfer))),
        ),
        (
            "countersigned_export",
            cf.clone(),
            with_context(
                entry(&cf, 9, 5_000, countersigned(&exporter(), 1, RecordBody::Export(export))),
                vec![label_hash("zone BER"), label_hash("zone BER, other monitor")],
            ),
        ),
        (
            "countersigned_lab_result",
            cf.clone(),
            entry(&cf, 10, 6_000, countersigned(&laboratory(), 1, RecordBody::LabResult(lab))),
        ),
        (
            "import_confirmation",
            be_authority(),
            with_context(
                entry(
                    &be_authority(),
                    11,
                    7_000,
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
                vec![label_hash("zone BER")],
            ),
        ),
        (
            "zone_status",
            monitor(),
            entry(
                &monitor(),
                1,
                8_000,
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
            "zone_status_suspended",
            monitor(),
            entry(
                &monitor(),
                2,
                8_500,
                Body::ZoneStatus(ZoneStatus {
                    participant: "CF".into(),
                    zone: "BER".into(),
                    name: "Berbérati".into(),
                    status: ZoneState::Suspended,
                    effective: "2017-12-01".into(),
                    previous: Some(label_hash("zone BER")),
                }),
            ),
        ),
        (
            "zone_estimate",
            monitor(),
            entry(
                &monitor(),
                3,
                8_700,
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
            monitor(),
            entry(
                &monitor(),
                3,
                9_000,
                Body::Attestation(Attestation {
                    subject: Subject::Lot { participant: "CF".into(), lot: LOT.into() },
                    kind: AttestationKind::Hold,
                    note: "held pending site visit".into(),
                }),
            ),
        ),
        (
            "attestation_certificate",
            be_authority(),
            entry(
                &be_authority(),
                12,
                10_000,
                Body::Attestation(Attestation {
                    subject: Subject::Certificate { number: "CF-000999".into() },
                    kind: AttestationKind::ForgedCertificate,
                    note: "number never issued by CF".into(),
                }),
            ),
        ),
        (
            "governance_admit_participant",
            chair(),
            entry(
                &chair(),
                1,
                11_000,
                Body::Governance(Governance::AdmitParticipant(Participant {
                    code: "NA".into(),
                    name: "Namibia".into(),
                    authority: na_authority().public(),
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
            chair(),
            entry(
                &chair(),
                3,
                12_000,
                Body::Governance(Governance::SuspendParticipant {
                    code: "CF".into(),
                    reason: "plenary decision".into(),
                    from: 15,
                }),
            ),
        ),
        (
            "governance_reinstate_participant",
            chair(),
            entry(
                &chair(),
                5,
                13_000,
                Body::Governance(Governance::ReinstateParticipant { code: "CF".into(), from: 21 }),
            ),
        ),
        (
            "governance_chair_handover",
            chair(),
            entry(
                &chair(),
                6,
                14_000,
                Body::Governance(Governance::ChairHandover { new_chair: next_chair().public() }),
            ),
        ),
        (
            "governance_admit_conditionally",
            next_chair(),
            entry(
                &next_chair(),
                1,
                15_000,
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
            next_chair(),
            entry(
                &next_chair(),
                2,
                16_000,
                Body::Governance(Governance::LiftConditions { code: "GA".into(), note: "conditions met".into() }),
            ),
        ),
        (
            "governance_set_nodes",
            next_chair(),
            entry(
                &next_chair(),
                3,
                17_000,
                Body::Governance(Governance::SetNodes {
                    holder: "NA".into(),
                    nodes: vec![NodeInfo {
                        peer_id: "12D3KooWGoldenNamibiaNewNode".into(),
                        addrs: vec!["/ip4/192.0.2.12/tcp/4001".into()],
                    }],
                }),
            ),
        ),
        ("governance_rotate_key", next_chair(), entry(&next_chair(), 4, 18_000, Body::Governance(planned_rotation()))),
    ]
}

/// Namibia's authority hands its log over to a new key after entry 40,
/// signing the statement with the old key.
fn planned_rotation() -> Governance {
    let rotation = KeyRotation {
        network: NETWORK.into(),
        holder: "NA".into(),
        old_key: na_authority().public(),
        new_key: key(0x42).public(),
        last: 40,
    };
    let statement = na_authority().sign(Domain::KeyRotation, &kp_schemas::encoding::encode(&rotation));
    Governance::RotateKey { holder: "NA".into(), new_key: rotation.new_key, last: 40, statement: Some(statement) }
}

/// The body's position in the `Body` enum, which bincode writes as a u32.
/// Exhaustive, so a new body kind stops this file compiling and is noticed
/// here, where it needs a golden entry.
fn body_tag(body: &Body) -> u32 {
    match body {
        Body::RegisterLicensee(_) => 0,
        Body::RevokeLicensee(_) => 1,
        Body::Countersigned(_) => 2,
        Body::ImportConfirmation(_) => 3,
        Body::ZoneStatus(_) => 4,
        Body::Attestation(_) => 5,
        Body::Governance(_) => 6,
        Body::ZoneEstimate(_) => 7,
    }
}

/// The finest variant an entry exercises. Exhaustive like [`body_tag`]: a
/// new record or governance variant needs an arm here and its name in
/// `goldens_cover_every_body_kind_and_variant`.
fn variant_name(body: &Body, record: Option<&Record>) -> &'static str {
    match body {
        Body::Countersigned(_) => match &record.expect("countersigned entry has a record").body {
            RecordBody::Production(_) => "production",
            RecordBody::Transfer(_) => "transfer",
            RecordBody::Export(_) => "export",
            RecordBody::LabResult(_) => "lab_result",
        },
        Body::Governance(g) => match g {
            Governance::AdmitParticipant(_) => "admit_participant",
            Governance::SuspendParticipant { .. } => "suspend_participant",
            Governance::ReinstateParticipant { .. } => "reinstate_participant",
            Governance::ChairHandover { .. } => "chair_handover",
            Governance::AdmitConditionally { .. } => "admit_conditionally",
            Governance::LiftConditions { .. } => "lift_conditions",
            Governance::SetNodes { .. } => "set_nodes",
            Governance::RotateKey { .. } => "rotate_key",
        },
        Body::RegisterLicensee(_)
        | Body::RevokeLicensee(_)
        | Body::ImportConfirmation(_)
        | Body::ZoneStatus(_)
        | Body::ZoneEstimate(_)
        | Body::Attestation(_) => body.kind(),
    }
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Golden {
    name: String,
    kind: String,
    hash: String,
    bytes: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct GoldenFile {
    entries: Vec<Golden>,
}

fn signed_goldens() -> Vec<(&'static str, SignedEntry)> {
    goldens()
        .into_iter()
        .map(|(name, key, entry)| {
            assert_eq!(entry.author, key.public(), "{name}: author is not the signing key");
            (name, SignedEntry::sign(entry, &key))
        })
        .collect()
}

fn render(signed: &[(&str, SignedEntry)]) -> GoldenFile {
    let entries = signed
        .iter()
        .map(|(name, s)| Golden {
            name: name.to_string(),
            kind: s.entry().body.kind().to_string(),
            hash: s.hash().to_hex(),
            bytes: hex::encode(s.bytes()),
        })
        .collect();
    GoldenFile { entries }
}

#[test]
fn wire_bytes_and_hashes_match_the_committed_goldens() {
    let built = render(&signed_goldens());
    let path = golden_path();
    if bless() {
        let mut text = serde_json::to_string_pretty(&built).unwrap();
        text.push('\n');
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        return;
    }
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run with KP_BLESS=1 to create it", path.display()));
    let committed: GoldenFile = serde_json::from_str(&text).expect("golden file parses");
    let names = |f: &GoldenFile| f.entries.iter().map(|g| g.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(&committed), names(&built), "golden entries differ in name or order");
    let mut failures = Vec::new();
    for (want, got) in committed.entries.iter().zip(&built.entries) {
        if want != got {
            failures.push(format!(
                "{}:\n  committed hash {}\n  built     hash {}\n  committed {}\n  built     {}",
                want.name, want.hash, got.hash, want.bytes, got.bytes
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "wire format changed (if intended, rerun with KP_BLESS=1 and commit):\n{}",
        failures.join("\n")
    );
}

#[test]
fn goldens_cover_every_body_kind_and_variant() {
    let mut seen: Vec<&str> = signed_goldens()
        .iter()
        .map(|(_, s)| {
            let verified = s.verify().expect("golden entry verifies");
            variant_name(&s.entry().body, verified.record.as_ref())
        })
        .collect();
    seen.sort_unstable();
    seen.dedup();
    let mut want = vec![
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
        "admit_participant",
        "suspend_participant",
        "reinstate_participant",
        "chair_handover",
        "admit_conditionally",
        "lift_conditions",
        "set_nodes",
        "rotate_key",
    ];
    want.sort_unstable();
    assert_eq!(seen, want);
}

#[test]
fn committed_bytes_parse_round_trip_and_verify() {
    for (name, signed) in signed_goldens() {
        let parsed =
            SignedEntry::parse(signed.bytes().to_vec()).unwrap_or_else(|r| panic!("{name}: parse refused: {r}"));
        assert_eq!(parsed, signed, "{name}: parse does not round-trip");
        assert_eq!(parsed.hash(), signed.hash(), "{name}");
        let verified = parsed.verify().unwrap_or_else(|r| panic!("{name}: verify refused: {r}"));
        match &signed.entry().body {
            Body::Countersigned(c) => {
                let record = verified.record.expect("countersigned entry yields its record");
                assert_eq!(c.record.0, kp_schemas::encoding::encode(&record), "{name}: record");
            }
            _ => assert!(verified.record.is_none(), "{name}: record from a non-record body"),
        }
    }
}

/// Facts about the layout that hold whatever the golden file says, so a
/// blessed file cannot quietly enshrine a wrong format.
#[test]
fn layout_is_bincode_fixint_little_endian_then_signature() {
    for (name, signed) in signed_goldens() {
        let e = signed.entry();
        let bytes = signed.bytes();
        let mut at = 0;
        let mut take = |n: usize| {
            let part = &bytes[at..at + n];
            at += n;
            part
        };
        assert_eq!(take(8), (NETWORK.len() as u64).to_le_bytes(), "{name}: network length");
        assert_eq!(take(NETWORK.len()), NETWORK.as_bytes(), "{name}: network");
        // Fixed-size fields carry no length prefix.
        assert_eq!(take(32), e.author.0, "{name}: author");
        assert_eq!(take(8), e.seq.to_le_bytes(), "{name}: seq");
        assert_eq!(take(32), e.prev.0, "{name}: prev");
        assert_eq!(take(8), e.timestamp_ms.to_le_bytes(), "{name}: timestamp");
        assert_eq!(take(8), (e.context.len() as u64).to_le_bytes(), "{name}: context length");
        for h in &e.context {
            assert_eq!(take(32), h.0, "{name}: context entry");
        }
        assert_eq!(take(4), body_tag(&e.body).to_le_bytes(), "{name}: body tag");
        let signed_len = bytes.len() - 64;
        assert_eq!(signed.signed_part(), &bytes[..signed_len], "{name}");
        assert_eq!(kp_schemas::encoding::encode(e), &bytes[..signed_len], "{name}: entry bytes");

        // RFC 6962 leaf hash of the whole wire form, signature included.
        let leaf: [u8; 32] = Sha256::new().chain_update([0x00]).chain_update(bytes).finalize().into();
        assert_eq!(signed.hash().0, leaf, "{name}: hash is not SHA-256(0x00 || bytes)");

        // The signature covers the domain prefix and the entry bytes, checked
        // here with dalek directly so the prefix itself is pinned.
        let vk = VerifyingKey::from_bytes(&e.author.0).unwrap();
        let sig = Signature::from_bytes(&bytes[signed_len..].try_into().unwrap());
        let msg = [b"kpledger/v1/entry\0".as_slice(), &bytes[..signed_len]].concat();
        vk.verify_strict(&msg, &sig).unwrap_or_else(|_| panic!("{name}: entry signature"));

        if let Body::Countersigned(c) = &e.body {
            let record = &c.record.0;
            assert_eq!(&record[..8], (NETWORK.len() as u64).to_le_bytes(), "{name}: record");
            assert_eq!(&record[8..8 + NETWORK.len()], NETWORK.as_bytes(), "{name}: record");
            let licensee = PublicKey(record[8 + NETWORK.len()..][..32].try_into().unwrap());
            let msg = [b"kpledger/v1/record\0".as_slice(), record].concat();
            let vk = VerifyingKey::from_bytes(&licensee.0).unwrap();
            let sig = Signature::from_bytes(&c.signature.0);
            vk.verify_strict(&msg, &sig).unwrap_or_else(|_| panic!("{name}: record signature"));
        }
    }
}

fn refusal(bytes: Vec<u8>) -> Option<String> {
    match SignedEntry::parse(bytes) {
        Err(r) => Some(r.code),
        Ok(e) => e.verify().err().map(|r| r.code),
    }
}

#[test]
fn truncated_bytes_are_refused() {
    for (name, signed) in signed_goldens() {
        let bytes = signed.bytes();
        for cut in 0..bytes.len() {
            // Cutting the end shifts the signature window, so the entry part
            // becomes a strict prefix of a canonical encoding: never whole.
            let code = refusal(bytes[..cut].to_vec());
            assert_eq!(code.as_deref(), Some(codes::R9_MALFORMED), "{name} cut to {cut} bytes");
        }
    }
}

#[test]
fn a_byte_before_the_signature_is_refused() {
    for (name, signed) in signed_goldens() {
        for pad in [0x00, 0xff] {
            let mut bytes = signed.signed_part().to_vec();
            bytes.push(pad);
            bytes.extend_from_slice(&signed.signature().0);
            let code = refusal(bytes);
            assert_eq!(code.as_deref(), Some(codes::R9_TRAILING_BYTES), "{name} padded with {pad:#04x}");
        }
    }
}

#[test]
fn a_flipped_signature_bit_is_refused() {
    for (name, signed) in signed_goldens() {
        let len = signed.bytes().len();
        // Lowest bit of R, of the low half of S, and of S's top byte.
        for at in [len - 64, len - 20, len - 1] {
            let mut bytes = signed.bytes().to_vec();
            bytes[at] ^= 1;
            let code = refusal(bytes);
            assert_eq!(code.as_deref(), Some(codes::R1_BAD_SIGNATURE), "{name}: byte {at} flipped");
        }
    }
}

#[test]
fn a_flipped_text_bit_decodes_but_fails_the_signature() {
    let (_, signed) = signed_goldens().swap_remove(0);
    let bytes = signed.bytes();
    // 'S' -> 'R' in the licensee's name: still a well-formed entry.
    let at = bytes.windows(4).position(|w| w == b"Soci").unwrap();
    let mut flipped = bytes.to_vec();
    flipped[at] ^= 1;
    let parsed = SignedEntry::parse(flipped).expect("still decodes");
    assert_ne!(parsed.hash(), signed.hash());
    assert_eq!(parsed.verify().unwrap_err().code, codes::R1_BAD_SIGNATURE);
}

/// One flipped bit anywhere in an entry is refused. Which rule refuses
/// depends on where the bit lands: the strict decoder and the bounds (R9) for
/// structure, a sequence number of zero (R3), a key that is no longer a curve
/// point, or the signature for everything that still decodes (R1).
///
/// Each verification costs milliseconds in a debug build, so the sweep runs
/// over the two entries with the deepest nesting (a countersigned export
/// record inside its entry, a participant with nodes inside a governance
/// body) rather than over all of them.
#[test]
fn a_flipped_bit_anywhere_is_refused() {
    let swept = ["countersigned_export", "governance_admit_participant"];
    let mut flips = 0;
    for (name, signed) in signed_goldens().into_iter().filter(|(n, _)| swept.contains(n)) {
        let bytes = signed.bytes();
        for at in 0..bytes.len() {
            let mut flipped = bytes.to_vec();
            // One bit per byte, rotating, so every byte and every bit
            // position within a byte is hit at least once.
            flipped[at] ^= 1 << (at % 8);
            let code =
                refusal(flipped).unwrap_or_else(|| panic!("{name}: bit {} of byte {at} flipped, accepted", at % 8));
            assert!(
                code.starts_with("R9.")
                    || code == codes::R3_BAD_SEQ
                    || code == codes::R1_BAD_SIGNATURE
                    || code == codes::R1_INVALID_KEY,
                "{name}: byte {at} flipped, unexpected code {code}"
            );
            flips += 1;
        }
    }
    assert!(flips > 700, "sweep covered only {flips} bytes");
}

#[test]
fn an_entry_signature_is_not_a_record_signature() {
    for (name, signed) in signed_goldens() {
        let e = signed.entry();
        let as_record = crypto::verify(Domain::Record, &e.author, signed.signed_part(), &signed.signature());
        assert!(as_record.is_err(), "{name}: entry signature valid in the record domain");
    }
}
