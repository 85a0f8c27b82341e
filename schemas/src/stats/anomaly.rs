//! Anomaly checks over the book. Each check has a stable id, a severity,
//! and names the signed entries that show what it found; its thresholds
//! are parameters with documented defaults (`docs/STATISTICS.md`).

use super::answer::*;
use super::book::{Book, Flow, Next};
use super::period::{Period, date_of_ms};
use super::query::{self, Query};
use super::render::{ct, usd};
use crate::bytes::Hash32;
use crate::model::{AttestationKind, Subject};
use crate::state::{LotOrigin, on_hold};
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// Check ids, as answers and docs name them.
pub mod checks {
    /// A pair's exports and confirmations differ beyond the tolerance.
    pub const MIRROR_GAP: &str = "mirror_gap";
    /// A line's US dollars per carat far from the network's baseline of
    /// its HS code.
    pub const PRICE_NETWORK: &str = "price_network";
    /// A line's US dollars per carat far from the exporter's own baseline
    /// of its HS code.
    pub const PRICE_PARTICIPANT: &str = "price_participant";
    /// A zone's production above a monitor's estimate of it.
    pub const ZONE_OVER_CAPACITY: &str = "zone_over_capacity";
    /// A quarter's exports far above the participant's trailing level.
    pub const EXPORT_SURGE: &str = "export_surge";
    /// A certificate not confirmed and past its expiry.
    pub const UNCONFIRMED_EXPIRED: &str = "unconfirmed_expired";
    /// A certificate confirmed after its expiry.
    pub const CONFIRMED_LATE: &str = "confirmed_late";
    /// A confirmation whose weight or parcels differ from the certificate.
    pub const CONFIRMATION_MISMATCH: &str = "confirmation_mismatch";
    /// A laboratory finding that contradicts the lot's declared nature.
    pub const LAB_CONTRADICTION: &str = "lab_contradiction";
    /// Trade in lots downstream of a forged-certificate report, a seizure
    /// or a hold.
    pub const DOWNSTREAM_OF_FLAG: &str = "downstream_of_flag";
    /// Weight from a non-compliant zone moved to an exporter licensee.
    pub const NON_COMPLIANT_TO_EXPORTER: &str = "non_compliant_to_exporter";
    /// Every check, in the order the docs list them.
    pub const ALL: [&str; 11] = [
        MIRROR_GAP,
        PRICE_NETWORK,
        PRICE_PARTICIPANT,
        ZONE_OVER_CAPACITY,
        EXPORT_SURGE,
        UNCONFIRMED_EXPIRED,
        CONFIRMED_LATE,
        CONFIRMATION_MISMATCH,
        LAB_CONTRADICTION,
        DOWNSTREAM_OF_FLAG,
        NON_COMPLIANT_TO_EXPORTER,
    ];
}

impl AnomalyParams {
    /// The defaults, as of a date.
    pub fn defaults(as_of: String) -> Self {
        AnomalyParams {
            as_of,
            mirror_tolerance_bp: 500,
            price_mads_tenths: 50,
            price_min_deviation_bp: 5000,
            price_min_lines: 5,
            surge_factor_tenths: 30,
            surge_window: 4,
            capacity_tolerance_bp: 0,
        }
    }

    /// The defaults, as of the newest entry the book holds.
    pub fn for_book(book: &Book) -> Self {
        Self::defaults(date_of_ms(book.newest_ms))
    }
}

struct Found(Vec<Anomaly>);

impl Found {
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        check: &str,
        subject: &str,
        severity: Severity,
        rule: Option<&str>,
        participant: &str,
        partner: Option<&str>,
        message: String,
        entries: impl IntoIterator<Item = Hash32>,
    ) {
        let entries: BTreeSet<Hash32> = entries.into_iter().collect();
        self.0.push(Anomaly {
            check: check.into(),
            id: format!("{check}/{subject}"),
            severity,
            rule: rule.map(Into::into),
            participant: participant.into(),
            partner: partner.map(Into::into),
            message,
            entries: entries.into_iter().collect(),
        });
    }
}

