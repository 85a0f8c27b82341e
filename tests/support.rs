//! Helpers for the end-to-end tests: real `kp-node` processes on loopback,
//! driven by the real `kp` binary.

use kp_client::{Client, ClientError};
use kp_dev::demo::DemoNode;
use kp_schemas::model::{NodeInfo, SignedRoster};
use kp_schemas::{Hash32, PublicKey};
use std::collections::HashSet;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

mod net;
pub use net::*;
mod webdriver;
pub use webdriver::*;

/// A binary built by `cargo test --workspace` next to the test executable.
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe.parent().and_then(Path::parent).expect("target directory");
    let path = dir.join(name);
    assert!(path.exists(), "{} is missing: run `cargo test --workspace --release`, which builds it", path.display());
    path
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind a free port").local_addr().expect("local address").port()
}

/// A base port for a five-node network (`kp-dev demo`, `kp-dev devnet
/// --five`): it and the four after it for HTTP, the five 100 higher for
/// peers, all free. Tests of one binary run in parallel, so a range handed
/// out once is not handed out again.
pub fn demo_port() -> u16 {
    static TAKEN: Mutex<Vec<u16>> = Mutex::new(Vec::new());
    let mut taken = TAKEN.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let base = free_port();
        let clashes = taken.iter().any(|t| base.abs_diff(*t) < 5 || base.abs_diff(*t).abs_diff(100) < 5);
        if base < 60_000 && !clashes && (0..5).all(|i| port_free(base + i) && port_free(base + 100 + i)) {
            taken.push(base);
            return base;
        }
    }
}

pub fn port_free(p: u16) -> bool {
    TcpListener::bind(("127.0.0.1", p)).is_ok()
}

/// Poll `f` until it gives `Some`, or panic after `timeout` naming `what`
/// and the last state `f` saw.
#[track_caller]
pub fn wait_for<T>(what: &str, timeout: Duration, mut f: impl FnMut(&mut String) -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    let mut last = String::new();
    loop {
        if let Some(v) = f(&mut last) {
            return v;
        }
        if Instant::now() > deadline {
            panic!("{what}: not within {timeout:?}; last seen: {last}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `kp-dev devnet`: a development network of CF, BW, EU, AE, IN with the
/// MT-CF monitor, every key held by one node.
pub fn devnet(dir: &Path) {
    let out = Command::new(bin("kp-dev")).args(["devnet", "--dir"]).arg(dir).output().expect("run kp-dev devnet");
    assert!(out.status.success(), "kp-dev devnet failed: {}", String::from_utf8_lossy(&out.stderr));
}

pub struct Node {
    pub data: PathBuf,
    pub port: u16,
    /// Where the node listens for peers; a free port unless the roster fixes one.
    pub p2p_listen: String,
    /// Extra arguments to `kp-node run`, kept for restarts.
    args: Vec<String>,
    child: Option<Child>,
}

impl Node {
    /// Start `kp-node run` on a free port and wait until it answers.
    pub fn start(data: &Path) -> Node {
        Self::start_with(data, free_port(), "/ip4/127.0.0.1/tcp/0")
    }

    /// Start with a given HTTP port and peer-to-peer listen address.
    pub fn start_with(data: &Path, port: u16, p2p_listen: &str) -> Node {
        Self::start_with_args(data, port, p2p_listen, &[])
    }

    /// As [`Node::start_with`], with extra `kp-node run` arguments (for
    /// example `--checkpoint-secs 1`), passed again on every restart.
    pub fn start_with_args(data: &Path, port: u16, p2p_listen: &str, args: &[&str]) -> Node {
        let mut n = Node {
            data: data.to_path_buf(),
            port,
            p2p_listen: p2p_listen.to_string(),
            args: args.iter().map(|a| a.to_string()).collect(),
            child: None,
        };
        n.spawn();
        n
    }

    fn spawn(&mut self) {
        let child = Command::new(bin("kp-node"))
            .args(["run", "--data"])
            .arg(&self.data)
            .args(["--http", &format!("127.0.0.1:{}", self.port)])
            .args(["--p2p-listen", &self.p2p_listen])
            .args(&self.args)
            .env("KP_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn kp-node");
        self.child = Some(child);
        self.wait_ready();
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!("kp-node exited early: {status}");
            }
            if self.client().healthz().is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("kp-node did not answer within 60 s");
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn cookie_path(&self) -> PathBuf {
        self.data.join(".cookie")
    }

    /// Where to dial the node: its listen address and peer id.
    pub fn p2p_addr(&self) -> libp2p::Multiaddr {
        format!("{}/p2p/{}", self.p2p_listen, kp_node::node::peer_id(&self.data).unwrap()).parse().unwrap()
    }

    pub fn client(&self) -> kp_client::Client {
        let c = kp_client::Client::with_timeout(self.url(), Duration::from_secs(30));
        match std::fs::read_to_string(self.cookie_path()) {
            Ok(cookie) => c.with_cookie(cookie.trim().to_string()),
            Err(_) => c,
        }
    }

    /// The real `kp` binary pointed at this node, with its cookie.
    pub fn kp(&self, args: &[&str]) -> Output {
        Command::new(bin("kp"))
            .args(args)
            .env("KP_NODE", self.url())
            .env("KP_COOKIE", self.cookie_path())
            .env_remove("KP_KEY")
            .env_remove("KP_ROSTER")
            .env_remove("KP_ROSTER_HASH")
            .output()
            .expect("run kp")
    }

    /// `kill -9`: no chance to flush anything.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().expect("kill -9 kp-node");
            c.wait().expect("reap kp-node");
        }
    }

    /// SIGTERM and wait for a clean exit.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let pid = c.id().to_string();
            let _ = Command::new("kill").args(["-TERM", &pid]).status();
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if c.try_wait().ok().flatten().is_some() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
            panic!("kp-node did not stop within 30 s of SIGTERM");
        }
    }

    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "stop the node before restarting it");
        self.spawn();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill9();
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Assert success and return stdout.
#[track_caller]
pub fn ok(o: Output) -> String {
    assert!(o.status.success(), "kp failed ({}):\nstdout: {}\nstderr: {}", o.status, stdout(&o), stderr(&o));
    stdout(&o)
}

