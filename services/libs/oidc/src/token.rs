//! Compact-JWS ID-token verification.

pub use crate::claims::Claims;
use crate::config::Issuer;
use crate::identity::{self, Identity};
use crate::json;
use crate::jwks::{Algorithm, Jwks};
use crate::TokenError;
use base64::Engine as _;
use serde_json::Value;

/// Largest token accepted, in bytes (checked before any decoding). Real ID
/// tokens are 1–3 KiB; GitHub's, among the largest, are about 1.5 KiB.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// A token whose signature, issuer, audience and validity period were
/// checked, with the certificate identity derived from it.
#[derive(Debug, Clone)]
pub struct VerifiedToken {
    issuer: String,
    subject: String,
    audience: Vec<String>,
    expires_at: u64,
    issued_at: u64,
    not_before: Option<u64>,
    algorithm: Algorithm,
    key_id: Option<String>,
    claims: Claims,
    identity: Identity,
}

impl VerifiedToken {
    /// The concrete `iss` (for a wildcard issuer, the URL that matched).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }
    /// `sub`.
    pub fn subject(&self) -> &str {
        &self.subject
    }
    /// `aud`, normalised to a list.
    pub fn audience(&self) -> &[String] {
        &self.audience
    }
    /// `exp` (seconds since the epoch).
    pub fn expires_at(&self) -> u64 {
        self.expires_at
    }
    /// `iat` (seconds since the epoch).
    pub fn issued_at(&self) -> u64 {
        self.issued_at
    }
    /// `nbf`, if present.
    pub fn not_before(&self) -> Option<u64> {
        self.not_before
    }
    /// The algorithm that verified the signature.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }
    /// The header `kid`, if any.
    pub fn key_id(&self) -> Option<&str> {
        self.key_id.as_deref()
    }
    /// Every claim.
    pub fn claims(&self) -> &Claims {
        &self.claims
    }
    /// The certificate identity: PoP principal, SAN and extensions.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }
    /// The strings a proof of possession may sign
    /// (see [`crate::check_proof_of_possession_subjects`]).
    pub fn proof_of_possession_subjects(&self) -> Vec<String> {
        identity::check_proof_of_possession_subjects(&self.claims)
    }
}

fn b64url(part: &str, what: &str) -> Result<Vec<u8>, TokenError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| TokenError::Malformed(format!("{what} is not unpadded base64url")))
}

struct Parts<'a> {
    header: &'a str,
    payload: &'a str,
    signature: &'a str,
}

fn split(token: &str) -> Result<Parts<'_>, TokenError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(TokenError::TooLarge { len: token.len(), max: MAX_TOKEN_BYTES });
    }
    let mut it = token.split('.');
    match (it.next(), it.next(), it.next(), it.next()) {
        (Some(header), Some(payload), Some(signature), None) => Ok(Parts { header, payload, signature }),
        _ => Err(TokenError::Malformed("not a compact JWS (header.payload.signature)".into())),
    }
}

/// The token's `iss`, read *without* verifying anything, to pick the issuer
/// (`IssuerSet::lookup`) and its JWKS before calling [`verify_token`].
pub fn peek_issuer(token: &str) -> Result<String, TokenError> {
    let parts = split(token)?;
    let claims = Claims::from_json(&b64url(parts.payload, "payload")?)?;
    match claims.get("iss") {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(TokenError::InvalidClaim { claim: "iss".into(), reason: "not a string".into() }),
        None => Err(TokenError::MissingClaim("iss".into())),
    }
}

/// A NumericDate claim as whole seconds. Fractions are rounded toward the
/// stricter side: down for `exp`, up for `nbf`/`iat`.
fn numeric_date(claims: &Claims, name: &str, round_up: bool) -> Result<Option<u64>, TokenError> {
    let bad = || TokenError::InvalidClaim { claim: name.into(), reason: "not a non-negative NumericDate".into() };
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => {
            if let Some(u) = n.as_u64() {
                return Ok(Some(u));
            }
            let f = n.as_f64().filter(|f| f.is_finite() && *f >= 0.0 && *f < 1.8e19).ok_or_else(bad)?;
            let whole = if round_up { f.ceil() } else { f.floor() };
            // Display of an integral f64 has no fraction or exponent.
            format!("{whole}").parse::<u64>().map(Some).map_err(|_| bad())
        }
        Some(_) => Err(bad()),
    }
}

