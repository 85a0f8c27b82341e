//! kpledger's development tools, kept out of the daemon and the client: the
//! demo (`kp-dev demo`), development networks (`kp-dev devnet`), generated
//! workloads for benchmarks and large tests, and the benchmarks (`kp-bench`,
//! `kp-treebench`, `kp-netbench`). This crate depends on both `kp-node` and
//! `kp-client`; neither depends on it, but for the node's tests.
//!
//! Every binary of this crate is also a node: run as `PROGRAM node ARGS...`
//! it is `kp-node ARGS...` (the same code, `kp_node::cli`), so the demo and
//! the network benchmark start their nodes by running themselves
//! ([`node_command`]) and need no other binary built.

#![deny(missing_docs)]

use std::ffi::OsStr;
use std::process::ExitCode;

pub mod demo;
pub mod devnet;
pub mod stats_scenario;
pub mod workload;

/// The first argument that makes a binary of this crate run as `kp-node`.
pub const NODE: &str = "node";

/// If this program was started as `PROGRAM node ARGS...`, run the `kp-node`
/// command line on ARGS and give its exit code; otherwise `None`. Every
/// binary of this crate calls it first.
pub fn run_as_node() -> Option<ExitCode> {
    let mut args = std::env::args_os().skip(1);
    if args.next().as_deref() != Some(OsStr::new(NODE)) {
        return None;
    }
    Some(kp_node::cli::main(std::iter::once("kp-node".into()).chain(args)))
}

/// A command that runs `kp-node` as this program (see [`run_as_node`]);
/// add the `kp-node` arguments, for example `run --data DIR`.
pub fn node_command() -> std::io::Result<std::process::Command> {
    let mut c = std::process::Command::new(std::env::current_exe()?);
    c.arg(NODE);
    Ok(c)
}
