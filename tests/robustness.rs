//! Bad input, concurrent double spends and `kill -9`, against a real
//! `kp-node` process: every refusal has a clear code, stores nothing, and the
//! node keeps serving; nothing acknowledged is lost.

use kp_client::ClientError;
use kp_e2e::*;
use kp_schemas::entry::sign_record;
use kp_schemas::model::*;
use kp_schemas::{Keypair, PublicKey};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;

const NETWORK: &str = "kp-demo";

fn key(dir: &Path, who: &str) -> Keypair {
    kp_client::keyfile::load(&dir.join("licensees").join(format!("{who}.json"))).unwrap()
}

fn register(node: &Node, participant: &str, k: &PublicKey, roles: Vec<Role>) {
    node.client()
        .action(
            Some(participant),
            Body::RegisterLicensee(LicenseeRegistration { licensee: *k, name: format!("licensee {k}"), roles }),
        )
        .unwrap();
}

fn production(lot: &str, weight: Weight) -> RecordBody {
    RecordBody::Production(Production {
        lot: lot.into(),
        site: "Jwaneng".into(),
        zone: None,
        weight,
        stones: 1,
        date: "2017-01-01".into(),
        nature: Nature::Natural,
        value_cents: None,
    })
}

fn post_raw(url: &str, body: impl Into<Vec<u8>>, cookie: Option<&str>) -> (u16, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut req = agent.post(url).header("content-type", "application/json");
    if let Some(c) = cookie {
        req = req.header("authorization", &format!("Bearer {c}"));
    }
    let mut resp = req.send(body.into()).expect("node answers");
    let status = resp.status().as_u16();
    let v = resp.body_mut().read_json().unwrap_or(Value::Null);
    (status, v)
}

fn code(v: &Value) -> &str {
    v["code"].as_str().unwrap_or("<no code>")
}

