//! Token verification: happy paths per algorithm and one fixture per attack.
//! Every rejection asserts the specific error variant.

mod common;

use aws_lc_rs::hmac;
use common::*;
use serde_json::json;
use sigstead_oidc::{oid, peek_issuer, verify_token, Algorithm, Jwks, SubjectAltName, TokenError, MAX_TOKEN_BYTES};

fn verify(token: &str) -> Result<sigstead_oidc::VerifiedToken, TokenError> {
    verify_token(token, email_issuer(), &all_jwks(), NOW, LEEWAY)
}

// ---------------------------------------------------------------------------
// Happy paths
// ---------------------------------------------------------------------------

#[test]
fn happy_path_every_algorithm() {
    let cases: [(&TestKey, &str, Algorithm); 6] = [
        (&RSA, "RS256", Algorithm::Rs256),
        (&RSA, "RS384", Algorithm::Rs384),
        (&RSA, "RS512", Algorithm::Rs512),
        (&EC256, "ES256", Algorithm::Es256),
        (&EC384, "ES384", Algorithm::Es384),
        (&ED, "EdDSA", Algorithm::EdDsa),
    ];
    for (key, alg, want) in cases {
        let token = mint_alg(key, alg, &email_claims());
        let v = verify(&token).unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(v.algorithm(), want);
        assert_eq!(v.key_id(), Some(key.kid.as_str()));
        assert_eq!(v.issuer(), ISS);
        assert_eq!(v.subject(), "248289761001");
        assert_eq!(v.audience(), ["sigstore"]);
        assert_eq!(v.issued_at(), NOW - 10);
        assert_eq!(v.expires_at(), NOW + 290);
        let id = v.identity();
        assert_eq!(id.principal_name(), "alice@example.com");
        assert_eq!(id.san(), &SubjectAltName::Email("alice@example.com".into()));
        assert_eq!(id.extension(oid::ISSUER), Some(ISS));
        assert_eq!(id.extension(oid::ISSUER_V2), Some(ISS));
        assert_eq!(id.extension(oid::TOKEN_SUBJECT), Some("248289761001"));
        assert_eq!(v.proof_of_possession_subjects(), ["alice@example.com", "248289761001"]);
    }
}

#[test]
fn peek_issuer_reads_unverified_iss_for_lookup() {
    let token = mint(&EC256, &email_claims());
    assert_eq!(peek_issuer(&token).unwrap(), ISS);
    assert!(SET.lookup(&peek_issuer(&token).unwrap()).is_some());
    let no_iss = mint(&EC256, &without(email_claims(), "iss"));
    assert_eq!(peek_issuer(&no_iss).unwrap_err(), TokenError::MissingClaim("iss".into()));
}

#[test]
fn audience_array_containing_client_id_is_accepted() {
    let token = mint(&EC256, &with(email_claims(), "aud", json!(["other", "sigstore"])));
    assert_eq!(verify(&token).unwrap().audience(), ["other", "sigstore"]);
}

#[test]
fn no_kid_with_single_key_jwks_uses_that_key() {
    let header = json!({"alg": "ES256"});
    let token = assemble(&header, &email_claims(), |m| EC256.sign("ES256", m));
    let one = jwks(&[&EC256]);
    assert!(verify_token(&token, email_issuer(), &one, NOW, LEEWAY).is_ok());
}

#[test]
fn email_verified_string_true_is_accepted() {
    let token = mint(&EC256, &with(email_claims(), "email_verified", json!("true")));
    assert!(verify(&token).is_ok());
}

#[test]
fn leeway_boundaries() {
    // exp + leeway must be strictly after now.
    let ok = mint(&EC256, &with(email_claims(), "exp", json!(NOW - LEEWAY + 1)));
    assert!(verify(&ok).is_ok());
    let nbf_edge = mint(&EC256, &with(email_claims(), "nbf", json!(NOW + LEEWAY)));
    assert!(verify(&nbf_edge).is_ok());
    let iat_edge = mint(&EC256, &with(without(email_claims(), "nbf"), "iat", json!(NOW + LEEWAY)));
    assert!(verify(&iat_edge).is_ok());
    // Fractional NumericDates are rounded toward the stricter side.
    let frac = mint(&EC256, &with(email_claims(), "exp", json!(NOW as f64 - LEEWAY as f64 + 0.5)));
    assert!(matches!(verify(&frac), Err(TokenError::Expired { .. })));
}

