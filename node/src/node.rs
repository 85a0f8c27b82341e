//! Starting and stopping a node: store, ledger, keys, writer thread, HTTP.

use crate::api::{AppState, router};
use crate::ingest::{self, Writer, WriterHandle};
use crate::keys::Keyring;
use crate::ledger::Ledger;
use crate::metrics::Metrics;
use crate::store::RocksStore;
use crate::witness::Witness;
use anyhow::{Context, bail};
use kp_schemas::model::SignedRoster;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

/// Where a node keeps its files, relative to its data directory.
pub mod layout {
    /// The RocksDB store: every log, the derived state, checkpoints.
    pub const DB: &str = "db";
    /// The authority, monitor and chair key files this node signs with.
    pub const KEYS: &str = "keys";
    /// Under `keys/`: keys that handed their logs over to new keys
    /// (`kp-node rotation-statement`). They sign only their closed logs'
    /// last checkpoints.
    pub const HANDED_OVER: &str = "handed-over";
    /// The signed roster the node was initialised with: its trust root.
    pub const ROSTER: &str = "roster.json";
    /// The node's settings (ports, peers, checkpoint cadence).
    pub const CONFIG: &str = "kp-node.toml";
    /// The bearer secret that write routes of the HTTP API require, written
    /// afresh, private to its owner, at every start.
    pub const COOKIE: &str = ".cookie";
    /// The node's libp2p identity (an Ed25519 seed in a key file).
    pub const NODE_KEY: &str = "node-key.json";
    /// Written by `kp-node retire` once this directory's machine was
    /// replaced: its keys are gone, and no node runs here again.
    pub const RETIRED: &str = "RETIRED";
}

/// What [`start`] needs to run a node.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// The node's data directory (see [`layout`]).
    pub data_dir: PathBuf,
    /// Where the HTTP API listens; port 0 picks a free one.
    pub http: SocketAddr,
    /// Roster file; defaults to `<data>/roster.json` when it exists.
    pub roster: Option<PathBuf>,
    /// Peer-to-peer settings; `None` runs the node alone.
    pub p2p: Option<crate::net::NetConfig>,
    /// How often this node signs checkpoints of its own logs, and the
    /// quorum it asks of witnesses.
    pub checkpoints: crate::witness::CheckpointConfig,
}

/// A node started by [`start`]: its parts, for the binary and for tests that
/// run a node in their own process. [`RunningNode::stop`] stops it.
pub struct RunningNode {
    /// The address the HTTP API listens on.
    pub addr: SocketAddr,
    /// The ledger the API reads.
    pub ledger: Arc<Ledger>,
    /// The one writer every entry goes through.
    pub writer: WriterHandle,
    /// The bearer secret of the write routes (also in [`layout::COOKIE`]).
    pub cookie: String,
    /// The network loop; `None` for a node run alone.
    pub net: Option<crate::net::NetHandle>,
    /// The node's libp2p peer id, when it is on a network.
    pub peer_id: Option<String>,
    /// Signs, checks and cosigns checkpoints.
    pub witness: Arc<Witness>,
    witness_task: tokio::task::JoinHandle<()>,
    shutdown: Option<oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    writer_thread: std::thread::JoinHandle<()>,
}

/// Read a signed roster file (JSON). Its signature is checked when the
/// ledger opens with it, not here.
pub fn read_roster(path: &Path) -> anyhow::Result<SignedRoster> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading roster {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing roster {}", path.display()))
}

/// Write a secret file readable by its owner only, at every start. An
/// older file there is made private before the secret goes in, whatever
/// mode it had. A symbolic link there is refused, not followed: whoever
/// could place one in the data directory would have the node write its
/// secret where they can read it, or overwrite a file of their choosing.
pub fn write_private(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
    let shown = path.display();
    let refuse_link =
        || anyhow::anyhow!("{shown} is a symbolic link: refusing to write a secret through it; remove it");
    // Told apart here for a clear message; O_NOFOLLOW below makes sure of
    // it, should a link appear in between.
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => return Err(refuse_link()),
        Ok(m) if !m.is_file() => anyhow::bail!("{shown} is not a regular file: refusing to write a secret there"),
        _ => {}
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        // What is there is checked before it is emptied.
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => refuse_link(),
            _ => anyhow::Error::new(e).context(format!("writing {shown}")),
        })?;
    // Another name for the same file would be a way to read the secret.
    let meta = f.metadata()?;
    if meta.nlink() > 1 {
        anyhow::bail!("{shown} has other hard links: refusing to write a secret there; remove it");
    }
    // The mode given above applies only to a file made now.
    f.set_permissions(std::fs::Permissions::from_mode(0o600)).with_context(|| format!("making {shown} private"))?;
    f.set_len(0)?;
    f.write_all(contents)?;
    f.sync_all()?;
    Ok(())
}

