//! Prometheus metrics, served at `/metrics`.

use crate::outcome::{Outcome, SubmitError};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabel {
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: String,
}

/// Why the node closes a connection whose gossip it can no longer read.
pub const GOSSIP_CLOSE_REASONS: [&str; 2] = ["oversized_frame", "unreadable_frame"];

/// The node's counters, shared by the writer, the witness and the network
/// loop; names carry the `kp_` prefix, and counters the `_total` suffix.
pub struct Metrics {
    registry: Registry,
    accepted: Counter,
    duplicates: Counter,
    refused: Family<CodeLabel, Counter>,
    batches: Counter,
    entries: Gauge,
    /// Checkpoints of this node's own logs signed (`kp_checkpoints_signed`).
    pub checkpoints_signed: Counter,
    /// Cosignatures this node added to other logs' checkpoints whose root
    /// matches its own tree (`kp_cosignatures_made`).
    pub cosignatures_made: Counter,
    /// Checkpoint fraud kept for the first time here, each freezing a log
    /// (`kp_checkpoint_frauds`).
    pub checkpoint_frauds: Counter,
    gossip_closed: Family<ReasonLabel, Counter>,
    /// Sync answers no honest peer gives: the wrong type, an error, a
    /// timeout, a page that is not the log asked for (`kp_sync_faults`).
    pub sync_faults: Counter,
    /// Peers disconnected for a while because their sync answers kept
    /// wasting rounds (`kp_sync_peers_dropped`).
    pub sync_peers_dropped: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("kp");
        let accepted = Counter::default();
        let duplicates = Counter::default();
        let refused = Family::<CodeLabel, Counter>::default();
        let batches = Counter::default();
        let entries = Gauge::default();
        registry.register("entries_accepted", "Entries accepted into a log", accepted.clone());
        registry.register("entries_duplicate", "Submissions of entries already stored", duplicates.clone());
        registry.register("submissions_refused", "Submissions refused, by code", refused.clone());
        registry.register("write_batches", "Synced write batches (group commits)", batches.clone());
        registry.register("entries_stored", "Entries stored in all logs", entries.clone());
        let (checkpoints_signed, cosignatures_made, checkpoint_frauds) =
            (Counter::default(), Counter::default(), Counter::default());
        registry.register(
            "checkpoints_signed",
            "Checkpoints of this node's own logs signed",
            checkpoints_signed.clone(),
        );
        registry.register(
            "cosignatures_made",
            "Cosignatures this node added to other logs' checkpoints that match its copy",
            cosignatures_made.clone(),
        );
        registry.register(
            "checkpoint_frauds",
            "Fraud evidence against a log's writer kept (each freezes a log)",
            checkpoint_frauds.clone(),
        );
        let gossip_closed = Family::<ReasonLabel, Counter>::default();
        // Shown at 0 from the start, so that an alert can watch them.
        for reason in GOSSIP_CLOSE_REASONS {
            let _ = gossip_closed.get_or_create(&ReasonLabel { reason: reason.into() });
        }
        registry.register(
            "gossip_connections_closed",
            "Connections closed because the peer sent a gossip frame this node cannot read (over the size limit, \
             or not decodable), by reason",
            gossip_closed.clone(),
        );
        let (sync_faults, sync_peers_dropped) = (Counter::default(), Counter::default());
        registry.register(
            "sync_faults",
            "Sync answers no honest peer gives: an answer of the wrong type, an error, no answer in time, or a \
             page that is not the log asked for",
            sync_faults.clone(),
        );
        registry.register(
            "sync_peers_dropped",
            "Peers disconnected for a while because their sync answers kept wasting rounds",
            sync_peers_dropped.clone(),
        );
        Self {
            registry,
            sync_faults,
            sync_peers_dropped,
            accepted,
            duplicates,
            refused,
            batches,
            entries,
            checkpoints_signed,
            cosignatures_made,
            checkpoint_frauds,
            gossip_closed,
        }
    }
}

impl Metrics {
    /// One batch of the writer: what became of each submission, and the
    /// entries stored now.
    pub fn observe(&self, results: &[Result<Outcome, SubmitError>], stored: u64) {
        for r in results {
            match r {
                Ok(Outcome::Stored(_)) => {
                    self.accepted.inc();
                }
                Ok(Outcome::Duplicate(_)) => {
                    self.duplicates.inc();
                }
                // Its entry is not in the log: counted with the refusals,
                // by the code a client is answered.
                Ok(Outcome::Evidence { .. }) => self.count_refused(Outcome::EVIDENCE_CODE),
                Ok(Outcome::Withdrawn { withdrawn, .. }) => self.count_refused(&withdrawn.refusal().code),
                Err(e) => self.count_refused(e.code()),
            }
        }
        self.written(stored);
    }

    /// A synced write batch of the writer, and the entries stored now.
    pub fn written(&self, stored: u64) {
        self.batches.inc();
        self.entries.set(stored as i64);
    }

    fn count_refused(&self, code: &str) {
        self.refused.get_or_create(&CodeLabel { code: code.into() }).inc();
    }

    /// A connection closed because its gossip could no longer be read.
    pub fn gossip_connection_closed(&self, reason: &str) {
        self.gossip_closed.get_or_create(&ReasonLabel { reason: reason.into() }).inc();
    }

    /// Every metric in the OpenMetrics text format, as `GET /metrics`
    /// answers it.
    pub fn render(&self) -> String {
        let mut s = String::new();
        // Writing into a String cannot fail.
        prometheus_client::encoding::text::encode(&mut s, &self.registry).expect("metrics encode");
        s
    }
}
