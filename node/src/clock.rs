//! Wall-clock helpers. Today's date is `kp_schemas::model::today_utc`, which
//! the node and the `kp` client share.

use std::time::{SystemTime, UNIX_EPOCH};

/// This node's clock, in Unix milliseconds: the time on the entries and
/// checkpoints it signs (an entry's never earlier than its log's last, R3),
/// and what a client's entry may not run ahead of
/// ([`crate::ingest::MAX_CLOCK_AHEAD_MS`]). 0 on a clock set before 1970.
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}