/// The node's libp2p identity, made on first use.
pub fn node_identity(data_dir: &Path) -> anyhow::Result<libp2p::identity::Keypair> {
    let path = data_dir.join(layout::NODE_KEY);
    let key = if path.exists() { crate::keys::load_file(&path)? } else { crate::keys::generate_file(&path)? };
    libp2p::identity::Keypair::ed25519_from_bytes(key.seed()).map_err(|e| anyhow::anyhow!("node key: {e}"))
}

/// The peer id a data directory's node has, for the roster.
pub fn peer_id(data_dir: &Path) -> anyhow::Result<libp2p::PeerId> {
    Ok(node_identity(data_dir)?.public().to_peer_id())
}

/// Open the ledger in `data_dir`, with `roster` or the one in the data
/// directory. A new store takes the roster as its genesis; an existing one
/// refuses a roster of another network.
pub fn open_ledger(data_dir: &Path, roster: Option<&Path>) -> anyhow::Result<Ledger> {
    let default_roster = data_dir.join(layout::ROSTER);
    let roster_path = roster.map(Path::to_path_buf).or_else(|| default_roster.exists().then_some(default_roster));
    let roster = roster_path.as_deref().map(read_roster).transpose()?;
    let store = RocksStore::open(&data_dir.join(layout::DB)).context("opening the store")?;
    Ok(Ledger::open(Box::new(store), roster.as_ref())?)
}

/// Refuse a data directory `kp-node retire` retired, saying why.
pub fn refuse_retired(data_dir: &Path) -> anyhow::Result<()> {
    let marker = data_dir.join(layout::RETIRED);
    match std::fs::read_to_string(&marker) {
        Ok(text) => bail!(
            "{} was retired ({}): its logs are written by another machine now, and its keys are gone; \
             no node runs on this directory again. What it says:\n{}",
            data_dir.display(),
            marker.display(),
            text.trim_end()
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("reading {}", marker.display())),
    }
}

/// The keys held that the network gives no role now, said at start: a key
/// for a role to come is kept, and signs once the network gives it one; a
/// replaced key is kept too, and never signs again.
fn warn_about_keys(keys: &Keyring, network: &kp_schemas::state::NetworkState) {
    for k in keys.all() {
        let key = k.public();
        if let Some(r) = network.retired(&key) {
            tracing::warn!(
                %key,
                "this key of {} was replaced: its log is closed at position {}, and this node signs nothing more \
                 with it; remove its file from keys/ once the new key writes",
                r.holder,
                r.last
            );
        } else if network.role_of(&key).is_none() {
            tracing::warn!(
                %key,
                "the network gives this key no role yet: kept, it writes and cosigns once the chair's governance \
                 names it (an admission or a key rotation)"
            );
        }
    }
}

/// The own logs a node starting now holds until a peer's heads say how far
/// they go: those its store holds no entry of (a machine replacing another,
/// a new key), or every one with `all` (a store restored from a backup).
/// None when the network lists no other node to ask, or the node runs
/// alone.
fn catching_up(
    ledger: &Ledger,
    keys: &Keyring,
    local: Option<&libp2p::PeerId>,
    all: bool,
) -> anyhow::Result<Vec<kp_schemas::PublicKey>> {
    let Some(local) = local else { return Ok(Vec::new()) };
    let network = ledger.network();
    let others = network.nodes().iter().any(|(_, n)| n.peer_id != local.to_string());
    if !others {
        return Ok(Vec::new());
    }
    let mut logs = Vec::new();
    for k in keys.all() {
        let key = k.public();
        if network.retired(&key).is_some() {
            continue;
        }
        if all || ledger.head(&key)?.is_none_or(|h| h.seq == 0) {
            logs.push(key);
        }
    }
    Ok(logs)
}

