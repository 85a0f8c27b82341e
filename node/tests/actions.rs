//! What a node signs into its own logs (actions, countersigned records) goes
//! through the parse every peer applies to it (`SignedEntry::parse`: size,
//! strict decode, bounds R9) before it is judged. A body a peer would refuse
//! is refused at the node with its R9 code, nothing is stored, the log's
//! head stays, and the next valid action follows it: signed and stored, it
//! would have been a position of the log no peer accepts, and the log
//! would have ended there for the whole network. Real RocksDB in a
//! temporary folder, the real writer.

use kp_dev::devnet::DevKeys;
use kp_node::ingest::{Outcome, Submission, SubmitError, Writer};
use kp_node::keys::Keyring;
use kp_node::ledger::Ledger;
use kp_node::metrics::Metrics;
use kp_node::rebuild;
use kp_node::store::RocksStore;
use kp_schemas::api::Submitted;
use kp_schemas::codes;
use kp_schemas::crypto;
use kp_schemas::entry::sign_record;
use kp_schemas::memory::MemLedger;
use kp_schemas::model::*;
use kp_schemas::state::{Head, NetworkState};
use kp_schemas::{Hash32, Keypair, PublicKey, Verdict, roster};
use proptest::prelude::*;
use std::sync::Arc;

const NETWORK: &str = "kp-actions";
const CERT: &str = "CF-000001";
const EXPORTED: Weight = 1_000;

/// A node holding every key of a development network, with one certificate
/// from CF to the EU waiting for its confirmation.
struct Node {
    _dir: tempfile::TempDir,
    ledger: Arc<Ledger>,
    writer: Writer,
    keys: DevKeys,
    /// A licensee of each of CF (miner and exporter) and the EU (importer).
    cf_miner: Keypair,
    eu_importer: Keypair,
    /// The export entry the node countersigned for the miner.
    export_entry: Hash32,
}

fn licensee(i: u8) -> Keypair {
    Keypair::from_seed([0x40 + i; 32])
}

fn code_of(e: &SubmitError) -> String {
    match e {
        SubmitError::Refused(r) => r.code.clone(),
        // What the HTTP API answers for it.
        SubmitError::NotWriter(_) => codes::API_NOT_WRITER.into(),
        SubmitError::AmbiguousAuthor(_) => codes::API_AMBIGUOUS_AUTHOR.into(),
        other => panic!("not a refusal: {other:?}"),
    }
}

impl Node {
    fn new() -> Self {
        let keys = DevKeys::from_seed(70);
        let dir = tempfile::tempdir().unwrap();
        let store = RocksStore::open(dir.path()).unwrap();
        let ledger = Arc::new(Ledger::open(Box::new(store), Some(&keys.roster(NETWORK))).unwrap());
        let mut ring = Keyring::default();
        ring.insert(keys.chair.clone());
        ring.insert(keys.monitor.clone());
        keys.authorities.iter().for_each(|(_, k)| ring.insert(k.clone()));
        let writer = Writer::new(ledger.clone(), ring, Arc::new(Metrics::default()));
        let mut node = Node {
            _dir: dir,
            ledger,
            writer,
            keys,
            cf_miner: licensee(1),
            eu_importer: licensee(2),
            export_entry: Hash32::ZERO,
        };
        node.trade();
        node
    }

    /// Licensees, a compliant zone, a production and its export to the EU,
    /// the records countersigned by the node.
    fn trade(&mut self) {
        let (miner, importer) = (self.cf_miner.public(), self.eu_importer.public());
        self.ok("CF", register(miner, "Berberati Cooperative", &[Role::Miner, Role::Exporter]));
        self.ok("EU", register(importer, "Antwerp Importer", &[Role::Importer, Role::Trader]));
        let zone = self.ok(
            "MT-CF",
            Body::ZoneStatus(ZoneStatus {
                participant: "CF".into(),
                zone: "BER".into(),
                name: "Berberati".into(),
                status: ZoneState::Compliant,
                effective: "2016-06-01".into(),
                previous: None,
            }),
        );
        self.record(
            1,
            RecordBody::Production(Production {
                lot: "CF/BER/1".into(),
                site: "Berberati".into(),
                zone: Some(ZoneRef { zone: "BER".into(), status_entry: Some(zone.hash) }),
                weight: EXPORTED + 500,
                stones: 300,
                date: "2017-03-10".into(),
                nature: Nature::Natural,
                value_cents: None,
            }),
        )
        .unwrap();
        let export = self
            .record(
                2,
                RecordBody::Export(Export {
                    certificate: CERT.into(),
                    importer: "EU".into(),
                    consignee: "Antwerp Importer".into(),
                    inputs: vec![Take { lot: "CF/BER/1".into(), weight: EXPORTED }],
                    lines: vec![HsLine { code: "7102.31".into(), weight: EXPORTED, value_cents: 1_200_000 }],
                    parcels: 2,
                    issued: "2017-04-02".into(),
                    expires: "2018-04-02".into(),
                }),
            )
            .unwrap();
        self.export_entry = export.hash;
    }

