//! `kp` against a scripted stand-in for the node on loopback: the requests
//! it sends (paths, bearer cookie, signed records) and how it reports each
//! class of answer. The real node is exercised by the end-to-end tests.

use kp_schemas::api::{ApiError, Status, SubmitRecord, Submitted};
use kp_schemas::model::{Body, RecordBody};
use kp_schemas::{Hash32, PublicKey, SignedRecord};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone)]
struct Request {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("request body is JSON")
    }
}

type Handler = dyn Fn(&Request) -> (u16, String) + Send + Sync;

struct FakeNode {
    url: String,
    seen: Arc<Mutex<Vec<Request>>>,
}

impl FakeNode {
    /// Serves every connection with `handler`, one request per connection,
    /// until the test process ends.
    fn start(handler: impl Fn(&Request) -> (u16, String) + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let handler: Arc<Handler> = Arc::new(handler);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let Some(req) = read_request(&mut stream) else {
                    continue;
                };
                let (status, body) = handler(&req);
                log.lock().unwrap().push(req);
                let head = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(body.as_bytes()));
            }
        });
        Self { url, seen }
    }

    fn requests(&self) -> Vec<Request> {
        self.seen.lock().unwrap().clone()
    }

    fn kp(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_kp"))
            .arg("--node")
            .arg(&self.url)
            .args(args)
            .env_remove("KP_KEY")
            .env_remove("KP_COOKIE")
            .output()
            .unwrap()
    }
}

fn read_request(stream: &mut std::net::TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next()?.to_string(), parts.next()?.to_string());
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let len = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .map_or(0, |(_, v)| v.parse::<usize>().unwrap());
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some(Request { method, target, headers, body })
}

fn status_json() -> String {
    serde_json::to_string(&Status {
        network: "kp-test".into(),
        roster_hash: Hash32([7; 32]),
        version: "0.1.0".into(),
        writes: vec!["CF".into()],
        logs: vec![],
        entries: 0,
        evidence: vec![],
    })
    .unwrap()
}

fn submitted_json(flags: &[&str]) -> String {
    serde_json::to_string(&Submitted {
        hash: Hash32([0xcd; 32]),
        author: PublicKey([1; 32]),
        author_name: "CF authority".into(),
        seq: 3,
        duplicate: false,
        flags: flags.iter().map(|f| f.to_string()).collect(),
    })
    .unwrap()
}

