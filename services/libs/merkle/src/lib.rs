//! RFC 6962 / RFC 9162 Merkle tree math for Sigstead's transparency logs.
//!
//! Pure: no I/O, no async, no allocation beyond proof-sized vectors.
//!
//! The tree is never held in memory. A persistent log stores the hash of every
//! *perfect* subtree it has completed (a [`NodeId`]), and this crate answers two
//! questions about it:
//!
//! * **which stored nodes** a proof needs ([`inclusion_proof_shape`],
//!   [`consistency_proof_shape`]) — so the store can fetch them all in one
//!   batched read, O(log n) rows;
//! * **how to assemble** those nodes into the proof hashes ([`ProofShape::assemble`]).
//!
//! Appending goes through a [`CompactRange`] (the "frontier": the roots of the
//! perfect subtrees that make up the current tree, at most 64 hashes), which
//! emits every newly completed node so the caller can persist it.
//!
//! Why our own and not `tlog_tiles`: that crate's proof functions pull hashes
//! through a synchronous `HashReader` one request at a time, which inside an
//! async service means either blocking I/O on the runtime or a full in-memory
//! copy of the tree. Computing the node set first and fetching it in a single
//! query is the property the log engine is built around.

use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt;

/// A SHA-256 Merkle tree hash.
pub type Hash = [u8; 32];

/// Domain-separation prefix for leaf hashes (RFC 6962 §2.1).
const LEAF_PREFIX: u8 = 0x00;
/// Domain-separation prefix for interior node hashes (RFC 6962 §2.1).
const NODE_PREFIX: u8 = 0x01;

/// `SHA-256(0x00 || data)`: the RFC 6962 hash of a leaf.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([LEAF_PREFIX]);
    h.update(data);
    h.finalize().into()
}

/// `SHA-256(0x01 || left || right)`: the RFC 6962 hash of an interior node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([NODE_PREFIX]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root hash of the empty tree, `SHA-256("")`.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// Errors from proof construction and verification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("leaf index {index} is not below tree size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("first tree size {first} is larger than second tree size {second}")]
    SizesReversed { first: u64, second: u64 },
    #[error("proof has {got} hashes, expected {want}")]
    WrongProofLength { got: usize, want: usize },
    #[error("calculated root does not match the expected root")]
    RootMismatch,
    #[error("a consistency proof from the empty tree is meaningless")]
    FromEmptyTree,
    #[error("node {0} is missing from the node store")]
    MissingNode(NodeId),
}

/// Address of a perfect subtree: `level` 0 is a leaf; the node at `(level, index)`
/// covers leaves `[index << level, (index + 1) << level)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId {
    pub level: u8,
    pub index: u64,
}

impl NodeId {
    pub const fn new(level: u8, index: u64) -> Self {
        Self { level, index }
    }
    /// The first leaf index this node covers.
    pub fn begin(&self) -> u64 {
        self.index << self.level
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({}, {})", self.level, self.index)
    }
}

/// A range of leaves `[begin, end)` whose RFC 6962 hash `MTH(D[begin:end])`
/// appears as one element of a proof. It is either a perfect subtree or the
/// right edge of a tree, in which case it is the right fold of the perfect
/// subtrees its length decomposes into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subtree {
    pub begin: u64,
    pub end: u64,
}

impl Subtree {
    /// The perfect subtrees, left to right, whose right fold is this range's hash.
    ///
    /// Ranges produced by the RFC 6962 recursion always start at a multiple of
    /// a power of two that is at least their length, so each piece is aligned.
    pub fn perfect_nodes(&self) -> Vec<NodeId> {
        let mut out = Vec::new();
        let mut begin = self.begin;
        while begin < self.end {
            let len = self.end - begin;
            let level = highest_bit(len);
            debug_assert_eq!(begin % (1u64 << level), 0, "unaligned subtree");
            out.push(NodeId::new(level, begin >> level));
            begin += 1u64 << level;
        }
        out
    }

