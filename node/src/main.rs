//! The `kp-node` daemon.

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use kp_node::node::{self, NodeConfig, layout};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;
use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

// The write path allocates many small buffers; mimalloc handles that
// pattern better than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const DEFAULT_HTTP: &str = "127.0.0.1:7070";

#[derive(Parser)]
#[command(name = "kp-node", version, about = "A kpledger node: signed provenance logs for the Kimberley Process")]
struct Cli {
    /// Log filter, as RUST_LOG (for example `info` or `kp_node=debug`).
    #[arg(long, env = "KP_LOG", default_value = "info", global = true)]
    log: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a data directory: keys for the logs this node writes, and a config file.
    Init(InitArgs),
    /// Run the node.
    Run(RunArgs),
    /// Create a development network in a folder, load the reference scenario,
    /// print the trail of the Indian lot, and keep serving the API.
    Demo(kp_node::demo::DemoArgs),
    /// Create a development network of the reference participants in a
    /// folder (one node holding every key, licensee keys beside it) without
    /// loading the scenario.
    Devnet {
        #[arg(long, default_value = "kp-devnet")]
        dir: PathBuf,
        /// Make five nodes instead, one per participant, as the demo runs
        /// them: HTTP on --port and the four after, peers 100 ports higher.
        #[arg(long)]
        five: bool,
        #[arg(long, default_value_t = 7070)]
        port: u16,
    },
    /// Print the libp2p peer id of a data directory's node (made on first use).
    PeerId {
        #[arg(long, env = "KP_DATA")]
        data: PathBuf,
    },
    /// Offline check: rebuild the derived state from the logs and compare it
    /// with the store (stop the node first).
    Check {
        #[arg(long, env = "KP_DATA")]
        data: PathBuf,
    },
    /// Sign a roster (JSON of a `Roster`) with the chair's key.
    SignRoster {
        /// The chair's key file.
        #[arg(long)]
        chair_key: PathBuf,
        /// Unsigned roster JSON.
        #[arg(long)]
        input: PathBuf,
        /// Where to write the signed roster.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(clap::Args)]
struct InitArgs {
    /// Data directory to create.
    #[arg(long, env = "KP_DATA")]
    data: PathBuf,
    /// Hold the authority key of this participant (ISO code or EU).
    #[arg(long)]
    participant: Option<String>,
    /// Hold the key of this monitor (for example MT-CF).
    #[arg(long)]
    monitor: Option<String>,
    /// Hold the chair's governance key.
    #[arg(long)]
    chair: bool,
    /// Also write a one-node development roster for a network of this name,
    /// with this node as every member it holds a key for.
    #[arg(long)]
    dev_network: Option<String>,
    /// In the development roster, put the participant under the zone regime.
    #[arg(long)]
    zone_regime: bool,
}

#[derive(clap::Args)]
struct RunArgs {
    /// Data directory made by `kp-node init`.
    #[arg(long, env = "KP_DATA")]
    data: PathBuf,
    /// Config file [default: <data>/kp-node.toml].
    #[arg(long, env = "KP_CONFIG")]
    config: Option<PathBuf>,
    /// HTTP listen address [default: 127.0.0.1:7070].
    #[arg(long, env = "KP_HTTP")]
    http: Option<SocketAddr>,
    /// Signed roster file [default: <data>/roster.json].
    #[arg(long, env = "KP_ROSTER")]
    roster: Option<PathBuf>,
    /// Peer-to-peer listen multiaddress, repeatable [default: /ip4/0.0.0.0/tcp/7171].
    #[arg(long = "p2p-listen", env = "KP_P2P_LISTEN", value_delimiter = ',')]
    p2p_listen: Vec<libp2p::Multiaddr>,
    /// Extra peers to dial, as multiaddresses ending in /p2p/<peer id>,
    /// besides the nodes the roster lists.
    #[arg(long, env = "KP_BOOTSTRAP", value_delimiter = ',')]
    bootstrap: Vec<libp2p::Multiaddr>,
    /// Seconds between head comparisons with every peer [default: 5].
    #[arg(long, env = "KP_SYNC_INTERVAL")]
    sync_interval: Option<u64>,
    /// Run without the peer-to-peer network.
    #[arg(long)]
    no_p2p: bool,
    /// Sign a checkpoint of each own log once this many entries were added [default: 1024].
    #[arg(long, env = "KP_CHECKPOINT_ENTRIES")]
    checkpoint_entries: Option<u64>,
    /// ...or this many seconds after the last one, if any were [default: 5].
    #[arg(long, env = "KP_CHECKPOINT_SECS")]
    checkpoint_secs: Option<u64>,
    /// Cosignatures a checkpoint needs at least [default: each log's intersecting quorum].
    #[arg(long, env = "KP_QUORUM")]
    quorum: Option<usize>,
}

/// `kp-node.toml`. Flags and environment variables override it.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    /// HTTP listen address.
    http: Option<SocketAddr>,
    /// Signed roster, relative to the data directory.
    roster: Option<PathBuf>,
    #[serde(default)]
    p2p: P2pFileConfig,
    #[serde(default)]
    checkpoints: CheckpointFileConfig,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CheckpointFileConfig {
    every_entries: Option<u64>,
    every_secs: Option<u64>,
    quorum: Option<usize>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct P2pFileConfig {
    enabled: Option<bool>,
    listen: Option<Vec<libp2p::Multiaddr>>,
    bootstrap: Option<Vec<libp2p::Multiaddr>>,
    sync_interval_secs: Option<u64>,
}

const DEFAULT_P2P: &str = "/ip4/0.0.0.0/tcp/7171";

const CONFIG_TEMPLATE: &str = include_str!("../../deploy/kp-node.toml");

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| cli.log.clone().into());
    // The stream watch has its own filter: it reads two lines of libp2p's
    // whatever the log level (see `net::watch`).
    tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_filter(filter))
        .with(kp_node::net::watch::layer())
        .init();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(1)
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}