// ---------------------------------------------------------------------------
// Algorithm attacks
// ---------------------------------------------------------------------------

#[test]
fn alg_none() {
    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = json!({"alg": alg, "kid": EC256.kid});
        let unsigned = assemble(&header, &email_claims(), |_| Vec::new());
        assert_eq!(verify(&unsigned).unwrap_err(), TokenError::DisallowedAlgorithm(alg.into()), "{alg}");
        // Also with a (valid ES256) signature attached.
        let signed = assemble(&header, &email_claims(), |m| EC256.sign("ES256", m));
        assert_eq!(verify(&signed).unwrap_err(), TokenError::DisallowedAlgorithm(alg.into()));
    }
    let header = json!({"kid": EC256.kid});
    let no_alg = assemble(&header, &email_claims(), |m| EC256.sign("ES256", m));
    assert!(matches!(verify(&no_alg), Err(TokenError::Malformed(_))));
}

#[test]
fn hs256_signed_with_rsa_public_key() {
    // The classic confusion attack: HMAC keyed with bytes of the public key.
    let candidates =
        [RSA.rsa_public_der(), RSA.jwk().to_string().into_bytes(), common::b64(RSA.rsa_public_der()).into_bytes()];
    for secret in candidates {
        for (alg, hmac_alg) in
            [("HS256", hmac::HMAC_SHA256), ("HS384", hmac::HMAC_SHA384), ("HS512", hmac::HMAC_SHA512)]
        {
            let header = json!({"alg": alg, "kid": RSA.kid, "typ": "JWT"});
            let key = hmac::Key::new(hmac_alg, &secret);
            let token = assemble(&header, &email_claims(), |m| hmac::sign(&key, m).as_ref().to_vec());
            assert_eq!(verify(&token).unwrap_err(), TokenError::DisallowedAlgorithm(alg.into()));
        }
    }
}

#[test]
fn alg_mismatch() {
    // ES256 header naming the RSA key (signed with an EC key).
    let header = json!({"alg": "ES256", "kid": RSA.kid});
    let token = assemble(&header, &email_claims(), |m| EC256.sign("ES256", m));
    assert_eq!(verify(&token).unwrap_err(), TokenError::AlgorithmMismatch { alg: "ES256".into(), key: "RSA" });

    // Every other wrong pairing.
    let pairs: [(&str, &TestKey); 6] =
        [("RS256", &EC256), ("ES384", &EC256), ("ES256", &EC384), ("EdDSA", &EC256), ("ES256", &ED), ("RS512", &ED)];
    for (alg, key) in pairs {
        let header = json!({"alg": alg, "kid": key.kid});
        let token = assemble(&header, &email_claims(), |m| key.sign(key.default_alg(), m));
        assert!(matches!(verify(&token), Err(TokenError::AlgorithmMismatch { .. })), "{alg} with {}", key.kid);
    }
}

#[test]
fn alg_mismatch_with_jwk_pinned_alg() {
    let mut jwk = RSA.jwk();
    jwk["alg"] = json!("RS256");
    let set = Jwks::from_json(json!({"keys": [jwk]}).to_string().as_bytes()).unwrap();
    let rs512 = mint_alg(&RSA, "RS512", &email_claims());
    assert_eq!(
        verify_token(&rs512, email_issuer(), &set, NOW, LEEWAY).unwrap_err(),
        TokenError::AlgorithmMismatch { alg: "RS512".into(), key: "RSA" }
    );
    let rs256 = mint_alg(&RSA, "RS256", &email_claims());
    assert!(verify_token(&rs256, email_issuer(), &set, NOW, LEEWAY).is_ok());
}

#[test]
fn unlisted_algorithms_refused() {
    for alg in ["PS256", "ES512", "RS1", "Ed25519", "ES256K", ""] {
        let header = json!({"alg": alg, "kid": RSA.kid});
        let token = assemble(&header, &email_claims(), |m| RSA.sign("RS256", m));
        assert_eq!(verify(&token).unwrap_err(), TokenError::DisallowedAlgorithm(alg.into()));
    }
}

#[test]
fn crit_header_refused() {
    let header = json!({"alg": "ES256", "kid": EC256.kid, "crit": ["b64"], "b64": false});
    let token = assemble(&header, &email_claims(), |m| EC256.sign("ES256", m));
    assert_eq!(verify(&token).unwrap_err(), TokenError::UnsupportedCriticalHeader);
}

