//! kpledger's client library and the home of the `kp` command-line tool.
//!
//! - [`keyfile`]: Ed25519 key files, shared with the node.
//! - [`Client`]: a blocking client for every route of the node's HTTP API.
//! - [`input`]: exact parsing of carats, US dollars and the `LOT=CARATS`
//!   style arguments of the CLI.
//! - [`verifiable`]: checkpoints and Merkle proofs as a node serves them,
//!   checked against a roster the client holds.
//! - [`proof_file`]: one Merkle proof in the JSON format of
//!   transparency-dev's test data, checked offline (`kp verify inclusion`).
//! - [`render`]: what `kp` prints, one module per kind of output: trails
//!   (text, JSON, Graphviz), entries, state, proofs, evidence, verdicts.
//!
//! The `kp` binary itself is `src/main.rs` (the command line, dispatch and
//! exit codes) and `src/cmd/`, one module per group of commands.
//!
//! Every failure is a [`ClientError`], whose [`ClientError::exit_code`] is
//! the exit status of `kp`:
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | refused by a ledger rule (the node's error names a rule R1-R9), or an answer of the node the client checked and found not to hold ([`ClientError::Invalid`]) |
//! | 2 | bad input or usage: a malformed argument, an unreadable key or cookie file, a 400 without a rule, a missing or wrong cookie |
//! | 3 | the node is unreachable, unavailable, or answered with an internal error or something that is not the API |
//! | 4 | not found (404): no such entry, lot, certificate, licensee or route |

#![deny(missing_docs)]

pub mod http;
pub mod input;
pub mod keyfile;
pub mod proof_file;
pub mod render;
pub mod verifiable;

pub use http::{Client, read_cookie};
pub use keyfile::KeyFileError;

use kp_schemas::api::ApiError;

/// Exit statuses of `kp`, one per class of [`ClientError`].
pub mod exit {
    /// Success; for `kp verify`, the bundle or proof holds.
    pub const OK: i32 = 0;
    /// Refused by a ledger rule R1-R9, or a served proof, a bundle or a
    /// proof file that does not hold.
    pub const REFUSED: i32 = 1;
    /// Bad input or usage: an argument, a key, cookie or roster file, a
    /// 4xx answer without a rule.
    pub const BAD_INPUT: i32 = 2;
    /// The node is unreachable, unavailable or failing (5xx), or answered
    /// something that is not the API.
    pub const UNREACHABLE: i32 = 3;
    /// Not found (404): no such entry, lot, certificate, licensee or route.
    pub const NOT_FOUND: i32 = 4;
}

/// Everything that can go wrong between a command line and the node's answer.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The node answered with an error status and an [`ApiError`] body (or a
    /// body that is not one, turned into one so callers see a single shape).
    #[error("{}: {}", error.code, error.message)]
    Api {
        /// The HTTP status.
        status: u16,
        /// The node's error: its code, rule and message.
        error: ApiError,
    },
    /// No HTTP answer at all: connection refused, DNS, timeout, TLS.
    #[error("node unreachable: {0}")]
    Unreachable(String),
    /// An answer that is not what the API promises for that route.
    #[error("bad response from the node: {0}")]
    BadResponse(String),
    /// A local input the client refused before talking to the node.
    #[error("{0}")]
    Input(String),
    /// Something the client checked itself and found not to hold: a proof
    /// the node served that does not verify (`proof.*`, `merkle.*`). The
    /// answer to "is it in the log" is then no, as for a refusal.
    #[error("{code}: {message}")]
    Invalid {
        /// The stable code of what does not hold (`proof.quorum`, ...).
        code: String,
        /// What does not hold, naming the log, the size, the witness.
        message: String,
    },
    /// A key file that cannot be read, written or trusted (`--key`,
    /// `kp keygen`).
    #[error(transparent)]
    KeyFile(#[from] KeyFileError),
}

impl ClientError {
    /// The exit status for this error; see the table in the crate docs.
    pub fn exit_code(&self) -> i32 {
        match self {
            // Not-found first: a trail of an unknown lot may carry an R4 code
            // and is still a plain "no such thing" to the person asking.
            ClientError::Api { status: 404, .. } => exit::NOT_FOUND,
            ClientError::Api { error, .. } if error.rule.is_some() => exit::REFUSED,
            ClientError::Api { status, .. } if (400..500).contains(status) => exit::BAD_INPUT,
            ClientError::Api { .. } => exit::UNREACHABLE,
            ClientError::Invalid { .. } => exit::REFUSED,
            ClientError::Unreachable(_) | ClientError::BadResponse(_) => exit::UNREACHABLE,
            ClientError::Input(_) | ClientError::KeyFile(_) => exit::BAD_INPUT,
        }
    }

    /// A stable code for the error line `error: <code>: <message>`: the
    /// node's code for API errors, a `client.*` code for local ones.
    pub fn code(&self) -> &str {
        match self {
            ClientError::Api { error, .. } => &error.code,
            ClientError::Invalid { code, .. } => code,
            ClientError::Unreachable(_) => "client.unreachable",
            ClientError::BadResponse(_) => "client.bad_response",
            ClientError::Input(_) => "client.bad_input",
            ClientError::KeyFile(_) => "client.key_file",
        }
    }

    /// The message without the code, for the same error line.
    pub fn message(&self) -> String {
        match self {
            ClientError::Api { error, .. } => error.message.clone(),
            ClientError::Invalid { message, .. } => message.clone(),
            other => other.to_string(),
        }
    }

    /// The rule the node refused under, if any.
    pub fn rule(&self) -> Option<&str> {
        match self {
            ClientError::Api { error, .. } => error.rule.as_deref(),
            _ => None,
        }
    }

    /// A local input refused before any request ([`ClientError::Input`],
    /// exit 2).
    pub fn input(message: impl Into<String>) -> Self {
        ClientError::Input(message.into())
    }

    /// Something the client checked and found not to hold
    /// ([`ClientError::Invalid`], exit 1).
    pub fn invalid(code: impl Into<String>, message: impl Into<String>) -> Self {
        ClientError::Invalid { code: code.into(), message: message.into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kp_schemas::codes;

    fn api(status: u16, code: &str) -> ClientError {
        ClientError::Api { status, error: ApiError::new(code, "m") }
    }

    #[test]
    fn exit_codes_follow_the_documented_table() {
        assert_eq!(api(422, codes::R5_OVERSPEND).exit_code(), 1);
        assert_eq!(api(400, codes::R9_TOO_LONG).exit_code(), 1);
        assert_eq!(api(400, codes::API_BAD_REQUEST).exit_code(), 2);
        assert_eq!(api(401, codes::API_UNAUTHORIZED).exit_code(), 2);
        assert_eq!(api(413, codes::API_TOO_LARGE).exit_code(), 2);
        assert_eq!(api(404, codes::API_NOT_FOUND).exit_code(), 4);
        assert_eq!(api(404, codes::R4_UNKNOWN_LOT).exit_code(), 4);
        assert_eq!(api(503, codes::API_UNAVAILABLE).exit_code(), 3);
        assert_eq!(api(500, codes::API_INTERNAL).exit_code(), 3);
        assert_eq!(ClientError::Unreachable("x".into()).exit_code(), 3);
        assert_eq!(ClientError::BadResponse("x".into()).exit_code(), 3);
        assert_eq!(ClientError::input("x").exit_code(), 2);
    }

    #[test]
    fn error_line_parts() {
        let e = api(422, codes::R5_OVERSPEND);
        assert_eq!(e.code(), codes::R5_OVERSPEND);
        assert_eq!(e.message(), "m");
        assert_eq!(e.rule(), Some("R5"));
        assert_eq!(ClientError::input("bad").code(), "client.bad_input");
    }

    #[test]
    fn a_proof_that_does_not_hold_is_refused_under_its_own_code() {
        let e = ClientError::invalid("proof.quorum", "cosigned by one participant, the quorum is 3");
        assert_eq!(e.exit_code(), 1);
        assert_eq!(e.code(), "proof.quorum");
        assert_eq!(e.message(), "cosigned by one participant, the quorum is 3");
        assert_eq!(e.rule(), None);
    }
}
