//! The monitor's decision, without I/O: given the last verified checkpoint
//! (if any) and a newly observed signed one, what must be proven, and whether
//! the log is honest. Every way a log can lie to its monitor is an [`Alert`]
//! variant, named as the transparency literature names it.

use sigstead_merkle::Hash;
use sigstead_note::Checkpoint;

/// A log misbehaving (or unreachable), as the monitor reports it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Alert {
    /// The checkpoint is not signed by the log key of the trusted root.
    #[error("bad-signature: the checkpoint does not verify with the trusted log key: {0}")]
    BadSignature(String),
    /// The checkpoint names another log (origin) than the one followed.
    #[error("origin-changed: the checkpoint's origin is {got:?}, the followed log is {want:?}")]
    OriginChanged { want: String, got: String },
    /// The tree is smaller than one already verified: a rollback.
    #[error("tree-shrank: the log shows {new} leaves after {old} were verified")]
    TreeShrank { old: u64, new: u64 },
    /// Two different roots for one tree size: a split view (fork).
    #[error("split-view: tree size {size} has root {new} but {old} was verified")]
    SplitView { size: u64, old: String, new: String },
    /// The new tree does not extend the verified one (RFC 9162 consistency).
    #[error("inconsistent: the tree of {new} leaves does not extend the verified tree of {old} leaves: {reason}")]
    Inconsistent { old: u64, new: u64, reason: String },
    /// The log answered something that is not what its API promises.
    #[error("malformed: {0}")]
    Malformed(String),
    /// The log could not be reached or answered an error.
    #[error("unreachable: {0}")]
    Unreachable(String),
    /// The tree has not grown within the freshness bound.
    #[error("stale: the tree has not grown for {secs} s (bound {bound} s)")]
    Stale { secs: u64, bound: u64 },
    /// A role of the verifiers' TUF repository expires within the threshold.
    #[error("tuf-expiring: {role} expires in {days_left:.1} days (threshold {min_days} days)")]
    TufExpiring { role: &'static str, days_left: f64, min_days: f64 },
    /// The verifiers' TUF repository does not verify (expired, tampered, unreachable).
    #[error("tuf-refresh-failed: {0}")]
    TufRefreshFailed(String),
    /// The log's cosigned checkpoint lacks a valid cosignature of a required witness.
    #[error("witness-missing: no valid cosignature by {witness} on the log's cosigned checkpoint: {reason}")]
    WitnessMissing { witness: String, reason: String },
}

impl Alert {
    /// The short, stable name of the alert (metric label, structured event).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::BadSignature(_) => "bad-signature",
            Self::OriginChanged { .. } => "origin-changed",
            Self::TreeShrank { .. } => "tree-shrank",
            Self::SplitView { .. } => "split-view",
            Self::Inconsistent { .. } => "inconsistent",
            Self::Malformed(_) => "malformed",
            Self::Unreachable(_) => "unreachable",
            Self::Stale { .. } => "stale",
            Self::TufExpiring { .. } => "tuf-expiring",
            Self::TufRefreshFailed(_) => "tuf-refresh-failed",
            Self::WitnessMissing { .. } => "witness-missing",
        }
    }
    /// True for proof of misbehaviour (as opposed to an outage or staleness):
    /// the monitor stops and keeps its state, the evidence, untouched.
    pub fn is_misbehaviour(&self) -> bool {
        matches!(
            self,
            Self::BadSignature(_)
                | Self::OriginChanged { .. }
                | Self::TreeShrank { .. }
                | Self::SplitView { .. }
                | Self::Inconsistent { .. }
        )
    }
}

/// What a new checkpoint needs before it can replace the verified one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Nothing verified yet: trust on first use of a correctly signed checkpoint.
    First,
    /// The same tree as verified.
    Unchanged,
    /// A larger tree: a consistency proof from `old` to `new` leaves is needed.
    ProveConsistency { old: u64, new: u64 },
}

/// Compares a newly observed (signature-verified) checkpoint with the last
/// verified one.
pub fn compare(verified: Option<&Checkpoint>, new: &Checkpoint) -> Result<Next, Alert> {
    let Some(old) = verified else { return Ok(Next::First) };
    if old.origin != new.origin {
        return Err(Alert::OriginChanged { want: old.origin.as_str().into(), got: new.origin.as_str().into() });
    }
    if new.size < old.size {
        return Err(Alert::TreeShrank { old: old.size, new: new.size });
    }
    if new.size == old.size {
        if new.root_hash != old.root_hash {
            return Err(Alert::SplitView {
                size: new.size,
                old: hex::encode(old.root_hash),
                new: hex::encode(new.root_hash),
            });
        }
        return Ok(Next::Unchanged);
    }
    if old.size == 0 {
        // Everything extends the empty tree.
        return Ok(Next::Unchanged);
    }
    Ok(Next::ProveConsistency { old: old.size, new: new.size })
}

/// Checks the consistency proof from the verified checkpoint to the new one.
pub fn check_consistency(old: &Checkpoint, new: &Checkpoint, proof: &[Hash]) -> Result<(), Alert> {
    sigstead_merkle::verify_consistency(old.size, new.size, proof, &old.root_hash, &new.root_hash)
        .map_err(|e| Alert::Inconsistent { old: old.size, new: new.size, reason: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sigstead_merkle::CompactRange;

    fn tree(leaves: &[&[u8]]) -> (u64, Hash) {
        let mut t = CompactRange::new();
        for l in leaves {
            t.append(sigstead_merkle::leaf_hash(l), |_, _| {});
        }
        (t.size(), t.root())
    }

    fn cp(size: u64, root: Hash) -> Checkpoint {
        Checkpoint {
            origin: sigstead_note::Origin::new("rekor.example - 1").unwrap(),
            size,
            root_hash: root,
            extensions: vec![],
        }
    }

    #[test]
    fn each_lie_is_named() {
        let (s3, r3) = tree(&[b"a", b"b", b"c"]);
        let (_, fork3) = tree(&[b"a", b"b", b"x"]);
        let (s2, r2) = tree(&[b"a", b"b"]);
        let old = cp(s3, r3);
        assert_eq!(compare(None, &old), Ok(Next::First));
        assert_eq!(compare(Some(&old), &old), Ok(Next::Unchanged));
        assert!(matches!(compare(Some(&old), &cp(s2, r2)), Err(Alert::TreeShrank { old: 3, new: 2 })));
        assert!(matches!(compare(Some(&old), &cp(s3, fork3)), Err(Alert::SplitView { size: 3, .. })));
        let mut other = cp(4, r3);
        other.origin = sigstead_note::Origin::new("rekor.example - 2").unwrap();
        assert_eq!(compare(Some(&old), &other).unwrap_err().kind(), "origin-changed");
        assert_eq!(compare(Some(&old), &cp(5, r3)), Ok(Next::ProveConsistency { old: 3, new: 5 }));
        // A wrong proof is inconsistency, never acceptance.
        let (s5, r5) = tree(&[b"a", b"b", b"c", b"d", b"e"]);
        let e = check_consistency(&old, &cp(s5, r5), &[]).unwrap_err();
        assert_eq!(e.kind(), "inconsistent");
        assert!(e.is_misbehaviour() && !Alert::Unreachable("x".into()).is_misbehaviour());
    }
}