    /// The hash of this range, from the hashes of its perfect nodes.
    pub fn hash_with(&self, lookup: &impl Fn(NodeId) -> Option<Hash>) -> Result<Hash, ProofError> {
        let nodes = self.perfect_nodes();
        let mut iter = nodes.iter().rev();
        let last = iter.next().expect("a proof subtree is never empty");
        let mut acc = lookup(*last).ok_or(ProofError::MissingNode(*last))?;
        for id in iter {
            let h = lookup(*id).ok_or(ProofError::MissingNode(*id))?;
            acc = node_hash(&h, &acc);
        }
        Ok(acc)
    }
}

/// `floor(log2(n))` for `n > 0`, as a tree level.
fn highest_bit(n: u64) -> u8 {
    debug_assert!(n > 0);
    // 63 - leading_zeros is in 0..=63, which always fits a u8.
    u8::try_from(63 - n.leading_zeros()).expect("bit index fits in u8")
}

/// The largest power of two strictly smaller than `n` (`n >= 2`).
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << highest_bit(n - 1)
}

/// The ordered list of subtree hashes (leaf to root) that make up a proof.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProofShape {
    pub subtrees: Vec<Subtree>,
}

impl ProofShape {
    /// Every stored node needed to assemble this proof, deduplicated.
    pub fn required_nodes(&self) -> Vec<NodeId> {
        let mut ids: Vec<NodeId> = self.subtrees.iter().flat_map(Subtree::perfect_nodes).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// Builds the proof hashes from a node lookup.
    pub fn assemble(&self, lookup: &impl Fn(NodeId) -> Option<Hash>) -> Result<Vec<Hash>, ProofError> {
        self.subtrees.iter().map(|s| s.hash_with(lookup)).collect()
    }

    /// Convenience: assemble from a map of fetched nodes.
    pub fn assemble_from(&self, nodes: &HashMap<NodeId, Hash>) -> Result<Vec<Hash>, ProofError> {
        self.assemble(&|id| nodes.get(&id).copied())
    }
}

/// The shape of the RFC 6962 audit path `PATH(index, D[0:size])`, leaf to root.
pub fn inclusion_proof_shape(index: u64, size: u64) -> Result<ProofShape, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let mut out = Vec::new();
    let (mut begin, mut end) = (0u64, size);
    while end - begin > 1 {
        let k = split_point(end - begin);
        if index - begin < k {
            out.push(Subtree { begin: begin + k, end });
            end = begin + k;
        } else {
            out.push(Subtree { begin, end: begin + k });
            begin += k;
        }
    }
    out.reverse();
    Ok(ProofShape { subtrees: out })
}

/// The shape of the RFC 6962 consistency proof `PROOF(first, D[0:second])`, leaf to root.
/// Empty when `first == second` or `first == 0`.
pub fn consistency_proof_shape(first: u64, second: u64) -> Result<ProofShape, ProofError> {
    if first > second {
        return Err(ProofError::SizesReversed { first, second });
    }
    if first == 0 || first == second {
        return Ok(ProofShape::default());
    }
    let mut out = Vec::new();
    let (mut begin, mut end, mut complete) = (0u64, second, true);
    loop {
        let size = end - begin;
        let m = first - begin;
        if m == size {
            if !complete {
                out.push(Subtree { begin, end });
            }
            break;
        }
        let k = split_point(size);
        if m <= k {
            out.push(Subtree { begin: begin + k, end });
            end = begin + k;
        } else {
            out.push(Subtree { begin, end: begin + k });
            begin += k;
            complete = false;
        }
    }
    out.reverse();
    Ok(ProofShape { subtrees: out })
}

/// Expected length of an inclusion proof (for early rejection of malformed input).
fn inclusion_proof_len(index: u64, size: u64) -> usize {
    // inner = bits in which index and size-1 differ below their common prefix.
    let last = size - 1;
    let inner = usize::try_from(64 - (index ^ last).leading_zeros()).expect("fits");
    let border = usize::try_from((index >> inner).count_ones()).expect("fits");
    inner + border
}

