//! Checkpoints and witnessing. A node signs checkpoints of the logs it
//! writes, at least every N entries or T seconds; it checks every other
//! log's checkpoint against the tree of that log it holds itself, cosigns
//! the ones that match, and turns the ones that cannot be true into fraud
//! evidence that freezes the log.
//!
//! The decisions here are synchronous and read the store; the caller runs
//! them off the async threads and sends what they return: gossip to
//! publish, and fraud for the writer to keep.

use crate::ingest::{Submission, WriterHandle};
use crate::keys::Keyring;
use crate::ledger::Ledger;
use crate::outcome::Outcome as Written;
use crate::store::{Column, Op, StoreError};
use kp_schemas::PublicKey;
use kp_schemas::checkpoint::{self, Checkpoint, CheckpointGossip, Cosignature, Fraud, FraudClaim, SignedCheckpoint};
use kp_schemas::encoding::{decode_trusted, encode};
use kp_schemas::model::HexBytes;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Checkpoints of one log longer than this node's copy, kept until the
/// entries arrive. Per log, so that no writer can push out another's; beyond
/// this many the largest sizes of that log are dropped, never the smallest,
/// which are checked first and are the ones that convict a writer that signs
/// one branch to some witnesses and another to the rest. Logs are roster
/// members, so the pool is bounded.
const MAX_WAITING_PER_LOG: usize = 32;
/// Most checkpoints one log signs in one tick; a log that grew by more
/// than this many times N since the last tick has the newest signed.
const MAX_SIGNED_PER_TICK: usize = 64;
/// Checkpoints looked through for a witnessed one, newest first.
const MAX_LOOK_BACK: usize = 256;
/// How often each log's newest checkpoint is published again. Longer than
/// gossipsub's 60 s seen-message cache, which would drop it unchanged.
const REPEAT_LATEST: Duration = Duration::from_secs(90);

/// When this node signs checkpoints of its own logs, and what it counts as
/// witnessed (the `[checkpoints]` settings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointConfig {
    /// Sign once this many entries were added since the last checkpoint...
    pub every_entries: u64,
    /// ...or this long after it, if any were.
    pub every: Duration,
    /// Cosignatures a checkpoint needs at least; each log's intersecting
    /// quorum ([`checkpoint::quorum`]) applies whatever this says.
    pub quorum: usize,
}

impl Default for CheckpointConfig {
    fn default() -> Self {
        Self { every_entries: 1024, every: Duration::from_secs(5), quorum: checkpoint::DEFAULT_QUORUM }
    }
}

/// A checkpoint as stored, with every valid cosignature gathered so far.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredCheckpoint {
    /// The log writer's signed checkpoint, wire bytes: network, log, size,
    /// root, time.
    pub checkpoint: HexBytes,
    /// Other participants' cosignatures over it, one per witness. Which
    /// count is read from the network now: one made before its participant
    /// was suspended stays, and no longer counts.
    pub cosignatures: Vec<Cosignature>,
}

impl StoredCheckpoint {
    /// The checkpoint parsed; bytes that do not parse are a corrupt store.
    pub fn signed(&self) -> Result<SignedCheckpoint, StoreError> {
        SignedCheckpoint::parse(self.checkpoint.0.clone()).map_err(|e| StoreError::Corrupt(format!("checkpoint: {e}")))
    }

    /// The message that publishes it with its cosignatures.
    pub fn gossip(&self) -> CheckpointGossip {
        CheckpointGossip::Checkpoint { checkpoint: self.checkpoint.clone(), cosignatures: self.cosignatures.clone() }
    }
}

fn checkpoint_key(log: &PublicKey, size: u64) -> Vec<u8> {
    [&log.0[..], &size.to_be_bytes()].concat()
}

/// How gossip is to be treated, as gossipsub's validation wants to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Valid and new: forward it.
    Accept,
    /// Nothing new, or not checkable here.
    Ignore,
    /// Invalid: drop it and count it against the sender.
    Reject,
}

