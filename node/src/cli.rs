//! The `kp-node` command line: argument parsing and dispatch. The binary
//! (`src/main.rs`) calls [`main`]; so does the development binary `kp-dev`,
//! which runs its nodes as `kp-dev node ...`.

use crate::node::{self, NodeConfig, layout};
use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use kp_schemas::Keypair;
use kp_schemas::model::{Monitor, Participant, Roster, SignedRoster};
use serde::Deserialize;
use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;
use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

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
    /// Retire the data directory of a machine that another replaced (its
    /// logs moved with `SetNodes`): delete its signing keys and mark it so
    /// that no node runs on it again. Stop its node first.
    Retire {
        #[arg(long, env = "KP_DATA")]
        data: PathBuf,
        /// Do it; without this, say what would be done and exit with 2.
        #[arg(long)]
        yes: bool,
        /// Print JSON, for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Sign, with a participant's or monitor's current key held here, the
    /// statement that hands its log over to a new key, for the chair to
    /// record (`RotateKey`). Stop the node first: the old key must sign
    /// nothing after the statement's last position.
    RotationStatement {
        #[arg(long, env = "KP_DATA")]
        data: PathBuf,
        /// The participant's code or the monitor's id.
        #[arg(long)]
        holder: String,
        /// The new key, hex (`kp-node key new` prints it).
        #[arg(long, value_name = "PUBHEX")]
        new_key: String,
        /// The old key's last position [default: the log's head in this store].
        #[arg(long, value_name = "SEQ")]
        last: Option<u64>,
        /// Print only the JSON, for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Signing keys in the data directory.
    Key {
        #[command(subcommand)]
        command: KeyCommand,
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

#[derive(Subcommand)]
enum KeyCommand {
    /// Make a new signing key in `<data>/keys/NAME.json`, readable by its
    /// owner only, and print its public key. An existing file is never
    /// overwritten. The node keeps a key the network gives no role yet, and
    /// signs with it once the chair names it (an admission, a rotation).
    New {
        #[arg(long, env = "KP_DATA")]
        data: PathBuf,
        /// The file name without `.json`, for example `authority-BW-2`.
        #[arg(long)]
        name: String,
        /// Print JSON, for scripts.
        #[arg(long)]
        json: bool,
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
    /// Write no own log before a peer has said how far it goes and this
    /// node holds that far, even a log the store holds entries of (after
    /// restoring a backup). A log the store holds nothing of always waits.
    #[arg(long)]
    catch_up_first: bool,
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
    catch_up_first: Option<bool>,
}

const DEFAULT_P2P: &str = "/ip4/0.0.0.0/tcp/7171";

const CONFIG_TEMPLATE: &str = include_str!("../../deploy/kp-node.toml");

/// Run the `kp-node` command line on `args` (the program name first, as
/// `std::env::args_os` gives them). Usage errors exit here, as clap does.
pub fn main(args: impl IntoIterator<Item = OsString>) -> std::process::ExitCode {
    let cli = Cli::parse_from(args);
    init_tracing(&cli.log);
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(1)
        }
    }
}

/// Log to stderr, filtered by `RUST_LOG` if set, else by `default_filter`.
pub fn init_tracing(default_filter: &str) {
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| default_filter.to_string().into());
    // The stream watch has its own filter: it reads two lines of libp2p's
    // whatever the log level (see `net::watch`).
    tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_filter(filter))
        .with(crate::net::watch::layer())
        .init();
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
        Command::PeerId { data } => println!("{}", node::peer_id(&data)?),
        Command::Retire { data, yes, json } => return crate::operate::retire(&data, yes, json),
        Command::RotationStatement { data, holder, new_key, last, json } => {
            crate::operate::rotation_statement(&data, &holder, &new_key, last, json)?
        }
        Command::Key { command: KeyCommand::New { data, name, json } } => crate::operate::new_key(&data, &name, json)?,
        Command::Check { data } => {
            let ledger = node::open_ledger(&data, None)?;
            let bar = indicatif::ProgressBar::new(ledger.entry_count());
            bar.set_style(indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} entries {per_sec} eta {eta}")?);
            let report = crate::rebuild::check(&ledger, |n| bar.set_position(n))?;
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
            let chair = crate::keys::load_file(&chair_key)?;
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
    let d = crate::witness::CheckpointConfig::default();
    let checkpoints = crate::witness::CheckpointConfig {
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
        p2p: p2p_on.then(|| crate::net::NetConfig {
            listen,
            bootstrap,
            sync_interval: std::time::Duration::from_secs(secs),
            catch_up_first: a.catch_up_first || file.p2p.catch_up_first.unwrap_or(false),
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
    let mut gen_key = |name: &str| -> anyhow::Result<Keypair> {
        let path = keys.join(format!("{name}.json"));
        let k = crate::keys::generate_file(&path)?;
        made.push((name.to_string(), k.public(), path));
        Ok(k)
    };
    let authority = a.participant.as_deref().map(|p| gen_key(&format!("authority-{p}"))).transpose()?;
    let monitor = a.monitor.as_deref().map(|m| gen_key(&format!("monitor-{m}"))).transpose()?;
    let chair = if a.chair || a.dev_network.is_some() { Some(gen_key("chair")?) } else { None };
    std::fs::write(a.data.join(layout::CONFIG), CONFIG_TEMPLATE)?;
    if let Some(network) = &a.dev_network {
        let chair = chair.as_ref().expect("a development network has a chair");
        let roster = single_node_roster(
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

fn participant(code: &str, key: &Keypair, zone_regime: bool) -> Participant {
    Participant { code: code.into(), name: code.into(), authority: key.public(), zone_regime, nodes: vec![] }
}

/// The roster of `kp-node init --dev-network`: one node holding the chair
/// key and, if given, one participant's authority and one monitor (scoped
/// to that participant).
fn single_node_roster(
    network: &str,
    chair: &Keypair,
    authority: Option<(&Keypair, &str)>,
    mon: Option<(&Keypair, &str)>,
    zone_regime: bool,
) -> SignedRoster {
    let participants: Vec<Participant> =
        authority.map(|(k, code)| vec![participant(code, k, zone_regime)]).unwrap_or_default();
    let scope: Vec<String> = participants.iter().map(|p| p.code.clone()).collect();
    let monitors = mon
        .map(|(k, id)| {
            vec![Monitor {
                id: id.into(),
                name: format!("Monitoring team {id}"),
                key: k.public(),
                scope,
                nodes: vec![],
            }]
        })
        .unwrap_or_default();
    let r = Roster {
        network: network.into(),
        version: 1,
        chair: chair.public(),
        participants,
        monitors,
        observers: vec![],
    };
    kp_schemas::roster::sign(r, chair)
}
