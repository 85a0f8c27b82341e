//! One RFC 6962 Merkle proof in a file, in the JSON format of
//! transparency-dev/merkle's test data, so that its published probes are
//! checked as they are (`kp verify inclusion|consistency FILE`):
//!
//! - inclusion: `{"leafIdx", "treeSize", "root", "leafHash", "proof": [..]}`
//! - consistency: `{"size1", "size2", "root1", "root2", "proof": [..]}`
//!
//! Field names are camelCase, hashes base64, `proof` may be `null`. Fields
//! the probes carry beyond the proof (`desc`, `wantErr`) are ignored.
//!
//! A file that cannot be read, is not such JSON, or holds a field that is
//! not base64 is unreadable: a [`ClientError`] (exit 2). Anything else is
//! judged, and the [`Verdict`] says whether the proof holds (exit 0 or 1):
//! a hash of the wrong length is a well-formed file holding an invalid
//! proof (`merkle.malformed`), as the probes expect.

use crate::ClientError;
use kp_schemas::Hash32;
use kp_schemas::checkpoint::MAX_TREE_SIZE;
use kp_schemas::merkle::{MerkleError, verify_consistency, verify_inclusion};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Which proof a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofKind {
    /// A leaf's audit path to a root (`kp verify inclusion`).
    Inclusion,
    /// A proof that one tree extends another (`kp verify consistency`).
    Consistency,
}

impl ProofKind {
    /// `inclusion` or `consistency`, as verdicts name the kind.
    pub fn name(self) -> &'static str {
        match self {
            ProofKind::Inclusion => "inclusion",
            ProofKind::Consistency => "consistency",
        }
    }
}

/// The verdict on one proof file; `kp verify ... --json` prints it as it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// `inclusion` or `consistency` ([`ProofKind::name`]).
    pub kind: &'static str,
    /// Whether the proof holds: exit 0, else 1.
    pub valid: bool,
    /// Why the proof does not hold (`merkle.*`); none when it does.
    pub code: Option<&'static str>,
    /// What the proof proves, or what is wrong with it.
    pub message: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InclusionFile {
    leaf_idx: u64,
    tree_size: u64,
    root: String,
    leaf_hash: String,
    proof: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct ConsistencyFile {
    size1: u64,
    size2: u64,
    root1: String,
    root2: String,
    proof: Option<Vec<String>>,
}

/// Why a well-formed file's proof does not hold: a code and a message.
type Failure = (&'static str, String);

/// Read the proof file at `path` and judge the proof it holds.
pub fn verify_file(kind: ProofKind, path: &Path) -> Result<Verdict, ClientError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ClientError::input(format!("cannot read {}: {e}", path.display())))?;
    let not_a_proof = |e: serde_json::Error| ClientError::input(format!("{} is not a proof file: {e}", path.display()));
    let outcome = match kind {
        ProofKind::Inclusion => inclusion(&serde_json::from_str(&text).map_err(not_a_proof)?)?,
        ProofKind::Consistency => consistency(&serde_json::from_str(&text).map_err(not_a_proof)?)?,
    };
    let kind = kind.name();
    Ok(match outcome {
        Ok(message) => Verdict { kind, valid: true, code: None, message },
        Err((code, message)) => Verdict { kind, valid: false, code: Some(code), message },
    })
}

fn inclusion(f: &InclusionFile) -> Result<Result<String, Failure>, ClientError> {
    let (leaf, root, proof) =
        (hash_field("leafHash", &f.leaf_hash)?, hash_field("root", &f.root)?, proof_field(&f.proof)?);
    Ok((|| {
        let (leaf, root, proof) = (leaf.map_err(malformed)?, root.map_err(malformed)?, proof.map_err(malformed)?);
        check_sizes(&[f.tree_size])?;
        verify_inclusion(&leaf, f.leaf_idx, f.tree_size, &proof, &root).map_err(merkle_failure)?;
        Ok(format!("leaf {} is leaf {} of the tree of size {} with root {}", leaf, f.leaf_idx, f.tree_size, root))
    })())
}

fn consistency(f: &ConsistencyFile) -> Result<Result<String, Failure>, ClientError> {
    let (raw1, raw2, proof) = (base64("root1", &f.root1)?, base64("root2", &f.root2)?, proof_field(&f.proof)?);
    Ok((|| {
        let (root1, root2) = match (to_hash("root1", &raw1), to_hash("root2", &raw2)) {
            (Ok(a), Ok(b)) => (a, b),
            _ if f.size1 == f.size2 => placeholder_roots(&raw1, &raw2),
            (Err(why), _) | (_, Err(why)) => return Err(malformed(why)),
        };
        let proof = proof.map_err(malformed)?;
        check_sizes(&[f.size1, f.size2])?;
        verify_consistency(f.size1, f.size2, &proof, &root1, &root2).map_err(merkle_failure)?;
        // The roots as given: stand-ins for placeholders mean nothing to a reader.
        let (shown1, shown2) = (hex::encode(&raw1), hex::encode(&raw2));
        Ok(format!("the tree of size {} ({shown2}) extends the tree of size {} ({shown1})", f.size2, f.size1))
    })())
}

fn malformed(why: String) -> Failure {
    ("merkle.malformed", why)
}

fn merkle_failure(e: MerkleError) -> Failure {
    (e.code(), e.to_string())
}

fn base64(field: &str, value: &str) -> Result<Vec<u8>, ClientError> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(value)
        .map_err(|e| ClientError::input(format!("`{field}` is not base64: {e}")))
}

/// Decoding errors are bad input (exit 2); a hash of the wrong length is a
/// well-formed file holding an invalid proof (exit 1), as the published probes
/// expect.
fn hash_field(field: &str, value: &str) -> Result<Result<Hash32, String>, ClientError> {
    Ok(to_hash(field, &base64(field, value)?))
}

