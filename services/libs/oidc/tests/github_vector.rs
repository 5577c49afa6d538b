//! The real GitHub Actions claim set (sigstore-conformance beacon) mapped
//! through the built-in `github-workflow` CI-provider template.

mod common;

use common::*;
use serde_json::json;
use sigstead_oidc::{
    derive_identity, oid, verify_token, CertExtension, Claims, ExtensionEncoding, SubjectAltName, TokenError,
};
use std::path::PathBuf;

const GITHUB_ISS: &str = "https://token.actions.githubusercontent.com";
const SAN: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const SHA: &str = "30bace97d4fbcd657d31d2de06068ab14b491473";
const SUB: &str = "repo:sigstore-conformance/extremely-dangerous-public-oidc-beacon:ref:refs/heads/main";

fn vector_bytes() -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../../shared/vectors/oidc/github-actions-beacon.claims.json");
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn ext(oid: &'static str, value: &str, encoding: ExtensionEncoding) -> CertExtension {
    CertExtension { oid, value: value.into(), encoding }
}

/// What upstream Fulcio (eb10c98e) emits for this claim set, in its order.
fn expected_extensions() -> Vec<CertExtension> {
    use ExtensionEncoding::{Raw, Utf8String as U};
    let repo = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon";
    vec![
        ext(oid::ISSUER, GITHUB_ISS, Raw),
        ext(oid::GITHUB_WORKFLOW_TRIGGER, "workflow_dispatch", Raw),
        ext(oid::GITHUB_WORKFLOW_SHA, SHA, Raw),
        ext(oid::GITHUB_WORKFLOW_NAME, "Extremely dangerous OIDC beacon", Raw),
        ext(oid::GITHUB_WORKFLOW_REPOSITORY, "sigstore-conformance/extremely-dangerous-public-oidc-beacon", Raw),
        ext(oid::GITHUB_WORKFLOW_REF, "refs/heads/main", Raw),
        ext(oid::ISSUER_V2, GITHUB_ISS, U),
        ext(oid::BUILD_SIGNER_URI, SAN, U),
        ext(oid::BUILD_SIGNER_DIGEST, SHA, U),
        ext(oid::RUNNER_ENVIRONMENT, "github-hosted", U),
        ext(oid::SOURCE_REPOSITORY_URI, repo, U),
        ext(oid::SOURCE_REPOSITORY_DIGEST, SHA, U),
        ext(oid::SOURCE_REPOSITORY_REF, "refs/heads/main", U),
        ext(oid::SOURCE_REPOSITORY_IDENTIFIER, "632596897", U),
        ext(oid::SOURCE_REPOSITORY_OWNER_URI, "https://github.com/sigstore-conformance", U),
        ext(oid::SOURCE_REPOSITORY_OWNER_IDENTIFIER, "131804563", U),
        ext(oid::BUILD_CONFIG_URI, SAN, U),
        ext(oid::BUILD_CONFIG_DIGEST, SHA, U),
        ext(oid::BUILD_TRIGGER, "workflow_dispatch", U),
        ext(oid::RUN_INVOCATION_URI, &format!("{repo}/actions/runs/27476101517/attempts/1"), U),
        ext(oid::SOURCE_REPOSITORY_VISIBILITY_AT_SIGNING, "public", U),
        // 1.23 omitted: no `environment` claim, default "" => not emitted.
        ext(oid::TOKEN_SUBJECT, SUB, U),
    ]
}

#[test]
fn beacon_claims_map_through_github_ci_provider_template() {
    let claims = Claims::from_json(&vector_bytes()).unwrap();
    let issuer = SET.lookup(GITHUB_ISS).unwrap();
    let id = derive_identity(&claims, issuer).unwrap();
    assert_eq!(id.san(), &SubjectAltName::Uri(SAN.into()));
    assert_eq!(id.principal_name(), SUB);
    assert_eq!(id.issuer(), GITHUB_ISS);
    assert_eq!(id.extensions(), expected_extensions().as_slice());
    assert_eq!(id.extension(oid::DEPLOYMENT_ENVIRONMENT), None);
    // The beacon token has no email claim: PoP is over `sub` only.
    assert_eq!(sigstead_oidc::check_proof_of_possession_subjects(&claims), [SUB]);
    // DER of 1.8 is what the public-good certificates carry: 0x0c 0x2b + iss.
    let v2 = id.extensions().iter().find(|e| e.oid == oid::ISSUER_V2).unwrap();
    assert_eq!(&v2.der_value()[..2], &[0x0c, 0x2b]);
}

