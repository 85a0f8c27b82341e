//! Ed25519 key files on disk, for licensees (`kp --key`, `kp keygen`). The
//! format is `kp_schemas::keyfile`'s, the one nodes read too; this module
//! reads and writes the files. Files are created with mode 0600 and never
//! overwritten: losing a registered key means registering a new one, so
//! silently replacing a file is the worst thing a tool could do.

use kp_schemas::PublicKey;
use kp_schemas::crypto::Keypair;
use kp_schemas::keyfile::{FormatError, to_text};
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// What went wrong with a key file. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// A new key would replace a file: refused, whatever the file holds.
    #[error("key file {}: already exists; key files are never overwritten", path.display())]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// The file cannot be read or written.
    #[error("cannot {action} key file {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// `read` or `write`.
        action: &'static str,
        /// The operating system's error.
        source: io::Error,
    },
    /// Not a key file: not the JSON above, or a half that is not 64 hex
    /// digits.
    #[error("key file {}: not a key file: {reason}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The `public` half is not the key of the `secret` seed: the file was
    /// edited or mixed up, and is not trusted.
    #[error("key file {}: the public key {found} does not belong to the secret seed (expected {expected})", path.display())]
    Mismatch {
        /// The file.
        path: PathBuf,
        /// The `public` half as the file gives it.
        found: String,
        /// The public key of the seed.
        expected: PublicKey,
    },
    /// The operating system gave no random bytes for a new seed.
    #[error("no randomness from the operating system: {0}")]
    Random(String),
}

/// Create a new random key and write it to `path` (mode 0600, never
/// overwriting an existing file). The seed comes from the operating
/// system's generator.
pub fn generate(path: &Path) -> Result<Keypair, KeyFileError> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| KeyFileError::Random(e.to_string()))?;
    let key = Keypair::from_seed(seed);
    seed.fill(0);
    write(path, &key)?;
    Ok(key)
}

/// Write an existing key to a new file at `path` (mode 0600). Fails with
/// [`KeyFileError::Exists`] if anything is already there, including a
/// dangling symlink.
pub fn write(path: &Path, key: &Keypair) -> Result<(), KeyFileError> {
    let io_err = |source| KeyFileError::Io { path: path.to_path_buf(), action: "write", source };
    let mut file = OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(|e| {
        if e.kind() == io::ErrorKind::AlreadyExists {
            KeyFileError::Exists { path: path.to_path_buf() }
        } else {
            io_err(e)
        }
    })?;
    let text = to_text(key);
    let written = file.write_all(text.as_bytes()).and_then(|()| file.sync_all());
    if let Err(e) = written {
        // A half-written key file would later fail to load with a confusing
        // error and block the next attempt at the same path.
        drop(file);
        let _ = std::fs::remove_file(path);
        return Err(io_err(e));
    }
    Ok(())
}

/// Read a key file written by [`generate`] or [`write`](fn@write) (or by hand in the
/// same format). Unknown fields are ignored; the public key must match the
/// seed.
pub fn load(path: &Path) -> Result<Keypair, KeyFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| KeyFileError::Io {
        path: path.to_path_buf(),
        action: "read",
        source,
    })?;
    parse(path, &text)
}

/// The public key stored in a key file, checked against its seed.
pub fn load_public(path: &Path) -> Result<PublicKey, KeyFileError> {
    load(path).map(|k| k.public())
}

fn parse(path: &Path, text: &str) -> Result<Keypair, KeyFileError> {
    kp_schemas::keyfile::parse(text).map_err(|e| match e {
        FormatError::Invalid(reason) => KeyFileError::Invalid { path: path.to_path_buf(), reason },
        FormatError::Mismatch { found, expected } => {
            KeyFileError::Mismatch { path: path.to_path_buf(), found, expected }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn generate_load_round_trip_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.json");
        let key = generate(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let back = load(&path).unwrap();
        assert_eq!(back.public(), key.public());
        assert_eq!(back.seed(), key.seed());
        assert_eq!(load_public(&path).unwrap(), key.public());
    }

    #[test]
    fn never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.json");
        let first = generate(&path).unwrap();
        assert!(matches!(generate(&path), Err(KeyFileError::Exists { .. })));
        assert_eq!(load(&path).unwrap().public(), first.public());
    }

    #[test]
    fn clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.json");
        let err = load(&missing).unwrap_err();
        assert!(matches!(err, KeyFileError::Io { action: "read", .. }), "{err}");
        assert!(err.to_string().contains("missing.json"));

        let p = dir.path().join("x");
        assert!(matches!(parse(&p, "not json"), Err(KeyFileError::Invalid { .. })));
        let short = r#"{"public": "00", "secret": "abcd"}"#;
        assert!(parse(&p, short).unwrap_err().to_string().contains("64 hex digits"));

        let key = Keypair::from_seed([3; 32]);
        let other = Keypair::from_seed([4; 32]);
        let text = format!(r#"{{"public": "{}", "secret": "{}"}}"#, other.public(), hex::encode(key.seed()));
        assert!(matches!(parse(&p, &text), Err(KeyFileError::Mismatch { .. })));
        let good = format!(r#"{{"public": "{}", "secret": "{}", "name": "x"}}"#, key.public(), hex::encode(key.seed()));
        assert_eq!(parse(&p, &good).unwrap().public(), key.public());
    }

    #[test]
    fn missing_directory_is_an_io_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = generate(&dir.path().join("no/such/dir/k.json")).unwrap_err();
        assert!(matches!(err, KeyFileError::Io { action: "write", .. }), "{err}");
    }
}
