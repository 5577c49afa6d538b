//! Where issuers' signing keys come from: a static JWKS file, or OIDC
//! discovery (`<iss>/.well-known/openid-configuration` → `jwks_uri`),
//! cached, refreshed on an unknown key ID at most once per
//! [`REFRESH_INTERVAL`] per issuer.
//!
//! Discovery uses https (rustls on aws-lc-rs; the system's roots plus an
//! optional private CA bundle, as in-network IdPs often have), and plain
//! HTTP only for issuers configured with `insecure_allow_http`.

use sigstead_oidc::{Issuer, Jwks};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Shortest time between two fetches of one issuer's keys.
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(30);
/// Keys older than this are fetched again before use.
pub const MAX_AGE: Duration = Duration::from_secs(3600);

/// Keys fetched per concrete issuer, with when they were fetched.
type Cache = Arc<Mutex<HashMap<String, (Arc<Jwks>, Instant)>>>;

#[derive(Debug, Clone)]
pub struct JwksSource {
    fixed: Arc<HashMap<String, Arc<Jwks>>>,
    cache: Cache,
    http: reqwest::Client,
}

impl JwksSource {
    /// `fixed`: issuer URL → JWKS file. `tls`: how discovery documents and
    /// JWKS are fetched over https (the CA's `[outbound_tls]`).
    pub fn new(fixed: Vec<(String, PathBuf)>, tls: &sigstead_server::OutboundTls) -> anyhow::Result<Self> {
        sigstead_server::install_crypto_provider();
        let mut map = HashMap::new();
        for (iss, path) in fixed {
            let bytes = std::fs::read(&path).map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
            let jwks = Jwks::from_json(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            map.insert(iss, Arc::new(jwks));
        }
        Ok(Self {
            fixed: Arc::new(map),
            cache: Arc::new(Mutex::new(HashMap::new())),
            http: tls.http_client(Duration::from_secs(10))?,
        })
    }

    /// The keys of the concrete issuer `iss` (matched by `issuer`).
    pub async fn get(&self, issuer: &Issuer, iss: &str, refresh: bool) -> Result<Arc<Jwks>, String> {
        if let Some(k) = self.fixed.get(iss) {
            return Ok(k.clone());
        }
        let cached = self.cache.lock().map_err(|_| "JWKS cache poisoned".to_string())?.get(iss).cloned();
        if let Some((keys, at)) = &cached {
            let age = at.elapsed();
            if (!refresh && age < MAX_AGE) || (refresh && age < REFRESH_INTERVAL) {
                return Ok(keys.clone());
            }
        }
        let keys = Arc::new(self.discover(issuer, iss).await?);
        self.cache
            .lock()
            .map_err(|_| "JWKS cache poisoned".to_string())?
            .insert(iss.to_string(), (keys.clone(), Instant::now()));
        Ok(keys)
    }

    async fn discover(&self, issuer: &Issuer, iss: &str) -> Result<Jwks, String> {
        let allowed = |u: &str| u.starts_with("https://") || (issuer.insecure_allow_http() && u.starts_with("http://"));
        if !allowed(iss) {
            return Err(format!("issuer {iss} is not https"));
        }
        let url = format!("{}/.well-known/openid-configuration", iss.trim_end_matches('/'));
        let doc: serde_json::Value = self.fetch(&url).await?;
        if doc.get("issuer").and_then(|v| v.as_str()) != Some(iss) {
            return Err(format!("discovery document of {iss} names another issuer"));
        }
        let jwks_uri = doc.get("jwks_uri").and_then(|v| v.as_str()).ok_or("discovery document has no jwks_uri")?;
        if !allowed(jwks_uri) {
            return Err(format!("jwks_uri {jwks_uri} is not https"));
        }
        let resp = self.http.get(jwks_uri).send().await.map_err(|e| format!("fetching JWKS: {}", e.without_url()))?;
        let bytes = resp.error_for_status().map_err(|e| e.to_string())?.bytes().await.map_err(|e| e.to_string())?;
        Jwks::from_json(&bytes).map_err(|e| format!("JWKS of {iss}: {e}"))
    }

    async fn fetch(&self, url: &str) -> Result<serde_json::Value, String> {
        let resp = self.http.get(url).send().await.map_err(|e| format!("OIDC discovery: {}", e.without_url()))?;
        resp.error_for_status().map_err(|e| e.to_string())?.json().await.map_err(|e| e.to_string())
    }
}