#[track_caller]
fn api_code(r: Result<impl std::fmt::Debug, ClientError>) -> String {
    match r {
        Err(ClientError::Api { error, .. }) => error.code,
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[test]
fn bad_input_is_refused_with_a_code_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    devnet(dir.path());
    let node = Node::start(&dir.path().join("node"));
    let c = node.client();
    let (miner, buyer, stranger, gone) = (
        key(dir.path(), "bw-miner"),
        key(dir.path(), "cf-buyer"),
        Keypair::from_seed([77; 32]),
        key(dir.path(), "bw-exporter"),
    );
    register(&node, "BW", &miner.public(), vec![Role::Miner]);
    register(&node, "CF", &buyer.public(), vec![Role::Trader]);
    register(&node, "BW", &gone.public(), vec![Role::Miner]);
    c.action(
        Some("BW"),
        Body::RevokeLicensee(LicenseeRevocation { licensee: gone.public(), reason: "licence expired".into() }),
    )
    .unwrap();
    let before = c.status().unwrap();
    let records = format!("{}/v1/records", node.url());
    let entries = format!("{}/v1/entries", node.url());

    let (s, v) = post_raw(&records, "{not json", None);
    assert_eq!((s, code(&v)), (400, "api.bad_request"), "{v}");
    let (s, v) = post_raw(&records, json!({"record": "zz", "signature": "00"}).to_string(), None);
    assert_eq!((s, code(&v)), (400, "api.bad_request"), "{v}");
    let (s, v) =
        post_raw(&records, json!({"record": "00", "signature": "00".repeat(64), "extra": 1}).to_string(), None);
    assert_eq!((s, code(&v)), (400, "api.bad_request"), "unknown fields are refused: {v}");

    let good = sign_record(NETWORK, &miner, 1, production("BW/1", 100));
    let send = |bytes: &[u8], sig: &kp_schemas::SignatureBytes| {
        post_raw(&records, json!({"record": hex::encode(bytes), "signature": sig.to_hex()}).to_string(), None)
    };
    let (s, v) = send(&good.bytes()[..good.bytes().len() - 1], &good.signature());
    assert_eq!(s, 400, "truncated record: {v}");
    assert!(code(&v).starts_with("R9."), "{v}");
    let (s, v) = send(&[good.bytes(), &[0]].concat(), &good.signature());
    assert_eq!((s, code(&v)), (400, "R9.trailing_bytes"), "{v}");
    let mut bad_sig = good.signature();
    bad_sig.0[10] ^= 1;
    let (s, v) = send(good.bytes(), &bad_sig);
    assert_eq!((s, code(&v)), (422, "R1.bad_signature"), "{v}");
    assert_eq!(v["rule"], "R1");

    let entry = {
        let authority = kp_client::keyfile::load(&dir.path().join("node/keys/authority-BW.json")).unwrap();
        let head = c.logs().unwrap().into_iter().find(|h| h.author == authority.public()).unwrap().head;
        kp_schemas::SignedEntry::sign(
            Entry {
                network: NETWORK.into(),
                author: authority.public(),
                seq: head.seq + 1,
                prev: head.hash,
                timestamp_ms: head.timestamp_ms,
                context: vec![],
                body: Body::Countersigned(good.to_countersigned()),
            },
            &authority,
        )
    };
    let (s, v) = post_raw(&entries, json!({"entry": hex::encode(&entry.bytes()[..40])}).to_string(), None);
    assert_eq!(s, 400, "truncated entry: {v}");
    let mut padded = entry.bytes().to_vec();
    padded.insert(padded.len() - 64, 0);
    let (s, v) = post_raw(&entries, json!({"entry": hex::encode(&padded)}).to_string(), None);
    assert!(s == 400 || code(&v) == "R1.bad_signature", "padded entry: {s} {v}");

    assert_eq!(
        api_code(c.submit_record(&sign_record(NETWORK, &miner, 2, production(&"L".repeat(65), 100)))),
        "R9.too_long"
    );
    let (s, v) = post_raw(&records, vec![b' '; 300 * 1024], None);
    assert_eq!((s, code(&v)), (413, "api.too_large"), "{v}");
    assert_eq!(
        api_code(c.submit_record(&sign_record(NETWORK, &stranger, 3, production("BW/2", 100)))),
        "R2.unknown_licensee"
    );
    assert_eq!(
        api_code(c.submit_record(&sign_record(NETWORK, &gone, 4, production("BW/3", 100)))),
        "R2.licensee_revoked"
    );
    assert_eq!(api_code(c.submit_record(&sign_record(NETWORK, &buyer, 5, production("CF/9", 100)))), "R2.role");
    assert_eq!(
        api_code(c.submit_record(&sign_record("other-net", &miner, 6, production("BW/4", 100)))),
        "R2.wrong_network"
    );
    let (s, v) = post_raw(
        &format!("{}/v1/actions", node.url()),
        json!({"body": {"revoke_licensee": {"licensee": miner.public(), "reason": "x"}}}).to_string(),
        None,
    );
    assert_eq!((s, code(&v)), (401, "api.unauthorized"), "{v}");
    let (s, v) = post_raw(&format!("{}/v1/actions", node.url()), "{}", Some("wrong"));
    assert_eq!((s, code(&v)), (401, "api.unauthorized"), "{v}");

    // Proofs, checkpoints and bundles: bad queries get codes too.
    let get = |path: &str| -> (u16, Value) {
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        let mut resp = agent.get(format!("{}{path}", node.url())).call().expect("node answers");
        (resp.status().as_u16(), resp.body_mut().read_json().unwrap_or(Value::Null))
    };
    let bw = c.logs().unwrap().into_iter().find(|h| h.name == "BW authority").unwrap().author.to_hex();
    for (path, status, want) in [
        ("/v1/proofs/inclusion?entry=zz".to_string(), 400, "api.bad_request"),
        (format!("/v1/proofs/inclusion?entry={}", "00".repeat(32)), 404, "api.not_found"),
        (format!("/v1/proofs/consistency?log={bw}&from=0"), 400, "merkle.bad_sizes"),
        (format!("/v1/proofs/consistency?log={bw}&from=3&to=2"), 400, "merkle.bad_sizes"),
        (format!("/v1/proofs/consistency?log={bw}&from=1&to=1000000"), 404, "merkle.out_of_range"),
        ("/v1/logs/nothex/checkpoints".to_string(), 400, "api.bad_request"),
        ("/v1/bundles/certificate/BW-999999".to_string(), 404, "R7.unknown_certificate"),
        ("/v1/bundles/lot/BW/no-such-lot".to_string(), 404, "R4.unknown_lot"),
    ] {
        let (s, v) = get(&path);
        assert_eq!((s, code(&v)), (status, want), "{path}: {v}");
    }

    let after = c.status().unwrap();
    assert_eq!(after.entries, before.entries, "a refusal stored something");
    assert!(c.lot("BW", "BW/1").is_err());
    assert_eq!(c.healthz().unwrap().trim(), "ok");

    // The node still accepts good input after all of that.
    c.submit_record(&good).unwrap();
    assert_eq!(c.lot("BW", "BW/1").unwrap().lot.remaining, 100);
    // The same signed record is accepted once (R3).
    assert_eq!(api_code(c.submit_record(&good)), "R3.duplicate_record");
}

#[test]
fn concurrent_submissions_spending_one_lot_accept_exactly_one() {
    let dir = tempfile::tempdir().unwrap();
    devnet(dir.path());
    let node = Node::start(&dir.path().join("node"));
    let miner = key(dir.path(), "bw-miner");
    let exporter = key(dir.path(), "bw-exporter");
    register(&node, "BW", &miner.public(), vec![Role::Miner]);
    register(&node, "BW", &exporter.public(), vec![Role::Exporter]);
    node.client().submit_record(&sign_record(NETWORK, &miner, 1, production("BW/LOT", 1000))).unwrap();
    let miner = Arc::new(miner);
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let (c, miner, to) = (node.client(), miner.clone(), exporter.public());
            std::thread::spawn(move || {
                let body = RecordBody::Transfer(Transfer {
                    inputs: vec![Take { lot: "BW/LOT".into(), weight: 1000 }],
                    outputs: vec![Output { lot: format!("BW/OUT/{i}"), weight: 1000, holder: to }],
                    date: "2017-01-02".into(),
                });
                c.submit_record(&sign_record(NETWORK, &miner, 100 + i, body))
            })
        })
        .collect();
    let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let accepted = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(accepted, 1, "{results:?}");
    for r in results.into_iter().filter(|r| r.is_err()) {
        let code = api_code(r);
        assert!(code == "R5.already_spent" || code == "R5.overspend", "{code}");
    }
    assert_eq!(node.client().lot("BW", "BW/LOT").unwrap().lot.remaining, 0);
}

