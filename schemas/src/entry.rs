//! Signed entries and signed licensee records as they travel: the exact bytes
//! received, parsed once, hashed and verified over those bytes.

use crate::bytes::{Hash32, SignatureBytes};
use crate::codes::{self, Refusal};
use crate::crypto::{self, Domain, Keypair, SignatureError};
use crate::encoding::{self, DecodeError};
use crate::limits::{self, MAX_ENTRY_BYTES, MAX_RECORD_BYTES};
use crate::model::{Body, Countersigned, Entry, HexBytes, Record, RecordBody};

/// An entry with its wire bytes (`entry bytes || signature`) and hash.
#[derive(Debug, Clone)]
pub struct SignedEntry {
    bytes: Vec<u8>,
    entry: Entry,
    hash: Hash32,
    /// The licensee record of a countersigned entry, decoded once.
    record: Option<SignedRecord>,
}

/// Entries are equal when their wire bytes are: everything else derives from them.
impl PartialEq for SignedEntry {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

impl Eq for SignedEntry {}

impl SignedEntry {
    /// Parse untrusted wire bytes: size first (R9), then a strict decode and
    /// the field bounds (R9). The signature is not checked here; see
    /// [`SignedEntry::verify`].
    pub fn parse(bytes: Vec<u8>) -> Result<Self, Refusal> {
        let (entry, record) = Self::check(&bytes)?;
        let hash = crypto::entry_hash(&bytes);
        Ok(Self { bytes, entry, hash, record })
    }

    /// What [`SignedEntry::parse`] checks, with the entry and its licensee
    /// record as decoded: one function, so that what a node signs passes
    /// exactly the checks its peers apply.
    fn check(bytes: &[u8]) -> Result<(Entry, Option<SignedRecord>), Refusal> {
        if bytes.len() > MAX_ENTRY_BYTES {
            return Err(Refusal::new(
                codes::R9_TOO_LARGE,
                format!("entry is {} bytes, the limit is {MAX_ENTRY_BYTES}", bytes.len()),
            ));
        }
        if bytes.len() < SignatureBytes::LEN {
            return Err(Refusal::new(codes::R9_MALFORMED, "entry is shorter than a signature"));
        }
        let split = bytes.len() - SignatureBytes::LEN;
        let entry: Entry = encoding::decode(&bytes[..split]).map_err(decode_refusal)?;
        limits::check_entry(&entry)?;
        // A licensee's record is part of the entry: its bounds too come
        // before any signature is checked (R9).
        let record = match &entry.body {
            Body::Countersigned(c) => Some(SignedRecord::from_countersigned(c)?),
            _ => None,
        };
        Ok((entry, record))
    }

    /// Sign an entry with its author's key.
    pub fn sign(entry: Entry, key: &Keypair) -> Self {
        debug_assert_eq!(entry.author, key.public());
        let mut bytes = encoding::encode(&entry);
        let sig = key.sign(Domain::Entry, &bytes);
        bytes.extend_from_slice(&sig.0);
        let hash = crypto::entry_hash(&bytes);
        // The signer holds the record already; it is decoded again only if
        // this entry is verified (see `into_verified`).
        Self { bytes, entry, hash, record: None }
    }

    /// Sign an entry, then check the signed bytes as [`SignedEntry::parse`]
    /// checks them at every peer. A node signs into its own log only what
    /// its peers can take: an entry they refuse (R9) would stop the log at
    /// it on every other node, since nothing after it could follow (R3).
    /// The hash is the one signing computed: a function of the same bytes.
    pub fn sign_checked(entry: Entry, key: &Keypair) -> Result<Self, Refusal> {
        let signed = Self::sign(entry, key);
        let (_, record) = Self::check(&signed.bytes)?;
        Ok(Self { record, ..signed })
    }

    /// The wire bytes: canonical entry bytes, then the 64-byte signature.
    /// What is stored, gossiped and hashed.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The wire bytes, taken.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// The decoded entry.
    pub fn entry(&self) -> &Entry {
        &self.entry
    }

    /// The RFC 6962 leaf hash of the wire bytes: the entry's id.
    pub fn hash(&self) -> Hash32 {
        self.hash
    }

    /// The canonical entry bytes: the wire bytes less the signature, which
    /// the author signed behind the `kpledger/v1/entry\0` prefix.
    pub fn signed_part(&self) -> &[u8] {
        &self.bytes[..self.bytes.len() - SignatureBytes::LEN]
    }

    /// The author's signature: the last 64 wire bytes.
    pub fn signature(&self) -> SignatureBytes {
        let mut s = [0u8; 64];
        s.copy_from_slice(&self.bytes[self.bytes.len() - SignatureBytes::LEN..]);
        SignatureBytes(s)
    }