    fn key(&self, author: &str) -> &Keypair {
        match author {
            "chair" => &self.keys.chair,
            "MT-CF" => &self.keys.monitor,
            code => self.keys.authority(code),
        }
    }

    fn act(&self, author: &str, body: Body) -> Result<Submitted, SubmitError> {
        self.writer
            .process(vec![Submission::Action { as_author: Some(author.into()), body }])
            .remove(0)
            .and_then(Outcome::into_reply)
    }

    fn ok(&self, author: &str, body: Body) -> Submitted {
        self.act(author, body).unwrap_or_else(|e| panic!("{author}: {e}"))
    }

    fn record(&self, nonce: u64, body: RecordBody) -> Result<Submitted, SubmitError> {
        let r = sign_record(NETWORK, &self.cf_miner, nonce, body);
        let sub = Submission::Record { record: r.bytes().to_vec(), signature: r.signature() };
        self.writer.process(vec![sub]).remove(0).and_then(Outcome::into_reply)
    }

    fn heads(&self) -> Vec<(PublicKey, Head)> {
        self.ledger.heads().unwrap()
    }

    /// The confirmation of the export, as the EU would sign it.
    fn confirmation(&self, lot: &str, weight: Weight) -> Body {
        Body::ImportConfirmation(ImportConfirmation {
            exporter: "CF".into(),
            certificate: CERT.into(),
            certificate_entry: self.export_entry,
            weight,
            parcels: 2,
            lot: lot.into(),
            holder: self.eu_importer.public(),
            date: "2017-05-02".into(),
        })
    }

    /// `body` is refused with `code`, and nothing changed: no entry stored,
    /// no head moved.
    fn refused(&self, author: &str, body: Body, code: &str) {
        let (count, heads) = (self.ledger.entry_count(), self.heads());
        let r = self.act(author, body);
        assert_eq!(r.as_ref().map_err(code_of).err().as_deref(), Some(code), "{r:?}");
        assert_eq!(self.ledger.entry_count(), count, "an entry was stored");
        assert_eq!(self.heads(), heads, "a head moved");
    }

    /// A valid action by `author` is the next entry of its log, and every
    /// stored entry reads back and replays.
    fn goes_on(&self, author: &str, body: Body) {
        let key = self.key(author).public();
        let before = self.ledger.head(&key).unwrap().map_or(0, |h| h.seq);
        let s = self.ok(author, body);
        assert_eq!((s.author, s.seq, s.duplicate), (key, before + 1, false));
        assert_eq!(self.ledger.entry_by_hash(&s.hash).unwrap().unwrap().hash(), s.hash);
        assert_eq!(self.ledger.log_page(&key, 1, 1000).unwrap().len() as u64, before + 1);
        let report = rebuild::check(&self.ledger, |_| {}).unwrap();
        assert!(report.ok(), "{:?}", report.mismatches);
    }
}

fn register(key: PublicKey, name: &str, roles: &[Role]) -> Body {
    Body::RegisterLicensee(LicenseeRegistration { licensee: key, name: name.into(), roles: roles.to_vec() })
}

fn note(subject: Subject, note: &str) -> Body {
    Body::Attestation(Attestation { subject, kind: AttestationKind::Note, note: note.into() })
}

fn namibia(code: &str) -> Body {
    Body::Governance(Governance::AdmitParticipant(Participant {
        code: code.into(),
        name: "Namibia".into(),
        authority: Keypair::from_seed([0x77; 32]).public(),
        zone_regime: false,
        nodes: vec![],
    }))
}

