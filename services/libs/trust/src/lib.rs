//! The trust documents clients consume (`trusted_root.json`,
//! `signing_config.v0.2.json`, and the ClientTrustConfig that bundles both
//! for sigstore-python's `--trust-config`), built from the live services'
//! keys and URLs, and carried across key rotations: a log key or CA that is
//! no longer current stays listed with a closed `validFor` window, so
//! bundles made while it was in force keep verifying. Pure JSON composition,
//! no I/O: `sigstead up`, `sigstead tuf trust-documents` and
//! `sigstead rekor trust-material` all build them here.

pub mod legacy;
pub mod wire;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sigstead_crypto::log_id;
pub use wire::{
    CertificateAuthority, ClientTrustConfig, SigningConfig, TransparencyLogInstance, TrustedRoot,
    CLIENT_TRUST_CONFIG_MEDIA_TYPE, SIGNING_CONFIG_MEDIA_TYPE, TRUSTED_ROOT_MEDIA_TYPE,
};
use wire::{DistinguishedName, LogId, PublicKey, Service, ServiceConfiguration, TimeRange, X509Certificate};

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

/// The timestamp authority of a deployment.
#[derive(Debug, Clone)]
pub struct Tsa {
    /// The full timestamp URL (`…/api/v1/timestamp`), as clients POST to it.
    pub url: String,
    /// DER certificates, leaf first, root last.
    pub chain: Vec<Vec<u8>>,
}

/// The services of one Sigstead deployment. A Rekor-only deployment (keys
/// held by the signers themselves) has no CA and no CT log; a deployment
/// without a TSA lists none and omits `tsaConfig` (sigstore-js refuses a
/// `tsaConfig` with no TSA).
#[derive(Debug, Clone)]
pub struct Services {
    pub rekor: LogKey,
    pub ct: Option<LogKey>,
    pub ca: Option<Ca>,
    pub tsa: Option<Tsa>,
    /// OIDC issuers clients may use interactively (signing config `oidcUrls`).
    pub oidc_urls: Vec<String>,
}

/// A ClientTrustConfig holding `trusted_root` and `signing_config`.
pub fn client_trust_config(trusted_root: &TrustedRoot, signing_config: &SigningConfig) -> ClientTrustConfig {
    ClientTrustConfig {
        media_type: CLIENT_TRUST_CONFIG_MEDIA_TYPE.to_string(),
        trusted_root: trusted_root.clone(),
        signing_config: signing_config.clone(),
    }
}

/// The `PublicKeyDetails` name of a DER public key.
fn key_details(spki: &[u8]) -> &'static str {
    match sigstead_crypto::PublicKey::from_spki_der(spki) {
        Ok(sigstead_crypto::PublicKey::EcdsaP384(_)) => "PKIX_ECDSA_P384_SHA_384",
        Ok(sigstead_crypto::PublicKey::Ed25519(_)) => "PKIX_ED25519",
        Ok(sigstead_crypto::PublicKey::Rsa(_)) => "PKIX_RSA_PKCS1V15_2048_SHA256",
        _ => "PKIX_ECDSA_P256_SHA_256",
    }
}

fn tlog(k: &LogKey, start: &str) -> TransparencyLogInstance {
    TransparencyLogInstance {
        base_url: k.url.clone(),
        hash_algorithm: "SHA2_256".into(),
        public_key: PublicKey {
            raw_bytes: STANDARD.encode(&k.spki),
            key_details: key_details(&k.spki).into(),
            valid_for: TimeRange::from(start),
        },
        log_id: LogId { key_id: STANDARD.encode(log_id(&k.spki)) },
        checkpoint_key_id: None,
        operator: None,
    }
}

