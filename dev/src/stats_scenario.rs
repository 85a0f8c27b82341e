//! A history built for the statistics: CF, BW, EU, AE and IN trading
//! quarter by quarter over 2015-2017 with known totals, and, when planted,
//! one case of every anomaly class the checks know. Loaded through the HTTP
//! API like the reference scenario; `tests/stats.rs` checks that every
//! planted case is found with its entries, that the same history without
//! them raises none, and every total to the carat and cent.

use crate::demo::{Clients, Driver, Licensees};
use anyhow::Context;
use kp_schemas::model::*;
use kp_schemas::stats::period::add_days;
use kp_schemas::{Hash32, PublicKey};
use std::collections::BTreeMap;

/// Totals of one participant in one year, as the scenario submitted them:
/// hundredths of a carat, US cents, records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expected {
    /// Natural production: weight, declared value, records.
    pub production: (u64, u64, u64),
    /// Certificates issued: weight, value, count.
    pub exports: (u64, u64, u64),
    /// Certificates confirmed: weight received, certified value, count.
    pub imports: (u64, u64, u64),
}

/// What the scenario submitted, for the tests to hold the node's answers
/// against.
#[derive(Debug, Default)]
pub struct Plan {
    /// By participant and year.
    pub totals: BTreeMap<(String, i32), Expected>,
    /// By exporter, importer and year of issue: certified weight, and the
    /// weight the importer confirmed of those certificates.
    pub mirror: BTreeMap<(String, String, i32), (u64, u64)>,
    /// Each planted anomaly's id (or, where the id ends with an entry's
    /// hash, its start), with entries the finding must name.
    pub planted: Vec<(String, Vec<Hash32>)>,
}

fn year(date: &str) -> i32 {
    date[0..4].parse().expect("a date")
}

const HS: &str = "7102.31";

struct Run<'a> {
    d: Driver<'a>,
    plan: Plan,
}

impl Run<'_> {
    fn p(&self, f: &str) -> PublicKey {
        self.d.people.key(f)
    }

    fn produce(
        &mut self,
        who: &str,
        lot: &str,
        zone: (&str, Option<Hash32>),
        ct: u64,
        usd: u64,
        date: &str,
    ) -> anyhow::Result<Hash32> {
        let body = RecordBody::Production(Production {
            lot: lot.into(),
            site: format!("{lot} site"),
            zone: (!zone.0.is_empty()).then(|| ZoneRef { zone: zone.0.into(), status_entry: zone.1 }),
            weight: ct * 100,
            stones: ct as u32,
            date: date.into(),
            nature: Nature::Natural,
            value_cents: Some(ct * usd * 100),
        });
        let r = self.d.record(who, body);
        let h = self.d.ok(&format!("{who} produces {lot}"), r)?.hash;
        let code = self.d.people.get(who).participant;
        let t = self.plan.totals.entry((code.into(), year(date))).or_default();
        t.production.0 += ct * 100;
        t.production.1 += ct * usd * 100;
        t.production.2 += 1;
        Ok(h)
    }

    fn sell(&mut self, who: &str, from: &str, to: &str, ct: u64, holder: &str, date: &str) -> anyhow::Result<Hash32> {
        let body = Driver::transfer_body(&[(from, ct)], &[(to, ct, self.p(holder))], date);
        let r = self.d.record(who, body);
        Ok(self.d.ok(&format!("{who} sells {from} as {to}"), r)?.hash)
    }

    #[allow(clippy::too_many_arguments)]
    fn export(
        &mut self,
        who: &str,
        cert: &str,
        to: &str,
        lot: &str,
        ct: u64,
        usd: u64,
        issued: &str,
        days: i64,
    ) -> anyhow::Result<Hash32> {
        let body = RecordBody::Export(Export {
            certificate: cert.into(),
            importer: to.into(),
            consignee: format!("{to} importer"),
            inputs: vec![Take { lot: lot.into(), weight: ct * 100 }],
            lines: vec![HsLine { code: HS.into(), weight: ct * 100, value_cents: ct * usd * 100 }],
            parcels: 1,
            issued: issued.into(),
            expires: add_days(issued, days).expect("a date"),
        });
        let r = self.d.record(who, body);
        let h = self.d.ok(&format!("{who} exports {cert} to {to}"), r)?.hash;
        let code = self.d.people.get(who).participant;
        let t = self.plan.totals.entry((code.into(), year(issued))).or_default();
        t.exports.0 += ct * 100;
        t.exports.1 += ct * usd * 100;
        t.exports.2 += 1;
        self.plan.mirror.entry((code.into(), to.into(), year(issued))).or_default().0 += ct * 100;
        Ok(h)
    }

    #[allow(clippy::too_many_arguments)]
    fn confirm(
        &mut self,
        by: &str,
        cert: &str,
        lot: &str,
        ct: u64,
        value_cents: u64,
        holder: &str,
        issued: &str,
        date: &str,
    ) -> anyhow::Result<Hash32> {
        let h = self.p(holder);
        let r = self.d.confirm_on(by, cert, lot, ct, 1, h, date);
        let hash = self.d.ok(&format!("{by} confirms {cert}"), r)?.hash;
        let t = self.plan.totals.entry((by.into(), year(date))).or_default();
        t.imports.0 += ct * 100;
        t.imports.1 += value_cents;
        t.imports.2 += 1;
        let exporter = cert[0..2].to_string();
        self.plan.mirror.entry((exporter, by.into(), year(issued))).or_default().1 += ct * 100;
        Ok(hash)
    }
}