    /// R1: the author's signature, and for a countersigned record the
    /// licensee's signature too. Pure and stateless, so it runs in parallel
    /// ahead of the sequential rules.
    pub fn verify(&self) -> Result<Verified, Refusal> {
        self.clone().into_verified()
    }

    /// [`SignedEntry::verify`] without copying the entry.
    pub fn into_verified(mut self) -> Result<Verified, Refusal> {
        crypto::verify(Domain::Entry, &self.entry.author, self.signed_part(), &self.signature())
            .map_err(|e| sig_refusal(e, "author"))?;
        let record = match (&self.entry.body, self.record.take()) {
            (Body::Countersigned(_), Some(r)) => Some(r.verified()?),
            // Entries made by `sign` carry no decoded record.
            (Body::Countersigned(c), None) => Some(SignedRecord::from_countersigned(c)?.verified()?),
            _ => None,
        };
        Ok(Verified { entry: self, record })
    }

    /// As [`SignedEntry::into_verified`], without checking the signatures:
    /// only for entries whose signatures this node checked when it accepted
    /// them and has kept since, replayed from its own store.
    pub fn into_trusted(mut self) -> Result<Verified, Refusal> {
        let record = match (&self.entry.body, self.record.take()) {
            (Body::Countersigned(_), Some(r)) => Some(r.record().clone()),
            (Body::Countersigned(c), None) => Some(SignedRecord::from_countersigned(c)?.record().clone()),
            _ => None,
        };
        Ok(Verified { entry: self, record })
    }
}

/// An entry whose signatures were checked, with its licensee record decoded.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The entry, as received.
    pub entry: SignedEntry,
    /// The licensee record of a countersigned entry, decoded, its signature
    /// checked (or trusted, for [`SignedEntry::into_trusted`]); none for
    /// other bodies.
    pub record: Option<Record>,
}

/// A licensee's record with the bytes it signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedRecord {
    bytes: Vec<u8>,
    record: Record,
    signature: SignatureBytes,
}

impl SignedRecord {
    /// Parse untrusted record bytes: size, strict decode and the record's
    /// bounds (R9). The signature is kept and checked by
    /// [`SignedRecord::verify`].
    pub fn parse(bytes: Vec<u8>, signature: SignatureBytes) -> Result<Self, Refusal> {
        if bytes.len() > MAX_RECORD_BYTES {
            return Err(Refusal::new(
                codes::R9_TOO_LARGE,
                format!("record is {} bytes, the limit is {MAX_RECORD_BYTES}", bytes.len()),
            ));
        }
        let record: Record = encoding::decode(&bytes).map_err(decode_refusal)?;
        limits::check_record(&record)?;
        Ok(Self { bytes, record, signature })
    }

    /// The record a countersigned entry carries, parsed as
    /// [`SignedRecord::parse`] does.
    pub fn from_countersigned(c: &Countersigned) -> Result<Self, Refusal> {
        Self::parse(c.record.0.clone(), c.signature)
    }

    /// Sign a record with the licensee's key, which must be
    /// `record.licensee`.
    pub fn sign(record: Record, key: &Keypair) -> Self {
        let bytes = encoding::encode(&record);
        let signature = key.sign(Domain::Record, &bytes);
        Self { bytes, record, signature }
    }

    /// R1: the licensee's signature over `kpledger/v1/record\0 || bytes`.
    pub fn verify(&self) -> Result<(), Refusal> {
        crypto::verify(Domain::Record, &self.record.licensee, &self.bytes, &self.signature)
            .map_err(|e| sig_refusal(e, "licensee"))
    }

    fn verified(self) -> Result<Record, Refusal> {
        self.verify()?;
        Ok(self.record)
    }

    /// The decoded record.
    pub fn record(&self) -> &Record {
        &self.record
    }

    /// The record's canonical bytes, as the licensee signed them.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The licensee's signature.
    pub fn signature(&self) -> SignatureBytes {
        self.signature
    }

    /// The record's hash ([`crypto::record_hash`]): a participant's log
    /// takes a record once (`R3.duplicate_record`).
    pub fn hash(&self) -> Hash32 {
        crypto::record_hash(&self.bytes)
    }

    /// The body of the authority's entry that carries this record.
    pub fn to_countersigned(&self) -> Countersigned {
        Countersigned { record: HexBytes(self.bytes.clone()), signature: self.signature }
    }
}

/// Build and sign a record in one step.
pub fn sign_record(network: &str, key: &Keypair, nonce: u64, body: RecordBody) -> SignedRecord {
    SignedRecord::sign(Record { network: network.to_string(), licensee: key.public(), nonce, body }, key)
}

fn decode_refusal(e: DecodeError) -> Refusal {
    Refusal::new(e.code(), e.to_string())
}

fn sig_refusal(e: SignatureError, whose: &str) -> Refusal {
    Refusal::new(e.code(), format!("{whose} signature: {e}"))
}
