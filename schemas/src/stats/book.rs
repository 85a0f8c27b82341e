//! The statistics book: what the statistics and the anomaly checks read,
//! kept up to date from the derived state each accepted entry writes
//! (lots, certificates, attestations, zone estimates, licensees), so that
//! no query recomputes it from the logs.
//!
//! Every input is keyed (a lot, a certificate number, an entry), and
//! counted once however often it is seen, so the book is a function of the
//! set of accepted entries: any node holding the same logs holds the same
//! book, whatever order the entries reached it in.

use crate::bytes::{Hash32, PublicKey};
use crate::model::{AttestationKind, Nature, Role, Subject};
use crate::rules::{Accepted, Change};
use crate::state::{AttestationRecord, CertState, EstimateRecord, LicenseeState, LotOrigin, LotState};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// What a figure counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Flow {
    /// Natural rough mined (production records).
    Production,
    /// Certificates issued, by date of issue.
    Export,
    /// Certificates confirmed, by date of confirmation.
    Import,
}

impl Flow {
    /// As the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Flow::Production => "production",
            Flow::Export => "export",
            Flow::Import => "import",
        }
    }

    /// From the API's spelling.
    pub fn parse(s: &str) -> Option<Flow> {
        match s {
            "production" => Some(Flow::Production),
            "export" => Some(Flow::Export),
            "import" => Some(Flow::Import),
            _ => None,
        }
    }
}

/// One day's figure of one participant: production (per zone), or trade
/// with one partner, whole certificates (`hs` empty) or one HS code.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BucketKey {
    /// The participant the figure is of.
    pub participant: String,
    /// What it counts.
    pub flow: Flow,
    /// The day, `YYYY-MM-DD`.
    pub date: String,
    /// The other participant of a trade; empty for production.
    pub partner: String,
    /// The HS code; empty for whole certificates and production.
    pub hs: String,
    /// The zone of a production, empty if it named none.
    pub zone: String,
}

/// Sums of a figure.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Hundredths of a carat.
    pub weight: u64,
    /// US cents: declared values of productions, certificate values.
    pub value_cents: u64,
    /// Records counted: productions, or certificates.
    pub count: u64,
    /// Stones, for production.
    pub stones: u64,
    /// Hundredths of a carat of the productions that declared a value.
    pub valued_weight: u64,
}

impl Tally {
    /// Add another tally to this one.
    /// Saturating: the bounds of R9 let enough records from a hostile
    /// writer overflow a sum, which must not stop the writer that counts it.
    pub fn add(&mut self, o: &Tally) {
        self.weight = self.weight.saturating_add(o.weight);
        self.value_cents = self.value_cents.saturating_add(o.value_cents);
        self.count = self.count.saturating_add(o.count);
        self.stones = self.stones.saturating_add(o.stones);
        self.valued_weight = self.valued_weight.saturating_add(o.valued_weight);
    }
}

/// A day's figure and the entries behind it.
#[derive(Debug, Clone, Default)]
pub struct Bucket {
    /// The sums.
    pub tally: Tally,
    /// The productions, exports or import confirmations counted.
    pub entries: Vec<Hash32>,
}

/// Where weight went: a lot made by a transfer from this lot, or a
/// certificate exporting from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// A lot, by its index in [`Book::lot_keys`], made by `entry`.
    Lot(u32, Hash32),
    /// A certificate, exported by `entry`.
    Cert(String, Hash32),
}

/// The statistics book. See the module's documentation.
#[derive(Debug, Default, Clone)]
pub struct Book {
    /// Day figures.
    pub buckets: BTreeMap<BucketKey, Bucket>,
    /// Every certificate, as issued and, once confirmed, with its
    /// confirmation, in the order the book met them: read through the
    /// indexes below, which order them.
    pub certs: Vec<CertState>,
    /// A certificate's place in `certs`, by number.
    cert_ids: HashMap<String, u32>,
    /// Certificates by date of issue: `(issued, number, place)`.
    pub issued: BTreeSet<(String, String, u32)>,
    /// Certificates by pair and date of issue: `(exporter, importer,
    /// issued, number, place)`.
    pub pairs: BTreeSet<(String, String, String, String, u32)>,
    /// Every `(exporter, importer)` with a certificate.
    pub trading: BTreeSet<(String, String)>,
    /// Certificates not confirmed, by importer and date of issue:
    /// `(importer, issued, number)`.
    pub waiting: BTreeSet<(String, String, String)>,
    /// Lot index by `participant \0 lot`.
    lot_index: HashMap<String, u32>,
    /// Lot keys, by index.
    pub lot_keys: Vec<String>,
    /// Each lot's nature (R8), by index.
    pub natures: Vec<Nature>,
    /// Each lot's onward movements, by index.
    pub next: Vec<Vec<Next>>,
    /// Whether the lot itself was seen, not only named as an input.
    seen: Vec<bool>,
    /// Lots whose weight came from a zone that was not compliant (R6).
    pub non_compliant: BTreeMap<String, LotState>,
    /// Forged-certificate, seizure, hold and release attestations, and
    /// laboratory findings, by entry.
    pub attestations: BTreeMap<Hash32, AttestationRecord>,
    /// The standing estimate of each `(participant, zone, year)`.
    pub estimates: BTreeMap<(String, String, u16), EstimateRecord>,
    /// Licensees with the exporter role, by `(participant, key)`.
    pub exporters: HashSet<(String, PublicKey)>,
    /// The newest entry timestamp held, Unix milliseconds: the default
    /// "as of" of checks that compare dates with today.
    pub newest_ms: u64,
}

