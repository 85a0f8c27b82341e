//! The acceptance rules R1-R9, each with entries that pass and entries that
//! are refused by their exact code, and the reference scenario of the domain
//! reference (section 6) end to end.
//!
//! Every refusal goes through the harness, which also checks that the ledger
//! is left exactly as it was.

mod common;

use common::*;
use kp_schemas::codes;
use kp_schemas::crypto::{Domain, entry_hash};
use kp_schemas::encoding;
use kp_schemas::entry::Verified;
use kp_schemas::limits::{self, MAX_HS_LINES, MAX_ID, MAX_INPUTS, MAX_NAME, MAX_OUTPUTS, MAX_RECORD_BYTES, MAX_WEIGHT};
use kp_schemas::memory::MemLedger;
use kp_schemas::model::*;
use kp_schemas::roster;
use kp_schemas::rules::{self, Refusal, Verdict};
use kp_schemas::state::LotOrigin;
use kp_schemas::trail::{self, NodeKind, TrailNode};
use kp_schemas::{Hash32, Keypair, PublicKey, SignatureBytes, SignedEntry};

const DAY: &str = "2017-03-01";

fn code(r: Refusal) -> String {
    r.code
}

/// Wire bytes of `entry` signed by `signer`, who need not be its author.
fn signed_by(entry: &Entry, signer: &Keypair) -> Vec<u8> {
    let mut bytes = encoding::encode(entry);
    let sig = signer.sign(Domain::Entry, &bytes);
    bytes.extend_from_slice(&sig.0);
    bytes
}

fn entry_of(author: &Keypair, seq: u64, body: Body) -> Entry {
    Entry {
        network: NETWORK.into(),
        author: author.public(),
        seq,
        prev: Hash32::ZERO,
        timestamp_ms: 1,
        context: vec![],
        body,
    }
}

/// A CF lot from Berberati held by the CF exporter, ready to leave.
fn cf_export_lot(w: &mut World, lot: &str, weight: Weight) {
    let mined = format!("{lot}/mined");
    let body = w.cf_production(&mined, "BER", weight, DAY);
    w.net.record("CF", &w.cast.cf_miner, body);
    let t = transfer(&[(&mined, weight)], &[(lot, weight, &w.cast.cf_exporter)], "2017-03-02");
    w.net.record("CF", &w.cast.cf_miner, t);
}

/// A BW lot held by the BW exporter.
fn bw_export_lot(w: &mut World, lot: &str, weight: Weight) {
    let mined = format!("{lot}/mined");
    w.net.record("BW", &w.cast.bw_miner, production(&mined, "Jwaneng", None, weight, DAY));
    let t = transfer(&[(&mined, weight)], &[(lot, weight, &w.cast.bw_exporter)], "2017-03-02");
    w.net.record("BW", &w.cast.bw_miner, t);
}

fn bw_synthetic_lot(w: &mut World, lot: &str, weight: Weight) {
    let mined = format!("{lot}/grown");
    w.net.record("BW", &w.cast.bw_miner, synthetic_production(&mined, weight, DAY));
    let t = transfer(&[(&mined, weight)], &[(lot, weight, &w.cast.bw_exporter)], "2017-03-02");
    w.net.record("BW", &w.cast.bw_miner, t);
}

// =====================================================================
// R1 signatures

#[test]
fn r1_signed_entries_and_records_are_accepted() {
    let mut w = World::new();
    let a = w.net.record("BW", &w.cast.bw_miner, production("BW/1", "Jwaneng", None, 500, DAY));
    assert!(a.flags.is_empty());
    assert_eq!(w.net.lot("BW", "BW/1").holder, w.cast.bw_miner.public());
}

#[test]
fn r1_tampered_signature_is_refused() {
    let mut net = Net::new();
    let key = authority_key("CF");
    let e = net.build(&key, register_body(&licensee_key("m"), "CF miner", &[Role::Miner]));
    let mut bytes = e.bytes().to_vec();
    *bytes.last_mut().unwrap() ^= 0x01;
    assert_eq!(code(net.ingest_bytes(bytes).unwrap_err()), codes::R1_BAD_SIGNATURE);
}

#[test]
fn r1_tampered_content_is_refused() {
    let mut net = Net::new();
    let key = authority_key("CF");
    let e = net.build(&key, register_body(&licensee_key("m"), "CF miner", &[Role::Miner]));
    let mut bytes = e.bytes().to_vec();
    let at = bytes.windows(8).position(|w| w == b"CF miner").expect("name in the bytes");
    bytes[at + 3] = b'M';
    // Still a well-formed entry, so only the signature can catch it.
    assert!(SignedEntry::parse(bytes.clone()).is_ok());
    assert_eq!(code(net.ingest_bytes(bytes).unwrap_err()), codes::R1_BAD_SIGNATURE);
    // The untouched entry is fine.
    assert!(matches!(net.ingest(&e), Ok(Verdict::Accepted(_))));
}

#[test]
fn r1_entry_signed_by_another_key_is_refused() {
    let mut net = Net::new();
    let entry = entry_of(&authority_key("CF"), 1, register_body(&licensee_key("m"), "m", &[Role::Miner]));
    let forged = signed_by(&entry, &authority_key("BW"));
    assert_eq!(code(net.ingest_bytes(forged).unwrap_err()), codes::R1_BAD_SIGNATURE);
    let genuine = signed_by(&entry, &authority_key("CF"));
    assert!(matches!(net.ingest_bytes(genuine), Ok(Verdict::Accepted(_))));
}

#[test]
fn r1_signature_from_another_domain_is_refused() {
    // The same key and bytes, signed as an entry rather than as a record.
    let mut w = World::new();
    let rec = w.net.sign(&w.cast.bw_miner, production("BW/1", "Jwaneng", None, 500, DAY));
    let wrong_domain = w.cast.bw_miner.sign(Domain::Entry, rec.bytes());
    let body = Body::Countersigned(Countersigned { record: HexBytes(rec.bytes().to_vec()), signature: wrong_domain });
    assert_eq!(code(w.net.refused(&authority_key("BW"), body)), codes::R1_BAD_SIGNATURE);
    assert!(w.net.submit(&authority_key("BW"), countersigned(&rec)).is_ok());
}

#[test]
fn r1_record_signed_by_someone_else_is_refused() {
    let mut w = World::new();
    // Names the BW miner as its licensee, but the BW exporter signed it.
    let record = Record {
        network: NETWORK.into(),
        licensee: w.cast.bw_miner.public(),
        nonce: 1,
        body: production("BW/1", "Jwaneng", None, 500, DAY),
    };
    let forged = kp_schemas::SignedRecord::sign(record.clone(), &w.cast.bw_exporter);
    assert_eq!(code(w.net.refused(&authority_key("BW"), countersigned(&forged))), codes::R1_BAD_SIGNATURE);

    let mut bad_sig = kp_schemas::SignedRecord::sign(record, &w.cast.bw_miner).to_countersigned();
    bad_sig.signature.0[10] ^= 0x40;
    assert_eq!(code(w.net.refused(&authority_key("BW"), Body::Countersigned(bad_sig))), codes::R1_BAD_SIGNATURE);
    assert!(!w.net.ledger.lots.contains_key(&("BW".into(), "BW/1".into())));
}

#[test]
fn r1_weak_and_invalid_keys_are_refused_at_registration() {
    let mut net = Net::new();
    let cf = authority_key("CF");
    // The identity point has order 1: anyone can forge its signatures.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let weak = Body::RegisterLicensee(LicenseeRegistration {
        licensee: PublicKey(identity),
        name: "weak".into(),
        roles: vec![Role::Miner],
    });
    assert_eq!(code(net.refused(&cf, weak)), codes::R1_WEAK_KEY);
    // y = 2 is not on the curve.
    let mut off = [0u8; 32];
    off[0] = 2;
    let invalid = Body::RegisterLicensee(LicenseeRegistration {
        licensee: PublicKey(off),
        name: "off".into(),
        roles: vec![Role::Miner],
    });
    assert_eq!(code(net.refused(&cf, invalid)), codes::R1_INVALID_KEY);

    let mut admit = participant("IN");
    admit.code = "NA".into();
    admit.name = "Namibia".into();
    admit.authority = PublicKey(identity);
    assert_eq!(
        code(net.refused(&chair_key(), Body::Governance(Governance::AdmitParticipant(admit)))),
        codes::R1_WEAK_KEY
    );
    let handover = Governance::ChairHandover { new_chair: PublicKey(identity) };
    assert_eq!(code(net.refused(&chair_key(), Body::Governance(handover))), codes::R1_WEAK_KEY);
}

#[test]
fn r1_a_countersigned_entry_is_judged_only_with_its_record_verified() {
    let mut w = World::new();
    let rec = w.net.sign(&w.cast.bw_miner, production("BW/1", "Jwaneng", None, 500, DAY));
    let e = w.net.build(&authority_key("BW"), countersigned(&rec));
    // The record's signature was never checked, so there is no record to judge.
    let unchecked = Verified { entry: e.clone(), record: None };
    let r = Refusal::from(rules::judge(&w.net.ledger, &unchecked).unwrap_err());
    assert_eq!(r.code, codes::R1_UNVERIFIED_RECORD);
    assert!(matches!(w.net.ingest(&e), Ok(Verdict::Accepted(_))));
}

#[test]
fn r1_a_roster_whose_readable_copy_differs_from_its_bytes_is_refused() {
    let signed = roster::sign(dev_roster(), &chair_key());
    assert!(roster::verify(&signed).is_ok());
    let mut edited = signed.clone();
    edited.roster.participants[0].name = "Someone else".into();
    assert_eq!(roster::verify(&edited).unwrap_err().code, codes::R1_ROSTER_MISMATCH);
    let mut forged = roster::sign(dev_roster(), &stranger_key());
    assert_eq!(roster::verify(&forged).unwrap_err().code, codes::R1_BAD_SIGNATURE);
    forged.bytes.0.push(0);
    assert_eq!(roster::verify(&forged).unwrap_err().code, codes::R9_TRAILING_BYTES);
}

// =====================================================================
// R2 authors

#[test]
fn r2_unknown_author_is_refused() {
    let mut net = Net::new();
    let body = register_body(&licensee_key("m"), "m", &[Role::Miner]);
    assert_eq!(code(net.refused(&stranger_key(), body)), codes::R2_UNKNOWN_AUTHOR);
    // A licensee is not an author of its own: only through its authority.
    let mut w = World::new();
    let rec = w.net.sign(&w.cast.bw_miner, production("BW/1", "Jwaneng", None, 500, DAY));
    assert_eq!(code(w.net.refused(&w.cast.bw_miner.clone(), countersigned(&rec))), codes::R2_UNKNOWN_AUTHOR);
}

#[test]
fn r2_wrong_network_is_refused() {
    let mut net = Net::new();
    let key = authority_key("CF");
    let mut entry = entry_of(&key, 1, register_body(&licensee_key("m"), "m", &[Role::Miner]));
    entry.network = "kp-other".into();
    let bytes = SignedEntry::sign(entry, &key).into_bytes();
    assert_eq!(code(net.ingest_bytes(bytes).unwrap_err()), codes::R2_WRONG_NETWORK);

    let mut w = World::new();
    let rec = kp_schemas::entry::sign_record("kp-other", &w.cast.bw_miner, 1, production("BW/1", "J", None, 5, DAY));
    assert_eq!(code(w.net.refused(&authority_key("BW"), countersigned(&rec))), codes::R2_WRONG_NETWORK);
}

