//! The statistics, read from the book: each a function of the book, the
//! participants and the query, never of the time or order of arrival.

use super::answer::*;
use super::book::{Book, BucketKey, Flow, Tally};
use super::period::Period;
use crate::bytes::Hash32;
use crate::state::CertState;
use std::collections::{BTreeMap, BTreeSet};

/// What a statistics query asks.
#[derive(Debug, Clone)]
pub struct Query {
    /// The period.
    pub period: Period,
    /// Only this participant; all by default.
    pub participant: Option<String>,
    /// Trade with this partner only.
    pub partner: Option<String>,
    /// Trade under this HS code only.
    pub hs: Option<String>,
}

/// `value * 100 / weight`: cents per carat from cents and hundredths.
pub fn per_carat(value_cents: u64, weight: u64) -> Option<u64> {
    (weight > 0).then(|| ((value_cents as u128 * 100) / weight as u128) as u64)
}

fn bp(part: u64, whole: u64) -> u64 {
    if whole == 0 { 0 } else { ((part as u128 * 10_000) / whole as u128) as u64 }
}

/// The query string of `GET /v1/stats/entries` for a figure.
fn link(
    flow: Flow,
    participant: Option<&str>,
    p: &Period,
    partner: Option<&str>,
    hs: Option<&str>,
    zone: Option<&str>,
) -> String {
    let mut s = format!("/v1/stats/entries?flow={}&period={}", flow.as_str(), p.label);
    for (k, v) in [("participant", participant), ("partner", partner), ("hs", hs), ("zone", zone)] {
        if let Some(v) = v {
            s.push_str(&format!("&{k}={v}"));
        }
    }
    s
}

fn figure(t: &Tally, flow: Flow, link: String) -> Figure {
    let production = flow == Flow::Production;
    Figure {
        weight: t.weight,
        value_cents: t.value_cents,
        count: t.count,
        stones: production.then_some(t.stones),
        usd_per_carat_cents: if production {
            per_carat(t.value_cents, t.valued_weight)
        } else {
            per_carat(t.value_cents, t.weight)
        },
        entries: link,
    }
}

/// The day buckets of one participant and flow in a period that pass a
/// filter.
fn buckets<'a>(
    book: &'a Book,
    participant: &str,
    flow: Flow,
    p: &Period,
) -> impl Iterator<Item = (&'a BucketKey, &'a super::book::Bucket)> + 'a {
    let key = |date: &str| BucketKey {
        participant: participant.into(),
        flow,
        date: date.into(),
        partner: String::new(),
        hs: String::new(),
        zone: String::new(),
    };
    let (lo, hi) = (key(&p.from), key(&format!("{}\u{1}", p.to)));
    book.buckets.range(lo..hi)
}

/// Sums of one participant's flow in a period: whole certificates (`hs`
/// empty), or one HS code, optionally with one partner or zone.
pub fn tally(
    book: &Book,
    participant: &str,
    flow: Flow,
    p: &Period,
    partner: Option<&str>,
    hs: Option<&str>,
    zone: Option<&str>,
) -> Tally {
    let mut t = Tally::default();
    for (k, b) in buckets(book, participant, flow, p) {
        if k.hs != hs.unwrap_or("") || partner.is_some_and(|x| x != k.partner) || zone.is_some_and(|z| z != k.zone) {
            continue;
        }
        t.add(&b.tally);
    }
    t
}

/// The entries behind a figure, sorted, without repeats.
pub fn entries(
    book: &Book,
    participants: &[String],
    flow: Flow,
    p: &Period,
    partner: Option<&str>,
    hs: Option<&str>,
    zone: Option<&str>,
) -> Vec<Hash32> {
    let mut v = BTreeSet::new();
    for who in participants {
        for (k, b) in buckets(book, who, flow, p) {
            if k.hs != hs.unwrap_or("") || partner.is_some_and(|x| x != k.partner) || zone.is_some_and(|z| z != k.zone)
            {
                continue;
            }
            v.extend(b.entries.iter().copied());
        }
    }
    v.into_iter().collect()
}

