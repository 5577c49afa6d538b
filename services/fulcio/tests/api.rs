//! The CA over HTTP with a real CT log on a loopback socket: every request
//! shape real clients send gets a certificate whose embedded SCT verifies,
//! and every attack gets a 4xx with nothing issued or logged.

use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use sigstead_crypto::{EcdsaSigner, Signer};
use sigstead_testkit::jwt::{assemble, jwks_json, TestKey};
use std::sync::Arc;
use tower::ServiceExt;

const ISS: &str = "https://issuer.test";

struct Fx {
    app: axum::Router,
    idp: TestKey,
    ct_key: Arc<EcdsaSigner>,
    ct_url: String,
    chain: Vec<Vec<u8>>,
    _dir: tempfile::TempDir,
    /// Keeps the test kit's CT log (and its database directory) alive.
    _ct: Option<sigstead_testkit::stack::TestCtLog>,
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

/// An ES256 token with exactly `header` (attack fixtures choose it).
fn jwt(key: &TestKey, header: Value, claims: Value) -> String {
    assemble(&header, &claims, |m| key.sign("ES256", m))
}

fn other_idp_for_kid() -> TestKey {
    TestKey::ec256("k2")
}

fn claims(email: &str) -> Value {
    json!({"iss": ISS, "aud": "sigstore", "sub": email, "email": email, "email_verified": true,
           "iat": now() - 5, "exp": now() + 300})
}

fn token(f: &Fx, c: Value) -> String {
    jwt(&f.idp, json!({"alg": "ES256", "kid": "k1", "typ": "JWT"}), c)
}

async fn fixture_with_ct(ct_url: Option<String>) -> Fx {
    fixture_with(ct_url, None, "").await
}

/// The CT log served over HTTPS: its certificate and key (PEM), and the CA
/// certificate the CA is told to trust for outgoing HTTPS (`[outbound_tls]`).
struct CtTls {
    cert_pem: String,
    key_pem: String,
    /// The CA that really issued `cert_pem` (the test's own client trusts it).
    issuer_pem: String,
    trusted_ca_pem: String,
}

async fn fixture_with(ct_url: Option<String>, ct_tls: Option<CtTls>, tail: &str) -> Fx {
    let dir = tempfile::tempdir().unwrap();
    let inter_key = Arc::new(EcdsaSigner::generate_p256());
    let (root, inter) = sigstead_ca::generate_ca(
        "fulcio test",
        Arc::new(EcdsaSigner::generate_p256()),
        inter_key.clone(),
        time::OffsetDateTime::now_utc() - time::Duration::hours(1),
        1,
    )
    .unwrap();
    // CT log on a loopback socket (the test kit's).
    let test_ct = sigstead_testkit::stack::TestCtLog::start(vec![root.clone()]).await;
    let (ct, ct_key) = (test_ct.ct.clone(), test_ct.key.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut outbound = String::new();
    let live_ct_url = match &ct_tls {
        None => {
            let url = format!("http://{}", listener.local_addr().unwrap());
            tokio::spawn(async move { axum::serve(listener, sigstead_ctlog::router(ct)).await.unwrap() });
            url
        }
        Some(tls) => {
            std::fs::write(dir.path().join("ct-tls.crt"), &tls.cert_pem).unwrap();
            std::fs::write(dir.path().join("ct-tls.key"), &tls.key_pem).unwrap();
            std::fs::write(dir.path().join("ct-ca.pem"), &tls.trusted_ca_pem).unwrap();
            std::fs::write(dir.path().join("ct-issuer.pem"), &tls.issuer_pem).unwrap();
            outbound = "[outbound_tls]\nca_file = \"ct-ca.pem\"\n".to_string();
            let mut http = sigstead_server::HttpConfig {
                tls_cert_file: Some("ct-tls.crt".into()),
                tls_key_file: Some("ct-tls.key".into()),
                ..Default::default()
            };
            http.resolve(dir.path()).unwrap();
            let url = format!("https://localhost:{}", listener.local_addr().unwrap().port());
            let app = sigstead_ctlog::router(ct);
            tokio::spawn(sigstead_server::serve(app, listener, http.tls().unwrap(), std::future::pending()));
            url
        }
    };
    let ct_url = ct_url.unwrap_or(live_ct_url.clone());

    let idp = TestKey::ec256("k1");
    std::fs::write(dir.path().join("jwks.json"), jwks_json(&[&idp])).unwrap();
    let pem = |d: &[u8]| sigstead_crypto::pem_encode("CERTIFICATE", d);
    std::fs::write(dir.path().join("chain.pem"), format!("{}{}", pem(&inter), pem(&root))).unwrap();
    std::fs::write(dir.path().join("ca.pem"), inter_key.to_encrypted_pkcs8_pem(b"pw").unwrap()).unwrap();
    std::fs::write(dir.path().join("ca.pass"), "pw\n").unwrap();
    let cfg = format!(
        r#"
listen = "127.0.0.1:0"
ct_log_url = "{ct_url}"
ca_chain = "chain.pem"
[ca_key.file]
path = "ca.pem"
password_file = "ca.pass"
[static_jwks]
"{ISS}" = "jwks.json"
[[oidc.issuers]]
issuer_url = "{ISS}"
type = "email"
[[oidc.issuers]]
wildcard_issuer_url = "https://*.meta.test"
type = "email"
{outbound}{tail}"#
    );
    let config = sigstead_fulcio::FulcioConfig::parse(&cfg, dir.path()).unwrap();
    let f = sigstead_fulcio::open(&config).unwrap();
    Fx {
        app: sigstead_fulcio::router(f),
        idp,
        ct_key,
        ct_url: live_ct_url,
        chain: vec![inter, root],
        _dir: dir,
        _ct: Some(test_ct),
    }
}

async fn fixture() -> Fx {
    fixture_with_ct(None).await
}

async fn call(app: &axum::Router, req: Request<Body>) -> (StatusCode, String, String) {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let ct = resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    let body = String::from_utf8(resp.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    (status, ct, body)
}

async fn post_v2(f: &Fx, bearer: Option<&str>, body: Value) -> (StatusCode, Value) {
    let mut req = Request::post("/api/v2/signingCert").header("content-type", "application/json");
    if let Some(t) = bearer {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let (s, _, b) = call(&f.app, req.body(Body::from(body.to_string())).unwrap()).await;
    (s, serde_json::from_str(&b).unwrap_or(Value::Null))
}

async fn ct_size(f: &Fx) -> u64 {
    let mut tls = sigstead_server::OutboundTls::default();
    if f.ct_url.starts_with("https://") {
        tls.ca_file = Some(f._dir.path().join("ct-issuer.pem"));
    }
    let http = tls.http_client(std::time::Duration::from_secs(10)).unwrap();
    let v: Value = http.get(format!("{}/ct/v1/get-sth", f.ct_url)).send().await.unwrap().json().await.unwrap();
    v["tree_size"].as_u64().unwrap()
}

/// Checks a returned chain: three certificates, the leaf certifies `spki`
/// for `email`, and its single embedded SCT verifies against the CT key.
fn check_chain(f: &Fx, certs: &[Vec<u8>], spki: &[u8], email: &str) {
    use der::{Decode, Encode};
    assert_eq!(certs.len(), 3, "leaf, intermediate, root");
    assert_eq!(&certs[1..], &f.chain[..]);
    let leaf = x509_cert::Certificate::from_der(&certs[0]).unwrap();
    assert_eq!(leaf.tbs_certificate.subject_public_key_info.to_der().unwrap(), spki);
    assert_eq!(sigstead_crypto::certificate_identities(&certs[0]), vec![email.to_string()]);
    let exts = leaf.tbs_certificate.extensions.unwrap();
    let issuer_ext = exts.iter().find(|e| e.extn_id.to_string() == "1.3.6.1.4.1.57264.1.1").expect("issuer OID 1.1");
    assert_eq!(issuer_ext.extn_value.as_bytes(), ISS.as_bytes());
    assert!(exts.iter().any(|e| e.extn_id.to_string() == "1.3.6.1.4.1.57264.1.8"), "issuer OID 1.8");
    let (tbs, scts) = sigstead_ct::final_cert_tbs_and_scts(&certs[0]).unwrap();
    assert_eq!(scts.len(), 1, "exactly one embedded SCT");
    let entry = sigstead_ct::LogEntry::Precert { issuer_key_hash: sigstead_ct::spki_hash(&certs[1]).unwrap(), tbs };
    scts[0].verify(&entry, f.ct_key.public_key_der()).expect("SCT verifies against the CT key");
}

fn pem_certs(v: &Value) -> Vec<Vec<u8>> {
    v["signedCertificateEmbeddedSct"]["chain"]["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| sigstead_crypto::pem_decode_first(p.as_str().unwrap().as_bytes()).unwrap().1)
        .collect()
}

fn client_key() -> (EcdsaKeyPair, Vec<u8>, String) {
    use aws_lc_rs::encoding::AsDer;
    let k = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING).unwrap();
    let spki = k.public_key().as_der().unwrap().as_ref().to_vec();
    let pem = sigstead_crypto::pem_encode("PUBLIC KEY", &spki);
    (k, spki, pem)
}

fn pop(k: &EcdsaKeyPair, subject: &str) -> String {
    STANDARD.encode(k.sign(&aws_lc_rs::rand::SystemRandom::new(), subject.as_bytes()).unwrap().as_ref())
}

#[tokio::test]
async fn public_key_request_with_bearer_token_cosign_shape() {
    let f = fixture().await;
    let (k, spki, pem) = client_key();
    let t = token(&f, claims("alice@example.com"));
    let body = json!({"publicKeyRequest": {"publicKey": {"algorithm": "ECDSA", "content": pem}, "proofOfPossession": pop(&k, "alice@example.com")}});
    let (s, v) = post_v2(&f, Some(&t), body).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    check_chain(&f, &pem_certs(&v), &spki, "alice@example.com");
    assert_eq!(ct_size(&f).await, 1, "the precertificate was logged");
}

#[tokio::test]
async fn body_token_with_crlf_pem_and_empty_algorithm_sigstore_js_shape() {
    let f = fixture().await;
    let (k, spki, pem) = client_key();
    let t = token(&f, claims("bob@example.com"));
    let body = json!({"credentials": {"oidcIdentityToken": t},
        "publicKeyRequest": {"publicKey": {"algorithm": "", "content": pem.replace('\n', "\r\n")}, "proofOfPossession": pop(&k, "bob@example.com")}});
    let (s, v) = post_v2(&f, None, body).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    check_chain(&f, &pem_certs(&v), &spki, "bob@example.com");
}

#[tokio::test]
async fn csr_with_bearer_token_sigstore_python_shape() {
    let f = fixture().await;
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name = rcgen::DistinguishedName::new();
    let csr = params.serialize_request(&key).unwrap().pem().unwrap();
    let t = token(&f, claims("carol@example.com"));
    let (s, v) = post_v2(&f, Some(&t), json!({"certificateSigningRequest": STANDARD.encode(csr)})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    check_chain(&f, &pem_certs(&v), &rcgen::PublicKeyData::subject_public_key_info(&key), "carol@example.com");

    // csr-asking-for-ca
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let csr = params.serialize_request(&key).unwrap().pem().unwrap();
    let (s, v) = post_v2(&f, Some(&t), json!({"certificateSigningRequest": STANDARD.encode(csr)})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["code"], 3);
    // csr-extra-extensions
    let mut p2 = rcgen::CertificateParams::new(vec!["evil.example".to_string()]).unwrap();
    p2.distinguished_name = rcgen::DistinguishedName::new();
    let csr = p2.serialize_request(&key).unwrap().pem().unwrap();
    let (s, _) = post_v2(&f, Some(&t), json!({"certificateSigningRequest": STANDARD.encode(csr)})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(ct_size(&f).await, 1, "only the good request was logged");
}

#[tokio::test]
async fn legacy_v1_answers_201_with_a_pem_chain() {
    let f = fixture().await;
    let (k, spki, pem) = client_key();
    let t = token(&f, claims("dave@example.com"));
    let body = json!({"publicKey": {"content": STANDARD.encode(&pem), "algorithm": ""}, "signedEmailAddress": pop(&k, "dave@example.com")});
    let req = Request::post("/api/v1/signingCert")
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {t}"))
        .body(Body::from(body.to_string()))
        .unwrap();
    let (s, ct, b) = call(&f.app, req).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(ct, "application/pem-certificate-chain");
    let certs: Vec<Vec<u8>> = sigstead_crypto::pem_decode_all(b.as_bytes()).into_iter().map(|(_, d)| d).collect();
    check_chain(&f, &certs, &spki, "dave@example.com");
}

#[tokio::test]
async fn attacks_get_400_and_nothing_is_issued_or_logged() {
    let f = fixture().await;
    let (k, _, pem) = client_key();
    let good_pop = pop(&k, "eve@example.com");
    let body = |p: &str| json!({"publicKeyRequest": {"publicKey": {"algorithm": "ECDSA", "content": pem}, "proofOfPossession": p}});
    let mut bad_tokens = vec![
        (
            "wrong-audience",
            token(
                &f,
                json!({"aud": "not-sigstore", "iss": ISS, "sub": "eve@example.com", "email": "eve@example.com", "email_verified": true, "iat": now(), "exp": now() + 300}),
            ),
        ),
        (
            "expired",
            token(
                &f,
                json!({"aud": "sigstore", "iss": ISS, "sub": "eve@example.com", "email": "eve@example.com", "email_verified": true, "iat": now() - 7200, "exp": now() - 3600}),
            ),
        ),
        (
            "email-unverified",
            token(
                &f,
                json!({"aud": "sigstore", "iss": ISS, "sub": "eve@example.com", "email": "eve@example.com", "email_verified": false, "iat": now(), "exp": now() + 300}),
            ),
        ),
        (
            "unknown-issuer",
            token(
                &f,
                json!({"aud": "sigstore", "iss": "https://other.test", "sub": "eve@example.com", "email": "eve@example.com", "email_verified": true, "iat": now(), "exp": now() + 300}),
            ),
        ),
        ("san-injection", token(&f, claims("eve@example.com\nbob@example.com"))),
    ];
    let c = claims("eve@example.com");
    let none = format!("{}.{}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#), URL_SAFE_NO_PAD.encode(c.to_string()));
    bad_tokens.push(("alg-none", none));
    let other_idp = TestKey::ec256("k1");
    bad_tokens.push(("signed-by-another-key", jwt(&other_idp, json!({"alg": "ES256", "kid": "k1"}), c.clone())));
    bad_tokens.push(("oversized-token", token(&f, json!({"aud": "sigstore", "iss": ISS, "sub": "e", "iat": now(), "exp": now() + 300, "pad": "x".repeat(20_000)}))));
    let with = |extra: Value| {
        let mut c = claims("eve@example.com");
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    };
    // not-yet-valid: nbf ten minutes ahead (leeway is 60 s).
    bad_tokens.push(("not-yet-valid", token(&f, with(json!({"nbf": now() + 600})))));
    // issued-in-future: iat ten minutes ahead.
    bad_tokens.push(("issued-in-future", token(&f, with(json!({"iat": now() + 600})))));
    // unknown-kid: a key ID the issuer's JWKS does not have.
    bad_tokens.push(("unknown-kid", jwt(&other_idp_for_kid(), json!({"alg": "ES256", "kid": "k2"}), with(json!({})))));
    // hs256-signed-with-public-key: HMAC keyed with the issuer's public key bytes.
    {
        let h = URL_SAFE_NO_PAD.encode(json!({"alg": "HS256", "kid": "k1"}).to_string());
        let p = URL_SAFE_NO_PAD.encode(with(json!({})).to_string());
        let mac_key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &f.idp.public_key_bytes());
        let tag = aws_lc_rs::hmac::sign(&mac_key, format!("{h}.{p}").as_bytes());
        bad_tokens.push(("hs256-signed-with-public-key", format!("{h}.{p}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))));
    }
    // metaissuer-wildcard-abuse: `*` must match exactly one URL label.
    for iss in
        ["https://a.b.meta.test", "https://evil.test/.meta.test", "https://meta.test", "https://x.meta.test.evil.test"]
    {
        bad_tokens.push(("metaissuer-wildcard-abuse", token(&f, with(json!({"iss": iss})))));
    }
    for (name, t) in &bad_tokens {
        let (s, v) = post_v2(&f, Some(t), body(&good_pop)).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{name}: {v}");
        assert_eq!(v["code"], 3, "{name}");
        assert!(v["message"].as_str().unwrap().contains("identity token"), "{name}: {v}");
    }
    let t = token(&f, c);
    // bad-proof-of-possession: signed by another key / over another subject
    let (other, _, _) = client_key();
    for p in [pop(&other, "eve@example.com"), pop(&k, "mallory@example.com"), "!!".into()] {
        let (s, v) = post_v2(&f, Some(&t), body(&p)).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    }
    // unsupported-key-type / garbage key
    let (s, v) = post_v2(&f, Some(&t), json!({"publicKeyRequest": {"publicKey": {"content": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"}, "proofOfPossession": good_pop}})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    // no token at all
    let (s, _) = post_v2(&f, None, body(&good_pop)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(ct_size(&f).await, 0, "nothing was logged");
}

#[tokio::test]
async fn unreachable_ct_log_means_no_certificate() {
    let f = fixture_with_ct(Some("http://127.0.0.1:9".into())).await;
    let (k, _, pem) = client_key();
    let t = token(&f, claims("frank@example.com"));
    let (s, v) = post_v2(
        &f,
        Some(&t),
        json!({"publicKeyRequest": {"publicKey": {"content": pem}, "proofOfPossession": pop(&k, "frank@example.com")}}),
    )
    .await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(v["message"], "Error entering certificate in CTL");
    assert!(v.get("signedCertificateEmbeddedSct").is_none());
}

#[tokio::test]
async fn trust_bundle_and_configuration() {
    let f = fixture().await;
    let (s, _, b) = call(&f.app, Request::get("/api/v2/trustBundle").body(Body::empty()).unwrap()).await;
    assert_eq!(s, StatusCode::OK);
    let v: Value = serde_json::from_str(&b).unwrap();
    assert_eq!(v["chains"][0]["certificates"].as_array().unwrap().len(), 2);
    let (_, _, b) = call(&f.app, Request::get("/api/v2/configuration").body(Body::empty()).unwrap()).await;
    let v: Value = serde_json::from_str(&b).unwrap();
    assert_eq!(v["issuers"][0]["issuerUrl"], ISS);
    assert_eq!(v["issuers"][0]["challengeClaim"], "email");
    let (s, ct, b) = call(&f.app, Request::get("/api/v1/rootCert").body(Body::empty()).unwrap()).await;
    assert_eq!((s, ct.as_str()), (StatusCode::OK, "application/pem-certificate-chain"));
    assert_eq!(sigstead_crypto::pem_decode_all(b.as_bytes()).len(), 2);
}

/// An in-network IdP over https with a private CA: discovery and JWKS are
/// fetched over TLS when (and only when) that CA is configured.
#[tokio::test]
async fn https_discovery_with_a_private_ca() {
    use axum::routing::get;
    for trust_private_ca in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        // The IdP: discovery + JWKS over HTTPS with a self-signed certificate for 127.0.0.1.
        let tls_cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
        std::fs::write(dir.path().join("idp.crt"), tls_cert.cert.pem()).unwrap();
        std::fs::write(dir.path().join("idp.key"), tls_cert.signing_key.serialize_pem()).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let iss = format!("https://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let idp = TestKey::ec256("k1");
        let jwks: Value = serde_json::from_str(&jwks_json(&[&idp])).unwrap();
        let discovery = json!({"issuer": iss, "jwks_uri": format!("{iss}/jwks")});
        let app = axum::Router::new()
            .route("/.well-known/openid-configuration", get(move || std::future::ready(axum::Json(discovery.clone()))))
            .route("/jwks", get(move || std::future::ready(axum::Json(jwks.clone()))));
        let mut http = sigstead_server::HttpConfig {
            tls_cert_file: Some("idp.crt".into()),
            tls_key_file: Some("idp.key".into()),
            ..Default::default()
        };
        http.resolve(dir.path()).unwrap();
        tokio::spawn(sigstead_server::serve(app, listener, http.tls().unwrap(), std::future::pending()));

        // CA and CT log.
        let base = fixture().await;
        let pem = |d: &[u8]| sigstead_crypto::pem_encode("CERTIFICATE", d);
        std::fs::write(dir.path().join("chain.pem"), format!("{}{}", pem(&base.chain[0]), pem(&base.chain[1])))
            .unwrap();
        let ca_line = if trust_private_ca { "[outbound_tls]\nca_file = \"idp.crt\"\n" } else { "" };
        let cfg = format!(
            "listen = \"127.0.0.1:0\"\nct_log_url = \"{}\"\nca_chain = \"chain.pem\"\n[ca_key.file]\npath = \"{}\"\npassword_file = \"{}\"\n{ca_line}[[oidc.issuers]]\nissuer_url = \"{iss}\"\ntype = \"email\"\n",
            base.ct_url,
            base._dir.path().join("ca.pem").display(),
            base._dir.path().join("ca.pass").display(),
        );
        let config = sigstead_fulcio::FulcioConfig::parse(&cfg, dir.path()).unwrap();
        let app = sigstead_fulcio::router(sigstead_fulcio::open(&config).unwrap());
        let f = Fx {
            app,
            idp,
            ct_key: base.ct_key.clone(),
            ct_url: base.ct_url.clone(),
            chain: base.chain.clone(),
            _dir: dir,
            _ct: None,
        };
        let mut c = claims("ida@example.com");
        c["iss"] = json!(iss);
        let t = token(&f, c);
        let (k, spki, key_pem) = client_key();
        let (s, v) = post_v2(&f, Some(&t), json!({"publicKeyRequest": {"publicKey": {"content": key_pem}, "proofOfPossession": pop(&k, "ida@example.com")}})).await;
        if trust_private_ca {
            assert_eq!(s, StatusCode::OK, "{v}");
            let certs = pem_certs(&v);
            assert_eq!(sigstead_crypto::certificate_identities(&certs[0]), vec!["ida@example.com".to_string()]);
            let _ = spki;
        } else {
            assert_eq!(
                s,
                StatusCode::BAD_REQUEST,
                "an IdP whose certificate is not trusted cannot vouch for anyone: {v}"
            );
            assert_eq!(ct_size(&f).await, 0);
        }
    }
}

/// A private CA and a TLS server certificate it issued for `localhost`.
fn private_ca_and_server_cert() -> (String, String, String) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(rcgen::DnType::CommonName, "sigstead test internal CA");
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
    let server_key = rcgen::KeyPair::generate().unwrap();
    let server =
        rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap().signed_by(&server_key, &ca).unwrap();
    (ca.pem(), server.pem(), server_key.serialize_pem())
}

/// The CA reaches an `https://` CT log whose certificate a private CA
/// issued, once that CA is in `[outbound_tls] ca_file`: the certificate is
/// issued with a verifying SCT and the precertificate is in the log.
#[tokio::test]
async fn ct_log_over_https_with_a_private_ca() {
    let (ca_pem, cert_pem, key_pem) = private_ca_and_server_cert();
    let tls = CtTls { cert_pem, key_pem, issuer_pem: ca_pem.clone(), trusted_ca_pem: ca_pem };
    let f = fixture_with(None, Some(tls), "").await;
    assert!(f.ct_url.starts_with("https://localhost:"), "{}", f.ct_url);
    let (k, spki, pem) = client_key();
    let t = token(&f, claims("tls@example.com"));
    let body =
        json!({"publicKeyRequest": {"publicKey": {"content": pem}, "proofOfPossession": pop(&k, "tls@example.com")}});
    let (s, v) = post_v2(&f, Some(&t), body).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    check_chain(&f, &pem_certs(&v), &spki, "tls@example.com");
    assert_eq!(ct_size(&f).await, 1, "the precertificate was logged over HTTPS");
}

/// A CT log whose certificate does not chain to anything the CA trusts
/// (here: issued by another private CA) is refused at the TLS handshake:
/// no certificate, nothing logged.
#[tokio::test]
async fn ct_log_with_an_untrusted_certificate_is_refused() {
    let (issuer_pem, cert_pem, key_pem) = private_ca_and_server_cert();
    let (other_ca_pem, _, _) = private_ca_and_server_cert();
    let f = fixture_with(None, Some(CtTls { cert_pem, key_pem, issuer_pem, trusted_ca_pem: other_ca_pem }), "").await;
    let (k, _, pem) = client_key();
    let t = token(&f, claims("mitm@example.com"));
    let body =
        json!({"publicKeyRequest": {"publicKey": {"content": pem}, "proofOfPossession": pop(&k, "mitm@example.com")}});
    let (s, v) = post_v2(&f, Some(&t), body).await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR, "{v}");
    assert_eq!(v["message"], "Error entering certificate in CTL");
    assert!(v.get("signedCertificateEmbeddedSct").is_none());
    assert_eq!(ct_size(&f).await, 0, "nothing was logged");
}

/// `identity-flood`: one CI identity asking for more certificates than
/// `[identity_rate_limit]` allows gets 429 (RESOURCE_EXHAUSTED) with
/// Retry-After, nothing is logged for it, and another identity is served.
#[tokio::test]
async fn an_identity_over_its_certificate_rate_gets_429() {
    // One certificate every 10 s: slow enough that the bucket cannot refill
    // while a loaded machine issues the first two (at 60/min it did, once).
    let f = fixture_with(None, None, "[identity_rate_limit]\nper_minute = 6\nburst = 2\n").await;
    let request = |f: &Fx, email: &str| {
        let (k, _, pem) = client_key();
        let body = json!({"publicKeyRequest": {"publicKey": {"algorithm": "ECDSA", "content": pem}, "proofOfPossession": pop(&k, email)}});
        (token(f, claims(email)), body)
    };
    for _ in 0..2 {
        let (t, body) = request(&f, "ci@example.com");
        assert_eq!(post_v2(&f, Some(&t), body).await.0, StatusCode::OK, "within the burst");
    }
    let logged = ct_size(&f).await;
    let (t, body) = request(&f, "ci@example.com");
    let req = Request::post("/api/v2/signingCert")
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {t}"))
        .body(Body::from(body.to_string()))
        .unwrap();
    let resp = f.app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=10).contains(&retry), "one certificate every 10 s at 6/min: Retry-After {retry}");
    let body: Value = serde_json::from_slice(&resp.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(body["code"], 8, "RESOURCE_EXHAUSTED: {body}");
    assert!(body["message"].as_str().unwrap().contains("rate limit"), "{body}");
    assert_eq!(ct_size(&f).await, logged, "nothing logged for the refused request");
    let (t, body) = request(&f, "other@example.com");
    assert_eq!(post_v2(&f, Some(&t), body).await.0, StatusCode::OK, "another identity has its own bucket");
}