#[test]
fn r2_licensee_needs_the_role_of_its_record() {
    let mut w = World::new();
    let c = &w.cast;
    // The buying office trades but does not mine.
    let r = w.net.record_refused("CF", &c.cf_office, w.cf_production("CF/1", "BER", 100, DAY));
    assert_eq!(r.code, codes::R2_ROLE);
    w.net.record("CF", &c.cf_miner, w.cf_production("CF/1", "BER", 100, DAY));
    // A miner may move its own lot, but not export it.
    let r =
        w.net.record_refused("CF", &c.cf_miner, export("CF-000001", "EU", &[("CF/1", 100)], &[("7102.31", 100)], DAY));
    assert_eq!(r.code, codes::R2_ROLE);
    // A laboratory does not trade.
    bw_export_lot(&mut w, "BW/1", 100);
    let t = transfer(&[("BW/1", 100)], &[("BW/2", 100, &w.cast.bw_lab)], DAY);
    assert_eq!(w.net.record_refused("BW", &w.cast.bw_lab, t).code, codes::R2_ROLE);
    // Only a laboratory reports lab results.
    let lab = RecordBody::LabResult(LabResult {
        lot: "BW/1".into(),
        report_hash: Hash32([7; 32]),
        finding: Nature::Natural,
        note: "natural".into(),
    });
    assert_eq!(w.net.record_refused("BW", &w.cast.bw_exporter, lab.clone()).code, codes::R2_ROLE);
    w.net.record("BW", &w.cast.bw_lab, lab);
    assert_eq!(w.net.ledger.attestations.last().unwrap().finding, Some(Nature::Natural));
}

#[test]
fn r2_revoked_licensee_is_refused() {
    let mut w = World::new();
    let miner = w.cast.cf_miner.clone();
    w.net.record("CF", &miner, w.cf_production("CF/1", "BER", 100, DAY));
    w.net.revoke("CF", &miner);
    assert!(!w.net.ledger.licensees[&("CF".to_string(), miner.public())].active);
    let r = w.net.record_refused("CF", &miner, w.cf_production("CF/2", "BER", 100, DAY));
    assert_eq!(r.code, codes::R2_LICENSEE_REVOKED);
    // Revoking twice is refused too.
    let again = Body::RevokeLicensee(LicenseeRevocation { licensee: miner.public(), reason: "again".into() });
    assert_eq!(code(w.net.refused(&authority_key("CF"), again)), codes::R2_LICENSEE_REVOKED);
    // Its lot stays where it is; a revoked licensee cannot receive lots.
    let t = transfer(&[("CF/1", 100)], &[("CF/3", 100, &miner)], DAY);
    let r = w.net.record_refused("CF", &miner, t);
    assert_eq!(r.code, codes::R2_LICENSEE_REVOKED);
}

#[test]
fn r2_a_licensee_is_a_key_registered_by_one_participant() {
    let mut w = World::new();
    // BW may not countersign for a CF licensee: BW never registered it.
    let r = w.net.record_refused("BW", &w.cast.cf_miner, production("BW/1", "J", None, 100, DAY));
    assert_eq!(r.code, codes::R2_UNKNOWN_LICENSEE);
    let revoke_other =
        Body::RevokeLicensee(LicenseeRevocation { licensee: w.cast.cf_miner.public(), reason: "x".into() });
    assert_eq!(code(w.net.refused(&authority_key("BW"), revoke_other)), codes::R2_UNKNOWN_LICENSEE);
    // A key nobody registered.
    let nobody = licensee_key("nobody");
    let r = w.net.record_refused("BW", &nobody, production("BW/1", "J", None, 100, DAY));
    assert_eq!(r.code, codes::R2_UNKNOWN_LICENSEE);
    let revoke_nobody = Body::RevokeLicensee(LicenseeRevocation { licensee: nobody.public(), reason: "x".into() });
    assert_eq!(code(w.net.refused(&authority_key("BW"), revoke_nobody)), codes::R2_UNKNOWN_LICENSEE);
    // Once per participant; another participant's registration of the same
    // key is a licensee of its own, whatever order the two logs arrive in.
    let again = register_body(&w.cast.cf_miner, "CF miner again", &[Role::Miner]);
    assert_eq!(code(w.net.refused(&authority_key("CF"), again.clone())), codes::R2_LICENSEE_EXISTS);
    w.net.write(&authority_key("EU"), again);
    assert_eq!(w.net.ledger.licensees[&("EU".to_string(), w.cast.cf_miner.public())].name, "CF miner again");
    assert_eq!(w.net.ledger.licensees[&("CF".to_string(), w.cast.cf_miner.public())].name, "CF miner");
    // The same record countersigned by each participant is one record in each log.
    let m = w.cast.cf_miner.clone();
    let rec = w.net.sign(&m, production("X/1", "site", None, 100, DAY));
    w.net.write(&authority_key("EU"), countersigned(&rec));
    assert_eq!(code(w.net.refused(&authority_key("EU"), countersigned(&rec))), codes::R3_DUPLICATE_RECORD);
}

#[test]
fn r2_two_participants_registering_one_key_agree_in_either_order() {
    let mut a = Net::new();
    let key = licensee_key("shared");
    let cf = a.prepare(&authority_key("CF"), register_body(&key, "CF name", &[Role::Miner]));
    let bw = a.prepare(&authority_key("BW"), register_body(&key, "BW name", &[Role::Trader]));
    let mut b = Net::new();
    for (net, order) in [(&mut a, [&cf, &bw]), (&mut b, [&bw, &cf])] {
        for e in order {
            assert!(matches!(net.ingest(e), Ok(Verdict::Accepted(_))));
        }
    }
    assert_eq!(a.ledger.licensees, b.ledger.licensees);
    assert_eq!(a.ledger.licensees.len(), 2);
}

#[test]
fn r2_new_holders_are_active_licensees_of_the_same_participant() {
    let mut w = World::new();
    w.net.record("CF", &w.cast.cf_miner, w.cf_production("CF/1", "BER", 300, DAY));
    let c = &w.cast;
    for holder in [&c.bw_miner, &licensee_key("nobody")] {
        let t = transfer(&[("CF/1", 100)], &[("CF/2", 100, holder)], DAY);
        assert_eq!(w.net.record_refused("CF", &c.cf_miner, t).code, codes::R2_UNKNOWN_HOLDER);
    }
    let office = c.cf_office.clone();
    w.net.revoke("CF", &office);
    let t = transfer(&[("CF/1", 100)], &[("CF/2", 100, &office)], DAY);
    assert_eq!(w.net.record_refused("CF", &w.cast.cf_miner, t).code, codes::R2_UNKNOWN_HOLDER);
    let t = transfer(&[("CF/1", 100)], &[("CF/2", 100, &w.cast.cf_exporter)], DAY);
    w.net.record("CF", &w.cast.cf_miner, t);
}

#[test]
fn r2_monitor_declares_zones_only_in_its_scope() {
    let mut net = Net::new();
    let m = monitor_key();
    net.write(&m, zone_body("CF", "BER", "Berberati", ZoneState::Compliant, "2017-01-01"));
    assert_eq!(
        code(net.refused(&m, zone_body("BW", "JWA", "Jwaneng", ZoneState::Compliant, "2017-01-01"))),
        codes::R2_OUT_OF_SCOPE
    );
    assert_eq!(
        code(net.refused(&m, zone_body("ZZ", "X", "Nowhere", ZoneState::Compliant, "2017-01-01"))),
        codes::R2_UNKNOWN_PARTICIPANT
    );
}

#[test]
fn r2_authority_attests_only_about_its_own_lots() {
    let mut w = World::new();
    bw_export_lot(&mut w, "BW/1", 100);
    let about = |p: &str| {
        Body::Attestation(Attestation {
            subject: Subject::Lot { participant: p.into(), lot: "BW/1".into() },
            kind: AttestationKind::Hold,
            note: "held for inspection".into(),
        })
    };
    assert_eq!(code(w.net.refused(&authority_key("CF"), about("BW"))), codes::R2_OUT_OF_SCOPE);
    w.net.write(&authority_key("BW"), about("BW"));
    // A monitor may attest about any participant's lots.
    w.net.write(&monitor_key(), about("BW"));
    assert_eq!(w.net.ledger.attestations.len(), 2);
    // It must exist.
    assert_eq!(code(w.net.refused(&authority_key("CF"), about("CF"))), codes::R4_UNKNOWN_LOT);
    let forged = Body::Attestation(Attestation {
        subject: Subject::Certificate { number: "BW-404".into() },
        kind: AttestationKind::ForgedCertificate,
        note: "never issued".into(),
    });
    assert_eq!(code(w.net.refused(&monitor_key(), forged)), codes::R7_UNKNOWN_CERTIFICATE);
}

#[test]
fn r2_each_role_writes_only_its_kinds_of_entry() {
    let mut net = Net::new();
    let zone = zone_body("CF", "BER", "Berberati", ZoneState::Compliant, "2017-01-01");
    let suspend = Body::Governance(Governance::SuspendParticipant { code: "BW".into(), reason: "r".into(), from: 0 });
    let register = register_body(&licensee_key("m"), "m", &[Role::Miner]);
    let not_allowed = [
        (authority_key("CF"), zone.clone()),
        (authority_key("CF"), suspend.clone()),
        (monitor_key(), register.clone()),
        (monitor_key(), suspend.clone()),
        (chair_key(), zone.clone()),
        (chair_key(), register.clone()),
    ];
    for (key, body) in not_allowed {
        let kind = body.kind();
        assert_eq!(code(net.refused(&key, body)), codes::R2_NOT_ALLOWED, "{kind}");
    }
    net.write(&authority_key("CF"), register);
    net.write(&monitor_key(), zone);
    net.write(&chair_key(), suspend);
}

#[test]
fn r2_suspended_participant_cannot_write_until_reinstated() {
    let mut w = World::new();
    w.net.govern(Governance::SuspendParticipant { code: "BW".into(), reason: "statistics missing".into(), from: 0 });
    assert!(w.net.ledger.network.participants["BW"].suspended);
    let r = w.net.record_refused("BW", &w.cast.bw_miner, production("BW/1", "J", None, 100, DAY));
    assert_eq!(r.code, codes::R2_AUTHOR_SUSPENDED);
    w.net.govern(Governance::ReinstateParticipant { code: "BW".into(), from: 0 });
    w.net.record("BW", &w.cast.bw_miner, production("BW/1", "J", None, 100, DAY));
    let r =
        w.net.refused(&chair_key(), Body::Governance(Governance::ReinstateParticipant { code: "ZZ".into(), from: 1 }));
    assert_eq!(r.code, codes::R2_UNKNOWN_PARTICIPANT);
}

#[test]
fn r2_a_suspension_or_reinstatement_must_change_something() {
    let mut net = Net::new();
    let suspend =
        |from| Governance::SuspendParticipant { code: "BW".into(), reason: "statistics missing".into(), from };
    let reinstate = |code: &str, from| Governance::ReinstateParticipant { code: code.into(), from };
    let refused = |net: &mut Net, g: Governance| net.refused(&chair_key(), Body::Governance(g)).code;
    assert_eq!(refused(&mut net, reinstate("BW", 1)), codes::R2_NO_CHANGE, "BW is not suspended");
    net.govern(suspend(5));
    assert_eq!(refused(&mut net, suspend(6)), codes::R2_NO_CHANGE, "BW is suspended already");
    // A suspension ends at or after the position it started from.
    assert_eq!(refused(&mut net, reinstate("BW", 4)), codes::R2_BAD_POSITION);
    net.govern(reinstate("BW", 5));
    assert!(!net.ledger.network.participants["BW"].suspended);
    assert_eq!(refused(&mut net, reinstate("BW", 7)), codes::R2_NO_CHANGE, "BW is reinstated already");
}

#[test]
fn r2_chair_admits_participants_and_hands_over() {
    let mut net = Net::new();
    let na_key = Keypair::from_seed([50; 32]);
    let namibia = Participant {
        code: "NA".into(),
        name: "Namibia".into(),
        authority: na_key.public(),
        zone_regime: false,
        nodes: vec![],
    };
    // Not a member yet.
    assert_eq!(
        code(net.refused(&na_key, register_body(&licensee_key("na"), "na", &[Role::Miner]))),
        codes::R2_UNKNOWN_AUTHOR
    );
    net.govern(Governance::AdmitParticipant(namibia.clone()));
    net.write(&na_key, register_body(&licensee_key("na"), "na", &[Role::Miner]));
    assert_eq!(
        code(net.refused(&chair_key(), Body::Governance(Governance::AdmitParticipant(namibia)))),
        codes::R2_PARTICIPANT_EXISTS
    );

    let next_chair = Keypair::from_seed([51; 32]);
    net.govern(Governance::ChairHandover { new_chair: next_chair.public() });
    let g = Body::Governance(Governance::SuspendParticipant { code: "NA".into(), reason: "r".into(), from: 0 });
    assert_eq!(code(net.refused(&chair_key(), g.clone())), codes::R2_KEY_RETIRED);
    net.write(&next_chair, g);
}