/// What handling a message or a tick asks of the caller.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Checkpoints and cosignatures to gossip. Fraud evidence here goes
    /// out only once the writer found it new ([`settle`]).
    pub publish: Vec<CheckpointGossip>,
    /// Checked evidence, with the log it freezes: for the writer.
    pub frauds: Vec<(PublicKey, Fraud)>,
    /// Entries signed by a log's writer at a position where this node holds
    /// another: for the writer, which keeps both as equivocation evidence and
    /// freezes the log.
    pub conflicts: Vec<Vec<u8>>,
}

/// A checkpoint of a log longer than this node's copy, with the
/// cosignatures it came with.
type Waiting = (SignedCheckpoint, Vec<Cosignature>);

/// Signs checkpoints of this node's own logs, checks and cosigns the other
/// logs' checkpoints, and finds checkpoint fraud. It writes only the
/// `checkpoints` column, under its own lock, and only at sizes the log's
/// synced head has reached; fraud goes to the writer.
pub struct Witness {
    ledger: Arc<Ledger>,
    keys: Keyring,
    cfg: CheckpointConfig,
    waiting: Mutex<BTreeMap<(PublicKey, u64), Waiting>>,
    /// Serialises read-modify-write of stored checkpoints.
    lock: Mutex<()>,
    metrics: Arc<crate::metrics::Metrics>,
}

impl Witness {
    /// A witness of `ledger`, signing and cosigning with the keys in `keys`.
    /// It counts into metrics of its own until [`Witness::with_metrics`].
    pub fn new(ledger: Arc<Ledger>, keys: Keyring, cfg: CheckpointConfig) -> Self {
        let metrics = Arc::new(crate::metrics::Metrics::default());
        Self { ledger, keys, cfg, waiting: Mutex::new(BTreeMap::new()), lock: Mutex::new(()), metrics }
    }