/// Assert a refusal by rule: exit code 1 and the code on stderr.
#[track_caller]
pub fn refused(o: Output, code: &str) {
    assert_eq!(
        o.status.code(),
        Some(1),
        "expected refusal {code}, got {}:\nstdout: {}\nstderr: {}",
        o.status,
        stdout(&o),
        stderr(&o)
    );
    assert!(stderr(&o).contains(code), "expected {code} on stderr, got: {}", stderr(&o));
}

/// Public key hex from a key file.
pub fn public_key(path: &Path) -> String {
    kp_client::keyfile::load_public(path).expect("key file").to_hex()
}

/// Wait until `node` is connected to at least `n` peers.
pub fn wait_peers(code: &str, node: &Node, n: usize) {
    wait_for(&format!("the {code} node connected to {n} peers"), Duration::from_secs(60), |last| {
        let p = node.client().peers().ok()?;
        *last = format!("{:?}", p.connected);
        (p.connected.len() >= n).then_some(())
    })
}

/// Wait until `node` may write each of its own logs: it heard from a peer
/// how far each goes, and holds that far (`catching_up` of `GET /v1/status`
/// is empty).
pub fn wait_caught_up(code: &str, node: &Node) {
    wait_for(&format!("the {code} node writing its own logs"), Duration::from_secs(60), |last| {
        let s = node.client().status().ok()?;
        *last = format!("{:?}", s.catching_up);
        s.catching_up.is_empty().then_some(())
    })
}

/// `(author, seq, hash, frozen)` of every log at a node, sorted.
pub type Heads = Vec<(PublicKey, u64, Hash32, bool)>;

pub fn heads(c: &Client) -> Result<Heads, ClientError> {
    let mut h: Heads = c.logs()?.into_iter().map(|h| (h.author, h.head.seq, h.head.hash, h.head.frozen)).collect();
    h.sort();
    Ok(h)
}

/// Wait until every node holds the same heads; return them.
#[track_caller]
pub fn converged(nodes: &[(&str, &Node)], timeout: Duration) -> Heads {
    converged_but(nodes, None, timeout)
}