fn to_hash(field: &str, bytes: &[u8]) -> Result<Hash32, String> {
    <[u8; 32]>::try_from(bytes)
        .map(Hash32)
        .map_err(|_| format!("`{field}` is {} bytes, not a 32-byte SHA-256 hash", bytes.len()))
}

fn proof_field(proof: &Option<Vec<String>>) -> Result<Result<Vec<Hash32>, String>, ClientError> {
    let mut hashes = Vec::new();
    for (i, p) in proof.iter().flatten().enumerate() {
        match hash_field(&format!("proof[{i}]"), p)? {
            Ok(h) => hashes.push(h),
            Err(why) => return Ok(Err(why)),
        }
    }
    Ok(Ok(hashes))
}

/// Two roots of trees of one size, when either is not 32 bytes. Such a
/// proof is empty and claims only that the roots are one value; nothing is
/// hashed with them, so transparency-dev compares them byte for byte at any
/// length, and its probes use 12-byte "don't care" placeholders there. Two
/// stand-ins, equal exactly when the roots are, let `verify_consistency`
/// apply its own rules (size 0 refused, proof empty) to them.
fn placeholder_roots(root1: &[u8], root2: &[u8]) -> (Hash32, Hash32) {
    (Hash32::ZERO, if root1 == root2 { Hash32::ZERO } else { Hash32([1; 32]) })
}

/// `merkle::verify_inclusion` and `verify_consistency` overflow a shift
/// past 2^63 leaves; no log comes near that, so larger sizes are malformed.
fn check_sizes(sizes: &[u64]) -> Result<(), Failure> {
    match sizes.iter().find(|&&s| s > MAX_TREE_SIZE) {
        Some(s) => Err(("merkle.malformed", format!("tree size {s} is beyond 2^63 leaves"))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use kp_schemas::merkle::{consistency_proof, inclusion_proof, root};

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    fn judge(kind: ProofKind, json: &str) -> Result<Verdict, ClientError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("proof.json");
        std::fs::write(&path, json).unwrap();
        verify_file(kind, &path)
    }

    fn leaves() -> Vec<Hash32> {
        (0u8..7).map(|i| Hash32([i; 32])).collect()
    }

    #[test]
    fn inclusion_files_in_camel_case() {
        let l = leaves();
        let proof: Vec<String> = inclusion_proof(&l, 3).iter().map(|h| b64(&h.0)).collect();
        let file = |root: &Hash32| {
            serde_json::json!({
                "desc": "ignored", "leafIdx": 3, "treeSize": 7, "root": b64(&root.0),
                "leafHash": b64(&l[3].0), "proof": proof,
            })
            .to_string()
        };
        let v = judge(ProofKind::Inclusion, &file(&root(&l))).unwrap();
        assert_eq!((v.kind, v.valid, v.code), ("inclusion", true, None));
        assert!(v.message.starts_with(&format!("leaf {} is leaf 3 of the tree of size 7", l[3])), "{}", v.message);
        let v = judge(ProofKind::Inclusion, &file(&Hash32([9; 32]))).unwrap();
        assert_eq!((v.valid, v.code), (false, Some("merkle.bad_proof")));
    }

    #[test]
    fn placeholder_roots_of_one_size_compare_as_given() {
        let file = |root2: &[u8]| {
            serde_json::json!({"size1": 4, "size2": 4, "root1": b64(b"don't care!!"), "root2": b64(root2), "proof": null})
                .to_string()
        };
        let v = judge(ProofKind::Consistency, &file(b"don't care!!")).unwrap();
        assert!(v.valid, "{v:?}");
        assert_eq!(
            v.message,
            format!("the tree of size 4 ({0}) extends the tree of size 4 ({0})", hex::encode(b"don't care!!"))
        );
        let v = judge(ProofKind::Consistency, &file(b"other roots!")).unwrap();
        assert!(!v.valid, "{v:?}");
    }

    #[test]
    fn a_short_hash_is_invalid_and_bad_base64_unreadable() {
        let l = leaves();
        let proof: Vec<String> = consistency_proof(&l, 3, 7).iter().map(|h| b64(&h.0)).collect();
        let short = serde_json::json!({
            "size1": 3, "size2": 7, "root1": b64(&[1; 12]), "root2": b64(&root(&l).0), "proof": proof,
        });
        let v = judge(ProofKind::Consistency, &short.to_string()).unwrap();
        assert_eq!((v.valid, v.code), (false, Some("merkle.malformed")));
        assert!(v.message.contains("`root1` is 12 bytes"), "{}", v.message);

        let mut garbled = short.clone();
        garbled["root2"] = "not base64!".into();
        let e = judge(ProofKind::Consistency, &garbled.to_string()).unwrap_err();
        assert_eq!((e.exit_code(), e.code()), (2, "client.bad_input"));
        assert!(e.message().contains("`root2` is not base64"), "{}", e.message());
        // A consistency proof lacks an inclusion proof's fields.
        let e = judge(ProofKind::Inclusion, &short.to_string()).unwrap_err();
        assert!(e.message().contains("is not a proof file"), "{}", e.message());
    }

    #[test]
    fn sizes_past_2_63_are_malformed() {
        let file = serde_json::json!({
            "leafIdx": 0, "treeSize": u64::MAX, "root": b64(&[0; 32]), "leafHash": b64(&[0; 32]), "proof": [],
        });
        let v = judge(ProofKind::Inclusion, &file.to_string()).unwrap();
        assert_eq!((v.valid, v.code), (false, Some("merkle.malformed")));
    }
}
