//! The write path. Submissions are verified in parallel (R1, R9), then judged
//! in order against the state (R2-R8) and written in one synced batch: group
//! commit. One writer thread owns this path, so two submissions that spend
//! the same lot are always judged one after the other. Each is answered a
//! typed [`Outcome`] or a [`SubmitError`]; fraud evidence is kept by its own
//! call, [`WriterHandle::freeze`].

use crate::catchup::{Gate, Target};
use crate::clock::now_ms;
use crate::keys::Keyring;
use crate::ledger::{Batch, Ledger};
use crate::metrics::Metrics;
pub use crate::outcome::{Frozen, Outcome, SubmitError};
use kp_schemas::api::Submitted;
use kp_schemas::checkpoint::Fraud;
use kp_schemas::context;
use kp_schemas::model::{Body, Entry, Record};
use kp_schemas::rules::{self, LedgerView, Verdict};
use kp_schemas::{Keypair, PublicKey, Refusal, SignatureBytes, SignedEntry, SignedRecord, Verified, codes};
use rayon::prelude::*;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// Most submissions judged and written in one batch.
pub const MAX_BATCH: usize = 4096;
/// Submissions verified together while the chunk before them is judged.
const PIPELINE_CHUNK: usize = 256;

/// What the writer is asked to take: an entry to judge, a record to
/// countersign, or a body to sign. Whichever way it comes, it goes through
/// the same parse, signatures (R1) and rules (R2-R8).
#[derive(Debug, Clone)]
pub enum Submission {
    /// An entry signed by its author elsewhere, from a client.
    Entry(Vec<u8>),
    /// The same from a peer: gossip spreads it already, so it is not
    /// announced again.
    Peer(Vec<u8>),
    /// A licensee's record for this node to countersign.
    Record {
        /// The record's canonical bytes, as the licensee signed them.
        record: Vec<u8>,
        /// The licensee's signature over them.
        signature: SignatureBytes,
    },
    /// A body for this node to sign into one of its own logs.
    Action {
        /// Which of this node's keys signs: a participant code, a monitor
        /// id or `chair`; `None` when only one held key may write `body`.
        as_author: Option<String>,
        /// What to sign; the node fills in what it names from the ledger
        /// (`context::complete_body`).
        body: Body,
    },
}

/// A submission checked as far as it can be without the ledger: entries
/// and records parsed and their signatures verified.
pub enum Prepared {
    /// `.1`: announce it to peers once stored (it did not come from one).
    Entry(Result<Box<Verified>, Refusal>, bool),
    /// A licensee's record, parsed and its signature verified, for this
    /// node to countersign; or why not.
    Record(Result<SignedRecord, Refusal>),
    /// A body for this node to sign: nothing to check before the ledger.
    Action {
        /// As [`Submission::Action`].
        as_author: Option<String>,
        /// As [`Submission::Action`].
        body: Body,
    },
}

/// Parse and verify submissions (R1, R9), on all cores when there are
/// several, and check client entries' timestamps against this node's clock;
/// in submission order.
pub fn prepare_all(subs: Vec<Submission>) -> Vec<Prepared> {
    if subs.len() > 1 { subs.into_par_iter().map(prepare).collect() } else { subs.into_iter().map(prepare).collect() }
}

fn verify(bytes: Vec<u8>) -> Result<Box<Verified>, Refusal> {
    SignedEntry::parse(bytes).and_then(SignedEntry::into_verified).map(Box::new)
}

/// How far ahead of this node's clock a client's entry may be stamped. A
/// log's timestamps never decrease (R3), so an author whose clock ran far
/// ahead could write nothing more with a true one.
pub const MAX_CLOCK_AHEAD_MS: u64 = 10 * 60 * 1000;

