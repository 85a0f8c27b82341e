//! kp-treebench: one log's Merkle tree in RocksDB, stored the way the write
//! path stores it (the hashes of its perfect subtrees, `tree::node_key` in
//! `Column::Tree`). Per size: build time, bytes on disk, and the time to make
//! and check inclusion and consistency proofs at random past sizes, against
//! the same proofs made from the leaves in memory. Every proof made is
//! checked against the root the store gives. Figures and commands are
//! recorded in docs/BENCHMARKS.md.

use anyhow::{bail, ensure};
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use kp_node::store::{Column, KeyValueStore, Op, RocksStore};
use kp_node::tree::{LogTree, node_key};
use kp_schemas::crypto::{node_hash, sha256};
use kp_schemas::merkle::{self, Frontier, Subtrees};
use kp_schemas::{Hash32, PublicKey};
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(about = "Benchmark one log's Merkle tree in RocksDB: build, disk, proofs")]
struct Args {
    /// Tree sizes (leaves), each built into its own fresh store.
    #[arg(long, value_delimiter = ',', default_values_t = [1_000_000u64, 10_000_000])]
    sizes: Vec<u64>,
    /// Random (leaf, size) and (size1, size2) pairs to prove, per kind.
    #[arg(long, default_value_t = 10_000)]
    proofs: usize,
    /// Leaves per buffered write while building.
    #[arg(long, default_value_t = 4096)]
    batch: usize,
    /// Proofs of each kind made from the leaves in memory, for comparison.
    #[arg(long, default_value_t = 20)]
    baseline_proofs: usize,
    /// Largest tree whose in-memory proofs are timed (each costs about one
    /// hash per leaf).
    #[arg(long, default_value_t = 10_000_000)]
    baseline_max: u64,
    /// Seed of the random pairs.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Parent directory of the stores [default: a temporary directory,
    /// removed at the end].
    #[arg(long)]
    dir: Option<PathBuf>,
}

fn bar(len: u64, what: &str) -> ProgressBar {
    let b = ProgressBar::new(len);
    b.set_style(
        ProgressStyle::with_template(&format!("{what:>12} {{bar:40}} {{pos}}/{{len}} {{per_sec}} eta {{eta}}"))
            .expect("template"),
    );
    b
}

/// splitmix64: reproducible pairs without another dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform enough in `lo..=hi` for these sizes.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

struct Stats(Vec<Duration>);

