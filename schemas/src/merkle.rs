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

/// Why a proof cannot be made or does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MerkleError {
    /// An inclusion proof of a leaf at or beyond the tree's size.
    #[error("leaf index {index} is not in a tree of size {size}")]
    IndexOutOfRange {
        /// The leaf index asked for (`seq - 1`).
        index: u64,
        /// The tree's size.
        size: u64,
    },
    /// A consistency proof between sizes that admit none.
    #[error("tree sizes {size1} and {size2} admit no consistency proof (need 0 < size1 <= size2)")]
    BadSizes {
        /// The smaller tree's size.
        size1: u64,
        /// The larger tree's size.
        size2: u64,
    },
    /// A proof with another number of hashes than its sizes call for,
    /// refused before any hashing.
    #[error("proof has {got} hashes, expected {expected}")]
    WrongProofLength {
        /// The number the sizes call for.
        expected: usize,
        /// The number given.
        got: usize,
    },
    /// The proof's hashes do not lead to the root given.
    #[error("proof does not lead to the given root")]
    BadProof,
}

impl MerkleError {
    /// A stable code, `merkle.*`, as the API and `kp` name the error.
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

/// Where proofs read the tree from: the hashes of its perfect subtrees.
/// Subtree `(level, index)` covers leaves `index << level .. (index + 1) <<
/// level`. A stored log keeps every one of them, so a proof at any past size
/// is a handful of reads; a slice of leaves recomputes them.
pub trait Subtrees {
    /// A read that failed: a store that cannot be read, say.
    type Error;
    /// The hash of perfect subtree `(level, index)`, which must be complete
    /// in the tree read.
    fn perfect(&self, level: u8, index: u64) -> Result<Hash32, Self::Error>;
}

impl Subtrees for [Hash32] {
    type Error = std::convert::Infallible;
    fn perfect(&self, level: u8, index: u64) -> Result<Hash32, Self::Error> {
        let lo = to_index(index << level);
        Ok(root(&self[lo..lo + (1usize << level)]))
    }
}

/// Hash of leaves `lo..hi`, where `lo` is a multiple of the largest power of
/// two below `hi - lo`: the only ranges RFC 6962 proofs are made of.
fn range_root<S: Subtrees + ?Sized>(s: &S, lo: u64, hi: u64) -> Result<Hash32, S::Error> {
    let n = hi - lo;
    if n.is_power_of_two() {
        let level = n.trailing_zeros() as u8;
        return s.perfect(level, lo >> level);
    }
    let k = split_u64(n);
    Ok(node_hash(&range_root(s, lo, lo + k)?, &range_root(s, lo + k, hi)?))
}

fn split_u64(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (u64::BITS - 1 - (n - 1).leading_zeros())
}

/// Root of the tree of the first `size` leaves.
pub fn root_at<S: Subtrees + ?Sized>(s: &S, size: u64) -> Result<Hash32, S::Error> {
    if size == 0 { Ok(sha256(&[])) } else { range_root(s, 0, size) }
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
    assert!(index < leaves.len() as u64, "leaf {index} is not in a tree of size {}", leaves.len());
    let Ok(p) = inclusion_proof_at(leaves, index, leaves.len() as u64);
    p
}

/// Audit path of leaf `index` in the tree of the first `size` leaves.
/// The caller checks `index < size` and that the source holds `size` leaves.
pub fn inclusion_proof_at<S: Subtrees + ?Sized>(s: &S, index: u64, size: u64) -> Result<Vec<Hash32>, S::Error> {
    debug_assert!(index < size);
    let mut proof = Vec::new();
    path(s, index, 0, size, &mut proof)?;
    Ok(proof)
}

fn path<S: Subtrees + ?Sized>(s: &S, m: u64, lo: u64, hi: u64, out: &mut Vec<Hash32>) -> Result<(), S::Error> {
    let n = hi - lo;
    if n <= 1 {
        return Ok(());
    }
    let k = split_u64(n);
    if m < k {
        path(s, m, lo, lo + k, out)?;
        out.push(range_root(s, lo + k, hi)?);
    } else {
        path(s, m - k, lo + k, hi, out)?;
        out.push(range_root(s, lo, lo + k)?);
    }
    Ok(())
}

/// Consistency proof from the tree of the first `size1` leaves to the tree of
/// the first `size2` (RFC 6962 section 2.1.2). Empty when `size1` is 0 or
/// equal to `size2`, since there is nothing a proof could show.
///
/// # Panics
/// When `size1 > size2` or `size2 > leaves.len()`.
pub fn consistency_proof(leaves: &[Hash32], size1: u64, size2: u64) -> Vec<Hash32> {
    assert!(
        size1 <= size2 && size2 <= leaves.len() as u64,
        "no consistency proof from {size1} to {size2} over {} leaves",
        leaves.len()
    );
    let Ok(p) = consistency_proof_at(leaves, size1, size2);
    p
}

/// Consistency proof between two sizes of a tree. The caller checks
/// `size1 <= size2` and that the source holds `size2` leaves.
pub fn consistency_proof_at<S: Subtrees + ?Sized>(s: &S, size1: u64, size2: u64) -> Result<Vec<Hash32>, S::Error> {
    debug_assert!(size1 <= size2);
    let mut proof = Vec::new();
    if 0 < size1 && size1 < size2 {
        subproof(s, size1, 0, size2, true, &mut proof)?;
    }
    Ok(proof)
}

fn subproof<S: Subtrees + ?Sized>(
    s: &S,
    m: u64,
    lo: u64,
    hi: u64,
    whole: bool,
    out: &mut Vec<Hash32>,
) -> Result<(), S::Error> {
    let n = hi - lo;
    if m == n {
        // The verifier already holds the old root, so it is sent only for an
        // inner subtree the verifier cannot know.
        if !whole {
            out.push(range_root(s, lo, hi)?);
        }
        return Ok(());
    }
    let k = split_u64(n);
    if m <= k {
        subproof(s, m, lo, lo + k, whole, out)?;
        out.push(range_root(s, lo + k, hi)?);
    } else {
        subproof(s, m - k, lo + k, hi, false, out)?;
        out.push(range_root(s, lo, lo + k)?);
    }
    Ok(())
}

/// The right edge of a growing tree: the perfect subtrees that its size's
/// binary digits name, one per level. Appending a leaf completes new perfect
/// subtrees, which are all a store must write to serve any later proof.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    /// `nodes[level]` is set when bit `level` of `size` is.
    nodes: Vec<Option<Hash32>>,
}