fn trade(book: &Book, who: &str, flow: Flow, q: &Query) -> Trade {
    let mut by_partner: BTreeMap<String, Tally> = BTreeMap::new();
    let mut by_hs: BTreeMap<String, Tally> = BTreeMap::new();
    let mut total = Tally::default();
    let partner = q.partner.as_deref();
    for (k, b) in buckets(book, who, flow, &q.period) {
        if partner.is_some_and(|x| x != k.partner) {
            continue;
        }
        match (&q.hs, k.hs.is_empty()) {
            // With an HS code asked for, its lines are the figures.
            (Some(hs), false) if *hs == k.hs => {
                total.add(&b.tally);
                by_partner.entry(k.partner.clone()).or_default().add(&b.tally);
                by_hs.entry(k.hs.clone()).or_default().add(&b.tally);
            }
            (Some(_), _) => {}
            (None, true) => {
                total.add(&b.tally);
                by_partner.entry(k.partner.clone()).or_default().add(&b.tally);
            }
            (None, false) => by_hs.entry(k.hs.clone()).or_default().add(&b.tally),
        }
    }
    let hs = q.hs.as_deref();
    Trade {
        total: figure(&total, flow, link(flow, Some(who), &q.period, partner, hs, None)),
        by_partner: by_partner
            .iter()
            .map(|(k, t)| Keyed {
                key: k.clone(),
                figure: figure(t, flow, link(flow, Some(who), &q.period, Some(k), hs, None)),
            })
            .collect(),
        by_hs: by_hs
            .iter()
            .map(|(k, t)| Keyed {
                key: k.clone(),
                figure: figure(t, flow, link(flow, Some(who), &q.period, partner, Some(k), None)),
            })
            .collect(),
    }
}

fn production(book: &Book, who: &str, p: &Period) -> (Tally, Vec<Keyed>) {
    let mut total = Tally::default();
    let mut zones: BTreeMap<String, Tally> = BTreeMap::new();
    for (k, b) in buckets(book, who, Flow::Production, p) {
        total.add(&b.tally);
        if !k.zone.is_empty() {
            zones.entry(k.zone.clone()).or_default().add(&b.tally);
        }
    }
    let zones = zones
        .iter()
        .map(|(z, t)| Keyed {
            key: z.clone(),
            figure: figure(t, Flow::Production, link(Flow::Production, Some(who), p, None, None, Some(z))),
        })
        .collect();
    (total, zones)
}

/// `GET /v1/stats`: every participant of `participants` (the network's,
/// sorted) or the one asked for.
pub fn stats(book: &Book, participants: &[String], q: &Query) -> StatsAnswer {
    let mut rows = Vec::new();
    let mut net = [Tally::default(), Tally::default(), Tally::default()];
    let netq = Query { participant: None, ..q.clone() };
    for who in participants {
        let (prod, zones) = production(book, who, &q.period);
        let exports = trade(book, who, Flow::Export, &netq);
        let imports = trade(book, who, Flow::Import, &netq);
        let t =
            |f: &Figure| Tally { weight: f.weight, value_cents: f.value_cents, count: f.count, ..Default::default() };
        net[0].add(&prod);
        net[1].add(&t(&exports.total));
        net[2].add(&t(&imports.total));
        rows.push((who.clone(), prod, zones, exports, imports));
    }
    let (p, hs, partner) = (&q.period, q.hs.as_deref(), q.partner.as_deref());
    let network = Totals {
        production: figure(&net[0], Flow::Production, link(Flow::Production, None, p, None, None, None)),
        exports: figure(&net[1], Flow::Export, link(Flow::Export, None, p, partner, hs, None)),
        imports: figure(&net[2], Flow::Import, link(Flow::Import, None, p, partner, hs, None)),
    };
    let rows: Vec<ParticipantStats> = rows
        .into_iter()
        .filter(|(who, ..)| q.participant.as_ref().is_none_or(|x| x == who))
        .map(|(who, prod, zones, exports, imports)| ParticipantStats {
            shares: Shares {
                production_bp: bp(prod.weight, net[0].weight),
                exports_bp: bp(exports.total.weight, net[1].weight),
                imports_bp: bp(imports.total.weight, net[2].weight),
            },
            production: figure(&prod, Flow::Production, link(Flow::Production, Some(&who), p, None, None, None)),
            production_by_zone: zones,
            exports,
            imports,
            participant: who,
        })
        .collect();
    let mut completeness = completeness(book, participants, p);
    completeness.retain(|g| q.participant.as_ref().is_none_or(|x| *x == g.participant));
    StatsAnswer {
        period: q.period.clone(),
        partner: q.partner.clone(),
        hs: q.hs.clone(),
        network,
        participants: rows,
        completeness,
    }
}