/// Entries from this node's clients are checked against its clock. Peers'
/// entries are not: whether one is accepted must not depend on when a node
/// receives it, and no rule orders anything by timestamp.
fn not_ahead(v: Box<Verified>) -> Result<Box<Verified>, Refusal> {
    let ts = v.entry.entry().timestamp_ms;
    let now = now_ms();
    if ts > now.saturating_add(MAX_CLOCK_AHEAD_MS) {
        return Err(Refusal::new(
            codes::R3_FUTURE_TIMESTAMP,
            format!("the entry is stamped {} s ahead of this node's clock", (ts - now) / 1000),
        ));
    }
    Ok(v)
}

fn prepare(s: Submission) -> Prepared {
    match s {
        Submission::Entry(bytes) => Prepared::Entry(verify(bytes).and_then(not_ahead), true),
        Submission::Peer(bytes) => Prepared::Entry(verify(bytes), false),
        Submission::Record { record, signature } => {
            Prepared::Record(SignedRecord::parse(record, signature).and_then(|r| {
                r.verify()?;
                Ok(r)
            }))
        }
        Submission::Action { as_author, body } => Prepared::Action { as_author, body },
    }
}

/// What the writer thread runs: judges and writes every batch, and is the
/// only writer of the logs and what follows from them. A node runs it on
/// its own thread ([`spawn`]); tests and benchmarks call it directly.
pub struct Writer {
    ledger: Arc<Ledger>,
    keys: Keyring,
    metrics: Arc<Metrics>,
    /// Where entries stored for this node's clients go, to be gossiped.
    announce: Option<mpsc::Sender<Vec<u8>>>,
    /// Own logs this node signs nothing into until it holds their heads.
    catch_up: Arc<Gate>,
}

impl Writer {
    /// A writer of `ledger`, signing into the logs of the keys in `keys`
    /// (countersigned records and actions), counting in `metrics`. It
    /// announces nothing until [`Writer::with_announce`].
    pub fn new(ledger: Arc<Ledger>, keys: Keyring, metrics: Arc<Metrics>) -> Self {
        Self { ledger, keys, metrics, announce: None, catch_up: Arc::new(Gate::open()) }
    }

    /// Sign nothing into the logs `gate` holds until they are caught up.
    pub fn with_catch_up(mut self, gate: Arc<Gate>) -> Self {
        self.catch_up = gate;
        self
    }

    /// Send the wire bytes of every entry stored for this node's clients
    /// (and of equivocations found) to `tx`, after they are durable.
    pub fn with_announce(mut self, tx: mpsc::Sender<Vec<u8>>) -> Self {
        self.announce = Some(tx);
        self
    }

    /// The ledger this writer writes.
    pub fn ledger(&self) -> &Arc<Ledger> {
        &self.ledger
    }

    /// Verify, judge and durably store a batch of submissions. Results are in
    /// submission order; nothing is acknowledged before the write is synced.
    pub fn process(&self, subs: Vec<Submission>) -> Vec<Result<Outcome, SubmitError>> {
        let mut batch = self.ledger.batch();
        let mut results = Vec::with_capacity(subs.len());
        let mut announce = Vec::new();
        // Verification of one chunk overlaps the judging of the chunk before,
        // so that both cores stay busy: judging is sequential by nature.
        let mut chunks = subs.chunks(PIPELINE_CHUNK).map(<[Submission]>::to_vec);
        let mut ready = chunks.next().map(prepare_all).unwrap_or_default();
        while !ready.is_empty() {
            let next = chunks.next();
            let (verified, ()) = rayon::join(
                || next.map(prepare_all).unwrap_or_default(),
                || self.judge_chunk(&mut batch, std::mem::take(&mut ready), &mut results, &mut announce),
            );
            ready = verified;
        }
        self.finish(batch, results, announce)
    }

    /// Judge and durably store submissions verified already, off this
    /// thread ([`WriterHandle`] verifies them before they queue): the writer
    /// thread then only judges and writes, while the next submissions are
    /// verified, even while this batch waits for the disk.
    pub fn process_prepared(&self, prepared: Vec<Prepared>) -> Vec<Result<Outcome, SubmitError>> {
        let mut batch = self.ledger.batch();
        let mut results = Vec::with_capacity(prepared.len());
        let mut announce = Vec::new();
        let mut prepared = prepared.into_iter().peekable();
        while prepared.peek().is_some() {
            let chunk: Vec<Prepared> = prepared.by_ref().take(PIPELINE_CHUNK).collect();
            self.judge_chunk(&mut batch, chunk, &mut results, &mut announce);
        }
        self.finish(batch, results, announce)
    }