#[test]
fn embedded_jwk_header_is_ignored() {
    // Attacker embeds their own key in the header; only the issuer's JWKS counts.
    let attacker = TestKey::ec256("attacker");
    let header = json!({"alg": "ES256", "kid": "attacker", "jwk": attacker.jwk()});
    let token = assemble(&header, &email_claims(), |m| attacker.sign("ES256", m));
    assert_eq!(verify(&token).unwrap_err(), TokenError::UnknownKid(Some("attacker".into())));
    // ...and with the issuer's kid, the signature fails.
    let header = json!({"alg": "ES256", "kid": EC256.kid, "jwk": attacker.jwk()});
    let token = assemble(&header, &email_claims(), |m| attacker.sign("ES256", m));
    assert_eq!(verify(&token).unwrap_err(), TokenError::BadSignature);
}

// ---------------------------------------------------------------------------
// Key selection and signature
// ---------------------------------------------------------------------------

#[test]
fn unknown_kid() {
    let header = json!({"alg": "ES256", "kid": "rotated-away"});
    let token = assemble(&header, &email_claims(), |m| EC256.sign("ES256", m));
    let err = verify(&token).unwrap_err();
    assert_eq!(err, TokenError::UnknownKid(Some("rotated-away".into())));
    assert!(err.should_refresh_jwks());
    // No kid and several keys: ambiguous, also "refresh" (maybe the set shrank).
    let header = json!({"alg": "ES256"});
    let token = assemble(&header, &email_claims(), |m| EC256.sign("ES256", m));
    assert_eq!(verify(&token).unwrap_err(), TokenError::UnknownKid(None));
    // Empty JWKS.
    let empty = Jwks::from_json(br#"{"keys":[]}"#).unwrap();
    assert_eq!(verify_token(&token, email_issuer(), &empty, NOW, LEEWAY).unwrap_err(), TokenError::UnknownKid(None));
}

#[test]
fn kid_of_skipped_key_is_unusable_key() {
    let doc = json!({"keys": [
        EC256.jwk(),
        {"kty": "RSA", "kid": "enc-key", "use": "enc", "n": common::b64(RSA.rsa_public_der()), "e": "AQAB"},
    ]});
    let set = Jwks::from_json(doc.to_string().as_bytes()).unwrap();
    let header = json!({"alg": "RS256", "kid": "enc-key"});
    let token = assemble(&header, &email_claims(), |m| RSA.sign("RS256", m));
    assert!(matches!(
        verify_token(&token, email_issuer(), &set, NOW, LEEWAY),
        Err(TokenError::UnusableKey { kid: Some(k), .. }) if k == "enc-key"
    ));
}

#[test]
fn signature_from_another_key_with_the_same_kid() {
    let impostor_ec = TestKey::ec256(&EC256.kid);
    let token = mint(&impostor_ec, &email_claims());
    assert_eq!(verify(&token).unwrap_err(), TokenError::BadSignature);

    let impostor_rsa = TestKey::rsa(&RSA.kid);
    let token = mint(&impostor_rsa, &email_claims());
    assert_eq!(verify(&token).unwrap_err(), TokenError::BadSignature);

    let impostor_ed = TestKey::ed25519(&ED.kid);
    let token = mint(&impostor_ed, &email_claims());
    assert_eq!(verify(&token).unwrap_err(), TokenError::BadSignature);
}

#[test]
fn tampered_payload() {
    for key in [&*RSA, &*EC256, &*EC384, &*ED] {
        let token = mint(key, &email_claims());
        let parts: Vec<&str> = token.split('.').collect();
        let evil = with(email_claims(), "email", json!("mallory@example.com"));
        let forged = format!("{}.{}.{}", parts[0], common::b64(evil.to_string()), parts[2]);
        assert_eq!(verify(&forged).unwrap_err(), TokenError::BadSignature, "{}", key.kid);
    }
}

#[test]
fn tampered_header_and_signature() {
    let token = mint(&EC256, &email_claims());
    let parts: Vec<&str> = token.split('.').collect();
    let header = json!({"alg": "ES256", "kid": EC256.kid, "typ": "at+jwt"});
    let forged = format!("{}.{}.{}", common::b64(header.to_string()), parts[1], parts[2]);
    assert_eq!(verify(&forged).unwrap_err(), TokenError::BadSignature);

    let mut sig = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, parts[2]).unwrap();
    sig[5] ^= 1;
    let flipped = format!("{}.{}.{}", parts[0], parts[1], common::b64(&sig));
    assert_eq!(verify(&flipped).unwrap_err(), TokenError::BadSignature);

    let truncated = format!("{}.{}.{}", parts[0], parts[1], common::b64(&sig[..63]));
    assert_eq!(verify(&truncated).unwrap_err(), TokenError::BadSignature);
}

