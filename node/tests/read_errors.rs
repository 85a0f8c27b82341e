//! A read error is an error. On the in-memory store that fails on demand,
//! each read of a query or of a verdict fails in turn: a trail, a bundle and
//! a submission then fail with a storage error (`api.storage`, 500 over
//! HTTP), never a shorter trail, an unknown lot, a bundle with entries
//! missing, or a refusal.

use axum::Router;
use axum::body::Body as HttpBody;
use axum::http::{Request, StatusCode};
use kp_dev::workload;
use kp_node::api::{AppState, router};
use kp_node::export::{self, ExportError};
use kp_node::ingest::{self, Outcome, Submission, SubmitError, Writer};
use kp_node::keys::Keyring;
use kp_node::ledger::Ledger;
use kp_node::metrics::Metrics;
use kp_node::store::MemoryStore;
use kp_node::witness::{CheckpointConfig, Witness};
use kp_schemas::Keypair;
use kp_schemas::api::Submitted;
use kp_schemas::checkpoint::{CheckpointGossip, SignedCheckpoint};
use kp_schemas::codes;
use kp_schemas::entry::sign_record;
use kp_schemas::model::{Body, LicenseeRegistration, Nature, Production, RecordBody, Role, Subject, ZoneRef};
use kp_schemas::trail::{self, TrailError};
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

/// Entries of the generated trade held back from the stored ledger, to be
/// submitted with reads failing.
const HELD: usize = 40;
/// A lot imported into BW from CF: its trail reaches back through a
/// certificate, a mix and two sales to two productions in a CF zone.
const LOT: (&str, &str) = ("BW", "BW/I/0");
const CERT: &str = "CF-1000000000";
const TODAY: &str = "2018-01-01";

struct Fixture {
    w: workload::Workload,
    /// Every entry but the last [`HELD`], and a checkpoint of every log.
    stored: Arc<MemoryStore>,
}

/// A ledger on its own copy of the fixture's store.
struct Node {
    store: Arc<MemoryStore>,
    ledger: Arc<Ledger>,
    witness: Witness,
}

impl Fixture {
    fn new() -> Self {
        let w = workload::generate(400, 0, &|_| {});
        let stored = Arc::new(MemoryStore::new());
        let ledger = open(&w, stored.clone());
        let n = w.entries.len() - HELD;
        for r in process(&ledger, Keyring::default(), &w.entries[..n]) {
            r.unwrap();
        }
        // Every log signed by its writer (a witness holding every key) and
        // cosigned by every participant that witnesses it, so that a bundle
        // of any trail can be exported.
        let mut all = Keyring::default();
        for k in [&w.keys.chair, &w.keys.monitor].into_iter().chain(w.keys.authorities.iter().map(|(_, k)| k)) {
            all.insert(k.clone());
        }
        let signed = witness(&ledger, all).tick(1).unwrap();
        let (net, gather) = (ledger.network(), witness(&ledger, Keyring::default()));
        for m in signed.publish {
            let CheckpointGossip::Checkpoint { checkpoint, .. } = m else { continue };
            let cp = SignedCheckpoint::parse(checkpoint.0.clone()).unwrap();
            let cosignatures = (w.keys.authorities.iter().map(|(_, k)| k))
                .filter(|k| kp_schemas::checkpoint::witness_code(&net, &cp.checkpoint().log, &k.public()).is_some())
                .map(|k| cp.cosign(k))
                .collect();
            gather.receive(CheckpointGossip::Checkpoint { checkpoint, cosignatures }).unwrap();
        }
        Fixture { w, stored }
    }

    fn held(&self) -> &[Vec<u8>] {
        &self.w.entries[self.w.entries.len() - HELD..]
    }

    fn node(&self) -> Node {
        node_on(&self.w, &self.stored)
    }
}

fn open(w: &workload::Workload, store: Arc<MemoryStore>) -> Arc<Ledger> {
    Arc::new(Ledger::open(Box::new(store), Some(&w.keys.roster(workload::NETWORK))).unwrap())
}

fn witness(ledger: &Arc<Ledger>, keys: Keyring) -> Witness {
    Witness::new(
        ledger.clone(),
        keys,
        CheckpointConfig { every_entries: u64::MAX, every: Duration::from_secs(1), quorum: 0 },
    )
}

/// A node on a copy of what `store` holds synced.
fn node_on(w: &workload::Workload, store: &MemoryStore) -> Node {
    let store = Arc::new(store.crash());
    let ledger = open(w, store.clone());
    let witness = witness(&ledger, Keyring::default());
    Node { store, ledger, witness }
}

fn process(ledger: &Arc<Ledger>, keys: Keyring, entries: &[Vec<u8>]) -> Vec<Result<Submitted, SubmitError>> {
    let writer = Writer::new(ledger.clone(), keys, Arc::new(Metrics::default()));
    writer
        .process(entries.iter().cloned().map(Submission::Entry).collect())
        .into_iter()
        .map(|r| r.and_then(Outcome::into_reply))
        .collect()
}