/// The trusted root and signing config for `s`, every entry valid from `start` (RFC 3339).
pub fn build(s: &Services, start: &str) -> (TrustedRoot, SigningConfig) {
    let certificate_authorities = s
        .ca
        .iter()
        .map(|ca| CertificateAuthority {
            subject: DistinguishedName { organization: "sigstead".into(), common_name: "sigstead intermediate".into() },
            uri: ca.url.clone(),
            cert_chain: wire::X509CertificateChain {
                certificates: ca.chain.iter().map(|d| X509Certificate { raw_bytes: STANDARD.encode(d) }).collect(),
            },
            valid_for: TimeRange::from(start),
            operator: None,
        })
        .collect();
    let trusted_root = TrustedRoot {
        media_type: TRUSTED_ROOT_MEDIA_TYPE.into(),
        tlogs: vec![tlog(&s.rekor, start)],
        certificate_authorities,
        ctlogs: s.ct.iter().map(|ct| tlog(ct, start)).collect(),
        timestamp_authorities: s
            .tsa
            .iter()
            .map(|tsa| CertificateAuthority {
                subject: DistinguishedName {
                    organization: "sigstead".into(),
                    common_name: "sigstead timestamp authority".into(),
                },
                uri: tsa.url.clone(),
                cert_chain: wire::X509CertificateChain {
                    certificates: tsa.chain.iter().map(|d| X509Certificate { raw_bytes: STANDARD.encode(d) }).collect(),
                },
                valid_for: TimeRange::from(start),
                operator: None,
            })
            .collect(),
    };
    let service = |url: &str| Service {
        url: url.to_string(),
        major_api_version: 1,
        valid_for: TimeRange::from(start),
        operator: "sigstead".into(),
    };
    let signing_config = SigningConfig {
        media_type: SIGNING_CONFIG_MEDIA_TYPE.into(),
        ca_urls: s.ca.iter().map(|ca| service(&ca.url)).collect(),
        oidc_urls: s.oidc_urls.iter().map(|u| service(u)).collect(),
        rekor_tlog_urls: vec![service(&s.rekor.url)],
        tsa_urls: s.tsa.iter().map(|t| service(&t.url)).collect(),
        rekor_tlog_config: Some(ServiceConfiguration { selector: "ANY".into(), count: None }),
        tsa_config: s.tsa.as_ref().map(|_| ServiceConfiguration { selector: "ANY".into(), count: None }),
    };
    (trusted_root, signing_config)
}

/// Carries `previous` entries into `current`: an entry in both keeps its
/// original start; one only in `previous` is kept with its window closed at
/// `now` (unless already closed). Logs are the same entry when their log IDs
/// are; CAs and TSAs when their leaf-most certificates are.
fn carry<T: Clone>(
    previous: &[T],
    current: &mut Vec<T>,
    now: &str,
    id: fn(&T) -> &str,
    window: fn(&mut T) -> &mut TimeRange,
) {
    let mut retired = Vec::new();
    for old in previous {
        match current.iter_mut().find(|c| id(c) == id(old)) {
            Some(c) => window(c).start = window(&mut old.clone()).start.clone(),
            None => {
                let mut o = old.clone();
                let w = window(&mut o);
                if w.end.is_none() {
                    w.end = Some(now.to_string());
                }
                retired.push(o);
            }
        }
    }
    current.extend(retired);
}

/// Carries the history of the `previous` trusted root into `current`, so
/// that bundles made under a rotated key or CA keep verifying.
pub fn carry_over(previous: &TrustedRoot, current: &mut TrustedRoot, now: &str) {
    fn log_id(t: &TransparencyLogInstance) -> &str {
        &t.log_id.key_id
    }
    fn log_window(t: &mut TransparencyLogInstance) -> &mut TimeRange {
        &mut t.public_key.valid_for
    }
    fn leaf(c: &CertificateAuthority) -> &str {
        c.cert_chain.certificates.first().map_or("", |x| x.raw_bytes.as_str())
    }
    fn ca_window(c: &mut CertificateAuthority) -> &mut TimeRange {
        &mut c.valid_for
    }
    carry(&previous.tlogs, &mut current.tlogs, now, log_id, log_window);
    carry(&previous.ctlogs, &mut current.ctlogs, now, log_id, log_window);
    carry(&previous.certificate_authorities, &mut current.certificate_authorities, now, leaf, ca_window);
    carry(&previous.timestamp_authorities, &mut current.timestamp_authorities, now, leaf, ca_window);
}