#[test]
fn kill_9_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    devnet(dir.path());
    let data = dir.path().join("node");
    let mut node = Node::start(&data);
    let miner = Arc::new(key(dir.path(), "bw-miner"));
    register(&node, "BW", &miner.public(), vec![Role::Miner]);

    let writers: Vec<_> = (0..4)
        .map(|t| {
            let (c, miner) = (node.client(), miner.clone());
            std::thread::spawn(move || {
                (0..100)
                    .map(|i| {
                        c.submit_record(&sign_record(
                            NETWORK,
                            &miner,
                            t * 1000 + i,
                            production(&format!("BW/K/{t}/{i}"), 100 + i),
                        ))
                        .unwrap()
                        .hash
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let acked: Vec<_> = writers.into_iter().flat_map(|w| w.join().unwrap()).collect();
    node.kill9();

    node.restart();
    let c = node.client();
    for h in &acked {
        c.entry(h).unwrap_or_else(|e| panic!("acknowledged entry {h} lost: {e}"));
    }
    assert_eq!(c.status().unwrap().entries, 1 + 400);
    // The log goes on from where it stopped.
    c.submit_record(&sign_record(NETWORK, &miner, 99_999, production("BW/AFTER", 5))).unwrap();
    node.stop();

    let check = std::process::Command::new(bin("kp-node")).args(["check", "--data"]).arg(&data).output().unwrap();
    assert!(check.status.success(), "rebuild differs: {}{}", stdout(&check), stderr(&check));
    assert!(stdout(&check).contains("402 entries"), "{}", stdout(&check));
}
