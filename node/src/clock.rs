//! Wall-clock helpers. Today's date is `kp_schemas::model::today_utc`, which
//! the node and the `kp` client share.

use std::time::{SystemTime, UNIX_EPOCH};

pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}
