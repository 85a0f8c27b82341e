//! The statistics book in memory: rebuilt from the derived state when the
//! ledger loads, then moved forward by each committed batch, so no query
//! reads the logs again. Anomaly scans are kept for the book they were run
//! on, until the next batch changes it.

use super::*;
use kp_schemas::stats::{AnomalyAnswer, AnomalyParams, Book, Period, anomaly};

/// The book and what was last derived from it.
#[derive(Default)]
pub(crate) struct Stats {
    pub(crate) book: Book,
    /// Bumped by every batch that changed the book.
    generation: u64,
    /// The last anomaly scan: its generation, period and parameters.
    scan: Option<(u64, Period, AnomalyParams, Arc<AnomalyAnswer>)>,
}

/// What a batch changed that the book counts.
#[derive(Default)]
pub(crate) struct Pending {
    changes: Vec<Change>,
    newest_ms: u64,
}

impl Pending {
    /// The lots, certificates and licensees a batch made or changed are in
    /// its own maps, read at commit (see [`Ledger::count_batch`]); only the
    /// rare attestations and zone estimates are copied here.
    pub(crate) fn note(&mut self, a: &Accepted) {
        self.newest_ms = self.newest_ms.max(a.head.timestamp_ms);
        for c in &a.changes {
            if matches!(c, Change::Attestation(_) | Change::Estimate(_)) {
                self.changes.push(c.clone());
            }
        }
    }
}

impl Ledger {
    /// The book of the derived state the store holds.
    pub(crate) fn build_book(&self, heads: &HashMap<PublicKey, Head>) -> Result<Book, StoreError> {
        if !self.stats_on {
            return Ok(Book::default());
        }
        let attestations = self.scan_typed::<AttestationRecord>(Column::Attestations, b"")?;
        let estimates = self.scan_typed::<EstimateRecord>(Column::Estimates, b"")?;
        Ok(Book::from_state(
            &self.all_lots()?,
            &self.all_certificates()?,
            &attestations,
            &estimates,
            &self.all_licensees()?,
            heads.values().map(|h| h.timestamp_ms).max().unwrap_or(0),
        ))
    }

    pub(crate) fn set_book(&self, book: Book) {
        let mut s = self.stats.write().expect("stats lock");
        // The store the book was built from holds every batch committed.
        self.backlog.lock().expect("backlog lock").clear();
        s.book = book;
        s.generation += 1;
        s.scan = None;
    }

    /// Count a committed batch: the lots, certificates and licensees it
    /// made or changed, as its maps hold them at the end (the book counts
    /// each once, so a lot that only had weight taken changes nothing), and
    /// what `extra` copied. Read in place when the book is free; copied to
    /// the backlog when a reader holds it.
    pub(crate) fn count_batch<'a>(
        &self,
        lots: impl Iterator<Item = &'a LotState>,
        certs: impl Iterator<Item = &'a CertState>,
        licensees: impl Iterator<Item = &'a LicenseeState>,
        extra: Pending,
    ) {
        if !self.stats_on {
            return;
        }
        match self.stats.try_write() {
            Ok(mut s) => {
                self.drain(&mut s);
                lots.for_each(|l| s.book.observe_lot(l));
                certs.for_each(|c| s.book.observe_cert(c));
                licensees.for_each(|l| s.book.observe_licensee(l));
                for c in &extra.changes {
                    s.book.observe(c);
                }
                s.book.observe_time(extra.newest_ms);
                s.generation += 1;
                s.scan = None;
            }
            Err(_) => {
                let mut p = extra;
                p.changes.extend(lots.map(|l| Change::Lot(l.clone())));
                p.changes.extend(certs.map(|c| Change::Cert(c.clone())));
                p.changes.extend(licensees.map(|l| Change::Licensee(l.clone())));
                self.advance_book(p);
            }
        }
    }

    /// Count a committed batch. The writer never waits for a reader: if
    /// one holds the book (a long anomaly scan), the batch joins the
    /// backlog, which the next writer or reader to get the book counts
    /// first.
    pub(crate) fn advance_book(&self, pending: Pending) {
        if !self.stats_on || (pending.changes.is_empty() && pending.newest_ms == 0) {
            return;
        }
        self.backlog.lock().expect("backlog lock").push(pending);
        if let Ok(mut s) = self.stats.try_write() {
            self.drain(&mut s);
        }
    }

    fn drain(&self, s: &mut Stats) {
        let backlog = std::mem::take(&mut *self.backlog.lock().expect("backlog lock"));
        if backlog.is_empty() {
            return;
        }
        for p in backlog {
            for c in &p.changes {
                s.book.observe(c);
            }
            s.book.observe_time(p.newest_ms);
        }
        s.generation += 1;
        s.scan = None;
    }

    /// The book with every committed batch counted, for reading.
    fn book_read(&self) -> std::sync::RwLockReadGuard<'_, Stats> {
        if !self.backlog.lock().expect("backlog lock").is_empty() {
            let mut s = self.stats.write().expect("stats lock");
            self.drain(&mut s);
        }
        self.stats.read().expect("stats lock")
    }

    /// Build the book again from the derived state, as every start does.
    pub fn reload_book(&self) -> Result<(), StoreError> {
        let heads = self.heads.read().expect("heads lock").clone();
        let book = self.build_book(&heads)?;
        self.set_book(book);
        Ok(())
    }

    /// Read the book, every batch committed before the call counted.
    pub fn with_book<T>(&self, f: impl FnOnce(&Book) -> T) -> T {
        f(&self.book_read().book)
    }

    /// The default parameters of the checks, as of the newest entry held.
    pub fn anomaly_defaults(&self) -> AnomalyParams {
        self.with_book(AnomalyParams::for_book)
    }

    /// Run the anomaly checks, or answer the last scan if nothing changed
    /// since and it was asked the same.
    pub fn anomalies(&self, period: &Period, params: &AnomalyParams) -> Arc<AnomalyAnswer> {
        {
            let s = self.book_read();
            if let Some((g, p, q, a)) = &s.scan
                && *g == s.generation
                && p == period
                && q == params
            {
                return a.clone();
            }
        }
        let (generation, answer) = {
            let s = self.book_read();
            (s.generation, Arc::new(anomaly::scan(&s.book, period, params)))
        };
        let mut s = self.stats.write().expect("stats lock");
        if s.generation == generation {
            s.scan = Some((generation, period.clone(), params.clone(), answer.clone()));
        }
        answer
    }
}