/// Federates `other` into `current`: every log, CT log, CA and TSA of
/// `other` that `current` does not already list (same log ID, same
/// leaf-most certificate) is appended, windows unchanged, after `current`'s
/// own entries (which keep the legacy targets' well-known names). One trusted
/// root then serves verifiers that accept bundles of both instances.
pub fn include(current: &mut TrustedRoot, other: &TrustedRoot) {
    fn add<T: Clone>(mine: &mut Vec<T>, theirs: &[T], id: fn(&T) -> &str) {
        for t in theirs {
            if !mine.iter().any(|m| id(m) == id(t)) {
                mine.push(t.clone());
            }
        }
    }
    fn log_id(t: &TransparencyLogInstance) -> &str {
        &t.log_id.key_id
    }
    fn leaf(c: &CertificateAuthority) -> &str {
        c.cert_chain.certificates.first().map_or("", |x| x.raw_bytes.as_str())
    }
    add(&mut current.tlogs, &other.tlogs, log_id);
    add(&mut current.ctlogs, &other.ctlogs, log_id);
    add(&mut current.certificate_authorities, &other.certificate_authorities, leaf);
    add(&mut current.timestamp_authorities, &other.timestamp_authorities, leaf);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};
    use sigstead_crypto::{EcdsaSigner, Signer};

    fn v<T: serde::Serialize>(doc: &T) -> Value {
        serde_json::to_value(doc).unwrap()
    }

    fn services(rekor: &EcdsaSigner, ct: &EcdsaSigner) -> Services {
        Services {
            rekor: LogKey { url: "https://rekor.internal".into(), spki: rekor.public_key_der().to_vec() },
            ct: Some(LogKey { url: "https://ct.internal".into(), spki: ct.public_key_der().to_vec() }),
            ca: Some(Ca { url: "https://fulcio.internal".into(), chain: vec![b"inter".to_vec(), b"root".to_vec()] }),
            tsa: None,
            oidc_urls: vec!["https://idp.internal".into()],
        }
    }

    fn with_tsa(mut s: Services, leaf: &[u8]) -> Services {
        s.tsa = Some(Tsa {
            url: "https://tsa.internal/api/v1/timestamp".into(),
            chain: vec![leaf.to_vec(), b"tsa root".to_vec()],
        });
        s
    }

    #[test]
    fn a_tsa_is_listed_in_both_documents_and_tsa_config_only_with_it() {
        let (r, c) = (EcdsaSigner::generate_p256(), EcdsaSigner::generate_p256());
        let (tr, sc) = build(&with_tsa(services(&r, &c), b"tsa leaf"), "2026-01-01T00:00:00Z");
        let tc = v(&client_trust_config(&tr, &sc));
        let (tr, sc) = (v(&tr), v(&sc));
        let tsa = &tr["timestampAuthorities"][0];
        assert_eq!(tsa["certChain"]["certificates"][0]["rawBytes"], STANDARD.encode(b"tsa leaf"), "leaf first");
        assert_eq!(tsa["certChain"]["certificates"][1]["rawBytes"], STANDARD.encode(b"tsa root"));
        assert_eq!(tsa["validFor"], json!({"start": "2026-01-01T00:00:00Z"}));
        assert_eq!(
            sc["tsaUrls"],
            json!([{"url": "https://tsa.internal/api/v1/timestamp", "majorApiVersion": 1,
                    "validFor": {"start": "2026-01-01T00:00:00Z"}, "operator": "sigstead"}])
        );
        assert_eq!(sc["tsaConfig"], json!({"selector": "ANY"}));
        assert_eq!(tc["trustedRoot"]["timestampAuthorities"], tr["timestampAuthorities"]);
        assert_eq!(tc["signingConfig"]["tsaUrls"], sc["tsaUrls"]);
        let (_, without) = build(&services(&r, &c), "2026-01-01T00:00:00Z");
        let without = v(&without);
        assert_eq!((without["tsaUrls"].clone(), without.get("tsaConfig")), (json!([]), None));
    }

    #[test]
    fn a_rotated_tsa_chain_stays_listed_with_a_closed_window() {
        let (r, c) = (EcdsaSigner::generate_p256(), EcdsaSigner::generate_p256());
        let (old, _) = build(&with_tsa(services(&r, &c), b"leaf 1"), "2026-01-01T00:00:00Z");
        let (mut new, _) = build(&with_tsa(services(&r, &c), b"leaf 2"), "2026-06-01T00:00:00Z");
        carry_over(&old, &mut new, "2026-06-01T00:00:00Z");
        let new = v(&new);
        let tsas = new["timestampAuthorities"].as_array().unwrap();
        assert_eq!(tsas.len(), 2);
        assert_eq!(tsas[0]["certChain"]["certificates"][0]["rawBytes"], STANDARD.encode(b"leaf 2"));
        assert_eq!(tsas[0]["validFor"], json!({"start": "2026-06-01T00:00:00Z"}));
        assert_eq!(tsas[1]["certChain"]["certificates"][0]["rawBytes"], STANDARD.encode(b"leaf 1"));
        assert_eq!(tsas[1]["validFor"], json!({"start": "2026-01-01T00:00:00Z", "end": "2026-06-01T00:00:00Z"}));
    }

    /// A federated root lists both instances; including it twice adds nothing.
    #[test]
    fn include_appends_the_other_instance_once() {
        let dir = std::env::var("SIGSTEAD_VECTORS")
            .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../../../shared/vectors").to_string());
        let public: TrustedRoot = serde_json::from_str(
            &std::fs::read_to_string(format!("{dir}/public-good/targets/trusted_root.json")).unwrap(),
        )
        .unwrap();
        let (r, c) = (EcdsaSigner::generate_p256(), EcdsaSigner::generate_p256());
        let (mut tr, _) = build(&services(&r, &c), "2026-01-01T00:00:00Z");
        let own = tr.clone();
        include(&mut tr, &public);
        assert_eq!(tr.tlogs.len(), 1 + public.tlogs.len());
        assert_eq!(tr.tlogs[0], own.tlogs[0], "own entries first");
        assert_eq!(tr.certificate_authorities.len(), 1 + public.certificate_authorities.len());
        assert_eq!(tr.timestamp_authorities.len(), public.timestamp_authorities.len());
        let once = tr.clone();
        include(&mut tr, &public);
        assert_eq!(tr, once);
    }

    #[test]
    fn lists_every_service_with_its_key_id() {
        let (r, c) = (EcdsaSigner::generate_p256(), EcdsaSigner::generate_p256());
        let (tr, sc) = build(&services(&r, &c), "2026-01-01T00:00:00Z");
        let (tr, sc) = (v(&tr), v(&sc));
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
        let r = EcdsaSigner::generate_p256();
        let s = Services {
            rekor: LogKey { url: "https://rekor.internal".into(), spki: r.public_key_der().to_vec() },
            ct: None,
            ca: None,
            tsa: None,
            oidc_urls: vec![],
        };
        let (tr_doc, sc) = build(&s, "2026-01-01T00:00:00Z");
        let tc = v(&client_trust_config(&tr_doc, &sc));
        let (tr, sc) = (v(&tr_doc), v(&sc));
        assert_eq!(tr["tlogs"].as_array().unwrap().len(), 1);
        assert_eq!(tr["certificateAuthorities"], json!([]));
        assert_eq!(tr["ctlogs"], json!([]));
        assert_eq!(sc["caUrls"], json!([]));
        assert_eq!(sc["rekorTlogUrls"][0]["url"], "https://rekor.internal");
        assert_eq!(tc["mediaType"], CLIENT_TRUST_CONFIG_MEDIA_TYPE);
        assert_eq!(tc["trustedRoot"], tr);
    }

    #[test]
    fn a_rotated_key_stays_listed_with_a_closed_window_and_kept_keys_keep_their_start() {
        let (r1, r2, c) = (EcdsaSigner::generate_p256(), EcdsaSigner::generate_p256(), EcdsaSigner::generate_p256());
        let (old, _) = build(&services(&r1, &c), "2026-01-01T00:00:00Z");
        let (mut new, _) = build(&services(&r2, &c), "2026-06-01T00:00:00Z");
        carry_over(&old, &mut new, "2026-06-01T00:00:00Z");
        let new_doc = new.clone();
        let new = v(&new);
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
        let r3 = EcdsaSigner::generate_p256();
        let (mut newer, _) = build(&services(&r3, &c), "2026-09-01T00:00:00Z");
        carry_over(&new_doc, &mut newer, "2026-09-01T00:00:00Z");
        let newer = v(&newer);
        let ends: Vec<_> =
            newer["tlogs"].as_array().unwrap().iter().map(|t| t["publicKey"]["validFor"]["end"].clone()).collect();
        assert_eq!(ends, [Value::Null, json!("2026-09-01T00:00:00Z"), json!("2026-06-01T00:00:00Z")]);
    }

    /// A trusted root written by an earlier release (serde_json::Value
    /// composition) reads back as the typed document, so `--previous` keeps
    /// working across the upgrade.
    #[test]
    fn a_previous_root_written_as_json_reads_back() {
        let (r, c) = (EcdsaSigner::generate_p256(), EcdsaSigner::generate_p256());
        let (tr, sc) = build(&services(&r, &c), "2026-01-01T00:00:00Z");
        let text = serde_json::to_string_pretty(&v(&tr)).unwrap();
        assert_eq!(serde_json::from_str::<TrustedRoot>(&text).unwrap(), tr);
        let text = serde_json::to_string(&v(&sc)).unwrap();
        assert_eq!(serde_json::from_str::<SigningConfig>(&text).unwrap(), sc);
    }
}