/// How many reads `f` makes when none fails.
fn reads<T>(store: &MemoryStore, f: impl FnOnce() -> T) -> u64 {
    store.fail_read(0, false);
    f();
    let (reads, _) = store.counts();
    assert!(reads > 0, "the work reads nothing");
    reads
}

#[test]
fn a_trail_whose_reads_fail_is_an_error_not_a_shorter_trail_or_an_unknown_lot() {
    let f = Fixture::new();
    let n = f.node();
    let lot_trail = || trail::lot_trail(n.ledger.as_ref(), LOT.0, LOT.1, TODAY);
    let cert_trail = || trail::certificate_trail(n.ledger.as_ref(), CERT, TODAY);
    let full = lot_trail().unwrap();
    assert!(full.productions == 2 && full.depth == 4, "{} productions, depth {}", full.productions, full.depth);
    assert!(full.root.holder_name.is_some());
    for (what, count) in [("lot", reads(&n.store, lot_trail)), ("certificate", reads(&n.store, cert_trail))] {
        for i in 1..=count {
            n.store.fail_read(i, false);
            let r = if what == "lot" { lot_trail() } else { cert_trail() };
            match r {
                Ok(t) => panic!(
                    "{what} trail, read {i} of {count} failing: a trail of {} productions, holder {:?}, notes {:?}",
                    t.productions, t.root.holder_name, t.compliance.notes
                ),
                Err(TrailError::Read(_)) => {}
                Err(e) => panic!("{what} trail, read {i} of {count} failing: {e}"),
            }
        }
    }
    n.store.fail_read(0, false);
    assert_eq!(lot_trail().unwrap(), full);
}

#[test]
fn a_bundle_whose_reads_fail_is_an_error_not_a_bundle_with_entries_missing() {
    let f = Fixture::new();
    let n = f.node();
    for subject in
        [Subject::Lot { participant: LOT.0.into(), lot: LOT.1.into() }, Subject::Certificate { number: CERT.into() }]
    {
        let bundle = || export::export(&n.ledger, &n.witness, &subject);
        let full = bundle().unwrap();
        // Registrations, the zone status, productions, sales, the mix, the
        // export and (for the lot) the confirmation.
        assert!(full.entries.len() >= 10, "{} entries", full.entries.len());
        let count = reads(&n.store, bundle);
        for i in 1..=count {
            n.store.fail_read(i, false);
            match bundle() {
                Ok(b) => panic!("{subject:?}, read {i} of {count} failing: a bundle of {} entries", b.entries.len()),
                Err(ExportError::Store(_)) => {}
                Err(e) => panic!("{subject:?}, read {i} of {count} failing: {e}"),
            }
        }
        n.store.fail_read(0, false);
        assert_eq!(bundle().unwrap(), full);
    }
}

#[test]
fn judging_with_a_failing_read_is_a_storage_error_not_a_refusal_or_a_missing_dependency() {
    let f = Fixture::new();
    let count = {
        let n = f.node();
        reads(&n.store, || process(&n.ledger, Keyring::default(), f.held()))
    };
    for i in 1..=count {
        let n = f.node();
        n.store.fail_read(i, false);
        let results = process(&n.ledger, Keyring::default(), f.held());
        for (k, r) in results.iter().enumerate() {
            assert!(
                matches!(r, Err(SubmitError::Storage(_))),
                "read {i} of {count} failing: entry {k} of the batch: {r:?}"
            );
        }
        // Nothing of it was kept, nor refused: the same batch goes through.
        n.store.fail_read(0, false);
        for (k, r) in process(&n.ledger, Keyring::default(), f.held()).into_iter().enumerate() {
            let s = r.unwrap_or_else(|e| panic!("read {i} of {count} failed before: entry {k}: {e}"));
            assert!(!s.duplicate);
        }
    }
}

