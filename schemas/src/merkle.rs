//! RFC 6962 / RFC 9162 Merkle trees over the leaf hashes of a log.
//!
//! Leaves are already hashed ([`crate::crypto::entry_hash`] is the RFC 6962
//! leaf hash), so a log's entry ids are its leaves as they are. Verification
//! follows RFC 9162 sections 2.1.3.2 and 2.1.4.2 step by step, with the
//! stricter edge rules of transparency-dev/merkle (a consistency proof from an
//! empty tree is refused, proof lengths are checked before hashing): a monitor
//! and a node must agree on every verdict, so there is no room for leniency.

use crate::bytes::Hash32;
use crate::crypto::{node_hash, sha256};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MerkleError {
    #[error("leaf index {index} is not in a tree of size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("tree sizes {size1} and {size2} admit no consistency proof (need 0 < size1 <= size2)")]
    BadSizes { size1: u64, size2: u64 },
    #[error("proof has {got} hashes, expected {expected}")]
    WrongProofLength { expected: usize, got: usize },
    #[error("proof does not lead to the given root")]
    BadProof,
}

impl MerkleError {
    pub fn code(&self) -> &'static str {
        match self {
            MerkleError::IndexOutOfRange { .. } => "merkle.index_out_of_range",
            MerkleError::BadSizes { .. } => "merkle.bad_sizes",
            MerkleError::WrongProofLength { .. } => "merkle.wrong_proof_length",
            MerkleError::BadProof => "merkle.bad_proof",
        }
    }
}

