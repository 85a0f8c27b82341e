//! `kp governance`: the chair suspends, reinstates or admits participants,
//! and hands the chair over.

use super::{ActAs, Global};
use clap::Subcommand;
use kp_client::ClientError;
use kp_client::input::{parse_key, parse_participant};
use kp_schemas::PublicKey;
use kp_schemas::model::{Body, Governance, Participant};

#[derive(Subcommand)]
pub enum GovernanceCmd {
    /// Suspend a participant: its authority can write nothing until reinstated.
    Suspend {
        /// Participant code.
        #[arg(value_parser = parse_participant)]
        code: String,
        /// Why, for the record.
        #[arg(long, value_name = "TEXT", default_value = "")]
        reason: String,
        /// The first position of the participant's log it stops (default: the
        /// one after the log's head, as the chair's node holds it).
        #[arg(long, value_name = "SEQ")]
        from: Option<u64>,
    },
    /// Reinstate a suspended participant.
    Reinstate {
        /// Participant code.
        #[arg(value_parser = parse_participant)]
        code: String,
        /// The first position of the participant's log it may write again
        /// (default: the one after the log's head, as the chair's node holds it).
        #[arg(long, value_name = "SEQ")]
        from: Option<u64>,
    },
    /// Admit a new participant with its authority key.
    Admit {
        /// Participant code (ISO 3166-1 alpha-2, or EU).
        #[arg(value_parser = parse_participant)]
        code: String,
        /// The participant's name.
        #[arg(long)]
        name: String,
        /// The KP authority's signing key.
        #[arg(long, value_name = "PUBHEX", value_parser = parse_key)]
        authority: PublicKey,
        /// Production must name a compliant zone (R6).
        #[arg(long)]
        zone_regime: bool,
    },
    /// Hand the chair over to a new governance key.
    Handover {
        /// The next chair's governance key.
        #[arg(long, value_name = "PUBHEX", value_parser = parse_key)]
        new_chair: PublicKey,
    },
}

pub fn run(g: &Global, cmd: &GovernanceCmd) -> Result<(), ClientError> {
    let chair = ActAs { who: Some("chair".into()) };
    let body = match cmd {
        // A position of 0 asks the chair's node for the one after the
        // log's head.
        GovernanceCmd::Suspend { code, reason, from } => {
            Governance::SuspendParticipant { code: code.clone(), reason: reason.clone(), from: from.unwrap_or(0) }
        }
        GovernanceCmd::Reinstate { code, from } => {
            Governance::ReinstateParticipant { code: code.clone(), from: from.unwrap_or(0) }
        }
        GovernanceCmd::Admit { code, name, authority, zone_regime } => Governance::AdmitParticipant(Participant {
            code: code.clone(),
            name: name.clone(),
            authority: *authority,
            zone_regime: *zone_regime,
            nodes: vec![],
        }),
        GovernanceCmd::Handover { new_chair } => Governance::ChairHandover { new_chair: *new_chair },
    };
    g.action(&chair, Body::Governance(body))
}