    fn judge_chunk(
        &self,
        batch: &mut Batch<'_>,
        chunk: Vec<Prepared>,
        results: &mut Vec<Result<Outcome, SubmitError>>,
        announce: &mut Vec<Vec<u8>>,
    ) {
        for p in chunk {
            // Once a read or a write of the batch failed, it will not
            // commit, and what follows may rely on what the failure
            // stopped: nothing more is judged in it.
            let r = match batch.failure() {
                Some(e) => Err(SubmitError::Storage(format!("the batch failed: {e}"))),
                None => self.judge_one(batch, p, announce),
            };
            results.push(r);
        }
        batch.write_buffered();
    }

    /// Commit the batch, then announce what it stored; if the commit failed,
    /// nothing of it is acknowledged.
    fn finish(
        &self,
        batch: Batch<'_>,
        mut results: Vec<Result<Outcome, SubmitError>>,
        announce: Vec<Vec<u8>>,
    ) -> Vec<Result<Outcome, SubmitError>> {
        match batch.commit() {
            Ok(()) => {
                if let Some(tx) = &self.announce {
                    for bytes in announce {
                        // A full queue only delays: peers pull it by sync.
                        let _ = tx.try_send(bytes);
                    }
                }
            }
            Err(e) => {
                tracing::error!("batch write failed: {e}");
                let msg = e.to_string();
                for r in results.iter_mut() {
                    if r.is_ok() {
                        *r = Err(SubmitError::Storage(msg.clone()));
                    }
                }
            }
        }
        self.metrics.observe(&results, self.ledger.entry_count());
        results
    }

    /// Keep checked fraud evidence against a log's writer and freeze the log,
    /// durably, in a batch of its own. Through the writer, because the
    /// writer owns the heads.
    pub fn freeze(&self, log: &PublicKey, fraud: &Fraud) -> Result<Frozen, SubmitError> {
        let mut batch = self.ledger.batch();
        let new = batch.fraud(log, fraud);
        let log_name = batch.network().author_name(log);
        let committed = batch.commit();
        self.metrics.written(self.ledger.entry_count());
        let new = new?;
        committed.map_err(|e| {
            tracing::error!("batch write failed: {e}");
            SubmitError::Storage(e.to_string())
        })?;
        Ok(Frozen { id: fraud.id(), log: *log, log_name, new })
    }

    fn judge_one(
        &self,
        batch: &mut Batch<'_>,
        p: Prepared,
        announce: &mut Vec<Vec<u8>>,
    ) -> Result<Outcome, SubmitError> {
        let (v, to_peers) = match p {
            Prepared::Entry(v, to_peers) => (*v?, to_peers),
            Prepared::Record(r) => (self.countersign(batch, r?)?, true),
            Prepared::Action { as_author, body } => (self.act(batch, as_author.as_deref(), body)?, true),
        };
        let bytes = to_peers.then(|| v.entry.bytes().to_vec());
        let (r, fresh) = judge(batch, v);
        if let (true, Some(b)) = (fresh, bytes) {
            announce.push(b);
        }
        r
    }

