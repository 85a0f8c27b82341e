//! kpledger's data model and pure logic: canonical encoding, hashes,
//! signatures, the acceptance rules R1-R9 and the trail. No I/O here, so all of
//! it is tested fast and can be fuzzed.

#![deny(missing_docs)]

pub mod api;
pub mod bundle;
pub mod bytes;
pub mod check;
pub mod checkpoint;
pub mod codes;
pub mod context;
pub mod crypto;
pub mod encoding;
pub mod entry;
#[cfg(any(test, feature = "fixtures"))]
pub mod fixtures;
pub mod json_schema;
pub mod keyfile;
pub mod limits;
pub mod memory;
pub mod merkle;
pub mod model;
pub mod reference;
pub mod roster;
pub mod rules;
pub mod state;
pub mod stats;
pub mod trail;
pub mod trail_svg;
pub mod view;
pub mod wire;
pub mod zone;

pub use bytes::{Hash32, PublicKey, SignatureBytes};
pub use codes::Refusal;
pub use crypto::Keypair;
pub use entry::{SignedEntry, SignedRecord, Verified};
pub use rules::Verdict;
