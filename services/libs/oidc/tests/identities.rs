//! SAN, principal and extensions per issuer type.

mod common;

use common::*;
use serde_json::{json, Value};
use sigstead_oidc::{
    check_proof_of_possession_subjects, derive_identity, oid, verify_token, CertExtension, Claims, ExtensionEncoding,
    Identity, IssuerSet, SubjectAltName, TokenError,
};

fn claims(v: &Value) -> Claims {
    Claims::from_json(v.to_string().as_bytes()).unwrap()
}

fn derive(set: &IssuerSet, v: &Value) -> Result<Identity, TokenError> {
    let iss = v["iss"].as_str().unwrap();
    derive_identity(&claims(v), set.lookup(iss).expect("issuer configured"))
}

fn base(iss: &str, sub: &str) -> Value {
    json!({"iss": iss, "sub": sub, "aud": "sigstore", "iat": NOW, "exp": NOW + 600})
}

fn invalid_claim(r: Result<Identity, TokenError>, name: &str) {
    match r {
        Err(TokenError::InvalidClaim { claim, .. }) => assert_eq!(claim, name),
        other => panic!("expected InvalidClaim({name}), got {other:?}"),
    }
}

#[test]
fn email_identity_has_issuer_twice_and_subject() {
    let id = derive_identity(&claims(&email_claims()), email_issuer()).unwrap();
    assert_eq!(
        id.extensions(),
        [
            CertExtension { oid: oid::ISSUER, value: ISS.into(), encoding: ExtensionEncoding::Raw },
            CertExtension { oid: oid::ISSUER_V2, value: ISS.into(), encoding: ExtensionEncoding::Utf8String },
            CertExtension {
                oid: oid::TOKEN_SUBJECT,
                value: "248289761001".into(),
                encoding: ExtensionEncoding::Utf8String
            },
        ]
    );
    assert_eq!(id.principal_name(), "alice@example.com");
    assert_eq!(id.subject(), "248289761001");
}

#[test]
fn upstream_issued_vector_claims() {
    // /work/shared/vectors/upstream-issued/*/token-claims.json with its
    // http:// issuer config: upstream issued SAN email + 1.1, 1.8, 1.24.
    let set = issuer_set(
        r#"
[[issuers]]
issuer_url = "http://127.0.0.1:18999/oidc"
client_id = "sigstore"
type = "email"
insecure_allow_http = true
"#,
    );
    let v = json!({"iss": "http://127.0.0.1:18999/oidc", "sub": "alice@fulcio-perf.example", "aud": "sigstore",
        "iat": 1795633833u64, "nbf": 1795633833u64, "exp": 1795634433u64,
        "email": "alice@fulcio-perf.example", "email_verified": true});
    let id = derive(&set, &v).unwrap();
    assert_eq!(id.san(), &SubjectAltName::Email("alice@fulcio-perf.example".into()));
    let oids: Vec<&str> = id.extensions().iter().map(|e| e.oid).collect();
    assert_eq!(oids, [oid::ISSUER, oid::ISSUER_V2, oid::TOKEN_SUBJECT]);
    assert_eq!(check_proof_of_possession_subjects(&claims(&v)), ["alice@fulcio-perf.example"]);
}

#[test]
fn email_issuer_claim_for_federated_idp() {
    let dex = "https://oauth2.example.com/auth";
    let set = issuer_set(&format!(
        "[[issuers]]\nissuer_url = \"{dex}\"\ntype = \"email\"\nissuer_claim = \"$.federated_claims.connector_id\"\n"
    ));
    let mut v = base(dex, "CgY0NTY3ODkSBmdpdGh1Yg");
    v["email"] = json!("bob@example.org");
    v["email_verified"] = json!(true);
    v["federated_claims"] = json!({"connector_id": "https://github.com/login/oauth", "user_id": "456789"});
    let id = derive(&set, &v).unwrap();
    assert_eq!(id.issuer(), "https://github.com/login/oauth");
    assert_eq!(id.extension(oid::ISSUER), Some("https://github.com/login/oauth"));
    assert_eq!(id.extension(oid::ISSUER_V2), Some("https://github.com/login/oauth"));

    v["federated_claims"] = json!({"connector_id": "https://evil\n"});
    invalid_claim(derive(&set, &v), "iss");
    v["federated_claims"] = json!({"connector_id": 7});
    invalid_claim(derive(&set, &v), "$.federated_claims.connector_id");
    v.as_object_mut().unwrap().remove("federated_claims");
    assert_eq!(derive(&set, &v).unwrap_err(), TokenError::MissingClaim("$.federated_claims.connector_id".into()));
}

