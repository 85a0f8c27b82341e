//! What `kp` prints: pure functions from values to strings, so they are
//! tested without a node. One module per kind of output:
//!
//! - `trail`: a trail as an indented tree, JSON or Graphviz DOT.
//! - `status`: the node's status and the heads of its logs.
//! - `entry`: what a write was accepted as, pages of a log, one entry, and
//!   one-line summaries of entry bodies and licensee records.
//! - `state`: lots, certificates, licensees and zones as the node holds them.
//! - `proof`: checkpoints and the Merkle proofs `kp proof` verified.
//! - `evidence`: equivocations and checkpoint fraud.
//! - `roster`: the roster's versions and the one in force.
//! - `stats`: statistics, mirror statistics and anomalies as tables and
//!   CSV laid out like the public KP statistics tables.
//! - `verdict`: the verdicts of `kp verify` on a bundle or a proof file.
//!
//! Each function is re-exported here (`render::trail_text`); the small
//! formatting helpers they share (money, keys, timestamps) live here too.

mod entry;
mod evidence;
mod proof;
mod roster;
mod state;
mod stats;
mod status;
mod trail;
mod verdict;

pub use entry::{body_summary, entry_text, log_page_text, record_summary, submitted_text};
pub use evidence::{evidence_text, frauds_text};
pub use proof::{checkpoints_text, consistency_text, inclusion_text};
pub use roster::roster_chain_text;
pub use state::{cert_check_text, cert_text, licensee_text, lot_text, zones_text};
pub use stats::{anomalies_csv, anomalies_text, mirror_csv, mirror_text, report_csv, stats_csv, stats_text};
pub use status::{heads_text, status_text};
pub use trail::{NON_COMPLIANT_MARK, SEE_ABOVE, kind_name, node_line, trail_dot, trail_json, trail_text};
pub use verdict::{bundle_report_text, proof_file_text};

use kp_schemas::model::{Nature, Take};
use kp_schemas::rules::fmt_ct;

/// `natural` or `synthetic`.
pub fn nature_name(n: Nature) -> &'static str {
    match n {
        Nature::Natural => "natural",
        Nature::Synthetic => "synthetic",
    }
}

/// US cents as `USD 1234.56`.
pub use kp_schemas::rules::fmt_usd;

/// The first 16 characters of a key or a hash: enough to tell them apart
/// on screen.
pub fn short(x: &impl std::fmt::Display) -> String {
    let s = x.to_string();
    format!("{}…", &s[..s.len().min(16)])
}

/// Milliseconds since the Unix epoch as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn fmt_timestamp_ms(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let date = kp_schemas::model::date_of_days(days as i64);
    format!("{date} {:02}:{:02}:{:02} UTC", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Input lots and the weight taken from each: `A 1.00 ct + B 0.50 ct`.
fn takes(ts: &[Take]) -> String {
    ts.iter().map(|t| format!("{} {}", t.lot, fmt_ct(t.weight))).collect::<Vec<_>>().join(" + ")
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_and_money() {
        assert_eq!(fmt_timestamp_ms(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(fmt_timestamp_ms(1_512_086_400_000 + 3_723_000), "2017-12-01 01:02:03 UTC");
        assert_eq!(fmt_timestamp_ms(951_782_400_000), "2000-02-29 00:00:00 UTC");
        assert_eq!(fmt_usd(123_456), "USD 1234.56");
        assert_eq!(fmt_usd(5), "USD 0.05");
    }
}