/// `participant \0 lot`, the book's key of a lot.
pub fn lot_key(participant: &str, lot: &str) -> String {
    format!("{participant}\0{lot}")
}

/// Whether the book counts a change the entry `entry` made: a lot when it
/// is made, a certificate when it is issued or confirmed, every
/// attestation, zone estimate and licensee. A change that only takes weight
/// from a lot is left out, unread and uncopied.
pub fn counts(c: &Change, entry: &Hash32) -> bool {
    match c {
        Change::Lot(l) => l.created_by == *entry,
        Change::Cert(x) => x.entry == *entry || x.confirmation.as_ref().is_some_and(|f| f.entry == *entry),
        Change::Attestation(_) | Change::Estimate(_) | Change::Licensee(_) => true,
        _ => false,
    }
}

impl Book {
    /// A change an accepted entry made (see [`counts`]).
    pub fn observe(&mut self, c: &Change) {
        match c {
            Change::Lot(l) => self.observe_lot(l),
            Change::Cert(x) => self.observe_cert(x),
            Change::Attestation(x) => self.observe_attestation(x),
            Change::Estimate(x) => self.observe_estimate(x),
            Change::Licensee(l) => self.observe_licensee(l),
            _ => {}
        }
    }

    /// An entry accepted into its log.
    pub fn observe_accepted(&mut self, a: &Accepted) {
        for c in a.changes.iter().filter(|c| counts(c, &a.hash)) {
            self.observe(c);
        }
        self.observe_time(a.head.timestamp_ms);
    }