#[test]
fn beacon_claims_through_verify_token_with_exact_payload_bytes() {
    // Sign the vector's exact payload bytes with a test key, as GitHub would.
    let payload = vector_bytes();
    let header = json!({"alg": "RS256", "kid": RSA.kid, "typ": "JWT", "x5t": "unused"});
    let input = format!("{}.{}", common::b64(header.to_string()), common::b64(&payload));
    let token = format!("{input}.{}", common::b64(RSA.sign("RS256", input.as_bytes())));
    let issuer = SET.lookup(GITHUB_ISS).unwrap();
    let jwks = jwks(&[&RSA]);
    let iat = 1_781_377_264;
    let v = verify_token(&token, issuer, &jwks, iat + 30, LEEWAY).unwrap();
    assert_eq!(v.identity().extensions(), expected_extensions().as_slice());
    assert_eq!(v.identity().san().value(), SAN);
    // The recorded token has long expired.
    assert!(matches!(verify_token(&token, issuer, &jwks, NOW + 3600, LEEWAY), Err(TokenError::Expired { .. })));
}

#[test]
fn legacy_github_workflow_type_matches_except_deployment_environment() {
    let set = issuer_set(&format!("[[issuers]]\nissuer_url = \"{GITHUB_ISS}\"\ntype = \"github-workflow\"\n"));
    let claims = Claims::from_json(&vector_bytes()).unwrap();
    let id = derive_identity(&claims, set.lookup(GITHUB_ISS).unwrap()).unwrap();
    assert_eq!(id.extensions(), expected_extensions().as_slice());
    assert_eq!(id.san().value(), SAN);

    // The legacy type requires every claim it maps.
    let mut v: serde_json::Value = serde_json::from_slice(&vector_bytes()).unwrap();
    v.as_object_mut().unwrap().remove("runner_environment");
    let claims = Claims::from_json(v.to_string().as_bytes()).unwrap();
    assert_eq!(
        derive_identity(&claims, set.lookup(GITHUB_ISS).unwrap()).unwrap_err(),
        TokenError::MissingClaim("runner_environment".into())
    );
}

#[test]
fn github_template_handles_environment_and_missing_claims() {
    let issuer = SET.lookup(GITHUB_ISS).unwrap();
    let mut v: serde_json::Value = serde_json::from_slice(&vector_bytes()).unwrap();
    v["environment"] = json!("production");
    let id = derive_identity(&Claims::from_json(v.to_string().as_bytes()).unwrap(), issuer).unwrap();
    assert_eq!(id.extension(oid::DEPLOYMENT_ENVIRONMENT), Some("production"));

    // Numeric claims are stringified as upstream does (integral without ".0").
    v["run_id"] = json!(27476101517u64);
    v["run_attempt"] = json!(2.0);
    let id = derive_identity(&Claims::from_json(v.to_string().as_bytes()).unwrap(), issuer).unwrap();
    assert!(id.extension(oid::RUN_INVOCATION_URI).unwrap().ends_with("/actions/runs/27476101517/attempts/2"));

    // A claim a template needs is missing.
    v.as_object_mut().unwrap().remove("job_workflow_ref");
    assert_eq!(
        derive_identity(&Claims::from_json(v.to_string().as_bytes()).unwrap(), issuer).unwrap_err(),
        TokenError::MissingClaim("job_workflow_ref".into())
    );
}

#[test]
fn github_san_injection() {
    let issuer = SET.lookup(GITHUB_ISS).unwrap();
    let base: serde_json::Value = serde_json::from_slice(&vector_bytes()).unwrap();
    let cases = [
        ("job_workflow_ref", json!("o/r/.github/workflows/w.yml@refs/heads/main\nURI:https://evil")),
        ("job_workflow_ref", json!("o/r/.github/workflows/w.yml@refs/heads/main\u{0}evil")),
        ("job_workflow_ref", json!("o/r/.github/workflows/my workflow.yml@refs/heads/main")),
        ("job_workflow_ref", json!({"nested": "object"})),
        ("workflow", json!("name\r\nwith CRLF")),
        ("ref", json!("refs/heads/\u{202e}niam")),
        ("sub", json!("repo:o/r:ref:refs/heads/main\n")),
    ];
    for (claim, value) in cases {
        let mut v = base.clone();
        v[claim] = value.clone();
        let claims = Claims::from_json(v.to_string().as_bytes()).unwrap();
        assert!(matches!(derive_identity(&claims, issuer), Err(TokenError::InvalidClaim { .. })), "{claim} = {value}");
    }
}