/// As [`converged`], but of `frozen`'s log only the position is compared:
/// which entry of an equivocating pair a node keeps in the log, and which as
/// evidence, depends on the order in which the two reached it.
#[track_caller]
pub fn converged_but(nodes: &[(&str, &Node)], frozen: Option<&PublicKey>, timeout: Duration) -> Heads {
    wait_for("every node holding the same heads", timeout, |last| {
        let mut all = Vec::new();
        last.clear();
        for (code, n) in nodes {
            match heads(&n.client()) {
                Ok(mut h) => {
                    for x in h.iter_mut().filter(|x| Some(&x.0) == frozen) {
                        x.2 = Hash32::ZERO;
                    }
                    let total: u64 = h.iter().map(|x| x.1).sum();
                    last.push_str(&format!("{code}: {} logs, {total} entries; ", h.len()));
                    all.push(h);
                }
                Err(e) => {
                    last.push_str(&format!("{code}: {e}; "));
                    return None;
                }
            }
        }
        all.windows(2).all(|w| w[0] == w[1]).then(|| all.swap_remove(0))
    })
}

/// A folder tweak for `kp_dev::demo::prepare_network`, made before any node
/// starts: the chair lists the test's peer as an observer, so that it may
/// connect.
pub fn listing_observer(peer_id: String) -> impl FnOnce(&Path, &[DemoNode]) {
    move |dir, plan| {
        let chair = kp_client::keyfile::load(&dir.join("chair.json")).unwrap();
        let path = |n: &DemoNode| n.data.join(kp_node::node::layout::ROSTER);
        let signed: SignedRoster = serde_json::from_str(&std::fs::read_to_string(path(&plan[0])).unwrap()).unwrap();
        let mut roster = signed.roster;
        roster.observers.push(NodeInfo { peer_id, addrs: vec![] });
        let signed = kp_schemas::roster::sign(roster, &chair);
        for n in plan {
            std::fs::write(path(n), serde_json::to_string_pretty(&signed).unwrap()).unwrap();
        }
    }
}

/// A libp2p peer run by the test: the node's transport and gossip on one
/// topic, publishing whatever it is handed, valid or not.
pub struct TestPeer {
    cmds: Option<tokio::sync::mpsc::UnboundedSender<PeerCommand>>,
    thread: Option<std::thread::JoinHandle<()>>,
    connected: std::sync::Arc<Mutex<HashSet<libp2p::PeerId>>>,
}

type Reply = std::sync::mpsc::Sender<Result<(), String>>;

enum PeerCommand {
    Publish(Vec<u8>, Reply),
    /// Dial again every address the peer is not connected to.
    Redial(Reply),
}