fn cert_line(c: &CertState) -> CertLine {
    let conf = c.confirmation.as_ref();
    CertLine {
        number: c.number.clone(),
        entry: c.entry,
        issued: c.issued.clone(),
        expires: c.expires.clone(),
        weight: c.weight,
        parcels: c.parcels,
        confirmation: conf.map(|x| x.entry),
        confirmed: conf.map(|x| x.date.clone()),
        received: conf.map(|x| x.weight),
        parcels_received: conf.map(|x| x.parcels),
    }
}

/// `a - b`, within the range of an `i64`.
fn gap(a: u64, b: u64) -> i64 {
    (a as i128 - b as i128).clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

/// The certificates of a pair issued in a period, by date of issue.
fn issued_between<'a>(book: &'a Book, a: &str, b: &str, p: &Period) -> impl Iterator<Item = &'a CertState> + 'a {
    let lo = (a.to_string(), b.to_string(), p.from.clone(), String::new(), 0);
    let hi = (a.to_string(), b.to_string(), format!("{}\u{1}", p.to), String::new(), 0);
    book.pairs.range(lo..hi).map(|(.., i)| &book.certs[*i as usize])
}

/// Certificates issued in a period, by date of issue.
pub fn issued_in<'a>(book: &'a Book, p: &Period) -> impl Iterator<Item = &'a CertState> + 'a {
    let (lo, hi) = ((p.from.clone(), String::new(), 0), (format!("{}\u{1}", p.to), String::new(), 0));
    book.issued.range(lo..hi).map(|(.., i)| &book.certs[*i as usize])
}

/// `GET /v1/stats/mirror`: pairs with a certificate issued or confirmed in
/// the period, of `participant` (either side) and `partner` if asked.
pub fn mirror(book: &Book, q: &Query) -> MirrorAnswer {
    let p = &q.period;
    let wanted = |a: &str, b: &str| {
        let side = |x: &str, y: &str| {
            q.participant.as_ref().is_none_or(|w| w == x) && q.partner.as_ref().is_none_or(|w| w == y)
        };
        side(a, b) || side(b, a)
    };
    let mut pairs = Vec::new();
    for (a, b) in &book.trading {
        let (a, b) = (a.as_str(), b.as_str());
        if !wanted(a, b) {
            continue;
        }
        let e = tally(book, a, Flow::Export, p, Some(b), None, None);
        let c = tally(book, b, Flow::Import, p, Some(a), None, None);
        if e.count == 0 && c.count == 0 {
            continue;
        }
        let mut pair = MirrorPair {
            exporter: a.into(),
            importer: b.into(),
            exported: figure(&e, Flow::Export, link(Flow::Export, Some(a), p, Some(b), None, None)),
            confirmed: figure(&c, Flow::Import, link(Flow::Import, Some(b), p, Some(a), None, None)),
            gap_weight: gap(e.weight, c.weight),
            gap_value_cents: gap(e.value_cents, c.value_cents),
            gap_count: gap(e.count, c.count),
            unconfirmed: Vec::new(),
            confirmed_late: Vec::new(),
            mismatched: Vec::new(),
        };
        for cert in issued_between(book, a, b, p) {
            match &cert.confirmation {
                None => pair.unconfirmed.push(cert_line(cert)),
                Some(x) => {
                    if x.after_expiry {
                        pair.confirmed_late.push(cert_line(cert));
                    }
                    if x.mismatch {
                        pair.mismatched.push(cert_line(cert));
                    }
                }
            }
        }
        pairs.push(pair);
    }
    MirrorAnswer { period: p.clone(), pairs }
}

