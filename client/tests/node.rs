//! `kp` against a real node started in this test process (RocksDB in a
//! temporary folder, the HTTP API on loopback): the requests it sends
//! (paths, bearer cookie, signed records, the author it names) and how it
//! reports each class of answer. `kp` talks to the node through a small
//! proxy that records every request; for a few answers that no correct node
//! gives (a 500 without a JSON body, a 200 that is not what was asked, a
//! 404 with an empty body) the proxy answers itself, as a misbehaving node
//! would, so that the client's handling of them stays tested.

use kp_client::Client;
use kp_node::node::{self, NodeConfig, RunningNode, layout};
use kp_schemas::api::{ApiError, SubmitRecord, Submitted};
use kp_schemas::entry::sign_record;
use kp_schemas::model::*;
use kp_schemas::{Hash32, Keypair, PublicKey, SignedRecord, reference, roster};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

const NETWORK: &str = "kp-test";

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

/// What the proxy does with a request: pass it to the node, or answer
/// itself with a status and a body.
enum Answer {
    Node,
    Own(u16, String),
}

type Script = dyn Fn(&Request) -> Answer + Send + Sync;

/// Records every request, and passes it to the node unless the script
/// answers it.
struct Proxy {
    url: String,
    seen: Arc<Mutex<Vec<Request>>>,
}

impl Proxy {
    /// Serves every connection, one request per connection, until the test
    /// process ends.
    fn start(node: SocketAddr, script: Arc<Script>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let Some(req) = read_request(&mut stream) else {
                    continue;
                };
                let answer = match script(&req) {
                    Answer::Node => forward(node, &req),
                    Answer::Own(status, body) => {
                        let mut head = format!(
                            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                            body.len()
                        )
                        .into_bytes();
                        head.extend_from_slice(body.as_bytes());
                        head
                    }
                };
                log.lock().unwrap().push(req);
                let _ = stream.write_all(&answer);
            }
        });
        Self { url, seen }
    }
}

