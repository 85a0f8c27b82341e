//! Several real `kp-node` processes on loopback, talking libp2p: gossip
//! spreads entries, catch-up sync repairs what a node missed (a crash, a
//! stop, a late start), and a rostered peer that gossips invalid or
//! equivocating entries changes nothing but the evidence.

use kp_client::{Client, ClientError};
use kp_dev::demo;
use kp_e2e::*;
use kp_schemas::entry::sign_record;
use kp_schemas::model::*;
use kp_schemas::{Hash32, Keypair, PublicKey, SignedEntry};
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const NETWORK: &str = demo::NETWORK;
/// Fixed, so that a trail reads the same on every node whatever the clock.
const TODAY: Option<&str> = Some("2017-12-31");

/// The hash of every entry a node holds, read log by log.
fn all_hashes(c: &Client) -> HashSet<Hash32> {
    let mut out = HashSet::new();
    for log in c.logs().unwrap() {
        let mut from = Some(1);
        while let Some(f) = from {
            let page = c.log_page(&log.author, Some(f), Some(500)).unwrap();
            out.extend(page.entries.iter().map(|e| e.hash));
            from = page.next;
        }
    }
    out
}

/// The fill of this suite's [`seeded`] keys.
const SEED: u8 = 0x5A;

fn production(lot: &str, weight: Weight) -> RecordBody {
    RecordBody::Production(Production {
        lot: lot.into(),
        site: "Site".into(),
        zone: None,
        weight,
        stones: 1,
        date: "2017-01-01".into(),
        nature: Nature::Natural,
        value_cents: None,
    })
}

/// Licensee records submitted one after the other until told to stop;
/// failures (the node is down) are counted and the loop goes on.
struct Writer {
    stop: Arc<AtomicBool>,
    acked: Arc<AtomicUsize>,
    failed: Arc<AtomicUsize>,
    thread: std::thread::JoinHandle<Vec<(Instant, Hash32)>>,
}

