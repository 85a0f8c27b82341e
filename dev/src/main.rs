//! `kp-dev`: the demo and development networks. `kp-dev node ...` is
//! `kp-node ...`: the demo runs its five nodes that way.

use clap::{Parser, Subcommand};
use kp_dev::demo;
use std::path::PathBuf;

// As in `kp-node`: the nodes the demo starts are this binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "kp-dev",
    version,
    about = "kpledger development tools: the demo and development networks",
    after_help = "`kp-dev node ARGS...` runs `kp-node ARGS...`: the demo starts its nodes that way."
)]
struct Cli {
    /// Log filter, as RUST_LOG (for example `info` or `kp_node=debug`).
    #[arg(long, env = "KP_LOG", default_value = "info", global = true)]
    log: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a development network in a folder, load the reference scenario,
    /// print the trail of the Indian lot, and keep serving the API.
    Demo(demo::DemoArgs),
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
}

fn main() -> std::process::ExitCode {
    if let Some(code) = kp_dev::run_as_node() {
        return code;
    }
    let cli = Cli::parse();
    kp_node::cli::init_tracing(&cli.log);
    match run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Demo(a) => tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(demo::run(a))?,
        Command::Devnet { dir, five: true, port } => {
            let (nodes, _) = demo::prepare_network(&dir, port)?;
            println!("development network `{}` of five nodes in {}", demo::NETWORK, dir.display());
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
            let (data, _) = demo::prepare(&dir)?;
            println!("development network `{}` in {}", demo::NETWORK, dir.display());
            println!("  node data:     {}", data.display());
            println!("  licensee keys: {}", dir.join("licensees").display());
            println!("next: kp-node run --data {}", data.display());
        }
    }
    Ok(())
}