    fn countersign(&self, batch: &mut Batch<'_>, r: SignedRecord) -> Result<Verified, SubmitError> {
        let licensee = r.record().licensee;
        // The participant whose log takes the record: one whose authority
        // key this node holds and that registered the key. Only those are
        // looked up: countersigning is the hot path.
        let net = batch.network();
        let mut key = None;
        for p in net.participants.values() {
            if let Some(k) = self.keys.get(&p.participant.authority)
                && batch.licensee(&p.participant.code, &licensee)?.is_some()
            {
                key = Some(k);
                break;
            }
        }
        let Some(key) = key else {
            let elsewhere = self.ledger.registrations(&licensee)?;
            return Err(match elsewhere.first() {
                Some(state) => SubmitError::NotWriter(format!(
                    "licensee {} is registered by {}, whose log this node does not write: submit to a {} node",
                    state.name, state.participant, state.participant
                )),
                None => {
                    Refusal::new(codes::R2_UNKNOWN_LICENSEE, format!("key {licensee} is not a registered licensee"))
                        .into()
                }
            });
        };
        let record = r.record().clone();
        let entry = self.sign_next(batch, key, Body::Countersigned(r.to_countersigned()), Some(&record))?;
        Ok(Verified { entry, record: Some(record) })
    }

    fn act(&self, batch: &mut Batch<'_>, as_author: Option<&str>, body: Body) -> Result<Verified, SubmitError> {
        if matches!(body, Body::Countersigned(_)) {
            return Err(Refusal::new(codes::R2_NOT_ALLOWED, "licensee records go to POST /v1/records").into());
        }
        let key = self.keys.resolve(batch.network(), as_author, &body)?;
        let mut body = body;
        context::complete_body(batch, &key.public(), &mut body)?;
        let entry = self.sign_next(batch, key, body, None)?;
        Ok(Verified { entry, record: None })
    }

    /// The next entry of one of this node's own logs, naming the context its
    /// verdict reads, and parsed back from its signed bytes as a peer parses
    /// them (`SignedEntry::parse`: size, strict decode, bounds R9). A body a
    /// peer would refuse is refused here, before it is judged, so nothing of
    /// it is stored and the log's head stays where it was; signed and stored,
    /// it would be a position every peer refuses, and the log would end there
    /// for the whole network. A read that fails signs nothing.
    fn sign_next(
        &self,
        batch: &Batch<'_>,
        key: &Keypair,
        body: Body,
        record: Option<&Record>,
    ) -> Result<SignedEntry, SubmitError> {
        let author = key.public();
        // A replaced key signs nothing again: its log is closed, and the
        // holder's log goes on under the new key.
        if let Some(r) = batch.network().retired(&author) {
            return Err(Refusal::new(
                codes::R3_LOG_FROZEN,
                format!(
                    "this key of {} was replaced: its log is closed at position {}, and this node signs nothing \
                     more with it",
                    r.holder, r.last
                ),
            )
            .into());
        }
        // A frozen log of this node's own is never signed again: after its
        // entries beyond the freeze point were withdrawn, the next position
        // is one its key has signed already.
        if batch.freeze_point(&author).is_some() {
            let name = batch.network().author_name(&author);
            return Err(Refusal::new(
                codes::R3_LOG_FROZEN,
                format!("the log of {name} is frozen (see the evidence): this node signs nothing more in it"),
            )
            .into());
        }
        let head = batch.head(&author)?;
        let held = head.as_ref().map_or(0, |h| h.seq);
        if let Err(t) = self.catch_up.may_write(&author, held) {
            let name = batch.network().author_name(&author);
            let why = match t {
                Target::Unheard => "no peer has said yet how far it goes".to_string(),
                Target::Head { seq, .. } => format!("a peer holds it up to position {seq}"),
            };
            return Err(SubmitError::CatchingUp(format!(
                "this node does not write the log of {name} yet: it holds it up to position {held}, and {why}; \
                 it catches the log up from its peers first, so as never to sign a position the network already \
                 holds (try again shortly; GET /v1/status lists the logs still catching up)"
            )));
        }
        let (seq, prev, ts) =
            head.map(|h| (h.seq + 1, h.hash, h.timestamp_ms)).unwrap_or((1, kp_schemas::Hash32::ZERO, 0));
        let context = context::writer_context(batch, &author, &body, record)?;
        let entry = Entry {
            network: batch.network().network.clone(),
            author,
            seq,
            prev,
            timestamp_ms: now_ms().max(ts),
            context,
            body,
        };
        Ok(SignedEntry::sign_checked(entry, key)?)
    }
}