#[test]
fn an_action_several_held_keys_could_sign_names_its_author() {
    let n = Node::new();
    let (count, heads) = (n.ledger.entry_count(), n.heads());
    // Every authority may register a licensee, and this node holds them all.
    let body = register(licensee(9).public(), "Kimberley Trader", &[Role::Trader]);
    let r = n.writer.process(vec![Submission::Action { as_author: None, body: body.clone() }]).remove(0);
    assert!(matches!(&r, Err(SubmitError::AmbiguousAuthor(m)) if m.contains("`as`")), "{r:?}");
    assert_eq!(r.as_ref().map_err(code_of).err().as_deref(), Some(codes::API_AMBIGUOUS_AUTHOR));
    assert_eq!((n.ledger.entry_count(), n.heads()), (count, heads), "nothing was stored");
    n.goes_on("CF", body);
}

#[test]
fn an_attestation_whose_note_holds_a_newline_is_refused_and_the_log_goes_on() {
    let n = Node::new();
    let lot = Subject::Lot { participant: "CF".into(), lot: "CF/BER/1".into() };
    n.refused("CF", note(lot.clone(), "seen at the\nborder"), codes::R9_BAD_TEXT);
    n.goes_on("CF", note(lot, "seen at the border"));
}

#[test]
fn a_licensee_name_of_200_characters_is_refused_and_the_log_goes_on() {
    let n = Node::new();
    n.refused("CF", register(licensee(9).public(), &"n".repeat(200), &[Role::Miner]), codes::R9_TOO_LONG);
    n.goes_on("CF", register(licensee(9).public(), &"n".repeat(128), &[Role::Miner]));
}

#[test]
fn six_roles_for_one_licensee_are_refused_and_the_log_goes_on() {
    let n = Node::new();
    let six = [Role::Miner, Role::Trader, Role::Exporter, Role::Importer, Role::Laboratory, Role::Miner];
    n.refused("CF", register(licensee(9).public(), "Trader", &six), codes::R9_TOO_MANY);
    n.goes_on("CF", register(licensee(9).public(), "Trader", &six[..5]));
}

#[test]
fn an_import_lot_id_with_a_space_is_refused_and_the_log_goes_on() {
    let n = Node::new();
    n.refused("EU", n.confirmation("EU/ANR 1", EXPORTED), codes::R9_BAD_ID);
    n.goes_on("EU", n.confirmation("EU/ANR/1", EXPORTED));
}

#[test]
fn an_import_of_zero_weight_is_refused_and_the_log_goes_on() {
    let n = Node::new();
    n.refused("EU", n.confirmation("EU/ANR/1", 0), codes::R9_ZERO_WEIGHT);
    n.goes_on("EU", n.confirmation("EU/ANR/1", EXPORTED));
}

#[test]
fn an_admission_with_a_lowercase_participant_code_is_refused_and_the_log_goes_on() {
    let n = Node::new();
    n.refused("chair", namibia("na"), codes::R9_BAD_PARTICIPANT);
    n.goes_on("chair", namibia("NA"));
}

#[test]
fn a_body_over_the_entry_size_limit_is_refused_before_it_is_signed_into_the_log() {
    let n = Node::new();
    // Each address is within its bound of 128 characters; together, at
    // three bytes a character, they are over the 64 KiB an entry may take
    // on the wire.
    let nodes =
        (0..16).map(|i| NodeInfo { peer_id: format!("peer{i}"), addrs: vec!["€".repeat(128); 16] }).collect::<Vec<_>>();
    let mut p = Participant {
        code: "NA".into(),
        name: "Namibia".into(),
        authority: Keypair::from_seed([0x77; 32]).public(),
        zone_regime: false,
        nodes,
    };
    n.refused("chair", Body::Governance(Governance::AdmitParticipant(p.clone())), codes::R9_TOO_LARGE);
    p.nodes.truncate(1);
    n.goes_on("chair", Body::Governance(Governance::AdmitParticipant(p)));
}

// ---------------------------------------------------------------- property

/// Authors the node holds keys for, and one it does not know.
const AUTHORS: [&str; 6] = ["CF", "EU", "BW", "MT-CF", "chair", "ZZ"];

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => "[A-Za-z0-9/_.:-]{1,16}",
        2 => "[ -~]{0,40}",
        2 => "[\\x00-\\x7f]{0,24}",
        1 => "\\PC{0,40}",
        1 => any::<String>(),
        1 => (60usize..140, prop::sample::select(vec!['x', 'é', ' ', '\n'])).prop_map(|(n, c)| c.to_string().repeat(n)),
        1 => (1000usize..1100).prop_map(|n| "y".repeat(n)),
    ]
}

