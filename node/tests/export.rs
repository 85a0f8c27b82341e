//! A bundle exported by a node whose network changed since its genesis:
//! a participant admitted, a key rotated. It carries the chair's log from
//! its first entry, and verifies with nothing but the genesis roster. Real
//! RocksDB in a temporary folder, the real writer and witness.

use kp_dev::devnet::DevKeys;
use kp_node::export;
use kp_node::ingest::{Outcome, Submission, Writer};
use kp_node::keys::Keyring;
use kp_node::ledger::Ledger;
use kp_node::metrics::Metrics;
use kp_node::store::RocksStore;
use kp_node::witness::{CheckpointConfig, Witness};
use kp_schemas::api::Submitted;
use kp_schemas::bundle::{self, VerifyOptions};
use kp_schemas::checkpoint::{CheckpointGossip, SignedCheckpoint, witness_code};
use kp_schemas::entry::sign_record;
use kp_schemas::model::*;
use kp_schemas::{Keypair, SignedEntry};
use std::sync::Arc;
use std::time::Duration;

const NETWORK: &str = "kp-export";
const CERT: &str = "CF-000001";

struct Node {
    _dir: tempfile::TempDir,
    ledger: Arc<Ledger>,
    writer: Writer,
    /// Every key this node holds, the ones not in the genesis roster too.
    ring: Keyring,
    authorities: Vec<Keypair>,
    nonce: u64,
}

impl Node {
    fn act(&self, author: &str, body: Body) -> Submitted {
        let sub = Submission::Action { as_author: Some(author.into()), body };
        self.writer
            .process(vec![sub])
            .remove(0)
            .and_then(Outcome::into_reply)
            .unwrap_or_else(|e| panic!("{author}: {e}"))
    }

    fn record(&mut self, licensee: &Keypair, body: RecordBody) -> Submitted {
        self.nonce += 1;
        let r = sign_record(NETWORK, licensee, self.nonce, body);
        let sub = Submission::Record { record: r.bytes().to_vec(), signature: r.signature() };
        self.writer.process(vec![sub]).remove(0).and_then(Outcome::into_reply).unwrap()
    }

    /// Checkpoints of every log this node writes, signed now and cosigned
    /// by every authority that may witness each under the network now.
    fn checkpoint(&self, now_ms: u64) {
        let witness = |keys| {
            let cfg = CheckpointConfig { every_entries: 1_000_000, every: Duration::from_secs(1), quorum: 0 };
            Witness::new(self.ledger.clone(), keys, cfg)
        };
        let (net, gather) = (self.ledger.network(), witness(Keyring::default()));
        for m in witness(self.ring.clone()).tick(now_ms).unwrap().publish {
            let CheckpointGossip::Checkpoint { checkpoint, .. } = m else { continue };
            let cp = SignedCheckpoint::parse(checkpoint.0.clone()).unwrap();
            let cosignatures = (self.authorities.iter())
                .filter(|k| witness_code(&net, &cp.checkpoint().log, &k.public()).is_some())
                .map(|k| cp.cosign(k))
                .collect();
            gather.receive(CheckpointGossip::Checkpoint { checkpoint, cosignatures }).unwrap();
        }
    }
}

fn register(key: &Keypair, name: &str, roles: &[Role]) -> Body {
    Body::RegisterLicensee(LicenseeRegistration { licensee: key.public(), name: name.into(), roles: roles.to_vec() })
}

