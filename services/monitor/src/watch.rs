//! Identity alerts: every new log entry whose certificate names a watched
//! identity, or whose artifact digest is a watched one, is reported (the
//! configuration shape follows rekor-monitor's: certificate identities as a
//! SAN, exact or by regular expression, with an optional OIDC issuer; and
//! artifact digests). Entries are matched as the log serves them; their
//! inclusion is covered by the consistency of the checkpoints the monitor
//! verifies, not re-proven entry by entry.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::Deserialize;

/// How a certificate's subject alternative name is matched.
#[derive(Debug, Clone)]
pub enum San {
    Exact(String),
    Regexp(regex::Regex),
}

/// One watched certificate identity.
#[derive(Debug, Clone)]
pub struct IdentityRule {
    pub san: San,
    /// When set, the certificate's OIDC issuer must be this one too.
    pub issuer: Option<String>,
}

impl IdentityRule {
    fn describe(&self) -> String {
        let san = match &self.san {
            San::Exact(s) => s.clone(),
            San::Regexp(r) => format!("/{}/", r.as_str()),
        };
        match &self.issuer {
            Some(i) => format!("{san} from {i}"),
            None => san,
        }
    }
}

/// What to watch for.
#[derive(Debug, Clone, Default)]
pub struct Watch {
    pub identities: Vec<IdentityRule>,
    /// Artifact SHA-256 digests (hex) of hashedrekord entries.
    pub digests: Vec<String>,
}

impl Watch {
    pub fn is_empty(&self) -> bool {
        self.identities.is_empty() && self.digests.is_empty()
    }
}

/// A watched identity or digest seen in a new entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sighting {
    pub log_index: u64,
    /// What matched: the rule, or `digest <hex>`.
    pub rule: String,
    pub identities: Vec<String>,
    pub issuer: Option<String>,
    pub digest: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Spec {
    signature: Option<HashedSignature>,
    data: Option<HashedData>,
    signatures: Vec<DsseSignature>,
    content: Option<IntotoContent>,
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HashedSignature {
    public_key: Content,
}
#[derive(Deserialize)]
struct Content {
    content: String,
}
#[derive(Deserialize)]
struct HashedData {
    hash: HashValue,
}
#[derive(Deserialize)]
struct HashValue {
    value: String,
}
#[derive(Deserialize)]
struct DsseSignature {
    verifier: String,
}
#[derive(Deserialize)]
struct IntotoContent {
    envelope: IntotoEnvelope,
}
#[derive(Deserialize)]
struct IntotoEnvelope {
    signatures: Vec<IntotoSignature>,
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IntotoSignature {
    public_key: String,
}
#[derive(Deserialize)]
struct Body {
    #[serde(default)]
    spec: Spec,
}

/// The certificates (DER) and artifact digest of an entry body (hashedrekord,
/// dsse, intoto; other kinds yield nothing).
pub fn entry_material(body: &[u8]) -> (Vec<Vec<u8>>, Option<String>) {
    let Ok(b) = serde_json::from_slice::<Body>(body) else { return (Vec::new(), None) };
    let mut pems: Vec<String> = Vec::new();
    if let Some(s) = &b.spec.signature {
        pems.push(s.public_key.content.clone());
    }
    pems.extend(b.spec.signatures.iter().map(|s| s.verifier.clone()));
    if let Some(c) = &b.spec.content {
        pems.extend(c.envelope.signatures.iter().map(|s| s.public_key.clone()));
    }
    let certs = pems
        .iter()
        .filter_map(|p| STANDARD.decode(p).ok())
        .flat_map(|pem| sigstead_crypto::pem_certificates(&pem))
        .collect();
    (certs, b.spec.data.map(|d| d.hash.value))
}

/// The sightings in one entry.
pub fn match_entry(watch: &Watch, log_index: u64, body: &[u8]) -> Vec<Sighting> {
    let (certs, digest) = entry_material(body);
    let mut out = Vec::new();
    for cert in &certs {
        let sans = sigstead_crypto::certificate_identities(cert);
        let issuer = sigstead_crypto::certificate_oidc_issuer(cert);
        for rule in &watch.identities {
            let san_ok = sans.iter().any(|s| match &rule.san {
                San::Exact(e) => e == s,
                San::Regexp(r) => r.is_match(s),
            });
            if san_ok && rule.issuer.as_ref().is_none_or(|i| issuer.as_ref() == Some(i)) {
                out.push(Sighting {
                    log_index,
                    rule: rule.describe(),
                    identities: sans.clone(),
                    issuer: issuer.clone(),
                    digest: digest.clone(),
                });
            }
        }
    }
    if let Some(d) = &digest {
        if watch.digests.iter().any(|w| w.eq_ignore_ascii_case(d)) {
            out.push(Sighting {
                log_index,
                rule: format!("digest {d}"),
                identities: certs.first().map(|c| sigstead_crypto::certificate_identities(c)).unwrap_or_default(),
                issuer: certs.first().and_then(|c| sigstead_crypto::certificate_oidc_issuer(c)),
                digest: Some(d.clone()),
            });
        }
    }
    out
}
