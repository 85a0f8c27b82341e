//! Helpers for the end-to-end tests: real `kp-node` processes on loopback,
//! driven by the real `kp` binary.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

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

/// A base port for a five-node network (`kp-node demo`, `kp-node devnet
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

/// `kp-node devnet`: a development network of CF, BW, EU, AE, IN with the
/// MT-CF monitor, every key held by one node.
pub fn devnet(dir: &Path) {
    let out = Command::new(bin("kp-node")).args(["devnet", "--dir"]).arg(dir).output().expect("run kp-node devnet");
    assert!(out.status.success(), "kp-node devnet failed: {}", String::from_utf8_lossy(&out.stderr));
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