fn read_request(stream: &mut TcpStream) -> Option<Request> {
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

/// The node's whole answer to `req`, sent on a connection of its own that
/// the node closes once it has answered.
fn forward(node: SocketAddr, req: &Request) -> Vec<u8> {
    let mut s = TcpStream::connect(node).unwrap();
    let mut head = format!("{} {} HTTP/1.1\r\n", req.method, req.target);
    for (k, v) in req.headers.iter().filter(|(k, _)| !k.eq_ignore_ascii_case("connection")) {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("connection: close\r\n\r\n");
    s.write_all(head.as_bytes()).and_then(|()| s.write_all(&req.body)).unwrap();
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).unwrap();
    answer
}

/// A node of a development network of the reference participants holding
/// every key (each authority, the MT-CF monitor, the chair), started in
/// this process, behind a [`Proxy`].
struct TestNode {
    rt: tokio::runtime::Runtime,
    node: Option<RunningNode>,
    proxy: Proxy,
    /// Straight to the node, with its cookie: sets the ledger up.
    client: Client,
    cookie: PathBuf,
    keys: Vec<(String, Keypair)>,
    nonce: AtomicU64,
    dir: tempfile::TempDir,
}

impl TestNode {
    fn start() -> Self {
        Self::start_with(|_| Answer::Node)
    }

    fn start_with(script: impl Fn(&Request) -> Answer + Send + Sync + 'static) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("node");
        let keys_dir = data.join(layout::KEYS);
        std::fs::create_dir_all(&keys_dir).unwrap();
        let key = |i: u8| Keypair::from_seed([0x60 + i; 32]);
        let (chair, monitor) = (key(0), key(1));
        let mut keys = vec![("chair".to_string(), chair.clone()), (reference::MONITOR_ID.to_string(), monitor.clone())];
        let participants = reference::PARTICIPANTS
            .iter()
            .zip(2u8..)
            .map(|((code, name, zone_regime), i)| {
                keys.push((code.to_string(), key(i)));
                Participant {
                    code: code.to_string(),
                    name: name.to_string(),
                    authority: key(i).public(),
                    zone_regime: *zone_regime,
                    nodes: vec![],
                }
            })
            .collect();
        for (name, k) in &keys {
            kp_client::keyfile::write(&keys_dir.join(format!("{name}.json")), k).unwrap();
        }
        let r = Roster {
            network: NETWORK.into(),
            version: 1,
            chair: chair.public(),
            participants,
            monitors: vec![Monitor {
                id: reference::MONITOR_ID.into(),
                name: "Monitoring team MT-CF".into(),
                key: monitor.public(),
                scope: vec!["CF".into()],
                nodes: vec![],
            }],
            observers: vec![],
        };
        std::fs::write(data.join(layout::ROSTER), serde_json::to_vec(&roster::sign(r, &chair)).unwrap()).unwrap();
        let cfg = NodeConfig {
            data_dir: data.clone(),
            http: "127.0.0.1:0".parse().unwrap(),
            roster: None,
            p2p: None,
            checkpoints: Default::default(),
        };
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let node = rt.block_on(node::start(&cfg)).unwrap();
        let proxy = Proxy::start(node.addr, Arc::new(script));
        let client = Client::new(node.url()).with_cookie(node.cookie.clone());
        Self {
            rt,
            node: Some(node),
            proxy,
            client,
            cookie: data.join(layout::COOKIE),
            keys,
            nonce: AtomicU64::new(1),
            dir,
        }
    }

    fn requests(&self) -> Vec<Request> {
        self.proxy.seen.lock().unwrap().clone()
    }

    fn kp(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_kp"))
            .arg("--node")
            .arg(&self.proxy.url)
            .args(args)
            .env_remove("KP_KEY")
            .env_remove("KP_COOKIE")
            .output()
            .unwrap()
    }

    fn cookie(&self) -> &str {
        self.cookie.to_str().unwrap()
    }

    fn author(&self, name: &str) -> PublicKey {
        self.keys.iter().find(|(n, _)| n == name).unwrap().1.public()
    }

    /// The node signs `body` as `who`.
    fn act(&self, who: &str, body: Body) -> Submitted {
        self.client.action(Some(who), body).unwrap_or_else(|e| panic!("{who}: {e}"))
    }

    /// A new licensee of `participant`, registered by its authority, with
    /// its key file in the test folder.
    fn licensee(&self, participant: &str, name: &str, roles: &[Role]) -> (PathBuf, Keypair) {
        let path = self.dir.path().join(format!("{name}.key"));
        let key = kp_client::keyfile::generate(&path).unwrap();
        let body = Body::RegisterLicensee(LicenseeRegistration {
            licensee: key.public(),
            name: name.into(),
            roles: roles.to_vec(),
        });
        self.act(participant, body);
        (path, key)
    }

    /// The MT-CF monitor declares a zone of CF.
    fn zone(&self, zone: &str, status: ZoneState) -> Hash32 {
        let body = Body::ZoneStatus(ZoneStatus {
            participant: "CF".into(),
            zone: zone.into(),
            name: zone.into(),
            status,
            effective: "2016-06-01".into(),
            previous: None,
        });
        self.act(reference::MONITOR_ID, body).hash
    }

    /// A licensee's record, submitted straight to the node.
    fn record(&self, key: &Keypair, body: RecordBody) -> Submitted {
        let rec = sign_record(NETWORK, key, self.nonce.fetch_add(1, Ordering::Relaxed), body);
        self.client.submit_record(&rec).unwrap()
    }

    /// A compliant production of CF, in zone BER.
    fn produce(&self, miner: &Keypair, lot: &str, weight: Weight) -> Hash32 {
        let status = self.zone("BER", ZoneState::Compliant);
        let body = RecordBody::Production(Production {
            lot: lot.into(),
            site: "Pit 1".into(),
            zone: Some(ZoneRef { zone: "BER".into(), status_entry: Some(status) }),
            weight,
            stones: 10,
            date: "2017-10-01".into(),
            nature: Nature::Natural,
            value_cents: None,
        });
        self.record(miner, body).hash
    }
}

impl Drop for TestNode {
    fn drop(&mut self) {
        if let Some(n) = self.node.take() {
            let _ = self.rt.block_on(n.stop());
        }
    }
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

/// The error line `kp` prints for what the node answers `r` with.
fn error_line<T: std::fmt::Debug>(r: Result<T, kp_client::ClientError>) -> String {
    let e = r.unwrap_err();
    format!("error: {}: {}\n", e.code(), e.message())
}

#[test]
fn a_record_is_signed_for_the_nodes_network_and_submitted() {
    let node = TestNode::start();
    let (path, key) = node.licensee("CF", "Bria Cooperative", &[Role::Miner]);
    let status_hash = node.zone("BRI", ZoneState::Suspended).to_hex();
    // A cookie at hand is not sent with a record: the licensee signs it.
    let out = node.kp(&[
        "--key",
        path.to_str().unwrap(),
        "--cookie",
        node.cookie(),
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
    let hash = text.strip_prefix("accepted: entry ").and_then(|t| t.get(..64)).expect(&text);
    let entry = node.client.entry(&Hash32::from_hex(hash).unwrap()).unwrap();
    assert_eq!(entry.author, node.author("CF"));
    assert!(
        text.starts_with(&format!("accepted: entry {hash} (#{} in the log of CF authority)\n", entry.seq)),
        "{text}"
    );
    assert!(text.contains("flag: R6: lot CF/BRI/1 is non-compliant"), "{text}");

    let reqs = node.requests();
    let post = reqs.iter().find(|r| r.method == "POST").unwrap();
    assert_eq!(post.target, "/v1/records");
    assert!(post.header("authorization").is_none(), "records carry no cookie");
    let submit: SubmitRecord = serde_json::from_slice(&post.body).unwrap();
    // The node countersigned the record as the licensee signed it.
    let Body::Countersigned(carried) = &entry.body else { panic!("{:?}", entry.body) };
    assert_eq!((&carried.record, carried.signature), (&submit.record, submit.signature));
    let signed = SignedRecord::parse(submit.record.0, submit.signature).unwrap();
    signed.verify().unwrap();
    let record = signed.record();
    assert_eq!(entry.record.as_ref(), Some(record));
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
    // Answers a correct node does not give, from the proxy; the rest from
    // the node.
    let node = TestNode::start_with(|r| match r.target.as_str() {
        "/v1/certificates/CF-400" => Answer::Own(400, error_json("api.bad_request", "bad number")),
        "/v1/certificates/CF-503" => Answer::Own(503, error_json("api.unavailable", "shutting down")),
        "/v1/certificates/CF-500" => Answer::Own(500, "oops".into()),
        "/v1/certificates/CF-BAD" => Answer::Own(200, "{\"not\": \"a certificate\"}".into()),
        "/v1/lots/CF/NOPE" => Answer::Own(404, String::new()),
        _ => Answer::Node,
    });
    let (path, miner) = node.licensee("CF", "Mine A", &[Role::Miner, Role::Trader]);
    node.produce(&miner, "CF/A", 100);
    let out = node.kp(&[
        "--key",
        path.to_str().unwrap(),
        "transfer",
        "--in",
        "CF/A=2",
        "--out",
        &format!("CF/B=2@{}", miner.public()),
        "--date",
        "2017-10-02",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(stderr(&out), "error: R5.overspend: lot CF/A has 1.00 ct left, 2.00 ct was taken\n");

    let out = node.kp(&["cert", "show", "CF-404"]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert_eq!(stderr(&out), error_line(node.client.certificate("CF-404")));
    assert!(stderr(&out).starts_with("error: api.not_found: "), "{}", stderr(&out));
    for (cert, code, line) in [
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
    let node = TestNode::start();
    let cookie = std::fs::read_to_string(node.cookie()).unwrap();
    let licensee = Keypair::from_seed([0x11; 32]).public().to_hex();
    let out = node.kp(&[
        "--cookie",
        node.cookie(),
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
    assert_eq!((submitted.author, submitted.seq), (node.author("CF"), 1));

    let req = node.requests().pop().unwrap();
    assert_eq!((req.method.as_str(), req.target.as_str()), ("POST", "/v1/actions"));
    assert_eq!(req.header("authorization"), Some(format!("Bearer {}", cookie.trim()).as_str()));
    let body = req.json();
    assert_eq!(body["as"], "CF");
    assert_eq!(body["body"]["register_licensee"]["licensee"], licensee.as_str());
    assert_eq!(body["body"]["register_licensee"]["roles"], serde_json::json!(["miner", "trader"]));
    let action: kp_schemas::api::Action = serde_json::from_value(body).unwrap();
    assert!(matches!(action.body, Body::RegisterLicensee(_)));
    let registered = node.client.licensee(&PublicKey::from_hex(&licensee).unwrap()).unwrap();
    assert_eq!(
        (registered.participant.as_str(), registered.name.as_str(), registered.roles, registered.registered_by),
        ("CF", "Mine A", vec![Role::Miner, Role::Trader], submitted.hash)
    );

    // Attestations leave the choice of the key to the node: this one holds
    // several that may write one, so it asks for a name.
    let miner = Keypair::from_seed([0x12; 32]);
    node.act(
        "CF",
        Body::RegisterLicensee(LicenseeRegistration {
            licensee: miner.public(),
            name: "Mine B".into(),
            roles: vec![Role::Miner],
        }),
    );
    node.produce(&miner, "CF/BER/1", 100);
    let attest =
        ["--cookie", node.cookie(), "attest", "--lot", "CF/CF/BER/1", "--kind", "forged-certificate", "--note", "n"];
    let out = node.kp(&attest);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).starts_with("error: api.ambiguous_author: "), "{}", stderr(&out));
    let body = node.requests().pop().unwrap().json();
    assert!(body["as"].is_null());
    assert_eq!(body["body"]["attestation"]["subject"]["lot"]["lot"], "CF/BER/1");
    assert_eq!(body["body"]["attestation"]["kind"], "forged_certificate");
    let out = node.kp(&[&attest[..], &["--as", "MT-CF"]].concat());
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("in the log of MT-CF)"), "{}", stdout(&out));
    assert_eq!(node.requests().pop().unwrap().json()["as"], "MT-CF");

    // Chair actions name the chair.
    let out = node.kp(&["--cookie", node.cookie(), "governance", "suspend", "CF", "--reason", "audit"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("in the log of chair)"), "{}", stdout(&out));
    let body = node.requests().pop().unwrap().json();
    assert_eq!(body["as"], "chair");
    assert_eq!(body["body"]["governance"]["suspend_participant"]["code"], "CF");

    let wrong = node.dir.path().join("wrong-cookie");
    std::fs::write(&wrong, "wrong").unwrap();
    let out = node.kp(&["--cookie", wrong.to_str().unwrap(), "governance", "reinstate", "CF"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).starts_with("error: api.unauthorized: "), "{}", stderr(&out));
    assert_eq!(node.requests().pop().unwrap().header("authorization"), Some("Bearer wrong"));
}

#[test]
fn import_confirmation_looks_up_the_certificate_entry() {
    let node = TestNode::start();
    let (_, exporter) = node.licensee("CF", "Bangui Export", &[Role::Miner, Role::Exporter]);
    let (_, importer) = node.licensee("EU", "Antwerp BV", &[Role::Importer, Role::Trader]);
    node.produce(&exporter, "CF/M", 1000);
    let export = RecordBody::Export(Export {
        certificate: "CF-000001".into(),
        importer: "EU".into(),
        consignee: "Antwerp BV".into(),
        inputs: vec![Take { lot: "CF/M".into(), weight: 1000 }],
        lines: vec![HsLine { code: "7102.31".into(), weight: 1000, value_cents: 500_000 }],
        parcels: 2,
        issued: "2017-11-01".into(),
        expires: "2018-01-31".into(),
    });
    let cert_entry = node.record(&exporter, export).hash;
    let holder = importer.public().to_hex();
    let out = node.kp(&[
        "--cookie",
        node.cookie(),
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
    let reqs = node.requests();
    assert_eq!(reqs[0].target, "/v1/certificates/CF-000001");
    let body = reqs.last().unwrap().json();
    let c = &body["body"]["import_confirmation"];
    assert_eq!(c["exporter"], "CF");
    assert_eq!(c["certificate_entry"], cert_entry.to_hex().as_str());
    assert_eq!(c["weight"], 1000);
    assert_eq!(c["holder"], holder.as_str());
    // And the node recorded it so.
    let confirmation = node.client.certificate("CF-000001").unwrap().confirmation.expect("confirmed");
    assert_eq!((confirmation.weight, confirmation.parcels, confirmation.lot.as_str()), (1000, 2, "EU/ANR/1"));
    assert_eq!(node.client.lot("EU", "EU/ANR/1").unwrap().lot.holder, importer.public());
}

#[test]
fn reads_use_the_documented_routes() {
    let node = TestNode::start();
    for name in ["Mine A", "Mine B", "Mine C"] {
        node.licensee("CF", name, &[Role::Miner]);
    }
    let author = node.author("CF");
    let out = node.kp(&["log", "CF", "--from", "2", "--limit", "10"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let seqs: Vec<&str> = text.lines().filter_map(|l| l.split_whitespace().next()).collect();
    assert_eq!(seqs, ["#2", "#3"], "{text}");
    let out = node.kp(&["log", "CF", "--from", "4"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "no entries\n");
    let out = node.kp(&["zones", "--participant", "CF"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = node.kp(&["trail", "lot", "CF", "CF/BER/1", "--today", "2018-01-01"]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let out = node.kp(&["trail", "cert", "CF-000001"]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let out = node.kp(&["log", "XX"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("logs here: ") && stderr(&out).contains("CF authority"), "{}", stderr(&out));

    let targets: Vec<String> = node.requests().into_iter().map(|r| r.target).collect();
    assert!(targets.contains(&format!("/v1/logs/{author}?from=2&limit=10")), "{targets:?}");
    assert!(targets.contains(&"/v1/zones?participant=CF".to_string()), "{targets:?}");
    assert!(targets.contains(&"/v1/trail/lot/CF/CF/BER/1?today=2018-01-01".to_string()), "{targets:?}");
    assert!(targets.contains(&"/v1/trail/certificate/CF-000001".to_string()), "{targets:?}");
}

#[test]
fn a_licensee_is_shown_by_key() {
    let node = TestNode::start();
    let (_, key) = node.licensee("CF", "Mine SA", &[Role::Miner]);
    let out = node.kp(&["licensee", "show", &key.public().to_hex()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("licensee     Mine SA\n"), "{}", stdout(&out));
    let out = node.kp(&["licensee", "show", &Keypair::from_seed([8; 32]).public().to_hex()]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
}

/// The peer id libp2p gives an Ed25519 key: base58 of the identity
/// multihash of its protobuf encoding.
fn peer_id(seed: u8) -> String {
    const ALPHABET: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    let bytes = [&[0x00, 36, 0x08, 0x01, 0x12, 0x20][..], &[seed; 32]].concat();
    let mut digits: Vec<u8> = Vec::new();
    for &b in &bytes {
        let mut carry = u32::from(b);
        for d in digits.iter_mut() {
            carry += u32::from(*d) << 8;
            *d = (carry % 58) as u8;
            carry /= 58;
        }
        while carry > 0 {
            digits.push((carry % 58) as u8);
            carry /= 58;
        }
    }
    let zeros = bytes.iter().take_while(|&&b| b == 0).count();
    std::iter::repeat_n(b'1', zeros).chain(digits.iter().rev().map(|&d| ALPHABET[d as usize])).map(char::from).collect()
}

#[test]
fn membership_commands_make_roster_versions_that_kp_roster_shows() {
    let node = TestNode::start();
    let gov = |args: &[&str]| node.kp(&[&["--cookie", node.cookie(), "governance"][..], args].concat());
    let last_body = || node.requests().pop().unwrap().json()["body"]["governance"].clone();
    let (ga, ga_node, mt_node) = (Keypair::from_seed([0x70; 32]).public().to_hex(), peer_id(1), peer_id(2));

    // Bad input is refused before anything is sent.
    let before = node.requests().len();
    for (args, why) in [
        (
            vec!["admit", "GA", "--name", "Gabon", "--authority", &ga, "--peer", "12D3KooWnotapeer"],
            "not a libp2p peer id",
        ),
        (vec!["nodes", "GA", "--peer", &format!("{ga_node}@/ip4/1.2.3.4/tcp/99999")], "is not a port"),
        (vec!["nodes", "GA", "--peer", &format!("{ga_node}@ip4/1.2.3.4")], "starts with /"),
        (vec!["nodes", "M T", "--none"], "not a participant code or a monitor id"),
        (vec!["nodes", "GA"], "--peer"),
        (vec!["nodes", "GA", "--none", "--peer", &ga_node], "cannot be used with"),
        (vec!["rotate-key", "CF", "--new-key", &ga, "--statement", &"ab".repeat(64)], "--last"),
        (vec!["rotate-key", "CF", "--new-key", &ga, "--last", "3", "--statement", "abcd"], "not a signature"),
        (vec!["admit", "GA", "--name", "Gabon", "--authority", &ga, "--condition", " "], "says nothing"),
    ] {
        let out = gov(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(why), "{args:?}: {}", stderr(&out));
    }
    assert_eq!(node.requests().len(), before, "nothing was sent");

    // Admitted under conditions, with a node at two addresses.
    let out = gov(&[
        "admit",
        "GA",
        "--name",
        "Gabon",
        "--authority",
        &ga,
        "--peer",
        &format!("{ga_node}@/ip4/198.51.100.7/tcp/7171"),
        "--peer",
        &format!("{ga_node}@/dns4/ga.example.org/tcp/7171"),
        "--condition",
        "statistics",
        "--condition",
        "legislation",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let body = last_body();
    let admitted = &body["admit_conditionally"];
    assert_eq!(admitted["conditions"], serde_json::json!(["statistics", "legislation"]));
    assert_eq!(
        admitted["participant"]["nodes"],
        serde_json::json!([{"peer_id": ga_node, "addrs": ["/ip4/198.51.100.7/tcp/7171", "/dns4/ga.example.org/tcp/7171"]}])
    );
    let out =
        gov(&["admit", "ZW", "--name", "Zimbabwe", "--authority", &Keypair::from_seed([0x71; 32]).public().to_hex()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(last_body()["admit_participant"]["nodes"].as_array().unwrap().is_empty());

    let out = gov(&["lift", "GA", "--note", "met at the plenary"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(last_body()["lift_conditions"]["note"], "met at the plenary");
    let out = gov(&["lift", "GA", "--note", "again"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).starts_with("error: R2.no_change: "), "{}", stderr(&out));

    let out = gov(&["nodes", "MT-CF", "--peer", &mt_node]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(last_body()["set_nodes"]["nodes"], serde_json::json!([{"peer_id": mt_node, "addrs": []}]));
    let out = gov(&["nodes", "GA", "--none"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // A participant's node may be a monitor's too, but not another
    // participant's: the rules refuse it.
    let out = gov(&["nodes", "ZW", "--peer", &mt_node]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = gov(&["nodes", "CF", "--peer", &mt_node]);
    assert!(stderr(&out).starts_with("error: R2.node_in_use: "), "{}", stderr(&out));

    // A forced rotation: the chair's node closes CF's old log at its head.
    node.licensee("CF", "Mine A", &[Role::Miner]);
    let new_cf = Keypair::from_seed([0x72; 32]).public();
    let out = gov(&["rotate-key", "CF", "--new-key", &new_cf.to_hex()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rotated = last_body();
    assert_eq!((rotated["rotate_key"]["last"].as_u64(), rotated["rotate_key"]["statement"].is_null()), (Some(0), true));

    // kp roster: the genesis and one line per governance entry, then the
    // version in force.
    let out = node.kp(&["roster"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let versions: Vec<&str> = text.lines().filter(|l| l.starts_with("  v")).collect();
    assert_eq!(versions.len(), 8, "{text}");
    assert!(versions[0].starts_with("  v1 ") && versions[0].ends_with("genesis roster"), "{text}");
    assert!(versions[1].contains("admit participant GA (Gabon) under conditions: statistics; legislation"), "{text}");
    assert!(versions[7].contains("forced key rotation of CF to"), "{text}");
    assert!(versions[7].contains("the old key's log ends at entry 1"), "{text}");
    assert!(text.contains("In force: version 8 ("), "{text}");
    assert!(
        text.contains(&format!("  CF  Central African Republic, zone regime\n      authority {new_cf}\n")),
        "{text}"
    );
    assert!(text.contains("  MT-CF  Monitoring team MT-CF (scope CF)\n      key "), "{text}");
    assert!(text.contains(&format!("      node {mt_node} no address\n")), "{text}");
    assert!(text.contains(&format!("  {}  CF, its log closed after entry 1\n", node.author("CF"))), "{text}");
    assert!(!text.contains("condition:"), "lifted: {text}");

    let out = node.kp(&["roster", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let chain: kp_schemas::api::RosterChain = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(chain.check(), Ok(()));
    assert_eq!(chain.versions.len(), 8);
    let newest = &chain.versions[7].network;
    assert_eq!(newest.participants["CF"].participant.authority, new_cf);
    assert!(newest.participants["GA"].participant.nodes.is_empty() && newest.participants["GA"].conditions.is_empty());
    assert_eq!(chain.versions[1].network.participants["GA"].conditions, ["statistics", "legislation"]);

    let out = node.kp(&["roster", "--genesis"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let genesis: SignedRoster = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(genesis, chain.genesis);
    assert!(roster::verify(&genesis).is_ok());
    let targets: Vec<String> = node.requests().into_iter().map(|r| r.target).collect();
    assert!(targets.ends_with(&["/v1/roster".to_string(), "/v1/roster/genesis".to_string()]), "{targets:?}");
}

/// The customs check and the printable certificate, as `kp` asks them of
/// a node: each verdict, the routes, and the exit codes.
#[test]
fn cert_check_and_print_use_the_documented_routes() {
    let node = TestNode::start();
    let (_, exporter) = node.licensee("CF", "Bangui Export", &[Role::Miner, Role::Exporter]);
    node.produce(&exporter, "CF/M", 1000);
    let export = RecordBody::Export(Export {
        certificate: "CF-000007".into(),
        importer: "EU".into(),
        consignee: "Antwerp BV".into(),
        inputs: vec![Take { lot: "CF/M".into(), weight: 1000 }],
        lines: vec![HsLine { code: "7102.31".into(), weight: 1000, value_cents: 500_000 }],
        parcels: 2,
        issued: "2017-11-01".into(),
        expires: "2018-01-31".into(),
    });
    let entry = node.record(&exporter, export).hash;
    let check = |args: &[&str]| {
        let mut all = vec!["cert", "check", "CF-000007", "--today", "2017-12-01", "--json"];
        all.extend_from_slice(args);
        let out = node.kp(&all);
        let v: serde_json::Value =
            serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
        (out.status.code(), v)
    };
    let (code, v) =
        check(&["--exporter", "bangui export", "--importer", "EU", "--carats", "10", "--value", "5,000.00"]);
    assert_eq!((code, v["result"].as_str()), (Some(0), Some("genuine")), "{v}");
    assert_eq!(v["matching"], serde_json::json!(["exporter", "importer", "carats", "value"]));
    let (code, v) = check(&["--carats", "12", "--parcels", "3"]);
    assert_eq!((code, v["result"].as_str()), (Some(1), Some("details_differ")), "{v}");
    assert_eq!(v["differences"][0]["field"], "carats");
    assert_eq!(v["differences"][0]["ledger"], "10.00 ct");
    assert_eq!(v["differences"][1]["field"], "parcels");
    let out = node.kp(&["cert", "check", "CF-000007", "--today", "2018-02-01"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).starts_with("EXPIRED (expired)"), "{}", stdout(&out));
    let out = node.kp(&["cert", "check", "CF-000099"]);
    assert!(stdout(&out).starts_with("UNKNOWN NUMBER (unknown_number)"), "{}", stdout(&out));
    // Reported forged by the CF authority: that verdict, whatever the paper says.
    node.act(
        "CF",
        Body::Attestation(Attestation {
            subject: Subject::Certificate { number: "CF-000007".into() },
            kind: AttestationKind::ForgedCertificate,
            note: "a copy with this number seized in Dubai".into(),
        }),
    );
    let (code, v) = check(&["--carats", "10"]);
    assert_eq!((code, v["result"].as_str()), (Some(1), Some("reported_forged")), "{v}");
    assert_eq!(v["forged_reports"][0]["note"], "a copy with this number seized in Dubai");

    let out = node.kp(&["cert", "print", "CF-000007"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let html = stdout(&out);
    assert!(html.contains("Kimberley Process Certificate") && html.contains("Bangui Export"), "{html}");
    assert!(html.contains(&format!("/certificates/CF-000007?entry={entry}")), "the QR code's address is printed");
    let out = node.kp(&["cert", "print", "CF-000099"]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));

    let targets: Vec<String> = node.requests().into_iter().map(|r| r.target).collect();
    assert!(
        targets.contains(&"/v1/certificates/CF-000007/check?today=2017-12-01&carats=12&parcels=3".to_string()),
        "{targets:?}"
    );
    assert!(targets.contains(&"/certificates/CF-000007/print".to_string()), "{targets:?}");
}