fn run(cli: Cli) -> anyhow::Result<std::process::ExitCode> {
    match cli.command {
        Command::Init(a) => init(a)?,
        Command::Run(a) => {
            let cfg = node_config(&a)?;
            runtime()?.block_on(async {
                let n = node::start(&cfg).await?;
                node::shutdown_signal().await;
                tracing::info!("stopping");
                n.stop().await
            })?;
        }
        Command::Demo(a) => runtime()?.block_on(kp_node::demo::run(a))?,
        Command::Devnet { dir, five: true, port } => {
            let (nodes, _) = kp_node::demo::prepare_network(&dir, port)?;
            println!("development network `{}` of five nodes in {}", kp_node::demo::NETWORK, dir.display());
            for n in &nodes {
                println!(
                    "  {}: kp-node run --data {} --http {} --p2p-listen {}",
                    n.code,
                    n.data.display(),
                    n.http,
                    n.p2p
                );
            }
            println!("licensee keys: {}", dir.join("licensees").display());
        }
        Command::Devnet { dir, .. } => {
            let (data, _) = kp_node::demo::prepare(&dir)?;
            println!("development network `{}` in {}", kp_node::demo::NETWORK, dir.display());
            println!("  node data:     {}", data.display());
            println!("  licensee keys: {}", dir.join("licensees").display());
            println!("next: kp-node run --data {}", data.display());
        }
        Command::PeerId { data } => println!("{}", node::peer_id(&data)?),
        Command::Check { data } => {
            let ledger = node::open_ledger(&data, None)?;
            let bar = indicatif::ProgressBar::new(ledger.entry_count());
            bar.set_style(indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} entries {per_sec} eta {eta}")?);
            let report = kp_node::rebuild::check(&ledger, |n| bar.set_position(n))?;
            bar.finish_and_clear();
            if report.ok() {
                println!("ok: {} entries replayed; derived state matches the logs", report.entries);
            } else {
                for m in &report.mismatches {
                    println!("mismatch: {m}");
                }
                return Ok(std::process::ExitCode::from(1));
            }
        }
        Command::SignRoster { chair_key, input, out } => {
            let chair = kp_client::keyfile::load(&chair_key)?;
            let roster: kp_schemas::model::Roster = serde_json::from_str(&std::fs::read_to_string(&input)?)
                .with_context(|| format!("parsing {}", input.display()))?;
            if roster.chair != chair.public() {
                bail!("the roster names chair {}, but the key given is {}", roster.chair, chair.public());
            }
            let signed = kp_schemas::roster::sign(roster, &chair);
            kp_schemas::roster::verify(&signed).map_err(|e| anyhow::anyhow!("{e}"))?;
            std::fs::write(&out, serde_json::to_string_pretty(&signed)?)?;
            println!("signed roster written to {}", out.display());
        }
    }
    Ok(std::process::ExitCode::SUCCESS)
}