#[test]
fn a_record_whose_reads_fail_is_a_storage_error_not_an_unknown_licensee() {
    let f = Fixture::new();
    let cf = f.w.keys.authority("CF");
    let mut keys = Keyring::default();
    keys.insert(cf.clone());
    // A miner registered through the CF node, which countersigns its record.
    let base = f.node();
    let miner = Keypair::from_seed([0x77; 32]);
    let register = Submission::Action {
        as_author: Some("CF".into()),
        body: Body::RegisterLicensee(LicenseeRegistration {
            licensee: miner.public(),
            name: "CF miner".into(),
            roles: vec![Role::Miner],
        }),
    };
    let writer = Writer::new(base.ledger.clone(), keys.clone(), Arc::new(Metrics::default()));
    writer.process(vec![register]).remove(0).and_then(Outcome::into_reply).unwrap();
    let zone = base.ledger.zones().unwrap()[0].entry;
    let record = sign_record(
        workload::NETWORK,
        &miner,
        1,
        RecordBody::Production(Production {
            lot: "CF/RE/1".into(),
            site: "Site".into(),
            zone: Some(ZoneRef { zone: "BER".into(), status_entry: Some(zone) }),
            weight: 1_000,
            stones: 3,
            date: "2017-03-01".into(),
            nature: Nature::Natural,
            value_cents: None,
        }),
    );
    let submit = |n: &Node| {
        let writer = Writer::new(n.ledger.clone(), keys.clone(), Arc::new(Metrics::default()));
        let sub = Submission::Record { record: record.bytes().to_vec(), signature: record.signature() };
        writer.process(vec![sub]).remove(0).and_then(Outcome::into_reply)
    };
    let count = {
        let n = node_on(&f.w, &base.store);
        reads(&n.store, || submit(&n).unwrap())
    };
    for i in 1..=count {
        let n = node_on(&f.w, &base.store);
        n.store.fail_read(i, false);
        let r = submit(&n);
        assert!(matches!(r, Err(SubmitError::Storage(_))), "read {i} of {count} failing: {r:?}");
        n.store.fail_read(0, false);
        submit(&n).unwrap_or_else(|e| panic!("read {i} of {count} failed before: {e}"));
    }
}

/// The node's HTTP API on `n`, with a writer thread of its own.
fn app(n: &Node) -> Router {
    let metrics = Arc::new(Metrics::default());
    let (writer, _thread) = ingest::spawn(Writer::new(n.ledger.clone(), Keyring::default(), metrics.clone()));
    let witness = Arc::new(witness(&n.ledger, Keyring::default()));
    router(AppState {
        ledger: n.ledger.clone(),
        writer,
        metrics,
        cookie: Arc::new("cookie".into()),
        keys: Arc::new(Keyring::default()),
        catch_up: Arc::new(kp_node::catchup::Gate::open()),
        net: None,
        witness,
    })
}

async fn call(app: &Router, method: &str, uri: &str, body: Option<serde_json::Value>) -> (StatusCode, Vec<u8>) {
    let req = Request::builder().method(method).uri(uri).header("content-type", "application/json");
    let body = body.map_or_else(HttpBody::empty, |b| HttpBody::from(serde_json::to_vec(&b).unwrap()));
    let resp = app.clone().oneshot(req.body(body).unwrap()).await.unwrap();
    let status = resp.status();
    (status, axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap().to_vec())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_api_answers_a_failing_read_with_500_api_storage() {
    let f = Fixture::new();
    let (p, lot) = LOT;
    let entry = serde_json::json!({ "entry": hex::encode(&f.held()[0]) });
    let queries: Vec<(&str, String, Option<serde_json::Value>)> = vec![
        ("GET", format!("/v1/trail/lot/{p}/{lot}?today={TODAY}"), None),
        ("GET", format!("/v1/trail/certificate/{CERT}?today={TODAY}"), None),
        ("GET", format!("/v1/bundles/lot/{p}/{lot}"), None),
        ("GET", format!("/v1/bundles/certificate/{CERT}"), None),
        ("GET", format!("/v1/lots/{p}/{lot}"), None),
        ("GET", format!("/v1/certificates/{CERT}"), None),
        ("POST", "/v1/entries".into(), Some(entry)),
    ];
    for (method, uri, body) in queries {
        let ok = if method == "POST" { StatusCode::CREATED } else { StatusCode::OK };
        // A submission is stored when nothing fails: count on a copy.
        let count = {
            let n = f.node();
            let app = app(&n);
            n.store.fail_read(0, false);
            let (status, bytes) = call(&app, method, &uri, body.clone()).await;
            assert_eq!(status, ok, "{method} {uri}: {}", String::from_utf8_lossy(&bytes));
            n.store.counts().0
        };
        let n = f.node();
        let app = app(&n);
        for i in 1..=count {
            n.store.fail_read(i, false);
            let (status, bytes) = call(&app, method, &uri, body.clone()).await;
            let text = String::from_utf8_lossy(&bytes);
            assert_eq!(
                status,
                StatusCode::INTERNAL_SERVER_ERROR,
                "{method} {uri}, read {i} of {count} failing: {text}"
            );
            let e: kp_schemas::api::ApiError = serde_json::from_slice(&bytes).unwrap();
            assert_eq!((e.code.as_str(), e.rule), (codes::API_STORAGE, None), "{method} {uri}, read {i}: {text}");
        }
        n.store.fail_read(0, false);
        let (status, bytes) = call(&app, method, &uri, body.clone()).await;
        assert_eq!(status, ok, "{method} {uri} once reads work again: {}", String::from_utf8_lossy(&bytes));
    }
}
