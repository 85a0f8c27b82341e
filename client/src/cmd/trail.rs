//! `kp trail`: the trail of a lot or a certificate back to every
//! production, as text, JSON or Graphviz DOT.

use super::{Global, print};
use clap::{Args, Subcommand};
use kp_client::input::{parse_date, parse_participant};
use kp_client::{ClientError, render};

#[derive(Args)]
pub struct TrailOpts {
    /// Print Graphviz DOT (pipe into `dot -Tsvg`).
    #[arg(long, conflicts_with = "json")]
    dot: bool,
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