/// Start a node: open its ledger, start the writer thread, the witness, the
/// network loop (if configured) and the HTTP API, and write the cookie.
pub async fn start(cfg: &NodeConfig) -> anyhow::Result<RunningNode> {
    std::fs::create_dir_all(&cfg.data_dir).with_context(|| format!("creating {}", cfg.data_dir.display()))?;
    refuse_retired(&cfg.data_dir)?;
    let ledger = Arc::new(open_ledger(&cfg.data_dir, cfg.roster.as_deref())?);
    // Once the store is ours (a second node on this directory fails to open
    // it, and leaves the running node's cookie alone), before anything is
    // started that a refused cookie path would leave running.
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| anyhow::anyhow!("no randomness for the cookie: {e}"))?;
    let cookie = hex::encode(secret);
    write_private(&cfg.data_dir.join(layout::COOKIE), cookie.as_bytes())?;
    let keys = Keyring::load_dir(&cfg.data_dir.join(layout::KEYS))?;
    // A key that handed its log over (`kp-node rotation-statement`) writes
    // no entry again, but still signs its closed log's last checkpoint, so
    // that the entries it signed stay provable in bundles.
    let mut witness_keys = keys.clone();
    for k in Keyring::load_dir(&cfg.data_dir.join(layout::KEYS).join(layout::HANDED_OVER))?.all() {
        witness_keys.insert(k.clone());
    }
    let network = ledger.network();
    kp_schemas::checkpoint::check_quorum(&network, cfg.checkpoints.quorum).map_err(|e| anyhow::anyhow!("{e}"))?;
    warn_about_keys(&keys, &network);
    let writes = keys.writes(&network);
    let identity = cfg.p2p.as_ref().map(|_| node_identity(&cfg.data_dir)).transpose()?;
    let local = identity.as_ref().map(|k| k.public().to_peer_id());
    let all = cfg.p2p.as_ref().is_some_and(|p| p.catch_up_first);
    let held = catching_up(&ledger, &keys, local.as_ref(), all)?;
    if !held.is_empty() {
        let names: Vec<String> = held.iter().map(|k| network.author_name(k)).collect();
        tracing::info!(logs = ?names, "these logs are written once caught up from a peer");
    }
    let catch_up = Arc::new(crate::catchup::Gate::new(held));
    let metrics = Arc::new(Metrics::default());
    let (announce_tx, announce_rx) = tokio::sync::mpsc::channel(ingest::MAX_BATCH * 4);
    let witness =
        Arc::new(Witness::new(ledger.clone(), witness_keys, cfg.checkpoints.clone()).with_metrics(metrics.clone()));
    let (checkpoint_tx, checkpoint_rx) = tokio::sync::mpsc::channel(1024);
    let mut w = Writer::new(ledger.clone(), keys.clone(), metrics.clone()).with_catch_up(catch_up.clone());
    if cfg.p2p.is_some() {
        w = w.with_announce(announce_tx);
    }
    let (writer, writer_thread) = ingest::spawn(w);
    let (net, peer_id) = match (&cfg.p2p, identity) {
        (Some(p2p), Some(key)) => {
            let parts = crate::net::NetParts {
                ledger: ledger.clone(),
                writer: writer.clone(),
                witness: witness.clone(),
                announce: announce_rx,
                checkpoints: checkpoint_rx,
                metrics: metrics.clone(),
                catch_up: catch_up.clone(),
            };
            let (h, id) = crate::net::start(p2p.clone(), key, parts).await?;
            (Some(h), Some(id.to_string()))
        }
        _ => (None, None),
    };
    // Checkpoints are due on whole seconds at most; a finer tick only
    // keeps them close to the configured spacing.
    let period = (cfg.checkpoints.every / 4).clamp(Duration::from_millis(100), Duration::from_secs(1));
    let witness_task = tokio::spawn(crate::witness::run(
        witness.clone(),
        writer.clone(),
        cfg.p2p.is_some().then_some(checkpoint_tx),
        period,
    ));

    let listener = tokio::net::TcpListener::bind(cfg.http).await.with_context(|| format!("binding {}", cfg.http))?;
    let addr = listener.local_addr()?;
    let app = router(AppState {
        ledger: ledger.clone(),
        writer: writer.clone(),
        metrics,
        cookie: Arc::new(cookie.clone()),
        keys: Arc::new(keys),
        catch_up,
        net: net.clone(),
        witness: witness.clone(),
    });
    let (tx, rx) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await
    });
    tracing::info!(
        network = %network.network, peer_id = ?peer_id,
        entries = ledger.entry_count(),
        writes = ?writes,
        "kp-node serving on http://{addr}"
    );
    Ok(RunningNode {
        addr,
        ledger,
        writer,
        cookie,
        net,
        peer_id,
        witness,
        witness_task,
        shutdown: Some(tx),
        server,
        writer_thread,
    })
}

impl RunningNode {
    /// The HTTP API's base URL, `http://ADDR`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stop serving, let the writer finish what it acknowledged, and close.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.server.await??;
        // The network loop holds a writer handle: stop it first, so the
        // writer thread sees every handle gone and finishes.
        if let Some(net) = self.net.take() {
            net.shutdown().await;
        }
        self.witness_task.abort();
        let _ = (&mut self.witness_task).await;
        drop(self.writer);
        let t = self.writer_thread;
        tokio::task::spawn_blocking(move || t.join()).await?.map_err(|_| anyhow::anyhow!("writer thread panicked"))?;
        Ok(())
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = ctrl_c => {},
        _ = term.recv() => {},
    }
}