impl Writer {
    fn start(c: Client, miner: Keypair, tag: String) -> Writer {
        let stop = Arc::new(AtomicBool::new(false));
        let (acked, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (flag, a, f) = (stop.clone(), acked.clone(), failed.clone());
        let thread = std::thread::spawn(move || {
            let mut out = Vec::new();
            let mut i = 0u64;
            while !flag.load(Ordering::Relaxed) {
                i += 1;
                // A fresh lot and nonce per attempt: an attempt cut off by a
                // crash may have been stored without an answer.
                let rec = sign_record(NETWORK, &miner, i, production(&format!("{tag}/{i}"), 100 + i));
                match c.submit_record(&rec) {
                    Ok(s) => {
                        out.push((Instant::now(), s.hash));
                        a.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(_) => {
                        f.fetch_add(1, Ordering::Relaxed);
                        std::thread::sleep(Duration::from_millis(50));
                    }
                }
            }
            out
        });
        Writer { stop, acked, failed, thread }
    }

    /// Wait for `n` more acknowledgements: amounts, not durations, so that
    /// a loaded machine writes as much as an idle one.
    #[track_caller]
    fn more(&self, what: &str, n: usize) {
        let base = self.acked.load(Ordering::Relaxed);
        wait_for(&format!("{n} more entries acknowledged {what}"), Duration::from_secs(60), |last| {
            let now = self.acked.load(Ordering::Relaxed) - base;
            *last = now.to_string();
            (now >= n).then_some(())
        })
    }

    fn failed(&self) -> usize {
        self.failed.load(Ordering::Relaxed)
    }

    /// When each acknowledged entry was acknowledged, and its hash.
    fn finish(self) -> Vec<(Instant, Hash32)> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap()
    }
}

#[track_caller]
fn assert_everywhere(net: &Net, what: &str, acked: &[Hash32]) {
    for (code, n) in net.all() {
        let held = all_hashes(&n.client());
        let missing: Vec<_> = acked.iter().filter(|h| !held.contains(h)).collect();
        assert!(
            missing.is_empty(),
            "{} of {} acknowledged {what} entries missing at {code}: {missing:?}",
            missing.len(),
            acked.len()
        );
    }
}

/// Statistics are a function of the logs and the query: every node of the
/// converged network answers the same bytes, the report of a participant
/// whose node wrote none of it included.
fn same_statistics_everywhere(net: &Net) {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let get = |n: &Node, path: &str| -> String {
        let mut r = agent.get(format!("{}{path}", n.url())).call().unwrap();
        assert_eq!(r.status().as_u16(), 200, "{path}");
        r.body_mut().read_to_string().unwrap()
    };
    for path in [
        "/v1/reports/CF?period=2017",
        "/v1/reports/BW?period=2017&format=markdown",
        "/v1/stats?period=2017",
        "/v1/stats/mirror?period=2017",
        "/v1/anomalies?period=2017",
    ] {
        let first = get(net.node("CF"), path);
        for (code, n) in net.all() {
            assert_eq!(get(n, path), first, "the {code} node answers {path} differently from the CF node");
        }
    }
    // The reference scenario's anomalies: the Bria mix went to the CF
    // exporter, and AE confirmed BW-000004 short of its weight.
    let found: kp_schemas::stats::AnomalyAnswer =
        serde_json::from_str(&get(net.node("IN"), "/v1/anomalies?period=2017")).unwrap();
    let ids: Vec<&str> = found.anomalies.iter().map(|a| a.id.as_str()).collect();
    assert!(ids.contains(&"non_compliant_to_exporter/CF/CF/EXP/2017/0002"), "{ids:?}");
    assert!(ids.contains(&"confirmation_mismatch/BW-000004"), "{ids:?}");
}

#[test]
fn five_nodes_converge_on_records_written_at_each() {
    let _x = exclusive();
    let t0 = Instant::now();
    let net = Net::five();
    // The scenario registers each licensee at its own authority's node and
    // submits each record there: CF, BW, EU, AE and IN all write.
    let outcome = demo::load_scenario(&net.clients(), &net.licensees, "AE").unwrap();
    let heads = converged(&net.all(), Duration::from_secs(60));

    let authors: HashSet<PublicKey> = heads.iter().map(|h| h.0).collect();
    let roster = net.client("CF").roster().unwrap().roster;
    for p in &roster.participants {
        assert!(authors.contains(&p.authority), "no log of {} anywhere", p.code);
    }
    assert!(authors.contains(&roster.monitors[0].key), "no log of the monitor");
    assert!(heads.iter().all(|h| !h.3), "a log is frozen: {heads:?}");
    let counts: Vec<u64> = net.all().iter().map(|(_, n)| n.client().status().unwrap().entries).collect();
    assert!(counts.windows(2).all(|w| w[0] == w[1]), "entry counts differ: {counts:?}");
    assert_eq!(counts[0], heads.iter().map(|h| h.1).sum::<u64>());
    // Entries travelled by gossip, and an honest network rejects none.
    for (code, n) in net.all() {
        let p = n.client().peers().unwrap();
        assert!(p.gossip_accepted > 0 && p.gossip_rejected == 0, "{code}: {p:?}");
    }

    // The same question gets the same answer from every node, including
    // nodes that wrote none of the trail.
    let lot = outcome.indian_lot.as_str();
    let trail_at = |n: &Node, participant: &str, lot: &str| {
        serde_json::to_string(&n.client().lot_trail(participant, lot, TODAY).unwrap()).unwrap()
    };
    let first = trail_at(net.node("CF"), "IN", lot);
    for (code, n) in net.all() {
        assert_eq!(trail_at(n, "IN", lot), first, "the {code} node's trail of {lot} differs from the CF node's");
    }
    let trail = net.client("IN").lot_trail("IN", lot, TODAY).unwrap();
    assert_eq!(trail.productions, 3, "Berberati, Nola and Jwaneng");
    assert!(trail.compliance.compliant, "{:?}", trail.compliance);
    let share = |c: &str| trail.origins.iter().find(|o| o.country == c).map(|o| o.share).unwrap_or(0.0);
    // The EU mix is 1000 ct from CF and 1500 ct from BW; the Indian lot is a split of it.
    assert!((share("CF") - 0.4).abs() < 1e-9 && (share("BW") - 0.6).abs() < 1e-9, "{:?}", trail.origins);
    // The Bria mix is refused for export at CF; every node tells why.
    let bria = trail_at(net.node("CF"), "CF", "CF/EXP/2017/0002");
    for (code, n) in net.all() {
        assert_eq!(trail_at(n, "CF", "CF/EXP/2017/0002"), bria, "the {code} node's trail of the Bria mix differs");
    }
    assert!(bria.contains("\"compliant\":false"), "{bria}");
    same_statistics_everywhere(&net);
    println!("convergence: {} entries on five nodes in {:.1} s", counts[0], t0.elapsed().as_secs_f64());
}

#[test]
fn kill_9_then_catch_up_loses_nothing_acknowledged() {
    let _x = exclusive();
    let t0 = Instant::now();
    let mut net = Net::five();
    let bw_miner = Keypair::from_seed([0xB1; 32]);
    let eu_miner = Keypair::from_seed([0xE1; 32]);
    net.register("BW", &bw_miner.public(), vec![Role::Miner]);
    net.register("EU", &eu_miner.public(), vec![Role::Miner]);

    // A node nobody writes to crashes while two others are written to; it
    // misses more than one sync page.
    let bw = Writer::start(net.client("BW"), bw_miner.clone(), "BW/A".into());
    let eu = Writer::start(net.client("EU"), eu_miner.clone(), "EU/A".into());
    bw.more("at BW", 100);
    eu.more("at EU", 100);
    net.node_mut("AE").kill9();
    let down = Instant::now();
    bw.more("at BW while AE is down", 300);
    eu.more("at EU while AE is down", 300);
    net.node_mut("AE").restart();
    let up = Instant::now();
    bw.more("at BW after AE's restart", 100);
    eu.more("at EU after AE's restart", 100);
    assert_eq!((bw.failed(), eu.failed()), (0, 0), "the crash of AE disturbed writers at BW and EU");
    let acked: Vec<_> = bw.finish().into_iter().chain(eu.finish()).collect();
    let missed = acked.iter().filter(|(t, _)| *t > down && *t < up).count();
    converged(&net.all(), Duration::from_secs(60));
    let synced = net.client("AE").peers().unwrap().synced_entries;
    assert!(synced > 0, "AE missed {missed} entries and synced none after its restart");
    let acked: Vec<Hash32> = acked.into_iter().map(|(_, h)| h).collect();
    assert_everywhere(&net, "phase-1", &acked);
    let phase1 = acked.len();

    // A node crashes while it is being written to, misses what another node
    // writes, and takes writes again once restarted.
    let bw = Writer::start(net.client("BW"), bw_miner, "BW/B".into());
    let eu = Writer::start(net.client("EU"), eu_miner, "EU/B".into());
    bw.more("at BW", 100);
    eu.more("at EU", 100);
    net.node_mut("EU").kill9();
    bw.more("at BW while EU is down", 600);
    wait_for("the writer at EU seeing its node down", Duration::from_secs(30), |_| (eu.failed() > 0).then_some(()));
    net.node_mut("EU").restart();
    eu.more("at EU after its restart", 100);
    bw.more("at BW after EU's restart", 100);
    assert_eq!(bw.failed(), 0, "the crash of EU disturbed the writer at BW");
    let acked: Vec<Hash32> = bw.finish().into_iter().chain(eu.finish()).map(|(_, h)| h).collect();
    converged(&net.all(), Duration::from_secs(60));
    assert_everywhere(&net, "phase-2", &acked);

    // What the crashed node derived from its logs, its own and synced ones,
    // is what a replay derives.
    net.node_mut("EU").stop();
    let check =
        std::process::Command::new(bin("kp-node")).args(["check", "--data"]).arg(net.data("EU")).output().unwrap();
    assert!(check.status.success(), "EU's state differs from its logs: {}{}", stdout(&check), stderr(&check));
    println!(
        "crash: {phase1} + {} acknowledged entries on every node after two kill -9 \
         (AE missed {missed}), in {:.1} s",
        acked.len(),
        t0.elapsed().as_secs_f64()
    );
}

fn export(cert: &str, to: &str, lot: &str, weight: Weight) -> RecordBody {
    RecordBody::Export(Export {
        certificate: cert.into(),
        importer: to.into(),
        consignee: format!("{to} importer"),
        inputs: vec![Take { lot: lot.into(), weight }],
        lines: vec![HsLine { code: "7102.31".into(), weight, value_cents: weight * 10 }],
        parcels: 1,
        issued: "2017-03-01".into(),
        expires: "2018-12-31".into(),
    })
}

/// Confirm a certificate at the importer's node, once it has arrived there.
fn confirm(
    net: &Net,
    by: &str,
    cert: &str,
    lot: &str,
    holder: PublicKey,
) -> Result<kp_schemas::api::Submitted, ClientError> {
    let c = net.client(by);
    let state = wait_for(&format!("certificate {cert} at {by}"), Duration::from_secs(30), |_| c.certificate(cert).ok());
    c.action(
        Some(by),
        Body::ImportConfirmation(ImportConfirmation {
            exporter: state.exporter,
            certificate: cert.into(),
            certificate_entry: state.entry,
            weight: state.weight,
            parcels: state.parcels,
            lot: lot.into(),
            holder,
            date: "2017-04-01".into(),
        }),
    )
}

#[test]
fn a_stopped_node_catches_up_with_every_authority() {
    let _x = exclusive();
    let t0 = Instant::now();
    let mut net = Net::five();
    let key = |f: &str| net.licensees.get(f).key.clone();
    let (bw_miner, bw_exporter, eu_trader, in_importer) =
        (key("bw-miner"), key("bw-exporter"), key("eu-trader"), key("in-importer"));
    net.register("BW", &bw_miner.public(), vec![Role::Miner]);
    net.register("BW", &bw_exporter.public(), vec![Role::Exporter, Role::Trader]);
    net.register("EU", &eu_trader.public(), vec![Role::Importer, Role::Trader]);
    net.register("IN", &in_importer.public(), vec![Role::Importer, Role::Trader]);
    let at_stop = converged(&net.all(), Duration::from_secs(30));
    net.node_mut("IN").stop();

    // While IN is away, every other authority and the monitor write, and
    // the EU confirms an export from BW: the EU log then names a BW entry.
    let cf = net.client("CF");
    cf.action(
        Some("MT-CF"),
        Body::ZoneStatus(ZoneStatus {
            participant: "CF".into(),
            zone: "BER".into(),
            name: "Berberati".into(),
            status: ZoneState::Compliant,
            effective: "2016-06-01".into(),
            previous: None,
        }),
    )
    .unwrap();
    let bw = net.client("BW");
    bw.submit_record(&sign_record(NETWORK, &bw_miner, 1, production("BW/P/1", 200_000))).unwrap();
    let to_exporter = RecordBody::Transfer(Transfer {
        inputs: vec![Take { lot: "BW/P/1".into(), weight: 200_000 }],
        outputs: vec![Output { lot: "BW/X/1".into(), weight: 200_000, holder: bw_exporter.public() }],
        date: "2017-02-01".into(),
    });
    bw.submit_record(&sign_record(NETWORK, &bw_miner, 2, to_exporter)).unwrap();
    bw.submit_record(&sign_record(NETWORK, &bw_exporter, 3, export("BW-000101", "IN", "BW/X/1", 100_000))).unwrap();
    bw.submit_record(&sign_record(NETWORK, &bw_exporter, 4, export("BW-000102", "EU", "BW/X/1", 100_000))).unwrap();
    confirm(&net, "EU", "BW-000102", "EU/P/1", eu_trader.public()).unwrap();
    for (i, code) in ["CF", "BW", "EU", "AE"].iter().enumerate() {
        for j in 0..40u8 {
            net.register(code, &seeded(SEED, i as u8 + 1, j).public(), vec![Role::Trader]);
        }
    }
    let others: Vec<_> = net.all().into_iter().filter(|(c, _)| *c != "IN").collect();
    let target = converged(&others, Duration::from_secs(30));
    let written: u64 = target.iter().map(|h| h.1).sum::<u64>() - at_stop.iter().map(|h| h.1).sum::<u64>();
    assert_eq!(written, 166, "entries written while IN was away");

    let t_restart = Instant::now();
    net.node_mut("IN").restart();
    let after = converged(&net.all(), Duration::from_secs(60));
    let catch_up = t_restart.elapsed();
    assert_eq!(after, target, "the network moved on while IN caught up");
    let p = net.client("IN").peers().unwrap();
    assert!(p.synced_entries > 0, "IN caught up without sync? {p:?}");
    // IN acts on what happened while it was away: the certificate to it.
    confirm(&net, "IN", "BW-000101", "IN/P/1", in_importer.public()).unwrap();
    converged(&net.all(), Duration::from_secs(30));
    for (code, n) in net.all() {
        let c = n.client().certificate("BW-000101").unwrap();
        assert_eq!(c.confirmation.map(|c| c.lot), Some("IN/P/1".to_string()), "at {code}");
        assert!(n.client().evidence().unwrap().is_empty(), "evidence at {code}");
    }
    println!(
        "partition: IN caught up with {written} entries ({} by sync) {:.1} s after its restart; test took {:.1} s",
        p.synced_entries,
        catch_up.as_secs_f64(),
        t0.elapsed().as_secs_f64()
    );
}

#[test]
fn a_late_joiner_syncs_100_000_entries() {
    use kp_dev::workload;
    let _x = exclusive();
    let t0 = Instant::now();
    let w = workload::generate(100_100, 1, &|_| {});
    let t_gen = t0.elapsed();
    let dir = tempfile::tempdir().unwrap();
    // A holds everything; B joins late; C joins later still and crashes halfway.
    let dirs: Vec<PathBuf> = ["a", "b", "c"].iter().map(|d| dir.path().join(d)).collect();
    let base = demo_port();
    let p2p = |i: usize| format!("/ip4/127.0.0.1/tcp/{}", base as usize + 100 + i);
    let mut infos = Vec::new();
    for (i, (d, code)) in dirs.iter().zip(["CF", "BW", "EU"]).enumerate() {
        std::fs::create_dir_all(d).unwrap();
        let peer_id = kp_node::node::peer_id(d).unwrap().to_string();
        infos.push((code.to_string(), NodeInfo { peer_id, addrs: vec![p2p(i)] }));
    }
    let roster = w.keys.roster_with_nodes(workload::NETWORK, &infos);
    for d in &dirs {
        std::fs::write(d.join(kp_node::node::layout::ROSTER), serde_json::to_string(&roster).unwrap()).unwrap();
    }
    let t1 = Instant::now();
    assert_eq!(workload::seed(&dirs[0], &roster, &w.entries).unwrap(), w.entries.len());
    let t_seed = t1.elapsed();
    let start = |i: usize| Node::start_with(&dirs[i], base + i as u16, &p2p(i));
    let a = start(0);
    let total = a.client().status().unwrap().entries;
    assert_eq!(total, w.entries.len() as u64);
    assert!(total >= 100_000);
    let entries = |n: &Node, last: &mut String| {
        let got = n.client().status().ok()?.entries;
        *last = format!("{got} of {total}");
        Some(got)
    };

    let t2 = Instant::now();
    let b = start(1);
    wait_for("B holding every entry of A", Duration::from_secs(240), |last| {
        (entries(&b, last)? == total).then_some(())
    });
    let secs = t2.elapsed().as_secs_f64();
    assert_eq!(heads(&b.client()).unwrap(), heads(&a.client()).unwrap());
    // B derived the same state, not only the same logs.
    let (participant, lot) = &w.deep_lots[0];
    let trail = |n: &Node| serde_json::to_string(&n.client().lot_trail(participant, lot, TODAY).unwrap()).unwrap();
    assert_eq!(trail(&b), trail(&a), "the trail of {participant} {lot} differs");
    let p = b.client().peers().unwrap();
    assert!(p.synced_entries > 0, "{p:?}");
    println!(
        "late joiner: {total} entries synced in {secs:.1} s, {:.0} entries/s \
         ({} counted by sync; generated in {:.1} s, seeded in {:.1} s)",
        total as f64 / secs,
        p.synced_entries,
        t_gen.as_secs_f64(),
        t_seed.as_secs_f64()
    );

    // A joiner killed halfway through keeps what it stored and finishes
    // after a restart, from two full peers now.
    let mut c = start(2);
    wait_for("C a third of the way", Duration::from_secs(120), |last| (entries(&c, last)? >= total / 3).then_some(()));
    c.kill9();
    c.restart();
    let kept = c.client().status().unwrap().entries;
    assert!(kept > 0 && kept < total, "C kept {kept} of {total} entries through kill -9");
    wait_for("C holding every entry after its restart", Duration::from_secs(240), |last| {
        (entries(&c, last)? == total).then_some(())
    });
    assert_eq!(heads(&c.client()).unwrap(), heads(&a.client()).unwrap());
    assert_eq!(trail(&c), trail(&a), "the trail of {participant} {lot} differs at C");
    println!(
        "late joiner killed halfway: kept {kept}, caught up after restart; test took {:.1} s",
        t0.elapsed().as_secs_f64()
    );
}

/// The test's peer on the entries topic, with room to send what the nodes
/// must refuse for its size.
fn entries_peer(key: libp2p::identity::Keypair, addrs: Vec<libp2p::Multiaddr>) -> Result<TestPeer, String> {
    TestPeer::connect(key, addrs, &kp_schemas::wire::entries_topic(NETWORK), Some(1 << 20))
}

fn registration(key: &Keypair, name: &str) -> Body {
    Body::RegisterLicensee(LicenseeRegistration {
        licensee: key.public(),
        name: name.into(),
        roles: vec![Role::Trader],
    })
}

#[test]
fn a_hostile_peer_changes_nothing_but_the_evidence() {
    let _x = exclusive();
    let t0 = Instant::now();
    let observer = libp2p::identity::Keypair::generate_ed25519();
    let observer_id = observer.public().to_peer_id().to_string();
    // The chair lists the test's peer as an observer: it may connect.
    let mut net = Net::five_with(listing_observer(observer_id.clone()));
    net.register("BW", &seeded(SEED, 0xB0, 0).public(), vec![Role::Trader]);
    net.register("AE", &seeded(SEED, 0xAE, 0).public(), vec![Role::Trader]);
    converged(&net.all(), Duration::from_secs(30));

    let targets = ["AE", "IN"];
    let peer = entries_peer(observer, targets.iter().map(|c| net.addr(c)).collect()).expect("observer connects");
    for c in targets {
        assert!(net.client(c).peers().unwrap().connected.contains(&observer_id), "{c} does not list the observer");
    }
    let before: Vec<(u64, u64)> = net
        .all()
        .iter()
        .map(|(_, n)| (n.client().status().unwrap().entries, n.client().peers().unwrap().gossip_rejected))
        .collect();

    let ae = net.key("AE", "authority-AE.json");
    let bw = net.key("BW", "authority-BW.json");
    let genuine = net.next_entry("AE", &ae, registration(&seeded(SEED, 0xAE, 1), "genuine"));
    let mut forged = genuine.bytes().to_vec();
    let sig_at = forged.len() - 64;
    forged[sig_at] ^= 0x01;
    let stranger = Keypair::from_seed([0x66; 32]);
    let unknown = SignedEntry::sign(
        Entry {
            network: NETWORK.into(),
            author: stranger.public(),
            seq: 1,
            prev: Hash32::ZERO,
            timestamp_ms: 1_500_000_000_000,
            context: vec![],
            body: registration(&seeded(SEED, 0x66, 1), "by a stranger"),
        },
        &stranger,
    );
    let malformed = b"a parcel of rough diamonds, trust me".repeat(3);
    // Over the R9 bound of 64 KiB, under the gossip limit: the rules refuse it.
    let too_large = vec![0x42u8; 65_800];
    // Over the gossip limit: the transport drops it before the rules see it.
    let oversized = vec![0x43u8; 100 * 1024];
    // Two entries by the BW authority at one position.
    let e1 = net.next_entry("BW", &bw, registration(&seeded(SEED, 0xB0, 1), "first"));
    let e2 = net.next_entry("BW", &bw, registration(&seeded(SEED, 0xB0, 2), "second"));
    assert_eq!((e1.entry().seq, e1.entry().prev), (e2.entry().seq, e2.entry().prev));
    let invalid = [forged.clone(), unknown.bytes().to_vec(), malformed, too_large];
    let invalid_hashes: Vec<Hash32> =
        invalid.iter().chain([&oversized]).map(|b| kp_schemas::crypto::entry_hash(b)).collect();
    for m in invalid.into_iter().chain([e1.bytes().to_vec(), e2.bytes().to_vec(), oversized]) {
        peer.publish(m);
    }

    // Every honest node keeps the pair as evidence and freezes the BW log,
    // whether it heard the pair from the observer or from other nodes.
    let pair: HashSet<Hash32> = [e1.hash(), e2.hash()].into();
    for (code, n) in net.all() {
        let ev = wait_for(&format!("evidence at {code}"), Duration::from_secs(30), |last| {
            let ev = n.client().evidence().ok()?;
            *last = format!("{ev:?}");
            ev.into_iter().find(|e| e.author == bw.public())
        });
        assert_eq!(ev.seq, e1.entry().seq, "at {code}");
        assert_eq!(HashSet::from([ev.existing, ev.conflicting]), pair, "at {code}");
        // Frozen before the pair, whichever entry of it each node took first.
        let head = n.client().logs().unwrap().into_iter().find(|h| h.author == bw.public()).unwrap().head;
        assert!(
            head.frozen && head.seq == e1.entry().seq - 1 && head.hash == e1.entry().prev,
            "BW's log at {code}: {head:?}"
        );
    }
    // The nodes the observer spoke to refused four messages; the fifth,
    // over the frame limit, never reached the rules: it closed the
    // observer's connection. Invalid gossip went no further than them.
    for ((code, n), (entries, rejected)) in net.all().into_iter().zip(before) {
        let want = rejected + if targets.contains(&code) { 4 } else { 0 };
        wait_for(&format!("{code} counting rejected gossip"), Duration::from_secs(30), |last| {
            let got = n.client().peers().ok()?.gossip_rejected;
            *last = format!("{got}, want {want}");
            (got == want).then_some(())
        });
        let closed = if targets.contains(&code) { 1.0 } else { 0.0 };
        wait_for(
            &format!("{code} counting the connection closed over the oversized frame"),
            Duration::from_secs(30),
            |last| {
                let got = metric(n, CLOSED_OVERSIZED);
                *last = format!("{got}, want {closed}");
                (got == closed).then_some(())
            },
        );
        let c = n.client();
        // One entry of the pair was taken, then withdrawn with the other:
        // the logs hold what they held before.
        assert_eq!(c.status().unwrap().entries, entries, "{code} holds an entry of the pair");
        for h in &invalid_hashes {
            match c.entry(h) {
                Err(ClientError::Api { status: 404, .. }) => {}
                other => panic!("{code} answers {other:?} for invalid entry {h}"),
            }
        }
    }

    // The nodes keep working: the genuine entry the forgery was made from
    // is accepted and reaches every node.
    net.client("AE").submit_entry(genuine.bytes()).unwrap();
    let heads = converged_but(&net.all(), Some(&bw.public()), Duration::from_secs(30));
    assert!(heads.contains(&(ae.public(), genuine.entry().seq, genuine.hash(), false)), "{heads:?}");
    for (code, n) in net.all() {
        let p = n.client().peers().unwrap();
        let honest = p.connected.iter().filter(|c| **c != observer_id).count();
        assert_eq!(honest, 4, "{code} lost honest peers: {p:?}");
    }

    // Whoever holds a second version can hand it to any node by HTTP: that
    // node keeps the evidence and spreads it, and every node freezes AE's log,
    // IN too, which is down meanwhile: on coming back it asks its peers for
    // their evidence.
    net.node_mut("IN").stop();
    let e = genuine.entry();
    let other = SignedEntry::sign(
        Entry { context: vec![], body: registration(&seeded(SEED, 0xAE, 2), "other"), ..e.clone() },
        &ae,
    );
    match net.client("CF").submit_entry(other.bytes()) {
        Err(ClientError::Api { status: 422, error }) if error.code == "R3.equivocation" => {}
        r => panic!("a second version at AE #{} got {r:?}", e.seq),
    }
    wait_for("AE's evidence at EU while IN is down", Duration::from_secs(30), |_| {
        net.client("EU").evidence().ok()?.into_iter().find(|x| x.author == ae.public())
    });
    // Longer than gossipsub offers recent messages to a returning peer (its
    // first heartbeat comes 5 s after a node starts, and it keeps messages
    // for a few heartbeats after): only the evidence IN asks its peers for
    // on connecting can tell it. Without that request this test fails.
    std::thread::sleep(Duration::from_secs(15));
    net.node_mut("IN").restart();
    for (code, n) in net.all() {
        let ev = wait_for(&format!("AE's evidence at {code}"), Duration::from_secs(30), |last| {
            let ev = n.client().evidence().ok()?;
            *last = format!("{ev:?}");
            ev.into_iter().find(|x| x.author == ae.public())
        });
        assert_eq!(HashSet::from([ev.existing, ev.conflicting]), HashSet::from([genuine.hash(), other.hash()]));
        // Frozen before the pair: the genuine entry, which every node
        // held, is withdrawn as evidence, IN's too. IN may hear of the
        // evidence before it has pulled the log up to the freeze point.
        wait_for(&format!("AE's log at {code} ending before the pair"), Duration::from_secs(30), |last| {
            let head = n.client().logs().ok()?.into_iter().find(|h| h.author == ae.public())?.head;
            *last = format!("{head:?}");
            (head.frozen && head.seq == e.seq - 1 && head.hash == e.prev).then_some(())
        });
    }

    // A peer the roster does not list cannot connect at all.
    let rogue = libp2p::identity::Keypair::generate_ed25519();
    let rogue_id = rogue.public().to_peer_id().to_string();
    let t = Instant::now();
    let refusal = match entries_peer(rogue, vec![net.addr("CF")]) {
        Ok(_) => panic!("a peer outside the roster connected and saw the topic"),
        Err(e) => e,
    };
    // Refused, not timed out: how long it took is a figure, not a check.
    let refused_in = t.elapsed();
    assert!(!refusal.starts_with("timeout"), "the CF node neither refused nor served the rogue peer: {refusal}");
    let p = net.client("CF").peers().unwrap();
    assert!(!p.connected.contains(&rogue_id), "CF lists the rogue peer: {p:?}");
    drop(peer);
    println!(
        "hostile peer: invalid gossip refused, evidence on five nodes, a rogue peer refused in {:.2} s ({refusal}); \
         test took {:.1} s",
        refused_in.as_secs_f64(),
        t0.elapsed().as_secs_f64()
    );
}

/// The line `/metrics` shows for connections closed over an oversized frame.
const CLOSED_OVERSIZED: &str = r#"kp_gossip_connections_closed_total{reason="oversized_frame"}"#;

/// One gossip frame over the 74,752-byte read limit, from a rostered peer.
/// gossipsub stops reading that peer's stream for good and keeps the
/// connection, so everything the peer gossiped after it used to be lost
/// without a word: the node still counted the peer as connected and never
/// dialled again. Each node that read the frame now closes the connection,
/// counts it and logs it; the peer dials again, and what it gossips next
/// reaches every node. Twice, so that it is not a one-off.
#[test]
fn an_oversized_gossip_frame_closes_the_connection_and_the_peer_is_heard_again() {
    let _x = exclusive();
    let t0 = Instant::now();
    let observer = libp2p::identity::Keypair::generate_ed25519();
    let observer_id = observer.public().to_peer_id();
    let net = Net::five_with(listing_observer(observer_id.to_string()));
    let trader = seeded(SEED, 0xB1, 0);
    net.register("BW", &trader.public(), vec![Role::Trader]);
    converged(&net.all(), Duration::from_secs(30));
    let targets = ["AE", "IN"];
    let peer = entries_peer(observer, targets.iter().map(|c| net.addr(c)).collect()).expect("observer connects");
    for (code, n) in net.all() {
        assert_eq!(metric(n, CLOSED_OVERSIZED), 0.0, "{code} counts a closed connection before any frame");
    }
    // Entries of the BW log, which neither node the observer speaks to writes.
    let bw = net.key("BW", "authority-BW.json");
    for round in 1..=2u8 {
        let t = Instant::now();
        peer.publish(vec![0x43; 100 * 1024]);
        wait_for(
            &format!("round {round}: the nodes closing the observer's connection"),
            Duration::from_secs(30),
            |last| {
                let c = peer.connected();
                *last = format!("still connected to {c:?}");
                c.is_empty().then_some(())
            },
        );
        let closed = t.elapsed();
        for code in targets {
            wait_for(
                &format!("round {round}: {code} counting the closed connection"),
                Duration::from_secs(30),
                |last| {
                    let (p, m) = (net.client(code).peers().ok()?, metric(net.node(code), CLOSED_OVERSIZED));
                    *last = format!("{m} counted, connected to {:?}", p.connected);
                    (m == f64::from(round) && !p.connected.contains(&observer_id.to_string())).then_some(())
                },
            );
        }
        // gossipsub offers the ids of the last 1.5 s of messages to peers
        // outside its mesh: once that is past, the peer's own copy of the
        // oversized frame is never offered, nor fetched, again.
        std::thread::sleep(Duration::from_secs(3));
        peer.redial().unwrap_or_else(|e| panic!("round {round}: the observer connects again: {e}"));
        let e = net.next_entry("BW", &bw, registration(&seeded(SEED, 0xB1, round), "heard again"));
        peer.publish(e.bytes().to_vec());
        for (code, n) in net.all() {
            wait_for(
                &format!("round {round}: the entry gossiped after the frame, at {code}"),
                Duration::from_secs(30),
                |last| match n.client().entry(&e.hash()) {
                    Ok(_) => Some(()),
                    Err(err) => {
                        *last = err.to_string();
                        None
                    }
                },
            );
        }
        println!("round {round}: connections closed {:.2} s after the oversized frame", closed.as_secs_f64());
    }
    for (code, n) in net.all() {
        let want = if targets.contains(&code) { 2.0 } else { 0.0 };
        assert_eq!(metric(n, CLOSED_OVERSIZED), want, "{code}");
        let honest = n.client().peers().unwrap().connected.iter().filter(|c| **c != observer_id.to_string()).count();
        assert_eq!(honest, 4, "{code} lost honest peers");
    }
    println!(
        "oversized frames: connection closed, counted, and the peer heard again, in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
}

/// A node whose first dial failed connects later by redialling the roster's
/// address: here only A can dial (B's roster entry for A is wrong), and B is
/// started after A's first dial has failed.
#[test]
fn a_failed_dial_is_retried_at_the_roster_address() {
    use kp_dev::workload;
    let _x = exclusive();
    let w = workload::generate(100, 0, &|_| {});
    let dir = tempfile::tempdir().unwrap();
    let dirs: Vec<PathBuf> = ["a", "b"].iter().map(|d| dir.path().join(d)).collect();
    let base = demo_port();
    let p2p = |i: usize| format!("/ip4/127.0.0.1/tcp/{}", base as usize + 100 + i);
    let mut infos = Vec::new();
    for (i, (d, code)) in dirs.iter().zip(["CF", "BW"]).enumerate() {
        std::fs::create_dir_all(d).unwrap();
        let peer_id = kp_node::node::peer_id(d).unwrap().to_string();
        // A is listed where nothing listens, so B can never dial it.
        let addr = if i == 0 { format!("/ip4/127.0.0.1/tcp/{}", base as usize + 110) } else { p2p(i) };
        infos.push((code.to_string(), NodeInfo { peer_id, addrs: vec![addr] }));
    }
    let roster = w.keys.roster_with_nodes(workload::NETWORK, &infos);
    for d in &dirs {
        std::fs::write(d.join(kp_node::node::layout::ROSTER), serde_json::to_string(&roster).unwrap()).unwrap();
    }
    workload::seed(&dirs[0], &roster, &w.entries).unwrap();
    let a = Node::start_with(&dirs[0], base, &p2p(0));
    // A's first dial of B fails: nothing listens there yet.
    std::thread::sleep(Duration::from_millis(1500));
    assert!(a.client().peers().unwrap().connected.is_empty());
    let b = Node::start_with(&dirs[1], base + 1, &p2p(1));
    wait_peers("A", &a, 1);
    wait_for("B holding A's entries", Duration::from_secs(60), |last| {
        let got = b.client().status().ok()?.entries;
        *last = format!("{got} of {}", w.entries.len());
        (got == w.entries.len() as u64).then_some(())
    });
}

fn gazi(status: ZoneState, effective: &str) -> Body {
    Body::ZoneStatus(ZoneStatus {
        participant: "CF".into(),
        zone: "GAZ".into(),
        name: "Gazi".into(),
        status,
        effective: effective.into(),
        previous: None,
    })
}

/// R6 over time at every node: MT-CF's suspension of Gazi, recorded after a
/// CF lot mined there left for the EU and effective before it was mined,
/// reaches the EU's confirmation alike at every node, including a node that
/// was away and took the entries in another order.
#[test]
fn a_zone_suspended_later_reads_the_same_at_every_node() {
    let _x = exclusive();
    let mut net = Net::five();
    let key = |f: &str| net.licensees.get(f).key.clone();
    let (cf_miner, cf_exporter, eu_trader) = (key("cf-miner"), key("cf-exporter"), key("eu-trader"));
    net.register("CF", &cf_miner.public(), vec![Role::Miner]);
    net.register("CF", &cf_exporter.public(), vec![Role::Exporter, Role::Trader]);
    net.register("EU", &eu_trader.public(), vec![Role::Importer, Role::Trader, Role::Exporter]);
    let cf = net.client("CF");
    let compliant = cf.action(Some("MT-CF"), gazi(ZoneState::Compliant, "2016-06-01")).unwrap().hash;
    let mined = RecordBody::Production(Production {
        lot: "CF/GAZ/1".into(),
        site: "Gazi".into(),
        zone: Some(ZoneRef { zone: "GAZ".into(), status_entry: Some(compliant) }),
        weight: 100_000,
        stones: 40,
        date: "2017-06-10".into(),
        nature: Nature::Natural,
        value_cents: None,
    });
    cf.submit_record(&sign_record(NETWORK, &cf_miner, 1, mined)).unwrap();
    let sold = RecordBody::Transfer(Transfer {
        inputs: vec![Take { lot: "CF/GAZ/1".into(), weight: 100_000 }],
        outputs: vec![Output { lot: "CF/GAZ/X".into(), weight: 100_000, holder: cf_exporter.public() }],
        date: "2017-06-11".into(),
    });
    cf.submit_record(&sign_record(NETWORK, &cf_miner, 2, sold)).unwrap();
    cf.submit_record(&sign_record(NETWORK, &cf_exporter, 3, export("CF-000201", "EU", "CF/GAZ/X", 100_000))).unwrap();
    converged(&net.all(), Duration::from_secs(30));
    net.node_mut("IN").stop();

    cf.action(Some("MT-CF"), gazi(ZoneState::Suspended, "2017-06-01")).unwrap();
    wait_for("the suspension at the EU node", Duration::from_secs(30), |_| {
        let z = net.client("EU").zones(Some("CF")).ok()?;
        z.iter().any(|z| z.status.status == ZoneState::Suspended).then_some(())
    });
    let confirmed = confirm(&net, "EU", "CF-000201", "EU/GAZ/1", eu_trader.public()).unwrap();
    assert!(confirmed.flags.iter().any(|f| f.starts_with("R6") && f.contains("GAZ")), "{:?}", confirmed.flags);
    let again = export("EU-000201", "AE", "EU/GAZ/1", 100_000);
    match net.client("EU").submit_record(&sign_record(NETWORK, &eu_trader, 4, again)) {
        Err(ClientError::Api { error, .. }) => assert_eq!(error.code, "R6.non_compliant_lot"),
        other => panic!("the EU re-export must be refused, got {other:?}"),
    }

    net.node_mut("IN").restart();
    converged(&net.all(), Duration::from_secs(60));
    for (code, n) in net.all() {
        let c = n.client();
        assert!(!c.lot("EU", "EU/GAZ/1").unwrap().lot.compliant, "at {code}");
        assert!(c.lot("CF", "CF/GAZ/1").unwrap().lot.compliant, "compliant when mined, at {code}");
        let t = c.lot_trail("EU", "EU/GAZ/1", None).unwrap();
        assert!(!t.compliance.compliant, "at {code}");
        assert!(
            t.compliance.problems.iter().any(|p| p.contains("GAZ") && p.contains("2017-06-01")),
            "at {code}: {t:?}"
        );
    }
}

/// A rostered peer answers every sync request uselessly: heads 10,000
/// entries ahead of every log, catch-up and log pages holding one entry the
/// nodes already hold, answers of the wrong type, errors. No node loops on
/// it: each asks it a bounded number of times, scores it down and drops it.
/// Meanwhile a node that was away catches up from the honest ones.
#[test]
fn a_hostile_sync_peer_can_neither_loop_nor_starve_sync() {
    let _x = exclusive();
    let t0 = Instant::now();
    let observer = libp2p::identity::Keypair::generate_ed25519();
    let observer_id = observer.public().to_peer_id().to_string();
    let mut net = Net::five_with(listing_observer(observer_id));
    converged(&net.all(), Duration::from_secs(30));
    net.node_mut("IN").stop();
    // More than one sync page behind: IN catches up in acceptance order.
    for (i, code) in ["CF", "BW", "EU", "AE"].iter().enumerate() {
        for j in 0..150u8 {
            net.register(code, &seeded(SEED, 0x70 + i as u8, j).public(), vec![Role::Trader]);
        }
    }
    let others: Vec<_> = net.all().into_iter().filter(|(c, _)| *c != "IN").collect();
    converged(&others, Duration::from_secs(60));
    let cf = net.client("CF");
    let logs = cf.logs().unwrap();
    let (first, _) = logs.iter().map(|h| (h.author, h.head.seq)).find(|(_, s)| *s > 0).unwrap();
    let known = cf.entry(&cf.log_page(&first, Some(1), Some(1)).unwrap().entries[0].hash).unwrap().bytes.0;
    let heads: Vec<_> = logs
        .iter()
        .map(|h| kp_schemas::wire::LogHead { author: h.author, seq: h.head.seq, hash: h.head.hash })
        .collect();

    let t_restart = Instant::now();
    net.node_mut("IN").restart();
    let addrs = ["CF", "BW", "EU", "AE", "IN"].map(|c| net.addr(c)).to_vec();
    let hostile = SyncPeer::start(observer, addrs, useless_answers(known, heads));
    converged(&net.all(), Duration::from_secs(120));
    let catch_up = t_restart.elapsed();

    // Every node drops the peer once its answers have wasted enough rounds.
    wait_for("every node dropping the hostile sync peer", Duration::from_secs(60), |last| {
        let dropped: Vec<f64> = net.all().iter().map(|(_, n)| metric(n, "kp_sync_peers_dropped_total")).collect();
        *last = format!("{dropped:?}, {} requests so far", hostile.requests().len());
        dropped.iter().all(|d| *d >= 1.0).then_some(())
    });
    let requests = hostile.requests();
    let span = requests.last().unwrap().0.duration_since(requests[0].0).as_secs_f64().max(1e-3);
    // Per node: three on connecting, one catch-up of at most a few pages,
    // a heads round and one pull per log: a bounded number, not one per
    // round trip.
    assert!(requests.len() <= 5 * 30, "{} requests in {span:.1} s", requests.len());
    let after = requests.len();
    // Dropped, the peer is asked nothing more.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(hostile.requests().len(), after, "asked again after being dropped");
    println!(
        "hostile sync peer: {} requests from 5 nodes in {span:.1} s ({:.1}/s), then dropped; \
         the node that was away caught up 600 entries in {:.1} s beside it; test took {:.1} s",
        requests.len(),
        requests.len() as f64 / span,
        catch_up.as_secs_f64(),
        t0.elapsed().as_secs_f64()
    );
}