// ---------------------------------------------------------------------------
// Structure
// ---------------------------------------------------------------------------

#[test]
fn oversized_token() {
    let big = "a".repeat(MAX_TOKEN_BYTES + 1);
    assert_eq!(verify(&big).unwrap_err(), TokenError::TooLarge { len: MAX_TOKEN_BYTES + 1, max: MAX_TOKEN_BYTES });
    // A validly signed token that is too big is refused before any parsing.
    let padded = with(email_claims(), "padding", json!("x".repeat(MAX_TOKEN_BYTES)));
    let token = mint(&EC256, &padded);
    assert!(matches!(verify(&token), Err(TokenError::TooLarge { .. })));
    assert!(matches!(peek_issuer(&token), Err(TokenError::TooLarge { .. })));
    // At the limit it is merely malformed.
    let at_limit = "a".repeat(MAX_TOKEN_BYTES);
    assert!(matches!(verify(&at_limit), Err(TokenError::Malformed(_))));
}

#[test]
fn malformed_structure() {
    let token = mint(&EC256, &email_claims());
    let parts: Vec<&str> = token.split('.').collect();
    let cases = [
        String::new(),
        format!("{}.{}", parts[0], parts[1]),
        format!("{token}.extra"),
        format!("{}=.{}.{}", parts[0], parts[1], parts[2]),
        format!("{} .{}.{}", parts[0], parts[1], parts[2]),
        format!("{}.{}.{}", common::b64("not json"), parts[1], parts[2]),
        format!("{}.{}.{}", common::b64("[1]"), parts[1], parts[2]),
        format!("Bearer {token}"),
    ];
    for c in cases {
        assert!(matches!(verify(&c), Err(TokenError::Malformed(_))), "{c:?}");
    }
}

#[test]
fn duplicate_claims_are_malformed_even_when_signed() {
    // {"email": honest, ..., "email": evil}: parsers disagree on which wins.
    let payload = format!(
        r#"{{"iss":"{ISS}","sub":"1","aud":"sigstore","iat":{i},"exp":{e},"email":"alice@example.com","email_verified":true,"email":"mallory@example.com"}}"#,
        i = NOW,
        e = NOW + 100
    );
    let input =
        format!("{}.{}", common::b64(json!({"alg":"ES256","kid":EC256.kid}).to_string()), common::b64(&payload));
    let token = format!("{input}.{}", common::b64(EC256.sign("ES256", input.as_bytes())));
    assert!(matches!(verify(&token), Err(TokenError::Malformed(m)) if m.contains("duplicate")));

    let header = r#"{"alg":"ES256","alg":"none","kid":"ec256-1"}"#;
    let input = format!("{}.{}", common::b64(header), common::b64(email_claims().to_string()));
    let token = format!("{input}.{}", common::b64(EC256.sign("ES256", input.as_bytes())));
    assert!(matches!(verify(&token), Err(TokenError::Malformed(m)) if m.contains("duplicate")));
}

// ---------------------------------------------------------------------------
// Claims
// ---------------------------------------------------------------------------

#[test]
fn wrong_audience() {
    let token = mint(&EC256, &with(email_claims(), "aud", json!("other-client")));
    assert_eq!(
        verify(&token).unwrap_err(),
        TokenError::WrongAudience { expected: "sigstore".into(), actual: vec!["other-client".into()] }
    );
    let token = mint(&EC256, &with(email_claims(), "aud", json!(["a", "sigstore-x", "Sigstore"])));
    assert!(matches!(verify(&token), Err(TokenError::WrongAudience { .. })));
    let token = mint(&EC256, &with(email_claims(), "aud", json!([])));
    assert!(matches!(verify(&token), Err(TokenError::WrongAudience { .. })));
    let token = mint(&EC256, &without(email_claims(), "aud"));
    assert_eq!(verify(&token).unwrap_err(), TokenError::MissingClaim("aud".into()));
    let token = mint(&EC256, &with(email_claims(), "aud", json!(["sigstore", 5])));
    assert!(matches!(verify(&token), Err(TokenError::InvalidClaim { claim, .. }) if claim == "aud"));
}