#[test]
fn a_bundle_across_an_admission_and_a_rotation_carries_the_chair_log_and_verifies_with_the_genesis_roster() {
    let keys = DevKeys::from_seed(90);
    let genesis = keys.roster(NETWORK);
    let dir = tempfile::tempdir().unwrap();
    let ledger = Arc::new(Ledger::open(Box::new(RocksStore::open(dir.path()).unwrap()), Some(&genesis)).unwrap());
    let (na, new_cf) = (Keypair::from_seed([0x51; 32]), Keypair::from_seed([0x52; 32]));
    let mut ring = Keyring::default();
    for k in [&keys.chair, &keys.monitor, &na, &new_cf].into_iter().chain(keys.authorities.iter().map(|(_, k)| k)) {
        ring.insert(k.clone());
    }
    let writer = Writer::new(ledger.clone(), ring.clone(), Arc::new(Metrics::default()));
    let mut authorities: Vec<Keypair> = keys.authorities.iter().map(|(_, k)| k.clone()).collect();
    authorities.extend([na.clone(), new_cf.clone()]);
    let mut n = Node { _dir: dir, ledger, writer, ring, authorities, nonce: 0 };

    // Namibia is admitted after the genesis; CF's miner produces under
    // CF's first key.
    let namibia = Participant {
        code: "NA".into(),
        name: "Namibia".into(),
        authority: na.public(),
        zone_regime: false,
        nodes: vec![],
    };
    let admission = n.act("chair", Body::Governance(Governance::AdmitParticipant(namibia)));
    let (miner, importer) = (Keypair::from_seed([0x53; 32]), Keypair::from_seed([0x54; 32]));
    n.act("NA", register(&importer, "Windhoek Importer", &[Role::Importer]));
    n.act("CF", register(&miner, "Berberati Cooperative", &[Role::Miner, Role::Exporter]));
    let zone = n.act(
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
    let production = Production {
        lot: "CF/BER/1".into(),
        site: "Berberati".into(),
        zone: Some(ZoneRef { zone: "BER".into(), status_entry: Some(zone.hash) }),
        weight: 1000,
        stones: 30,
        date: "2017-03-10".into(),
        nature: Nature::Natural,
        value_cents: None,
    };
    let produced = n.record(&miner, RecordBody::Production(production));
    assert_eq!(produced.author, keys.authority("CF").public());
    // The old log's entries are witnessed before its key is replaced: its
    // writer signs no checkpoint once the rotation closes it.
    n.checkpoint(1_000);

    // The chair forces a rotation of CF's key; the new key countersigns the
    // export to Namibia, which confirms it.
    let rotation = n.act(
        "chair",
        Body::Governance(Governance::RotateKey {
            holder: "CF".into(),
            new_key: new_cf.public(),
            last: 0,
            statement: None,
        }),
    );
    let export = Export {
        certificate: CERT.into(),
        importer: "NA".into(),
        consignee: "Windhoek Importer".into(),
        inputs: vec![Take { lot: "CF/BER/1".into(), weight: 1000 }],
        lines: vec![HsLine { code: "7102.31".into(), weight: 1000, value_cents: 1_200_000 }],
        parcels: 1,
        issued: "2017-04-02".into(),
        expires: "2018-04-02".into(),
    };
    let exported = n.record(&miner, RecordBody::Export(export));
    assert_eq!((exported.author, exported.seq), (new_cf.public(), 1));
    n.act(
        "NA",
        Body::ImportConfirmation(ImportConfirmation {
            exporter: "CF".into(),
            certificate: CERT.into(),
            certificate_entry: exported.hash,
            weight: 1000,
            parcels: 1,
            lot: "NA/1".into(),
            holder: importer.public(),
            date: "2017-05-02".into(),
        }),
    );
    n.checkpoint(10_000);

    let subject = Subject::Certificate { number: CERT.into() };
    let witness = Witness::new(n.ledger.clone(), Keyring::default(), CheckpointConfig::default());
    let b = export::export(&n.ledger, &witness, &subject).unwrap();
    let governance: Vec<_> =
        b.governance.iter().map(|g| SignedEntry::parse(g.entry.0.clone()).unwrap().hash()).collect();
    assert_eq!(governance, [admission.hash, rotation.hash]);

    let opts = VerifyOptions { quorum: 0, today: "2017-12-31".into() };
    let r = bundle::verify(&b.to_json(), &genesis, &opts);
    assert!(r.valid, "{:?}", r.problems);
    let now = n.ledger.network();
    assert_eq!(
        (r.governance, r.roster_version, r.roster_version_hash),
        (2, Some(now.version), Some(now.version_hash()))
    );
    let names: Vec<&str> = r.logs.iter().map(|l| l.name.as_str()).collect();
    for log in ["chair", "NA authority", "CF authority", "CF authority (replaced key)", "MT-CF"] {
        assert!(names.contains(&log), "{names:?}");
    }
    let trail = r.trail.unwrap();
    assert!(trail.compliance.compliant, "{:?}", trail.compliance);
    assert_eq!(trail.origins[0].country, "CF");

    // The versions the node serves are the ones the bundle makes.
    let versions = n.ledger.roster_versions();
    assert_eq!(versions.iter().map(|v| v.version).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(versions[0].version_hash(), kp_schemas::crypto::roster_hash(&genesis.bytes.0));
    assert_eq!(versions[2], now);
}
