//! Hashes and signatures, each with a domain prefix so that bytes signed or
//! hashed as one kind of object can never be taken for another (R1).

use crate::bytes::{Hash32, PublicKey, SignatureBytes};
use crate::codes;
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

/// What a signature or a hash is over. The prefix is part of the signed
/// message, never of the stored bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Domain {
    /// An entry of a log, signed by its author.
    Entry,
    /// A licensee's record, signed by the licensee.
    Record,
    /// The network roster, signed by the chair.
    Roster,
    /// A checkpoint of a log, signed by the log's writer.
    Checkpoint,
    /// A witness's cosignature of a signed checkpoint.
    Cosignature,
    /// An old key handing its log over to a new key (a planned rotation).
    KeyRotation,
    /// A roster version after the genesis: hashed, not signed (the
    /// governance entry that decides it is signed).
    RosterVersion,
}

impl Domain {
    fn prefix(self) -> &'static [u8] {
        match self {
            Domain::Entry => b"kpledger/v1/entry\0",
            Domain::Record => b"kpledger/v1/record\0",
            Domain::Roster => b"kpledger/v1/roster\0",
            Domain::Checkpoint => b"kpledger/v1/checkpoint\0",
            Domain::Cosignature => b"kpledger/v1/cosignature\0",
            Domain::KeyRotation => b"kpledger/v1/key-rotation\0",
            Domain::RosterVersion => b"kpledger/v1/roster-version\0",
        }
    }
}

/// SHA-256 of the concatenation of `parts`, with no separator: every hash of
/// the ledger is one, behind its own prefix.
pub fn sha256(parts: &[&[u8]]) -> Hash32 {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    Hash32(h.finalize().into())
}

/// RFC 6962 leaf hash of an entry: `SHA-256(0x00 || entry bytes)`. It is also
/// the entry's id everywhere in the ledger, so Merkle proofs need no second
/// hash of the same bytes.
pub fn entry_hash(entry_bytes: &[u8]) -> Hash32 {
    sha256(&[&[0x00], entry_bytes])
}

/// RFC 6962 interior node hash: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash32, right: &Hash32) -> Hash32 {
    sha256(&[&[0x01], &left.0, &right.0])
}

/// Hash of a licensee record, for replay detection.
pub fn record_hash(record_bytes: &[u8]) -> Hash32 {
    sha256(&[Domain::Record.prefix(), record_bytes])
}

/// Id of a signed checkpoint: a hash of its wire bytes, signature included.
pub fn checkpoint_id(wire: &[u8]) -> Hash32 {
    sha256(&[Domain::Checkpoint.prefix(), wire])
}

/// Hash of signed roster bytes, the network's genesis fact.
pub fn roster_hash(roster_bytes: &[u8]) -> Hash32 {
    sha256(&[Domain::Roster.prefix(), roster_bytes])
}

/// Hash of a roster version after the genesis: of its canonical bytes
/// (the encoded `NetworkState`) behind `kpledger/v1/roster-version\0`.
pub fn roster_version_hash(version_bytes: &[u8]) -> Hash32 {
    sha256(&[Domain::RosterVersion.prefix(), version_bytes])
}

/// Why a key or a signature is refused (R1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The 32 bytes are not a valid compressed Ed25519 point.
    #[error("public key is not a valid Ed25519 point")]
    InvalidKey,
    /// The key is a point of small order: any message would verify under
    /// some signature, so it may not be given a role or a licence.
    #[error("public key is of small order (weak)")]
    WeakKey,
    /// The signature does not verify strictly over the prefixed message.
    #[error("signature does not verify")]
    BadSignature,
}

impl SignatureError {
    /// The refusal code: `R1.invalid_key`, `R1.weak_key` or
    /// `R1.bad_signature`.
    pub fn code(&self) -> &'static str {
        match self {
            SignatureError::InvalidKey => codes::R1_INVALID_KEY,
            SignatureError::WeakKey => codes::R1_WEAK_KEY,
            SignatureError::BadSignature => codes::R1_BAD_SIGNATURE,
        }
    }
}