fn code() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::sample::select(vec!["CF", "EU", "BW", "AE", "IN", "NA"]).prop_map(String::from),
        1 => "[A-Za-z]{0,3}",
        1 => text(),
    ]
}

/// Mostly CF, the exporter of the certificate and the monitor's scope.
fn cf() -> impl Strategy<Value = String> {
    prop_oneof![3 => Just("CF".to_string()), 1 => code()]
}

/// Mostly the EU's importer, who may hold an imported lot.
fn importer() -> impl Strategy<Value = PublicKey> {
    prop_oneof![3 => Just(licensee(2).public()), 1 => key()]
}

fn weight() -> impl Strategy<Value = Weight> {
    prop_oneof![
        4 => Just(EXPORTED),
        2 => 0..=2_000u64,
        1 => prop::sample::select(vec![kp_schemas::limits::MAX_WEIGHT, kp_schemas::limits::MAX_WEIGHT + 1]),
        1 => any::<u64>(),
    ]
}

fn count() -> impl Strategy<Value = u32> {
    prop_oneof![4 => 0..4u32, 1 => any::<u32>(), 1 => Just(kp_schemas::limits::MAX_PARCELS + 1)]
}

fn date() -> impl Strategy<Value = String> {
    prop_oneof![4 => Just("2017-05-02".to_string()), 1 => "[0-9-]{8,11}", 1 => text()]
}

/// Keys: the trade's licensees, fresh ones, authorities, the identity point
/// (a weak key, R1).
fn key() -> impl Strategy<Value = PublicKey> {
    let keys = DevKeys::from_seed(70);
    let mut pool: Vec<PublicKey> = (1..6).map(|i| licensee(i).public()).collect();
    pool.extend([keys.chair.public(), keys.monitor.public(), keys.authority("BW").public()]);
    let mut identity = [0u8; 32];
    identity[0] = 1;
    pool.push(PublicKey(identity));
    prop::sample::select(pool)
}

fn roles() -> impl Strategy<Value = Vec<Role>> {
    prop::collection::vec(prop::sample::select(Role::ALL.to_vec()), 0..8)
}

fn subject() -> impl Strategy<Value = Subject> {
    prop_oneof![
        2 => (code(), prop_oneof![Just("CF/BER/1".to_string()), text()])
            .prop_map(|(participant, lot)| Subject::Lot { participant, lot }),
        1 => prop_oneof![Just(CERT.to_string()), text()].prop_map(|number| Subject::Certificate { number }),
    ]
}

fn node_info() -> impl Strategy<Value = NodeInfo> {
    (text(), prop::collection::vec(text(), 0..3)).prop_map(|(peer_id, addrs)| NodeInfo { peer_id, addrs })
}