#[test]
fn r2_admission_and_handover_refuse_a_key_already_in_use() {
    let mut net = Net::new();
    let admit = |key: PublicKey| {
        let mut p = participant("IN");
        p.code = "NA".into();
        p.name = "Namibia".into();
        p.authority = key;
        Body::Governance(Governance::AdmitParticipant(p))
    };
    let handover = |key: PublicKey| Body::Governance(Governance::ChairHandover { new_chair: key });
    // A suspended participant's key is still its own.
    net.govern(Governance::SuspendParticipant { code: "BW".into(), reason: "statistics missing".into(), from: 0 });
    let in_use = [chair_key(), authority_key("CF"), authority_key("BW"), monitor_key()];
    for key in &in_use {
        let r = net.refused(&chair_key(), admit(key.public()));
        assert_eq!(r.code, codes::R2_KEY_IN_USE, "{r:?}");
        assert_eq!(code(net.refused(&chair_key(), handover(key.public()))), codes::R2_KEY_IN_USE);
    }
    assert!(net.refused(&chair_key(), admit(monitor_key().public())).message.contains("MT-CF"));
    // A key no role holds is free; once admitted, it is in use.
    let na = Keypair::from_seed([52; 32]);
    net.write(&chair_key(), admit(na.public()));
    assert_eq!(code(net.refused(&chair_key(), handover(na.public()))), codes::R2_KEY_IN_USE);
    let next_chair = Keypair::from_seed([53; 32]);
    net.write(&chair_key(), handover(next_chair.public()));
    let mut second = participant("AE");
    second.code = "ZA".into();
    second.authority = next_chair.public();
    let r = net.refused(&next_chair, Body::Governance(Governance::AdmitParticipant(second)));
    assert_eq!((r.code.as_str(), r.message.contains("chair")), (codes::R2_KEY_IN_USE, true), "{r:?}");
}

// =====================================================================
// R3 chain

#[test]
fn r3_logs_are_gapless_and_linked() {
    let mut net = Net::new();
    let key = authority_key("CF");
    let body = |n: &str| register_body(&licensee_key(n), n, &[Role::Miner]);
    // The first entry is entry 1 and names no predecessor.
    let e2 = net.build_at(&key, 2, Hash32::ZERO, body("a"));
    assert_eq!(code(net.ingest(&e2).unwrap_err()), codes::R3_GAP);
    let e0 = net.build_at(&key, 0, Hash32::ZERO, body("a"));
    assert_eq!(code(net.ingest(&e0).unwrap_err()), codes::R3_BAD_SEQ);
    let wrong_first = net.build_at(&key, 1, Hash32([1; 32]), body("a"));
    assert_eq!(code(net.ingest(&wrong_first).unwrap_err()), codes::R3_BAD_PREV);

    let e1 = net.write(&key, body("a"));
    assert_eq!(e1.head.seq, 1);
    let bad_prev = net.build_at(&key, 2, Hash32([9; 32]), body("b"));
    assert_eq!(code(net.ingest(&bad_prev).unwrap_err()), codes::R3_BAD_PREV);
    let gap = net.build_at(&key, 3, e1.hash, body("b"));
    let r = net.ingest(&gap).unwrap_err();
    assert_eq!(r.code, codes::R3_GAP);
    assert!(r.is_missing_dependency(), "a gap is waited for, not final");
    let e2 = net.write(&key, body("b"));
    assert_eq!((e2.head.seq, net.ledger.heads[&key.public()].hash), (2, e2.hash));
    assert_eq!(net.ledger.entries[&(key.public(), 2)].entry().prev, e1.hash);
}

#[test]
fn r3_timestamps_never_go_back() {
    let mut net = Net::new();
    let key = authority_key("CF");
    let first = net.write(&key, register_body(&licensee_key("a"), "a", &[Role::Miner]));
    let mut entry = entry_of(&key, 2, register_body(&licensee_key("b"), "b", &[Role::Miner]));
    entry.prev = first.hash;
    entry.timestamp_ms = first.head.timestamp_ms - 1;
    let bytes = SignedEntry::sign(entry.clone(), &key).into_bytes();
    assert_eq!(code(net.ingest_bytes(bytes).unwrap_err()), codes::R3_TIMESTAMP_REGRESSED);
    entry.timestamp_ms = first.head.timestamp_ms;
    assert!(net.ingest_bytes(SignedEntry::sign(entry, &key).into_bytes()).is_ok());
}

#[test]
fn r3_same_entry_twice_is_a_duplicate() {
    let mut net = Net::new();
    let key = authority_key("CF");
    let e = net.prepare(&key, register_body(&licensee_key("a"), "a", &[Role::Miner]));
    assert!(matches!(net.ingest(&e), Ok(Verdict::Accepted(_))));
    let before = net.ledger.clone();
    assert_eq!(net.ingest(&e), Ok(Verdict::Duplicate(e.hash())));
    assert_unchanged(&before, &net.ledger, "duplicate");
}

#[test]
fn r3_a_record_is_accepted_once() {
    let mut w = World::new();
    let rec = w.net.sign(&w.cast.bw_miner, production("BW/1", "J", None, 100, DAY));
    w.net.write(&authority_key("BW"), countersigned(&rec));
    // The same signed record again, in a new entry of the log.
    assert_eq!(code(w.net.refused(&authority_key("BW"), countersigned(&rec))), codes::R3_DUPLICATE_RECORD);
    // Another authority cannot replay it either: the key is not its licensee.
    assert_eq!(code(w.net.refused(&authority_key("EU"), countersigned(&rec))), codes::R2_UNKNOWN_LICENSEE);
}

#[test]
fn r3_equivocation_is_kept_as_evidence_and_freezes_the_log() {
    let mut net = Net::new();
    let key = authority_key("CF");
    net.write(&key, register_body(&licensee_key("a"), "a", &[Role::Miner]));
    let one = net.build(&key, register_body(&licensee_key("b"), "b", &[Role::Miner]));
    let two = net.build(&key, register_body(&licensee_key("c"), "c", &[Role::Miner]));
    assert_eq!((one.entry().seq, one.entry().prev), (two.entry().seq, two.entry().prev));
    assert!(matches!(net.ingest(&one), Ok(Verdict::Accepted(_))));
    net.commit(&one);

    let Ok(Verdict::Equivocation(eq)) = net.ingest(&two) else { panic!("expected equivocation") };
    assert_eq!((eq.author, eq.seq, eq.existing, eq.conflicting), (key.public(), 2, one.hash(), two.hash()));
    assert_eq!(net.ledger.evidence, vec![eq]);
    // Frozen on the position before the conflict: entry 1 stays, and the
    // entry this ledger held at 2 is withdrawn with what it made.
    assert_eq!(net.ledger.freeze[&key.public()], 1);
    let head = &net.ledger.heads[&key.public()];
    assert!(head.frozen);
    assert_eq!(head.seq, 1);
    assert!(!net.ledger.entries.contains_key(&(key.public(), 2)));
    assert!(net.ledger.licensees.keys().all(|(_, k)| *k != licensee_key("b").public()));
    assert!(net.ledger.withdrawn.contains_key(&one.hash()));

    // Nothing beyond the freeze point enters the log: it is kept as
    // evidence only, and the submitter is told the log is frozen.
    let Ok(Verdict::Withdrawn(w)) = net.ingest(&one) else { panic!("expected withdrawn") };
    assert_eq!((w.seq, w.refusal().code.as_str()), (2, codes::R3_LOG_FROZEN));
    // Other logs go on.
    net.write(&authority_key("BW"), register_body(&licensee_key("e"), "e", &[Role::Miner]));
}

#[test]
fn r3_an_entry_waits_for_the_zone_status_it_names() {
    let mut w = World::new();
    // The monitor's entry exists, but has not reached this ledger yet.
    let status = w.net.prepare(&monitor_key(), zone_body("CF", "BOD2", "Boda 2", ZoneState::Compliant, "2017-01-01"));
    let rec = w.net.sign(&w.cast.cf_miner, production("CF/B2", "Boda", Some(("BOD2", Some(status.hash()))), 100, DAY));
    // The writer held the status, and names it in the entry's context.
    let (seq, prev) = w.net.next_of(&authority_key("CF"));
    let entry = w.net.build_with_context(&authority_key("CF"), seq, prev, vec![status.hash()], countersigned(&rec));
    let r = w.net.ingest(&entry).unwrap_err();
    assert_eq!(r.code, codes::R3_MISSING_DEPENDENCY);
    assert!(r.is_missing_dependency());
    assert!(matches!(w.net.ingest(&status), Ok(Verdict::Accepted(_))));
    assert!(matches!(w.net.ingest(&entry), Ok(Verdict::Accepted(_))));
    assert!(w.net.lot("CF", "CF/B2").compliant);
}

#[test]
fn r3_a_confirmation_waits_for_the_certificate_it_names() {
    let mut w = World::new();
    bw_export_lot(&mut w, "BW/1", 100);
    let rec = w.net.sign(&w.cast.bw_exporter, export("BW-1", "EU", &[("BW/1", 100)], &[("7102.10", 100)], DAY));
    let cert_entry = w.net.prepare(&authority_key("BW"), countersigned(&rec));
    let confirm = Body::ImportConfirmation(ImportConfirmation {
        exporter: "BW".into(),
        certificate: "BW-1".into(),
        certificate_entry: cert_entry.hash(),
        weight: 100,
        parcels: 2,
        lot: "EU/1".into(),
        holder: w.cast.eu_trader.public(),
        date: "2017-03-10".into(),
    });
    let confirm = w.net.build(&authority_key("EU"), confirm);
    assert_eq!(code(w.net.ingest(&confirm).unwrap_err()), codes::R3_MISSING_DEPENDENCY);
    assert!(matches!(w.net.ingest(&cert_entry), Ok(Verdict::Accepted(_))));
    assert!(matches!(w.net.ingest(&confirm), Ok(Verdict::Accepted(_))));
    assert_eq!(w.net.lot("EU", "EU/1").weight, 100);
}

#[test]
fn r3_same_verdicts_whatever_the_arrival_order() {
    let mut w = World::new();
    scenario_steps_1_to_3(&mut w);
    // Every log reversed, logs in key order: each entry arrives before what
    // it depends on, and must wait rather than be refused.
    let mut pending: Vec<SignedEntry> = w.net.ledger.entries.values().rev().cloned().collect();
    let mut other = MemLedger::new(dev_network());
    while !pending.is_empty() {
        let mut waiting = Vec::new();
        for e in pending.iter() {
            match other.ingest(e.bytes().to_vec()) {
                Ok(Verdict::Accepted(_)) => {}
                Err(r) if r.is_missing_dependency() => waiting.push(e.clone()),
                verdict => panic!("entry {} of {}: {verdict:?}", e.entry().seq, e.entry().author),
            }
        }
        assert!(waiting.len() < pending.len(), "no progress with {} entries left", waiting.len());
        pending = waiting;
    }
    assert_eq!(other.lots, w.net.ledger.lots);
    assert_eq!(other.certs, w.net.ledger.certs);
    assert_eq!(other.heads, w.net.ledger.heads);
    assert_eq!(other.zones, w.net.ledger.zones);
    assert_eq!(other.licensees, w.net.ledger.licensees);
}

// =====================================================================
// R4 origin