#[test]
fn unknown_issuer() {
    for iss in [
        "https://evil.example.com",
        "https://accounts.example.com/",
        "https://ACCOUNTS.example.com",
        "http://accounts.example.com",
        "https://accounts.example.com.evil.com",
    ] {
        assert!(SET.lookup(iss).is_none(), "{iss}");
    }
    // A token from one trusted issuer presented for another.
    let gh = SET.lookup("https://token.actions.githubusercontent.com").unwrap();
    let token = mint(&EC256, &email_claims());
    assert_eq!(
        verify_token(&token, gh, &all_jwks(), NOW, LEEWAY).unwrap_err(),
        TokenError::IssuerMismatch {
            expected: "https://token.actions.githubusercontent.com".into(),
            actual: ISS.into()
        }
    );
}

#[test]
fn expired() {
    let token = mint(&EC256, &with(email_claims(), "exp", json!(NOW - LEEWAY)));
    assert_eq!(verify(&token).unwrap_err(), TokenError::Expired { exp: NOW - LEEWAY, now: NOW });
    let token = mint(&EC256, &with(email_claims(), "exp", json!(1)));
    assert!(matches!(verify(&token), Err(TokenError::Expired { .. })));
    let token = mint(&EC256, &without(email_claims(), "exp"));
    assert_eq!(verify(&token).unwrap_err(), TokenError::MissingClaim("exp".into()));
    for bad in [json!("9999999999"), json!(-1), json!(null), json!(1e30)] {
        let token = mint(&EC256, &with(email_claims(), "exp", bad.clone()));
        assert!(matches!(verify(&token), Err(TokenError::InvalidClaim { claim, .. }) if claim == "exp"), "{bad}");
    }
}

#[test]
fn not_yet_valid() {
    let token = mint(&EC256, &with(email_claims(), "nbf", json!(NOW + LEEWAY + 1)));
    assert_eq!(verify(&token).unwrap_err(), TokenError::NotYetValid { nbf: NOW + LEEWAY + 1, now: NOW });
}

#[test]
fn issued_in_future() {
    let claims = with(without(email_claims(), "nbf"), "iat", json!(NOW + LEEWAY + 1));
    let token = mint(&EC256, &claims);
    assert_eq!(verify(&token).unwrap_err(), TokenError::IssuedInFuture { iat: NOW + LEEWAY + 1, now: NOW });
    let token = mint(&EC256, &without(email_claims(), "iat"));
    assert_eq!(verify(&token).unwrap_err(), TokenError::MissingClaim("iat".into()));
}

#[test]
fn missing_or_bad_sub() {
    let token = mint(&EC256, &without(email_claims(), "sub"));
    assert_eq!(verify(&token).unwrap_err(), TokenError::MissingClaim("sub".into()));
    let token = mint(&EC256, &with(email_claims(), "sub", json!("")));
    assert_eq!(verify(&token).unwrap_err(), TokenError::MissingClaim("sub".into()));
    let token = mint(&EC256, &with(email_claims(), "sub", json!(42)));
    assert!(matches!(verify(&token), Err(TokenError::InvalidClaim { claim, .. }) if claim == "sub"));
}

#[test]
fn email_unverified() {
    for v in [json!(false), json!("false"), json!("True"), json!("yes"), json!(1), json!(null), json!(["true"])] {
        let token = mint(&EC256, &with(email_claims(), "email_verified", v.clone()));
        assert_eq!(verify(&token).unwrap_err(), TokenError::EmailUnverified, "{v}");
    }
    let token = mint(&EC256, &without(email_claims(), "email_verified"));
    assert_eq!(verify(&token).unwrap_err(), TokenError::EmailUnverified);
    let token = mint(&EC256, &without(email_claims(), "email"));
    assert_eq!(verify(&token).unwrap_err(), TokenError::MissingClaim("email".into()));
}