impl TestPeer {
    /// Dial every address (each ending in `/p2p/<peer id>`) and wait until
    /// each node there has announced its subscription to `topic`, the one
    /// topic the peer subscribes and publishes to. `max_transmit_size`, if
    /// given, replaces gossipsub's default bound on a message.
    /// The error tells how a node refused; it starts with `timeout` if none
    /// answered either way.
    pub fn connect(
        key: libp2p::identity::Keypair,
        addrs: Vec<libp2p::Multiaddr>,
        topic: &str,
        max_transmit_size: Option<usize>,
    ) -> Result<TestPeer, String> {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (cmds, rx) = tokio::sync::mpsc::unbounded_channel();
        let topic = topic.to_string();
        let connected = std::sync::Arc::new(Mutex::new(HashSet::new()));
        let shared = connected.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(Self::run(key, addrs, topic, max_transmit_size, ready_tx, rx, shared));
        });
        let peer = TestPeer { cmds: Some(cmds), thread: Some(thread), connected };
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(peer),
            // Dropping the peer stops its thread.
            Ok(Err(e)) => Err(e),
            Err(_) => Err("the test peer's thread ended".into()),
        }
    }

    async fn run(
        key: libp2p::identity::Keypair,
        addrs: Vec<libp2p::Multiaddr>,
        topic: String,
        max_transmit_size: Option<usize>,
        ready_tx: std::sync::mpsc::Sender<Result<(), String>>,
        mut rx: tokio::sync::mpsc::UnboundedReceiver<PeerCommand>,
        connected: std::sync::Arc<Mutex<HashSet<libp2p::PeerId>>>,
    ) {
        use futures::StreamExt;
        use libp2p::swarm::SwarmEvent;
        use libp2p::{gossipsub, multiaddr::Protocol, noise, tcp, yamux};
        let topic = gossipsub::IdentTopic::new(topic);
        let mut cfg = gossipsub::ConfigBuilder::default();
        cfg.validation_mode(gossipsub::ValidationMode::Strict).heartbeat_interval(Duration::from_millis(500));
        if let Some(max) = max_transmit_size {
            cfg.max_transmit_size(max);
        }
        let cfg = cfg.build().unwrap();
        let mut swarm = libp2p::SwarmBuilder::with_existing_identity(key)
            .with_tokio()
            .with_tcp(tcp::Config::default().nodelay(true), noise::Config::new, yamux::Config::default)
            .unwrap()
            .with_behaviour(|k| {
                gossipsub::Behaviour::<gossipsub::IdentityTransform>::new(
                    gossipsub::MessageAuthenticity::Signed(k.clone()),
                    cfg,
                )
                .expect("gossipsub")
            })
            .unwrap()
            .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(3600)))
            .build();
        swarm.behaviour_mut().subscribe(&topic).unwrap();
        let node_of =
            |a: &libp2p::Multiaddr| a.iter().find_map(|p| if let Protocol::P2p(id) = p { Some(id) } else { None });
        let mut waiting: HashSet<libp2p::PeerId> = addrs.iter().filter_map(node_of).collect();
        let mut ready = Some(ready_tx);
        for a in &addrs {
            if let Err(e) = swarm.dial(a.clone()) {
                let _ = ready.take().map(|r| r.send(Err(format!("dial of {a} failed: {e}"))));
            }
        }
        let deadline = tokio::time::sleep(Duration::from_secs(15));
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                ev = swarm.select_next_some() => {
                    let outcome = match ev {
                        // A node announces every topic it subscribes to;
                        // only `topic` makes it ready to hear the peer.
                        SwarmEvent::Behaviour(gossipsub::Event::Subscribed { peer_id, topic: t, .. })
                            if t == topic.hash() =>
                        {
                            waiting.remove(&peer_id);
                            waiting.is_empty().then_some(Ok(()))
                        }
                        SwarmEvent::ConnectionEstablished { peer_id, .. } => {
                            connected.lock().unwrap().insert(peer_id);
                            None
                        }
                        SwarmEvent::ConnectionClosed { peer_id, cause, num_established, .. } => {
                            if num_established == 0 {
                                connected.lock().unwrap().remove(&peer_id);
                            }
                            Some(Err(format!("connection to {peer_id} closed: {cause:?}")))
                        }
                        SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
                            Some(Err(format!("dial of {peer_id:?} failed: {error}")))
                        }
                        _ => None,
                    };
                    if let Some(o) = outcome {
                        let _ = ready.take().map(|r| r.send(o));
                    }
                }
                cmd = rx.recv() => match cmd {
                    Some(PeerCommand::Publish(bytes, reply)) => {
                        let r = swarm.behaviour_mut().publish(topic.clone(), bytes);
                        let _ = reply.send(r.map(|_| ()).map_err(|e| e.to_string()));
                    }
                    Some(PeerCommand::Redial(reply)) => {
                        let now = connected.lock().unwrap().clone();
                        let missing: Vec<_> =
                            addrs.iter().filter(|a| node_of(a).is_some_and(|p| !now.contains(&p))).cloned().collect();
                        waiting = missing.iter().filter_map(node_of).collect();
                        if waiting.is_empty() {
                            let _ = reply.send(Ok(()));
                            continue;
                        }
                        ready = Some(reply);
                        deadline.as_mut().reset(tokio::time::Instant::now() + Duration::from_secs(15));
                        for a in missing {
                            if let Err(e) = swarm.dial(a.clone()) {
                                let _ = ready.take().map(|r| r.send(Err(format!("dial of {a} failed: {e}"))));
                            }
                        }
                    }
                    None => return,
                },
                _ = &mut deadline, if ready.is_some() => {
                    let _ = ready.take().map(|r| r.send(Err("timeout: no node answered".into())));
                }
            }
        }
    }

    /// Publish `bytes` on the peer's topic; panics if gossipsub refuses.
    pub fn publish(&self, bytes: Vec<u8>) {
        let (tx, rx) = std::sync::mpsc::channel();
        self.cmds.as_ref().expect("an open peer").send(PeerCommand::Publish(bytes, tx)).unwrap();
        rx.recv().unwrap().expect("gossip publish");
    }

    /// The nodes the peer holds a connection to now.
    pub fn connected(&self) -> HashSet<libp2p::PeerId> {
        self.connected.lock().unwrap().clone()
    }

    /// Dial again every node the peer is no longer connected to, and wait
    /// until each has announced the topic again, as in [`TestPeer::connect`].
    pub fn redial(&self) -> Result<(), String> {
        let (tx, rx) = std::sync::mpsc::channel();
        self.cmds.as_ref().expect("an open peer").send(PeerCommand::Redial(tx)).unwrap();
        rx.recv().map_err(|_| "the test peer's thread ended".to_string())?
    }
}