fn median(v: &mut [u64]) -> u64 {
    v.sort_unstable();
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2 }
}

/// A baseline of US cents per carat: the median and the threshold beyond
/// which a line is far from it.
fn baseline(values: &[u64], p: &AnomalyParams) -> Option<(u64, u64)> {
    if (values.len() as u64) < p.price_min_lines.max(1) {
        return None;
    }
    let mut v = values.to_vec();
    let m = median(&mut v);
    let mut dev: Vec<u64> = values.iter().map(|x| x.abs_diff(m)).collect();
    let mad = median(&mut dev);
    // 1.4826 scales a MAD to a standard deviation for normal data.
    // Parameters come from the query: no product of them may overflow.
    let by_mad =
        ((mad as u128 * 14_826).saturating_mul(p.price_mads_tenths as u128) / 100_000).min(u64::MAX as u128) as u64;
    let by_share = (m as u128 * p.price_min_deviation_bp as u128 / 10_000).min(u64::MAX as u128) as u64;
    Some((m, by_mad.max(by_share)))
}

/// Every check over the records dated in `period`.
pub fn scan(book: &Book, period: &Period, params: &AnomalyParams) -> AnomalyAnswer {
    let mut found = Found(Vec::new());
    mirror_gaps(book, period, params, &mut found);
    prices(book, period, params, &mut found);
    capacity(book, period, params, &mut found);
    surges(book, period, params, &mut found);
    certificates(book, period, params, &mut found);
    lab(book, &mut found);
    downstream(book, &mut found);
    non_compliant(book, period, &mut found);
    let mut anomalies = found.0;
    anomalies
        .sort_by(|a, b| b.severity.cmp(&a.severity).then_with(|| a.check.cmp(&b.check)).then_with(|| a.id.cmp(&b.id)));
    anomalies.dedup_by(|a, b| a.id == b.id);
    AnomalyAnswer { period: period.clone(), params: params.clone(), anomalies }
}

fn clip(year: i32, p: &Period) -> Period {
    let y = Period::year(year);
    let from = y.from.clone().max(p.from.clone());
    let to = y.to.clone().min(p.to.clone());
    if (from.as_str(), to.as_str()) == (y.from.as_str(), y.to.as_str()) {
        y
    } else {
        Period { label: format!("{from}..{to}"), from, to }
    }
}

fn mirror_gaps(book: &Book, period: &Period, params: &AnomalyParams, found: &mut Found) {
    for year in period.years() {
        let p = clip(year, period);
        let q = Query { period: p.clone(), participant: None, partner: None, hs: None };
        for m in query::mirror(book, &q).pairs {
            let limit =
                (m.exported.weight as u128 * params.mirror_tolerance_bp as u128 / 10_000).min(u64::MAX as u128) as u64;
            if m.gap_weight.unsigned_abs() <= limit {
                continue;
            }
            let (a, b) = (std::slice::from_ref(&m.exporter), std::slice::from_ref(&m.importer));
            let mut entries = query::entries(book, a, Flow::Export, &p, Some(&m.importer), None, None);
            entries.extend(query::entries(book, b, Flow::Import, &p, Some(&m.exporter), None, None));
            found.push(
                checks::MIRROR_GAP,
                &format!("{}-{}/{}", m.exporter, m.importer, p.label),
                Severity::Medium,
                Some("R7"),
                &m.exporter,
                Some(&m.importer),
                format!(
                    "in {} {} certified {} to {}, and {} confirmed {} from {}: a gap of {} over the {}.{:02} % \
                     tolerance",
                    p.label,
                    m.exporter,
                    ct(m.exported.weight),
                    m.importer,
                    m.importer,
                    ct(m.confirmed.weight),
                    m.exporter,
                    ct(m.gap_weight.unsigned_abs()),
                    params.mirror_tolerance_bp / 100,
                    params.mirror_tolerance_bp % 100
                ),
                entries,
            );
        }
    }
}