#[test]
fn san_injection() {
    let bad_emails = [
        "alice@example.com\n",
        "alice@example.com\r\nX-Evil: 1",
        "alice@example.com\0.evil.com",
        "alice@example.com,mallory@evil.com",
        "alice@example.com, mallory@evil.com",
        "alice@evil.com@example.com",
        "alice @example.com",
        "\"alice\"@example.com",
        "Alice <alice@example.com>",
        "alice@example.com\u{202e}moc.live",
        "alice",
        "alice@localhost",
    ];
    for e in bad_emails {
        let token = mint(&EC256, &with(email_claims(), "email", json!(e)));
        assert!(matches!(verify(&token), Err(TokenError::InvalidClaim { ref claim, .. }) if claim == "email"), "{e:?}");
    }
    for s in ["1\n2", "1\x002", "1\r", "1\u{85}", "1\u{2028}"] {
        let token = mint(&EC256, &with(email_claims(), "sub", json!(s)));
        assert!(matches!(verify(&token), Err(TokenError::InvalidClaim { ref claim, .. }) if claim == "sub"), "{s:?}");
    }
}

#[test]
fn metaissuer_wildcard_abuse() {
    let good = "https://oidc.eks.us-west-2.amazonaws.com/id/B9A2C3D4E5F6";
    assert!(SET.lookup(good).unwrap().is_wildcard());
    let abuses = [
        // '*' must not cross a '.'
        "https://oidc.eks.evil.com.x.amazonaws.com/id/ABC",
        "https://oidc.eks.a.b.amazonaws.com/id/ABC",
        "https://oidc.eks.x.amazonaws.com/id/ABC.evil.com",
        // ...nor a '/'
        "https://oidc.eks.x/y.amazonaws.com/id/ABC",
        "https://oidc.eks.x.amazonaws.com/id/ABC/../../evil",
        "https://oidc.eks.x.amazonaws.com/id/ABC/",
        // anchored at both ends: no prefix or suffix games
        "https://evil.example/oidc.eks.amazonaws.com",
        "https://evil.example/oidc.eks.x.amazonaws.com/id/ABC",
        "https://evil.example/?https://oidc.eks.x.amazonaws.com/id/ABC",
        "https://oidc.eks.x.amazonaws.com/id/ABC?x=1",
        "https://oidc.eks.x.amazonaws.com/id/ABC#frag",
        "https://oidc.eks.x.amazonaws.com.evil.com/id/ABC",
        "xhttps://oidc.eks.x.amazonaws.com/id/ABC",
        "http://oidc.eks.x.amazonaws.com/id/ABC",
        // empty or non-class segments
        "https://oidc.eks..amazonaws.com/id/ABC",
        "https://oidc.eks.x.amazonaws.com/id/",
        "https://oidc.eks.x:1.amazonaws.com/id/ABC",
        "https://oidc.eks.x@y.amazonaws.com/id/ABC",
        "https://oidc.eks.x%2e.amazonaws.com/id/ABC",
        "https://oidc.eks.\u{0445}.amazonaws.com/id/ABC",
        "https://oidc.eks.x.amazonaws.com/id/AB\nC",
    ];
    for iss in abuses {
        assert!(SET.lookup(iss).is_none(), "{iss:?}");
    }

    // verify_token re-checks the concrete iss against the pattern.
    let k8s = SET.lookup(good).unwrap();
    let claims = json!({
        "iss": "https://evil.example/oidc.eks.x.amazonaws.com/id/ABC",
        "sub": "system:serviceaccount:default:builder",
        "aud": "sigstore", "iat": NOW, "exp": NOW + 600,
        "kubernetes.io": {"namespace": "default", "serviceaccount": {"name": "builder"}},
    });
    let token = mint(&EC256, &claims);
    assert!(matches!(verify_token(&token, k8s, &all_jwks(), NOW, LEEWAY), Err(TokenError::IssuerMismatch { .. })));

    let token = mint(&EC256, &with(claims, "iss", json!(good)));
    let v = verify_token(&token, k8s, &all_jwks(), NOW, LEEWAY).unwrap();
    assert_eq!(v.issuer(), good);
    assert_eq!(v.identity().extension(oid::ISSUER), Some(good));
    assert_eq!(
        v.identity().san(),
        &SubjectAltName::Uri("https://kubernetes.io/namespaces/default/serviceaccounts/builder".into())
    );
    assert_eq!(v.identity().principal_name(), "system:serviceaccount:default:builder");
}
