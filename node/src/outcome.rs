//! What the writer answers: a typed outcome for what it took (stored,
//! already held, kept as evidence), or a [`SubmitError`] for what it did not.
//! The error's [`SubmitError::code`] is the one code a failure goes by, in
//! the HTTP API's answer and in the metrics label alike.

use crate::store::StoreError;
use axum::http::StatusCode;
use kp_schemas::api::Submitted;
use kp_schemas::rules::{Equivocation, JudgeError, Withdrawn};
use kp_schemas::{Hash32, PublicKey, Refusal, codes};

/// A submission the writer took.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Accepted and stored in its log.
    Stored(Submitted),
    /// Already stored: nothing changed.
    Duplicate(Submitted),
    /// An entry signed by a log's writer at a position where another is
    /// stored: both are kept as evidence and the log is frozen. Not a
    /// refusal by a rule: the evidence is what a peer must hear of.
    Evidence {
        /// The writer, the position, and the ids of the entry held there and
        /// of this one.
        equivocation: Equivocation,
        /// The name of the log's writer.
        author_name: String,
        /// The pair was not held before. `false`: another conflicting pair
        /// at this position is already kept, and nothing changed.
        new: bool,
    },
    /// An entry of a frozen log beyond its freeze point: kept as evidence
    /// only (R3), so that entries of other logs that name it turn void
    /// here as everywhere. A submitter is answered `R3.log_frozen`.
    Withdrawn {
        /// The log, the position and the entry's id.
        withdrawn: Withdrawn,
        /// Not held before.
        new: bool,
    },
}

impl Outcome {
    /// The entry stored or already held; `None` for evidence.
    pub fn submitted(&self) -> Option<&Submitted> {
        match self {
            Outcome::Stored(s) | Outcome::Duplicate(s) => Some(s),
            Outcome::Evidence { .. } | Outcome::Withdrawn { .. } => None,
        }
    }

    /// The code a client that submitted evidence is answered, and the
    /// metrics count it by with the refusals: its entry is not in the log.
    pub const EVIDENCE_CODE: &'static str = codes::R3_EQUIVOCATION;

    /// What a client that submitted it is answered (docs/API.md): the entry,
    /// or, for an equivocation, the refusal `R3.equivocation`: its entry is
    /// not in the log.
    pub fn into_reply(self) -> Result<Submitted, SubmitError> {
        match self {
            Outcome::Stored(s) | Outcome::Duplicate(s) => Ok(s),
            Outcome::Evidence { equivocation: eq, author_name: name, new } => {
                let message = if new {
                    format!(
                        "{name} signed two different entries at position {}: both kept as evidence, the log is frozen",
                        eq.seq
                    )
                } else {
                    format!(
                        "{name} signed another entry at position {}, where a conflicting pair is already kept as \
                         evidence: the log is frozen",
                        eq.seq
                    )
                };
                Err(Refusal::new(Self::EVIDENCE_CODE, message).into())
            }
            Outcome::Withdrawn { withdrawn, .. } => Err(withdrawn.refusal().into()),
        }
    }
}

/// Fraud evidence against a log's writer, kept by the writer
/// ([`crate::ingest::WriterHandle::freeze`]): the log is frozen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frozen {
    /// The evidence's id.
    pub id: Hash32,
    /// Key of the convicted writer, whose log is frozen.
    pub log: PublicKey,
    /// The log's printable name: `CF authority`, a monitor id, `chair`.
    pub log_name: String,
    /// The evidence was not held before.
    pub new: bool,
}

/// Why the writer did not take a submission: a refusal by a rule, or the
/// node could not (its keys, its store, shutting down).
#[derive(Debug, Clone, thiserror::Error)]
pub enum SubmitError {
    /// Refused by a rule (R1-R9), with its stable code: the submission
    /// changed nothing.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// This node does not hold the key of the log the submission needs.
    #[error("{0}")]
    NotWriter(String),
    /// Several of this node's keys could sign the action: it must name one.
    /// A question back to the caller, not a refusal by a rule.
    #[error("{0}")]
    AmbiguousAuthor(String),
    /// A read or a write of the store failed (`api.storage`): no verdict,
    /// and nothing of the batch is acknowledged. The submission may be
    /// tried again.
    #[error("storage failure: {0}")]
    Storage(String),
    /// The writer thread has stopped (`api.unavailable`): the node is
    /// shutting down.
    #[error("the node is shutting down")]
    Unavailable,
    /// The log is one of this node's own that it does not write yet
    /// (`api.catching_up`): it has not yet heard from a peer how far the
    /// log goes, or does not hold that far. The submission may be tried
    /// again once it caught up.
    #[error("{0}")]
    CatchingUp(String),
}

impl SubmitError {
    /// The stable code: the rule code of a refusal, else an `api.*` code.
    /// The HTTP API answers it and the metrics count refusals by it.
    pub fn code(&self) -> &str {
        match self {
            SubmitError::Refused(r) => &r.code,
            SubmitError::NotWriter(_) => codes::API_NOT_WRITER,
            SubmitError::AmbiguousAuthor(_) => codes::API_AMBIGUOUS_AUTHOR,
            SubmitError::Storage(_) => codes::API_STORAGE,
            SubmitError::Unavailable => codes::API_UNAVAILABLE,
            SubmitError::CatchingUp(_) => codes::API_CATCHING_UP,
        }
    }

    /// The HTTP status the API answers it with.
    pub fn status(&self) -> StatusCode {
        match self {
            // Bounds and decoding are the caller's bad input; the other
            // rules are the ledger saying no.
            SubmitError::Refused(r) if r.rule() == "R9" => StatusCode::BAD_REQUEST,
            SubmitError::Refused(_) => StatusCode::UNPROCESSABLE_ENTITY,
            SubmitError::NotWriter(_) | SubmitError::AmbiguousAuthor(_) => StatusCode::CONFLICT,
            SubmitError::Storage(_) => StatusCode::INTERNAL_SERVER_ERROR,
            SubmitError::Unavailable | SubmitError::CatchingUp(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The message the API answers with its code.
    pub fn message(&self) -> String {
        match self {
            SubmitError::Refused(r) => r.message.clone(),
            SubmitError::NotWriter(m)
            | SubmitError::AmbiguousAuthor(m)
            | SubmitError::Storage(m)
            | SubmitError::CatchingUp(m) => m.clone(),
            SubmitError::Unavailable => self.to_string(),
        }
    }
}

impl From<StoreError> for SubmitError {
    fn from(e: StoreError) -> Self {
        SubmitError::Storage(e.to_string())
    }
}

/// A read that failed while judging is a storage error: no verdict, so
/// neither a refusal nor a wait for a missing dependency.
impl From<JudgeError<StoreError>> for SubmitError {
    fn from(e: JudgeError<StoreError>) -> Self {
        match e {
            JudgeError::Refused(r) => SubmitError::Refused(r),
            JudgeError::Read(e) => e.into(),
        }
    }
}