#[test]
fn insecure_skip_email_verification() {
    let set = issuer_set(&format!(
        "[[issuers]]\nissuer_url = \"{ISS}\"\ntype = \"email\"\ninsecure_skip_email_verification = true\n"
    ));
    let v = without(email_claims(), "email_verified");
    assert!(derive(&set, &v).is_ok());
    // Syntax checks still apply.
    invalid_claim(derive(&set, &with(v, "email", json!("a@b.com\n"))), "email");
}

#[test]
fn proof_of_possession_subjects() {
    assert_eq!(check_proof_of_possession_subjects(&claims(&email_claims())), ["alice@example.com", "248289761001"]);
    let same = with(email_claims(), "sub", json!("alice@example.com"));
    assert_eq!(check_proof_of_possession_subjects(&claims(&same)), ["alice@example.com"]);
    let non_string = with(email_claims(), "email", json!(5));
    assert_eq!(check_proof_of_possession_subjects(&claims(&non_string)), ["248289761001"]);
}

const ISSUERS: &str = r#"
[[issuers]]
issuer_url = "https://gitlab.com"
type = "gitlab-pipeline"

[[issuers]]
issuer_url = "https://gitlab.example.com"
type = "ci-provider"
ci_provider = "gitlab-pipeline"

[[issuers]]
issuer_url = "https://agent.buildkite.com"
type = "buildkite-job"

[[issuers]]
issuer_url = "https://spire.example.org"
type = "spiffe"
spiffe_trust_domain = "example.org"

[[issuers]]
issuer_url = "https://accounts.example.com"
type = "uri"
subject_domain = "https://users.example.com"

[[issuers]]
issuer_url = "https://login.example.com"
type = "username"
subject_domain = "example.com"

[[issuers]]
issuer_url = "https://container.googleapis.com/v1/projects/p/locations/l/clusters/c"
type = "kubernetes"

[[issuers]]
issuer_url = "https://ci.example.net"
type = "ci-provider"
ci_provider = "forgejo"

[ci_providers.forgejo]
subject_alternative_name_template = "{{ .url }}/{{ .repository }}/{{ .workflow }}@{{ .ref }}"
[ci_providers.forgejo.default_template_values]
url = "https://code.example.net"
[ci_providers.forgejo.extension_templates]
build_signer_uri = "{{ .url }}/{{ .repository }}/{{ .workflow }}@{{ .ref }}"
source-repository-digest = "sha"
run_invocation_uri = "{{ .url }}/{{ .repository }}/actions/runs/{{ .run_number }}"
"#;

fn set() -> IssuerSet {
    issuer_set(ISSUERS)
}

fn gitlab_claims(iss: &str) -> Value {
    let mut v = base(iss, "project_path:group/project:ref_type:branch:ref:main");
    for (k, val) in [
        ("project_path", json!("group/project")),
        ("project_id", json!("42")),
        ("namespace_path", json!("group")),
        ("namespace_id", json!("7")),
        ("pipeline_source", json!("push")),
        ("pipeline_id", json!("1001")),
        ("ci_config_ref_uri", json!("gitlab.com/group/project//.gitlab-ci.yml@refs/heads/main")),
        ("ci_config_sha", json!("abc123")),
        ("job_id", json!("555")),
        ("ref", json!("main")),
        ("ref_type", json!("branch")),
        ("sha", json!("def456")),
        ("runner_environment", json!("gitlab-hosted")),
        ("runner_id", json!(9)),
        ("project_visibility", json!("private")),
    ] {
        v[k] = val;
    }
    v
}

#[test]
fn gitlab_legacy_type() {
    let s = set();
    let v = gitlab_claims("https://gitlab.com");
    let id = derive(&s, &v).unwrap();
    let san = "https://gitlab.com/group/project//.gitlab-ci.yml@refs/heads/main";
    assert_eq!(id.san(), &SubjectAltName::Uri(san.into()));
    assert_eq!(id.principal_name(), "project_path:group/project:ref_type:branch:ref:main");
    assert_eq!(id.extension(oid::BUILD_SIGNER_URI), Some(san));
    assert_eq!(id.extension(oid::SOURCE_REPOSITORY_REF), Some("refs/heads/main"));
    assert_eq!(id.extension(oid::SOURCE_REPOSITORY_URI), Some("https://gitlab.com/group/project"));
    assert_eq!(id.extension(oid::RUN_INVOCATION_URI), Some("https://gitlab.com/group/project/-/jobs/555"));
    assert_eq!(id.extension(oid::SOURCE_REPOSITORY_VISIBILITY_AT_SIGNING), Some("private"));
    assert_eq!(id.extension(oid::GITHUB_WORKFLOW_TRIGGER), None);

    let tag = with(v.clone(), "ref_type", json!("tag"));
    assert_eq!(derive(&s, &tag).unwrap().extension(oid::SOURCE_REPOSITORY_REF), Some("refs/tags/main"));
    invalid_claim(derive(&s, &with(v.clone(), "ref_type", json!("note"))), "ref_type");
    invalid_claim(derive(&s, &with(v.clone(), "runner_id", json!(0))), "runner_id");
    assert_eq!(derive(&s, &without(v, "job_id")).unwrap_err(), TokenError::MissingClaim("job_id".into()));
}