/// Computes the root implied by an inclusion proof (RFC 9162 §2.1.3.2).
pub fn root_from_inclusion_proof(index: u64, size: u64, leaf: &Hash, proof: &[Hash]) -> Result<Hash, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let want = inclusion_proof_len(index, size);
    if proof.len() != want {
        return Err(ProofError::WrongProofLength { got: proof.len(), want });
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if snode == 0 {
            return Err(ProofError::WrongProofLength { got: proof.len(), want });
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(ProofError::WrongProofLength { got: proof.len(), want });
    }
    Ok(r)
}

/// Verifies an inclusion proof of `leaf` at `index` in the tree of `size` with `root`.
pub fn verify_inclusion(index: u64, size: u64, leaf: &Hash, proof: &[Hash], root: &Hash) -> Result<(), ProofError> {
    let got = root_from_inclusion_proof(index, size, leaf, proof)?;
    if &got == root {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

/// Verifies that the tree of `second` leaves with `second_root` extends the tree of
/// `first` leaves with `first_root` (RFC 9162 §2.1.4.2).
pub fn verify_consistency(
    first: u64,
    second: u64,
    proof: &[Hash],
    first_root: &Hash,
    second_root: &Hash,
) -> Result<(), ProofError> {
    if first > second {
        return Err(ProofError::SizesReversed { first, second });
    }
    if first == 0 {
        // Every tree extends the empty tree; a "proof" of that proves nothing,
        // and callers asking for one have a bug (transparency-dev/merkle agrees).
        return Err(ProofError::FromEmptyTree);
    }
    if first == second {
        if !proof.is_empty() {
            return Err(ProofError::WrongProofLength { got: proof.len(), want: 0 });
        }
        return if first_root == second_root { Ok(()) } else { Err(ProofError::RootMismatch) };
    }
    let want = consistency_proof_shape(first, second)?.subtrees.len();
    if proof.len() != want {
        return Err(ProofError::WrongProofLength { got: proof.len(), want });
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if first.is_power_of_two() {
        path.push(*first_root);
    }
    path.extend_from_slice(proof);
    let (mut fnode, mut snode) = (first - 1, second - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let mut fr = path[0];
    let mut sr = path[0];
    for c in &path[1..] {
        if snode == 0 {
            return Err(ProofError::WrongProofLength { got: proof.len(), want });
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(ProofError::WrongProofLength { got: proof.len(), want });
    }
    if &fr != first_root || &sr != second_root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// The right edge of a tree: the roots of the perfect subtrees that make up
/// `D[0:size]`, largest first. Appending through it yields every node that
/// becomes complete, which is exactly what a node store must persist.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct CompactRange {
    size: u64,
    /// (level, hash), strictly decreasing levels.
    peaks: Vec<(u8, Hash)>,
}

impl fmt::Debug for CompactRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompactRange").field("size", &self.size).field("peaks", &self.peaks.len()).finish()
    }
}

impl CompactRange {
    /// The empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Which stored nodes are needed to rebuild the compact range of a tree of `size`.
    pub fn required_nodes(size: u64) -> Vec<NodeId> {
        Subtree { begin: 0, end: size }.perfect_nodes()
    }

    /// Rebuilds the compact range of a tree of `size` from its peak nodes.
    pub fn from_nodes(size: u64, lookup: &impl Fn(NodeId) -> Option<Hash>) -> Result<Self, ProofError> {
        let mut peaks = Vec::new();
        for id in Self::required_nodes(size) {
            peaks.push((id.level, lookup(id).ok_or(ProofError::MissingNode(id))?));
        }
        Ok(Self { size, peaks })
    }

    /// The peaks with their node addresses, largest first.
    pub fn nodes(&self) -> Vec<(NodeId, Hash)> {
        Self::required_nodes(self.size).into_iter().zip(self.peaks.iter().map(|(_, h)| *h)).collect()
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends one leaf hash; calls `emit` for the leaf and every interior node it completes.
    pub fn append(&mut self, leaf: Hash, mut emit: impl FnMut(NodeId, Hash)) {
        let index = self.size;
        emit(NodeId::new(0, index), leaf);
        let mut level = 0u8;
        let mut hash = leaf;
        let mut idx = index;
        while let Some(&(peak_level, peak_hash)) = self.peaks.last() {
            if peak_level != level {
                break;
            }
            self.peaks.pop();
            hash = node_hash(&peak_hash, &hash);
            level += 1;
            idx >>= 1;
            emit(NodeId::new(level, idx), hash);
        }
        self.peaks.push((level, hash));
        self.size += 1;
    }

    /// The RFC 6962 root hash of the tree.
    pub fn root(&self) -> Hash {
        let mut iter = self.peaks.iter().rev();
        match iter.next() {
            None => empty_root(),
            Some(&(_, last)) => iter.fold(last, |acc, (_, h)| node_hash(h, &acc)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference MTH straight from RFC 6962 §2.1, recursive, for cross-checking.
    fn mth(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = split_point(u64::try_from(n).unwrap());
                let k = usize::try_from(k).unwrap();
                node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    fn build(n: u64) -> (CompactRange, HashMap<NodeId, Hash>, Vec<Hash>) {
        let mut cr = CompactRange::new();
        let mut nodes = HashMap::new();
        let mut leaves = Vec::new();
        for i in 0..n {
            let l = leaf_hash(&i.to_be_bytes());
            leaves.push(l);
            cr.append(l, |id, h| {
                nodes.insert(id, h);
            });
        }
        (cr, nodes, leaves)
    }

    #[test]
    fn compact_range_root_matches_reference_for_all_small_sizes() {
        for n in 0..70u64 {
            let (cr, nodes, leaves) = build(n);
            assert_eq!(cr.root(), mth(&leaves), "size {n}");
            let rebuilt = CompactRange::from_nodes(n, &|id| nodes.get(&id).copied()).unwrap();
            assert_eq!(rebuilt.root(), cr.root());
        }
    }

    #[test]
    fn generated_proofs_verify_and_tampering_fails() {
        let (_, nodes, leaves) = build(40);
        for size in 1..=40u64 {
            let root = mth(&leaves[..usize::try_from(size).unwrap()]);
            for index in 0..size {
                let shape = inclusion_proof_shape(index, size).unwrap();
                let proof = shape.assemble_from(&nodes).unwrap();
                let leaf = leaves[usize::try_from(index).unwrap()];
                verify_inclusion(index, size, &leaf, &proof, &root).unwrap();
                if let Some(first) = proof.first() {
                    let mut bad = proof.clone();
                    bad[0][0] ^= 1;
                    assert_ne!(bad[0], *first);
                    assert_eq!(verify_inclusion(index, size, &leaf, &bad, &root), Err(ProofError::RootMismatch));
                }
            }
            for first in 1..=size {
                let root1 = mth(&leaves[..usize::try_from(first).unwrap()]);
                let proof = consistency_proof_shape(first, size).unwrap().assemble_from(&nodes).unwrap();
                verify_consistency(first, size, &proof, &root1, &root).unwrap();
                if first < size {
                    let mut wrong = root1;
                    wrong[5] ^= 0x80;
                    assert!(verify_consistency(first, size, &proof, &wrong, &root).is_err());
                }
            }
        }
    }

    #[test]
    fn out_of_range_is_rejected() {
        assert_eq!(inclusion_proof_shape(5, 5), Err(ProofError::IndexOutOfRange { index: 5, size: 5 }));
        assert_eq!(consistency_proof_shape(6, 5), Err(ProofError::SizesReversed { first: 6, second: 5 }));
    }

    #[test]
    fn proof_needs_logarithmic_nodes() {
        let size = (1u64 << 40) + 12345;
        let shape = inclusion_proof_shape(77, size).unwrap();
        assert!(shape.required_nodes().len() <= 2 * 41, "{}", shape.required_nodes().len());
        let shape = consistency_proof_shape(1 << 39, size).unwrap();
        assert!(shape.required_nodes().len() <= 2 * 41);
    }
}