#[test]
fn r4_every_lot_has_one_creating_entry() {
    let mut w = World::new();
    let a = w.net.record("CF", &w.cast.cf_miner, w.cf_production("CF/1", "BER", 300, DAY));
    assert_eq!(w.net.lot("CF", "CF/1").created_by, a.hash);
    // The same id again, by a production, a transfer or an import.
    let r = w.net.record_refused("CF", &w.cast.cf_miner, w.cf_production("CF/1", "NOL", 300, DAY));
    assert_eq!(r.code, codes::R4_LOT_EXISTS);
    let t = transfer(&[("CF/1", 100)], &[("CF/1", 100, &w.cast.cf_office)], DAY);
    assert_eq!(w.net.record_refused("CF", &w.cast.cf_miner, t).code, codes::R4_LOT_EXISTS);
    let t = transfer(&[("CF/1", 100)], &[("CF/2", 50, &w.cast.cf_office), ("CF/2", 50, &w.cast.cf_office)], DAY);
    assert_eq!(w.net.record_refused("CF", &w.cast.cf_miner, t).code, codes::R4_LOT_EXISTS);
    let t = transfer(&[("CF/1", 100)], &[("CF/2", 50, &w.cast.cf_office), ("CF/3", 50, &w.cast.cf_office)], DAY);
    let b = w.net.record("CF", &w.cast.cf_miner, t);
    assert_eq!(w.net.lot("CF", "CF/2").created_by, b.hash);
    assert_eq!(w.net.lot("CF", "CF/3").created_by, b.hash);

    // Lot ids are unique within a participant, not across them.
    w.net.record("BW", &w.cast.bw_miner, production("CF/1", "Jwaneng", None, 10, DAY));

    bw_export_lot(&mut w, "BW/1", 200);
    w.net.record("BW", &w.cast.bw_exporter, export("BW-1", "EU", &[("BW/1", 100)], &[("7102.10", 100)], DAY));
    w.net.record("BW", &w.cast.bw_exporter, export("BW-2", "EU", &[("BW/1", 100)], &[("7102.10", 100)], DAY));
    let eu = w.cast.eu_trader.clone();
    let c = w.net.confirm("BW-1", "EU/1", &eu, "2017-03-10");
    assert_eq!(w.net.lot("EU", "EU/1").created_by, c.hash);
    let body = w.net.confirmation("BW-2", 100, 2, "EU/1", &eu, "2017-03-10");
    assert_eq!(code(w.net.refused(&authority_key("EU"), body)), codes::R4_LOT_EXISTS);
}

#[test]
fn r4_inputs_exist_and_are_held_by_the_submitter() {
    let mut w = World::new();
    w.net.record("CF", &w.cast.cf_miner, w.cf_production("CF/1", "BER", 300, DAY));
    let t = transfer(&[("CF/none", 100)], &[("CF/2", 100, &w.cast.cf_office)], DAY);
    assert_eq!(w.net.record_refused("CF", &w.cast.cf_miner, t).code, codes::R4_UNKNOWN_LOT);
    // Lots live in their participant: BW cannot spend CF's lot of that id.
    let t = transfer(&[("CF/1", 100)], &[("CF/2", 100, &w.cast.bw_exporter)], DAY);
    assert_eq!(w.net.record_refused("BW", &w.cast.bw_miner, t).code, codes::R4_UNKNOWN_LOT);
    // The buying office does not hold the miner's lot.
    let t = transfer(&[("CF/1", 100)], &[("CF/2", 100, &w.cast.cf_office)], DAY);
    assert_eq!(w.net.record_refused("CF", &w.cast.cf_office, t).code, codes::R4_NOT_HOLDER);
    let x = export("CF-1", "EU", &[("CF/none", 100)], &[("7102.31", 100)], DAY);
    assert_eq!(w.net.record_refused("CF", &w.cast.cf_exporter, x).code, codes::R4_UNKNOWN_LOT);
    let x = export("CF-1", "EU", &[("CF/1", 100)], &[("7102.31", 100)], DAY);
    assert_eq!(w.net.record_refused("CF", &w.cast.cf_exporter, x).code, codes::R4_NOT_HOLDER);
    // Once transferred, the new holder may spend it and the old one may not.
    let t = transfer(&[("CF/1", 300)], &[("CF/2", 300, &w.cast.cf_office)], DAY);
    w.net.record("CF", &w.cast.cf_miner, t);
    let t = transfer(&[("CF/2", 300)], &[("CF/3", 300, &w.cast.cf_exporter)], DAY);
    let t2 = t.clone();
    assert_eq!(w.net.record_refused("CF", &w.cast.cf_miner, t).code, codes::R4_NOT_HOLDER);
    w.net.record("CF", &w.cast.cf_office, t2);
}

#[test]
fn r4_lots_chain_back_to_productions() {
    let mut w = World::new();
    scenario_steps_1_to_3(&mut w);
    for ((p, id), lot) in &w.net.ledger.lots {
        let t = trail::lot_trail(&w.net.ledger, p, id, "2017-12-31").expect("trail");
        assert!(t.productions >= 1, "lot {id} of {p} chains back to no production");
        let mut leaves = Vec::new();
        collect(&t.root, &mut |n| {
            if n.inputs.is_empty() && !n.repeated {
                leaves.push(n.kind)
            }
        });
        assert!(leaves.iter().all(|k| *k == NodeKind::Production), "{id}: {leaves:?}");
        let producing = w.net.ledger.entries.values().any(|e| e.hash() == lot.created_by);
        assert!(producing, "lot {id} names a creating entry that is not in the ledger");
    }
}

// =====================================================================
// R5 mass balance

#[test]
fn r5_takes_never_exceed_what_is_left() {
    let mut w = World::new();
    w.net.record("CF", &w.cast.cf_miner, w.cf_production("CF/1", "BER", 1000, DAY));
    let office = w.cast.cf_office.clone();
    let t = transfer(&[("CF/1", 1001)], &[("CF/2", 1001, &office)], DAY);
    assert_eq!(w.net.record_refused("CF", &w.cast.cf_miner, t).code, codes::R5_OVERSPEND);
    // Partial takes leave the rest where it was.
    w.net.record("CF", &w.cast.cf_miner, transfer(&[("CF/1", 600)], &[("CF/2", 600, &office)], DAY));
    assert_eq!((w.net.lot("CF", "CF/1").weight, w.net.lot("CF", "CF/1").remaining), (1000, 400));
    let t = transfer(&[("CF/1", 401)], &[("CF/3", 401, &office)], DAY);
    assert_eq!(w.net.record_refused("CF", &w.cast.cf_miner, t).code, codes::R5_OVERSPEND);
    w.net.record("CF", &w.cast.cf_miner, transfer(&[("CF/1", 400)], &[("CF/3", 400, &office)], DAY));
    // A lot is never spent twice.
    let t = transfer(&[("CF/1", 1)], &[("CF/4", 1, &office)], DAY);
    assert_eq!(w.net.record_refused("CF", &w.cast.cf_miner, t).code, codes::R5_ALREADY_SPENT);
}

#[test]
fn r5_a_transfer_outputs_exactly_what_it_took() {
    let mut w = World::new();
    w.net.record("CF", &w.cast.cf_miner, w.cf_production("CF/1", "BER", 1000, DAY));
    w.net.record("CF", &w.cast.cf_miner, w.cf_production("CF/2", "NOL", 500, DAY));
    let o = w.cast.cf_office.clone();
    for outputs in [vec![("CF/3", 1499, &o)], vec![("CF/3", 1000, &o), ("CF/4", 501, &o)]] {
        let t = transfer(&[("CF/1", 1000), ("CF/2", 500)], &outputs, DAY);
        assert_eq!(w.net.record_refused("CF", &w.cast.cf_miner, t).code, codes::R5_UNBALANCED);
    }
    // Split and mix in one hop.
    let t = transfer(&[("CF/1", 1000), ("CF/2", 500)], &[("CF/3", 700, &o), ("CF/4", 300, &o), ("CF/5", 500, &o)], DAY);
    w.net.record("CF", &w.cast.cf_miner, t);
    let created: Weight = ["CF/3", "CF/4", "CF/5"].iter().map(|l| w.net.lot("CF", l).weight).sum();
    assert_eq!(created, 1500);
    assert_eq!(w.net.lot("CF", "CF/5").origin, LotOrigin::Transfer { inputs: takes(&[("CF/1", 1000), ("CF/2", 500)]) });
}

#[test]
fn r5_an_export_declares_exactly_what_it_took() {
    let mut w = World::new();
    bw_export_lot(&mut w, "BW/1", 1000);
    let e = w.cast.bw_exporter.clone();
    for hs in [vec![("7102.10", 999)], vec![("7102.10", 600), ("7102.31", 401)]] {
        let x = export("BW-1", "EU", &[("BW/1", 1000)], &hs, DAY);
        assert_eq!(w.net.record_refused("BW", &e, x).code, codes::R5_UNBALANCED);
    }
    let x = export("BW-1", "EU", &[("BW/1", 900)], &[("7102.10", 600), ("7102.31", 300)], DAY);
    w.net.record("BW", &e, x);
    let cert = w.net.cert("BW-1");
    assert_eq!((cert.weight, cert.value_cents), (900, 900 * 150));
    assert_eq!(w.net.lot("BW", "BW/1").remaining, 100);
    let x = export("BW-2", "EU", &[("BW/1", 101)], &[("7102.10", 101)], DAY);
    assert_eq!(w.net.record_refused("BW", &e, x).code, codes::R5_OVERSPEND);
}

#[test]
fn r5_an_input_is_named_once() {
    let mut w = World::new();
    bw_export_lot(&mut w, "BW/1", 1000);
    let e = w.cast.bw_exporter.clone();
    let t = transfer(&[("BW/1", 300), ("BW/1", 300)], &[("BW/2", 600, &e)], DAY);
    assert_eq!(w.net.record_refused("BW", &e, t).code, codes::R5_DUPLICATE_INPUT);
    let x = export("BW-1", "EU", &[("BW/1", 600), ("BW/1", 600)], &[("7102.10", 1200)], DAY);
    assert_eq!(w.net.record_refused("BW", &e, x).code, codes::R5_DUPLICATE_INPUT);
    assert_eq!(w.net.lot("BW", "BW/1").remaining, 1000);
}

// =====================================================================
// R6 compliant zones

#[test]
fn r6_production_under_the_regime_names_its_zone() {
    let mut w = World::new();
    let r = w.net.record_refused("CF", &w.cast.cf_miner, production("CF/1", "Berberati", None, 100, DAY));
    assert_eq!(r.code, codes::R6_ZONE_REQUIRED);
    // A status entry of another zone does not make this one compliant.
    let ber = w.zones["BER"];
    let r =
        w.net.record_refused("CF", &w.cast.cf_miner, production("CF/1", "Nola", Some(("NOL", Some(ber))), 100, DAY));
    assert_eq!(r.code, codes::R6_ZONE_MISMATCH);
    let a =
        w.net.record("CF", &w.cast.cf_miner, production("CF/1", "Nola", Some(("NOL", Some(w.zones["NOL"]))), 100, DAY));
    assert!(a.flags.is_empty());
    let lot = w.net.lot("CF", "CF/1");
    assert!(lot.compliant);
    assert!(
        matches!(lot.origin, LotOrigin::Production { zone: Some(ref z), zone_status: Some(h), .. } if z == "NOL" && h == w.zones["NOL"])
    );
}

#[test]
fn r6_a_status_of_another_participants_zone_does_not_count() {
    // A network where BW is under the regime too, with MT-CF watching it.
    let mut roster = dev_roster();
    roster.participants.iter_mut().find(|p| p.code == "BW").unwrap().zone_regime = true;
    roster.monitors[0].scope.push("BW".into());
    let signed = kp_schemas::roster::sign(roster, &chair_key());
    let (roster, hash) = kp_schemas::roster::verify(&signed).unwrap();
    let mut net = Net::new();
    net.ledger = MemLedger::new(kp_schemas::state::NetworkState::from_roster(&roster, hash));
    let cf_jwa = net.declare_zone("CF", "JWA", "Same id in CF", ZoneState::Compliant, "2017-01-01");
    let bw_jwa = net.declare_zone("BW", "JWA", "Jwaneng", ZoneState::Compliant, "2017-01-01");
    let miner = net.register("BW", "BW miner", &[Role::Miner]);
    let r = net.record_refused("BW", &miner, production("BW/1", "Jwaneng", Some(("JWA", Some(cf_jwa))), 100, DAY));
    assert_eq!(r.code, codes::R6_ZONE_MISMATCH);
    let r = net.record_refused("BW", &miner, production("BW/1", "Jwaneng", None, 100, DAY));
    assert_eq!(r.code, codes::R6_ZONE_REQUIRED);
    net.record("BW", &miner, production("BW/1", "Jwaneng", Some(("JWA", Some(bw_jwa))), 100, DAY));
    assert!(net.lot("BW", "BW/1").compliant);
}

