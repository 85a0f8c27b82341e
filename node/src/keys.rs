//! The signing keys a node holds: one per log it writes (its authority; in a
//! development network also a monitor or the chair). Each log has one writer.

use crate::outcome::SubmitError;
use kp_schemas::model::Body;
use kp_schemas::state::{AuthorRole, NetworkState};
use kp_schemas::{Keypair, PublicKey};
use std::collections::HashMap;
use std::path::Path;

/// Read a key file, in the format of `kp_schemas::keyfile`.
pub fn load_file(path: &Path) -> anyhow::Result<Keypair> {
    let text =
        std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("cannot read key file {}: {e}", path.display()))?;
    kp_schemas::keyfile::parse(&text).map_err(|e| anyhow::anyhow!("key file {}: {e}", path.display()))
}

/// Make a new random key and write it to a new file at `path`, readable by
/// its owner only. Anything already there, even a dangling symbolic link, is
/// left alone and the call fails: a key file is never overwritten.
pub fn generate_file(path: &Path) -> anyhow::Result<Keypair> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("no randomness from the operating system: {e}"))?;
    let key = Keypair::from_seed(seed);
    seed.fill(0);
    let shown = path.display();
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            anyhow::anyhow!("key file {shown}: already exists; key files are never overwritten")
        } else {
            anyhow::anyhow!("cannot write key file {shown}: {e}")
        }
    })?;
    let written = file.write_all(kp_schemas::keyfile::to_text(&key).as_bytes()).and_then(|()| file.sync_all());
    if let Err(e) = written {
        // A half-written key file would fail to load at the next start.
        drop(file);
        let _ = std::fs::remove_file(path);
        anyhow::bail!("cannot write key file {shown}: {e}");
    }
    Ok(key)
}

/// The authority, monitor and chair keys a node holds, by public key: the
/// logs it may write, and the witnesses it cosigns as.
#[derive(Default, Clone)]
pub struct Keyring {
    keys: HashMap<PublicKey, Keypair>,
}

impl Keyring {
    /// Every `*.json` key file in `dir`.
    pub fn load_dir(dir: &Path) -> anyhow::Result<Self> {
        let mut ring = Self::default();
        if !dir.exists() {
            return Ok(ring);
        }
        let mut paths: Vec<_> = std::fs::read_dir(dir)?.flatten().map(|e| e.path()).collect();
        paths.sort();
        for p in paths.into_iter().filter(|p| p.extension().is_some_and(|x| x == "json")) {
            ring.insert(load_file(&p)?);
        }
        Ok(ring)
    }

    /// Hold one more key; the same key twice is held once.
    pub fn insert(&mut self, k: Keypair) {
        self.keys.insert(k.public(), k);
    }

    /// Every key held, in no particular order.
    pub fn all(&self) -> impl Iterator<Item = &Keypair> {
        self.keys.values()
    }

    /// The key pair of a public key, if this node holds it.
    pub fn get(&self, key: &PublicKey) -> Option<&Keypair> {
        self.keys.get(key)
    }

    /// Names of the logs this node writes.
    pub fn writes(&self, net: &NetworkState) -> Vec<String> {
        let mut v: Vec<String> =
            self.keys.keys().filter(|k| net.role_of(k).is_some()).map(|k| net.author_name(k)).collect();
        v.sort();
        v
    }

    /// The key to sign `body` with: the one named by `as_author` (participant
    /// code, monitor id or `chair`), else the only held key that may write it.
    pub fn resolve(&self, net: &NetworkState, as_author: Option<&str>, body: &Body) -> Result<&Keypair, SubmitError> {
        let fits = |k: &PublicKey| match (net.role_of(k), body) {
            (Some(AuthorRole::Chair), Body::Governance(_)) => true,
            (Some(AuthorRole::Monitor(_)), Body::ZoneStatus(_) | Body::ZoneEstimate(_) | Body::Attestation(_)) => true,
            (Some(AuthorRole::Authority(_)), Body::ZoneStatus(_) | Body::ZoneEstimate(_) | Body::Governance(_)) => {
                false
            }
            (Some(AuthorRole::Authority(_)), _) => true,
            _ => false,
        };
        let named = |k: &PublicKey, name: &str| match net.role_of(k) {
            Some(AuthorRole::Chair) => name == "chair",
            Some(AuthorRole::Monitor(m)) => m.id == name,
            Some(AuthorRole::Authority(p)) => p.participant.code == name,
            None => false,
        };
        let candidates: Vec<&Keypair> = match as_author {
            Some(name) => self.keys.values().filter(|k| named(&k.public(), name)).collect(),
            None => self.keys.values().filter(|k| fits(&k.public())).collect(),
        };
        match (candidates.as_slice(), as_author) {
            ([k], _) => Ok(k),
            ([], Some(name)) => Err(SubmitError::NotWriter(format!("this node does not hold the key of `{name}`"))),
            ([], None) => {
                Err(SubmitError::NotWriter(format!("this node holds no key that may write a {} entry", body.kind())))
            }
            (_, _) => Err(SubmitError::AmbiguousAuthor(format!(
                "this node holds several keys that may write a {} entry: name one with `as`",
                body.kind()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn key_files_are_private_never_overwritten_and_load_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("authority-CF.json");
        let key = generate_file(&path).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), kp_schemas::keyfile::to_text(&key));
        assert_eq!(load_file(&path).unwrap().seed(), key.seed());
        let err = generate_file(&path).unwrap_err().to_string();
        assert!(err.contains("already exists"), "{err}");
        assert_eq!(load_file(&path).unwrap().public(), key.public());

        std::fs::write(dir.path().join("bad.json"), "{}").unwrap();
        let err = load_file(&dir.path().join("bad.json")).unwrap_err().to_string();
        assert!(err.contains("bad.json") && err.contains("not a key file"), "{err}");
    }
}
