//! Evidence (`kp evidence`): equivocations, two entries at one position of
//! a log, and checkpoint fraud, a log's writer signing what cannot be true.

use super::short;
use kp_schemas::api::FraudView;
use kp_schemas::checkpoint::Fraud;
use kp_schemas::rules::Equivocation;
use std::fmt::Write;

/// One line per equivocation: the frozen log, the position, both entries.
pub fn evidence_text(ev: &[Equivocation]) -> String {
    if ev.is_empty() {
        return "no equivocation seen\n".into();
    }
    let mut out = String::new();
    for e in ev {
        let _ = writeln!(
            out,
            "log {} frozen at #{}: entry {} and entry {} both claim that position",
            e.author, e.seq, e.existing, e.conflicting
        );
    }
    out
}

/// One line per piece of checkpoint fraud: the log, what its writer signed,
/// and the evidence's id.
pub fn frauds_text(list: &[FraudView]) -> String {
    if list.is_empty() {
        return "no checkpoint fraud seen\n".into();
    }
    let mut out = String::new();
    for f in list {
        let what = match &f.fraud {
            Fraud::SplitView { .. } => "signed two checkpoints of one size with different roots",
            Fraud::WrongRoot { .. } => "signed a checkpoint whose root is not the root of its own log",
        };
        let _ = writeln!(out, "{} {what}: the log is frozen (evidence {})", f.log_name, short(&f.id));
    }
    out
}
