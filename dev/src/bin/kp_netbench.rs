//! kp-netbench: the network measured with real kp-node processes on
//! loopback (this binary, run as `kp-netbench node run ...`): propagation latency on the five-node demo network, throughput
//! under sustained submission at every node, and catch-up of a fresh node as
//! a ratio to single-node ingest of the same entries in the same run.

use anyhow::{Context, bail};
use clap::Parser;
use kp_client::Client;
use kp_dev::demo::{self, Clients};
use kp_dev::workload;
use kp_node::node::{self, layout};
use kp_schemas::entry::sign_record;
use kp_schemas::model::*;
use kp_schemas::{Hash32, Keypair};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(about = "Benchmark kpledger's network: propagation, throughput, catch-up")]
struct Args {
    /// Entries timed one by one for propagation.
    #[arg(long, default_value_t = 300)]
    propagation: usize,
    /// Submitting threads per node for the throughput run.
    #[arg(long, default_value_t = 4)]
    threads: usize,
    /// Records each submitting thread sends.
    #[arg(long, default_value_t = 500)]
    per_thread: usize,
    /// Entries a fresh node catches up with.
    #[arg(long, default_value_t = 200_000)]
    catchup: usize,
    /// First port; the run uses this port and the 104 after it.
    #[arg(long, default_value_t = 37_070)]
    port: u16,
}

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status();
        let _ = self.0.wait();
    }
}

fn start(data: &Path, http: u16, p2p: u16) -> anyhow::Result<Proc> {
    let log = std::fs::File::create(data.join("kp-node.log"))?;
    // `kp-node run`, as this binary: see `kp_dev::run_as_node`.
    let child = kp_dev::node_command()?
        .args(["run", "--data"])
        .arg(data)
        .args(["--http", &format!("127.0.0.1:{http}"), "--p2p-listen", &format!("/ip4/127.0.0.1/tcp/{p2p}")])
        .args(["--sync-interval", "1"])
        .env("KP_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .context("starting kp-node")?;
    Ok(Proc(child))
}

fn pct(v: &mut [Duration], p: f64) -> f64 {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1e3
}

fn production(lot: String, zone: bool) -> RecordBody {
    RecordBody::Production(Production {
        lot,
        site: "bench".into(),
        zone: zone.then(|| ZoneRef { zone: "BRI".into(), status_entry: None }),
        weight: 100,
        stones: 1,
        date: "2017-01-01".into(),
        nature: Nature::Natural,
        value_cents: None,
    })
}

fn main() -> anyhow::Result<std::process::ExitCode> {
    if let Some(code) = kp_dev::run_as_node() {
        return Ok(code);
    }
    let args = Args::parse();
    let tmp = tempfile::tempdir()?;
    five_nodes(&args, tmp.path())?;
    catchup(&args, tmp.path())?;
    Ok(std::process::ExitCode::SUCCESS)
}

fn five_nodes(args: &Args, dir: &Path) -> anyhow::Result<()> {
    let (nodes, _) = demo::prepare_network(&dir.join("five"), args.port)?;
    let mut procs = Vec::new();
    for n in &nodes {
        procs.push(start(&n.data, n.http.port(), n.http.port() + 100)?);
    }
    let list: Vec<_> =
        nodes.iter().map(|n| (n.code.to_string(), n.data.clone(), format!("http://{}", n.http))).collect();
    let clients = demo::connect(&list)?;
    // One miner per participant, registered at its own node.
    let miners: Vec<(String, Keypair)> =
        nodes.iter().enumerate().map(|(i, n)| (n.code.to_string(), Keypair::from_seed([100 + i as u8; 32]))).collect();
    for (code, k) in &miners {
        let body = Body::RegisterLicensee(LicenseeRegistration {
            licensee: k.public(),
            name: format!("{code} bench miner"),
            roles: vec![Role::Miner],
        });
        clients.of(code).action(Some(code), body)?;
    }
    demo::converge(&clients)?;

    // Propagation: one entry at a time, at each node in turn, until every
    // other node has stored it.
    let mut lat = Vec::with_capacity(args.propagation);
    for i in 0..args.propagation {
        let (code, key) = &miners[i % miners.len()];
        let rec = sign_record(demo::NETWORK, key, i as u64, production(format!("{code}/PROP/{i}"), code == "CF"));
        let hash = clients.of(code).submit_record(&rec)?.hash;
        let t0 = Instant::now();
        wait_everywhere(&clients, &hash)?;
        lat.push(t0.elapsed());
    }
    println!(
        "propagation: {} entries on 5 nodes, stored everywhere after the writing node's answer: p50 {:.2} ms, p99 {:.2} ms",
        lat.len(),
        pct(&mut lat, 0.5),
        pct(&mut lat, 0.99)
    );

    // Throughput: every node takes records from several clients at once.
    let t0 = Instant::now();
    let mut handles = Vec::new();
    for (code, key) in &miners {
        for t in 0..args.threads {
            let (c, key, code, n) = (clients.of(code).clone(), key.clone(), code.clone(), args.per_thread);
            handles.push(std::thread::spawn(move || -> anyhow::Result<usize> {
                for i in 0..n {
                    let rec = sign_record(
                        demo::NETWORK,
                        &key,
                        1_000_000 + (t * n + i) as u64,
                        production(format!("{code}/TP/{t}/{i}"), code == "CF"),
                    );
                    c.submit_record(&rec)?;
                }
                Ok(n)
            }));
        }
    }
    let mut total = 0;
    for h in handles {
        total += h.join().map_err(|_| anyhow::anyhow!("a submitting thread panicked"))??;
    }
    let acked = t0.elapsed().as_secs_f64();
    demo::converge(&clients)?;
    let everywhere = t0.elapsed().as_secs_f64();
    println!(
        "throughput: {total} records from {} clients at 5 nodes: {:.0} entries/s acknowledged, {:.0} entries/s stored on all 5 nodes ({everywhere:.1} s)",
        miners.len() * args.threads,
        total as f64 / acked,
        total as f64 / everywhere
    );
    drop(procs);
    Ok(())
}

fn wait_everywhere(clients: &Clients, hash: &Hash32) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    for (_, c) in &clients.0 {
        while c.entry(hash).is_err() {
            if Instant::now() > deadline {
                bail!("entry {hash} did not reach every node within 30 s");
            }
            std::hint::spin_loop();
        }
    }
    Ok(())
}

