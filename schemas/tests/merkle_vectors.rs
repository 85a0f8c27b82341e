//! Published Merkle tree vectors through the ledger's own tree code.
//!
//! The files are copies kept in `tests/vectors/merkle/` (see the README there)
//! so the suite never depends on anything outside the repository. Every test
//! collects all disagreements before failing and asserts how many vectors it
//! checked, so a renamed field or an emptied directory fails instead of
//! passing vacuously.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use kp_schemas::Hash32;
use kp_schemas::crypto::{entry_hash, node_hash, sha256};
use kp_schemas::merkle::{MerkleError, consistency_proof, inclusion_proof, root, verify_consistency, verify_inclusion};
use serde::Deserialize;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/merkle")
}

fn json_files(root: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(root).unwrap_or_else(|e| panic!("{}: {e}", root.display()));
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            json_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "json") {
            out.push(path);
        }
    }
}

fn probes(kind: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    json_files(&dir().join("transparency-dev/testdata").join(kind), &mut files);
    files.sort();
    files
}

fn load<T: serde::de::DeserializeOwned>(path: &Path) -> T {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn b64(s: &str) -> Vec<u8> {
    STANDARD.decode(s).unwrap_or_else(|e| panic!("bad base64 `{s}`: {e}"))
}

/// A leaf hash or proof element of any other length than 32 bytes is a
/// malformed proof, which the vectors expect to be refused.
fn hash(s: &str) -> Option<Hash32> {
    b64(s).try_into().ok().map(Hash32)
}

/// Roots are opaque to the verifier when the sizes are equal: the vectors
/// then compare placeholders such as "don't care 2" byte for byte. A root of
/// another length is mapped into `Hash32` by hashing it with a tag, which keeps
/// equal placeholders equal and can never equal a real 32-byte root short of a
/// SHA-256 preimage.
fn root_hash(s: &str) -> Hash32 {
    let bytes = b64(s);
    match <[u8; 32]>::try_from(bytes.as_slice()) {
        Ok(h) => Hash32(h),
        Err(_) => sha256(&[b"not a 32-byte root\0", &bytes]),
    }
}

fn hashes(proof: &Option<Vec<String>>) -> Option<Vec<Hash32>> {
    proof.iter().flatten().map(|s| hash(s)).collect()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InclusionProbe {
    #[serde(rename = "leafIdx")]
    leaf_idx: u64,
    #[serde(rename = "treeSize")]
    tree_size: u64,
    root: String,
    #[serde(rename = "leafHash")]
    leaf_hash: String,
    proof: Option<Vec<String>>,
    desc: String,
    #[serde(rename = "wantErr")]
    want_err: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsistencyProbe {
    size1: u64,
    size2: u64,
    root1: String,
    root2: String,
    proof: Option<Vec<String>>,
    desc: String,
    #[serde(rename = "wantErr")]
    want_err: bool,
}

fn check_inclusion(p: &InclusionProbe) -> Result<(), String> {
    let leaf = hash(&p.leaf_hash).ok_or("leaf hash is not 32 bytes")?;
    let proof = hashes(&p.proof).ok_or("a proof hash is not 32 bytes")?;
    verify_inclusion(&leaf, p.leaf_idx, p.tree_size, &proof, &root_hash(&p.root)).map_err(|e| e.code().to_string())
}

fn check_consistency(p: &ConsistencyProbe) -> Result<(), String> {
    let proof = hashes(&p.proof).ok_or("a proof hash is not 32 bytes")?;
    verify_consistency(p.size1, p.size2, &proof, &root_hash(&p.root1), &root_hash(&p.root2))
        .map_err(|e| e.code().to_string())
}

#[test]
fn transparency_dev_probes() {
    let (inclusion, consistency) = (probes("inclusion"), probes("consistency"));
    assert_eq!(inclusion.len() + consistency.len(), 196, "the copied testdata holds 196 probes");
    let mut wrong = Vec::new();
    let mut accepted = 0;
    for path in &inclusion {
        let p: InclusionProbe = load(path);
        let verdict = check_inclusion(&p);
        accepted += usize::from(verdict.is_ok());
        if verdict.is_ok() == p.want_err {
            wrong.push(format!("{} ({}): wantErr {}, got {verdict:?}", path.display(), p.desc, p.want_err));
        }
    }
    for path in &consistency {
        let p: ConsistencyProbe = load(path);
        let verdict = check_consistency(&p);
        accepted += usize::from(verdict.is_ok());
        if verdict.is_ok() == p.want_err {
            wrong.push(format!("{} ({}): wantErr {}, got {verdict:?}", path.display(), p.desc, p.want_err));
        }
    }
    assert!(wrong.is_empty(), "{} of 196 probes disagree:\n{}", wrong.len(), wrong.join("\n"));
    assert_eq!(accepted, 12, "the testdata holds 12 valid probes");
}

fn hex32(v: &Value) -> Hash32 {
    Hash32::from_hex(v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))).unwrap()
}

fn hex_list(v: &Value) -> Vec<Hash32> {
    v.as_array().unwrap_or_else(|| panic!("not a list: {v}")).iter().map(hex32).collect()
}

fn size(v: &Value, name: &str) -> u64 {
    v[name].as_u64().unwrap_or_else(|| panic!("no `{name}`: {v}"))
}

fn ct() -> Value {
    load(&dir().join("ct_reference_vectors.json"))
}

fn ct_leaves(ct: &Value) -> Vec<Hash32> {
    let inputs = ct["leaf_inputs_hex"].as_array().expect("leaf_inputs_hex");
    assert_eq!(inputs.len(), 8);
    inputs.iter().map(|x| entry_hash(&hex::decode(x.as_str().unwrap()).unwrap())).collect()
}

#[test]
fn ct_hasher_known_answers() {
    let ct = ct();
    let mut n = 0;
    for v in ct["hasher"]["leaf"].as_array().expect("hasher.leaf") {
        let input = hex::decode(v["input_hex"].as_str().unwrap()).unwrap();
        assert_eq!(entry_hash(&input), hex32(&v["hash_hex"]), "{v}");
        n += 1;
    }
    // Some node answers hash children shorter than 32 bytes, which no tree of
    // the ledger holds; only the 32-byte ones reach `node_hash`.
    for v in ct["hasher"]["node"].as_array().expect("hasher.node") {
        let (left, right) = (&v["left_hex"], &v["right_hex"]);
        if left.as_str().unwrap().len() == 64 && right.as_str().unwrap().len() == 64 {
            assert_eq!(node_hash(&hex32(left), &hex32(right)), hex32(&v["hash_hex"]), "{v}");
            n += 1;
        }
    }
    assert!(n >= 5, "hasher tables lost their 32-byte entries: {n}");
    assert_eq!(root(&[]), hex32(&ct["empty_root_hex"]));
}

#[test]
fn ct_roots_for_sizes_1_to_8() {
    let ct = ct();
    let leaves = ct_leaves(&ct);
    let roots = ct["roots_by_size_hex"].as_object().expect("roots_by_size_hex");
    assert_eq!(roots.len(), 8);
    for (size, want) in roots {
        let size: usize = size.parse().unwrap();
        assert_eq!(root(&leaves[..size]), hex32(want), "root of size {size}");
    }
}

#[test]
fn ct_inclusion_paths() {
    let ct = ct();
    let leaves = ct_leaves(&ct);
    let table = ct["inclusion"].as_array().expect("inclusion");
    assert_eq!(table.len(), 5);
    for v in table {
        let (index, size) = (size(v, "leaf_index"), size(v, "tree_size"));
        let leaf = hex32(&v["leaf_hash_hex"]);
        let tree = &leaves[..size as usize];
        let path = hex_list(&v["path_hex"]);
        assert_eq!(leaf, leaves[index as usize], "{v}");
        assert_eq!(root(tree), hex32(&v["root_hex"]), "{v}");
        assert_eq!(inclusion_proof(tree, index), path, "{v}");
        assert_eq!(verify_inclusion(&leaf, index, size, &path, &hex32(&v["root_hex"])), Ok(()), "{v}");
    }
}

#[test]
fn ct_consistency_proofs() {
    let ct = ct();
    let leaves = ct_leaves(&ct);
    let mut table = ct["consistency"].as_array().expect("consistency").clone();
    table.extend(ct["consistency_extra_from_transparency_dev"].as_array().expect("extra").iter().cloned());
    assert_eq!(table.len(), 5);
    for v in &table {
        let (size1, size2) = (size(v, "size1"), size(v, "size2"));
        let (root1, root2) = (hex32(&v["root1_hex"]), hex32(&v["root2_hex"]));
        let proof = hex_list(&v["proof_hex"]);
        assert_eq!(root(&leaves[..size1 as usize]), root1, "{v}");
        assert_eq!(root(&leaves[..size2 as usize]), root2, "{v}");
        assert_eq!(consistency_proof(&leaves, size1, size2), proof, "{v}");
        assert_eq!(verify_consistency(size1, size2, &proof, &root1, &root2), Ok(()), "{v}");
    }
}

/// The original CT verifier accepted a consistency check from an empty tree;
/// the ledger follows transparency-dev and refuses it, as the vector file notes.
#[test]
fn ct_edge_semantics_that_the_ledger_tightens() {
    let ct = ct();
    assert_eq!(ct["ct_cpp_verifier_edge_semantics"]["VerifyConsistency(0,1,any,any,[])"], Value::Bool(true));
    let any = root(&[]);
    assert_eq!(verify_consistency(0, 1, &[], &any, &any), Err(MerkleError::BadSizes { size1: 0, size2: 1 }));
    assert_eq!(verify_consistency(0, 0, &[], &any, &any), Err(MerkleError::BadSizes { size1: 0, size2: 0 }));
    assert_eq!(verify_consistency(1, 1, &[], &any, &any), Ok(()));
    assert!(verify_consistency(1, 0, &[], &any, &any).is_err());
    assert!(verify_consistency(1, 2, &[], &any, &any).is_err());
}
