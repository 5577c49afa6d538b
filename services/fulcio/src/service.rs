//! The CA's domain layer: token verification, proofs of possession,
//! certificate issuance with the CT log's SCT. Handlers call only this.

use crate::{FulcioError, JwksSource};
use base64::{engine::general_purpose::STANDARD, Engine};
use serde_json::Value;
use sigstead_ca::{CaChain, LeafRequest};
use sigstead_crypto::VerifierMaterial;
use sigstead_oidc::{IssuerSet, TokenError};
use std::sync::Arc;

/// Everything a request handler needs.
#[derive(Debug, Clone)]
pub struct Fulcio {
    ca: Arc<CaChain>,
    issuers: Arc<IssuerSet>,
    jwks: JwksSource,
    ct_log_url: String,
    http: reqwest::Client,
    validity: time::Duration,
    leeway: u64,
    /// Certificates per identity (issuer, subject), if limited.
    per_identity: Option<Arc<sigstead_server::rate_limit::Keyed<(String, String)>>>,
}

fn now_unix() -> u64 {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    d.as_secs()
}

/// The key to certify, with its proof of possession already checked.
pub(crate) struct ProvenKey {
    spki_der: Vec<u8>,
}

impl Fulcio {
    /// The issuing chain, `[intermediate, …, root]` DER.
    pub fn chain(&self) -> &[Vec<u8>] {
        self.ca.chain()
    }

    /// The trusted issuers (for `/api/v2/configuration`).
    pub fn issuers(&self) -> &IssuerSet {
        &self.issuers
    }

    /// A public key (PEM or DER) and its proof of possession: a signature
    /// by the key over the token's `email` or `sub`.
    pub(crate) fn prove_public_key(
        &self,
        token: &sigstead_oidc::VerifiedToken,
        key: &[u8],
        proof: &[u8],
    ) -> Result<ProvenKey, FulcioError> {
        let m = VerifierMaterial::parse(key).map_err(|e| FulcioError::PublicKey(e.to_string()))?;
        if m.certificate_der.is_some() {
            return Err(FulcioError::PublicKey("expected a public key, not a certificate".into()));
        }
        let ok = token.proof_of_possession_subjects().iter().any(|s| m.key.verify(s.as_bytes(), proof).is_ok());
        if !ok {
            return Err(FulcioError::ProofOfPossession);
        }
        Ok(ProvenKey { spki_der: m.spki_der })
    }

    /// A PKCS#10 CSR (DER), whose self-signature is its proof of possession.
    pub(crate) fn prove_csr(&self, csr_der: &[u8]) -> Result<ProvenKey, FulcioError> {
        Ok(ProvenKey { spki_der: sigstead_ca::csr::verify_csr(csr_der)? })
    }

    pub fn new(
        ca: CaChain,
        issuers: IssuerSet,
        jwks: JwksSource,
        ct_log_url: String,
        ct_http: reqwest::Client,
        validity_secs: u32,
        leeway_secs: u32,
    ) -> Self {
        Self {
            ca: Arc::new(ca),
            issuers: Arc::new(issuers),
            jwks,
            ct_log_url: ct_log_url.trim_end_matches('/').to_string(),
            http: ct_http,
            validity: time::Duration::seconds(i64::from(validity_secs)),
            leeway: u64::from(leeway_secs),
            per_identity: None,
        }
    }

    /// Limits certificates per OIDC identity (`[identity_rate_limit]`).
    pub fn with_identity_rate_limit(mut self, limit: &crate::config::IdentityRateLimit) -> Self {
        self.per_identity = std::num::NonZeroU32::new(limit.per_minute).map(|rate| {
            let burst = limit.burst.and_then(std::num::NonZeroU32::new).unwrap_or(rate);
            let quota = sigstead_server::rate_limit::Quota::per_minute(rate).allow_burst(burst);
            Arc::new(sigstead_server::rate_limit::Keyed::with_quota(quota))
        });
        self
    }