fn catchup(args: &Args, dir: &Path) -> anyhow::Result<()> {
    let w = workload::generate(args.catchup, 0, &|_| {});
    let n = w.entries.len();
    let (a, b) = (dir.join("full"), dir.join("fresh"));
    let mut infos = Vec::new();
    for (i, (code, d)) in [("BW", &a), ("EU", &b)].into_iter().enumerate() {
        std::fs::create_dir_all(d)?;
        let addr = format!("/ip4/127.0.0.1/tcp/{}", args.port + 150 + i as u16);
        infos.push((code.to_string(), NodeInfo { peer_id: node::peer_id(d)?.to_string(), addrs: vec![addr] }));
    }
    let roster = w.keys.roster_with_nodes(workload::NETWORK, &infos);
    for d in [&a, &b] {
        std::fs::write(d.join(layout::ROSTER), serde_json::to_string_pretty(&roster)?)?;
    }
    let t0 = Instant::now();
    workload::seed(&a, &roster, &w.entries)?;
    let ingest = n as f64 / t0.elapsed().as_secs_f64();
    println!("single-node ingest of {n} entries: {ingest:.0} entries/s");

    let _pa = start(&a, args.port + 140, args.port + 150)?;
    let t0 = Instant::now();
    let _pb = start(&b, args.port + 141, args.port + 151)?;
    let cb = Client::new(format!("http://127.0.0.1:{}", args.port + 141));
    let deadline = Instant::now() + Duration::from_secs(3600);
    loop {
        if let Ok(s) = cb.status()
            && s.entries as usize >= n
        {
            break;
        }
        if Instant::now() > deadline {
            bail!("the fresh node did not catch up within an hour");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let sync = n as f64 / t0.elapsed().as_secs_f64();
    println!(
        "catch-up: a fresh node synced {n} entries at {sync:.0} entries/s = {:.2} of single-node ingest",
        sync / ingest
    );
    Ok(())
}
