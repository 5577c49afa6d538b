//! The development OIDC issuer of `sigstead up`: discovery and JWKS over
//! plain HTTP on loopback, and ES256 ID tokens minted on request.
//!
//! **INSECURE, for a development stack only**: anyone who can read its
//! directory can mint any identity. `sigstead serve` never runs it; the CA
//! trusts it only because `sigstead up` writes `insecure_allow_http = true`
//! for it into the development `fulcio.toml`.
//!
//! Its directory holds `dev-issuer-key.pem` (an encrypted P-256 key),
//! `dev-issuer-key.password` (0600) and `issuer` (the issuer URL).

use axum::routing::get;
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use sigstead_crypto::{log_id, Signer};
use std::path::Path;
use std::sync::Arc;

const KEY_NAME: &str = "dev-issuer-key";
const ISSUER_FILE: &str = "issuer";

/// The development issuer: its URL and signing key.
#[derive(Debug, Clone)]
pub struct DevIssuer {
    url: String,
    key: Arc<dyn Signer>,
}

/// `http://127.0.0.1:PORT`, the development issuer's URL.
pub fn issuer_url(port: u16) -> String {
    format!("http://127.0.0.1:{port}")
}

impl DevIssuer {
    /// Creates the issuer's key in `dir` unless it exists, records `url`, and opens it.
    pub fn init(dir: &Path, url: &str) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)?;
        sigstead_keys::generate_p256_key_file(dir, KEY_NAME)?;
        std::fs::write(dir.join(ISSUER_FILE), url)?;
        Self::open(dir)
    }

    /// Opens the issuer made by [`DevIssuer::init`] in `dir`.
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        let url = std::fs::read_to_string(dir.join(ISSUER_FILE))
            .map_err(|_| anyhow::anyhow!("no development issuer in {}; run `sigstead up` first", dir.display()))?;
        let mut key = sigstead_keys::KeySource::file(format!("{KEY_NAME}.pem"), format!("{KEY_NAME}.password"));
        key.resolve(dir);
        Ok(Self { url: url.trim().to_string(), key: key.open_ecdsa_p256("the development issuer key")? })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    fn kid(&self) -> String {
        hex::encode(&log_id(self.key.public_key_der())[..8])
    }

    fn jwk(&self) -> anyhow::Result<Value> {
        use der::Decode;
        let spki = spki::SubjectPublicKeyInfoRef::from_der(self.key.public_key_der())?;
        let point = spki.subject_public_key.raw_bytes();
        anyhow::ensure!(point.len() == 65 && point[0] == 4, "unexpected P-256 point encoding");
        Ok(json!({"kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": self.kid(),
                  "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..65])}))
    }

    /// `/.well-known/openid-configuration` and `/jwks`.
    pub fn router(&self) -> anyhow::Result<Router> {
        let issuer = &self.url;
        let discovery = json!({
            "issuer": issuer,
            "jwks_uri": format!("{issuer}/jwks"),
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["ES256"],
        });
        let jwks = json!({"keys": [self.jwk()?]});
        Ok(Router::new()
            .route("/.well-known/openid-configuration", get(move || std::future::ready(Json(discovery.clone()))))
            .route("/jwks", get(move || std::future::ready(Json(jwks.clone())))))
    }

    /// An ES256 ID token for `email` (audience `sigstore`, valid 10 minutes).
    pub fn mint(&self, email: &str) -> anyhow::Result<String> {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
        let header = json!({"alg": "ES256", "typ": "JWT", "kid": self.kid()});
        let claims = json!({"iss": self.url, "aud": "sigstore", "sub": email, "email": email, "email_verified": true,
                            "iat": now, "nbf": now, "exp": now + 600});
        let signing_input =
            format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
        let sig = sigstead_crypto::ecdsa_der_to_fixed(&self.key.sign(signing_input.as_bytes())?, 32)?;
        Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    /// A minted token verifies against the served JWKS with the OIDC crate
    /// the CA uses, and carries the email identity.
    #[tokio::test]
    async fn minted_tokens_verify_against_the_served_keys() {
        let dir = tempfile::tempdir().unwrap();
        let issuer = DevIssuer::init(dir.path(), &issuer_url(3003)).unwrap();
        let again = DevIssuer::open(dir.path()).unwrap();
        assert_eq!(again.kid(), issuer.kid(), "the key is kept across runs");
        let resp = issuer
            .router()
            .unwrap()
            .oneshot(axum::http::Request::get("/jwks").body(axum::body::Body::empty()).unwrap())
            .await
            .unwrap();
        let jwks = resp.into_body().collect().await.unwrap().to_bytes();
        let keys = sigstead_oidc::Jwks::from_json(&jwks).unwrap();
        let config: sigstead_oidc::OidcConfig = toml::from_str(&format!(
            "[[issuers]]\nissuer_url = \"{}\"\ntype = \"email\"\ninsecure_allow_http = true\n",
            issuer.url()
        ))
        .unwrap();
        let set = sigstead_oidc::IssuerSet::from_config(&config).unwrap();
        let token = issuer.mint("alice@example.com").unwrap();
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        let verified = sigstead_oidc::verify_token(&token, set.lookup(issuer.url()).unwrap(), &keys, now, 0).unwrap();
        assert!(format!("{verified:?}").contains("alice@example.com"), "{verified:?}");
        let other = tempfile::tempdir().unwrap();
        let stranger = DevIssuer::init(other.path(), &issuer_url(3003)).unwrap().mint("alice@example.com").unwrap();
        assert!(sigstead_oidc::verify_token(&stranger, set.lookup(issuer.url()).unwrap(), &keys, now, 0).is_err());
        assert!(DevIssuer::open(&dir.path().join("nowhere")).unwrap_err().to_string().contains("sigstead up"));
    }
}
