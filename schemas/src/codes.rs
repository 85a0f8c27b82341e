//! Every code a refusal can carry, each defined once, and [`Refusal`] itself.
//!
//! A code is stable: clients, scripts and the metrics match on it, so it
//! never changes once released. It starts with the id of the rule that
//! refuses (`R1`..`R9`, see `docs/DESIGN.md` and the domain reference),
//! then a dot and a name. Each constant is named after its code: upper case,
//! the dot an underscore (`R5.overspend` is [`R5_OVERSPEND`]); the compiler
//! checks that.
//!
//! [`ALL`] lists the rule codes with their meaning, [`QUERY`] the codes of
//! answers that are not refusals: a query that finds nothing to answer with,
//! an HTTP request the node cannot take. The table of codes in
//! `docs/API.md` is generated from both, and `tests/catalogue.rs` checks
//! that every rule code is produced by a test and that no code is written
//! out anywhere else in the source.
//!
//! This module is a leaf: it uses nothing of the crate, so every module that
//! refuses (`entry`, `limits`, `rules`, `roster`, ...) depends on it and on
//! none of the others for that.

use serde::{Deserialize, Serialize};

/// Why an entry was refused. `code` is stable and starts with its rule id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Refusal {
    /// The stable code, one of this module's constants.
    pub code: String,
    /// What is wrong with this entry, for a person to read; not stable.
    pub message: String,
}

impl Refusal {
    /// A refusal with one of this module's codes.
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self { code: code.to_string(), message: message.into() }
    }

    /// The rule id, `R1`..`R9`.
    pub fn rule(&self) -> &str {
        self.code.split('.').next().unwrap_or(&self.code)
    }

    /// The entry may be accepted later, once what it names has arrived.
    pub fn is_missing_dependency(&self) -> bool {
        self.code == R3_MISSING_DEPENDENCY || self.code == R3_GAP
    }
}

/// The meaning of a rule code, if it is one of [`ALL`].
pub fn meaning(code: &str) -> Option<&'static str> {
    ALL.iter().find(|(c, _)| *c == code).map(|(_, m)| *m)
}

