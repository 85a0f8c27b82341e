//! Zones: `kp zone declare`, a zone's status from a date (monitor action),
//! and `kp zones`, the zone-status records.

use super::{ActAs, Global};
use clap::{Subcommand, ValueEnum};
use kp_client::input::{parse_carats, parse_date, parse_participant};
use kp_client::{ClientError, render};
use kp_schemas::model::{Body, ZoneEstimate, ZoneState, ZoneStatus};

#[derive(Clone, Copy, ValueEnum)]
pub enum ZoneStateArg {
    Compliant,
    Suspended,
    Revoked,
}

impl From<ZoneStateArg> for ZoneState {
    fn from(s: ZoneStateArg) -> Self {
        match s {
            ZoneStateArg::Compliant => ZoneState::Compliant,
            ZoneStateArg::Suspended => ZoneState::Suspended,
            ZoneStateArg::Revoked => ZoneState::Revoked,
        }
    }
}

#[derive(Subcommand)]
pub enum ZoneCmd {
    /// Declare a zone compliant, suspended or revoked from a date (monitor action).
    Declare {
        /// The participant the zone is in.
        #[arg(long, value_parser = parse_participant)]
        participant: String,
        /// Short zone id, for example BER.
        #[arg(long)]
        zone: String,
        /// The zone's name, for example Berberati.
        #[arg(long)]
        name: String,
        #[arg(long, value_enum)]
        status: ZoneStateArg,
        /// The day the status takes effect.
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
        effective: String,
        #[command(flatten)]
        act: ActAs,
    },
    /// Estimate a zone's production in a year (monitor action): the
    /// statistics flag a zone whose recorded production exceeds it.
    Estimate {
        /// The participant the zone is in.
        #[arg(long, value_parser = parse_participant)]
        participant: String,
        /// Short zone id, for example BER.
        #[arg(long)]
        zone: String,
        /// The calendar year.
        #[arg(long)]
        year: u16,
        /// Estimated production in carats.
        #[arg(long, value_name = "CARATS", value_parser = parse_carats)]
        weight: u64,
        /// How the estimate was made.
        #[arg(long, default_value = "")]
        note: String,
        #[command(flatten)]
        act: ActAs,
    },
}

pub fn run(g: &Global, cmd: &ZoneCmd) -> Result<(), ClientError> {
    let (participant, zone, name, status, effective, act) = match cmd {
        ZoneCmd::Declare { participant, zone, name, status, effective, act } => {
            (participant, zone, name, status, effective, act)
        }
        ZoneCmd::Estimate { participant, zone, year, weight, note, act } => {
            return g.action(
                act,
                Body::ZoneEstimate(ZoneEstimate {
                    participant: participant.clone(),
                    zone: zone.clone(),
                    year: *year,
                    weight: *weight,
                    note: note.clone(),
                }),
            );
        }
    };
    g.action(
        act,
        Body::ZoneStatus(ZoneStatus {
            participant: participant.clone(),
            zone: zone.clone(),
            name: name.clone(),
            status: (*status).into(),
            effective: effective.clone(),
            // The monitor's node chains it to the zone's previous status.
            previous: None,
        }),
    )
}

/// `kp zones`: zone-status records, of one participant or all.
pub fn list(g: &Global, participant: Option<&str>) -> Result<(), ClientError> {
    g.show(&g.client().zones(participant)?, |z| render::zones_text(z));
    Ok(())
}