/// Judge and apply one entry; `.1`: whether it is new here, so worth
/// announcing to peers.
fn judge(batch: &mut Batch<'_>, v: Verified) -> (Result<Outcome, SubmitError>, bool) {
    let verdict = match rules::judge(batch, &v) {
        Ok(x) => x,
        Err(e) => return (Err(e.into()), false),
    };
    let fresh = batch.apply(&v, &verdict);
    let e = v.entry.entry();
    let name = batch.network().author_name(&e.author);
    let r = match verdict {
        Verdict::Accepted(a) => Outcome::Stored(Submitted {
            hash: a.hash,
            author: a.author,
            author_name: name,
            seq: a.head.seq,
            duplicate: false,
            flags: a.flags,
        }),
        Verdict::Duplicate(hash) => Outcome::Duplicate(Submitted {
            hash,
            author: e.author,
            author_name: name,
            seq: e.seq,
            duplicate: true,
            flags: vec![],
        }),
        Verdict::Equivocation(equivocation) => Outcome::Evidence { equivocation, author_name: name, new: fresh },
        Verdict::Withdrawn(withdrawn) => Outcome::Withdrawn { withdrawn, new: fresh },
    };
    (Ok(r), fresh)
}

type Reply = oneshot::Sender<Result<Outcome, SubmitError>>;

/// Submissions reach the writer one by one (clients) or a page at a time
/// (peers), which then goes into one batch whole. Fraud evidence is kept in
/// a batch of its own, in its turn.
enum Job {
    Judge(Judge),
    Freeze(PublicKey, Box<Fraud>, oneshot::Sender<Result<Frozen, SubmitError>>),
}

enum Judge {
    One(Box<Prepared>, Reply),
    Many(Vec<Prepared>, oneshot::Sender<Vec<Result<Outcome, SubmitError>>>),
}

impl Job {
    fn len(&self) -> usize {
        match self {
            Job::Judge(Judge::One(..)) | Job::Freeze(..) => 1,
            Job::Judge(Judge::Many(s, _)) => s.len(),
        }
    }
}

/// Verify on the CPU pool, not on the async runtime nor on the writer
/// thread, which only judges and writes.
async fn off_thread(subs: Vec<Submission>) -> Vec<Prepared> {
    let (tx, rx) = oneshot::channel();
    rayon::spawn(move || {
        let _ = tx.send(prepare_all(subs));
    });
    rx.await.expect("verification runs to the end")
}

/// Submissions in the writer's queue: their outcomes, in order, once the
/// batch that holds them is durable.
pub struct Queued {
    n: usize,
    rx: Option<oneshot::Receiver<Vec<Result<Outcome, SubmitError>>>>,
}

impl Queued {
    /// Wait for the batch that holds these submissions to be durable, and
    /// take their outcomes, in order. If the writer is gone, each is
    /// `SubmitError::Unavailable`.
    pub async fn outcomes(self) -> Vec<Result<Outcome, SubmitError>> {
        let unavailable = || (0..self.n).map(|_| Err(SubmitError::Unavailable)).collect();
        match self.rx {
            Some(rx) => rx.await.unwrap_or_else(|_| unavailable()),
            None => unavailable(),
        }
    }
}

/// A cloneable handle to the writer thread.
#[derive(Clone)]
pub struct WriterHandle {
    tx: mpsc::Sender<Job>,
}

impl WriterHandle {
    /// Submit several at once; they are judged in order, in one batch.
    pub async fn submit_many(&self, subs: Vec<Submission>) -> Vec<Result<Outcome, SubmitError>> {
        self.enqueue_many(subs).await.outcomes().await
    }