#[test]
fn r6_production_outside_a_compliant_zone_is_recorded_non_compliant() {
    let mut w = World::new();
    let m = w.cast.cf_miner.clone();
    // Never declared.
    let a = w.net.record("CF", &m, production("CF/BRI/1", "Bria", Some(("BRI", None)), 100, DAY));
    assert!(a.flags.iter().any(|f| f.starts_with("R6")), "{:?}", a.flags);
    assert!(!w.net.lot("CF", "CF/BRI/1").compliant);
    // Suspended on the production date.
    let sus = w.net.declare_zone("CF", "BOD", "Boda", ZoneState::Suspended, "2017-02-01");
    w.net.record("CF", &m, production("CF/BOD/1", "Boda", Some(("BOD", Some(sus))), 100, DAY));
    assert!(!w.net.lot("CF", "CF/BOD/1").compliant);
    let rev = w.net.declare_zone("CF", "GAZ", "Gazi", ZoneState::Revoked, "2017-02-01");
    w.net.record("CF", &m, production("CF/GAZ/1", "Gazi", Some(("GAZ", Some(rev))), 100, DAY));
    assert!(!w.net.lot("CF", "CF/GAZ/1").compliant);
    // Compliant, but only from a date after the production.
    let later = w.net.declare_zone("CF", "NEW", "New zone", ZoneState::Compliant, "2017-06-01");
    w.net.record("CF", &m, production("CF/NEW/1", "New", Some(("NEW", Some(later))), 100, DAY));
    assert!(!w.net.lot("CF", "CF/NEW/1").compliant);
    w.net.record("CF", &m, production("CF/NEW/2", "New", Some(("NEW", Some(later))), 100, "2017-06-01"));
    assert!(w.net.lot("CF", "CF/NEW/2").compliant);
}

#[test]
fn r6_participants_outside_the_regime_need_no_zone() {
    let mut w = World::new();
    let a = w.net.record("BW", &w.cast.bw_miner, production("BW/1", "Jwaneng", None, 100, DAY));
    assert!(a.flags.is_empty());
    assert!(w.net.lot("BW", "BW/1").compliant);
    // A zone named without any status does not matter there.
    w.net.record("BW", &w.cast.bw_miner, production("BW/2", "Orapa", Some(("ORA", None)), 100, DAY));
    assert!(w.net.lot("BW", "BW/2").compliant);
}

#[test]
fn r6_non_compliance_spreads_through_mixes_and_never_leaves() {
    let mut w = World::new();
    let (m, o, x) = (w.cast.cf_miner.clone(), w.cast.cf_office.clone(), w.cast.cf_exporter.clone());
    w.net.record("CF", &m, production("CF/BRI/1", "Bria", Some(("BRI", None)), 1000, DAY));
    w.net.record("CF", &m, w.cf_production("CF/CAR/1", "CAR", 5000, DAY));
    // One carat of Bria in five thousand of Carnot taints the whole mix.
    w.net.record("CF", &m, transfer(&[("CF/BRI/1", 100), ("CF/CAR/1", 5000)], &[("CF/MIX", 5100, &o)], DAY));
    assert!(!w.net.lot("CF", "CF/MIX").compliant);
    // It moves inside CF, split, and every part stays non-compliant.
    w.net.record("CF", &o, transfer(&[("CF/MIX", 5100)], &[("CF/A", 5000, &x), ("CF/B", 100, &o)], DAY));
    assert!(!w.net.lot("CF", "CF/A").compliant && !w.net.lot("CF", "CF/B").compliant);
    let r = w.net.record_refused("CF", &x, export("CF-1", "EU", &[("CF/A", 5000)], &[("7102.31", 5000)], DAY));
    assert_eq!(r.code, codes::R6_NON_COMPLIANT_LOT);
    // R6 comes first, whatever else is wrong with the export.
    let r = w.net.record_refused("CF", &x, export("CF-1", "EU", &[("CF/A", 6000)], &[("7104.21", 1)], DAY));
    assert_eq!(r.code, codes::R6_NON_COMPLIANT_LOT);
    // A compliant lot beside it leaves.
    cf_export_lot(&mut w, "CF/OK", 300);
    w.net.record("CF", &x, export("CF-1", "EU", &[("CF/OK", 300)], &[("7102.31", 300)], DAY));
    let r =
        w.net.record_refused("CF", &x, export("CF-2", "EU", &[("CF/A", 10), ("CF/OK", 1)], &[("7102.31", 11)], DAY));
    assert_eq!(r.code, codes::R6_NON_COMPLIANT_LOT);
}

// =====================================================================
// R7 certificates

#[test]
fn r7_certificate_numbers_carry_the_issuer_and_are_unique() {
    let mut w = World::new();
    bw_export_lot(&mut w, "BW/1", 1000);
    let e = w.cast.bw_exporter.clone();
    for number in ["CF-000001", "BW000001", "BW-", "BW-12a", "bw-1", "BWA-1"] {
        let x = export(number, "EU", &[("BW/1", 100)], &[("7102.10", 100)], DAY);
        assert_eq!(w.net.record_refused("BW", &e, x).code, codes::R7_BAD_CERTIFICATE_NUMBER, "{number}");
    }
    w.net.record("BW", &e, export("BW-000001", "EU", &[("BW/1", 100)], &[("7102.10", 100)], DAY));
    let x = export("BW-000001", "AE", &[("BW/1", 100)], &[("7102.10", 100)], DAY);
    assert_eq!(w.net.record_refused("BW", &e, x).code, codes::R7_DUPLICATE_CERTIFICATE);
    assert_eq!(w.net.lot("BW", "BW/1").remaining, 900);
    // Another participant's numbering is its own.
    cf_export_lot(&mut w, "CF/1", 100);
    w.net.record("CF", &w.cast.cf_exporter, export("CF-000001", "EU", &[("CF/1", 100)], &[("7102.31", 100)], DAY));
}

#[test]
fn r7_an_export_goes_to_another_participant_and_expires_after_issue() {
    let mut w = World::new();
    bw_export_lot(&mut w, "BW/1", 1000);
    let e = w.cast.bw_exporter.clone();
    for importer in ["BW", "ZZ"] {
        let x = export("BW-1", importer, &[("BW/1", 100)], &[("7102.10", 100)], DAY);
        assert_eq!(w.net.record_refused("BW", &e, x).code, codes::R7_UNKNOWN_IMPORTER);
    }
    let RecordBody::Export(mut x) = export("BW-1", "EU", &[("BW/1", 100)], &[("7102.10", 100)], DAY) else {
        unreachable!()
    };
    x.expires = "2017-02-28".into();
    assert_eq!(w.net.record_refused("BW", &e, RecordBody::Export(x.clone())).code, codes::R7_BAD_EXPIRY);
    x.expires = x.issued.clone();
    w.net.record("BW", &e, RecordBody::Export(x));
}

#[test]
fn r7_import_confirmation() {
    let mut w = World::new();
    bw_export_lot(&mut w, "BW/1", 1000);
    w.net.record("BW", &w.cast.bw_exporter, export("BW-1", "EU", &[("BW/1", 1000)], &[("7102.10", 1000)], DAY));
    let (eu, ae) = (w.cast.eu_trader.clone(), w.cast.ae_importer.clone());
    // Only the importer it is addressed to confirms it.
    let body = w.net.confirmation("BW-1", 1000, 2, "AE/1", &ae, "2017-03-10");
    assert_eq!(code(w.net.refused(&authority_key("AE"), body)), codes::R7_WRONG_IMPORTER);
    // It names the certificate's own entry.
    let Body::ImportConfirmation(mut c) = w.net.confirmation("BW-1", 1000, 2, "EU/1", &eu, "2017-03-10") else {
        unreachable!()
    };
    c.certificate_entry = Hash32([3; 32]);
    assert_eq!(
        code(w.net.refused(&authority_key("EU"), Body::ImportConfirmation(c.clone()))),
        codes::R7_CERTIFICATE_ENTRY_MISMATCH
    );
    // A certificate this ledger never saw, or of another exporter.
    let mut unknown = c.clone();
    unknown.certificate = "BW-2".into();
    assert_eq!(
        code(w.net.refused(&authority_key("EU"), Body::ImportConfirmation(unknown))),
        codes::R3_MISSING_DEPENDENCY
    );
    let mut other_exporter = c.clone();
    other_exporter.exporter = "CF".into();
    assert_eq!(
        code(w.net.refused(&authority_key("EU"), Body::ImportConfirmation(other_exporter))),
        codes::R3_MISSING_DEPENDENCY
    );
    // The new holder is an active EU licensee.
    let to_ae = w.net.confirmation("BW-1", 1000, 2, "EU/1", &ae, "2017-03-10");
    assert_eq!(code(w.net.refused(&authority_key("EU"), to_ae)), codes::R2_UNKNOWN_HOLDER);

    let a = w.net.confirm("BW-1", "EU/1", &eu, "2017-03-10");
    assert!(a.flags.is_empty());
    let lot = w.net.lot("EU", "EU/1");
    assert_eq!((lot.weight, lot.remaining, lot.holder, lot.nature), (1000, 1000, eu.public(), Nature::Natural));
    assert!(lot.compliant);
    assert_eq!(lot.origin, LotOrigin::Import { certificate: "BW-1".into() });
    let conf = w.net.cert("BW-1").confirmation.expect("confirmed");
    assert_eq!((conf.entry, conf.lot.as_str(), conf.mismatch), (a.hash, "EU/1", false));

    // Once.
    let again = w.net.confirmation("BW-1", 1000, 2, "EU/2", &eu, "2017-03-11");
    assert_eq!(code(w.net.refused(&authority_key("EU"), again)), codes::R7_ALREADY_CONFIRMED);

    // The import chains on: a re-export from the EU.
    let x = export("EU-1", "IN", &[("EU/1", 1000)], &[("7102.10", 1000)], "2017-04-01");
    w.net.record("EU", &eu, x);
    let in_imp = w.cast.in_importer.clone();
    w.net.confirm("EU-1", "IN/1", &in_imp, "2017-04-10");
    assert_eq!(w.net.lot("IN", "IN/1").weight, 1000);
}

#[test]
fn r7_a_mismatch_is_accepted_and_flagged() {
    let mut w = World::new();
    bw_export_lot(&mut w, "BW/1", 1000);
    w.net.record("BW", &w.cast.bw_exporter, export("BW-1", "EU", &[("BW/1", 500)], &[("7102.10", 500)], DAY));
    w.net.record("BW", &w.cast.bw_exporter, export("BW-2", "EU", &[("BW/1", 500)], &[("7102.10", 500)], DAY));
    let eu = w.cast.eu_trader.clone();
    // Less weight than certified.
    let body = w.net.confirmation("BW-1", 480, 2, "EU/1", &eu, "2017-03-10");
    let a = w.net.write(&authority_key("EU"), body);
    assert!(a.flags.iter().any(|f| f.starts_with("R7")), "{:?}", a.flags);
    let conf = w.net.cert("BW-1").confirmation.unwrap();
    assert!(conf.mismatch);
    assert_eq!(conf.weight, 480);
    // The new lot weighs what was received.
    assert_eq!(w.net.lot("EU", "EU/1").weight, 480);
    // Same weight, another parcel count.
    let body = w.net.confirmation("BW-2", 500, 3, "EU/2", &eu, "2017-03-10");
    let a = w.net.write(&authority_key("EU"), body);
    assert!(a.flags.iter().any(|f| f.starts_with("R7")));
    assert!(w.net.cert("BW-2").confirmation.unwrap().mismatch);
}

// =====================================================================
// R8 natural and synthetic

#[test]
fn r8_natural_and_synthetic_never_mix() {
    let mut w = World::new();
    bw_export_lot(&mut w, "BW/N", 1000);
    bw_synthetic_lot(&mut w, "BW/S", 1000);
    let e = w.cast.bw_exporter.clone();
    let t = transfer(&[("BW/N", 100), ("BW/S", 100)], &[("BW/MIX", 200, &e)], DAY);
    assert_eq!(w.net.record_refused("BW", &e, t).code, codes::R8_MIXED_NATURE);
    let x = export("BW-1", "EU", &[("BW/S", 100), ("BW/N", 100)], &[("7102.10", 200)], DAY);
    assert_eq!(w.net.record_refused("BW", &e, x).code, codes::R8_MIXED_NATURE);
    // Synthetic with synthetic is fine, and stays synthetic.
    w.net.record("BW", &e, transfer(&[("BW/S", 1000)], &[("BW/S1", 400, &e), ("BW/S2", 600, &e)], DAY));
    w.net.record("BW", &e, transfer(&[("BW/S1", 400), ("BW/S2", 600)], &[("BW/S3", 1000, &e)], DAY));
    assert_eq!(w.net.lot("BW", "BW/S3").nature, Nature::Synthetic);
}