/// Defines each code as a constant documented by its one line, and the
/// list `$list` of `(code, that line)`. The compiler checks that each
/// constant is named after its code and, for the `rule` list, that
/// its line starts with the code's rule id (`R5: ...`).
macro_rules! catalogue {
    (
        $(#[doc = $list_doc:literal])*
        $kind:ident $list:ident;
        $(
            #[doc = $doc:literal]
            $name:ident = $code:literal;
        )*
    ) => {
        $(
            #[doc = $doc]
            pub const $name: &str = $code;
            const _: () = assert!(
                named_after(stringify!($name), $code),
                concat!(stringify!($name), " is not named after ", $code)
            );
            const _: () = assert!(
                catalogue!(@check $kind, $code, $doc),
                concat!("the line of ", $code, " must start with its rule id")
            );
        )*
        $(#[doc = $list_doc])*
        pub const $list: &[(&str, &str)] = &[$(($code, $doc.trim_ascii())),*];
    };
    (@check rule, $code:literal, $doc:literal) => { starts_with_rule($code, $doc) };
    (@check query, $code:literal, $doc:literal) => { true };
}

/// `name` is `code` in upper case with its dots as underscores.
const fn named_after(name: &str, code: &str) -> bool {
    let (n, c) = (name.as_bytes(), code.as_bytes());
    if n.len() != c.len() {
        return false;
    }
    let mut i = 0;
    while i < n.len() {
        let want = if c[i] == b'.' { b'_' } else { c[i].to_ascii_uppercase() };
        if n[i] != want {
            return false;
        }
        i += 1;
    }
    true
}

/// `doc`, once trimmed, starts with the rule id of `code` and a colon:
/// `R5: ...` for `R5.overspend`.
const fn starts_with_rule(code: &str, doc: &str) -> bool {
    let (c, d) = (code.as_bytes(), doc.trim_ascii().as_bytes());
    c.len() > 3
        && d.len() > 3
        && c[0] == b'R'
        && c[1].is_ascii_digit()
        && c[2] == b'.'
        && d[0] == c[0]
        && d[1] == c[1]
        && d[2] == b':'
}

catalogue! {
    /// Every code a [`Refusal`] carries, with its meaning: `(code, meaning)`,
    /// by rule, then by name.
    rule ALL;

    // R1: signatures.
    /// R1: a signature does not verify: the author's, the licensee's on a record, or the chair's on the roster.
    R1_BAD_SIGNATURE = "R1.bad_signature";
    /// R1: a public key is not a valid Ed25519 point.
    R1_INVALID_KEY = "R1.invalid_key";
    /// R1: the readable copy of a signed roster differs from its signed bytes.
    R1_ROSTER_MISMATCH = "R1.roster_mismatch";
    /// R1: a countersigned entry reached the rules without its licensee's signature having been checked.
    R1_UNVERIFIED_RECORD = "R1.unverified_record";
    /// R1: a public key is of small order (weak), so it cannot be given a role or a licence.
    R1_WEAK_KEY = "R1.weak_key";

    // R2: who may write what.
    /// R2: the author's participant is suspended from this position of its log.
    R2_AUTHOR_SUSPENDED = "R2.author_suspended";
    /// R2: a reinstatement names a log position before the start of the suspension it ends.
    R2_BAD_POSITION = "R2.bad_position";
    /// R2: the participant was admitted under conditions the chair has not lifted: its exports are refused.
    R2_CONDITIONAL_ADMISSION = "R2.conditional_admission";
    /// R2: a new authority, monitor or chair key already signs for a role of the network, or was replaced.
    R2_KEY_IN_USE = "R2.key_in_use";
    /// R2: the author's key was replaced (a rotation or a chair handover) in the network the entry's context names.
    R2_KEY_RETIRED = "R2.key_retired";
    /// R2: the key is already registered as a licensee by this participant.
    R2_LICENSEE_EXISTS = "R2.licensee_exists";
    /// R2: the licensee is revoked, or already revoked when the entry revokes it.
    R2_LICENSEE_REVOKED = "R2.licensee_revoked";
    /// R2: a suspension of a suspended participant, a reinstatement of one that is not suspended, or conditions lifted that are not there.
    R2_NO_CHANGE = "R2.no_change";
    /// R2: a participant's node is listed for another participant.
    R2_NODE_IN_USE = "R2.node_in_use";
    /// R2: the author's role may not write this kind of entry; or an action carries a licensee's record (`POST /v1/records` takes those).
    R2_NOT_ALLOWED = "R2.not_allowed";
    /// R2: a monitor declares a zone outside its scope, or an authority attests about another participant's lot.
    R2_OUT_OF_SCOPE = "R2.out_of_scope";
    /// R2: the participant the chair admits is a participant already.
    R2_PARTICIPANT_EXISTS = "R2.participant_exists";
    /// R2: the licensee has none of the roles its record needs.
    R2_ROLE = "R2.role";
    /// R2: the author's key has no role in the network the entry's context names.
    R2_UNKNOWN_AUTHOR = "R2.unknown_author";
    /// R2: a new lot's holder is not an active licensee of the participant that records it.
    R2_UNKNOWN_HOLDER = "R2.unknown_holder";
    /// R2: the key is not a licensee registered by this participant; for a record sent to a node, by any participant.
    R2_UNKNOWN_LICENSEE = "R2.unknown_licensee";
    /// R2: the participant a zone status or a governance entry names is not in the network.
    R2_UNKNOWN_PARTICIPANT = "R2.unknown_participant";
    /// R2: the entry, record or checkpoint is for another network.
    R2_WRONG_NETWORK = "R2.wrong_network";

    // R3: logs, their order and what an entry names.
    /// R3: the context names what the verdict does not read, or does not name what it relies on.
    R3_BAD_CONTEXT = "R3.bad_context";
    /// R3: the entry does not name the hash of its log's previous entry.
    R3_BAD_PREV = "R3.bad_prev";
    /// R3: the entry's position is 0: a log's positions start at 1.
    R3_BAD_SEQ = "R3.bad_seq";
    /// R3: this signed licensee record is in the participant's log already.
    R3_DUPLICATE_RECORD = "R3.duplicate_record";
    /// R3: a second, different entry at one position of a log: both are kept as evidence and the log is frozen.
    R3_EQUIVOCATION = "R3.equivocation";
    /// R3: a client's entry is stamped more than 10 minutes ahead of the node's clock.
    R3_FUTURE_TIMESTAMP = "R3.future_timestamp";
    /// R3: an earlier entry of the log is not here yet; the entry waits for it.
    R3_GAP = "R3.gap";
    /// R3: the entry is beyond the freeze point of its log, whose writer equivocated or signed a false checkpoint, or whose key a rotation replaced: kept as evidence only.
    R3_LOG_FROZEN = "R3.log_frozen";
    /// R3: an entry of another log that this one names is not here yet; the entry waits for it.
    R3_MISSING_DEPENDENCY = "R3.missing_dependency";
    /// R3: the timestamp is earlier than that of the log's previous entry.
    R3_TIMESTAMP_REGRESSED = "R3.timestamp_regressed";
    /// R3: a zone status does not name the zone's previous status in its monitor's log.
    R3_ZONE_CHAIN = "R3.zone_chain";

    // R4: lots and who holds them.
    /// R4: the lot id is taken in this participant already, or named twice by one entry.
    R4_LOT_EXISTS = "R4.lot_exists";
    /// R4: an input lot is not held by the licensee that spends it.
    R4_NOT_HOLDER = "R4.not_holder";
    /// R4: the lot named does not exist (also the answer, 404, for the trail or bundle of an unknown lot).
    R4_UNKNOWN_LOT = "R4.unknown_lot";

    // R5: mass balance.
    /// R5: an input lot has nothing left.
    R5_ALREADY_SPENT = "R5.already_spent";
    /// R5: one lot is named twice as an input.
    R5_DUPLICATE_INPUT = "R5.duplicate_input";
    /// R5: an input takes more weight than its lot has left.
    R5_OVERSPEND = "R5.overspend";
    /// R5: the outputs, or an export's HS lines, do not weigh exactly what the inputs took.
    R5_UNBALANCED = "R5.unbalanced";

    // R6: zones and compliance.
    /// R6: an export takes from a lot that is not compliant.
    R6_NON_COMPLIANT_LOT = "R6.non_compliant_lot";
    /// R6: a production relies on the status entry of another zone.
    R6_ZONE_MISMATCH = "R6.zone_mismatch";
    /// R6: a production under the zone regime names no zone.
    R6_ZONE_REQUIRED = "R6.zone_required";
    /// R6: an export takes weight mined in a zone suspended or revoked on or before its production.
    R6_ZONE_SUSPENDED = "R6.zone_suspended";

    // R7: certificates.
    /// R7: the certificate was confirmed already.
    R7_ALREADY_CONFIRMED = "R7.already_confirmed";
    /// R7: a certificate number is not `<exporter's code>-<digits>`.
    R7_BAD_CERTIFICATE_NUMBER = "R7.bad_certificate_number";
    /// R7: the certificate expires before it is issued.
    R7_BAD_EXPIRY = "R7.bad_expiry";
    /// R7: an import confirmation names another entry than the certificate's.
    R7_CERTIFICATE_ENTRY_MISMATCH = "R7.certificate_entry_mismatch";
    /// R7: the certificate number exists already.
    R7_DUPLICATE_CERTIFICATE = "R7.duplicate_certificate";
    /// R7: the certificate an attestation names does not exist (also the answer, 404, for its trail or bundle).
    R7_UNKNOWN_CERTIFICATE = "R7.unknown_certificate";
    /// R7: the importer is not another participant of the network.
    R7_UNKNOWN_IMPORTER = "R7.unknown_importer";
    /// R7: the participant confirming an import is not the certificate's importer.
    R7_WRONG_IMPORTER = "R7.wrong_importer";

    // R8: natural and synthetic.
    /// R8: the inputs mix natural and synthetic lots.
    R8_MIXED_NATURE = "R8.mixed_nature";
    /// R8: an export declares its stones under an HS code of the other nature.
    R8_NATURE_MISMATCH = "R8.nature_mismatch";
    /// R8: an export's HS code is not a code of rough diamonds.
    R8_UNKNOWN_HS_CODE = "R8.unknown_hs_code";

    // R9: bounds and form, checked before any other rule.
    /// R9: the entry's context is not in strictly ascending order.
    R9_BAD_CONTEXT = "R9.bad_context";
    /// R9: a date is not a real `YYYY-MM-DD` day.
    R9_BAD_DATE = "R9.bad_date";
    /// R9: an id uses characters other than ASCII letters, digits and `/ - _ . :`.
    R9_BAD_ID = "R9.bad_id";
    /// R9: an export's parcel count is 0 or over the limit.
    R9_BAD_PARCELS = "R9.bad_parcels";
    /// R9: a participant code is not two capital letters.
    R9_BAD_PARTICIPANT = "R9.bad_participant";
    /// R9: a suspension or reinstatement names log position 0.
    R9_BAD_POSITION = "R9.bad_position";
    /// R9: a text contains control characters.
    R9_BAD_TEXT = "R9.bad_text";
    /// R9: a roster lists a participant twice, or gives two members one key.
    R9_DUPLICATE_MEMBER = "R9.duplicate_member";
    /// R9: an id is empty, or a list has fewer items than it needs.
    R9_EMPTY = "R9.empty";
    /// R9: the bytes do not decode, are too short to hold a signature, or a checkpoint is of an empty log.
    R9_MALFORMED = "R9.malformed";
    /// R9: the bytes decode, but are not the canonical encoding of what they decode to.
    R9_NON_CANONICAL = "R9.non_canonical";
    /// R9: a weight is over the limit.
    R9_TOO_HEAVY = "R9.too_heavy";
    /// R9: an entry, a record, a checkpoint or a value is over its limit.
    R9_TOO_LARGE = "R9.too_large";
    /// R9: an id or a text is longer than its limit.
    R9_TOO_LONG = "R9.too_long";
    /// R9: a list or a count is over its limit.
    R9_TOO_MANY = "R9.too_many";
    /// R9: bytes are left over after the value.
    R9_TRAILING_BYTES = "R9.trailing_bytes";
    /// R9: a weight is zero.
    R9_ZERO_WEIGHT = "R9.zero_weight";
}

catalogue! {
    /// Codes of answers that are not refusals, with their meaning: a query
    /// that finds nothing to answer with, an HTTP request the node cannot
    /// take. A trail or a bundle of an unknown lot or certificate answers
    /// with the rule code ([`R4_UNKNOWN_LOT`], [`R7_UNKNOWN_CERTIFICATE`]).
    query QUERY;

    /// A trail longer than `trail::MAX_DEPTH` hops (422). Not a refusal: the code keeps the `R9` it was released with.
    R9_TOO_DEEP = "R9.too_deep";
    /// A request several of the node's keys could sign: it must name one with `as` (409).
    API_AMBIGUOUS_AUTHOR = "api.ambiguous_author";
    /// Malformed JSON, bad hex, a bad query parameter (400).
    API_BAD_REQUEST = "api.bad_request";
    /// The node signs nothing into this log until it holds the log's head as a peer reports it; retry once `GET /v1/status` lists it no longer under `catching_up` (503).
    API_CATCHING_UP = "api.catching_up";
    /// The client's name for an HTTP error whose body is not an `ApiError`.
    API_HTTP_ERROR = "api.http_error";
    /// The node failed in a way that is not the caller's (500).
    API_INTERNAL = "api.internal";
    /// No such entry, lot, certificate, licensee or route (404).
    API_NOT_FOUND = "api.not_found";
    /// A record or an action for a log this node does not write (409).
    API_NOT_WRITER = "api.not_writer";
    /// The node's store could not be read or written: no answer, never a partial one (500).
    API_STORAGE = "api.storage";
    /// A request body over the limit (413).
    API_TOO_LARGE = "api.too_large";
    /// An action without the node's cookie (401).
    API_UNAUTHORIZED = "api.unauthorized";
    /// The node is shutting down or its network loop has stopped (503).
    API_UNAVAILABLE = "api.unavailable";
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn each_code_is_listed_once_and_rule_codes_only_in_all() {
        let mut seen = BTreeSet::new();
        for (code, meaning) in ALL.iter().chain(QUERY) {
            assert!(seen.insert(*code), "{code} is listed twice");
            assert!(!meaning.is_empty() && !meaning.contains('\n'), "{code}: one line of meaning");
        }
        assert!(ALL.windows(2).all(|w| w[0].0 < w[1].0), "ALL is sorted by code");
        assert!(QUERY.windows(2).all(|w| w[0].0 < w[1].0), "QUERY is sorted by code");
        assert_eq!(meaning(R5_OVERSPEND), Some("R5: an input takes more weight than its lot has left."));
        assert_eq!(meaning(API_STORAGE), None, "a query code is not a rule code");
        assert_eq!(meaning(R9_TOO_DEEP), None, "a query code is not a rule code");
    }

    #[test]
    fn the_rule_and_missing_dependencies() {
        let r = Refusal::new(R3_GAP, "entry 3 of this log is missing here");
        assert_eq!((r.rule(), r.is_missing_dependency()), ("R3", true));
        assert!(Refusal::new(R3_MISSING_DEPENDENCY, "").is_missing_dependency());
        assert!(!Refusal::new(R3_BAD_PREV, "").is_missing_dependency());
    }
}