/// Participants with no production, exports or confirmations in `p` where
/// one of the two periods before had some, and certificates addressed to
/// a participant issued by the end of `p` and not confirmed.
pub fn completeness(book: &Book, participants: &[String], p: &Period) -> Vec<Gap> {
    let before: Vec<Period> = {
        let a = p.previous();
        let b = a.as_ref().and_then(|a| a.previous());
        a.into_iter().chain(b).collect()
    };
    let mut gaps = Vec::new();
    for who in participants {
        let (lo, hi) =
            ((who.clone(), String::new(), String::new()), (who.clone(), format!("{}\u{1}", p.to), String::new()));
        let waiting: Vec<String> = book.waiting.range(lo..hi).map(|(.., n)| n.clone()).collect();
        for (flow, kind, what) in [
            (Flow::Production, "no_production", "production"),
            (Flow::Export, "no_exports", "exports"),
            (Flow::Import, "no_confirmations", "import confirmations"),
        ] {
            if tally(book, who, flow, p, None, None, None).count > 0 {
                continue;
            }
            let had = before.iter().find(|b| tally(book, who, flow, b, None, None, None).count > 0);
            if let Some(b) = had {
                gaps.push(Gap {
                    participant: who.clone(),
                    kind: kind.into(),
                    message: format!("{who} recorded no {what} in {}, but did in {}", p.label, b.label),
                    certificates: if flow == Flow::Import { waiting.clone() } else { Vec::new() },
                });
            }
        }
        if !waiting.is_empty() {
            gaps.push(Gap {
                participant: who.clone(),
                kind: "awaiting_confirmation".into(),
                message: format!(
                    "{} certificate(s) addressed to {who} issued by {} wait for its confirmation",
                    waiting.len(),
                    p.to
                ),
                certificates: waiting,
            });
        }
    }
    gaps
}

fn totals(book: &Book, who: &str, p: &Period) -> PeriodTotals {
    let f = |flow: Flow| {
        figure(&tally(book, who, flow, p, None, None, None), flow, link(flow, Some(who), p, None, None, None))
    };
    PeriodTotals {
        period: p.clone(),
        production: f(Flow::Production),
        exports: f(Flow::Export),
        imports: f(Flow::Import),
    }
}

fn change(now: u64, before: u64) -> Option<i64> {
    (before > 0).then(|| (((now as i128 - before as i128) * 10_000) / before as i128) as i64)
}

fn top(mut v: Vec<Keyed>) -> Vec<Keyed> {
    v.sort_by(|a, b| b.figure.value_cents.cmp(&a.figure.value_cents).then_with(|| a.key.cmp(&b.key)));
    v.truncate(5);
    v
}