fn error_json(code: &str, message: &str) -> String {
    serde_json::to_string(&ApiError::new(code, message)).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn new_key(dir: &std::path::Path) -> (std::path::PathBuf, kp_schemas::Keypair) {
    let path = dir.join("licensee.key");
    let key = kp_client::keyfile::generate(&path).unwrap();
    (path, key)
}

#[test]
fn a_record_is_signed_for_the_nodes_network_and_submitted() {
    let node = FakeNode::start(|r| match (r.method.as_str(), r.target.as_str()) {
        ("GET", "/v1/status") => (200, status_json()),
        ("POST", "/v1/records") => (201, submitted_json(&["R6: lot CF/BRI/1 is non-compliant"])),
        _ => (404, error_json("api.not_found", "no route")),
    });
    let dir = tempfile::tempdir().unwrap();
    let (path, key) = new_key(dir.path());
    let status_hash = "ef".repeat(32);
    let out = node.kp(&[
        "--key",
        path.to_str().unwrap(),
        "produce",
        "--lot",
        "CF/BRI/1",
        "--site",
        "Pit 9",
        "--zone",
        "BRI",
        "--zone-status",
        &status_hash,
        "--weight",
        "12.34",
        "--stones",
        "40",
        "--date",
        "2017-10-02",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with(&format!("accepted: entry {} (#3 in the log of CF authority)\n", "cd".repeat(32))),
        "{text}"
    );
    assert!(text.contains("flag: R6: lot CF/BRI/1 is non-compliant"));

    let reqs = node.requests();
    let post = reqs.iter().find(|r| r.method == "POST").unwrap();
    assert_eq!(post.target, "/v1/records");
    assert!(post.header("authorization").is_none(), "records carry no cookie");
    let submit: SubmitRecord = serde_json::from_slice(&post.body).unwrap();
    let signed = SignedRecord::parse(submit.record.0, submit.signature).unwrap();
    signed.verify().unwrap();
    let record = signed.record();
    assert_eq!(record.network, "kp-test");
    assert_eq!(record.licensee, key.public());
    assert!(record.nonce > 0);
    let RecordBody::Production(p) = &record.body else { panic!("{record:?}") };
    assert_eq!((p.lot.as_str(), p.weight, p.stones, p.date.as_str()), ("CF/BRI/1", 1234, 40, "2017-10-02"));
    let zone = p.zone.as_ref().unwrap();
    assert_eq!((zone.zone.as_str(), zone.status_entry.unwrap().to_hex()), ("BRI", status_hash));
}

#[test]
fn each_class_of_answer_has_its_exit_code() {
    let node = FakeNode::start(|r| match r.target.as_str() {
        "/v1/status" => (200, status_json()),
        "/v1/records" => (422, error_json("R5.overspend", "lot A has 1.00 ct left, 2.00 ct was taken")),
        "/v1/certificates/CF-404" => (404, error_json("api.not_found", "no certificate CF-404")),
        "/v1/certificates/CF-400" => (400, error_json("api.bad_request", "bad number")),
        "/v1/certificates/CF-503" => (503, error_json("api.unavailable", "shutting down")),
        "/v1/certificates/CF-500" => (500, "oops".into()),
        "/v1/certificates/CF-BAD" => (200, "{\"not\": \"a certificate\"}".into()),
        _ => (404, String::new()),
    });
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = new_key(dir.path());
    let out = node.kp(&[
        "--key",
        path.to_str().unwrap(),
        "transfer",
        "--in",
        "A=2",
        "--out",
        &format!("B=2@{}", "00".repeat(32)),
        "--date",
        "2017-10-01",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out), "error: R5.overspend: lot A has 1.00 ct left, 2.00 ct was taken\n");

    for (cert, code, line) in [
        ("CF-404", 4, "error: api.not_found: no certificate CF-404\n"),
        ("CF-400", 2, "error: api.bad_request: bad number\n"),
        ("CF-503", 3, "error: api.unavailable: shutting down\n"),
        ("CF-500", 3, "error: api.http_error: HTTP 500: oops\n"),
    ] {
        let out = node.kp(&["cert", "show", cert]);
        assert_eq!(out.status.code(), Some(code), "{cert}");
        assert_eq!(stderr(&out), line);
    }
    let out = node.kp(&["cert", "show", "CF-BAD"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr(&out).starts_with("error: client.bad_response: "), "{}", stderr(&out));
    let out = node.kp(&["lot", "show", "CF", "NOPE"]);
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(stderr(&out), "error: api.not_found: HTTP 404\n");
}

#[test]
fn actions_carry_the_cookie_and_the_author() {
    let node = FakeNode::start(|r| match (r.method.as_str(), r.target.as_str()) {
        ("POST", "/v1/actions") if r.header("authorization") == Some("Bearer s3cret") => (201, submitted_json(&[])),
        ("POST", "/v1/actions") => (401, error_json("api.unauthorized", "wrong cookie")),
        _ => (404, String::new()),
    });
    let dir = tempfile::tempdir().unwrap();
    let cookie = dir.path().join(".cookie");
    std::fs::write(&cookie, "s3cret\n").unwrap();
    let licensee = "11".repeat(32);
    let out = node.kp(&[
        "--cookie",
        cookie.to_str().unwrap(),
        "--json",
        "licensee",
        "register",
        "--key-of",
        &licensee,
        "--name",
        "Mine A",
        "--role",
        "miner",
        "--role",
        "trader",
        "--as",
        "CF",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let submitted: Submitted = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(submitted.seq, 3);

    let req = node.requests().pop().unwrap();
    let body = req.json();
    assert_eq!(body["as"], "CF");
    assert_eq!(body["body"]["register_licensee"]["licensee"], licensee.as_str());
    assert_eq!(body["body"]["register_licensee"]["roles"], serde_json::json!(["miner", "trader"]));
    let action: kp_schemas::api::Action = serde_json::from_value(body).unwrap();
    assert!(matches!(action.body, Body::RegisterLicensee(_)));

    // Chair actions name the chair; attestations leave the choice to the node.
    let out = node.kp(&["--cookie", cookie.to_str().unwrap(), "governance", "suspend", "CF", "--reason", "audit"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let body = node.requests().pop().unwrap().json();
    assert_eq!(body["as"], "chair");
    assert_eq!(body["body"]["governance"]["suspend_participant"]["code"], "CF");
    let out = node.kp(&[
        "--cookie",
        cookie.to_str().unwrap(),
        "attest",
        "--lot",
        "CF/CF/BER/1",
        "--kind",
        "forged-certificate",
        "--note",
        "n",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let body = node.requests().pop().unwrap().json();
    assert!(body["as"].is_null());
    assert_eq!(body["body"]["attestation"]["subject"]["lot"]["lot"], "CF/BER/1");
    assert_eq!(body["body"]["attestation"]["kind"], "forged_certificate");

    std::fs::write(&cookie, "wrong").unwrap();
    let out = node.kp(&["--cookie", cookie.to_str().unwrap(), "governance", "reinstate", "CF"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr(&out), "error: api.unauthorized: wrong cookie\n");
}

#[test]
fn import_confirmation_looks_up_the_certificate_entry() {
    let cert_entry = Hash32([0x42; 32]);
    let cert = serde_json::json!({
        "number": "CF-000001", "exporter": "CF", "importer": "EU", "exporter_licensee": "22".repeat(32),
        "consignee": "Antwerp BV", "entry": cert_entry, "seq": 7, "inputs": [{"lot": "M", "weight": 1000}],
        "lines": [{"code": "7102.31", "weight": 1000, "value_cents": 500000}], "weight": 1000,
        "value_cents": 500000, "parcels": 2, "issued": "2017-11-01", "expires": "2018-01-31",
        "nature": "natural", "zones": [], "confirmation": null
    })
    .to_string();
    let node = FakeNode::start(move |r| match (r.method.as_str(), r.target.as_str()) {
        ("GET", "/v1/certificates/CF-000001") => (200, cert.clone()),
        ("POST", "/v1/actions") => (201, submitted_json(&[])),
        _ => (404, String::new()),
    });
    let dir = tempfile::tempdir().unwrap();
    let cookie = dir.path().join(".cookie");
    std::fs::write(&cookie, "t").unwrap();
    let holder = "33".repeat(32);
    let out = node.kp(&[
        "--cookie",
        cookie.to_str().unwrap(),
        "import",
        "confirm",
        "--cert",
        "CF-000001",
        "--weight",
        "10",
        "--parcels",
        "2",
        "--lot",
        "EU/ANR/1",
        "--holder",
        &holder,
        "--date",
        "2017-11-20",
        "--as",
        "EU",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let body = node.requests().pop().unwrap().json();
    let c = &body["body"]["import_confirmation"];
    assert_eq!(c["exporter"], "CF");
    assert_eq!(c["certificate_entry"], cert_entry.to_hex().as_str());
    assert_eq!(c["weight"], 1000);
    assert_eq!(c["holder"], holder.as_str());
}

#[test]
fn reads_use_the_documented_routes() {
    let author = PublicKey([9; 32]);
    let logs = serde_json::json!([{"author": author, "name": "CF authority",
        "head": {"seq": 2, "hash": Hash32([1; 32]), "timestamp_ms": 0, "frozen": false}}])
    .to_string();
    let page = serde_json::json!({"author": author, "entries": [], "next": null}).to_string();
    let node = FakeNode::start(move |r| match r.target.as_str() {
        "/v1/logs" => (200, logs.clone()),
        t if t.starts_with("/v1/logs/") => (200, page.clone()),
        "/v1/zones?participant=CF" => (200, "[]".into()),
        _ => (404, error_json("R4.unknown_lot", "lot CF/BER/1 of CF does not exist")),
    });
    let out = node.kp(&["log", "CF", "--from", "2", "--limit", "10"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "no entries\n");
    let out = node.kp(&["zones", "--participant", "CF"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = node.kp(&["trail", "lot", "CF", "CF/BER/1", "--today", "2018-01-01"]);
    assert_eq!(out.status.code(), Some(4));
    let out = node.kp(&["trail", "cert", "CF-000001"]);
    assert_eq!(out.status.code(), Some(4));
    let out = node.kp(&["log", "XX"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("logs here: CF authority"), "{}", stderr(&out));

    let targets: Vec<String> = node.requests().into_iter().map(|r| r.target).collect();
    assert!(targets.contains(&format!("/v1/logs/{author}?from=2&limit=10")), "{targets:?}");
    assert!(targets.contains(&"/v1/trail/lot/CF/CF/BER/1?today=2018-01-01".to_string()), "{targets:?}");
    assert!(targets.contains(&"/v1/trail/certificate/CF-000001".to_string()), "{targets:?}");
}

#[test]
fn a_licensee_is_shown_by_key() {
    let key = PublicKey([7; 32]);
    let licensee = serde_json::json!({"key": key, "participant": "CF", "name": "Mine SA", "roles": ["miner"],
        "active": true, "registered_by": Hash32([2; 32])})
    .to_string();
    let node = FakeNode::start(move |r| match r.target.as_str() {
        t if t == format!("/v1/licensees/{key}") => (200, licensee.clone()),
        _ => (404, error_json("api.not_found", "no such licensee")),
    });
    let out = node.kp(&["licensee", "show", &key.to_hex()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("licensee     Mine SA\n"), "{}", stdout(&out));
    let out = node.kp(&["licensee", "show", &PublicKey([8; 32]).to_hex()]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
}
