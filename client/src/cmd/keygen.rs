//! `kp keygen`: a new licensee key file.

use super::{Global, json, print};
use kp_client::{ClientError, keyfile};
use kp_schemas::PublicKey;
use serde::Serialize;
use std::path::Path;

/// Create a key file at `out` (mode 0600, never overwritten) and print its
/// public key.
pub fn run(g: &Global, out: &Path) -> Result<(), ClientError> {
    let key = keyfile::generate(out)?;
    if g.json {
        #[derive(Serialize)]
        struct Generated<'a> {
            public: PublicKey,
            file: &'a Path,
        }
        print(&json(&Generated { public: key.public(), file: out }));
    } else {
        print(&format!("{}\n", key.public()));
    }
    Ok(())
}