/// Largest power of two strictly below `n` (n >= 2): the size of the left
/// subtree, which RFC 6962 fixes so that every tree has one shape.
fn split(n: usize) -> usize {
    debug_assert!(n >= 2);
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

/// Merkle Tree Hash of the leaves; the empty tree hashes to `SHA-256("")`.
pub fn root(leaves: &[Hash32]) -> Hash32 {
    match leaves.len() {
        0 => sha256(&[]),
        1 => leaves[0],
        n => {
            let k = split(n);
            node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

fn to_index(v: u64) -> usize {
    usize::try_from(v).expect("a tree held in memory has fewer than usize::MAX leaves")
}

/// Audit path of leaf `index` (RFC 6962 section 2.1.1), leaf-side first.
///
/// # Panics
/// When `index` is not a leaf of `leaves`: proofs are generated only for
/// entries the ledger holds, so that is a bug, not an input error.
pub fn inclusion_proof(leaves: &[Hash32], index: u64) -> Vec<Hash32> {
    let index = to_index(index);
    assert!(index < leaves.len(), "leaf {index} is not in a tree of size {}", leaves.len());
    let mut proof = Vec::new();
    path(index, leaves, &mut proof);
    proof
}

fn path(m: usize, leaves: &[Hash32], out: &mut Vec<Hash32>) {
    let n = leaves.len();
    if n <= 1 {
        return;
    }
    let k = split(n);
    if m < k {
        path(m, &leaves[..k], out);
        out.push(root(&leaves[k..]));
    } else {
        path(m - k, &leaves[k..], out);
        out.push(root(&leaves[..k]));
    }
}

/// Consistency proof from the tree of the first `size1` leaves to the tree of
/// the first `size2` (RFC 6962 section 2.1.2). Empty when `size1` is 0 or
/// equal to `size2`, since there is nothing a proof could show.
///
/// # Panics
/// When `size1 > size2` or `size2 > leaves.len()`.
pub fn consistency_proof(leaves: &[Hash32], size1: u64, size2: u64) -> Vec<Hash32> {
    let (m, n) = (to_index(size1), to_index(size2));
    assert!(m <= n && n <= leaves.len(), "no consistency proof from {m} to {n} over {} leaves", leaves.len());
    let mut proof = Vec::new();
    if 0 < m && m < n {
        subproof(m, &leaves[..n], true, &mut proof);
    }
    proof
}

fn subproof(m: usize, leaves: &[Hash32], whole: bool, out: &mut Vec<Hash32>) {
    let n = leaves.len();
    if m == n {
        // The verifier already holds the old root, so it is sent only for an
        // inner subtree the verifier cannot know.
        if !whole {
            out.push(root(leaves));
        }
        return;
    }
    let k = split(n);
    if m <= k {
        subproof(m, &leaves[..k], whole, out);
        out.push(root(&leaves[k..]));
    } else {
        subproof(m - k, &leaves[k..], false, out);
        out.push(root(&leaves[..k]));
    }
}

/// Applied to `a ^ b`, the height of the smallest subtree holding leaves `a`
/// and `b`, which is how many proof hashes lie inside that subtree.
fn bits_len(x: u64) -> usize {
    (u64::BITS - x.leading_zeros()) as usize
}

fn inclusion_len(index: u64, size: u64) -> usize {
    let inner = bits_len(index ^ (size - 1));
    inner + (index >> inner).count_ones() as usize
}

/// Verify that `leaf_hash` is leaf `index` of the tree of `size` leaves with
/// root `root` (RFC 9162 section 2.1.3.2).
pub fn verify_inclusion(
    leaf_hash: &Hash32,
    index: u64,
    size: u64,
    proof: &[Hash32],
    root: &Hash32,
) -> Result<(), MerkleError> {
    if index >= size {
        return Err(MerkleError::IndexOutOfRange { index, size });
    }
    let expected = inclusion_len(index, size);
    if proof.len() != expected {
        return Err(MerkleError::WrongProofLength { expected, got: proof.len() });
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf_hash;
    for p in proof {
        if sn == 0 {
            return Err(MerkleError::BadProof);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn == 0 && r == *root { Ok(()) } else { Err(MerkleError::BadProof) }
}

/// Verify that the tree of `size2` leaves with root `root2` extends the tree
/// of `size1` leaves with root `root1` (RFC 9162 section 2.1.4.2).
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    proof: &[Hash32],
    root1: &Hash32,
    root2: &Hash32,
) -> Result<(), MerkleError> {
    // Every tree extends the empty tree, so a proof from size 0 proves
    // nothing; refusing it keeps callers from mistaking it for a check.
    if size1 == 0 || size1 > size2 {
        return Err(MerkleError::BadSizes { size1, size2 });
    }
    if size1 == size2 {
        if !proof.is_empty() {
            return Err(MerkleError::WrongProofLength { expected: 0, got: proof.len() });
        }
        return if root1 == root2 { Ok(()) } else { Err(MerkleError::BadProof) };
    }
    let shift = size1.trailing_zeros() as usize;
    let whole = size1.is_power_of_two();
    let inner = bits_len((size1 - 1) ^ (size2 - 1)) - shift;
    let border = ((size1 - 1) >> bits_len((size1 - 1) ^ (size2 - 1))).count_ones() as usize;
    let expected = inner + border + usize::from(!whole);
    if proof.len() != expected {
        return Err(MerkleError::WrongProofLength { expected, got: proof.len() });
    }
    let mut path = Vec::with_capacity(proof.len() + 1);
    if whole {
        path.push(*root1);
    }
    path.extend_from_slice(proof);

    let (mut fn_, mut sn) = (size1 - 1, size2 - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (path[0], path[0]);
    for c in &path[1..] {
        if sn == 0 {
            return Err(MerkleError::BadProof);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if fr == *root1 && sr == *root2 && sn == 0 { Ok(()) } else { Err(MerkleError::BadProof) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::entry_hash;
    use proptest::prelude::*;

    fn leaves(n: usize) -> Vec<Hash32> {
        (0..n).map(|i| entry_hash(&(i as u64).to_be_bytes())).collect()
    }

    #[test]
    fn small_roots_follow_the_definition() {
        let l = leaves(3);
        assert_eq!(root(&[]).to_hex(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(root(&l[..1]), l[0]);
        assert_eq!(root(&l[..2]), node_hash(&l[0], &l[1]));
        assert_eq!(root(&l), node_hash(&node_hash(&l[0], &l[1]), &l[2]));
    }

    #[test]
    fn inclusion_in_a_tree_of_three() {
        let l = leaves(3);
        let r = root(&l);
        assert_eq!(inclusion_proof(&l, 2), vec![node_hash(&l[0], &l[1])]);
        assert_eq!(inclusion_proof(&l, 0), vec![l[1], l[2]]);
        for i in 0..3 {
            assert_eq!(verify_inclusion(&l[i as usize], i, 3, &inclusion_proof(&l, i), &r), Ok(()));
        }
        assert_eq!(verify_inclusion(&l[0], 3, 3, &[], &r), Err(MerkleError::IndexOutOfRange { index: 3, size: 3 }));
        assert_eq!(verify_inclusion(&l[2], 2, 3, &[], &r), Err(MerkleError::WrongProofLength { expected: 1, got: 0 }));
        assert_eq!(verify_inclusion(&l[1], 2, 3, &inclusion_proof(&l, 2), &r), Err(MerkleError::BadProof));
    }

    #[test]
    fn consistency_edge_rules() {
        let l = leaves(7);
        let (r3, r7) = (root(&l[..3]), root(&l));
        let p = consistency_proof(&l, 3, 7);
        assert_eq!(verify_consistency(3, 7, &p, &r3, &r7), Ok(()));
        assert_eq!(verify_consistency(0, 7, &[], &root(&[]), &r7), Err(MerkleError::BadSizes { size1: 0, size2: 7 }));
        assert_eq!(verify_consistency(7, 3, &p, &r7, &r3), Err(MerkleError::BadSizes { size1: 7, size2: 3 }));
        assert_eq!(verify_consistency(7, 7, &[], &r7, &r7), Ok(()));
        assert_eq!(verify_consistency(7, 7, &[], &r7, &r3), Err(MerkleError::BadProof));
        assert_eq!(verify_consistency(7, 7, &p, &r7, &r7), Err(MerkleError::WrongProofLength { expected: 0, got: 4 }));
        assert_eq!(
            verify_consistency(3, 7, &p[..1], &r3, &r7),
            Err(MerkleError::WrongProofLength { expected: 4, got: 1 })
        );
        assert_eq!(verify_consistency(3, 7, &p, &r7, &r3), Err(MerkleError::BadProof));
        // The old root of a power-of-two tree is left out of its proof.
        assert_eq!(consistency_proof(&l, 4, 7), vec![root(&l[4..7])]);
        assert_eq!(MerkleError::BadProof.code(), "merkle.bad_proof");
    }

    fn flip(h: &mut Hash32, bit: usize) {
        h.0[bit / 8] ^= 1 << (bit % 8);
    }

    proptest! {
        #[test]
        fn inclusion_proofs_verify_and_any_flipped_bit_breaks_them(
            size in 1u64..=64, index_seed: u64, bit_seed: usize,
        ) {
            let l = leaves(size as usize);
            let index = index_seed % size;
            let r = root(&l);
            let proof = inclusion_proof(&l, index);
            let leaf = l[index as usize];
            prop_assert_eq!(verify_inclusion(&leaf, index, size, &proof, &r), Ok(()));

            // One bit among the proof, the root and the leaf, in that order.
            let bit = bit_seed % (256 * (proof.len() + 2));
            let (mut proof, mut r, mut leaf) = (proof, r, leaf);
            match bit / 256 {
                i if i < proof.len() => flip(&mut proof[i], bit % 256),
                i if i == proof.len() => flip(&mut r, bit % 256),
                _ => flip(&mut leaf, bit % 256),
            }
            prop_assert!(verify_inclusion(&leaf, index, size, &proof, &r).is_err());
        }

        #[test]
        fn consistency_proofs_verify_and_any_flipped_bit_breaks_them(
            size2 in 1u64..=64, size1_seed: u64, bit_seed: usize,
        ) {
            let l = leaves(size2 as usize);
            let size1 = 1 + size1_seed % size2;
            let (r1, r2) = (root(&l[..size1 as usize]), root(&l));
            let proof = consistency_proof(&l, size1, size2);
            prop_assert_eq!(verify_consistency(size1, size2, &proof, &r1, &r2), Ok(()));

            let bit = bit_seed % (256 * (proof.len() + 2));
            let (mut proof, mut r1, mut r2) = (proof, r1, r2);
            match bit / 256 {
                i if i < proof.len() => flip(&mut proof[i], bit % 256),
                i if i == proof.len() => flip(&mut r1, bit % 256),
                _ => flip(&mut r2, bit % 256),
            }
            prop_assert!(verify_consistency(size1, size2, &proof, &r1, &r2).is_err());
        }
    }
}