    /// Refuses an identity over its rate (before any key is checked).
    pub(crate) fn admit(&self, token: &sigstead_oidc::VerifiedToken) -> Result<(), FulcioError> {
        let Some(limiter) = &self.per_identity else { return Ok(()) };
        limiter.check(&(token.issuer().to_owned(), token.subject().to_owned())).map_err(|retry_after| {
            tracing::info!(issuer = token.issuer(), subject = token.subject(), "identity over its certificate rate");
            FulcioError::RateLimited(retry_after)
        })
    }

    /// Verifies the token against its issuer's keys (refreshing them once on an unknown key ID).
    pub(crate) async fn verify_token(&self, token: &str) -> Result<sigstead_oidc::VerifiedToken, FulcioError> {
        let iss = sigstead_oidc::peek_issuer(token).map_err(FulcioError::Token)?;
        let issuer =
            self.issuers.lookup(&iss).ok_or_else(|| FulcioError::TokenSource(format!("unknown issuer {iss:?}")))?;
        let now = now_unix();
        let keys = self.jwks.get(issuer, &iss, false).await.map_err(FulcioError::TokenSource)?;
        match sigstead_oidc::verify_token(token, issuer, &keys, now, self.leeway) {
            Err(TokenError::UnknownKid(_)) => {
                let keys = self.jwks.get(issuer, &iss, true).await.map_err(FulcioError::TokenSource)?;
                sigstead_oidc::verify_token(token, issuer, &keys, now, self.leeway).map_err(FulcioError::Token)
            }
            other => other.map_err(FulcioError::Token),
        }
    }

    /// Issues a certificate for `key` and `token`; returns the chain `[leaf, intermediate…, root]` as DER.
    pub(crate) async fn issue(
        &self,
        token: &sigstead_oidc::VerifiedToken,
        key: ProvenKey,
    ) -> Result<Vec<Vec<u8>>, FulcioError> {
        let identity = token.identity();
        let san = identity.san().clone();
        let extensions = identity.extensions().to_vec();
        let now =
            time::OffsetDateTime::now_utc().replace_nanosecond(0).unwrap_or_else(|_| time::OffsetDateTime::now_utc());
        let req = LeafRequest {
            spki_der: key.spki_der,
            san,
            extensions,
            not_before: now,
            not_after: now + self.validity,
            serial: sigstead_ca::new_serial(),
        };
        let pre = self.ca.precertificate(&req).map_err(|e| FulcioError::Internal(e.to_string()))?;
        let sct = self.submit_precert(&pre.der).await?;
        let leaf = self.ca.finalize(pre, &[sct]).map_err(|e| FulcioError::Internal(e.to_string()))?;
        metrics_issued();
        let mut chain = vec![leaf];
        chain.extend(self.ca.chain().iter().cloned());
        Ok(chain)
    }

    async fn submit_precert(&self, precert: &[u8]) -> Result<sigstead_ct::Sct, FulcioError> {
        let body = sigstead_ct::wire::AddChainRequest {
            chain: vec![STANDARD.encode(precert), STANDARD.encode(&self.ca.chain()[0])],
        };
        let url = format!("{}/ct/v1/add-pre-chain", self.ct_log_url);
        let resp = self
            .http
            .post(&url)
            .json(&body)
            .send()
            .await
            .map_err(|e| FulcioError::CtLog(e.without_url().to_string()))?;
        if !resp.status().is_success() {
            return Err(FulcioError::CtLog(format!("CT log answered {}", resp.status())));
        }
        let v: Value = resp.json().await.map_err(|e| FulcioError::CtLog(e.to_string()))?;
        sigstead_ct::Sct::from_json(&v).ok_or_else(|| FulcioError::CtLog(format!("malformed SCT {v}")))
    }
}

fn metrics_issued() {
    tracing::debug!("certificate issued");
}
