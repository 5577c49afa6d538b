//! The trust documents clients consume (`trusted_root.json`,
//! `signing_config.v0.2.json`, and the ClientTrustConfig that bundles both
//! for sigstore-python's `--trust-config`), built from the live services'
//! keys and URLs, and carried across key rotations: a log key or CA that is
//! no longer current stays listed with a closed `validFor` window, so
//! bundles made while it was in force keep verifying. Pure JSON composition,
//! no I/O: `sigstead up`, `sigstead tuf trust-documents` and
//! `sigstead rekor trust-material` all build them here.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};
use sigstead_crypto::log_id;

/// One transparency log (Rekor or CT): its base URL and DER public key.
#[derive(Debug, Clone)]
pub struct LogKey {
    pub url: String,
    pub spki: Vec<u8>,
}

/// The certificate authority of a deployment.
#[derive(Debug, Clone)]
pub struct Ca {
    pub url: String,
    /// DER certificates, intermediate(s) first, root last.
    pub chain: Vec<Vec<u8>>,
}

/// The services of one Sigstead deployment. A Rekor-only deployment (keys
/// held by the signers themselves) has no CA and no CT log.
#[derive(Debug, Clone)]
pub struct Services {
    pub rekor: LogKey,
    pub ct: Option<LogKey>,
    pub ca: Option<Ca>,
    /// OIDC issuers clients may use interactively (signing config `oidcUrls`).
    pub oidc_urls: Vec<String>,
}

/// The media type of a ClientTrustConfig (sigstore-python `--trust-config`).
pub const CLIENT_TRUST_CONFIG_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json";

/// A ClientTrustConfig holding `trusted_root` and `signing_config`.
pub fn client_trust_config(trusted_root: &Value, signing_config: &Value) -> Value {
    json!({"mediaType": CLIENT_TRUST_CONFIG_MEDIA_TYPE, "trustedRoot": trusted_root, "signingConfig": signing_config})
}

fn key_details(spki: &[u8]) -> &'static str {
    match sigstead_crypto::PublicKey::from_spki_der(spki) {
        Ok(sigstead_crypto::PublicKey::EcdsaP384(_)) => "PKIX_ECDSA_P384_SHA_384",
        Ok(sigstead_crypto::PublicKey::Ed25519(_)) => "PKIX_ED25519",
        Ok(sigstead_crypto::PublicKey::Rsa(_)) => "PKIX_RSA_PKCS1V15_2048_SHA256",
        _ => "PKIX_ECDSA_P256_SHA_256",
    }
}

fn tlog(k: &LogKey, start: &str) -> Value {
    json!({
        "baseUrl": k.url,
        "hashAlgorithm": "SHA2_256",
        "publicKey": {"rawBytes": STANDARD.encode(&k.spki), "keyDetails": key_details(&k.spki), "validFor": {"start": start}},
        "logId": {"keyId": STANDARD.encode(log_id(&k.spki))},
    })
}

/// The trusted root and signing config for `s`, every entry valid from `start` (RFC 3339).
pub fn build(s: &Services, start: &str) -> (Value, Value) {
    let cas: Vec<Value> =
        s.ca.iter()
            .map(|ca| {
                let chain: Vec<Value> = ca.chain.iter().map(|d| json!({"rawBytes": STANDARD.encode(d)})).collect();
                json!({
                    "subject": {"organization": "sigstead", "commonName": "sigstead intermediate"},
                    "uri": ca.url,
                    "certChain": {"certificates": chain},
                    "validFor": {"start": start},
                })
            })
            .collect();
    let ctlogs: Vec<Value> = s.ct.iter().map(|ct| tlog(ct, start)).collect();
    let trusted_root = json!({
        "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
        "tlogs": [tlog(&s.rekor, start)],
        "certificateAuthorities": cas,
        "ctlogs": ctlogs,
        "timestampAuthorities": [],
    });
    let service =
        |url: &str| json!({"url": url, "majorApiVersion": 1, "validFor": {"start": start}, "operator": "sigstead"});
    let signing_config = json!({
        "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
        "caUrls": s.ca.iter().map(|ca| service(&ca.url)).collect::<Vec<_>>(),
        "oidcUrls": s.oidc_urls.iter().map(|u| service(u)).collect::<Vec<_>>(),
        "rekorTlogUrls": [service(&s.rekor.url)],
        "tsaUrls": [],
        "rekorTlogConfig": {"selector": "ANY"},
    });
    (trusted_root, signing_config)
}

/// Identity of an entry across versions: the log ID of a log, the leaf-most
/// certificate of a CA.
fn identity(list: &str, entry: &Value) -> Option<String> {
    match list {
        "certificateAuthorities" => entry["certChain"]["certificates"][0]["rawBytes"].as_str().map(str::to_string),
        _ => entry["logId"]["keyId"].as_str().map(str::to_string),
    }
}

fn validity<'a>(list: &str, entry: &'a mut Value) -> Option<&'a mut Value> {
    match list {
        "certificateAuthorities" => entry.get_mut("validFor"),
        _ => entry.get_mut("publicKey").and_then(|k| k.get_mut("validFor")),
    }
}