#[test]
fn r8_each_nature_leaves_under_its_own_codes() {
    let mut w = World::new();
    bw_export_lot(&mut w, "BW/N", 1000);
    bw_synthetic_lot(&mut w, "BW/S", 1000);
    let e = w.cast.bw_exporter.clone();
    for code in ["7104.21", "7104.91"] {
        let x = export("BW-1", "EU", &[("BW/N", 100)], &[(code, 100)], DAY);
        assert_eq!(w.net.record_refused("BW", &e, x).code, codes::R8_NATURE_MISMATCH, "natural under {code}");
    }
    for code in ["7102.10", "7102.21", "7102.31"] {
        let x = export("BW-1", "EU", &[("BW/S", 100)], &[(code, 100)], DAY);
        assert_eq!(w.net.record_refused("BW", &e, x).code, codes::R8_NATURE_MISMATCH, "synthetic under {code}");
    }
    // One line off is enough.
    let x = export("BW-1", "EU", &[("BW/N", 200)], &[("7102.10", 100), ("7104.21", 100)], DAY);
    assert_eq!(w.net.record_refused("BW", &e, x).code, codes::R8_NATURE_MISMATCH);
    for code in ["7103.10", "7102", "71.02.10"] {
        let x = export("BW-1", "EU", &[("BW/N", 100)], &[(code, 100)], DAY);
        assert_eq!(w.net.record_refused("BW", &e, x).code, codes::R8_UNKNOWN_HS_CODE, "{code}");
    }
    w.net.record(
        "BW",
        &e,
        export("BW-1", "EU", &[("BW/N", 100)], &[("7102.10", 50), ("7102.21", 25), ("7102.31", 25)], DAY),
    );
    w.net.record("BW", &e, export("BW-2", "EU", &[("BW/S", 100)], &[("7104.21", 60), ("7104.91", 40)], DAY));
    assert_eq!(w.net.cert("BW-2").nature, Nature::Synthetic);
    // Imported synthetic stays synthetic.
    let eu = w.cast.eu_trader.clone();
    w.net.confirm("BW-2", "EU/S", &eu, "2017-03-10");
    assert_eq!(w.net.lot("EU", "EU/S").nature, Nature::Synthetic);
    let x = export("EU-1", "IN", &[("EU/S", 100)], &[("7102.31", 100)], "2017-04-01");
    assert_eq!(w.net.record_refused("EU", &eu, x).code, codes::R8_NATURE_MISMATCH);
}

// =====================================================================
// R9 limits

fn long_id(n: usize) -> String {
    "L".repeat(n)
}

#[test]
fn r9_record_bounds() {
    let mut w = World::new();
    bw_export_lot(&mut w, "BW/1", 1000);
    let (m, e) = (w.cast.bw_miner.clone(), w.cast.bw_exporter.clone());
    let cases: Vec<(&str, RecordBody)> = vec![
        (codes::R9_TOO_LONG, production(&long_id(MAX_ID + 1), "J", None, 100, DAY)),
        (codes::R9_EMPTY, production("", "J", None, 100, DAY)),
        (codes::R9_BAD_ID, production("BW 1", "J", None, 100, DAY)),
        (codes::R9_BAD_ID, production("BW/1é", "J", None, 100, DAY)),
        (codes::R9_TOO_LONG, production("BW/2", &"s".repeat(MAX_NAME + 1), None, 100, DAY)),
        (codes::R9_BAD_TEXT, production("BW/2", "J\u{7}", None, 100, DAY)),
        (codes::R9_ZERO_WEIGHT, production("BW/2", "J", None, 0, DAY)),
        (codes::R9_TOO_HEAVY, production("BW/2", "J", None, MAX_WEIGHT + 1, DAY)),
        (codes::R9_BAD_DATE, production("BW/2", "J", None, 100, "2017-02-29")),
        (codes::R9_BAD_DATE, production("BW/2", "J", None, 100, "01/03/2017")),
        (codes::R9_BAD_ID, production("BW/2", "J", Some(("a zone", None)), 100, DAY)),
    ];
    for (want, body) in cases {
        assert_eq!(w.net.record_refused("BW", &m, body).code, want);
    }
    let mut stones = production("BW/2", "J", None, 100, DAY);
    if let RecordBody::Production(p) = &mut stones {
        p.stones = limits::MAX_STONES + 1;
    }
    assert_eq!(w.net.record_refused("BW", &m, stones).code, codes::R9_TOO_MANY);

    let many_inputs: Vec<(String, Weight)> = (0..=MAX_INPUTS).map(|i| (format!("BW/{i}"), 1)).collect();
    let many: Vec<(&str, Weight)> = many_inputs.iter().map(|(l, w)| (l.as_str(), *w)).collect();
    let cases: Vec<(&str, RecordBody)> = vec![
        (codes::R9_EMPTY, transfer(&[], &[("BW/2", 1, &e)], DAY)),
        (codes::R9_EMPTY, transfer(&[("BW/1", 1)], &[], DAY)),
        (codes::R9_TOO_MANY, transfer(&many, &[("BW/2", 1, &e)], DAY)),
        (codes::R9_ZERO_WEIGHT, transfer(&[("BW/1", 0)], &[("BW/2", 0, &e)], DAY)),
        (codes::R9_TOO_HEAVY, transfer(&[("BW/1", MAX_WEIGHT + 1)], &[("BW/2", 1, &e)], DAY)),
        (codes::R9_BAD_DATE, transfer(&[("BW/1", 1)], &[("BW/2", 1, &e)], "2017-13-01")),
        (codes::R9_EMPTY, export("BW-1", "EU", &[("BW/1", 1)], &[], DAY)),
        (codes::R9_EMPTY, export("BW-1", "EU", &[], &[("7102.10", 1)], DAY)),
        (codes::R9_BAD_PARTICIPANT, export("BW-1", "eu", &[("BW/1", 1)], &[("7102.10", 1)], DAY)),
        (codes::R9_BAD_PARTICIPANT, export("BW-1", "EUR", &[("BW/1", 1)], &[("7102.10", 1)], DAY)),
    ];
    for (want, body) in cases {
        assert_eq!(w.net.record_refused("BW", &e, body).code, want);
    }
    let outputs: Vec<String> = (0..=MAX_OUTPUTS).map(|i| format!("BW/o{i}")).collect();
    let outs: Vec<(&str, Weight, &Keypair)> = outputs.iter().map(|l| (l.as_str(), 1, &e)).collect();
    let t = transfer(&[("BW/1", outs.len() as Weight)], &outs, DAY);
    assert_eq!(w.net.record_refused("BW", &e, t).code, codes::R9_TOO_MANY);
    let hs: Vec<(&str, Weight)> = (0..=MAX_HS_LINES).map(|_| ("7102.10", 1)).collect();
    let x = export("BW-1", "EU", &[("BW/1", hs.len() as Weight)], &hs, DAY);
    assert_eq!(w.net.record_refused("BW", &e, x).code, codes::R9_TOO_MANY);
    let mut x = export("BW-1", "EU", &[("BW/1", 1)], &[("7102.10", 1)], DAY);
    if let RecordBody::Export(x) = &mut x {
        x.parcels = 0;
    }
    assert_eq!(w.net.record_refused("BW", &e, x).code, codes::R9_BAD_PARCELS);
    let mut x = export("BW-1", "EU", &[("BW/1", 1)], &[("7102.10", 1)], DAY);
    if let RecordBody::Export(x) = &mut x {
        x.lines[0].value_cents = limits::MAX_VALUE_CENTS + 1;
    }
    assert_eq!(w.net.record_refused("BW", &e, x).code, codes::R9_TOO_LARGE);
    assert_eq!(w.net.lot("BW", "BW/1").remaining, 1000);
}

#[test]
fn r9_values_at_the_bounds_are_accepted() {
    let mut w = World::new();
    let (m, e) = (w.cast.bw_miner.clone(), w.cast.bw_exporter.clone());
    let id = long_id(MAX_ID);
    w.net.record("BW", &m, production(&id, &"s".repeat(MAX_NAME), None, MAX_WEIGHT, DAY));
    let outputs: Vec<String> = (0..MAX_OUTPUTS).map(|i| format!("BW/o{i}")).collect();
    let outs: Vec<(&str, Weight, &Keypair)> = outputs.iter().map(|l| (l.as_str(), 1, &e)).collect();
    w.net.record("BW", &m, transfer(&[(&id, MAX_OUTPUTS as Weight)], &outs, DAY));
    let ins: Vec<(&str, Weight)> = outputs.iter().take(MAX_INPUTS).map(|l| (l.as_str(), 1)).collect();
    let hs: Vec<(&str, Weight)> = vec![("7102.10", 8); MAX_HS_LINES];
    w.net.record("BW", &e, export("BW-1", "EU", &ins, &hs, DAY));
    assert_eq!(w.net.cert("BW-1").weight, MAX_INPUTS as Weight);
}

#[test]
fn r9_entry_bounds() {
    let mut net = Net::new();
    let cf = authority_key("CF");
    let reg = |name: String, roles: Vec<Role>| {
        Body::RegisterLicensee(LicenseeRegistration { licensee: licensee_key("x").public(), name, roles })
    };
    assert_eq!(code(net.refused(&cf, reg("x".repeat(MAX_NAME + 1), vec![Role::Miner]))), codes::R9_TOO_LONG);
    assert_eq!(code(net.refused(&cf, reg("x\n".into(), vec![Role::Miner]))), codes::R9_BAD_TEXT);
    assert_eq!(code(net.refused(&cf, reg("x".into(), vec![]))), codes::R9_EMPTY);
    assert_eq!(
        code(net.refused(&cf, reg("x".into(), [Role::ALL.as_slice(), &[Role::Miner]].concat()))),
        codes::R9_TOO_MANY
    );
    let long_reason = Body::RevokeLicensee(LicenseeRevocation {
        licensee: licensee_key("x").public(),
        reason: "r".repeat(limits::MAX_NOTE + 1),
    });
    assert_eq!(code(net.refused(&cf, long_reason)), codes::R9_TOO_LONG);
    let m = monitor_key();
    assert_eq!(
        code(net.refused(&m, zone_body("cf", "BER", "B", ZoneState::Compliant, "2017-01-01"))),
        codes::R9_BAD_PARTICIPANT
    );
    assert_eq!(
        code(net.refused(&m, zone_body("CF", "BER", "B", ZoneState::Compliant, "2017-1-1"))),
        codes::R9_BAD_DATE
    );
    assert_eq!(code(net.refused(&m, zone_body("CF", "", "B", ZoneState::Compliant, "2017-01-01"))), codes::R9_EMPTY);
    let about = |participant: &str, lot: &str, note: String| {
        Body::Attestation(Attestation {
            subject: Subject::Lot { participant: participant.into(), lot: lot.into() },
            kind: AttestationKind::Note,
            note,
        })
    };
    assert_eq!(code(net.refused(&m, about("CF", "CF/1", "n".repeat(limits::MAX_NOTE + 1)))), codes::R9_TOO_LONG);
    assert_eq!(code(net.refused(&m, about("C", "CF/1", "n".into()))), codes::R9_BAD_PARTICIPANT);
    assert_eq!(code(net.refused(&m, about("CF", &long_id(MAX_ID + 1), "n".into()))), codes::R9_TOO_LONG);
    let confirm = |exporter: &str, weight: Weight, parcels: u32, date: &str| {
        Body::ImportConfirmation(ImportConfirmation {
            exporter: exporter.into(),
            certificate: "BW-1".into(),
            certificate_entry: Hash32::ZERO,
            weight,
            parcels,
            lot: "EU/1".into(),
            holder: licensee_key("x").public(),
            date: date.into(),
        })
    };
    let eu = authority_key("EU");
    assert_eq!(code(net.refused(&eu, confirm("bw", 1, 1, DAY))), codes::R9_BAD_PARTICIPANT);
    assert_eq!(code(net.refused(&eu, confirm("BW", 0, 1, DAY))), codes::R9_ZERO_WEIGHT);
    assert_eq!(code(net.refused(&eu, confirm("BW", 1, limits::MAX_PARCELS + 1, DAY))), codes::R9_TOO_MANY);
    assert_eq!(code(net.refused(&eu, confirm("BW", 1, 1, "2017-04-31"))), codes::R9_BAD_DATE);
    let suspend = Body::Governance(Governance::SuspendParticipant { code: "BWA".into(), reason: "r".into(), from: 0 });
    assert_eq!(code(net.refused(&chair_key(), suspend)), codes::R9_BAD_PARTICIPANT);
    let mut network_id = entry_of(&cf, 1, reg("x".into(), vec![Role::Miner]));
    network_id.network = "kp dev".into();
    assert_eq!(code(net.ingest_bytes(SignedEntry::sign(network_id, &cf).into_bytes()).unwrap_err()), codes::R9_BAD_ID);
}

