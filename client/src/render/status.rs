//! The node: its status (`kp status`) and the heads of its logs (`kp logs`).

use kp_schemas::api::{HeadView, Status};
use std::fmt::Write;

/// The node's status (`kp status`): network, version, roster, entries, the
/// logs it writes and those it waits to write, evidence, then the heads of
/// its logs.
pub fn status_text(s: &Status) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "network   {}", s.network);
    let _ = writeln!(out, "version   {}", s.version);
    let _ = writeln!(out, "roster    {}", s.roster_hash);
    let _ = writeln!(out, "entries   {}", s.entries);
    let writes = if s.writes.is_empty() { "(read-only)".to_string() } else { s.writes.join(", ") };
    let _ = writeln!(out, "writes    {writes}");
    for c in &s.catching_up {
        let until =
            c.target.map_or("until a peer says how far it goes".to_string(), |t| format!("held {} of {t}", c.held));
        let _ = writeln!(out, "waiting   {}: catching up from peers before writing ({until})", c.name);
    }
    let evidence = match s.evidence.len() {
        0 => "none".to_string(),
        n => format!("{n} equivocation(s): see `kp evidence`"),
    };
    let _ = writeln!(out, "evidence  {evidence}");
    if !s.logs.is_empty() {
        out.push('\n');
        out.push_str(&heads_text(&s.logs));
    }
    out
}

/// The heads of the logs (`kp logs`) as a table; a frozen log is marked.
pub fn heads_text(heads: &[HeadView]) -> String {
    if heads.is_empty() {
        return "no logs\n".into();
    }
    let width = heads.iter().map(|h| h.name.chars().count()).max().unwrap_or(4).max(4);
    let mut out = format!("{:<width$}  {:>8}  {:<64}  HEAD\n", "LOG", "SEQ", "AUTHOR");
    for h in heads {
        let frozen = if h.head.frozen { "  FROZEN" } else { "" };
        let _ = writeln!(out, "{:<width$}  {:>8}  {}  {}{frozen}", h.name, h.head.seq, h.author, h.head.hash);
    }
    out
}