/// Carries `previous` into `current`: an entry present in both keeps its
/// original start; an entry only in `previous` is kept with its window
/// closed at `now` (unless already closed).
pub fn carry_over(previous: &Value, current: &mut Value, now: &str) {
    for list in ["tlogs", "ctlogs", "certificateAuthorities", "timestampAuthorities"] {
        let Some(prev) = previous[list].as_array() else { continue };
        let Some(cur) = current[list].as_array_mut() else { continue };
        let mut retired = Vec::new();
        for old in prev {
            let id = identity(list, old);
            match cur.iter_mut().find(|c| id.is_some() && identity(list, c) == id) {
                Some(c) => {
                    let start = old_start(list, old);
                    if let (Some(start), Some(v)) = (start, validity(list, c)) {
                        v["start"] = start;
                    }
                }
                None => {
                    let mut o = old.clone();
                    if let Some(v) = validity(list, &mut o) {
                        if v.get("end").is_none() {
                            v["end"] = Value::String(now.to_string());
                        }
                    }
                    retired.push(o);
                }
            }
        }
        cur.extend(retired);
    }
}

fn old_start(list: &str, entry: &Value) -> Option<Value> {
    let mut e = entry.clone();
    validity(list, &mut e).and_then(|v| v.get("start").cloned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sigstead_crypto::{EcdsaP256Signer, Signer};

    fn services(rekor: &EcdsaP256Signer, ct: &EcdsaP256Signer) -> Services {
        Services {
            rekor: LogKey { url: "https://rekor.internal".into(), spki: rekor.public_key_der().to_vec() },
            ct: Some(LogKey { url: "https://ct.internal".into(), spki: ct.public_key_der().to_vec() }),
            ca: Some(Ca { url: "https://fulcio.internal".into(), chain: vec![b"inter".to_vec(), b"root".to_vec()] }),
            oidc_urls: vec!["https://idp.internal".into()],
        }
    }

    #[test]
    fn lists_every_service_with_its_key_id() {
        let (r, c) = (EcdsaP256Signer::generate(), EcdsaP256Signer::generate());
        let (tr, sc) = build(&services(&r, &c), "2026-01-01T00:00:00Z");
        assert_eq!(tr["tlogs"][0]["logId"]["keyId"], STANDARD.encode(log_id(r.public_key_der())));
        assert_eq!(tr["ctlogs"][0]["logId"]["keyId"], STANDARD.encode(log_id(c.public_key_der())));
        assert_eq!(tr["tlogs"][0]["publicKey"]["keyDetails"], "PKIX_ECDSA_P256_SHA_256");
        assert_eq!(
            tr["certificateAuthorities"][0]["certChain"]["certificates"][1]["rawBytes"],
            STANDARD.encode(b"root")
        );
        assert_eq!(sc["caUrls"][0]["url"], "https://fulcio.internal");
        assert_eq!(sc["rekorTlogUrls"][0]["url"], "https://rekor.internal");
        assert_eq!(sc["oidcUrls"][0]["url"], "https://idp.internal");
    }

    #[test]
    fn a_rekor_only_deployment_lists_the_log_alone() {
        let r = EcdsaP256Signer::generate();
        let s = Services {
            rekor: LogKey { url: "https://rekor.internal".into(), spki: r.public_key_der().to_vec() },
            ct: None,
            ca: None,
            oidc_urls: vec![],
        };
        let (tr, sc) = build(&s, "2026-01-01T00:00:00Z");
        assert_eq!(tr["tlogs"].as_array().unwrap().len(), 1);
        assert_eq!(tr["certificateAuthorities"], json!([]));
        assert_eq!(tr["ctlogs"], json!([]));
        assert_eq!(sc["caUrls"], json!([]));
        assert_eq!(sc["rekorTlogUrls"][0]["url"], "https://rekor.internal");
        let tc = client_trust_config(&tr, &sc);
        assert_eq!(tc["mediaType"], CLIENT_TRUST_CONFIG_MEDIA_TYPE);
        assert_eq!(tc["trustedRoot"], tr);
    }

    #[test]
    fn a_rotated_key_stays_listed_with_a_closed_window_and_kept_keys_keep_their_start() {
        let (r1, r2, c) = (EcdsaP256Signer::generate(), EcdsaP256Signer::generate(), EcdsaP256Signer::generate());
        let (old, _) = build(&services(&r1, &c), "2026-01-01T00:00:00Z");
        let (mut new, _) = build(&services(&r2, &c), "2026-06-01T00:00:00Z");
        carry_over(&old, &mut new, "2026-06-01T00:00:00Z");
        let tlogs = new["tlogs"].as_array().unwrap();
        assert_eq!(tlogs.len(), 2);
        assert_eq!(tlogs[0]["logId"]["keyId"], STANDARD.encode(log_id(r2.public_key_der())));
        assert_eq!(tlogs[0]["publicKey"]["validFor"], json!({"start": "2026-06-01T00:00:00Z"}));
        assert_eq!(tlogs[1]["logId"]["keyId"], STANDARD.encode(log_id(r1.public_key_der())));
        assert_eq!(
            tlogs[1]["publicKey"]["validFor"],
            json!({"start": "2026-01-01T00:00:00Z", "end": "2026-06-01T00:00:00Z"})
        );
        // The CT key did not change: one entry, original start.
        assert_eq!(new["ctlogs"].as_array().unwrap().len(), 1);
        assert_eq!(new["ctlogs"][0]["publicKey"]["validFor"]["start"], "2026-01-01T00:00:00Z");
        // A second rotation keeps the first retired key's original end.
        let r3 = EcdsaP256Signer::generate();
        let (mut newer, _) = build(&services(&r3, &c), "2026-09-01T00:00:00Z");
        carry_over(&new, &mut newer, "2026-09-01T00:00:00Z");
        let ends: Vec<_> =
            newer["tlogs"].as_array().unwrap().iter().map(|t| t["publicKey"]["validFor"]["end"].clone()).collect();
        assert_eq!(ends, [Value::Null, json!("2026-09-01T00:00:00Z"), json!("2026-06-01T00:00:00Z")]);
    }
}
