//! `kp-dev demo`: a development network in a local folder, loaded with the
//! reference scenario (docs/SCENARIO.md), served until stopped.

use crate::devnet::{DevKeys, MONITOR_ID};
use anyhow::{Context, bail};
use kp_client::{Client, ClientError, keyfile, render};
use kp_node::node::{self, layout};
use kp_schemas::api::Submitted;
use kp_schemas::entry::sign_record;
use kp_schemas::model::*;
use kp_schemas::trail::Trail;
use kp_schemas::{Hash32, Keypair, PublicKey, codes};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The demo network's name, in its roster and every entry it signs.
pub const NETWORK: &str = "kp-demo";
/// Marks a folder as made by the demo, so a rerun may replace it.
const MARKER: &str = "KP-DEMO";

/// `kp-dev demo`'s options.
#[derive(clap::Args, Debug, Clone)]
pub struct DemoArgs {
    /// Folder for the demo network; replaced if it holds an earlier demo.
    #[arg(long, default_value = "kp-demo")]
    pub dir: PathBuf,
    /// HTTP port of the first node; the five nodes use this port and the
    /// four after it, and listen for peers 100 ports higher.
    #[arg(long, default_value_t = 7070)]
    pub port: u16,
    /// Exit after printing the trail instead of serving until stopped.
    #[arg(long)]
    pub exit: bool,
}

/// One node of the demo network.
pub struct DemoNode {
    /// The participant whose authority runs it (`CF`, `BW`, ...).
    pub code: &'static str,
    /// Its data directory.
    pub data: PathBuf,
    /// Where its HTTP API listens.
    pub http: SocketAddr,
    /// Its peer-to-peer listen address, as a multiaddr.
    pub p2p: String,
}

/// Clients of the nodes, by participant code.
pub struct Clients(pub Vec<(String, Client)>);

impl Clients {
    /// The node that writes `code`'s log (the CF node also holds MT-CF).
    pub fn of(&self, code: &str) -> &Client {
        let code = if code == MONITOR_ID { "CF" } else { code };
        self.0.iter().find(|(c, _)| c == code).map(|(_, c)| c).unwrap_or(&self.0[0].1)
    }
}