impl Drop for TestPeer {
    fn drop(&mut self) {
        // Closing the command channel ends the peer's loop.
        self.cmds = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The value of a counter in a node's `/metrics`, by its full name with
/// labels as Prometheus prints it (`kp_x_total{reason="y"}`); 0 if absent.
pub fn metric(n: &Node, name: &str) -> f64 {
    let text = n.client().metrics().expect("GET /metrics");
    text.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok()).unwrap_or(0.0)
}

/// What a [`HostileNode`] makes of a real node's answer: given the path
/// and query asked for and the real answer's body, the body to send.
pub type Doctor = dyn Fn(&str, Vec<u8>) -> Vec<u8> + Send + Sync;

/// An HTTP server run by the test that stands in for a hostile node: it
/// asks a real node every `GET` it is sent, and answers with the real
/// status and what its doctor makes of the real body (by default, the body
/// unchanged). It lies only as the test tells it to; what is under test is
/// the client that reads it.
pub struct HostileNode {
    pub url: String,
    doctor: std::sync::Arc<Mutex<std::sync::Arc<Doctor>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl HostileNode {
    /// Serve on a free loopback port, in front of the node at `upstream`.
    pub fn start(upstream: &str) -> HostileNode {
        use axum::http::{StatusCode, Uri, header};
        let doctor: std::sync::Arc<Mutex<std::sync::Arc<Doctor>>> =
            std::sync::Arc::new(Mutex::new(std::sync::Arc::new(|_: &str, body: Vec<u8>| body)));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the hostile node");
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (upstream, state) = (upstream.trim_end_matches('/').to_string(), doctor.clone());
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async move {
                let app = axum::Router::new().fallback(move |uri: Uri| {
                    let (upstream, state) = (upstream.clone(), state.clone());
                    async move {
                        let target = uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_default();
                        let asked = target.clone();
                        let real = tokio::task::spawn_blocking(move || -> Result<(u16, Vec<u8>), String> {
                            let agent: ureq::Agent =
                                ureq::Agent::config_builder().http_status_as_error(false).build().into();
                            let mut r = agent.get(format!("{upstream}{asked}")).call().map_err(|e| e.to_string())?;
                            let status = r.status().as_u16();
                            Ok((status, r.body_mut().read_to_vec().map_err(|e| e.to_string())?))
                        })
                        .await
                        .expect("the upstream request");
                        match real {
                            Ok((status, body)) => {
                                let doctor = state.lock().unwrap_or_else(|e| e.into_inner()).clone();
                                let body = if (200..300).contains(&status) { doctor(&target, body) } else { body };
                                let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
                                (status, [(header::CONTENT_TYPE, "application/json")], body)
                            }
                            Err(e) => (StatusCode::BAD_GATEWAY, [(header::CONTENT_TYPE, "text/plain")], e.into_bytes()),
                        }
                    }
                });
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        let _ = stopped.await;
                    })
                    .await
                    .unwrap();
            });
        });
        HostileNode { url, doctor, stop: Some(stop), thread: Some(thread) }
    }

    /// From now on, answer with what `doctor` makes of each real answer.
    pub fn doctor(&self, doctor: impl Fn(&str, Vec<u8>) -> Vec<u8> + Send + Sync + 'static) {
        *self.doctor.lock().unwrap_or_else(|e| e.into_inner()) = std::sync::Arc::new(doctor);
    }

    /// The real `kp` binary pointed at this stand-in.
    pub fn kp(&self, args: &[&str]) -> Output {
        Command::new(bin("kp"))
            .args(args)
            .env("KP_NODE", &self.url)
            .env_remove("KP_COOKIE")
            .env_remove("KP_KEY")
            .env_remove("KP_ROSTER")
            .env_remove("KP_ROSTER_HASH")
            .output()
            .expect("run kp")
    }
}

