//! Proof verification against transparency-dev/merkle's published vectors
//! (`../shared/vectors/merkle`): every happy path must verify and every
//! tampered case must be rejected.

use base64::{engine::general_purpose::STANDARD, Engine};
use serde::Deserialize;
use sigstead_merkle::{verify_consistency, verify_inclusion, Hash};
use std::path::{Path, PathBuf};

fn vectors_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("SIGSTEAD_VECTORS") {
        return PathBuf::from(dir);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../../shared/vectors")
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display())) {
        let p = e.unwrap().path();
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(p);
        }
    }
    out.sort();
}

fn h(s: &str) -> Option<Hash> {
    STANDARD.decode(s).ok()?.try_into().ok()
}

/// Some consistency cases use placeholder roots that are not 32 bytes
/// ("don't care"); only their equality matters there, which hashing them
/// preserves.
fn root(s: &str) -> Option<Hash> {
    let raw = STANDARD.decode(s).ok()?;
    Some(match <[u8; 32]>::try_from(raw.as_slice()) {
        Ok(h) => h,
        Err(_) => sha2_digest(&raw),
    })
}

fn sha2_digest(b: &[u8]) -> Hash {
    sigstead_merkle::leaf_hash(b)
}

fn hashes(v: &Option<Vec<String>>) -> Option<Vec<Hash>> {
    v.as_deref().unwrap_or_default().iter().map(|s| h(s)).collect()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Inclusion {
    leaf_idx: u64,
    tree_size: u64,
    root: Option<String>,
    leaf_hash: Option<String>,
    proof: Option<Vec<String>>,
    desc: String,
    want_err: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Consistency {
    size1: u64,
    size2: u64,
    root1: Option<String>,
    root2: Option<String>,
    proof: Option<Vec<String>>,
    desc: String,
    want_err: bool,
}

#[test]
fn inclusion_vectors() {
    let mut files = Vec::new();
    walk(&vectors_dir().join("merkle/inclusion"), &mut files);
    assert!(files.len() > 50, "expected the inclusion vectors, found {}", files.len());
    let (mut ok, mut rejected) = (0, 0);
    for f in &files {
        let v: Inclusion = serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap();
        // A hash that is not 32 bytes (e.g. an empty root) can only make the case fail.
        let res = match (v.root.as_deref().and_then(h), v.leaf_hash.as_deref().and_then(h), hashes(&v.proof)) {
            (Some(root), Some(leaf), Some(proof)) => {
                verify_inclusion(v.leaf_idx, v.tree_size, &leaf, &proof, &root).is_ok()
            }
            _ => false,
        };
        assert_eq!(res, !v.want_err, "{}: {}", f.display(), v.desc);
        if res {
            ok += 1
        } else {
            rejected += 1
        }
    }
    assert!(ok > 0 && rejected > 0);
}

#[test]
fn consistency_vectors() {
    let mut files = Vec::new();
    walk(&vectors_dir().join("merkle/consistency"), &mut files);
    assert!(files.len() > 50, "expected the consistency vectors, found {}", files.len());
    let (mut ok, mut rejected) = (0, 0);
    for f in &files {
        let v: Consistency = serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap();
        let res = match (v.root1.as_deref().and_then(root), v.root2.as_deref().and_then(root), hashes(&v.proof)) {
            (Some(r1), Some(r2), Some(proof)) => verify_consistency(v.size1, v.size2, &proof, &r1, &r2).is_ok(),
            _ => false,
        };
        assert_eq!(res, !v.want_err, "{}: {}", f.display(), v.desc);
        if res {
            ok += 1
        } else {
            rejected += 1
        }
    }
    assert!(ok > 0 && rejected > 0);
}