/// A body, and who asks the node to sign it. `Hash32::ZERO` as the
/// certificate entry stands for the export's entry, which only the node
/// knows.
fn action() -> impl Strategy<Value = (String, Body)> {
    let body = prop_oneof![
        (key(), text(), roles()).prop_map(|(licensee, name, roles)| Body::RegisterLicensee(LicenseeRegistration {
            licensee,
            name,
            roles
        })),
        (key(), text()).prop_map(|(licensee, reason)| Body::RevokeLicensee(LicenseeRevocation { licensee, reason })),
        (cf(), prop_oneof![Just(CERT.to_string()), text()], weight(), count(), text(), importer(), date()).prop_map(
            |(exporter, certificate, weight, parcels, lot, holder, date)| {
                Body::ImportConfirmation(ImportConfirmation {
                    exporter,
                    certificate,
                    certificate_entry: Hash32::ZERO,
                    weight,
                    parcels,
                    lot,
                    holder,
                    date,
                })
            }
        ),
        (cf(), text(), text(), prop::sample::select(vec![ZoneState::Compliant, ZoneState::Suspended]), date())
            .prop_map(|(participant, zone, name, status, effective)| Body::ZoneStatus(ZoneStatus {
                participant,
                zone,
                name,
                status,
                effective,
                previous: None,
            })),
        (subject(), text()).prop_map(|(s, n)| note(s, &n)),
        (code(), text(), key(), any::<bool>(), prop::collection::vec(node_info(), 0..3)).prop_map(
            |(code, name, authority, zone_regime, nodes)| {
                Body::Governance(Governance::AdmitParticipant(Participant {
                    code,
                    name,
                    authority,
                    zone_regime,
                    nodes,
                }))
            }
        ),
        (code(), text(), any::<u64>()).prop_map(|(code, reason, from)| Body::Governance(
            Governance::SuspendParticipant { code, reason, from: from % 4 }
        )),
        (code(), any::<u64>())
            .prop_map(|(code, from)| Body::Governance(Governance::ReinstateParticipant { code, from: from % 4 })),
        key().prop_map(|new_chair| Body::Governance(Governance::ChairHandover { new_chair })),
    ];
    // Mostly an author who may write the body, so that most bodies are
    // judged on what they hold.
    body.prop_flat_map(|body| {
        let fits: &[&str] = match &body {
            Body::Governance(_) => &["chair"],
            Body::ZoneStatus(_) => &["MT-CF"],
            Body::Attestation(_) => &["CF", "MT-CF"],
            Body::ImportConfirmation(_) => &["EU"],
            _ => &["CF", "EU"],
        };
        let author = prop_oneof![
            4 => prop::sample::select(fits.to_vec()),
            1 => prop::sample::select(AUTHORS.to_vec()),
        ];
        (author.prop_map(String::from), Just(body))
    })
}

/// The network state a fresh node starts from, as a peer builds it.
fn start_state(n: &Node) -> NetworkState {
    let (r, hash) = roster::verify(n.ledger.roster()).unwrap();
    assert_eq!(hash, crypto::roster_hash(&n.ledger.roster().bytes.0));
    NetworkState::from_roster(&r, hash)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever body an action carries, the node either refuses it with a
    /// code and stores nothing, or stores an entry a peer accepts: the
    /// stored bytes, replayed into a fresh in-memory ledger after the
    /// entries stored before them, are accepted.
    #[test]
    fn every_action_is_refused_with_nothing_stored_or_stored_as_a_peer_accepts_it(
        actions in prop::collection::vec(action(), 1..6)
    ) {
        let n = Node::new();
        // A peer that has taken every entry stored so far.
        let mut peer = MemLedger::new(start_state(&n));
        for bytes in n.ledger.ordered(0, usize::MAX).unwrap() {
            prop_assert!(matches!(peer.ingest(bytes.into_bytes()), Ok(Verdict::Accepted(_))));
        }
        let mut stored = n.ledger.entry_count();
        for (author, mut body) in actions {
            if let Body::ImportConfirmation(c) = &mut body {
                c.certificate_entry = n.export_entry;
            }
            let heads = n.heads();
            match n.act(&author, body.clone()) {
                Err(e) => {
                    let code = code_of(&e);
                    prop_assert!(code.starts_with('R') || code.starts_with("api."), "{code}");
                    prop_assert_eq!(n.ledger.entry_count(), stored, "refused with {} but stored", code);
                    prop_assert_eq!(n.heads(), heads);
                }
                Ok(s) => {
                    prop_assert!(!s.duplicate);
                    stored += 1;
                    prop_assert_eq!(n.ledger.entry_count(), stored);
                    // The node reads it back, and a peer takes its bytes.
                    let e = n.ledger.entry_by_hash(&s.hash);
                    prop_assert!(matches!(&e, Ok(Some(e)) if e.hash() == s.hash), "{:?} does not read back: {:?}", body, e);
                    let bytes = e.unwrap().unwrap().into_bytes();
                    let verdict = peer.ingest(bytes);
                    prop_assert!(
                        matches!(&verdict, Ok(Verdict::Accepted(a)) if a.hash == s.hash),
                        "the node stored {:?}, a peer says {:?}", body, verdict
                    );
                }
            }
        }
        // A fresh replay of the whole store, as `kp-node check` makes it.
        let mut fresh = MemLedger::new(start_state(&n));
        for e in n.ledger.ordered(0, usize::MAX).unwrap() {
            prop_assert!(matches!(fresh.ingest(e.into_bytes()), Ok(Verdict::Accepted(_))));
        }
        let report = rebuild::check(&n.ledger, |_| {}).unwrap();
        prop_assert!(report.ok(), "{:?}", report.mismatches);
    }
}