fn audience(claims: &Claims) -> Result<Vec<String>, TokenError> {
    let bad = || TokenError::InvalidClaim { claim: "aud".into(), reason: "not a string or array of strings".into() };
    match claims.get("aud") {
        None => Err(TokenError::MissingClaim("aud".into())),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(items)) => items.iter().map(|v| v.as_str().map(str::to_owned).ok_or_else(bad)).collect(),
        Some(_) => Err(bad()),
    }
}

/// Verifies an OIDC ID token and derives its certificate identity.
///
/// * `issuer`: from [`crate::IssuerSet::lookup`] on the token's `iss`
///   ([`peek_issuer`]); `jwks`: that concrete issuer's keys (for a wildcard
///   issuer, discovered from the concrete `iss`, never shared between them).
/// * `now`: seconds since the Unix epoch; `leeway_secs`: clock skew allowed
///   on `exp`, `nbf` and `iat`.
///
/// Checks, in order: size ([`MAX_TOKEN_BYTES`]); compact JWS structure;
/// header `alg` allowlist (`none`, `HS*` and all else refused); no `crit`;
/// key by `kid` (no `kid`: only if the JWKS has exactly one key); the key's
/// type fixes the algorithm and the header must agree; the signature; then
/// `iss` matches `issuer`, `sub` present, `aud` contains the client ID,
/// `exp > now - leeway`, `nbf <= now + leeway` (if present),
/// `iat <= now + leeway`; finally the per-type identity rules (including
/// `email_verified` for email issuers and SAN/extension injection checks).
pub fn verify_token(
    token: &str,
    issuer: &Issuer,
    jwks: &Jwks,
    now: u64,
    leeway_secs: u64,
) -> Result<VerifiedToken, TokenError> {
    let parts = split(token)?;

    let header = json::parse_object(&b64url(parts.header, "header")?)
        .map_err(|e| TokenError::Malformed(format!("header: {e}")))?;
    let alg_name = match header.get("alg") {
        Some(Value::String(s)) => s.as_str(),
        _ => return Err(TokenError::Malformed("header has no string alg".into())),
    };
    let alg = Algorithm::from_jws_name(alg_name).ok_or_else(|| TokenError::DisallowedAlgorithm(alg_name.into()))?;
    if header.contains_key("crit") {
        return Err(TokenError::UnsupportedCriticalHeader);
    }
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(_) => return Err(TokenError::Malformed("header kid is not a string".into())),
    };

    let key = jwks.select(kid)?;
    key.check_alg(alg)?;
    let signature = b64url(parts.signature, "signature")?;
    let signing_input_len = parts.header.len() + 1 + parts.payload.len();
    let signing_input = &token.as_bytes()[..signing_input_len];
    key.verify(alg, signing_input, &signature)?;

    // Only now is the payload trusted enough to parse.
    let claims = Claims::from_json(&b64url(parts.payload, "payload")?)?;

    let iss = match claims.get("iss") {
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(TokenError::InvalidClaim { claim: "iss".into(), reason: "not a string".into() }),
        None => return Err(TokenError::MissingClaim("iss".into())),
    };
    if !issuer.matches(&iss) {
        return Err(TokenError::IssuerMismatch { expected: issuer.url().to_owned(), actual: iss });
    }
    let subject = match claims.get("sub") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::String(_)) | None => return Err(TokenError::MissingClaim("sub".into())),
        Some(_) => return Err(TokenError::InvalidClaim { claim: "sub".into(), reason: "not a string".into() }),
    };
    let audience = audience(&claims)?;
    if !audience.iter().any(|a| a == issuer.client_id()) {
        return Err(TokenError::WrongAudience { expected: issuer.client_id().to_owned(), actual: audience });
    }

    let exp = numeric_date(&claims, "exp", false)?.ok_or_else(|| TokenError::MissingClaim("exp".into()))?;
    if exp.saturating_add(leeway_secs) <= now {
        return Err(TokenError::Expired { exp, now });
    }
    let nbf = numeric_date(&claims, "nbf", true)?;
    if let Some(nbf) = nbf {
        if nbf > now.saturating_add(leeway_secs) {
            return Err(TokenError::NotYetValid { nbf, now });
        }
    }
    let iat = numeric_date(&claims, "iat", true)?.ok_or_else(|| TokenError::MissingClaim("iat".into()))?;
    if iat > now.saturating_add(leeway_secs) {
        return Err(TokenError::IssuedInFuture { iat, now });
    }

    let identity = identity::derive_identity(&claims, issuer)?;
    Ok(VerifiedToken {
        issuer: iss,
        subject,
        audience,
        expires_at: exp,
        issued_at: iat,
        not_before: nbf,
        algorithm: alg,
        key_id: kid.map(str::to_owned),
        claims,
        identity,
    })
}
