//! kp-viewerbench: how long the web viewer takes to show the trail page of
//! the deepest lot of a large store, in a real browser. It generates the
//! workload kp-bench ingests (`dev/src/workload.rs`), ingests it into a node
//! data directory, starts a real `kp-node` on it, and loads
//! `/lots/{participant}/{lot}` in headless Chromium (chromedriver) several
//! times, reading in the page when the trail picture was drawn: from the
//! start of navigation to the frame after the picture is in the page.
//! Figures and the command are in docs/BENCHMARKS.md.

use anyhow::{Context, bail};
use clap::Parser;
use kp_dev::workload;
use kp_node::ingest::{Submission, Writer};
use kp_node::keys::Keyring;
use kp_node::ledger::Ledger;
use kp_node::metrics::Metrics;
use kp_node::outcome::Outcome;
use kp_node::store::RocksStore;
use kp_schemas::trail;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(about = "Time the viewer's trail page of the deepest lot of a generated store in headless Chromium")]
struct Args {
    /// Entries to generate and ingest.
    #[arg(long, default_value_t = 1_000_000)]
    entries: usize,
    /// Deep lots (8 hops, 50 productions behind each).
    #[arg(long, default_value_t = 20)]
    deep: usize,
    /// Page loads to time.
    #[arg(long, default_value_t = 20)]
    runs: usize,
    /// Node data directory [default: a temporary directory, removed at the end].
    #[arg(long)]
    dir: Option<PathBuf>,
}

fn sibling(name: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let p = exe.parent().context("executable directory")?.join(name);
    if !p.exists() {
        bail!("{} is missing: run `cargo build --release --workspace --bins`", p.display());
    }
    Ok(p)
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let tmp = tempfile::tempdir()?;
    let data = args.dir.clone().unwrap_or_else(|| tmp.path().join("node"));
    std::fs::create_dir_all(&data)?;

    let t = Instant::now();
    let w = workload::generate(args.entries, args.deep, &|_| {});
    println!("generated {} entries in {:.1} s", w.entries.len(), t.elapsed().as_secs_f64());
    let roster = w.keys.roster(workload::NETWORK);
    std::fs::write(data.join(kp_node::node::layout::ROSTER), serde_json::to_string_pretty(&roster)?)?;
    let (participant, lot, depth, productions) = {
        let store = Arc::new(RocksStore::open(&data.join(kp_node::node::layout::DB))?);
        let ledger = Arc::new(Ledger::open(Box::new(store.clone()), Some(&roster))?);
        let writer = Writer::new(ledger.clone(), Keyring::default(), Arc::new(Metrics::default()));
        let t = Instant::now();
        for chunk in w.entries.chunks(4096) {
            let subs = chunk.iter().map(|b| Submission::Entry(b.clone())).collect();
            for r in writer.process(subs) {
                if let Err(e) = r.and_then(Outcome::into_reply) {
                    bail!("a generated entry was refused: {e}");
                }
            }
        }
        println!("ingested in {:.1} s", t.elapsed().as_secs_f64());
        // The deepest lot: most hops, then most productions.
        let mut best = None;
        for (p, l) in &w.deep_lots {
            let tr = trail::lot_trail(ledger.as_ref(), p, l, "2018-01-01")?;
            let key = (tr.depth, tr.productions);
            if best.as_ref().is_none_or(|(_, _, d, n)| key > (*d, *n)) {
                best = Some((p.clone(), l.clone(), tr.depth, tr.productions));
            }
        }
        best.context("the workload has no deep lot: pass --deep 1 or more")?
    };
    drop(w);
    println!("deepest lot: {lot} of {participant}, {depth} hops, {productions} productions");

    let port = kp_e2e::free_port();
    let mut node = Command::new(sibling("kp-node")?)
        .args(["run", "--data"])
        .arg(&data)
        .args(["--http", &format!("127.0.0.1:{port}"), "--p2p-listen", "/ip4/127.0.0.1/tcp/0"])
        .env("KP_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()?;
    let base = format!("http://127.0.0.1:{port}");
    let client = kp_client::Client::with_timeout(base.clone(), Duration::from_secs(30));
    let deadline = Instant::now() + Duration::from_secs(120);
    while client.healthz().is_err() {
        if Instant::now() > deadline {
            let _ = node.kill();
            bail!("kp-node did not answer within 120 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let svg_bytes = ureq::get(&format!(
        "{base}/v1/trail/lot/{}/{}?format=svg",
        participant,
        kp_schemas::trail_svg::encode_path(&lot, true)
    ))
    .call()?
    .body_mut()
    .read_to_string()?
    .len();
    let driver = kp_e2e::start_driver();
    let result = (|| -> anyhow::Result<Vec<f64>> {
        let c = kp_e2e::Browser::start(&driver);
        let url = format!("{base}/lots/{participant}/{}", kp_schemas::trail_svg::encode_path(&lot, true));
        let mut times = Vec::new();
        for i in 0..args.runs + 1 {
            c.goto("about:blank")?;
            c.goto(&url)?;
            let e = c.wait_for("body[data-rendered]", Duration::from_secs(30))?;
            let ms: f64 = e.attr("data-rendered")?.unwrap_or_default().parse().unwrap_or(f64::NAN);
            let boxes = c.find_all("#trail-picture svg a.node")?.len();
            if boxes == 0 {
                bail!("the trail page drew no box: {}", c.find("main")?.text()?);
            }
            if i == 0 {
                println!("first load (warm-up, not counted): {ms:.0} ms, {boxes} boxes drawn");
            } else {
                times.push(ms);
            }
        }
        Ok(times)
    })();
    let _ = Command::new("kill").args(["-TERM", &node.id().to_string()]).status();
    let _ = node.wait();
    let mut times = result?;
    times.sort_by(f64::total_cmp);
    let pct = |q: f64| times[((times.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "trail page of {lot} ({depth} hops, {productions} productions, SVG {:.0} KiB) on a {}-entry store: \
         {} loads, from navigation to the picture drawn: min {:.0} ms, p50 {:.0} ms, max {:.0} ms",
        svg_bytes as f64 / 1024.0,
        args.entries,
        times.len(),
        pct(0.0),
        pct(0.5),
        pct(1.0)
    );
    Ok(())
}