    /// Count what this witness does in the node's metrics.
    pub fn with_metrics(mut self, metrics: Arc<crate::metrics::Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// When checkpoints are signed, and the configured quorum.
    pub fn config(&self) -> &CheckpointConfig {
        &self.cfg
    }

    /// The ledger whose logs' trees the checkpoints are checked against.
    pub fn ledger(&self) -> &Arc<Ledger> {
        &self.ledger
    }

    /// The checkpoint of `log` at `size` this node holds, with the
    /// cosignatures gathered for it.
    pub fn stored(&self, log: &PublicKey, size: u64) -> Result<Option<StoredCheckpoint>, StoreError> {
        match self.ledger.store().get(Column::Checkpoints, &checkpoint_key(log, size))? {
            None => Ok(None),
            Some(v) => decode_trusted(&v).map(Some).map_err(|e| StoreError::Corrupt(format!("checkpoint: {e}"))),
        }
    }

    /// Up to `limit` checkpoints of a log, newest first.
    pub fn latest(&self, log: &PublicKey, limit: usize) -> Result<Vec<StoredCheckpoint>, StoreError> {
        // Sizes are big-endian, so the newest is last.
        let newest = self.ledger.store().scan_back(Column::Checkpoints, &log.0, limit)?;
        newest
            .into_iter()
            .map(|(_, v)| decode_trusted(&v).map_err(|e| StoreError::Corrupt(format!("checkpoint: {e}"))))
            .collect()
    }

    /// Participant codes whose valid cosignatures a stored checkpoint carries.
    pub fn witnesses(&self, s: &StoredCheckpoint) -> Result<Vec<String>, StoreError> {
        let cp = s.signed()?;
        Ok(checkpoint::valid_witnesses(&self.ledger.network(), &cp, &s.cosignatures).into_iter().collect())
    }

    /// The newest checkpoint of a log that covers entry `seq` and is
    /// witnessed by the quorum.
    /// Only the newest checkpoints are looked at: the newest witnessed one is
    /// among them unless the witnesses have been away for that many.
    pub fn witnessed_covering(&self, log: &PublicKey, seq: u64) -> Result<Option<StoredCheckpoint>, StoreError> {
        for s in self.latest(log, MAX_LOOK_BACK)? {
            let cp = s.signed()?;
            if cp.checkpoint().size < seq {
                break;
            }
            let net = self.ledger.network();
            if checkpoint::valid_witnesses(&net, &cp, &s.cosignatures).len() >= self.quorum(&net, log) {
                return Ok(Some(s));
            }
        }
        Ok(None)
    }

    /// Cosignatures that make a checkpoint of `log` witnessed.
    pub fn quorum(&self, net: &kp_schemas::state::NetworkState, log: &PublicKey) -> usize {
        checkpoint::quorum(net, log, self.cfg.quorum)
    }

    /// Store a checkpoint; `false` if it is beyond its log's freeze point,
    /// where a frozen log has none (R3).
    ///
    /// The withdrawal that follows a freeze deletes the checkpoints a node
    /// held beyond the freeze point, on the writer thread. One judged here
    /// against the log's old length while it ran must not outlive it: the
    /// freeze point is known before the withdrawal deletes anything, so
    /// looking at it again once written removes what the deletion missed.
    fn put(&self, log: &PublicKey, size: u64, s: &StoredCheckpoint) -> Result<bool, StoreError> {
        let beyond = || self.ledger.freeze_point(log).is_some_and(|f| size > f);
        if beyond() {
            return Ok(false);
        }
        let key = checkpoint_key(log, size);
        self.ledger.store().write(vec![Op::Put(Column::Checkpoints, key.clone(), encode(s))])?;
        if beyond() {
            self.ledger.store().write(vec![Op::Delete(Column::Checkpoints, key)])?;
            return Ok(false);
        }
        Ok(true)
    }

    /// Cosignatures this node adds: one per authority key it holds that
    /// may witness the log, so none while its participant is suspended.
    /// None to a log this node writes (the CF node holds the MT-CF
    /// monitor's key, say): a writer is not its own witness.
    fn own_cosignatures(&self, cp: &SignedCheckpoint, have: &[Cosignature]) -> Vec<Cosignature> {
        if self.keys.get(&cp.checkpoint().log).is_some() {
            return Vec::new();
        }
        let net = self.ledger.network();
        // A frozen log's writer is convicted: nothing more of it is vouched
        // for. A log closed by a key rotation is not: its entries up to the
        // position the rotation kept are vouched for as any log's.
        let c = cp.checkpoint();
        let closed = self.closed_at(&net, &c.log).is_some_and(|last| c.size <= last);
        if !closed && self.ledger.head(&c.log).ok().flatten().is_some_and(|h| h.frozen) {
            return Vec::new();
        }
        self.keys
            .all()
            .filter(|k| checkpoint::witness_code(&net, &cp.checkpoint().log, &k.public()).is_some())
            .filter(|k| !have.iter().any(|c| c.witness == k.public()))
            .map(|k| cp.cosign(k))
            .collect()
    }

    /// Where the log of a replaced key ends: a chair's at its handover, a
    /// log a key rotation closed where it is frozen (its writer was
    /// replaced, not convicted). None for any other log, and for a closed
    /// log that equivocated below that position.
    fn closed_at(&self, net: &kp_schemas::state::NetworkState, log: &PublicKey) -> Option<u64> {
        let r = net.retired(log)?;
        if r.holder == kp_schemas::state::CHAIR {
            return Some(r.last);
        }
        (self.ledger.freeze_point(log) == Some(r.last)).then_some(r.last)
    }

    /// Sign checkpoints of this node's own logs that are due, and the last
    /// one of a log a key rotation closed, so that its entries stay provable.
    pub fn tick(&self, now_ms: u64) -> Result<Outcome, StoreError> {
        let mut out = Outcome::default();
        let net = self.ledger.network();
        for key in self.keys.all() {
            let log = key.public();
            // A chair key handed over still signs its log's last checkpoint:
            // bundles carry that log whole. A rotated key's log is frozen.
            if net.log_role(&log).is_none() {
                continue;
            }
            let Some(head) = self.ledger.head(&log)? else { continue };
            if head.seq == 0 || (head.frozen && self.closed_at(&net, &log).is_none()) {
                continue;
            }
            let size = head.seq;
            let _guard = self.lock.lock().expect("checkpoint lock");
            let last = self.latest(&log, 1)?.into_iter().next().map(|s| s.signed()).transpose()?;
            let (last_size, last_ts) =
                last.as_ref().map_or((0, 0), |l| (l.checkpoint().size, l.checkpoint().timestamp_ms));
            if size <= last_size {
                continue;
            }
            // One checkpoint every N entries, each at its own size: the tree
            // gives the root at any past size, so no run of N entries goes
            // unsigned however fast the log grows between ticks.
            let n = self.cfg.every_entries.max(1);
            let mut sizes: Vec<u64> = (1..).map(|k| last_size + k * n).take_while(|s| *s <= size).collect();
            if sizes.len() > MAX_SIGNED_PER_TICK {
                sizes.drain(..sizes.len() - MAX_SIGNED_PER_TICK);
            }
            let stale = last.is_none() || now_ms.saturating_sub(last_ts) >= self.cfg.every.as_millis() as u64;
            if stale && sizes.last() != Some(&size) {
                sizes.push(size);
            }
            let tree = self.ledger.tree(&log);
            for size in sizes {
                let cp = SignedCheckpoint::sign(
                    Checkpoint {
                        network: net.network.clone(),
                        log,
                        size,
                        root: tree.root(size)?,
                        timestamp_ms: now_ms.max(last_ts),
                    },
                    key,
                );
                // A writer is not its own witness: others cosign.
                let stored = StoredCheckpoint { checkpoint: HexBytes(cp.into_bytes()), cosignatures: vec![] };
                if !self.put(&log, size, &stored)? {
                    continue;
                }
                self.metrics.checkpoints_signed.inc();
                tracing::debug!(log = %net.author_name(&log), size, "checkpoint signed");
                out.publish.push(stored.gossip());
            }
        }
        // Checkpoints that waited for entries this node now holds.
        let ready: Vec<_> = {
            let mut w = self.waiting.lock().expect("waiting lock");
            let keys: Vec<_> = w.keys().copied().collect();
            let mut ready = Vec::new();
            for (log, size) in keys {
                if size <= self.ledger.log_size(&log)? {
                    ready.push(w.remove(&(log, size)).expect("listed"));
                }
            }
            ready
        };
        for (cp, cosigs) in ready {
            self.consider(cp, cosigs, &mut out)?;
        }
        Ok(out)
    }

    /// Handle one gossip message.
    pub fn receive(&self, msg: CheckpointGossip) -> Result<(Verdict, Outcome), StoreError> {
        let mut out = Outcome::default();
        let net = self.ledger.network();
        let verdict = match msg {
            CheckpointGossip::Checkpoint { checkpoint, cosignatures } => {
                let Ok(cp) = SignedCheckpoint::parse(checkpoint.0) else { return Ok((Verdict::Reject, out)) };
                let c = cp.checkpoint();
                // A replaced key's log is witnessed up to the position its
                // rotation kept, no further; a peer that has not heard of
                // the rotation yet is not to blame for passing a later
                // checkpoint on.
                if net.retired(&c.log).is_some() && self.closed_at(&net, &c.log).is_none_or(|last| c.size > last) {
                    return Ok((Verdict::Ignore, out));
                }
                let valid = cp.verify().is_ok()
                    && c.network == net.network
                    && net.log_role(&c.log).is_some()
                    && cosignatures.len() <= checkpoint::MAX_COSIGNATURES
                    && cosignatures.iter().all(|s| {
                        checkpoint::independent_witness(&net, &c.log, &s.witness).is_some() && s.verify(&cp).is_ok()
                    });
                if !valid {
                    return Ok((Verdict::Reject, out));
                }
                // A suspended participant's cosignature is true but does not
                // count: it is neither kept nor passed on, and the sender,
                // which may not know of the suspension yet, is not rejected.
                let counted = cosignatures
                    .into_iter()
                    .filter(|s| checkpoint::witness_code(&net, &c.log, &s.witness).is_some())
                    .collect();
                self.consider(cp, counted, &mut out)?
            }
            CheckpointGossip::Fraud(f) => self.judge_fraud(f, &mut out)?,
        };
        Ok((verdict, out))
    }

    /// A checkpoint with valid signatures: check it against the log held
    /// here, then store, cosign, wait, or call it fraud.
    fn consider(
        &self,
        cp: SignedCheckpoint,
        cosigs: Vec<Cosignature>,
        out: &mut Outcome,
    ) -> Result<Verdict, StoreError> {
        let _guard = self.lock.lock().expect("checkpoint lock");
        let c = cp.checkpoint().clone();
        if let Some(mut stored) = self.stored(&c.log, c.size)? {
            let old = stored.signed()?;
            if old.checkpoint().root != c.root {
                let fraud = Fraud::SplitView { first: stored.checkpoint.clone(), second: HexBytes(cp.into_bytes()) };
                out.frauds.push((c.log, fraud.clone()));
                out.publish.push(CheckpointGossip::Fraud(fraud));
                return Ok(Verdict::Reject);
            }
            if old != cp {
                // The same tree signed twice with another timestamp: true,
                // but the first is the one witnesses gather on.
                return Ok(Verdict::Ignore);
            }
            let before = stored.cosignatures.len();
            for s in cosigs {
                if !stored.cosignatures.iter().any(|x| x.witness == s.witness) {
                    stored.cosignatures.push(s);
                }
            }
            if stored.cosignatures.len() == before {
                return Ok(Verdict::Ignore);
            }
            if !self.put(&c.log, c.size, &stored)? {
                return Ok(Verdict::Ignore);
            }
            return Ok(Verdict::Accept);
        }
        let log_size = self.ledger.log_size(&c.log)?;
        if c.size > log_size {
            let mut w = self.waiting.lock().expect("waiting lock");
            if let Some((other, have)) = w.get_mut(&(c.log, c.size)) {
                if other.checkpoint().root != c.root {
                    let fraud =
                        Fraud::SplitView { first: HexBytes(other.bytes().to_vec()), second: HexBytes(cp.into_bytes()) };
                    out.frauds.push((c.log, fraud.clone()));
                    out.publish.push(CheckpointGossip::Fraud(fraud));
                    return Ok(Verdict::Reject);
                }
                if *other != cp {
                    // As for a stored checkpoint: the first is the one
                    // witnesses gather on.
                    return Ok(Verdict::Ignore);
                }
                // Keep every cosignature heard while waiting: each witness
                // publishes its own once, so one dropped here is not heard again.
                let before = have.len();
                for s in cosigs {
                    if !have.iter().any(|x| x.witness == s.witness) {
                        have.push(s);
                    }
                }
                return Ok(if have.len() > before { Verdict::Accept } else { Verdict::Ignore });
            }
            w.insert((c.log, c.size), (cp, cosigs));
            let of_log: Vec<u64> = w.range((c.log, 0)..=(c.log, u64::MAX)).map(|(k, _)| k.1).collect();
            for size in of_log.iter().skip(MAX_WAITING_PER_LOG) {
                w.remove(&(c.log, *size));
            }
            return Ok(if w.contains_key(&(c.log, c.size)) { Verdict::Accept } else { Verdict::Ignore });
        }
        let root = self.ledger.tree(&c.log).root(c.size)?;
        if root != c.root {
            let entry = self
                .ledger
                .entry_at(&c.log, c.size)?
                .ok_or_else(|| StoreError::Corrupt(format!("entry {} of a log of {log_size} is missing", c.size)))?;
            let fraud = Fraud::WrongRoot { checkpoint: HexBytes(cp.into_bytes()), entry: HexBytes(entry.into_bytes()) };
            tracing::warn!(log = %self.ledger.network().author_name(&c.log), size = c.size, "checkpoint root does not match the log");
            out.frauds.push((c.log, fraud.clone()));
            out.publish.push(CheckpointGossip::Fraud(fraud));
            return Ok(Verdict::Reject);
        }
        let mut cosignatures = cosigs;
        let own = self.own_cosignatures(&cp, &cosignatures);
        let added = !own.is_empty();
        self.metrics.cosignatures_made.inc_by(own.len() as u64);
        cosignatures.extend(own);
        let stored = StoredCheckpoint { checkpoint: HexBytes(cp.into_bytes()), cosignatures };
        if !self.put(&c.log, c.size, &stored)? {
            return Ok(Verdict::Ignore);
        }
        if added {
            out.publish.push(stored.gossip());
        }
        Ok(Verdict::Accept)
    }

    fn judge_fraud(&self, f: Fraud, out: &mut Outcome) -> Result<Verdict, StoreError> {
        let net = self.ledger.network();
        let log = match f.check(&net.network) {
            Err(e) => {
                tracing::warn!("fraud claim refused: {e}");
                return Ok(Verdict::Reject);
            }
            Ok(FraudClaim::Proven { log }) => log,
            Ok(FraudClaim::AgainstLog { log, size, entry, claimed }) => {
                match self.ledger.entry_at(&log, size)? {
                    Some(e) if e.hash() == entry => {}
                    // The writer signed another entry at a position held
                    // here: that alone convicts it (R3). Keep both, freeze
                    // the log, and pass the claim on, so that a writer that
                    // showed each half of the witnesses its own branch is
                    // caught wherever either branch is held.
                    Some(_) => {
                        let Fraud::WrongRoot { entry: bytes, .. } = &f else { return Ok(Verdict::Ignore) };
                        if self.ledger.has_evidence_at(&log, size)? {
                            return Ok(Verdict::Ignore);
                        }
                        out.conflicts.push(bytes.0.clone());
                        return Ok(Verdict::Accept);
                    }
                    // A position not held yet: for R3 to judge when the
                    // entry arrives.
                    None => return Ok(Verdict::Ignore),
                }
                if self.ledger.tree(&log).root(size)? == claimed {
                    tracing::warn!(log = %net.author_name(&log), "false fraud claim: the checkpoint matches the log");
                    return Ok(Verdict::Reject);
                }
                log
            }
        };
        if net.role_of(&log).is_none() {
            return Ok(Verdict::Reject);
        }
        if self.ledger.store().get(Column::Frauds, &f.id().0)?.is_some() {
            return Ok(Verdict::Ignore);
        }
        out.frauds.push((log, f));
        Ok(Verdict::Accept)
    }
}

/// Handle one gossip message: judge it off the async threads, then give
/// any fraud to the writer. Returns the verdict and what to publish.
pub async fn handle(w: Arc<Witness>, writer: WriterHandle, msg: CheckpointGossip) -> (Verdict, Vec<CheckpointGossip>) {
    let incoming = msg.clone();
    let w2 = w.clone();
    let r = tokio::task::spawn_blocking(move || w2.receive(msg)).await;
    match r {
        Ok(Ok((verdict, out))) => {
            // Evidence that came in is forwarded by gossipsub itself;
            // publishing the same bytes again would only be refused.
            let mut publish = settle(&w, &writer, out).await;
            publish.retain(|m| *m != incoming);
            (verdict, publish)
        }
        Ok(Err(e)) => {
            tracing::error!("checkpoint handling: {e}");
            (Verdict::Ignore, vec![])
        }
        Err(e) => {
            tracing::error!("checkpoint handling panicked: {e}");
            (Verdict::Ignore, vec![])
        }
    }
}

/// Keep the frauds an outcome found (the writer freezes their logs) and
/// return what to publish: fraud evidence goes out only when it was new here.
pub async fn settle(w: &Witness, writer: &WriterHandle, out: Outcome) -> Vec<CheckpointGossip> {
    let mut publish: Vec<CheckpointGossip> =
        out.publish.into_iter().filter(|m| !matches!(m, CheckpointGossip::Fraud(_))).collect();
    for bytes in out.conflicts {
        match writer.submit(Submission::Peer(bytes)).await {
            Ok(Written::Evidence { equivocation: eq, author_name, new }) => tracing::warn!(
                new,
                "{author_name} signed two different entries at position {}: both kept as evidence, the log is frozen",
                eq.seq
            ),
            Ok(Written::Stored(s) | Written::Duplicate(s)) => {
                tracing::debug!(entry = %s.hash, "the conflicting entry of a root claim was taken")
            }
            Ok(Written::Withdrawn { withdrawn: w, .. }) => {
                tracing::debug!(entry = %w.hash, "the conflicting entry of a root claim is beyond a freeze point")
            }
            Err(e) => tracing::warn!("the conflicting entry of a root claim: {e}"),
        }
    }
    for (log, fraud) in out.frauds {
        match writer.freeze(log, fraud.clone()).await {
            Ok(f) if f.new => {
                w.metrics.checkpoint_frauds.inc();
                tracing::warn!(log = %f.log_name, evidence = %f.id, "checkpoint fraud: the log is frozen");
                publish.push(CheckpointGossip::Fraud(fraud));
            }
            Ok(_) => {}
            Err(e) => tracing::error!("keeping fraud evidence: {e}"),
        }
    }
    publish
}

/// Sign what is due and retry waiting checkpoints, every `period`, until
/// aborted. What it makes goes to `publish` when the node has a network.
pub async fn run(
    w: Arc<Witness>,
    writer: WriterHandle,
    publish: Option<tokio::sync::mpsc::Sender<CheckpointGossip>>,
    period: Duration,
) {
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_repeat = std::time::Instant::now();
    loop {
        tick.tick().await;
        let w2 = w.clone();
        // Gossip reaches only the nodes up at the time: now and then each
        // log's newest checkpoint goes out again with every cosignature
        // known here, for nodes that were down or joined since.
        let repeat = last_repeat.elapsed() >= REPEAT_LATEST;
        if repeat {
            last_repeat = std::time::Instant::now();
        }
        let out = match tokio::task::spawn_blocking(move || {
            let mut out = w2.tick(crate::clock::now_ms())?;
            if repeat {
                out.publish.extend(latest_per_log(&w2)?.into_values().map(|s| s.gossip()));
            }
            Ok::<_, StoreError>(out)
        })
        .await
        {
            Ok(Ok(out)) => out,
            Ok(Err(e)) => {
                tracing::error!("checkpoint tick: {e}");
                continue;
            }
            Err(_) => return,
        };
        for m in settle(&w, &writer, out).await {
            if let Some(tx) = &publish {
                // A full queue only delays: the next checkpoint carries on.
                let _ = tx.try_send(m);
            }
        }
    }
}

/// What the node shows of a stored checkpoint.
pub fn view(w: &Witness, s: &StoredCheckpoint) -> Result<kp_schemas::api::CheckpointView, StoreError> {
    let cp = s.signed()?;
    let c = cp.checkpoint();
    let net = w.ledger.network();
    let witnesses = w.witnesses(s)?;
    let quorum = w.quorum(&net, &c.log);
    Ok(kp_schemas::api::CheckpointView {
        id: cp.id(),
        log: c.log,
        log_name: net.author_name(&c.log),
        size: c.size,
        root: c.root,
        timestamp_ms: c.timestamp_ms,
        witnessed: witnesses.len() >= quorum,
        witnesses,
        quorum,
        cosignatures: s.cosignatures.clone(),
        bytes: s.checkpoint.clone(),
    })
}

/// Latest checkpoint per log, for a quick look.
pub fn latest_per_log(w: &Witness) -> Result<HashMap<PublicKey, StoredCheckpoint>, StoreError> {
    let mut out = HashMap::new();
    for (author, _) in w.ledger.heads()? {
        if let Some(s) = w.latest(&author, 1)?.into_iter().next() {
            out.insert(author, s);
        }
    }
    Ok(out)
}
