//! The commands of `kp`, one module per group, and what they share: the
//! global options ([`Global`]), printing text or `--json`, and naming the
//! node's key that signs an action ([`ActAs`]).
//!
//! - [`keygen`]: `kp keygen`, a licensee's key file.
//! - [`ledger`]: reading what the node holds: `status`, `roster`, `logs`,
//!   `log`, `entry`, `evidence`, `checkpoints`, `lot show`, `cert show`.
//! - [`proof`]: `kp proof inclusion|consistency`, checked against a roster.
//! - [`bundle`]: `kp bundle cert|lot`, a trail and its proofs in one file.
//! - [`records`]: records a licensee signs (`--key`): `produce`,
//!   `transfer`, `export`, `lab`.
//! - [`licensee`], [`zone`], [`import`], [`attest`], [`governance`]:
//!   actions the node signs (`--cookie`), and `licensee show`, `zones`.
//! - [`trail`]: `kp trail lot|cert`.
//! - [`stats`]: `kp stats`, `kp mirror`, `kp report`, `kp anomalies`.
//! - [`verify`]: `kp verify`, offline: a bundle, or one Merkle proof file.

pub mod attest;
pub mod bundle;
pub mod governance;
pub mod import;
pub mod keygen;
pub mod ledger;
pub mod licensee;
pub mod proof;
pub mod records;
pub mod stats;
pub mod trail;
pub mod verify;
pub mod zone;

use clap::Args;
use kp_client::http::DEFAULT_NODE;
use kp_client::input::parse_key;
use kp_client::{Client, ClientError, read_cookie, render};
use kp_schemas::PublicKey;
use kp_schemas::model::{Body, SignedRoster};
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The options every command takes.
#[derive(Args)]
pub struct Global {
    /// The node's HTTP address.
    #[arg(long, env = "KP_NODE", default_value = DEFAULT_NODE, value_name = "URL")]
    #[arg(global = true, help_heading = "Global options")]
    pub node: String,
    /// Licensee key file that signs records (produce, transfer, export, lab).
    #[arg(long, env = "KP_KEY", value_name = "FILE", global = true, help_heading = "Global options")]
    pub key: Option<PathBuf>,
    /// The node's cookie file (<data dir>/.cookie), needed for actions.
    #[arg(long, env = "KP_COOKIE", value_name = "FILE", global = true, help_heading = "Global options")]
    pub cookie: Option<PathBuf>,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true, help_heading = "Global options")]
    pub json: bool,
}

/// Which of the node's keys signs an action.
#[derive(Args)]
pub struct ActAs {
    /// Participant code, monitor id or `chair`; may be left out when the node holds one fitting key.
    #[arg(long = "as", value_name = "WHO")]
    pub who: Option<String>,
}

impl Global {
    pub fn client(&self) -> Client {
        Client::new(self.node.clone())
    }

    /// A client that sends the node's cookie, for actions.
    pub fn action_client(&self) -> Result<Client, ClientError> {
        let path = self.cookie.as_ref().ok_or_else(|| {
            ClientError::input(
                "this command asks the node to sign with its own key: pass --cookie FILE \
                 (the node's <data dir>/.cookie) or set KP_COOKIE",
            )
        })?;
        Ok(self.client().with_cookie(read_cookie(path)?))
    }

    /// Print `value` as JSON with `--json`, else as `human` renders it.
    pub fn show<T: Serialize>(&self, value: &T, human: impl FnOnce(&T) -> String) {
        if self.json {
            print(&json(value));
        } else {
            print(&human(value));
        }
    }

    /// Ask the node to sign `body` with the key `who` names, and show
    /// what it was accepted as.
    pub fn action(&self, who: &ActAs, body: Body) -> Result<(), ClientError> {
        let submitted = self.action_client()?.action(who.who.as_deref(), body)?;
        self.show(&submitted, render::submitted_text);
        Ok(())
    }
}

/// Write to stdout, ignoring a closed pipe (`kp logs | head`).
pub fn print(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// Pretty JSON and a newline, as `--json` prints values.
pub fn json<T: Serialize>(value: &T) -> String {
    let mut s = serde_json::to_string_pretty(value).expect("API values always serialize");
    s.push('\n');
    s
}

/// A log named by key, or by its name in `kp logs` (`CF` for the CF authority).
pub fn resolve_log(client: &Client, author: &str) -> Result<PublicKey, ClientError> {
    if let Ok(key) = parse_key(author) {
        return Ok(key);
    }
    let heads = client.logs()?;
    let wanted = [author.to_string(), format!("{author} authority")];
    heads.iter().find(|h| wanted.contains(&h.name)).map(|h| h.author).ok_or_else(|| {
        let names: Vec<_> = heads.iter().map(|h| h.name.as_str()).collect();
        ClientError::input(format!("no log named `{author}`; logs here: {}", names.join(", ")))
    })
}

/// A local file's bytes; `what` names it in the error.
pub fn read_file(what: &str, path: &Path) -> Result<Vec<u8>, ClientError> {
    std::fs::read(path).map_err(|e| ClientError::input(format!("cannot read the {what} {}: {e}", path.display())))
}

/// A signed roster from a file, as a node keeps it or `kp roster --genesis`
/// prints it.
/// Whether it verifies is for the caller to judge.
pub fn read_roster(path: &Path) -> Result<SignedRoster, ClientError> {
    serde_json::from_slice(&read_file("roster", path)?)
        .map_err(|e| ClientError::input(format!("{} is not a signed roster: {e}", path.display())))
}