#[test]
fn r9_wire_size_and_form() {
    let mut net = Net::new();
    let cf = authority_key("CF");
    // Over the size limit, refused on its length alone.
    let huge = net.build(&cf, register_body(&licensee_key("x"), &"x".repeat(limits::MAX_ENTRY_BYTES), &[Role::Miner]));
    assert_eq!(code(net.ingest(&huge).unwrap_err()), codes::R9_TOO_LARGE);
    assert_eq!(code(net.ingest_bytes(vec![0; limits::MAX_ENTRY_BYTES + 1]).unwrap_err()), codes::R9_TOO_LARGE);
    assert_eq!(code(net.ingest_bytes(vec![0; SignatureBytes::LEN - 1]).unwrap_err()), codes::R9_MALFORMED);
    assert_eq!(code(net.ingest_bytes(vec![0xff; 200]).unwrap_err()), codes::R9_MALFORMED);
    // A byte slipped in between the entry and its signature.
    let e = net.build(&cf, register_body(&licensee_key("x"), "x", &[Role::Miner]));
    let mut padded = e.signed_part().to_vec();
    padded.push(0);
    padded.extend_from_slice(&e.signature().0);
    assert_eq!(code(net.ingest_bytes(padded).unwrap_err()), codes::R9_TRAILING_BYTES);
    let mut cut = e.bytes().to_vec();
    cut.remove(cut.len() - SignatureBytes::LEN - 1);
    assert!(net.ingest_bytes(cut).unwrap_err().code.starts_with("R9."));
    // A countersigned record over its own limit.
    let big = Body::Countersigned(Countersigned {
        record: HexBytes(vec![0; MAX_RECORD_BYTES + 1]),
        signature: SignatureBytes([0; 64]),
    });
    assert_eq!(code(net.refused(&cf, big)), codes::R9_TOO_LARGE);
    // Non-canonical: a bool byte other than 0 or 1 (zone_regime of an admitted participant).
    let mut p = participant("IN");
    p.code = "NA".into();
    p.authority = Keypair::from_seed([60; 32]).public();
    let admit = net.build(&chair_key(), Body::Governance(Governance::AdmitParticipant(p)));
    let mut bytes = admit.bytes().to_vec();
    let flag = admit.signed_part().len() - 8 - 1; // the bool sits before the empty node list
    assert_eq!(bytes[flag], 0);
    bytes[flag] = 2;
    assert!(net.ingest_bytes(bytes).unwrap_err().code.starts_with("R9."));
    assert!(matches!(net.ingest(&admit), Ok(Verdict::Accepted(_))));
}

#[test]
fn r9_log_positions_in_governance_start_at_1() {
    let mut net = Net::new();
    // Built as given: a writing node fills a position of 0 in with the next
    // one of the participant's log (see `context::complete_body`).
    let bodies = [
        Governance::SuspendParticipant { code: "BW".into(), reason: "r".into(), from: 0 },
        Governance::ReinstateParticipant { code: "BW".into(), from: 0 },
    ];
    for g in bodies {
        let e = net.build_with_context(&chair_key(), 1, Hash32::ZERO, vec![], Body::Governance(g));
        assert_eq!(code(net.ingest(&e).unwrap_err()), codes::R9_BAD_POSITION);
    }
}

#[test]
fn r9_a_roster_lists_each_member_once() {
    let verify = |r: Roster| roster::verify(&roster::sign(r, &chair_key())).map(|_| ());
    assert_eq!(verify(dev_roster()), Ok(()));
    let mut twice = dev_roster();
    twice.participants.push(participant("BW"));
    assert_eq!(verify(twice).unwrap_err().code, codes::R9_DUPLICATE_MEMBER);
    let mut same_code = dev_roster();
    same_code.participants[1].authority = stranger_key().public();
    same_code.participants[1].code = "CF".into();
    assert_eq!(verify(same_code).unwrap_err().code, codes::R9_DUPLICATE_MEMBER);
    let mut shared_key = dev_roster();
    shared_key.monitors[0].key = authority_key("CF").public();
    assert_eq!(verify(shared_key).unwrap_err().code, codes::R9_DUPLICATE_MEMBER);
}

/// Reads one byte; writes it back as two unless it is 1: a value whose
/// encoding is not the bytes it was decoded from.
#[derive(Debug, PartialEq)]
struct Lenient(u8);

impl serde::Serialize for Lenient {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0 == 1 { s.serialize_u8(1) } else { s.serialize_u16(u16::from(self.0)) }
    }
}

impl<'de> serde::Deserialize<'de> for Lenient {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        <u8 as serde::Deserialize>::deserialize(d).map(Lenient)
    }
}

#[test]
fn r9_bytes_that_are_not_the_encoding_of_their_value_are_refused() {
    // No type of the data model decodes from bytes other than its encoding:
    // bincode refuses a bool of 2 or an option tag of 7 as malformed first.
    // The decoder's last check, that the value re-encodes to exactly the
    // bytes received, is shown on a type whose encoding is not the inverse
    // of its decoding.
    assert_eq!(encoding::decode::<Lenient>(&[1]), Ok(Lenient(1)));
    let e = encoding::decode::<Lenient>(&[2]).unwrap_err();
    assert_eq!(e.code(), codes::R9_NON_CANONICAL);
}

#[test]
fn r9_bounds_come_before_any_other_rule() {
    let mut w = World::new();
    // Over a bound and from a stranger, badly signed: the bound is reported.
    let stranger = stranger_key();
    let mut entry =
        entry_of(&stranger, 1, register_body(&licensee_key("x"), &"x".repeat(MAX_NAME + 1), &[Role::Miner]));
    assert_eq!(code(w.net.ingest_bytes(signed_by(&entry, &stranger)).unwrap_err()), codes::R9_TOO_LONG);
    entry.author = authority_key("CF").public();
    assert_eq!(code(w.net.ingest_bytes(signed_by(&entry, &stranger)).unwrap_err()), codes::R9_TOO_LONG);
    entry.seq = 7;
    assert_eq!(code(w.net.ingest_bytes(signed_by(&entry, &authority_key("CF"))).unwrap_err()), codes::R9_TOO_LONG);

    // The same for a licensee record inside an entry: its bounds come before
    // the author's and the licensee's signatures.
    let rec = w.net.sign(&w.cast.cf_miner, production(&long_id(MAX_ID + 1), "s", None, 1, DAY));
    let mut bad_licensee_sig = rec.to_countersigned();
    bad_licensee_sig.signature.0[0] ^= 1;
    let body = Body::Countersigned(bad_licensee_sig);
    assert_eq!(code(w.net.refused(&authority_key("CF"), body.clone())), codes::R9_TOO_LONG);
    let e = w.net.build(&authority_key("CF"), body);
    let mut bad_author_sig = e.bytes().to_vec();
    *bad_author_sig.last_mut().unwrap() ^= 1;
    assert_eq!(code(w.net.ingest_bytes(bad_author_sig).unwrap_err()), codes::R9_TOO_LONG);
}

// =====================================================================
// Refusals change nothing

#[test]
fn refused_entries_leave_the_ledger_as_it_was() {
    let mut w = World::new();
    scenario_steps_1_to_3(&mut w);
    let eu = w.cast.eu_trader.clone();
    let o = &eu;
    // Each fails late, after the rules had already worked out some changes.
    let late_failures: Vec<(&str, RecordBody)> = vec![
        // Inputs spent, first output fine, second output's holder unknown.
        (
            codes::R2_UNKNOWN_HOLDER,
            transfer(
                &[("EU/IMP/CF-000001", 1500)],
                &[("EU/X1", 500, o), ("EU/X2", 1000, &licensee_key("nobody"))],
                "2017-05-01",
            ),
        ),
        // Inputs spent, outputs built, then the balance fails.
        (
            codes::R5_UNBALANCED,
            transfer(&[("EU/IMP/CF-000001", 1500)], &[("EU/X1", 500, o), ("EU/X2", 999, o)], "2017-05-01"),
        ),
        // First input taken, second already spent.
        (
            codes::R5_ALREADY_SPENT,
            transfer(&[("EU/IMP/CF-000001", 1000), ("EU/LOT/A", 1)], &[("EU/X1", 1001, o)], "2017-05-01"),
        ),
        // Export: inputs spent, lines fail.
        (
            codes::R5_UNBALANCED,
            export("EU-000009", "IN", &[("EU/IMP/CF-000001", 1500)], &[("7102.31", 1499)], "2017-05-01"),
        ),
    ];
    for (want, body) in late_failures {
        let before = w.net.ledger.clone();
        let r = w.net.record_refused("EU", &eu, body);
        assert_eq!(r.code, want);
        assert_eq!(before.lots, w.net.ledger.lots);
        assert_eq!(before.certs, w.net.ledger.certs);
        assert_eq!(before.heads, w.net.ledger.heads);
        assert_eq!(before.records, w.net.ledger.records);
    }
    // The lot is as it was: the same move, well formed, goes through.
    let t = transfer(&[("EU/IMP/CF-000001", 1500)], &[("EU/X1", 500, o), ("EU/X2", 1000, o)], "2017-05-01");
    w.net.record("EU", &eu, t);
}

// =====================================================================
// The reference scenario (KP-DOMAIN section 6)