#[test]
fn gitlab_builtin_ci_provider_template() {
    let s = set();
    let v = gitlab_claims("https://gitlab.example.com");
    let id = derive(&s, &v).unwrap();
    assert_eq!(id.san().value(), "https://gitlab.com/group/project//.gitlab-ci.yml@refs/heads/main");
    assert_eq!(id.extension(oid::SOURCE_REPOSITORY_REF), Some("refs/heads/main"));
    assert_eq!(id.extension(oid::ISSUER), Some("https://gitlab.example.com"));
    let tag = with(v, "ref_type", json!("tag"));
    assert_eq!(derive(&s, &tag).unwrap().extension(oid::SOURCE_REPOSITORY_REF), Some("refs/tags/main"));
}

#[test]
fn buildkite_job() {
    let s = set();
    let mut v = base("https://agent.buildkite.com", "organization:acme:pipeline:app:ref:refs/heads/main");
    v["organization_slug"] = json!("acme");
    v["pipeline_slug"] = json!("app");
    let id = derive(&s, &v).unwrap();
    assert_eq!(id.san(), &SubjectAltName::Uri("https://buildkite.com/acme/app".into()));
    let oids: Vec<&str> = id.extensions().iter().map(|e| e.oid).collect();
    assert_eq!(oids, [oid::ISSUER, oid::ISSUER_V2, oid::TOKEN_SUBJECT]);
    invalid_claim(derive(&s, &with(v.clone(), "pipeline_slug", json!("app/../../evil"))), "pipeline_slug");
    invalid_claim(derive(&s, &with(v.clone(), "organization_slug", json!("acme?x"))), "organization_slug");
    assert_eq!(derive(&s, &without(v, "pipeline_slug")).unwrap_err(), TokenError::MissingClaim("pipeline_slug".into()));
}

#[test]
fn kubernetes() {
    let s = set();
    let iss = "https://container.googleapis.com/v1/projects/p/locations/l/clusters/c";
    let mut v = base(iss, "system:serviceaccount:prod:deployer");
    v["kubernetes.io"] = json!({"namespace": "prod", "serviceaccount": {"name": "deployer", "uid": "u"}});
    let id = derive(&s, &v).unwrap();
    assert_eq!(id.san().value(), "https://kubernetes.io/namespaces/prod/serviceaccounts/deployer");
    assert_eq!(id.principal_name(), "system:serviceaccount:prod:deployer");

    v["kubernetes.io"]["namespace"] = json!("prod/serviceaccounts/admin#");
    invalid_claim(derive(&s, &v), "kubernetes.io.namespace");
    v["kubernetes.io"]["namespace"] = json!("");
    assert_eq!(derive(&s, &v).unwrap_err(), TokenError::MissingClaim("kubernetes.io.namespace".into()));
    v["kubernetes.io"] = json!({"namespace": "prod"});
    assert_eq!(derive(&s, &v).unwrap_err(), TokenError::MissingClaim("kubernetes.io.serviceaccount.name".into()));
}

#[test]
fn spiffe() {
    let s = set();
    let v = base("https://spire.example.org", "spiffe://example.org/ns/prod/sa/builder");
    let id = derive(&s, &v).unwrap();
    assert_eq!(id.san(), &SubjectAltName::Uri("spiffe://example.org/ns/prod/sa/builder".into()));
    assert_eq!(id.principal_name(), "spiffe://example.org/ns/prod/sa/builder");
    for bad in [
        "spiffe://evil.org/x",
        "spiffe://example.org.evil.org/x",
        "https://example.org/x",
        "spiffe://example.org/a/../b",
    ] {
        invalid_claim(derive(&s, &with(v.clone(), "sub", json!(bad))), "sub");
    }
}