fn prices(book: &Book, period: &Period, params: &AnomalyParams, found: &mut Found) {
    // (hs, exporter) -> [(cents per carat, certificate)]
    let mut lines: BTreeMap<(&str, &str), Vec<(u64, &crate::state::CertState)>> = BTreeMap::new();
    for c in query::issued_in(book, period) {
        for l in &c.lines {
            if let Some(x) = query::per_carat(l.value_cents, l.weight) {
                lines.entry((l.code.as_str(), c.exporter.as_str())).or_default().push((x, c));
            }
        }
    }
    let mut network: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for ((hs, _), v) in &lines {
        network.entry(hs).or_default().extend(v.iter().map(|(x, _)| *x));
    }
    let net: BTreeMap<&str, (u64, u64)> =
        network.iter().filter_map(|(hs, v)| Some((*hs, baseline(v, params)?))).collect();
    for ((hs, exporter), v) in &lines {
        let own = baseline(&v.iter().map(|(x, _)| *x).collect::<Vec<_>>(), params);
        for (x, c) in v {
            for (check, base, whose) in [
                (checks::PRICE_NETWORK, net.get(hs).copied(), "the network's"),
                (checks::PRICE_PARTICIPANT, own, "its own"),
            ] {
                let Some((m, limit)) = base else { continue };
                if x.abs_diff(m) <= limit {
                    continue;
                }
                found.push(
                    check,
                    &format!("{}/{hs}", c.number),
                    Severity::Medium,
                    None,
                    exporter,
                    Some(&c.importer),
                    format!(
                        "certificate {} declares {hs} at {} a carat; {whose} median for {hs} in {} is {} a carat",
                        c.number,
                        usd(*x),
                        period.label,
                        usd(m)
                    ),
                    [c.entry],
                );
            }
        }
    }
}

fn capacity(book: &Book, period: &Period, params: &AnomalyParams, found: &mut Found) {
    for ((participant, zone, year), est) in &book.estimates {
        if !period.years().contains(&(*year as i32)) {
            continue;
        }
        let y = Period::year(*year as i32);
        let t = query::tally(book, participant, Flow::Production, &y, None, None, Some(zone));
        let margin = est.estimate.weight as u128 * params.capacity_tolerance_bp as u128 / 10_000;
        let limit = (est.estimate.weight as u128 + margin).min(u64::MAX as u128) as u64;
        if t.weight <= limit {
            continue;
        }
        let mut entries =
            query::entries(book, std::slice::from_ref(participant), Flow::Production, &y, None, None, Some(zone));
        entries.push(est.entry);
        found.push(
            checks::ZONE_OVER_CAPACITY,
            &format!("{participant}/{zone}/{year}"),
            Severity::High,
            Some("R6"),
            participant,
            None,
            format!(
                "zone {zone} of {participant} recorded {} of production in {year}, over the {} its monitor estimated",
                ct(t.weight),
                ct(est.estimate.weight)
            ),
            entries,
        );
    }
}

fn surges(book: &Book, period: &Period, params: &AnomalyParams, found: &mut Found) {
    let exporters: BTreeSet<&str> = book.trading.iter().map(|(a, _)| a.as_str()).collect();
    let window = params.surge_window.max(1) as i32;
    for who in exporters {
        for (y, q) in period.quarters() {
            let at = |k: i32| -> Period {
                let n = y * 4 + (q as i32 - 1) - k;
                Period::quarter(n.div_euclid(4), (n.rem_euclid(4) + 1) as u8)
            };
            let now = at(0);
            let w = query::tally(book, who, Flow::Export, &now, None, None, None).weight;
            if w == 0 {
                continue;
            }
            // The trailing level is the mean of the trailing quarters that
            // had exports, and needs two of them: a first shipment, or a
            // participant's second quarter, is no surge.
            let trailing: Vec<u64> = (1..=window)
                .map(|k| query::tally(book, who, Flow::Export, &at(k), None, None, None).weight)
                .filter(|w| *w > 0)
                .collect();
            if trailing.len() < 2 {
                continue;
            }
            let mean = trailing.iter().sum::<u64>() / trailing.len() as u64;
            if mean == 0 || (w as u128) * 10 <= mean as u128 * params.surge_factor_tenths as u128 {
                continue;
            }
            found.push(
                checks::EXPORT_SURGE,
                &format!("{who}/{}", now.label),
                Severity::Medium,
                None,
                who,
                None,
                format!(
                    "{who} exported {} in {}, {}.{}x its mean of {} a quarter over the {} quarters with exports of the {window} before",
                    ct(w),
                    now.label,
                    w / mean,
                    (w % mean) * 10 / mean,
                    ct(mean),
                    trailing.len()
                ),
                query::entries(book, &[who.to_string()], Flow::Export, &now, None, None, None),
            );
        }
    }
}