/// A verifying key parsed once, for hot paths that verify many signatures by
/// the same author.
pub fn parse_key(key: &PublicKey) -> Result<VerifyingKey, SignatureError> {
    VerifyingKey::from_bytes(&key.0).map_err(|_| SignatureError::InvalidKey)
}

/// Refuse keys that cannot be registered: not a point, or of small order.
pub fn check_key(key: &PublicKey) -> Result<(), SignatureError> {
    if parse_key(key)?.is_weak() {
        return Err(SignatureError::WeakKey);
    }
    Ok(())
}

/// Verify with dalek's `verify_strict`: canonical S, no small-order R or key.
/// Every node must accept exactly the same signatures, so this is the only
/// verification function the ledger uses.
pub fn verify(domain: Domain, key: &PublicKey, message: &[u8], sig: &SignatureBytes) -> Result<(), SignatureError> {
    let vk = parse_key(key)?;
    verify_with(&vk, domain, message, sig)
}

/// [`verify`] with a key [`parse_key`] parsed already: the same strict check.
pub fn verify_with(
    vk: &VerifyingKey,
    domain: Domain,
    message: &[u8],
    sig: &SignatureBytes,
) -> Result<(), SignatureError> {
    let sig = ed25519_dalek::Signature::from_bytes(&sig.0);
    let msg = [domain.prefix(), message].concat();
    vk.verify_strict(&msg, &sig).map_err(|_| SignatureError::BadSignature)
}

/// Verify a raw message with no domain prefix: for published test vectors.
pub fn verify_raw(key: &[u8; 32], message: &[u8], sig: &[u8; 64]) -> Result<(), SignatureError> {
    let vk = VerifyingKey::from_bytes(key).map_err(|_| SignatureError::InvalidKey)?;
    let sig = ed25519_dalek::Signature::from_bytes(sig);
    vk.verify_strict(message, &sig).map_err(|_| SignatureError::BadSignature)
}

/// A signing key with the public half at hand.
#[derive(Clone)]
pub struct Keypair {
    signing: SigningKey,
}

impl Keypair {
    /// The key of a 32-byte Ed25519 seed (RFC 8032's secret key), as key
    /// files hold it.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        Self { signing: SigningKey::from_bytes(&seed) }
    }

    /// The 32-byte seed: the secret to keep.
    pub fn seed(&self) -> [u8; 32] {
        self.signing.to_bytes()
    }

    /// The public key, which names the key's log and its roles.
    pub fn public(&self) -> PublicKey {
        PublicKey(self.signing.verifying_key().to_bytes())
    }

    /// Sign `message` behind `domain`'s prefix.
    pub fn sign(&self, domain: Domain, message: &[u8]) -> SignatureBytes {
        let msg = [domain.prefix(), message].concat();
        SignatureBytes(self.signing.sign(&msg).to_bytes())
    }
}

impl std::fmt::Debug for Keypair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Keypair({})", self.public())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_and_domain_separation() {
        let k = Keypair::from_seed([7; 32]);
        let sig = k.sign(Domain::Entry, b"hello");
        assert_eq!(verify(Domain::Entry, &k.public(), b"hello", &sig), Ok(()));
        assert_eq!(verify(Domain::Record, &k.public(), b"hello", &sig), Err(SignatureError::BadSignature));
        assert_eq!(verify(Domain::Entry, &k.public(), b"hellO", &sig), Err(SignatureError::BadSignature));
    }

    #[test]
    fn weak_and_invalid_keys_are_refused() {
        // The identity point (y = 1) has order 1.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(check_key(&PublicKey(identity)), Err(SignatureError::WeakKey));
        assert_eq!(check_key(&Keypair::from_seed([1; 32]).public()), Ok(()));
        // y = 2 is not on the curve.
        let mut off_curve = [0u8; 32];
        off_curve[0] = 2;
        assert_eq!(check_key(&PublicKey(off_curve)), Err(SignatureError::InvalidKey));
    }

    #[test]
    fn leaf_hash_matches_rfc6962() {
        // Empty leaf: SHA-256(0x00), from RFC 6962 test data.
        assert_eq!(entry_hash(b"").to_hex(), "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
    }
}