    /// Verify several and queue them for the writer, without waiting for
    /// their outcomes: a caller that must keep an order (catch-up, a
    /// benchmark) verifies the next while the writer judges these.
    pub async fn enqueue_many(&self, subs: Vec<Submission>) -> Queued {
        let n = subs.len();
        let prepared = off_thread(subs).await;
        let (tx, rx) = oneshot::channel();
        let sent = self.tx.send(Job::Judge(Judge::Many(prepared, tx))).await.is_ok();
        Queued { n, rx: sent.then_some(rx) }
    }

    /// Submit one: verified off the writer thread, judged in the writer's
    /// next batch with whatever else waits, and answered once that batch is
    /// durable.
    pub async fn submit(&self, s: Submission) -> Result<Outcome, SubmitError> {
        let p = off_thread(vec![s]).await.pop().expect("one submission, one prepared");
        let (tx, rx) = oneshot::channel();
        self.tx.send(Job::Judge(Judge::One(Box::new(p), tx))).await.map_err(|_| SubmitError::Unavailable)?;
        rx.await.map_err(|_| SubmitError::Unavailable)?
    }

    /// Keep checked fraud evidence against `log`'s writer and freeze the log
    /// ([`Writer::freeze`]).
    pub async fn freeze(&self, log: PublicKey, fraud: Fraud) -> Result<Frozen, SubmitError> {
        let (tx, rx) = oneshot::channel();
        self.tx.send(Job::Freeze(log, Box::new(fraud), tx)).await.map_err(|_| SubmitError::Unavailable)?;
        rx.await.map_err(|_| SubmitError::Unavailable)?
    }
}

impl Writer {
    /// Judge the submissions of `jobs` in one batch and answer each job.
    fn answer(&self, jobs: Vec<Judge>) {
        if jobs.is_empty() {
            return;
        }
        let mut subs = Vec::new();
        let mut replies = Vec::with_capacity(jobs.len());
        for j in jobs {
            match j {
                Judge::One(s, r) => {
                    subs.push(*s);
                    replies.push((1, Ok(r)));
                }
                Judge::Many(s, r) => {
                    replies.push((s.len(), Err(r)));
                    subs.extend(s);
                }
            }
        }
        let mut results = self.process_prepared(subs).into_iter();
        self.stop_if_broken();
        // A caller may have gone; what it sent is stored either way.
        for (n, reply) in replies {
            match reply {
                Ok(r) => {
                    if let Some(x) = results.next() {
                        let _ = r.send(x);
                    }
                }
                Err(r) => {
                    let _ = r.send(results.by_ref().take(n).collect());
                }
            }
        }
    }

    fn stop_if_broken(&self) {
        if self.ledger.is_broken() {
            // The store could not be read back after a failed write:
            // nothing more can be judged safely. Everything
            // acknowledged is durable; a restart recovers the rest.
            tracing::error!("the store failed and could not recover: stopping the node");
            std::process::exit(70);
        }
    }
}

/// Start the writer thread. It stops when every handle is dropped.
pub fn spawn(writer: Writer) -> (WriterHandle, std::thread::JoinHandle<()>) {
    let (tx, mut rx) = mpsc::channel::<Job>(MAX_BATCH * 2);
    let thread = std::thread::Builder::new()
        .name("kp-writer".into())
        .spawn(move || {
            while let Some(first) = rx.blocking_recv() {
                let mut size = first.len();
                let mut jobs = vec![first];
                while size < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(j) => {
                            size += j.len();
                            jobs.push(j);
                        }
                        Err(_) => break,
                    }
                }
                // In the order they came: the submissions before a fraud
                // are judged in one batch, then the fraud is kept, and so on.
                let mut group = Vec::with_capacity(jobs.len());
                for j in jobs {
                    match j {
                        Job::Freeze(log, fraud, reply) => {
                            writer.answer(std::mem::take(&mut group));
                            let r = writer.freeze(&log, &fraud);
                            writer.stop_if_broken();
                            let _ = reply.send(r);
                        }
                        Job::Judge(j) => group.push(j),
                    }
                }
                writer.answer(group);
            }
        })
        .expect("spawn writer thread");
    (WriterHandle { tx }, thread)
}