fn certificates(book: &Book, period: &Period, params: &AnomalyParams, found: &mut Found) {
    for c in query::issued_in(book, period) {
        match &c.confirmation {
            None if c.expires < params.as_of => found.push(
                checks::UNCONFIRMED_EXPIRED,
                &c.number,
                Severity::Medium,
                Some("R7"),
                &c.importer,
                Some(&c.exporter),
                format!(
                    "certificate {} from {} to {} ({}) expired on {} and {} has not confirmed it",
                    c.number,
                    c.exporter,
                    c.importer,
                    ct(c.weight),
                    c.expires,
                    c.importer
                ),
                [c.entry],
            ),
            None => {}
            Some(x) => {
                if x.mismatch {
                    found.push(
                        checks::CONFIRMATION_MISMATCH,
                        &c.number,
                        Severity::Medium,
                        Some("R7"),
                        &c.exporter,
                        Some(&c.importer),
                        format!(
                            "{} confirmed certificate {} with {} in {} parcel(s); it certifies {} in {}",
                            c.importer,
                            c.number,
                            ct(x.weight),
                            x.parcels,
                            ct(c.weight),
                            c.parcels
                        ),
                        [c.entry, x.entry],
                    );
                }
                if x.after_expiry {
                    found.push(
                        checks::CONFIRMED_LATE,
                        &c.number,
                        Severity::Low,
                        Some("R7"),
                        &c.importer,
                        Some(&c.exporter),
                        format!(
                            "{} confirmed certificate {} on {}, after its expiry on {}",
                            c.importer, c.number, x.date, c.expires
                        ),
                        [c.entry, x.entry],
                    );
                }
            }
        }
    }
}

/// Every finding held, whatever the period: a lab result carries no date
/// of its own, and a contradiction stays one.
fn lab(book: &Book, found: &mut Found) {
    for a in book.attestations.values() {
        let (Some(finding), Subject::Lot { participant, lot }) = (a.finding, &a.subject) else { continue };
        let Some(i) = book.lot(participant, lot) else { continue };
        let declared = book.natures[i as usize];
        if declared == finding {
            continue;
        }
        let name = |n: crate::model::Nature| if n == crate::model::Nature::Natural { "natural" } else { "synthetic" };
        found.push(
            checks::LAB_CONTRADICTION,
            &format!("{participant}/{lot}/{}", a.entry),
            Severity::High,
            Some("R8"),
            participant,
            None,
            format!(
                "a laboratory found lot {lot} of {participant} {}; it is declared {}",
                name(finding),
                name(declared)
            ),
            [a.entry],
        );
    }
}

