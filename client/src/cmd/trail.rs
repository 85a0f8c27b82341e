//! `kp trail`: the trail of a lot or a certificate back to every
//! production, as text, JSON, Graphviz DOT or an SVG picture.

use super::{Global, print};
use clap::{Args, Subcommand};
use kp_client::input::{parse_date, parse_participant};
use kp_client::{ClientError, render};

#[derive(Args)]
pub struct TrailOpts {
    /// Print Graphviz DOT (pipe into `dot -Tsvg`).
    #[arg(long, conflicts_with = "json")]
    dot: bool,
    /// Write the trail as an SVG picture to FILE (the viewer's picture; no external program), and print the text.
    #[arg(long, value_name = "FILE")]
    svg: Option<std::path::PathBuf>,
    /// The day that decides which unconfirmed certificates are past expiry (the node's date by default).
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    today: Option<String>,
}

#[derive(Subcommand)]
pub enum TrailCmd {
    /// The trail of a lot.
    Lot {
        /// Participant code, for example CF.
        #[arg(value_parser = parse_participant)]
        participant: String,
        /// Lot id (may contain `/`).
        lot: String,
        #[command(flatten)]
        opts: TrailOpts,
    },
    /// The trail of a certificate.
    Cert {
        /// Certificate number, for example CF-000001.
        number: String,
        #[command(flatten)]
        opts: TrailOpts,
    },
}

pub fn run(g: &Global, cmd: &TrailCmd) -> Result<(), ClientError> {
    let client = g.client();
    let (trail, opts) = match cmd {
        TrailCmd::Lot { participant, lot, opts } => (client.lot_trail(participant, lot, opts.today.as_deref())?, opts),
        TrailCmd::Cert { number, opts } => (client.cert_trail(number, opts.today.as_deref())?, opts),
    };
    if let Some(path) = &opts.svg {
        let svg = kp_schemas::trail_svg::trail_svg(&trail, g.node.trim_end_matches('/'));
        std::fs::write(path, svg).map_err(|e| ClientError::input(format!("cannot write {}: {e}", path.display())))?;
    }
    let text = if g.json {
        render::trail_json(&trail) + "\n"
    } else if opts.dot {
        render::trail_dot(&trail)
    } else {
        render::trail_text(&trail)
    };
    print(&text);
    Ok(())
}