impl Drop for HostileNode {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// What a [`SyncPeer`] answers a request from a node with.
pub type Answer =
    Box<dyn FnMut(libp2p::PeerId, kp_schemas::wire::SyncRequest) -> kp_schemas::wire::SyncResponse + Send>;

/// A peer run by the test that speaks only the sync protocol and answers
/// every request with what `answer` says, which may depend on who asks: a
/// peer that answers uselessly, or a writer that shows each node another
/// history. It records every request it gets, to measure how often the
/// nodes ask.
pub struct SyncPeer {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    requests: std::sync::Arc<Mutex<Vec<(Instant, &'static str)>>>,
}

impl SyncPeer {
    /// Dial `addrs` (each ending in `/p2p/<peer id>`) as `key`.
    pub fn start(key: libp2p::identity::Keypair, addrs: Vec<libp2p::Multiaddr>, answer: Answer) -> SyncPeer {
        let requests = std::sync::Arc::new(Mutex::new(Vec::new()));
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let log = requests.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(Self::run(key, addrs, answer, log, stopped));
        });
        SyncPeer { stop: Some(stop), thread: Some(thread), requests }
    }

    async fn run(
        key: libp2p::identity::Keypair,
        addrs: Vec<libp2p::Multiaddr>,
        mut answer: Answer,
        log: std::sync::Arc<Mutex<Vec<(Instant, &'static str)>>>,
        mut stopped: tokio::sync::oneshot::Receiver<()>,
    ) {
        use futures::StreamExt;
        use kp_schemas::wire::SyncRequest;
        use libp2p::request_response::{self, ProtocolSupport};
        use libp2p::swarm::SwarmEvent;
        use libp2p::{StreamProtocol, noise, tcp, yamux};
        let mut swarm = libp2p::SwarmBuilder::with_existing_identity(key)
            .with_tokio()
            .with_tcp(tcp::Config::default().nodelay(true), noise::Config::new, yamux::Config::default)
            .unwrap()
            .with_behaviour(|_| {
                request_response::Behaviour::<kp_node::net::codec::SyncCodec>::new(
                    [(StreamProtocol::new(kp_schemas::wire::SYNC_PROTOCOL), ProtocolSupport::Full)],
                    request_response::Config::default(),
                )
            })
            .unwrap()
            .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(3600)))
            .build();
        for a in addrs {
            let _ = swarm.dial(a);
        }
        loop {
            tokio::select! {
                _ = &mut stopped => return,
                ev = swarm.select_next_some() => {
                    let SwarmEvent::Behaviour(request_response::Event::Message {
                        peer,
                        message: request_response::Message::Request { request, channel, .. },
                        ..
                    }) = ev else { continue };
                    let kind = match &request {
                        SyncRequest::Heads => "heads",
                        SyncRequest::Since { .. } => "since",
                        SyncRequest::Page { .. } => "page",
                        SyncRequest::Checkpoints => "checkpoints",
                        SyncRequest::Equivocations => "equivocations",
                        SyncRequest::Withdrawn => "withdrawn",
                    };
                    log.lock().unwrap().push((Instant::now(), kind));
                    let _ = swarm.behaviour_mut().send_response(channel, answer(peer, request));
                }
            }
        }
    }

    /// When each request came, and what it asked for.
    pub fn requests(&self) -> Vec<(Instant, &'static str)> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for SyncPeer {
    fn drop(&mut self) {
        let _ = self.stop.take().map(|s| s.send(()));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The answers of a peer as useless as it can be: heads 10,000 entries
/// ahead of each of `heads`, catch-up and log pages holding `known` (an
/// entry the nodes already hold), answers of the wrong type, errors.
pub fn useless_answers(known: Vec<u8>, heads: Vec<kp_schemas::wire::LogHead>) -> Answer {
    use kp_schemas::model::HexBytes;
    use kp_schemas::wire::{LogHead, SyncRequest, SyncResponse};
    let ahead: Vec<LogHead> =
        heads.into_iter().map(|h| LogHead { author: h.author, seq: h.seq + 10_000, hash: h.hash }).collect();
    let mut pages = 0u64;
    Box::new(move |_, request| match request {
        SyncRequest::Heads => SyncResponse::Heads(ahead.clone()),
        SyncRequest::Since { index, .. } => {
            SyncResponse::Ordered { entries: vec![HexBytes(known.clone())], next: index + 1 }
        }
        SyncRequest::Page { .. } => {
            pages += 1;
            match pages % 3 {
                0 => SyncResponse::Heads(ahead.clone()),
                1 => SyncResponse::Page(vec![HexBytes(known.clone())]),
                _ => SyncResponse::Error("try again".into()),
            }
        }
        SyncRequest::Checkpoints => SyncResponse::Page(vec![]),
        SyncRequest::Equivocations | SyncRequest::Withdrawn => SyncResponse::Error("none".into()),
    })
}