/// Run the demo: five nodes, the reference scenario loaded through the
/// client, the Indian lot's trail printed as the AE node answers it, and a
/// bundle exported and verified offline. Serves until Ctrl-C unless
/// `--exit`.
pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let (nodes, licensees) = prepare_network(&args.dir, args.port)?;
    let mut children = Vec::new();
    for n in &nodes {
        let log = std::fs::File::create(n.data.join("kp-node.log"))?;
        // `kp-node run`, as this binary: see `crate::run_as_node`.
        let child = tokio::process::Command::from(crate::node_command()?)
            .args(["run", "--data"])
            .arg(&n.data)
            .args(["--http", &n.http.to_string(), "--p2p-listen", &n.p2p, "--sync-interval", "2"])
            .env("KP_LOG", "info")
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting the {} node", n.code))?;
        children.push(child);
    }
    println!("Started five kp-node processes:");
    for n in &nodes {
        println!("  {:<3} http://{}  peers {}  data {}", n.code, n.http, n.p2p, n.data.display());
    }
    let node_list: Vec<(String, PathBuf, String)> =
        nodes.iter().map(|n| (n.code.to_string(), n.data.clone(), format!("http://{}", n.http))).collect();
    let outcome = tokio::task::spawn_blocking(move || -> anyhow::Result<Outcome> {
        let clients = connect(&node_list)?;
        load_scenario(&clients, &licensees, "AE")
    })
    .await;
    let outcome = match outcome {
        Ok(Ok(o)) => o,
        other => {
            stop(children).await;
            return match other {
                Ok(Err(e)) => Err(e),
                Err(e) => Err(e.into()),
                Ok(Ok(_)) => unreachable!("handled above"),
            };
        }
    };
    println!();
    println!("Trail of the Indian lot {}, asked of the AE node, which wrote none of it:", outcome.indian_lot);
    println!();
    print!("{}", render::trail_text(&outcome.trail));
    println!();
    let ae = nodes.iter().find(|n| n.code == "AE").expect("an AE node");
    let url = format!("http://{}", ae.http);
    match tokio::task::spawn_blocking(move || statistics_summary(&url)).await? {
        Ok(text) => print!("{text}"),
        Err(e) => println!("Reading the statistics failed: {e:#}\n"),
    }
    let eu = nodes.iter().find(|n| n.code == "EU").expect("an EU node");
    let bundle_path = args.dir.join("bundle.json");
    let roster_path = eu.data.join(layout::ROSTER);
    let (url, lot, path, roster) =
        (format!("http://{}", eu.http), outcome.indian_lot.clone(), bundle_path.clone(), roster_path.clone());
    let verdict = tokio::task::spawn_blocking(move || export_and_verify(&url, &lot, &path, &roster)).await?;
    match verdict {
        Ok(text) => {
            println!("Its bundle, exported at the EU node to {}, then checked offline", bundle_path.display());
            println!("with nothing but the roster (signatures, Merkle proofs, witnesses, rules R4-R8):");
            println!();
            print!("{text}");
            println!();
        }
        Err(e) => println!("Exporting the bundle failed: {e:#}\n"),
    }
    let first = &nodes[0];
    println!("The web viewer: open http://{}/ in a browser (every node serves it; search CF-000001,", first.http);
    println!("or IN {} for the Indian lot's trail).", outcome.indian_lot);
    println!();
    println!("The nodes keep serving. Try:");
    println!("  export KP_NODE=http://{} KP_COOKIE={}", first.http, first.data.join(layout::COOKIE).display());
    println!("  cargo run --release -p kp-client --bin kp -- trail lot IN {} --dot", outcome.indian_lot);
    println!("  cargo run --release -p kp-client --bin kp -- cert show CF-000001");
    println!("  cargo run --release -p kp-client --bin kp -- zones --participant CF");
    println!("  cargo run --release -p kp-client --bin kp -- checkpoints CF");
    println!("  cargo run --release -p kp-client --bin kp -- report CF --period 2017");
    println!("  cargo run --release -p kp-client --bin kp -- anomalies --period 2017 --csv");
    println!(
        "  cargo run --release -p kp-client --bin kp -- verify {} --roster {}",
        bundle_path.display(),
        roster_path.display()
    );
    println!("Licensee keys are in {}; node logs in each node's kp-node.log.", args.dir.join("licensees").display());
    if !args.exit {
        println!("Press Ctrl-C to stop.");
        node::shutdown_signal().await;
    }
    stop(children).await;
    Ok(())
}

/// The 2017 statistics and anomalies of the reference scenario, as one
/// node answers them.
fn statistics_summary(url: &str) -> anyhow::Result<String> {
    let c = kp_client::Client::new(url);
    let year = [("period", "2017".to_string())];
    let stats = c.stats(&year)?;
    let anomalies = c.anomalies(&year)?;
    Ok(format!(
        "Statistics of 2017, derived from the logs by the AE node:\n\n{}\n{}\n",
        render::stats_text(&stats),
        render::anomalies_text(&anomalies)
    ))
}

/// Export the bundle of a lot at one node, waiting for its logs' newest
/// entries to be witnessed, save it, and verify the saved bytes offline.
fn export_and_verify(url: &str, lot: &str, path: &Path, roster: &Path) -> anyhow::Result<String> {
    let client = Client::new(url);
    let subject = Subject::Lot { participant: "IN".into(), lot: lot.into() };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let bytes = loop {
        match client.bundle(&subject) {
            Err(ClientError::Api { error, .. })
                if error.code == "bundle.unwitnessed" && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(250));
            }
            other => break other?,
        }
    };
    std::fs::write(path, &bytes)?;
    let roster = node::read_roster(roster)?;
    let saved = std::fs::read(path)?;
    let opts = kp_schemas::bundle::VerifyOptions {
        quorum: kp_schemas::checkpoint::DEFAULT_QUORUM,
        today: kp_schemas::model::today_utc(),
    };
    let mut report = kp_schemas::bundle::verify(&saved, &roster, &opts);
    if !report.valid {
        bail!("the bundle does not verify:\n{}", render::bundle_report_text(&report));
    }
    // The trail was printed just above.
    report.trail = None;
    Ok(render::bundle_report_text(&report))
}

async fn stop(children: Vec<tokio::process::Child>) {
    for mut c in children {
        if let Some(pid) = c.id() {
            let _ = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status();
        }
        if tokio::time::timeout(std::time::Duration::from_secs(20), c.wait()).await.is_err() {
            let _ = c.kill().await;
        }
    }
}