/// Trade after a flag: every entry that moved weight out of a flagged lot
/// or certificate, or out of anything made from it.
fn downstream(book: &Book, found: &mut Found) {
    let mut flags: BTreeMap<Subject, Vec<Hash32>> = BTreeMap::new();
    for a in book.attestations.values() {
        if matches!(a.kind, AttestationKind::ForgedCertificate | AttestationKind::Seizure | AttestationKind::Hold) {
            flags.entry(a.subject.clone()).or_default().push(a.entry);
        }
    }
    for (subject, by) in flags {
        let about = book.attestations_about(&subject);
        let kinds: BTreeSet<&str> = about
            .iter()
            .filter(|a| match a.kind {
                AttestationKind::Hold => on_hold(&about),
                AttestationKind::ForgedCertificate | AttestationKind::Seizure => true,
                _ => false,
            })
            .map(|a| a.kind.as_str())
            .collect();
        if kinds.is_empty() {
            continue;
        }
        let (participant, mut todo, mut certs) = match &subject {
            Subject::Lot { participant, lot } => {
                (participant.clone(), book.lot(participant, lot).into_iter().collect::<Vec<_>>(), Vec::new())
            }
            Subject::Certificate { number } => match book.cert(number) {
                Some(c) => (c.exporter.clone(), Vec::new(), vec![number.clone()]),
                None => continue,
            },
        };
        let mut seen = HashSet::new();
        let mut trade = BTreeSet::new();
        let mut reached = Vec::new();
        loop {
            for number in certs.drain(..) {
                let Some(c) = book.cert(&number) else { continue };
                if let Some(x) = &c.confirmation {
                    trade.insert(x.entry);
                    todo.extend(book.lot(&c.importer, &x.lot));
                }
            }
            let Some(i) = todo.pop() else { break };
            if !seen.insert(i) {
                continue;
            }
            for n in &book.next[i as usize] {
                match n {
                    Next::Lot(j, e) => {
                        trade.insert(*e);
                        todo.push(*j);
                    }
                    Next::Cert(number, e) => {
                        trade.insert(*e);
                        reached.push(number.clone());
                        certs.push(number.clone());
                    }
                }
            }
        }
        if trade.is_empty() {
            continue;
        }
        let kinds: Vec<&str> = kinds.into_iter().collect();
        // The walk's order follows the order entries arrived in here; the
        // message must not.
        reached.sort();
        reached.dedup();
        let reached = if reached.is_empty() { String::new() } else { format!(", certificates {}", reached.join(", ")) };
        found.push(
            checks::DOWNSTREAM_OF_FLAG,
            &subject.to_string().replace(' ', "_"),
            Severity::High,
            Some("R6"),
            &participant,
            None,
            format!(
                "{} entries moved weight downstream of {subject}, reported {}{reached}",
                trade.len(),
                kinds.join(" and ")
            ),
            by.into_iter().chain(trade),
        );
    }
}

