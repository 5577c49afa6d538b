//! The sigstore-conformance `bundle-verify` cases (`../shared/vectors`),
//! each verified against the public-good trusted root or its own, with the
//! expected outcome from its name (`_fail`). Rekor v2 cases and key-based
//! (managed-key) cases are outside this verifier (the kit verifies keyless
//! bundles from a Rekor v1 log) and are listed, not silently skipped.

use super::*;
use std::path::{Path, PathBuf};

fn vectors() -> PathBuf {
    std::env::var("SIGSTEAD_VECTORS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../../shared/vectors"))
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Far enough in the past that every vector's certificate is usable; the
/// `now` bound only refuses integrated times in the future.
fn now() -> SystemTime {
    SystemTime::now()
}

fn run_case(dir: &Path, public_good: &[u8]) -> Result<Verified, String> {
    let root_bytes = if dir.join("trusted_root.json").exists() {
        read(&dir.join("trusted_root.json"))
    } else {
        public_good.to_vec()
    };
    let root: TrustedRoot = serde_json::from_slice(&root_bytes).map_err(|e| format!("trusted root: {e}"))?;
    let artifact =
        if dir.join("artifact").exists() { read(&dir.join("artifact")) } else { read(&dir.join("../a.txt")) };
    let text = |name: &str, default: &str| {
        std::fs::read_to_string(dir.join(name)).map(|s| s.trim().to_string()).unwrap_or_else(|_| default.to_string())
    };
    let policy = Policy {
        identity: Identity::Exact(text(
            "identity",
            "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main",
        )),
        issuer: text("issuer", "https://token.actions.githubusercontent.com"),
    };
    verify_at(&root, &read(&dir.join("bundle.sigstore.json")), &artifact, &policy, now()).map_err(|e| e.to_string())
}

#[test]
fn sigstore_conformance_bundle_cases() {
    let base = vectors().join("bundles/sigstore-conformance/bundle-verify");
    let public_good = read(&vectors().join("public-good/targets/trusted_root.json"));
    let mut names: Vec<String> = std::fs::read_dir(&base)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let (mut checked, mut outside, mut wrong) = (0, Vec::new(), Vec::new());
    for name in &names {
        if name.starts_with("rekor2-") || name.starts_with("managed-key") {
            outside.push(name.clone());
            continue;
        }
        let want_ok = !name.ends_with("_fail");
        let got = run_case(&base.join(name), &public_good);
        if got.as_ref().is_err_and(|e| e.starts_with("not supported by this verifier")) {
            outside.push(format!("{name} ({})", got.unwrap_err()));
            continue;
        }
        checked += 1;
        match (&got, want_ok) {
            (Ok(_), true) | (Err(_), false) => {
                eprintln!("ok   {name}: {}", got.as_ref().map(|v| format!("{v:?}")).unwrap_or_else(|e| e.clone()))
            }
            _ => wrong.push(format!("{name}: {got:?}")),
        }
    }
    eprintln!("{checked} cases checked; outside this verifier: {outside:?}");
    assert!(checked >= 35, "only {checked} cases found under {}", base.display());
    assert!(wrong.is_empty(), "wrong outcomes:\n{}", wrong.join("\n"));
}

/// A bundle verified, then the same bundle refused for each tampering, with
/// the reason named.
#[test]
fn hostile_variants_of_a_good_bundle_are_refused_with_their_reason() {
    let base = vectors().join("bundles/sigstore-conformance/bundle-verify");
    let public_good = read(&vectors().join("public-good/targets/trusted_root.json"));
    let root: TrustedRoot = serde_json::from_slice(&public_good).unwrap();
    let bundle = read(&base.join("happy-path-v0.3/bundle.sigstore.json"));
    let artifact = read(&base.join("a.txt"));
    let policy =
        |identity: &str, issuer: &str| Policy { identity: Identity::Exact(identity.into()), issuer: issuer.into() };
    let good_id = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
    let good_iss = "https://token.actions.githubusercontent.com";
    let v = verify_at(&root, &bundle, &artifact, &policy(good_id, good_iss), now()).unwrap();
    assert!(v.inclusion_proof && v.scts >= 1);
    let re = Policy {
        identity: Identity::Regexp(regex::Regex::new("^https://github\\.com/sigstore-conformance/").unwrap()),
        issuer: good_iss.into(),
    };
    verify_at(&root, &bundle, &artifact, &re, now()).unwrap();

    let err = |b: &[u8], a: &[u8], p: &Policy, r: &TrustedRoot| verify_at(r, b, a, p, now()).unwrap_err();
    assert!(matches!(
        err(&bundle, b"another artifact", &policy(good_id, good_iss), &root),
        VerifyError::Digest | VerifyError::BodyMismatch(_)
    ));
    assert!(matches!(
        err(&bundle, &artifact, &policy("someone@example.com", good_iss), &root),
        VerifyError::Identity { .. }
    ));
    assert!(matches!(
        err(&bundle, &artifact, &policy(good_id, "https://accounts.google.com"), &root),
        VerifyError::Issuer { .. }
    ));
    // alg-none-like: a trusted root with no CA for the certificate.
    let mut no_ca = root.clone();
    no_ca.certificate_authorities.clear();
    assert!(matches!(err(&bundle, &artifact, &policy(good_id, good_iss), &no_ca), VerifyError::Chain(_)));
    // a trusted root without the log.
    let mut no_log = root.clone();
    no_log.tlogs.clear();
    assert!(matches!(err(&bundle, &artifact, &policy(good_id, good_iss), &no_log), VerifyError::UnknownLog(_)));
    // no CT log: no SCT verifies.
    let mut no_ct = root.clone();
    no_ct.ctlogs.clear();
    assert!(matches!(err(&bundle, &artifact, &policy(good_id, good_iss), &no_ct), VerifyError::NoValidSct));
    // tampered-checkpoint: the checkpoint's root line changed.
    let mut doc: serde_json::Value = serde_json::from_slice(&bundle).unwrap();
    let cp = doc["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["checkpoint"]["envelope"]
        .as_str()
        .unwrap()
        .to_string();
    let lines: Vec<&str> = cp.split('\n').collect();
    let tampered = cp.replacen(lines[1], &format!("{}", lines[1].parse::<u64>().unwrap() + 1), 1);
    doc["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["checkpoint"]["envelope"] = tampered.into();
    let e = err(&serde_json::to_vec(&doc).unwrap(), &artifact, &policy(good_id, good_iss), &root);
    assert!(matches!(e, VerifyError::Checkpoint(_)), "{e}");
}