fn node_config(a: &RunArgs) -> anyhow::Result<NodeConfig> {
    let path = a.config.clone().unwrap_or_else(|| a.data.join(layout::CONFIG));
    let file: FileConfig = match std::fs::read_to_string(&path) {
        Ok(t) => toml::from_str(&t).with_context(|| format!("parsing {}", path.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && a.config.is_none() => FileConfig::default(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let roster = a.roster.clone().or(file.roster.map(|r| a.data.join(r)));
    let p2p_on = !a.no_p2p && file.p2p.enabled.unwrap_or(true);
    let listen = if a.p2p_listen.is_empty() {
        file.p2p.listen.unwrap_or_else(|| vec![DEFAULT_P2P.parse().expect("default multiaddress")])
    } else {
        a.p2p_listen.clone()
    };
    let bootstrap = if a.bootstrap.is_empty() { file.p2p.bootstrap.unwrap_or_default() } else { a.bootstrap.clone() };
    let secs = a.sync_interval.or(file.p2p.sync_interval_secs).unwrap_or(5).max(1);
    let d = kp_node::witness::CheckpointConfig::default();
    let checkpoints = kp_node::witness::CheckpointConfig {
        every_entries: a.checkpoint_entries.or(file.checkpoints.every_entries).unwrap_or(d.every_entries).max(1),
        every: a
            .checkpoint_secs
            .or(file.checkpoints.every_secs)
            .map_or(d.every, |s| std::time::Duration::from_secs(s.max(1))),
        quorum: a.quorum.or(file.checkpoints.quorum).unwrap_or(d.quorum),
    };
    Ok(NodeConfig {
        checkpoints,
        data_dir: a.data.clone(),
        http: a.http.or(file.http).unwrap_or_else(|| DEFAULT_HTTP.parse().expect("default address")),
        roster,
        p2p: p2p_on.then(|| kp_node::net::NetConfig {
            listen,
            bootstrap,
            sync_interval: std::time::Duration::from_secs(secs),
        }),
    })
}

fn init(a: InitArgs) -> anyhow::Result<()> {
    let keys = a.data.join(layout::KEYS);
    if a.data.join(layout::CONFIG).exists() {
        bail!("{} is already a kp-node data directory", a.data.display());
    }
    std::fs::create_dir_all(&keys)?;
    let mut made = Vec::new();
    let mut gen_key = |name: &str| -> anyhow::Result<kp_schemas::Keypair> {
        let path = keys.join(format!("{name}.json"));
        let k = kp_client::keyfile::generate(&path)?;
        made.push((name.to_string(), k.public(), path));
        Ok(k)
    };
    let authority = a.participant.as_deref().map(|p| gen_key(&format!("authority-{p}"))).transpose()?;
    let monitor = a.monitor.as_deref().map(|m| gen_key(&format!("monitor-{m}"))).transpose()?;
    let chair = if a.chair || a.dev_network.is_some() { Some(gen_key("chair")?) } else { None };
    std::fs::write(a.data.join(layout::CONFIG), CONFIG_TEMPLATE)?;
    if let Some(network) = &a.dev_network {
        let chair = chair.as_ref().expect("a development network has a chair");
        let roster = kp_node::devnet::single_node_roster(
            network,
            chair,
            authority.as_ref().zip(a.participant.as_deref()),
            monitor.as_ref().zip(a.monitor.as_deref()),
            a.zone_regime,
        );
        std::fs::write(a.data.join(layout::ROSTER), serde_json::to_string_pretty(&roster)?)?;
    }
    println!("initialised {}", a.data.display());
    println!("  {:<20} {}", "peer id", node::peer_id(&a.data)?);
    for (name, key, path) in made {
        println!("  {name:<20} {key}  ({})", path.display());
    }
    if a.dev_network.is_none() {
        println!("next: put these public keys in the network roster, have the chair sign it,");
        println!(
            "      save it as {}, then run `kp-node run --data {}`",
            a.data.join(layout::ROSTER).display(),
            a.data.display()
        );
    } else {
        println!("next: kp-node run --data {}", a.data.display());
    }
    Ok(())
}