#[test]
fn uri() {
    let s = set();
    let v = base("https://accounts.example.com", "https://users.example.com/u/alice");
    let id = derive(&s, &v).unwrap();
    assert_eq!(id.san(), &SubjectAltName::Uri("https://users.example.com/u/alice".into()));
    for bad in [
        "https://evil.com/u/alice",
        "http://users.example.com/u/alice",
        "https://users.example.com.evil.com/",
        "https://evil.com@users.example.com/",
        "alice@users.example.com",
        "https://users.example.com/u/a b",
    ] {
        invalid_claim(derive(&s, &with(v.clone(), "sub", json!(bad))), "sub");
    }
}

#[test]
fn username() {
    let s = set();
    let v = base("https://login.example.com", "alice");
    let id = derive(&s, &v).unwrap();
    assert_eq!(id.san(), &SubjectAltName::OtherNameUsername("alice!example.com".into()));
    assert_eq!(id.principal_name(), "alice");
    assert_eq!(id.extension(oid::TOKEN_SUBJECT), Some("alice"));
    for bad in ["alice!evil.com", "alice@example.com", "alice\nbob"] {
        invalid_claim(derive(&s, &with(v.clone(), "sub", json!(bad))), "sub");
    }
}

#[test]
fn custom_ci_provider_from_toml() {
    let s = set();
    let mut v = base("https://ci.example.net", "repo:team/app:ref:refs/heads/main");
    v["repository"] = json!("team/app");
    v["workflow"] = json!(".forgejo/workflows/release.yml");
    v["ref"] = json!("refs/heads/main");
    v["sha"] = json!("0123abcd");
    v["run_number"] = json!(77);
    let id = derive(&s, &v).unwrap();
    let san = "https://code.example.net/team/app/.forgejo/workflows/release.yml@refs/heads/main";
    assert_eq!(id.san().value(), san);
    assert_eq!(id.extension(oid::BUILD_SIGNER_URI), Some(san));
    assert_eq!(id.extension(oid::SOURCE_REPOSITORY_DIGEST), Some("0123abcd"));
    assert_eq!(id.extension(oid::RUN_INVOCATION_URI), Some("https://code.example.net/team/app/actions/runs/77"));
    // A claim named like a default wins over it (upstream semantics).
    let id = derive(&s, &with(v.clone(), "url", json!("https://mirror.example.net"))).unwrap();
    assert!(id.san().value().starts_with("https://mirror.example.net/"));
    // Template claims must be scalars.
    invalid_claim(derive(&s, &with(v.clone(), "repository", json!(["a"]))), "repository");
    invalid_claim(derive(&s, &with(v, "repository", json!(null))), "repository");
}

#[test]
fn circleci_builtin_with_index_and_if_eq() {
    let s = issuer_set(
        "[[issuers]]\nwildcard_issuer_url = \"https://oidc.circleci.com/org/*\"\ntype = \"ci-provider\"\nci_provider = \"circleci-job\"\n",
    );
    let iss = "https://oidc.circleci.com/org/0a1b2c3d-0000-4000-8000-000000000000";
    let mut v = base(iss, "org/0a1b/project/9z/user/u");
    v["oidc.circleci.com/project-id"] = json!("proj-1");
    v["oidc.circleci.com/pipeline-definition-id"] = json!("def-2");
    v["oidc.circleci.com/pipeline-id"] = json!("pipe-3");
    v["oidc.circleci.com/workflow-id"] = json!("wf-4");
    v["oidc.circleci.com/job-id"] = json!("job-5");
    v["oidc.circleci.com/ssh-rerun"] = json!(true);
    let id = derive(&s, &v).unwrap();
    assert_eq!(id.san().value(), "https://circleci.com/api/v2/projects/proj-1/pipeline-definitions/def-2");
    assert_eq!(id.extension(oid::RUNNER_ENVIRONMENT), Some("ssh-rerun"));
    assert_eq!(id.extension(oid::BUILD_CONFIG_URI), Some("https://circleci.com/api/v2/pipeline/pipe-3/config"));
    // `index` of a missing claim is empty, so the extension is omitted.
    assert_eq!(id.extension(oid::SOURCE_REPOSITORY_URI), None);
    // Upstream quirk kept: not a rerun renders the two characters `""`.
    let id = derive(&s, &with(v, "oidc.circleci.com/ssh-rerun", json!(false))).unwrap();
    assert_eq!(id.extension(oid::RUNNER_ENVIRONMENT), Some("\"\""));
}

#[test]
fn identity_errors_surface_from_verify_token() {
    let s = set();
    let issuer = s.lookup("https://login.example.com").unwrap();
    let token = mint(&EC256, &base("https://login.example.com", "mallory!evil.com"));
    assert!(matches!(
        verify_token(&token, issuer, &all_jwks(), NOW, LEEWAY),
        Err(TokenError::InvalidClaim { claim, .. }) if claim == "sub"
    ));
}
