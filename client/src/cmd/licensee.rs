//! `kp licensee`: register and revoke licensee keys (authority actions),
//! and show a licensee.

use super::{ActAs, Global};
use clap::Subcommand;
use kp_client::input::{parse_key, parse_role};
use kp_client::{ClientError, render};
use kp_schemas::PublicKey;
use kp_schemas::model::{Body, LicenseeRegistration, LicenseeRevocation, Role};

#[derive(Subcommand)]
pub enum LicenseeCmd {
    /// Register a licensee key (authority action).
    Register {
        /// The licensee's public key (as `kp keygen` printed it).
        #[arg(long, value_name = "PUBHEX", value_parser = parse_key)]
        key_of: PublicKey,
        /// The licensee's name.
        #[arg(long)]
        name: String,
        /// miner, trader, exporter, importer or laboratory; repeat for several.
        #[arg(long = "role", value_name = "ROLE", required = true, num_args = 1.., value_parser = parse_role)]
        roles: Vec<Role>,
        #[command(flatten)]
        act: ActAs,
    },
    /// Revoke a licensee (authority action).
    Revoke {
        /// The licensee's public key.
        #[arg(long, value_name = "PUBHEX", value_parser = parse_key)]
        key_of: PublicKey,
        /// Why, for the record.
        #[arg(long, value_name = "TEXT")]
        reason: String,
        #[command(flatten)]
        act: ActAs,
    },
    /// Show a licensee.
    Show {
        /// The licensee's public key.
        // Its own id: `key` is the global --key, which clap would hand here.
        #[arg(id = "licensee", value_name = "PUBHEX", value_parser = parse_key)]
        key: PublicKey,
    },
}

pub fn run(g: &Global, cmd: &LicenseeCmd) -> Result<(), ClientError> {
    match cmd {
        LicenseeCmd::Register { key_of, name, roles, act } => g.action(
            act,
            Body::RegisterLicensee(LicenseeRegistration {
                licensee: *key_of,
                name: name.clone(),
                roles: roles.clone(),
            }),
        ),
        LicenseeCmd::Revoke { key_of, reason, act } => {
            g.action(act, Body::RevokeLicensee(LicenseeRevocation { licensee: *key_of, reason: reason.clone() }))
        }
        LicenseeCmd::Show { key } => {
            g.show(&g.client().licensee(key)?, render::licensee_text);
            Ok(())
        }
    }
}