/// `GET /v1/reports/{participant}`. `anomalies` are the network's, as
/// [`super::anomaly::scan`] found them for the period.
pub fn report(
    book: &Book,
    participants: &[String],
    who: &str,
    name: &str,
    p: &Period,
    anomalies: &[Anomaly],
) -> Report {
    let q = Query { period: p.clone(), participant: Some(who.into()), partner: None, hs: None };
    let s = stats(book, participants, &q);
    let me = s.participants.into_iter().next();
    let current = totals(book, who, p);
    let mut previous = Vec::new();
    let mut at = p.previous();
    while let (Some(b), true) = (at.clone(), previous.len() < 2) {
        at = b.previous();
        previous.push(totals(book, who, &b));
    }
    let last = previous.first();
    let ch = |now: &Figure, f: fn(&PeriodTotals) -> &Figure| last.and_then(|l| change(now.weight, f(l).weight));
    let mut mirror = mirror(book, &q).pairs;
    mirror.retain(|m| m.exporter == who || m.importer == who);
    Report {
        participant: who.into(),
        name: name.into(),
        change: Change {
            production_bp: ch(&current.production, |t| &t.production),
            exports_bp: ch(&current.exports, |t| &t.exports),
            imports_bp: ch(&current.imports, |t| &t.imports),
        },
        prices: Prices {
            exports: current.exports.usd_per_carat_cents,
            network_exports: s.network.exports.usd_per_carat_cents,
            production: current.production.usd_per_carat_cents,
            network_production: s.network.production.usd_per_carat_cents,
        },
        shares: me.as_ref().map(|m| m.shares.clone()).unwrap_or_default(),
        production_by_zone: me.as_ref().map(|m| m.production_by_zone.clone()).unwrap_or_default(),
        main_export_partners: top(me.as_ref().map(|m| m.exports.by_partner.clone()).unwrap_or_default()),
        main_import_partners: top(me.as_ref().map(|m| m.imports.by_partner.clone()).unwrap_or_default()),
        mirror,
        anomalies: anomalies
            .iter()
            .filter(|a| a.participant == who || a.partner.as_deref() == Some(who))
            .cloned()
            .collect(),
        completeness: s.completeness,
        current,
        previous,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bytes::PublicKey;
    use crate::model::Nature;
    use crate::state::{LotOrigin, LotState};

    fn production(lot: &str, who: &str, date: &str, ct: u64, value: Option<u64>) -> LotState {
        LotState {
            participant: who.into(),
            lot: lot.into(),
            holder: PublicKey([1; 32]),
            weight: ct * 100,
            remaining: ct * 100,
            nature: Nature::Natural,
            compliant: true,
            created_by: Hash32([lot.len() as u8; 32]),
            date: date.into(),
            origin: LotOrigin::Production {
                site: "s".into(),
                zone: None,
                zone_status: None,
                stones: 1,
                value_cents: value,
            },
            zones: vec![],
        }
    }

    #[test]
    fn production_price_divides_by_the_valued_weight_only() {
        let mut book = Book::default();
        book.observe_lot(&production("a", "CF", "2017-01-05", 100, Some(100 * 150 * 100)));
        book.observe_lot(&production("bb", "CF", "2017-02-05", 300, None));
        let q = Query { period: Period::year(2017), participant: None, partner: None, hs: None };
        let s = stats(&book, &["CF".into(), "EU".into()], &q);
        let cf = &s.participants[0].production;
        assert_eq!((cf.weight, cf.value_cents, cf.count, cf.usd_per_carat_cents), (40_000, 1_500_000, 2, Some(15_000)));
        assert_eq!(s.participants[0].shares.production_bp, 10_000);
        assert_eq!(s.participants[1].production.weight, 0, "a participant with nothing still has a row");
    }

    #[test]
    fn a_participant_silent_after_producing_is_a_gap() {
        let mut book = Book::default();
        book.observe_lot(&production("a", "CF", "2016-01-05", 100, None));
        let gaps = completeness(&book, &["CF".into()], &Period::year(2017));
        assert_eq!(gaps.len(), 1);
        assert_eq!((gaps[0].kind.as_str(), gaps[0].participant.as_str()), ("no_production", "CF"));
        assert!(completeness(&book, &["CF".into()], &Period::year(2016)).is_empty());
    }

    #[test]
    fn figures_link_to_their_entries() {
        let mut book = Book::default();
        book.observe_lot(&production("a", "CF", "2017-01-05", 100, None));
        let q = Query { period: Period::year(2017), participant: Some("CF".into()), partner: None, hs: None };
        let s = stats(&book, &["CF".into()], &q);
        assert_eq!(
            s.participants[0].production.entries,
            "/v1/stats/entries?flow=production&period=2017&participant=CF"
        );
        let e = entries(&book, &["CF".into()], Flow::Production, &Period::year(2017), None, None, None);
        assert_eq!(e, vec![Hash32([1; 32])]);
    }
}