/// Wait until every node answers, is connected to the others, and may write
/// its own logs.
pub fn connect(nodes: &[(String, PathBuf, String)]) -> anyhow::Result<Clients> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut clients = Vec::new();
    for (code, data, url) in nodes {
        let client = loop {
            if let Ok(cookie) = std::fs::read_to_string(data.join(layout::COOKIE)) {
                let c = Client::new(url.clone()).with_cookie(cookie.trim().to_string());
                if c.healthz().is_ok() {
                    break c;
                }
            }
            if std::time::Instant::now() > deadline {
                bail!("the {code} node did not start: see {}", data.join("kp-node.log").display());
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        };
        clients.push((code.clone(), client));
    }
    for (code, c) in &clients {
        while c.peers().map(|p| p.connected.len()).unwrap_or(0) < nodes.len() - 1 {
            if std::time::Instant::now() > deadline {
                bail!("the {code} node did not connect to its peers");
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
    // A node writes none of its own logs before a peer has told it how far
    // each goes (`api.catching_up`): new logs are free at the first answer.
    for (code, c) in &clients {
        while !c.status().is_ok_and(|s| s.catching_up.is_empty()) {
            if std::time::Instant::now() > deadline {
                bail!("the {code} node did not hear from its peers how far its own logs go");
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
    Ok(Clients(clients))
}

/// Five nodes, one per participant (the CF node also holds the MT-CF
/// monitor's key); the chair's key stays in the folder, outside every node.
pub fn prepare_network(dir: &Path, base_port: u16) -> anyhow::Result<(Vec<DemoNode>, Licensees)> {
    clear(dir)?;
    let keys = DevKeys::generate()?;
    keyfile::write(&dir.join("chair.json"), &keys.chair)?;
    let mut nodes = Vec::new();
    let mut infos = Vec::new();
    for (i, (code, ..)) in crate::devnet::PARTICIPANTS.iter().enumerate() {
        let data = dir.join(code);
        let keys_dir = data.join(layout::KEYS);
        std::fs::create_dir_all(&keys_dir)?;
        keyfile::write(&keys_dir.join(format!("authority-{code}.json")), keys.authority(code))?;
        if *code == "CF" {
            keyfile::write(&keys_dir.join(format!("monitor-{MONITOR_ID}.json")), &keys.monitor)?;
        }
        let peer = node::peer_id(&data)?;
        let port = base_port.checked_add(i as u16).context("port out of range")?;
        let p2p = format!("/ip4/127.0.0.1/tcp/{}", port.checked_add(100).context("port out of range")?);
        infos.push((code.to_string(), NodeInfo { peer_id: peer.to_string(), addrs: vec![p2p.clone()] }));
        nodes.push(DemoNode { code, data, http: SocketAddr::from(([127, 0, 0, 1], port)), p2p });
    }
    let roster = keys.roster_with_nodes(NETWORK, &infos);
    for n in &nodes {
        std::fs::write(n.data.join(layout::ROSTER), serde_json::to_string_pretty(&roster)?)?;
    }
    let licensees = Licensees::generate(&dir.join("licensees"))?;
    Ok((nodes, licensees))
}

/// Make `dir` empty, refusing to remove a folder the demo did not make.
fn clear(dir: &Path) -> anyhow::Result<()> {
    let empty = std::fs::read_dir(dir).map(|mut d| d.next().is_none()).unwrap_or(true);
    if !empty {
        if !dir.join(MARKER).exists() {
            bail!("{} exists and was not made by `kp-dev demo`: choose another --dir", dir.display());
        }
        std::fs::remove_dir_all(dir).with_context(|| format!("removing the earlier demo in {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join(MARKER), "made by kp-dev demo; safe to delete\n")?;
    Ok(())
}

/// Create the folder: node data with every key of the network, and licensee
/// keys in `licensees/` (registration is left to the caller).
pub fn prepare(dir: &Path) -> anyhow::Result<(PathBuf, Licensees)> {
    clear(dir)?;
    let data = dir.join("node");
    let keys_dir = data.join(layout::KEYS);
    std::fs::create_dir_all(&keys_dir)?;
    let keys = DevKeys::generate()?;
    keyfile::write(&keys_dir.join("chair.json"), &keys.chair)?;
    keyfile::write(&keys_dir.join(format!("monitor-{MONITOR_ID}.json")), &keys.monitor)?;
    for (code, k) in &keys.authorities {
        keyfile::write(&keys_dir.join(format!("authority-{code}.json")), k)?;
    }
    std::fs::write(data.join(layout::ROSTER), serde_json::to_string_pretty(&keys.roster(NETWORK))?)?;
    let licensees = Licensees::generate(&dir.join("licensees"))?;
    Ok((data, licensees))
}

/// One licensee of the scenario.
pub struct Licensee {
    /// The participant that registers it (R2).
    pub participant: &'static str,
    /// Its registered name.
    pub name: &'static str,
    /// What it may do: mine, trade, export, import.
    pub roles: Vec<Role>,
    /// The key it signs its records with (a key file in the demo folder).
    pub key: Keypair,
}

/// The scenario's licensees, by the name of their key file.
pub struct Licensees(pub Vec<(&'static str, Licensee)>);

impl Licensees {
    fn generate(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)?;
        use Role::*;
        let specs: [(&str, &str, &str, Vec<Role>); 9] = [
            ("cf-miner", "CF", "Haute-Sangha Artisanal Mining Cooperative", vec![Miner]),
            ("cf-buyer", "CF", "Bangui Buying Office", vec![Trader]),
            ("cf-exporter", "CF", "Bangui Diamond Export", vec![Exporter, Trader]),
            ("bw-miner", "BW", "Jwaneng Mine", vec![Miner]),
            ("bw-exporter", "BW", "Gaborone Rough Sales", vec![Exporter, Trader]),
            ("eu-trader", "EU", "Antwerp Rough Trading", vec![Importer, Trader, Exporter]),
            ("ae-importer", "AE", "Dubai Rough Imports", vec![Importer, Trader]),
            ("in-importer", "IN", "Mumbai Rough Imports", vec![Importer, Trader]),
            ("eu-lab", "EU", "Antwerp Diamond Laboratory", vec![Laboratory]),
        ];
        let mut out = Vec::new();
        for (file, participant, name, roles) in specs {
            let key = keyfile::generate(&dir.join(format!("{file}.json")))?;
            out.push((file, Licensee { participant, name, roles, key }));
        }
        Ok(Self(out))
    }

    /// The licensee of a key file name (`cf-miner`, ...); panics on a name
    /// the scenario does not have.
    pub fn get(&self, file: &str) -> &Licensee {
        &self.0.iter().find(|(f, _)| *f == file).expect("a scenario licensee").1
    }

    pub(crate) fn key(&self, file: &str) -> PublicKey {
        self.get(file).key.public()
    }
}

/// What loading the scenario produced, for the demo to print.
pub struct Outcome {
    /// The id of the lot the Indian importer holds at the end.
    pub indian_lot: String,
    /// That lot's trail, as the AE node answered it.
    pub trail: Trail,
}

/// Submits the scenarios' steps through the HTTP API and checks each.
pub(crate) struct Driver<'a> {
    pub(crate) clients: &'a Clients,
    pub(crate) people: &'a Licensees,
    pub(crate) nonce: u64,
}

impl Driver<'_> {
    /// Every scenario licensee registered by its authority, at the node
    /// that writes the authority's log.
    pub(crate) fn register_all(&mut self) -> anyhow::Result<()> {
        for (file, l) in &self.people.0 {
            let body = Body::RegisterLicensee(LicenseeRegistration {
                licensee: l.key.public(),
                name: l.name.into(),
                roles: l.roles.clone(),
            });
            let r = self.clients.of(l.participant).action(Some(l.participant), body);
            self.ok(&format!("{} registers {} ({file})", l.participant, l.name), r)?;
        }
        Ok(())
    }

    pub(crate) fn record(&mut self, who: &str, body: RecordBody) -> Result<Submitted, ClientError> {
        self.nonce += 1;
        let l = self.people.get(who);
        let rec = sign_record(NETWORK, &l.key, self.nonce, body);
        self.clients.of(l.participant).submit_record(&rec)
    }

    pub(crate) fn ok(&mut self, step: &str, r: Result<Submitted, ClientError>) -> anyhow::Result<Submitted> {
        let s = r.with_context(|| format!("scenario step failed: {step}"))?;
        let flags = if s.flags.is_empty() { String::new() } else { format!("  [{}]", s.flags.join("; ")) };
        println!("  ok       {step:<62} {} #{}{flags}", s.author_name, s.seq);
        Ok(s)
    }

    pub(crate) fn refused(
        &mut self,
        step: &str,
        expected: &str,
        r: Result<Submitted, ClientError>,
    ) -> anyhow::Result<()> {
        match r {
            Err(ClientError::Api { error, .. }) if error.code == expected => {
                println!("  refused  {step:<62} {}: {}", error.code, error.message);
                Ok(())
            }
            Err(e) => bail!("{step}: expected {expected}, got {e}"),
            Ok(s) => bail!("{step}: expected {expected}, but it was accepted as entry {}", s.hash),
        }
    }

    pub(crate) fn zone(&mut self, zone: &str, name: &str, effective: &str) -> anyhow::Result<Hash32> {
        self.zone_status(zone, name, ZoneState::Compliant, effective)
    }

    pub(crate) fn zone_status(
        &mut self,
        zone: &str,
        name: &str,
        status: ZoneState,
        effective: &str,
    ) -> anyhow::Result<Hash32> {
        let body = Body::ZoneStatus(ZoneStatus {
            participant: "CF".into(),
            zone: zone.into(),
            name: name.into(),
            status,
            effective: effective.into(),
            // The monitor's node chains it to the zone's previous status.
            previous: None,
        });
        let r = self.clients.of(MONITOR_ID).action(Some(MONITOR_ID), body);
        let step = format!("{MONITOR_ID} declares {name} ({zone}) {} from {effective}", status.as_str());
        Ok(self.ok(&step, r)?.hash)
    }

    fn produce(
        &mut self,
        who: &str,
        lot: &str,
        site: &str,
        zone: Option<(&str, Option<Hash32>)>,
        ct: u64,
        date: &str,
    ) -> anyhow::Result<Hash32> {
        let body = RecordBody::Production(Production {
            lot: lot.into(),
            site: site.into(),
            zone: zone.map(|(z, h)| ZoneRef { zone: z.into(), status_entry: h }),
            weight: ct * 100,
            stones: (ct / 2) as u32,
            date: date.into(),
            nature: Nature::Natural,
            // USD 150 a carat, so that production value statistics exist.
            value_cents: Some(ct * 15_000),
        });
        let r = self.record(who, body);
        Ok(self.ok(&format!("{} produces {lot} ({ct} ct at {site})", self.people.get(who).name), r)?.hash)
    }

    pub(crate) fn transfer_body(inputs: &[(&str, u64)], outputs: &[(&str, u64, PublicKey)], date: &str) -> RecordBody {
        RecordBody::Transfer(Transfer {
            inputs: inputs.iter().map(|(l, ct)| Take { lot: l.to_string(), weight: ct * 100 }).collect(),
            outputs: outputs
                .iter()
                .map(|(l, ct, h)| Output { lot: l.to_string(), weight: ct * 100, holder: *h })
                .collect(),
            date: date.into(),
        })
    }

    pub(crate) fn transfer(
        &mut self,
        who: &str,
        step: &str,
        inputs: &[(&str, u64)],
        outputs: &[(&str, u64, PublicKey)],
        date: &str,
    ) -> anyhow::Result<()> {
        let r = self.record(who, Self::transfer_body(inputs, outputs, date));
        self.ok(step, r).map(|_| ())
    }

    pub(crate) fn export_body(
        cert: &str,
        to: &str,
        consignee: &str,
        inputs: &[(&str, u64)],
        lines: &[(&str, u64, u64)],
        issued: &str,
    ) -> RecordBody {
        RecordBody::Export(Export {
            certificate: cert.into(),
            importer: to.into(),
            consignee: consignee.into(),
            inputs: inputs.iter().map(|(l, ct)| Take { lot: l.to_string(), weight: ct * 100 }).collect(),
            lines: lines
                .iter()
                .map(|(c, ct, usd)| HsLine { code: c.to_string(), weight: ct * 100, value_cents: usd * 100 })
                .collect(),
            parcels: lines.len() as u32,
            issued: issued.into(),
            expires: "2018-12-31".into(),
        })
    }

    pub(crate) fn confirm(
        &mut self,
        by: &str,
        cert: &str,
        lot: &str,
        ct: u64,
        parcels: u32,
        holder: PublicKey,
    ) -> Result<Submitted, ClientError> {
        self.confirm_on(by, cert, lot, ct, parcels, holder, "2017-05-02")
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn confirm_on(
        &mut self,
        by: &str,
        cert: &str,
        lot: &str,
        ct: u64,
        parcels: u32,
        holder: PublicKey,
        date: &str,
    ) -> Result<Submitted, ClientError> {
        // The certificate comes from another node: wait for it to arrive.
        let client = self.clients.of(by);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let c = loop {
            match client.certificate(cert) {
                Err(ClientError::Api { status: 404, .. }) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(50))
                }
                other => break other?,
            }
        };
        let body = Body::ImportConfirmation(ImportConfirmation {
            exporter: c.exporter,
            certificate: cert.into(),
            certificate_entry: c.entry,
            weight: ct * 100,
            parcels,
            lot: lot.into(),
            holder,
            date: date.into(),
        });
        client.action(Some(by), body)
    }
}

/// Load KP-DOMAIN's reference scenario through the HTTP API: every accepted
/// step and every refusal of step 4 is checked as it happens.
/// The trail is asked of `reader`'s node once every node holds every log.
pub fn load_scenario(clients: &Clients, people: &Licensees, reader: &str) -> anyhow::Result<Outcome> {
    let mut d = Driver { clients, people, nonce: kp_node::clock::now_ms() * 1000 };
    let p = |f: &str| people.key(f);

    println!("Registering licensees with their authorities:");
    d.register_all()?;

    println!("1. The monitor declares the compliant zones of CF:");
    let ber = d.zone("BER", "Berberati", "2016-06-01")?;
    let car = d.zone("CAR", "Carnot", "2016-06-01")?;
    let nol = d.zone("NOL", "Nola", "2016-06-01")?;
    let bod = d.zone("BOD", "Boda", "2016-10-01")?;
    d.zone("GAZ", "Gazi", "2017-11-01")?;

    println!("2. Production in Berberati and Nola, mixed and exported to the EU; BW exports too:");
    d.produce("cf-miner", "CF/BER/2017/00042", "Berberati", Some(("BER", Some(ber))), 600, "2017-03-10")?;
    d.produce("cf-miner", "CF/NOL/2017/00017", "Nola", Some(("NOL", Some(nol))), 400, "2017-03-12")?;
    d.transfer(
        "cf-miner",
        "miner sells the Berberati lot to the buying office",
        &[("CF/BER/2017/00042", 600)],
        &[("CF/BO/2017/0001", 600, p("cf-buyer"))],
        "2017-03-15",
    )?;
    d.transfer(
        "cf-miner",
        "miner sells the Nola lot to the buying office",
        &[("CF/NOL/2017/00017", 400)],
        &[("CF/BO/2017/0002", 400, p("cf-buyer"))],
        "2017-03-15",
    )?;
    d.transfer(
        "cf-buyer",
        "buying office mixes both and sells the mix to the exporter",
        &[("CF/BO/2017/0001", 600), ("CF/BO/2017/0002", 400)],
        &[("CF/EXP/2017/0001", 1000, p("cf-exporter"))],
        "2017-03-20",
    )?;
    let r = d.record(
        "cf-exporter",
        Driver::export_body(
            "CF-000001",
            "EU",
            "Antwerp Rough Trading",
            &[("CF/EXP/2017/0001", 1000)],
            &[("7102.31", 800, 1_200_000), ("7102.21", 200, 40_000)],
            "2017-04-02",
        ),
    );
    d.ok("CF exporter exports the mix to the EU: certificate CF-000001", r)?;
    d.produce("bw-miner", "BW/JWA/2017/0001", "Jwaneng", None, 2000, "2017-02-20")?;
    d.transfer(
        "bw-miner",
        "Jwaneng sells its lot to a BW exporter",
        &[("BW/JWA/2017/0001", 2000)],
        &[("BW/EXP/2017/0001", 2000, p("bw-exporter"))],
        "2017-03-01",
    )?;
    let r = d.record(
        "bw-exporter",
        Driver::export_body(
            "BW-000001",
            "EU",
            "Antwerp Rough Trading",
            &[("BW/EXP/2017/0001", 1500)],
            &[("7102.31", 1200, 2_400_000), ("7102.10", 300, 150_000)],
            "2017-04-05",
        ),
    );
    d.ok("BW exporter exports 1500 ct to the EU: certificate BW-000001", r)?;

    println!("3. The EU confirms both, mixes, splits and re-exports to AE and IN, who confirm:");
    let r = d.confirm("EU", "CF-000001", "EU/ANR/2017/0001", 1000, 2, p("eu-trader"));
    d.ok("EU confirms CF-000001 as lot EU/ANR/2017/0001", r)?;
    let r = d.confirm("EU", "BW-000001", "EU/ANR/2017/0002", 1500, 2, p("eu-trader"));
    d.ok("EU confirms BW-000001 as lot EU/ANR/2017/0002", r)?;
    d.transfer(
        "eu-trader",
        "EU trader mixes the two lots",
        &[("EU/ANR/2017/0001", 1000), ("EU/ANR/2017/0002", 1500)],
        &[("EU/ANR/MIX/0001", 2500, p("eu-trader"))],
        "2017-05-10",
    )?;
    d.transfer(
        "eu-trader",
        "EU trader splits the mix",
        &[("EU/ANR/MIX/0001", 2500)],
        &[("EU/ANR/LOT/A", 1000, p("eu-trader")), ("EU/ANR/LOT/B", 1500, p("eu-trader"))],
        "2017-05-11",
    )?;
    let r = d.record(
        "eu-trader",
        Driver::export_body(
            "EU-000001",
            "AE",
            "Dubai Rough Imports",
            &[("EU/ANR/LOT/A", 1000)],
            &[("7102.31", 1000, 1_500_000)],
            "2017-05-20",
        ),
    );
    d.ok("EU trader re-exports part A to AE: certificate EU-000001", r)?;
    let r = d.record(
        "eu-trader",
        Driver::export_body(
            "EU-000002",
            "IN",
            "Mumbai Rough Imports",
            &[("EU/ANR/LOT/B", 1500)],
            &[("7102.31", 1500, 2_300_000)],
            "2017-05-20",
        ),
    );
    d.ok("EU trader re-exports part B to IN: certificate EU-000002", r)?;
    let r = d.confirm("AE", "EU-000001", "AE/DXB/2017/0001", 1000, 1, p("ae-importer"));
    d.ok("AE confirms EU-000001 as lot AE/DXB/2017/0001", r)?;
    let indian_lot = "IN/BOM/2017/0001";
    let r = d.confirm("IN", "EU-000002", indian_lot, 1500, 1, p("in-importer"));
    d.ok("IN confirms EU-000002 as lot IN/BOM/2017/0001", r)?;

    println!("4. Bria was never declared compliant; its carats are tracked but can never leave:");
    d.produce("cf-miner", "CF/BRI/2017/0007", "Bria", Some(("BRI", None)), 100, "2017-06-01")?;
    d.produce("cf-miner", "CF/CAR/2017/0003", "Carnot", Some(("CAR", Some(car))), 300, "2017-06-02")?;
    d.transfer(
        "cf-miner",
        "miner sells the Bria lot to the buying office",
        &[("CF/BRI/2017/0007", 100)],
        &[("CF/BO/2017/0003", 100, p("cf-buyer"))],
        "2017-06-05",
    )?;
    d.transfer(
        "cf-miner",
        "miner sells the Carnot lot to the buying office",
        &[("CF/CAR/2017/0003", 300)],
        &[("CF/BO/2017/0004", 300, p("cf-buyer"))],
        "2017-06-05",
    )?;
    d.transfer(
        "cf-buyer",
        "buying office mixes 50 ct of Bria into the Carnot lot (allowed)",
        &[("CF/BO/2017/0003", 50), ("CF/BO/2017/0004", 300)],
        &[("CF/EXP/2017/0002", 350, p("cf-exporter"))],
        "2017-06-06",
    )?;
    let r = d.record(
        "cf-exporter",
        Driver::export_body(
            "CF-000002",
            "EU",
            "Antwerp Rough Trading",
            &[("CF/EXP/2017/0002", 350)],
            &[("7102.31", 350, 500_000)],
            "2017-06-10",
        ),
    );
    d.refused("exporting the Bria-Carnot mix", codes::R6_NON_COMPLIANT_LOT, r)?;
    let r = d.record(
        "cf-buyer",
        Driver::transfer_body(&[("CF/BO/2017/0001", 600)], &[("CF/BO/2017/0099", 600, p("cf-exporter"))], "2017-06-11"),
    );
    d.refused("spending the Berberati lot a second time", codes::R5_ALREADY_SPENT, r)?;
    let r = d.record(
        "bw-exporter",
        Driver::export_body(
            "BW-000002",
            "EU",
            "Antwerp Rough Trading",
            &[("BW/EXP/2017/0001", 500)],
            &[("7102.31", 600, 1_000_000)],
            "2017-06-12",
        ),
    );
    d.refused("an export whose HS lines outweigh its inputs", codes::R5_UNBALANCED, r)?;
    let r = d.confirm("EU", "CF-000001", "EU/ANR/2017/0003", 1000, 2, p("eu-trader"));
    d.refused("a second import confirmation of CF-000001", codes::R7_ALREADY_CONFIRMED, r)?;
    let r = d.record(
        "bw-exporter",
        Driver::export_body(
            "BW-000003",
            "EU",
            "Antwerp Rough Trading",
            &[("BW/EXP/2017/0001", 500)],
            &[("7104.21", 500, 800_000)],
            "2017-06-12",
        ),
    );
    d.refused("natural rough under a synthetic HS code", codes::R8_NATURE_MISMATCH, r)?;
    let r = d.record(
        "bw-exporter",
        Driver::export_body(
            "BW-000004",
            "AE",
            "Dubai Rough Imports",
            &[("BW/EXP/2017/0001", 500)],
            &[("7102.31", 500, 850_000)],
            "2017-06-20",
        ),
    );
    d.ok("BW exporter sends its last 500 ct to AE: certificate BW-000004", r)?;
    let r = d.confirm_on("AE", "BW-000004", "AE/DXB/2017/0002", 497, 1, p("ae-importer"), "2017-06-28");
    d.ok("AE confirms BW-000004 with 497 ct received: accepted, flagged (R7 weight mismatch)", r)?;

    println!("5. Zones suspended: no carat mined there after the suspension takes effect leaves:");
    d.zone_status("BOD", "Boda", ZoneState::Suspended, "2017-05-01")?;
    // The miner's client still names Boda's old compliant status.
    d.produce("cf-miner", "CF/BOD/2017/0001", "Boda", Some(("BOD", Some(bod))), 120, "2017-06-10")?;
    d.transfer(
        "cf-miner",
        "miner sells the Boda lot to the exporter",
        &[("CF/BOD/2017/0001", 120)],
        &[("CF/EXP/2017/0003", 120, p("cf-exporter"))],
        "2017-06-12",
    )?;
    let r = d.record(
        "cf-exporter",
        Driver::export_body(
            "CF-000003",
            "EU",
            "Antwerp Rough Trading",
            &[("CF/EXP/2017/0003", 120)],
            &[("7102.31", 120, 180_000)],
            "2017-06-15",
        ),
    );
    d.refused("exporting Boda carats mined after its suspension", codes::R6_NON_COMPLIANT_LOT, r)?;
    d.produce("cf-miner", "CF/CAR/2017/0004", "Carnot", Some(("CAR", Some(car))), 200, "2017-07-01")?;
    d.transfer(
        "cf-miner",
        "miner sells the Carnot lot to the exporter",
        &[("CF/CAR/2017/0004", 200)],
        &[("CF/EXP/2017/0004", 200, p("cf-exporter"))],
        "2017-07-03",
    )?;
    // Decided later, effective before that production.
    d.zone_status("CAR", "Carnot", ZoneState::Suspended, "2017-06-20")?;
    let r = d.record(
        "cf-exporter",
        Driver::export_body(
            "CF-000004",
            "EU",
            "Antwerp Rough Trading",
            &[("CF/EXP/2017/0004", 200)],
            &[("7102.31", 200, 300_000)],
            "2017-07-05",
        ),
    );
    d.refused("exporting Carnot carats after a suspension recorded later", codes::R6_ZONE_SUSPENDED, r)?;

    println!("6. A monitor queries the Indian lot.");
    converge(clients)?;
    let trail = clients.of(reader).lot_trail("IN", indian_lot, None)?;
    Ok(Outcome { indian_lot: indian_lot.into(), trail })
}

/// Wait until every node holds the same heads.
pub fn converge(clients: &Clients) -> anyhow::Result<()> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let mut heads = Vec::new();
        for (_, c) in &clients.0 {
            let mut h: Vec<_> = c.logs()?.into_iter().map(|h| (h.author, h.head.seq, h.head.hash)).collect();
            h.sort();
            heads.push(h);
        }
        if heads.windows(2).all(|w| w[0] == w[1]) {
            return Ok(());
        }
        if std::time::Instant::now() > deadline {
            bail!("the nodes did not converge within 60 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