impl Stats {
    fn new(cap: usize) -> Self {
        Self(Vec::with_capacity(cap))
    }
    fn push(&mut self, d: Duration) {
        self.0.push(d);
    }
    fn pct(&self, p: f64) -> f64 {
        let mut v = self.0.clone();
        v.sort();
        v[((v.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1e6
    }
    fn mean(&self) -> f64 {
        self.0.iter().map(Duration::as_secs_f64).sum::<f64>() * 1e6 / self.0.len() as f64
    }
    /// `p50 / p99` in microseconds.
    fn show(&self) -> String {
        format!("{:.1} / {:.1}", self.pct(0.5), self.pct(0.99))
    }
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The log every tree here belongs to: any key will do.
const AUTHOR: PublicKey = PublicKey([7; 32]);

fn leaf(i: u64) -> Hash32 {
    sha256(&[&i.to_be_bytes()])
}

/// Counts the subtree reads a proof makes (in a pass apart, untimed).
struct Counting<'a>(&'a LogTree<'a>, std::cell::Cell<u64>);

impl Subtrees for Counting<'_> {
    type Error = kp_node::store::StoreError;
    fn perfect(&self, level: u8, index: u64) -> Result<Hash32, Self::Error> {
        self.1.set(self.1.get() + 1);
        self.0.perfect(level, index)
    }
}

/// One size's figures, as table cells.
struct Figures {
    cells: Vec<(String, String)>,
}

impl Figures {
    fn add(&mut self, figure: &str, value: String) {
        println!("  {figure}: {value}");
        self.cells.push((figure.to_string(), value));
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    ensure!(args.sizes.iter().all(|&n| n >= 2), "each size must be at least 2");
    ensure!(args.proofs > 0 && args.batch > 0, "--proofs and --batch must be positive");
    println!(
        "kp-treebench: sizes {:?}, {} proofs of each kind, writes of {} leaves, {} threads",
        args.sizes,
        args.proofs,
        args.batch,
        rayon::current_num_threads()
    );

    // One node hash, for reading proof costs as a number of hashes.
    let rounds = 1_000_000;
    let t = Instant::now();
    let mut h = leaf(0);
    let other = leaf(1);
    for _ in 0..rounds {
        h = node_hash(&h, &other);
    }
    std::hint::black_box(h);
    let hash_us = t.elapsed().as_secs_f64() * 1e6 / rounds as f64;
    println!("one node hash (SHA-256 of 65 bytes): {:.3} us", hash_us);

    let tmp = tempfile::tempdir()?;
    let parent = args.dir.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    let mut columns = Vec::new();
    for &n in &args.sizes {
        let dir = parent.join(format!("tree-{n}"));
        if dir.exists() {
            bail!("{} exists: give another --dir or remove it", dir.display());
        }
        columns.push((n, one_size(&args, n, &dir, hash_us)?));
        if args.dir.is_none() {
            std::fs::remove_dir_all(&dir)?;
        }
    }

    println!();
    print!("| figure |");
    for (n, _) in &columns {
        print!(" {} leaves |", thousands(*n));
    }
    println!();
    print!("|---|");
    for _ in &columns {
        print!("---|");
    }
    println!();
    for (i, (figure, _)) in columns[0].1.cells.iter().enumerate() {
        print!("| {figure} |");
        for (_, c) in &columns {
            print!(" {} |", c.cells[i].1);
        }
        println!();
    }
    Ok(())
}

fn one_size(args: &Args, n: u64, dir: &Path, hash_us: f64) -> anyhow::Result<Figures> {
    println!("\n{} leaves, store in {}", thousands(n), dir.display());
    let mut col = Figures { cells: Vec::new() };
    let leaves: Vec<Hash32> = (0..n).into_par_iter().map(leaf).collect();

    // Build: the frontier gives the subtrees each leaf completes, written
    // with the keys `Batch::append_leaf` uses, in buffered writes and one
    // synced write at the end, as group commit does.
    let store = RocksStore::open(dir)?;
    let build_bar = bar(n, "build");
    let t = Instant::now();
    let mut f = Frontier::default();
    let mut nodes = 0u64;
    let batch = args.batch;
    for (c, chunk) in leaves.chunks(batch).enumerate() {
        let mut ops = Vec::with_capacity(chunk.len() * 2 + 8);
        for l in chunk {
            for (level, index, hash) in f.push(*l) {
                ops.push(Op::Put(Column::Tree, node_key(&AUTHOR, level, index), hash.0.to_vec()));
            }
        }
        nodes += ops.len() as u64;
        if (c + 1) * batch >= leaves.len() {
            store.write(ops)?;
        } else {
            store.write_buffered(ops)?;
        }
        build_bar.inc(chunk.len() as u64);
    }
    let build = t.elapsed().as_secs_f64();
    build_bar.finish_and_clear();
    let t = Instant::now();
    store.flush()?;
    let flush = t.elapsed().as_secs_f64();
    let sst = store.column_bytes(Column::Tree)?;
    let dir_bytes = store.disk_bytes()?;
    let raw = nodes * (41 + 32);
    col.add(
        "build: push every leaf, write its subtrees (buffered, one synced write at the end)",
        format!("{build:.1} s"),
    );
    col.add("build rate", format!("**{} leaves/s**", thousands((n as f64 / build) as u64)));
    col.add("then flushing the memtables and waiting for compactions", format!("{flush:.1} s"));
    col.add(
        "subtrees stored (keys 41 B + hashes 32 B each)",
        format!(
            "{} ({:.2} per leaf, {:.0} B raw per leaf)",
            thousands(nodes),
            nodes as f64 / n as f64,
            raw as f64 / n as f64
        ),
    );
    col.add(
        "tree on disk: SST bytes of the tree column per leaf",
        format!("**{:.0} B** ({:.0} MiB)", sst as f64 / n as f64, sst as f64 / (1 << 20) as f64),
    );
    col.add(
        "whole store directory per leaf (SST files, logs, manifest)",
        format!("{:.0} B", dir_bytes as f64 / n as f64),
    );

    // The roots agree: store, frontier, and leaves in memory.
    let mem_root = merkle::root(&leaves);
    ensure!(f.root() == mem_root, "frontier root differs from the in-memory root");
    drop(store);

    // Random pairs.
    let mut rng = Rng(args.seed ^ n);
    let incl: Vec<(u64, u64)> = (0..args.proofs)
        .map(|_| {
            let size = rng.range(1, n);
            (rng.range(0, size - 1), size)
        })
        .collect();
    let cons: Vec<(u64, u64)> = (0..args.proofs)
        .map(|_| {
            let size2 = rng.range(2, n);
            (rng.range(1, size2 - 1), size2)
        })
        .collect();

    // Each kind on the store just opened: the first pass finds its block
    // cache empty (cold-ish: the OS page cache is not dropped), the second
    // makes the same proofs again (warm).
    let (mut proofs, mut cold, mut warm) =
        (Vec::with_capacity(incl.len()), Stats::new(incl.len()), Stats::new(incl.len()));
    {
        let store = RocksStore::open(dir)?;
        let tree = LogTree { store: &store, author: AUTHOR };
        let pb = bar(incl.len() as u64, "inclusion");
        for &(index, size) in &incl {
            let t = Instant::now();
            let p = tree.inclusion(index + 1, size, n)?;
            cold.push(t.elapsed());
            proofs.push(p);
            pb.inc(1);
        }
        pb.finish_and_clear();
        for (&(index, size), p) in incl.iter().zip(&proofs) {
            let t = Instant::now();
            let q = tree.inclusion(index + 1, size, n)?;
            warm.push(t.elapsed());
            ensure!(&q == p, "inclusion proof ({index}, {size}) differs between passes");
        }
    }
    let store = RocksStore::open(dir)?;
    let tree = LogTree { store: &store, author: AUTHOR };
    let (mut cproofs, mut ccold, mut cwarm) =
        (Vec::with_capacity(cons.len()), Stats::new(cons.len()), Stats::new(cons.len()));
    let pb = bar(cons.len() as u64, "consistency");
    for &(s1, s2) in &cons {
        let t = Instant::now();
        let p = tree.consistency(s1, s2, n)?;
        ccold.push(t.elapsed());
        cproofs.push(p);
        pb.inc(1);
    }
    pb.finish_and_clear();
    for (&(s1, s2), p) in cons.iter().zip(&cproofs) {
        let t = Instant::now();
        let q = tree.consistency(s1, s2, n)?;
        cwarm.push(t.elapsed());
        ensure!(&q == p, "consistency proof ({s1}, {s2}) differs between passes");
    }
    ensure!(tree.root(n)? == mem_root, "stored root differs from the in-memory root");

    // Roots at the sizes proved, read from the store (what signing a
    // checkpoint reads), then verification against them.
    let mut root_t = Stats::new(incl.len());
    let mut roots = Vec::with_capacity(incl.len());
    for &(_, size) in &incl {
        let t = Instant::now();
        let r = tree.root(size)?;
        root_t.push(t.elapsed());
        roots.push(r);
    }
    let mut verify = Stats::new(incl.len());
    for ((&(index, size), p), r) in incl.iter().zip(&proofs).zip(&roots) {
        let l = leaves[index as usize];
        let t = Instant::now();
        let ok = merkle::verify_inclusion(&l, index, size, p, r);
        verify.push(t.elapsed());
        ensure!(ok.is_ok(), "inclusion proof of leaf {index} in {size} does not verify: {ok:?}");
    }
    let mut cverify = Stats::new(cons.len());
    for (&(s1, s2), p) in cons.iter().zip(&cproofs) {
        let (r1, r2) = (tree.root(s1)?, tree.root(s2)?);
        let t = Instant::now();
        let ok = merkle::verify_consistency(s1, s2, p, &r1, &r2);
        cverify.push(t.elapsed());
        ensure!(ok.is_ok(), "consistency proof {s1} -> {s2} does not verify: {ok:?}");
    }
    let counting = Counting(&tree, Default::default());
    for &(index, size) in &incl {
        merkle::inclusion_proof_at(&counting, index, size)?;
    }
    let reads = counting.1.replace(0) as f64 / incl.len() as f64;
    for &(s1, s2) in &cons {
        merkle::consistency_proof_at(&counting, s1, s2)?;
    }
    let creads = counting.1.get() as f64 / cons.len() as f64;
    let plen = proofs.iter().map(Vec::len).sum::<usize>() as f64 / proofs.len() as f64;
    let cplen = cproofs.iter().map(Vec::len).sum::<usize>() as f64 / cproofs.len() as f64;
    col.add(
        "inclusion proof from the store, cold-ish (store just opened, block cache empty), p50 / p99",
        format!("{} us", cold.show()),
    );
    col.add(
        "inclusion proof from the store, warm (the same proofs again), p50 / p99",
        format!("**{} us**", warm.show()),
    );
    col.add("inclusion proof: hashes in it / subtrees read to make it, mean", format!("{plen:.1} / {reads:.1}"));
    col.add("inclusion proof: verify, p50 / p99", format!("{} us", verify.show()));
    col.add("consistency proof from the store, cold-ish, p50 / p99", format!("{} us", ccold.show()));
    col.add("consistency proof from the store, warm, p50 / p99", format!("**{} us**", cwarm.show()));
    col.add("consistency proof: hashes in it / subtrees read, mean", format!("{cplen:.1} / {creads:.1}"));
    col.add("consistency proof: verify, p50 / p99", format!("{} us", cverify.show()));
    col.add(
        "root at a random size from the store (a checkpoint's read), warm, p50 / p99",
        format!("{} us", root_t.show()),
    );

    // The same proofs from the leaves in memory, which recompute every
    // subtree hash they need: about one node hash per leaf.
    if n <= args.baseline_max && args.baseline_proofs > 0 {
        let k = args.baseline_proofs.min(incl.len());
        let mut mem = Stats::new(k);
        for (&(index, size), p) in incl.iter().zip(&proofs).take(k) {
            let t = Instant::now();
            let q = merkle::inclusion_proof(&leaves[..size as usize], index);
            mem.push(t.elapsed());
            ensure!(&q == p, "in-memory inclusion proof ({index}, {size}) differs from the stored tree's");
        }
        let mut cmem = Stats::new(k);
        for (&(s1, s2), p) in cons.iter().zip(&cproofs).take(k) {
            let t = Instant::now();
            let q = merkle::consistency_proof(&leaves[..s2 as usize], s1, s2);
            cmem.push(t.elapsed());
            ensure!(&q == p, "in-memory consistency proof ({s1}, {s2}) differs from the stored tree's");
        }
        col.add(
            "baseline: inclusion proof from the leaves in memory",
            format!(
                "{:.1} ms, mean of {k} ({:.0}x the warm p50 from the store)",
                mem.mean() / 1e3,
                mem.mean() / warm.pct(0.5)
            ),
        );
        col.add(
            "baseline: consistency proof from the leaves in memory",
            format!(
                "{:.1} ms, mean of {k} ({:.0}x the warm p50 from the store)",
                cmem.mean() / 1e3,
                cmem.mean() / cwarm.pct(0.5)
            ),
        );
    } else {
        col.add("baseline: inclusion proof from the leaves in memory", "not run (--baseline-max)".into());
        col.add("baseline: consistency proof from the leaves in memory", "not run (--baseline-max)".into());
    }
    col.add(
        "warm inclusion p50 from the store, in node hashes",
        format!("{:.0} (one node hash: {:.2} us)", warm.pct(0.5) / hash_us, hash_us),
    );
    println!("  every proof verified against the root the store gives");
    Ok(col)
}