/// Load the history into the network `clients` reach (one node holding
/// every key, or one node per participant), with its licensees
/// registered here. With `planted`, one case of every anomaly class.
pub fn load(clients: &Clients, people: &Licensees, planted: bool) -> anyhow::Result<Plan> {
    let d = Driver { clients, people, nonce: kp_node::clock::now_ms() * 1000 };
    let mut run = Run { d, plan: Plan::default() };
    run.d.register_all()?;
    let ber = run.d.zone("BER", "Berberati", "2014-01-01")?;
    // Planted: an estimate below what Berberati will record in 2017.
    let estimate = if planted { 3000 } else { 5000 };
    let body = Body::ZoneEstimate(ZoneEstimate {
        participant: "CF".into(),
        zone: "BER".into(),
        year: 2017,
        weight: estimate * 100,
        note: "field survey".into(),
    });
    let r = clients.of(crate::devnet::MONITOR_ID).action(Some(crate::devnet::MONITOR_ID), body);
    let estimate_entry = run.d.ok("MT-CF estimates Berberati's 2017 production", r)?.hash;

    let mut berberati_2017 = Vec::new();
    for q in 0..12u64 {
        let y = 2015 + q / 4;
        let m = (q % 4) * 3 + 2;
        let day = |d: u64| format!("{y}-{m:02}-{d:02}");
        let (cf_ct, bw_ct) = (1000 + 10 * (q % 3), 2000 + 20 * (q % 4));
        let (cf_usd, bw_usd) = (150 + q % 3, 200 + q % 4);
        // CF: Berberati to the EU.
        let (cf_p, cf_x, cf_cert) = (format!("CF/P/{q}"), format!("CF/X/{q}"), format!("CF-1{q:05}"));
        let h = run.produce("cf-miner", &cf_p, ("BER", Some(ber)), cf_ct, 100, &day(10))?;
        if y == 2017 {
            berberati_2017.push(h);
        }
        run.sell("cf-miner", &cf_p, &cf_x, cf_ct, "cf-exporter", &day(11))?;
        // Planted: a line at ten times the going price.
        let price = if planted && q == 6 { cf_usd * 10 } else { cf_usd };
        let cf_export = run.export("cf-exporter", &cf_cert, "EU", &cf_x, cf_ct, price, &day(12), 180)?;
        if planted && q == 6 {
            for check in ["price_network", "price_participant"] {
                run.plan.planted.push((format!("{check}/{cf_cert}/{HS}"), vec![cf_export]));
            }
        }
        // BW: Jwaneng to the EU.
        let (bw_p, bw_x, bw_cert) = (format!("BW/P/{q}"), format!("BW/X/{q}"), format!("BW-1{q:05}"));
        run.produce("bw-miner", &bw_p, ("", None), bw_ct, 120, &day(10))?;
        run.sell("bw-miner", &bw_p, &bw_x, bw_ct, "bw-exporter", &day(11))?;
        let bw_export = run.export("bw-exporter", &bw_cert, "EU", &bw_x, bw_ct, bw_usd, &day(12), 180)?;

        // The EU confirms both, then re-exports: CF's to AE, BW's to IN.
        let (eu_c, eu_b) = (format!("EU/I/C{q}"), format!("EU/I/B{q}"));
        let cf_conf =
            run.confirm("EU", &cf_cert, &eu_c, cf_ct, cf_ct * price * 100, "eu-trader", &day(12), &day(17))?;
        // Planted: BW's certificate of 2017-Q1 is never confirmed.
        let bw_confirmed = !(planted && q == 8);
        if bw_confirmed {
            run.confirm("EU", &bw_cert, &eu_b, bw_ct, bw_ct * bw_usd * 100, "eu-trader", &day(12), &day(17))?;
        } else {
            run.plan.planted.push((format!("unconfirmed_expired/{bw_cert}"), vec![bw_export]));
        }
        if q == 4 {
            // Planted: the laboratory finds the CF lot synthetic.
            let finding = if planted { Nature::Synthetic } else { Nature::Natural };
            let body = RecordBody::LabResult(LabResult {
                lot: eu_c.clone(),
                report_hash: kp_schemas::crypto::sha256(&[format!("report {q}").as_bytes()]),
                finding,
                note: "spectroscopy".into(),
            });
            let r = run.d.record("eu-lab", body);
            let h = run.d.ok("the EU laboratory reports on a CF lot", r)?.hash;
            if planted {
                run.plan.planted.push((format!("lab_contradiction/EU/{eu_c}/"), vec![h]));
            }
        }
        let (ae_cert, in_cert) = (format!("EU-1{q:05}"), format!("EU-2{q:05}"));
        // Planted: a certificate that expires three days after issue.
        let ae_days = if planted && q == 2 { 3 } else { 180 };
        let eu_usd_cf = cf_usd * 105 / 100;
        let ae_export = run.export("eu-trader", &ae_cert, "AE", &eu_c, cf_ct, eu_usd_cf, &day(20), ae_days)?;
        // Planted: AE confirms the 2015-Q4 certificate in January 2016.
        let ae_date = if planted && q == 3 { format!("{}-01-05", y + 1) } else { day(25) };
        let ae_value = cf_ct * eu_usd_cf * 100;
        let ae_conf =
            run.confirm("AE", &ae_cert, &format!("AE/I/{q}"), cf_ct, ae_value, "ae-importer", &day(20), &ae_date)?;
        if planted && q == 2 {
            run.plan.planted.push((format!("confirmed_late/{ae_cert}"), vec![ae_export, ae_conf]));
        }
        if planted && q == 3 {
            run.plan.planted.push(("mirror_gap/EU-AE/2015".into(), vec![ae_export]));
        }
        if bw_confirmed {
            let eu_usd_bw = bw_usd * 105 / 100;
            let in_export = run.export("eu-trader", &in_cert, "IN", &eu_b, bw_ct, eu_usd_bw, &day(20), 180)?;
            // Planted: India confirms 10 ct less than certified.
            let got = if planted && q == 5 { bw_ct - 10 } else { bw_ct };
            let in_conf = run.confirm(
                "IN",
                &in_cert,
                &format!("IN/I/{q}"),
                got,
                bw_ct * eu_usd_bw * 100,
                "in-importer",
                &day(20),
                &day(25),
            )?;
            if planted && q == 5 {
                run.plan.planted.push((format!("confirmation_mismatch/{in_cert}"), vec![in_export, in_conf]));
            }
        }
        if q == 7 {
            // Planted: the EU reports CF's certificate forged after its
            // weight went on to AE.
            let kind = if planted { AttestationKind::ForgedCertificate } else { AttestationKind::Note };
            let body = Body::Attestation(Attestation {
                subject: Subject::Certificate { number: cf_cert.clone() },
                kind,
                note: "the paper certificate does not match".into(),
            });
            let r = clients.of("EU").action(Some("EU"), body);
            let h = run.d.ok("the EU attests about a CF certificate", r)?.hash;
            if planted {
                run.plan
                    .planted
                    .push((format!("downstream_of_flag/certificate_{cf_cert}"), vec![h, cf_conf, ae_export]));
            }
        }
        if q == 9 {
            // Planted: carats from Bria, never declared compliant, go to
            // the exporter; clean, they come from Berberati.
            let zone = if planted { ("BRI", None) } else { ("BER", Some(ber)) };
            let h = run.produce("cf-miner", "CF/P/extra", zone, 100, 100, &day(13))?;
            if !planted {
                berberati_2017.push(h);
            }
            let t = run.sell("cf-miner", "CF/P/extra", "CF/X/extra", 100, "cf-exporter", &day(14))?;
            if planted {
                run.plan.planted.push(("non_compliant_to_exporter/CF/CF/X/extra".into(), vec![t]));
            }
        }
        if q == 10 {
            // Planted: BW exports five times its usual quarter.
            let extra = if planted { 9000 } else { 500 };
            run.produce("bw-miner", "BW/P/extra", ("", None), extra, 120, &day(13))?;
            run.sell("bw-miner", "BW/P/extra", "BW/X/extra", extra, "bw-exporter", &day(14))?;
            let h = run.export("bw-exporter", "BW-200001", "EU", "BW/X/extra", extra, bw_usd, &day(15), 180)?;
            run.confirm("EU", "BW-200001", "EU/I/extra", extra, extra * bw_usd * 100, "eu-trader", &day(15), &day(18))?;
            if planted {
                run.plan.planted.push(("export_surge/BW/2017-Q3".into(), vec![h, bw_export]));
            }
        }
    }
    if planted {
        berberati_2017.push(estimate_entry);
        run.plan.planted.push(("zone_over_capacity/CF/BER/2017".into(), berberati_2017));
    }
    Ok(run.plan)
}

/// Register and load into a one-node development network made by
/// [`crate::demo::prepare`], whose node answers at `url`.
pub fn load_one_node(url: &str, data: &std::path::Path, people: &Licensees, planted: bool) -> anyhow::Result<Plan> {
    let cookie = std::fs::read_to_string(data.join(kp_node::node::layout::COOKIE)).context("the node's cookie")?;
    let clients = Clients(
        crate::devnet::PARTICIPANTS
            .iter()
            .map(|(c, ..)| (c.to_string(), kp_client::Client::new(url).with_cookie(cookie.trim().to_string())))
            .collect(),
    );
    load(&clients, people, planted)
}
