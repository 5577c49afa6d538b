//! Issuer configuration: parsing, validation and lookup order.

use sigstead_oidc::{ConfigError, IssuerKind, IssuerSet, IssuerType, OidcConfig};

fn parse(src: &str) -> OidcConfig {
    toml::from_str(src).unwrap_or_else(|e| panic!("{e}\n{src}"))
}

fn build(src: &str) -> Result<IssuerSet, ConfigError> {
    IssuerSet::from_config(&parse(src))
}

fn one(fields: &str) -> Result<IssuerSet, ConfigError> {
    build(&format!("[[issuers]]\n{fields}\n"))
}

#[test]
fn example_file_parses_and_validates() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/oidc.example.toml");
    let src = std::fs::read_to_string(path).unwrap();
    let set = IssuerSet::from_config(&parse(&src)).unwrap();
    assert_eq!(set.len(), 8);
    let gh = set.lookup("https://token.actions.githubusercontent.com").unwrap();
    assert_eq!(gh.issuer_type(), IssuerType::CiProvider);
    assert_eq!(gh.client_id(), "sigstore");
    assert_eq!(gh.challenge_claim(), "sub");
    assert!(!gh.is_wildcard());
    let slug = set.lookup("https://token.actions.githubusercontent.com/acme-corp").unwrap();
    assert!(slug.is_wildcard());
    assert_eq!(slug.url(), "https://token.actions.githubusercontent.com/*");
    let google = set.lookup("https://accounts.google.com").unwrap();
    assert_eq!(google.challenge_claim(), "email");
    assert_eq!(google.description(), Some("Google accounts"));
    assert_eq!(set.lookup("https://spire.example.org").unwrap().spiffe_trust_domain(), Some("example.org"));
    assert!(set.lookup("http://127.0.0.1:8080/oidc").unwrap().insecure_allow_http());
    match set.lookup("https://code.example.internal/api/actions").unwrap().kind() {
        IssuerKind::CiProvider { provider } => assert_eq!(provider.name(), "forgejo"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn http_issuer_without_insecure_flag_is_refused() {
    assert_eq!(
        one("issuer_url = \"http://dex.internal:5556/dex\"\ntype = \"email\"").unwrap_err(),
        ConfigError::InsecureHttp("http://dex.internal:5556/dex".into())
    );
    assert_eq!(
        one("wildcard_issuer_url = \"http://*.example.com/oidc\"\ntype = \"kubernetes\"").unwrap_err(),
        ConfigError::InsecureHttp("http://*.example.com/oidc".into())
    );
    assert!(one("issuer_url = \"http://dex.internal:5556/dex\"\ntype = \"email\"\ninsecure_allow_http = true").is_ok());
}

#[test]
fn issuer_url_shape() {
    for url in [
        "ftp://idp.example.com",
        "idp.example.com",
        "https://",
        "https://user@idp.example.com",
        "https://idp.example.com/?x=1",
        "https://idp.example.com/#f",
        "https://idp.example.com/a b",
        "https://idp.\u{0435}xample.com",
        "https://idp.example.com/*",
    ] {
        let r = one(&format!("issuer_url = \"{url}\"\ntype = \"email\""));
        assert!(matches!(r, Err(ConfigError::Invalid { .. })), "{url}: {r:?}");
    }
    assert!(matches!(one("type = \"email\""), Err(ConfigError::Invalid { .. })));
    assert!(matches!(
        one(
            "issuer_url = \"https://a.example.com\"\nwildcard_issuer_url = \"https://*.example.com\"\ntype = \"email\""
        ),
        Err(ConfigError::Invalid { .. })
    ));
    assert!(matches!(
        one("issuer_url = \"https://a.example.com\"\ntype = \"email\"\nclient_id = \"\""),
        Err(ConfigError::Invalid { .. })
    ));
}

#[test]
fn unknown_fields_and_types_are_refused_by_serde() {
    let typo = "[[issuers]]\nissuer_url = \"https://a.example.com\"\ntype = \"email\"\nclient-id = \"x\"\n";
    assert!(toml::from_str::<OidcConfig>(typo).is_err());
    let bad_type = "[[issuers]]\nissuer_url = \"https://a.example.com\"\ntype = \"github\"\n";
    assert!(toml::from_str::<OidcConfig>(bad_type).is_err());
    let top = "[oidc]\nx = 1\n";
    assert!(toml::from_str::<OidcConfig>(top).is_err());
    let ext = "[ci_providers.x]\nsubject_alternative_name_template = \"a\"\n[ci_providers.x.extension_templates]\nissuer = \"iss\"\n";
    assert!(toml::from_str::<OidcConfig>(ext).is_err(), "issuer is not a configurable extension");
}

#[test]
fn duplicate_issuers() {
    let src = "[[issuers]]\nissuer_url = \"https://a.example.com\"\ntype = \"email\"\n\
               [[issuers]]\nissuer_url = \"https://a.example.com\"\ntype = \"kubernetes\"\n";
    assert_eq!(build(src).unwrap_err(), ConfigError::DuplicateIssuer("https://a.example.com".into()));
    let src = "[[issuers]]\nwildcard_issuer_url = \"https://*.example.com\"\ntype = \"email\"\n\
               [[issuers]]\nwildcard_issuer_url = \"https://*.example.com\"\ntype = \"email\"\n";
    assert_eq!(build(src).unwrap_err(), ConfigError::DuplicateIssuer("https://*.example.com".into()));
}

#[test]
fn wildcard_patterns_that_match_too_much() {
    for pattern in [
        "https://*",
        "https://*/id",
        "https://example.*/id/*",
        "https://*.com/id",
        "https://a.*.com/x",
        "https://**.example.com/x",
        "https://a.example.com:*/x",
        "https://a.example.com/no-star",
    ] {
        let r = one(&format!("wildcard_issuer_url = \"{pattern}\"\ntype = \"kubernetes\""));
        assert!(matches!(r, Err(ConfigError::BadWildcard { .. })), "{pattern}: {r:?}");
    }
    let r = one(
        "wildcard_issuer_url = \"https://*.example.org\"\ntype = \"spiffe\"\nspiffe_trust_domain = \"example.org\"",
    );
    assert!(matches!(r, Err(ConfigError::Invalid { .. })));
}

#[test]
fn exact_match_wins_over_wildcard() {
    let src = r#"
[[issuers]]
wildcard_issuer_url = "https://token.actions.githubusercontent.com/*"
type = "ci-provider"
ci_provider = "github-workflow"

[[issuers]]
issuer_url = "https://token.actions.githubusercontent.com/special"
type = "email"

[[issuers]]
wildcard_issuer_url = "https://token.actions.githubusercontent.com/spe*"
type = "kubernetes"
"#;
    let set = build(src).unwrap();
    assert_eq!(
        set.lookup("https://token.actions.githubusercontent.com/special").unwrap().issuer_type(),
        IssuerType::Email
    );
    // Between wildcards, configuration order decides.
    assert_eq!(
        set.lookup("https://token.actions.githubusercontent.com/spec").unwrap().issuer_type(),
        IssuerType::CiProvider
    );
}

#[test]
fn type_specific_fields() {
    let cases = [
        // field not allowed for the type
        "issuer_url = \"https://a.example.com\"\ntype = \"email\"\nsubject_domain = \"example.com\"",
        "issuer_url = \"https://a.example.com\"\ntype = \"email\"\nci_provider = \"github-workflow\"",
        "issuer_url = \"https://a.example.com\"\ntype = \"kubernetes\"\nissuer_claim = \"$.x\"",
        "issuer_url = \"https://a.example.com\"\ntype = \"kubernetes\"\ninsecure_skip_email_verification = true",
        "issuer_url = \"https://a.example.com\"\ntype = \"uri\"\nspiffe_trust_domain = \"example.com\"",
        // required field missing
        "issuer_url = \"https://a.example.com\"\ntype = \"ci-provider\"",
        "issuer_url = \"https://a.example.com\"\ntype = \"spiffe\"",
        "issuer_url = \"https://a.example.com\"\ntype = \"uri\"",
        "issuer_url = \"https://a.example.com\"\ntype = \"username\"",
        // bad values
        "issuer_url = \"https://a.example.com\"\ntype = \"spiffe\"\nspiffe_trust_domain = \"Example.COM\"",
        "issuer_url = \"https://a.example.com\"\ntype = \"email\"\nissuer_claim = \"federated_claims.connector_id\"",
        "issuer_url = \"https://a.example.com\"\ntype = \"email\"\nissuer_claim = \"$..x\"",
        "issuer_url = \"https://a.example.com\"\ntype = \"uri\"\nsubject_domain = \"example.com\"",
        "issuer_url = \"https://a.example.com\"\ntype = \"uri\"\nsubject_domain = \"http://example.com\"",
        "issuer_url = \"https://a.example.com\"\ntype = \"uri\"\nsubject_domain = \"https://example.org\"",
        "issuer_url = \"https://a.example.com\"\ntype = \"username\"\nsubject_domain = \"https://example.com\"",
        "issuer_url = \"https://a.example.com\"\ntype = \"username\"\nsubject_domain = \"evil.org\"",
        "issuer_url = \"https://a.example.com\"\ntype = \"username\"\nsubject_domain = \"ex!ample.com\"",
    ];
    for fields in cases {
        let r = one(fields);
        assert!(matches!(r, Err(ConfigError::Invalid { .. })), "{fields}: {r:?}");
    }
    assert!(one(
        "issuer_url = \"https://accounts.example.com\"\ntype = \"uri\"\nsubject_domain = \"https://users.example.com\""
    )
    .is_ok());
    assert!(one(
        "issuer_url = \"https://accounts.example.com\"\ntype = \"username\"\nsubject_domain = \"example.com\""
    )
    .is_ok());
}

#[test]
fn ci_provider_references_and_templates() {
    assert_eq!(
        one("issuer_url = \"https://a.example.com\"\ntype = \"ci-provider\"\nci_provider = \"jenkins\"").unwrap_err(),
        ConfigError::UnknownCiProvider { issuer: "https://a.example.com".into(), name: "jenkins".into() }
    );
    for name in sigstead_oidc::BUILTIN_CI_PROVIDERS {
        assert!(one(&format!(
            "issuer_url = \"https://a.example.com\"\ntype = \"ci-provider\"\nci_provider = \"{name}\""
        ))
        .is_ok());
    }
    for bad in ["{{ .url", "{{ .url | html }}", "", "{{- .url }}"] {
        let src = format!("[ci_providers.bad]\nsubject_alternative_name_template = \"{}\"\n", bad.replace('"', "\\\""));
        assert!(matches!(build(&src), Err(ConfigError::BadTemplate { .. })), "{bad:?}");
    }
    let src = "[ci_providers.bad]\nsubject_alternative_name_template = \"{{ .url }}\"\n\
               [ci_providers.bad.extension_templates]\nbuild_trigger = \"{{ printf .x }}\"\n";
    assert!(
        matches!(build(src), Err(ConfigError::BadTemplate { provider, reason }) if provider == "bad" && reason.starts_with("build-trigger"))
    );
    let src = "[ci_providers.bad]\nsubject_alternative_name_template = \"{{ .url }}\"\n\
               [ci_providers.bad.default_template_values]\nurl = \"https://x\\ny\"\n";
    assert!(matches!(build(src), Err(ConfigError::BadTemplate { .. })));
}

#[test]
fn configured_provider_replaces_builtin() {
    let src = r#"
[[issuers]]
issuer_url = "https://ghe.example.com/_services/token"
type = "ci-provider"
ci_provider = "github-workflow"

[ci_providers.github-workflow]
subject_alternative_name_template = "{{ .url }}/{{ .job_workflow_ref }}"
[ci_providers.github-workflow.default_template_values]
url = "https://ghe.example.com"
"#;
    let set = build(src).unwrap();
    let IssuerKind::CiProvider { provider } = set.issuers()[0].kind() else { panic!() };
    assert_eq!(provider.name(), "github-workflow");
    let claims = sigstead_oidc::Claims::from_json(
        br#"{"iss":"https://ghe.example.com/_services/token","sub":"repo:o/r","job_workflow_ref":"o/r/.github/workflows/w.yml@refs/heads/main"}"#,
    )
    .unwrap();
    let id = sigstead_oidc::derive_identity(&claims, &set.issuers()[0]).unwrap();
    assert_eq!(id.san().value(), "https://ghe.example.com/o/r/.github/workflows/w.yml@refs/heads/main");
    // No extension templates configured: only issuer and subject.
    assert_eq!(id.extensions().len(), 3);
}