    /// The book of a derived state, as a start rebuilds it: the same book
    /// as the one moved forward entry by entry, whatever their order.
    pub fn from_state<'a>(
        lots: impl IntoIterator<Item = &'a LotState>,
        certs: impl IntoIterator<Item = &'a CertState>,
        attestations: impl IntoIterator<Item = &'a AttestationRecord>,
        estimates: impl IntoIterator<Item = &'a EstimateRecord>,
        licensees: impl IntoIterator<Item = &'a LicenseeState>,
        newest_ms: u64,
    ) -> Book {
        let mut book = Book::default();
        licensees.into_iter().for_each(|l| book.observe_licensee(l));
        lots.into_iter().for_each(|l| book.observe_lot(l));
        certs.into_iter().for_each(|c| book.observe_cert(c));
        attestations.into_iter().for_each(|a| book.observe_attestation(a));
        estimates.into_iter().for_each(|x| book.observe_estimate(x));
        book.observe_time(newest_ms);
        book
    }

    fn bucket(&mut self, key: BucketKey, t: Tally, entry: Hash32) {
        let b = self.buckets.entry(key).or_default();
        b.tally.add(&t);
        b.entries.push(entry);
    }

    fn index(&mut self, key: String, nature: Nature) -> u32 {
        if let Some(i) = self.lot_index.get(&key) {
            return *i;
        }
        let i = self.lot_keys.len() as u32;
        self.lot_index.insert(key.clone(), i);
        self.lot_keys.push(key);
        self.natures.push(nature);
        self.next.push(Vec::new());
        self.seen.push(false);
        i
    }

    /// A certificate, by number.
    pub fn cert(&self, number: &str) -> Option<&CertState> {
        self.cert_ids.get(number).map(|i| &self.certs[*i as usize])
    }

    /// A lot's index, if the book holds it.
    pub fn lot(&self, participant: &str, lot: &str) -> Option<u32> {
        self.lot_index.get(&lot_key(participant, lot)).copied()
    }

    /// A lot created or changed. Counted the first time it is seen.
    pub fn observe_lot(&mut self, l: &LotState) {
        let key = lot_key(&l.participant, &l.lot);
        let i = self.index(key.clone(), l.nature);
        // A lot may be met first as the input of an entry accepted before
        // it here (a replay in another order); it counts when seen itself.
        if self.seen[i as usize] {
            return;
        }
        self.seen[i as usize] = true;
        self.natures[i as usize] = l.nature;
        if !l.compliant {
            self.non_compliant.insert(key, l.clone());
        }
        match &l.origin {
            LotOrigin::Production { zone, stones, value_cents, .. } => {
                if l.nature != Nature::Natural {
                    return;
                }
                let t = Tally {
                    weight: l.weight,
                    value_cents: value_cents.unwrap_or(0),
                    count: 1,
                    stones: *stones as u64,
                    valued_weight: if value_cents.is_some() { l.weight } else { 0 },
                };
                let k = BucketKey {
                    participant: l.participant.clone(),
                    flow: Flow::Production,
                    date: l.date.clone(),
                    partner: String::new(),
                    hs: String::new(),
                    zone: zone.clone().unwrap_or_default(),
                };
                self.bucket(k, t, l.created_by);
            }
            LotOrigin::Transfer { inputs } => {
                for t in inputs {
                    let from = self.index(lot_key(&l.participant, &t.lot), l.nature);
                    self.next[from as usize].push(Next::Lot(i, l.created_by));
                }
            }
            LotOrigin::Import { .. } => {}
        }
    }

    /// A certificate issued or confirmed. The export is counted the first
    /// time the certificate is seen, the import the first time it is seen
    /// confirmed.
    pub fn observe_cert(&mut self, c: &CertState) {
        let old = self.cert(&c.number);
        let new_export = old.is_none();
        let new_import = c.confirmation.is_some() && old.is_none_or(|o| o.confirmation.is_none());
        if new_export {
            let id = self.certs.len() as u32;
            self.cert_ids.insert(c.number.clone(), id);
            self.certs.push(c.clone());
            self.issued.insert((c.issued.clone(), c.number.clone(), id));
            if !self.trading.contains(&(c.exporter.clone(), c.importer.clone())) {
                self.trading.insert((c.exporter.clone(), c.importer.clone()));
            }
            self.pairs.insert((c.exporter.clone(), c.importer.clone(), c.issued.clone(), c.number.clone(), id));
            self.waiting.insert((c.importer.clone(), c.issued.clone(), c.number.clone()));
            let whole = Tally { weight: c.weight, value_cents: c.value_cents, count: 1, ..Default::default() };
            self.trade(Flow::Export, &c.exporter, &c.importer, &c.issued, whole, c, c.entry);
            for t in &c.inputs {
                let from = self.index(lot_key(&c.exporter, &t.lot), c.nature);
                self.next[from as usize].push(Next::Cert(c.number.clone(), c.entry));
            }
        }
        if let (true, Some(conf)) = (new_import, &c.confirmation) {
            self.waiting.remove(&(c.importer.clone(), c.issued.clone(), c.number.clone()));
            let whole = Tally { weight: conf.weight, value_cents: c.value_cents, count: 1, ..Default::default() };
            self.trade(Flow::Import, &c.importer, &c.exporter, &conf.date, whole, c, conf.entry);
        }
        if new_import && !new_export {
            let id = self.cert_ids[&c.number];
            self.certs[id as usize] = c.clone();
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn trade(&mut self, flow: Flow, who: &str, partner: &str, date: &str, whole: Tally, c: &CertState, entry: Hash32) {
        let key = |hs: &str| BucketKey {
            participant: who.into(),
            flow,
            date: date.into(),
            partner: partner.into(),
            hs: hs.into(),
            zone: String::new(),
        };
        self.bucket(key(""), whole, entry);
        for l in &c.lines {
            let t = Tally { weight: l.weight, value_cents: l.value_cents, count: 1, ..Default::default() };
            self.bucket(key(&l.code), t, entry);
        }
    }

    /// An attestation or laboratory finding recorded. Notes that are not
    /// findings change no statistic and are not kept.
    pub fn observe_attestation(&mut self, a: &AttestationRecord) {
        let kept = a.finding.is_some()
            || matches!(
                a.kind,
                AttestationKind::ForgedCertificate
                    | AttestationKind::Seizure
                    | AttestationKind::Hold
                    | AttestationKind::Release
            );
        if kept {
            self.attestations.insert(a.entry, a.clone());
        }
    }

    /// A zone estimate recorded: it stands unless a later one (by
    /// timestamp, then monitor key, then position) of the same zone and
    /// year is held.
    pub fn observe_estimate(&mut self, x: &EstimateRecord) {
        let e = &x.estimate;
        let k = (e.participant.clone(), e.zone.clone(), e.year);
        let rank = |r: &EstimateRecord| (r.timestamp_ms, r.monitor, r.seq);
        if self.estimates.get(&k).is_none_or(|old| rank(old) < rank(x)) {
            self.estimates.insert(k, x.clone());
        }
    }

    /// A licensee registered or revoked.
    pub fn observe_licensee(&mut self, l: &LicenseeState) {
        let k = (l.participant.clone(), l.key);
        if l.roles.contains(&Role::Exporter) {
            self.exporters.insert(k);
        }
    }

    /// An accepted entry's timestamp.
    pub fn observe_time(&mut self, ms: u64) {
        self.newest_ms = self.newest_ms.max(ms);
    }

    /// The attestations about a subject, in the one order of
    /// [`crate::state::sort_attestations`].
    pub fn attestations_about(&self, s: &Subject) -> Vec<AttestationRecord> {
        let mut v: Vec<_> = self.attestations.values().filter(|a| a.subject == *s).cloned().collect();
        crate::state::sort_attestations(&mut v);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{HsLine, Take};
    use crate::state::Confirmation;

    fn h(b: u8) -> Hash32 {
        Hash32([b; 32])
    }

    fn production(lot: &str, w: u64, date: &str) -> LotState {
        LotState {
            participant: "CF".into(),
            lot: lot.into(),
            holder: PublicKey([1; 32]),
            weight: w,
            remaining: w,
            nature: Nature::Natural,
            compliant: true,
            created_by: h(lot.len() as u8),
            date: date.into(),
            origin: LotOrigin::Production {
                site: "s".into(),
                zone: Some("BER".into()),
                zone_status: None,
                stones: 3,
                value_cents: Some(w * 10),
            },
            zones: vec![],
        }
    }

    fn cert(confirmed: bool) -> CertState {
        CertState {
            number: "CF-1".into(),
            exporter: "CF".into(),
            importer: "EU".into(),
            exporter_licensee: PublicKey([2; 32]),
            consignee: "c".into(),
            entry: h(9),
            seq: 4,
            inputs: vec![Take { lot: "L".into(), weight: 500 }],
            lines: vec![HsLine { code: "7102.31".into(), weight: 500, value_cents: 70_000 }],
            weight: 500,
            value_cents: 70_000,
            parcels: 1,
            issued: "2017-03-01".into(),
            expires: "2017-09-01".into(),
            nature: Nature::Natural,
            zones: vec![],
            confirmation: confirmed.then(|| Confirmation {
                entry: h(10),
                weight: 490,
                parcels: 1,
                lot: "EU-L".into(),
                date: "2017-03-09".into(),
                mismatch: true,
                after_expiry: false,
            }),
        }
    }

    #[test]
    fn counts_each_lot_and_certificate_once() {
        let mut b = Book::default();
        let l = production("L", 500, "2017-02-01");
        b.observe_lot(&l);
        let mut spent = l.clone();
        spent.remaining = 0;
        b.observe_lot(&spent);
        b.observe_cert(&cert(false));
        b.observe_cert(&cert(true));
        b.observe_cert(&cert(true));
        let sum = |f: Flow| -> u64 {
            b.buckets.iter().filter(|(k, _)| k.flow == f && k.hs.is_empty()).map(|(_, v)| v.tally.weight).sum()
        };
        assert_eq!((sum(Flow::Production), sum(Flow::Export), sum(Flow::Import)), (500, 500, 490));
        assert_eq!(b.next[b.lot("CF", "L").unwrap() as usize], vec![Next::Cert("CF-1".into(), h(9))]);
    }

    #[test]
    fn order_does_not_matter() {
        let mut a = Book::default();
        let mut b = Book::default();
        a.observe_cert(&cert(true));
        a.observe_lot(&production("L", 500, "2017-02-01"));
        b.observe_lot(&production("L", 500, "2017-02-01"));
        b.observe_cert(&cert(false));
        b.observe_cert(&cert(true));
        let keys = |x: &Book| x.buckets.iter().map(|(k, v)| (k.clone(), v.tally.clone())).collect::<Vec<_>>();
        assert_eq!(keys(&a), keys(&b));
    }
}