fn non_compliant(book: &Book, period: &Period, found: &mut Found) {
    for l in book.non_compliant.values() {
        if !matches!(l.origin, LotOrigin::Transfer { .. }) || !period.contains(&l.date) {
            continue;
        }
        if !book.exporters.contains(&(l.participant.clone(), l.holder)) {
            continue;
        }
        found.push(
            checks::NON_COMPLIANT_TO_EXPORTER,
            &format!("{}/{}", l.participant, l.lot),
            Severity::Medium,
            Some("R6"),
            &l.participant,
            None,
            format!(
                "lot {} of {} ({}) holds weight from a zone that was not compliant and went to an exporter licensee on {}",
                l.lot,
                l.participant,
                ct(l.weight),
                l.date
            ),
            [l.created_by],
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bytes::PublicKey;
    use crate::model::{HsLine, Nature, Take};
    use crate::state::CertState;

    fn cert(n: u32, exporter: &str, issued: &str, ct: u64, usd: u64) -> CertState {
        CertState {
            number: format!("{exporter}-{n:06}"),
            exporter: exporter.into(),
            importer: "EU".into(),
            exporter_licensee: PublicKey([1; 32]),
            consignee: "c".into(),
            entry: Hash32([n as u8; 32]),
            seq: n as u64,
            inputs: vec![Take { lot: format!("L{n}"), weight: ct * 100 }],
            lines: vec![HsLine { code: "7102.31".into(), weight: ct * 100, value_cents: ct * usd * 100 }],
            weight: ct * 100,
            value_cents: ct * usd * 100,
            parcels: 1,
            issued: issued.into(),
            expires: "2099-01-01".into(),
            nature: Nature::Natural,
            zones: vec![],
            confirmation: None,
        }
    }

    fn scan_of(book: &Book) -> Vec<String> {
        let p = Period::parse("2015-01-01..2018-12-31").unwrap();
        scan(book, &p, &AnomalyParams::defaults("2016-01-01".into())).anomalies.into_iter().map(|a| a.id).collect()
    }

    #[test]
    fn a_price_far_from_the_median_is_flagged_and_a_near_one_is_not() {
        let mut book = Book::default();
        for (i, usd) in [150, 152, 149, 151, 150, 1500].into_iter().enumerate() {
            book.observe_cert(&cert(i as u32 + 1, "CF", "2017-03-01", 100, usd));
        }
        let ids = scan_of(&book);
        assert!(ids.contains(&"price_network/CF-000006/7102.31".to_string()), "{ids:?}");
        assert!(ids.contains(&"price_participant/CF-000006/7102.31".to_string()), "{ids:?}");
        assert_eq!(ids.iter().filter(|i| i.starts_with("price")).count(), 2, "{ids:?}");
    }

    #[test]
    fn too_few_lines_make_no_baseline() {
        let mut book = Book::default();
        for (i, usd) in [150, 1500, 15].into_iter().enumerate() {
            book.observe_cert(&cert(i as u32 + 1, "CF", "2017-03-01", 100, usd));
        }
        assert!(scan_of(&book).iter().all(|i| !i.starts_with("price")));
    }

    #[test]
    fn a_surge_needs_two_trailing_quarters_with_exports() {
        let mut book = Book::default();
        // A first shipment, then a large second one: no trailing level yet.
        book.observe_cert(&cert(1, "CM", "2016-02-01", 100, 150));
        book.observe_cert(&cert(2, "CM", "2016-05-01", 1000, 150));
        assert!(scan_of(&book).iter().all(|i| !i.starts_with("export_surge")), "{:?}", scan_of(&book));
        // Then 100 ct, and 2000 ct: five times the mean of 400 ct over the
        // three quarters before.
        book.observe_cert(&cert(3, "CM", "2016-08-01", 100, 150));
        book.observe_cert(&cert(4, "CM", "2016-11-01", 2000, 150));
        let ids = scan_of(&book);
        let surges: Vec<&String> = ids.iter().filter(|i| i.starts_with("export_surge")).collect();
        assert_eq!(surges, ["export_surge/CM/2016-Q4"], "{ids:?}");
    }

    #[test]
    fn unconfirmed_certificates_count_as_expired_after_as_of_only() {
        let mut book = Book::default();
        let mut c = cert(1, "BW", "2015-03-01", 100, 150);
        c.expires = "2015-09-01".into();
        book.observe_cert(&c);
        assert!(scan_of(&book).contains(&"unconfirmed_expired/BW-000001".to_string()));
        let p = Period::parse("2015").unwrap();
        let early = scan(&book, &p, &AnomalyParams::defaults("2015-06-01".into()));
        assert!(early.anomalies.iter().all(|a| a.check != checks::UNCONFIRMED_EXPIRED));
    }

    #[test]
    fn thresholds_from_a_query_and_sums_of_a_hostile_writer_cannot_overflow() {
        let mut book = Book::default();
        // Certificates at the R9 bounds, more than a u64 of cents can sum.
        for i in 0..40u32 {
            let mut c = cert(i + 1, "CF", "2017-03-01", 50_000_000, 1);
            c.lines[0].value_cents = 1_000_000_000_000;
            c.value_cents = u64::MAX / 8;
            book.observe_cert(&c);
        }
        let p = Period::parse("2017").unwrap();
        let mut params = AnomalyParams::defaults("2030-01-01".into());
        params.mirror_tolerance_bp = u64::MAX;
        params.price_mads_tenths = u64::MAX;
        params.price_min_deviation_bp = u64::MAX;
        params.surge_factor_tenths = u64::MAX;
        params.capacity_tolerance_bp = u64::MAX;
        scan(&book, &p, &params);
        let q = Query { period: p, participant: None, partner: None, hs: None };
        let s = query::stats(&book, &["CF".into(), "EU".into()], &q);
        assert_eq!(s.network.exports.value_cents, u64::MAX, "a sum that would overflow saturates");
        query::mirror(&book, &q);
    }
}