/// Steps 1 to 3: CF and BW production reach the EU, are mixed there and
/// re-exported to AE and IN. Weights, in hundredths of a carat:
///
/// - CF: Berberati 3000 and Nola 1000, mixed to 4000, exported as CF-000001;
/// - BW: Jwaneng 6000, exported as BW-000001;
/// - EU: mixes 2500 of the CF import (1500 stays) with 5000 of the BW import
///   (1000 stays) into 7500, split 4500 / 3000; EU-000001 takes the 4500 to
///   AE, EU-000002 takes the 3000 and the BW import's last 1000 to IN.
fn scenario_steps_1_to_3(w: &mut World) {
    let c = &w.cast;
    let (cf_miner, cf_office, cf_exporter) = (c.cf_miner.clone(), c.cf_office.clone(), c.cf_exporter.clone());
    let (bw_miner, bw_exporter, eu, ae, ind) =
        (c.bw_miner.clone(), c.bw_exporter.clone(), c.eu_trader.clone(), c.ae_importer.clone(), c.in_importer.clone());

    // Step 2, CF.
    let ber = w.cf_production("CF/BER/2017/00001", "BER", 3000, "2017-03-01");
    let nol = w.cf_production("CF/NOL/2017/00001", "NOL", 1000, "2017-03-01");
    w.net.record("CF", &cf_miner, ber);
    w.net.record("CF", &cf_miner, nol);
    let buy = |from: &str, to: &str, weight| transfer(&[(from, weight)], &[(to, weight, &cf_office)], "2017-03-05");
    w.net.record("CF", &cf_miner, buy("CF/BER/2017/00001", "CF/BO/2017/0001", 3000));
    w.net.record("CF", &cf_miner, buy("CF/NOL/2017/00001", "CF/BO/2017/0002", 1000));
    let mix = transfer(
        &[("CF/BO/2017/0001", 3000), ("CF/BO/2017/0002", 1000)],
        &[("CF/BO/2017/MIX1", 4000, &cf_exporter)],
        "2017-03-10",
    );
    w.net.record("CF", &cf_office, mix);
    let x = export("CF-000001", "EU", &[("CF/BO/2017/MIX1", 4000)], &[("7102.31", 4000)], "2017-03-15");
    w.net.record("CF", &cf_exporter, x);

    // Step 2, BW.
    w.net.record("BW", &bw_miner, production("BW/JWA/2017/0001", "Jwaneng", None, 6000, "2017-03-02"));
    let t = transfer(&[("BW/JWA/2017/0001", 6000)], &[("BW/EXP/2017/0001", 6000, &bw_exporter)], "2017-03-06");
    w.net.record("BW", &bw_miner, t);
    let x =
        export("BW-000001", "EU", &[("BW/EXP/2017/0001", 6000)], &[("7102.10", 2000), ("7102.31", 4000)], "2017-03-16");
    w.net.record("BW", &bw_exporter, x);

    // Step 3.
    w.net.confirm("CF-000001", "EU/IMP/CF-000001", &eu, "2017-04-01");
    w.net.confirm("BW-000001", "EU/IMP/BW-000001", &eu, "2017-04-02");
    let mix = transfer(
        &[("EU/IMP/CF-000001", 2500), ("EU/IMP/BW-000001", 5000)],
        &[("EU/MIX/2017/1", 7500, &eu)],
        "2017-04-10",
    );
    w.net.record("EU", &eu, mix);
    let split = transfer(&[("EU/MIX/2017/1", 7500)], &[("EU/LOT/A", 4500, &eu), ("EU/LOT/B", 3000, &eu)], "2017-04-11");
    w.net.record("EU", &eu, split);
    w.net.record("EU", &eu, export("EU-000001", "AE", &[("EU/LOT/A", 4500)], &[("7102.31", 4500)], "2017-04-20"));
    let x = export(
        "EU-000002",
        "IN",
        &[("EU/LOT/B", 3000), ("EU/IMP/BW-000001", 1000)],
        &[("7102.31", 4000)],
        "2017-04-20",
    );
    w.net.record("EU", &eu, x);
    w.net.confirm("EU-000001", "AE/IMP/EU-000001", &ae, "2017-05-02");
    w.net.confirm("EU-000002", "IN/IMP/EU-000002", &ind, "2017-05-03");
}

fn collect<'a>(n: &'a TrailNode, f: &mut impl FnMut(&'a TrailNode)) {
    f(n);
    for c in &n.inputs {
        collect(c, f);
    }
}

#[test]
fn reference_scenario() {
    let mut w = World::new();

    // Step 1: five compliant zones for CF, none for Bria.
    let zones: Vec<_> = w.net.ledger.zones.values().map(|z| (z.status.zone.as_str(), z.status.status)).collect();
    assert_eq!(zones.len(), 5);
    assert!(zones.iter().all(|(_, s)| *s == ZoneState::Compliant));
    assert!(!zones.iter().any(|(z, _)| *z == "BRI"));

    // Steps 2 and 3.
    scenario_steps_1_to_3(&mut w);
    let remaining = |w: &World, p: &str, l: &str| w.net.lot(p, l).remaining;
    assert_eq!(remaining(&w, "CF", "CF/BO/2017/MIX1"), 0);
    assert_eq!(remaining(&w, "EU", "EU/IMP/CF-000001"), 1500);
    assert_eq!(remaining(&w, "EU", "EU/IMP/BW-000001"), 0);
    for (number, importer, weight) in
        [("CF-000001", "EU", 4000), ("BW-000001", "EU", 6000), ("EU-000001", "AE", 4500), ("EU-000002", "IN", 4000)]
    {
        let cert = w.net.cert(number);
        assert_eq!((cert.importer.as_str(), cert.weight), (importer, weight), "{number}");
        let conf = cert.confirmation.unwrap_or_else(|| panic!("{number} is confirmed"));
        assert!(!conf.mismatch);
    }
    assert_eq!(w.net.lot("IN", "IN/IMP/EU-000002").weight, 4000);
    assert_eq!(w.net.lot("AE", "AE/IMP/EU-000001").weight, 4500);

    // Step 4.
    let c = &w.cast;
    let (cf_miner, cf_office, cf_exporter, eu) =
        (c.cf_miner.clone(), c.cf_office.clone(), c.cf_exporter.clone(), c.eu_trader.clone());
    let bria =
        w.net.record("CF", &cf_miner, production("CF/BRI/2017/00001", "Bria", Some(("BRI", None)), 2000, "2017-05-01"));
    assert!(bria.flags.iter().any(|f| f.starts_with("R6")));
    assert!(!w.net.lot("CF", "CF/BRI/2017/00001").compliant);
    let carnot = w.cf_production("CF/CAR/2017/00001", "CAR", 5000, "2017-05-01");
    w.net.record("CF", &cf_miner, carnot);
    assert!(w.net.lot("CF", "CF/CAR/2017/00001").compliant);
    let t = transfer(&[("CF/BRI/2017/00001", 2000)], &[("CF/BO/2017/0003", 2000, &cf_office)], "2017-05-05");
    w.net.record("CF", &cf_miner, t);
    let t = transfer(
        &[("CF/CAR/2017/00001", 5000)],
        &[("CF/BO/2017/0004", 4000, &cf_office), ("CF/EXP/2017/0001", 1000, &cf_exporter)],
        "2017-05-05",
    );
    w.net.record("CF", &cf_miner, t);
    // The mix is allowed, and non-compliant.
    let mix = transfer(
        &[("CF/BO/2017/0003", 500), ("CF/BO/2017/0004", 4000)],
        &[("CF/BO/2017/MIX2", 4500, &cf_exporter)],
        "2017-05-10",
    );
    w.net.record("CF", &cf_office, mix);
    let mix2 = w.net.lot("CF", "CF/BO/2017/MIX2");
    assert!(!mix2.compliant);
    assert_eq!(mix2.holder, cf_exporter.public());
    assert_eq!(remaining(&w, "CF", "CF/BO/2017/0003"), 1500);

    let before = w.net.ledger.clone();
    // Refused: exporting the mix.
    let x = export("CF-000002", "EU", &[("CF/BO/2017/MIX2", 4500)], &[("7102.31", 4500)], "2017-05-15");
    assert_eq!(w.net.record_refused("CF", &cf_exporter, x).code, codes::R6_NON_COMPLIANT_LOT);
    // Refused: spending a lot twice (the first mix already left as CF-000001).
    let x = export("CF-000002", "EU", &[("CF/BO/2017/MIX1", 4000)], &[("7102.31", 4000)], "2017-05-15");
    assert_eq!(w.net.record_refused("CF", &cf_exporter, x).code, codes::R5_ALREADY_SPENT);
    // Refused: HS lines that outweigh the inputs.
    let x = export("CF-000002", "EU", &[("CF/EXP/2017/0001", 1000)], &[("7102.31", 1200)], "2017-05-15");
    assert_eq!(w.net.record_refused("CF", &cf_exporter, x).code, codes::R5_UNBALANCED);
    // Refused: a second import confirmation of one certificate.
    let again = w.net.confirmation("CF-000001", 4000, 2, "EU/IMP/CF-000001/2", &eu, "2017-05-16");
    assert_eq!(code(w.net.refused(&authority_key("EU"), again)), codes::R7_ALREADY_CONFIRMED);
    // Refused: natural rough under a synthetic code.
    let x = export("CF-000002", "EU", &[("CF/EXP/2017/0001", 1000)], &[("7104.21", 1000)], "2017-05-15");
    assert_eq!(w.net.record_refused("CF", &cf_exporter, x).code, codes::R8_NATURE_MISMATCH);
    assert_unchanged(&before, &w.net.ledger, "step 4 refusals");
    // The Carnot part the exporter holds is compliant, and leaves under the
    // number no refused export took.
    let x = export("CF-000002", "EU", &[("CF/EXP/2017/0001", 1000)], &[("7102.31", 1000)], "2017-05-15");
    w.net.record("CF", &cf_exporter, x);

    // Step 5: the Indian lot's trail, as a monitor sees it.
    let t = trail::lot_trail(&w.net.ledger, "IN", "IN/IMP/EU-000002", "2018-06-01").expect("trail");
    assert_eq!(t.subject, Subject::Lot { participant: "IN".into(), lot: "IN/IMP/EU-000002".into() });
    assert_eq!((t.root.kind, t.root.weight, t.root.taken), (NodeKind::Import, 4000, None));
    assert!(t.compliance.compliant, "{:?}", t.compliance);
    assert!(t.compliance.problems.is_empty());
    assert_eq!(t.productions, 3);
    // IN lot, EU-000002, EU/LOT/B, EU mix, EU import of CF, CF-000001, CF
    // mix, CF buying-office lot, Berberati production.
    assert_eq!(t.depth, 8);

    // EU-000002 = 3000 of lot B + 1000 of the BW import. Lot B is a third CF
    // (2500 of 7500), so CF = 3000 / 3 = 1000 of 4000 = 0.25 and BW = 0.75.
    let origins: Vec<(&str, f64, f64)> = t.origins.iter().map(|o| (o.country.as_str(), o.share, o.weight)).collect();
    assert_eq!(origins.len(), 2, "{origins:?}");
    assert_eq!(origins[0].0, "BW");
    assert!((origins[0].1 - 0.75).abs() < 1e-9, "{origins:?}");
    assert!((origins[0].2 - 3000.0).abs() < 1e-9, "{origins:?}");
    assert_eq!(origins[1].0, "CF");
    assert!((origins[1].1 - 0.25).abs() < 1e-9, "{origins:?}");
    assert!((origins[1].2 - 1000.0).abs() < 1e-9, "{origins:?}");

    let mut productions = Vec::new();
    let mut all = Vec::new();
    collect(&t.root, &mut |n| {
        all.push((n.participant.clone(), n.id.clone(), n.repeated));
        if n.kind == NodeKind::Production && !n.repeated {
            productions.push((n.participant.clone(), n.id.clone(), n.zone.clone(), n.zone_name.clone(), n.compliant));
        }
    });
    productions.sort();
    let s = |x: &str| x.to_string();
    let expected = vec![
        (s("BW"), s("BW/JWA/2017/0001"), None, None, true),
        (s("CF"), s("CF/BER/2017/00001"), Some(s("BER")), Some(s("Berberati")), true),
        (s("CF"), s("CF/NOL/2017/00001"), Some(s("NOL")), Some(s("Nola")), true),
    ];
    assert_eq!(productions, expected);
    // Nothing of step 4 is behind it.
    assert!(!all.iter().any(|(_, id, _)| id.contains("BRI") || id.contains("CAR") || id.contains("MIX2")));
    // The BW import is reached twice (through the mix and directly) and
    // expanded once.
    let bw_import: Vec<bool> = all.iter().filter(|(_, id, _)| id == "EU/IMP/BW-000001").map(|(_, _, r)| *r).collect();
    assert_eq!(bw_import, vec![false, true]);
    // Where it crossed borders, with the weights each hop took.
    let cert = &t.root.inputs[0];
    assert_eq!((cert.kind, cert.id.as_str(), cert.taken), (NodeKind::Export, "EU-000002", Some(4000)));
    let taken: Vec<(&str, Option<Weight>)> = cert.inputs.iter().map(|n| (n.id.as_str(), n.taken)).collect();
    assert_eq!(taken, vec![("EU/LOT/B", Some(3000)), ("EU/IMP/BW-000001", Some(1000))]);

    // The AE lot: a third CF, two thirds BW.
    let t = trail::lot_trail(&w.net.ledger, "AE", "AE/IMP/EU-000001", "2018-06-01").expect("trail");
    let shares: Vec<(&str, f64)> = t.origins.iter().map(|o| (o.country.as_str(), o.share)).collect();
    assert!((shares[0].1 - 2.0 / 3.0).abs() < 1e-9 && (shares[1].1 - 1.0 / 3.0).abs() < 1e-9, "{shares:?}");
    assert!(t.compliance.compliant);
}

#[test]
fn entry_hash_is_the_leaf_hash_of_the_wire_bytes() {
    let mut net = Net::new();
    let a = net.write(&authority_key("CF"), register_body(&licensee_key("a"), "a", &[Role::Miner]));
    let stored = &net.ledger.entries[&(authority_key("CF").public(), 1)];
    assert_eq!(a.hash, entry_hash(stored.bytes()));
}
