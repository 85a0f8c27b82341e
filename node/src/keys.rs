//! The signing keys a node holds: one per log it writes (its authority; in a
//! development network also a monitor or the chair). Each log has one writer.

use crate::outcome::SubmitError;
use kp_schemas::model::Body;
use kp_schemas::state::{AuthorRole, NetworkState};
use kp_schemas::{Keypair, PublicKey};
use std::collections::HashMap;
use std::path::Path;

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
            ring.insert(kp_client::keyfile::load(&p)?);
        }
        Ok(ring)
    }

    pub fn insert(&mut self, k: Keypair) {
        self.keys.insert(k.public(), k);
    }

    pub fn all(&self) -> impl Iterator<Item = &Keypair> {
        self.keys.values()
    }

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
            (Some(AuthorRole::Monitor(_)), Body::ZoneStatus(_) | Body::Attestation(_)) => true,
            (Some(AuthorRole::Authority(_)), Body::ZoneStatus(_) | Body::Governance(_)) => false,
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
