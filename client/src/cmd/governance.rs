//! `kp governance`: the chair admits participants (under conditions or
//! not) and lifts conditions, suspends and reinstates them, replaces a
//! participant's or a monitor's nodes or signing key, and hands the chair
//! over. Each is a governance entry of the chair's log: the next roster
//! version.

use super::{ActAs, Global};
use clap::Subcommand;
use kp_client::ClientError;
use kp_client::input::{NodeArg, nodes_of, parse_holder, parse_key, parse_node, parse_participant, parse_signature};
use kp_schemas::model::{Body, Governance, Participant};
use kp_schemas::{PublicKey, SignatureBytes};

const NODE_HELP: &str = "\
Nodes are given as --peer PEERID or --peer PEERID@MULTIADDR, repeated: the libp2p
peer id kp-node prints at start, and an address to dial it at, for example
  --peer 12D3KooW...@/ip4/198.51.100.7/tcp/7171
Give the same peer id again to list another address of that node. A node
without an address is never dialled; it dials the others. (--node is the
address of the node kp talks to.)";

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
    /// Admit a new participant with its authority key and nodes; with any
    /// --condition, admitted under conditions: its exports are refused until
    /// the chair lifts them (`kp governance lift`).
    #[command(after_help = NODE_HELP)]
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
        /// A node of the participant: PEERID or PEERID@MULTIADDR (repeatable).
        #[arg(long = "peer", value_name = "PEERID[@MULTIADDR]", value_parser = parse_node)]
        nodes: Vec<NodeArg>,
        /// What the participant must still do, free text (repeatable).
        #[arg(long = "condition", value_name = "TEXT")]
        conditions: Vec<String>,
    },
    /// Record that a conditionally admitted participant meets its conditions:
    /// its exports are accepted from then on.
    Lift {
        /// Participant code.
        #[arg(value_parser = parse_participant)]
        code: String,
        /// Why, for the record.
        #[arg(long, value_name = "TEXT")]
        note: String,
    },
    /// Replace every node of a participant or a monitor: the peers listed may
    /// connect for it, the ones left out are refused.
    #[command(after_help = NODE_HELP)]
    Nodes {
        /// Participant code or monitor id.
        #[arg(value_parser = parse_holder)]
        holder: String,
        /// A node: PEERID or PEERID@MULTIADDR (repeatable).
        #[arg(long = "peer", value_name = "PEERID[@MULTIADDR]", value_parser = parse_node, required_unless_present = "none")]
        nodes: Vec<NodeArg>,
        /// Leave the holder no node at all.
        #[arg(long, conflicts_with = "nodes")]
        none: bool,
    },
    /// Replace a participant authority's or a monitor's signing key. The old
    /// key's log is closed at --last: its later entries are withdrawn on every
    /// node, and the holder's log goes on under the new key from entry 1.
    /// With --statement, a planned rotation: the old key's signature (domain
    /// `kpledger/v1/key-rotation`) over the network, holder, old and new keys
    /// and --last. Without, a rotation the chair forces after a compromise.
    RotateKey {
        /// Participant code or monitor id.
        #[arg(value_parser = parse_holder)]
        holder: String,
        /// The new signing key.
        #[arg(long, value_name = "PUBHEX", value_parser = parse_key)]
        new_key: PublicKey,
        /// The old key's last valid position. Required with --statement, which
        /// signs it; forced, it defaults to the old log's head as the chair's
        /// node holds it.
        #[arg(long, value_name = "SEQ")]
        last: Option<u64>,
        /// The old key's signature of the rotation: a planned rotation.
        #[arg(long, value_name = "SIGHEX", value_parser = parse_signature, requires = "last")]
        statement: Option<SignatureBytes>,
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
        GovernanceCmd::Admit { code, name, authority, zone_regime, nodes, conditions } => {
            let participant = Participant {
                code: code.clone(),
                name: name.clone(),
                authority: *authority,
                zone_regime: *zone_regime,
                nodes: nodes_of(nodes),
            };
            if let Some(empty) = conditions.iter().find(|c| c.trim().is_empty()) {
                return Err(ClientError::input(format!("--condition `{empty}` says nothing: name what must be done")));
            }
            if conditions.is_empty() {
                Governance::AdmitParticipant(participant)
            } else {
                Governance::AdmitConditionally { participant, conditions: conditions.clone() }
            }
        }
        GovernanceCmd::Lift { code, note } => Governance::LiftConditions { code: code.clone(), note: note.clone() },
        GovernanceCmd::Nodes { holder, nodes, none: _ } => {
            Governance::SetNodes { holder: holder.clone(), nodes: nodes_of(nodes) }
        }
        // A forced rotation's position of 0 asks the chair's node for the
        // old log's head.
        GovernanceCmd::RotateKey { holder, new_key, last, statement } => Governance::RotateKey {
            holder: holder.clone(),
            new_key: *new_key,
            last: last.unwrap_or(0),
            statement: *statement,
        },
        GovernanceCmd::Handover { new_chair } => Governance::ChairHandover { new_chair: *new_chair },
    };
    g.action(&chair, Body::Governance(body))
}