impl Frontier {
    /// The frontier of a tree of `size` leaves, read from its subtrees.
    pub fn load<S: Subtrees + ?Sized>(s: &S, size: u64) -> Result<Self, S::Error> {
        let mut nodes = vec![None; (u64::BITS - size.leading_zeros()) as usize];
        for (level, slot) in nodes.iter_mut().enumerate() {
            if size >> level & 1 == 1 {
                *slot = Some(s.perfect(level as u8, (size >> level) - 1)?);
            }
        }
        Ok(Self { size, nodes })
    }

    /// Number of leaves pushed so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Append a leaf; returns the perfect subtrees it completes as
    /// `(level, index, hash)`, the leaf itself first.
    pub fn push(&mut self, leaf: Hash32) -> Vec<(u8, u64, Hash32)> {
        let n = self.size;
        let mut out = vec![(0, n, leaf)];
        let mut carry = leaf;
        let mut level = 0usize;
        while n >> level & 1 == 1 {
            let left = self.nodes[level].take().expect("a set bit has its subtree");
            carry = node_hash(&left, &carry);
            level += 1;
            out.push((level as u8, n >> level, carry));
        }
        if self.nodes.len() <= level {
            self.nodes.resize(level + 1, None);
        }
        self.nodes[level] = Some(carry);
        self.size += 1;
        out
    }

    /// Root of the tree so far.
    pub fn root(&self) -> Hash32 {
        let mut it = self.nodes.iter().flatten();
        let Some(first) = it.next() else { return sha256(&[]) };
        it.fold(*first, |acc, left| node_hash(left, &acc))
    }
}

/// Applied to `a ^ b`, the height of the smallest subtree holding leaves `a`
/// and `b`, which is how many proof hashes lie inside that subtree.
fn bits_len(x: u64) -> usize {
    (u64::BITS - x.leading_zeros()) as usize
}

fn inclusion_len(index: u64, size: u64) -> usize {
    let inner = bits_len(index ^ (size - 1));
    // `inner` is 64 for trees past 2^63 leaves, where `>>` would overflow.
    inner + index.checked_shr(inner as u32).unwrap_or(0).count_ones() as usize
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
    let border = (size1 - 1).checked_shr(bits_len((size1 - 1) ^ (size2 - 1)) as u32).unwrap_or(0).count_ones() as usize;
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

    #[test]
    fn frontier_completes_each_perfect_subtree_once_and_tracks_the_root() {
        let l = leaves(37);
        let mut f = Frontier::default();
        let mut stored = std::collections::HashMap::new();
        for (i, leaf) in l.iter().enumerate() {
            for (level, index, h) in f.push(*leaf) {
                let lo = (index << level) as usize;
                assert_eq!(h, root(&l[lo..lo + (1 << level)]), "subtree ({level}, {index})");
                assert!(stored.insert((level, index), h).is_none(), "subtree ({level}, {index}) written twice");
            }
            assert_eq!(f.root(), root(&l[..=i]));
        }
        // A tree of n leaves has 2n - 1 perfect subtrees at most.
        assert!(stored.len() < 2 * l.len());
        struct Map(std::collections::HashMap<(u8, u64), Hash32>);
        impl Subtrees for Map {
            type Error = ();
            fn perfect(&self, level: u8, index: u64) -> Result<Hash32, ()> {
                self.0.get(&(level, index)).copied().ok_or(())
            }
        }
        let map = Map(stored);
        for size in 1..=37u64 {
            assert_eq!(Frontier::load(&map, size).unwrap().root(), root(&l[..size as usize]));
            assert_eq!(root_at(&map, size).unwrap(), root(&l[..size as usize]));
            for index in 0..size {
                assert_eq!(inclusion_proof_at(&map, index, size).unwrap(), inclusion_proof(&l[..size as usize], index));
            }
            for size1 in 0..=size {
                assert_eq!(consistency_proof_at(&map, size1, size).unwrap(), consistency_proof(&l, size1, size));
            }
        }
        assert_eq!(Frontier::default().root(), root(&[]));
    }

    #[test]
    fn trees_past_2_63_leaves_are_refused_not_a_panic() {
        let h = Hash32([1; 32]);
        let size = (1u64 << 63) + 5;
        assert!(verify_inclusion(&h, 0, size, &[h; 3], &h).is_err());
        assert!(verify_inclusion(&h, size - 1, size, &[h; 64], &h).is_err());
        assert!(verify_consistency(1, size, &[h; 64], &h, &h).is_err());
        assert!(verify_consistency(size - 2, size, &[h; 3], &h, &h).is_err());
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
