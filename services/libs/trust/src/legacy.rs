//! The legacy TUF targets, derived from a trusted root.
//!
//! Before `trusted_root.json`, Sigstore clients found their keys as separate
//! TUF targets: `rekor.pub`, `ctfe.pub`, `fulcio_v1.crt.pem`,
//! `fulcio_intermediate_v1.crt.pem`, the TSA's `tsa_leaf.crt.pem`,
//! `tsa_intermediate_<n>.crt.pem`, `tsa_root.crt.pem`, each described in
//! `targets.json` with `custom.sigstore` metadata (`usage`: Fulcio, Rekor,
//! CTFE, TSA; `status`: Active or Expired; `uri`: the service). Admission
//! controllers built on those clients (Kyverno before its mid-2026 fix, cosign
//! 2's fallback, sigstore/sigstore's `fulcioroots`) still read them, and some
//! look the files up by name. The public-good repository's `targets.json`
//! (sigstore/root-signing, `repository/repository/targets.json`) is the model
//! for the names and the metadata.
//!
//! Here they are a pure function of the trusted root, so that they can never
//! disagree with it: the repository editor derives them from the
//! `trusted_root.json` target every time it writes a targets version, and a
//! rotation changes both in the same version. Naming: the first entry of
//! each kind whose window is open gets the well-known name(s); every other
//! entry (a retired key, a second instance of a federated root) gets the
//! kind's name with a suffix of 16 hex digits of its log ID (logs) or of the
//! SHA-256 of its leaf-most certificate (CAs, TSAs), and its whole chain in
//! one file. Status: `Expired` when the entry's `validFor` has an `end`
//! (the editor closes a window when the key is retired), `Active` otherwise
//! — a function of the document alone, so the same trusted root always gives
//! byte-identical targets.

use crate::wire::{CertificateAuthority, TimeRange, TransparencyLogInstance, TrustedRoot};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

/// `custom.sigstore.usage`, spelled as sigstore/sigstore's `UsageKind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    Fulcio,
    Rekor,
    Ctfe,
    Tsa,
}

impl Usage {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fulcio => "Fulcio",
            Self::Rekor => "Rekor",
            Self::Ctfe => "CTFE",
            Self::Tsa => "TSA",
        }
    }
}

/// `custom.sigstore.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Active,
    Expired,
}

impl Status {
    fn of(window: &TimeRange) -> Self {
        if window.end.is_some() {
            Self::Expired
        } else {
            Self::Active
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "Active",
            Self::Expired => "Expired",
        }
    }
}

/// One legacy target: its name, its bytes (PEM) and its custom metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyTarget {
    pub name: String,
    pub bytes: Vec<u8>,
    pub usage: Usage,
    pub status: Status,
    pub uri: String,
}

impl LegacyTarget {
    /// The target's `custom` value in `targets.json`.
    pub fn custom(&self) -> serde_json::Value {
        serde_json::json!({"sigstore": {"status": self.status.as_str(), "uri": self.uri, "usage": self.usage.as_str()}})
    }
}

/// True for every name [`legacy_targets`] can produce (and the public
/// repository's other legacy names), so an editor can tell derived targets
/// from the operator's own.
pub fn is_legacy_name(name: &str) -> bool {
    let (stem, ext) = match name.split_once('.') {
        Some(x) => x,
        None => return false,
    };
    let kind = |prefix: &str| stem == prefix || stem.strip_prefix(prefix).is_some_and(|s| s.starts_with('_'));
    match ext {
        "pub" => kind("rekor") || kind("ctfe"),
        "crt.pem" => kind("fulcio") || stem.starts_with("tsa_"),
        _ => false,
    }
}

fn suffix(bytes: &[u8]) -> String {
    hex::encode(&bytes[..bytes.len().min(8)])
}

fn decode(b64: &str) -> Vec<u8> {
    STANDARD.decode(b64).unwrap_or_default()
}

fn pem_certs(ders: &[Vec<u8>]) -> Vec<u8> {
    ders.iter().map(|d| sigstead_crypto::pem_encode("CERTIFICATE", d)).collect::<String>().into_bytes()
}

/// Named files (name, bytes) of one chain.
type Files = Vec<(String, Vec<u8>)>;

fn logs(out: &mut Vec<LegacyTarget>, logs: &[TransparencyLogInstance], base: &str, usage: Usage) {
    let mut named = false;
    for l in logs {
        let status = Status::of(&l.public_key.valid_for);
        let name = if status == Status::Active && !named {
            named = true;
            format!("{base}.pub")
        } else {
            format!("{base}_{}.pub", suffix(&decode(&l.log_id.key_id)))
        };
        let bytes = sigstead_crypto::pem_encode("PUBLIC KEY", &decode(&l.public_key.raw_bytes)).into_bytes();
        out.push(LegacyTarget { name, bytes, usage, status, uri: l.base_url.clone() });
    }
}

/// The files of each CA's or TSA's chain: the well-known split for the
/// first active one, one whole-chain file otherwise.
fn authorities(
    out: &mut Vec<LegacyTarget>,
    cas: &[CertificateAuthority],
    usage: Usage,
    split: fn(&[Vec<u8>]) -> Files,
    other: &str,
) {
    let mut named = false;
    for ca in cas {
        let chain: Vec<Vec<u8>> = ca.cert_chain.certificates.iter().map(|c| decode(&c.raw_bytes)).collect();
        if chain.is_empty() {
            continue;
        }
        let status = Status::of(&ca.valid_for);
        let files = if status == Status::Active && !named {
            named = true;
            split(&chain)
        } else {
            let digest = <sha2::Sha256 as sha2::Digest>::digest(&chain[0]);
            vec![(format!("{other}_{}.crt.pem", suffix(&digest)), pem_certs(&chain))]
        };
        for (name, bytes) in files {
            out.push(LegacyTarget { name, bytes, usage, status, uri: ca.uri.clone() });
        }
    }
}

/// Fulcio: the root (last certificate) as `fulcio_v1.crt.pem`, the
/// intermediates (if any) as `fulcio_intermediate_v1.crt.pem`.
fn fulcio_files(chain: &[Vec<u8>]) -> Files {
    let (root, intermediates) = chain.split_last().expect("non-empty chain");
    let mut files = vec![("fulcio_v1.crt.pem".to_string(), pem_certs(std::slice::from_ref(root)))];
    if !intermediates.is_empty() {
        files.push(("fulcio_intermediate_v1.crt.pem".to_string(), pem_certs(intermediates)));
    }
    files
}

/// TSA (leaf first): `tsa_leaf.crt.pem`, `tsa_intermediate_<n>.crt.pem`,
/// `tsa_root.crt.pem` (a one-certificate chain is a leaf only).
fn tsa_files(chain: &[Vec<u8>]) -> Files {
    let mut files = vec![("tsa_leaf.crt.pem".to_string(), pem_certs(&chain[..1]))];
    if chain.len() > 1 {
        let (root, middle) = chain[1..].split_last().expect("len > 1");
        for (n, c) in middle.iter().enumerate() {
            files.push((format!("tsa_intermediate_{n}.crt.pem"), pem_certs(std::slice::from_ref(c))));
        }
        files.push(("tsa_root.crt.pem".to_string(), pem_certs(std::slice::from_ref(root))));
    }
    files
}

/// Every legacy target of `root`, in a stable order (names are unique).
pub fn legacy_targets(root: &TrustedRoot) -> Vec<LegacyTarget> {
    let mut out = Vec::new();
    logs(&mut out, &root.tlogs, "rekor", Usage::Rekor);
    logs(&mut out, &root.ctlogs, "ctfe", Usage::Ctfe);
    authorities(&mut out, &root.certificate_authorities, Usage::Fulcio, fulcio_files, "fulcio");
    authorities(&mut out, &root.timestamp_authorities, Usage::Tsa, tsa_files, "tsa");
    // Two entries with the same key (a federated root listing one log twice)
    // would give one name twice: keep the first.
    let mut seen = std::collections::BTreeSet::new();
    out.retain(|t| seen.insert(t.name.clone()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{build, carry_over, Ca, LogKey, Services, Tsa};
    use sigstead_crypto::{EcdsaSigner, Signer};

    fn services(rekor: &EcdsaSigner, ct: &EcdsaSigner, ca_leaf: &[u8]) -> Services {
        Services {
            rekor: LogKey { url: "https://rekor.internal".into(), spki: rekor.public_key_der().to_vec() },
            ct: Some(LogKey { url: "https://ct.internal".into(), spki: ct.public_key_der().to_vec() }),
            ca: Some(Ca { url: "https://fulcio.internal".into(), chain: vec![ca_leaf.to_vec(), b"root".to_vec()] }),
            tsa: Some(Tsa {
                url: "https://tsa.internal/api/v1/timestamp".into(),
                chain: vec![b"tsa leaf".to_vec(), b"tsa mid".to_vec(), b"tsa root".to_vec()],
            }),
            oidc_urls: vec![],
        }
    }

    fn find<'a>(t: &'a [LegacyTarget], name: &str) -> &'a LegacyTarget {
        t.iter().find(|x| x.name == name).unwrap_or_else(|| panic!("{name} in {:?}", names(t)))
    }
    fn names(t: &[LegacyTarget]) -> Vec<&str> {
        t.iter().map(|x| x.name.as_str()).collect()
    }

    #[test]
    fn the_well_known_names_hold_the_keys_of_the_trusted_root() {
        let (r, c) = (EcdsaSigner::generate_p256(), EcdsaSigner::generate_p256());
        let (tr, _) = build(&services(&r, &c, b"inter"), "2026-01-01T00:00:00Z");
        let t = legacy_targets(&tr);
        assert_eq!(
            names(&t),
            [
                "rekor.pub",
                "ctfe.pub",
                "fulcio_v1.crt.pem",
                "fulcio_intermediate_v1.crt.pem",
                "tsa_leaf.crt.pem",
                "tsa_intermediate_0.crt.pem",
                "tsa_root.crt.pem"
            ]
        );
        let rekor = find(&t, "rekor.pub");
        let parsed = sigstead_crypto::VerifierMaterial::parse(&rekor.bytes).unwrap();
        assert_eq!(parsed.spki_der, r.public_key_der());
        assert_eq!(
            rekor.custom(),
            serde_json::json!({"sigstore": {"status": "Active", "uri": "https://rekor.internal", "usage": "Rekor"}})
        );
        assert_eq!(
            sigstead_crypto::VerifierMaterial::parse(&find(&t, "ctfe.pub").bytes).unwrap().spki_der,
            c.public_key_der()
        );
        assert_eq!(find(&t, "ctfe.pub").usage.as_str(), "CTFE");
        assert_eq!(sigstead_crypto::pem_certificates(&find(&t, "fulcio_v1.crt.pem").bytes), vec![b"root".to_vec()]);
        assert_eq!(
            sigstead_crypto::pem_certificates(&find(&t, "fulcio_intermediate_v1.crt.pem").bytes),
            vec![b"inter".to_vec()]
        );
        assert_eq!(
            sigstead_crypto::pem_certificates(&find(&t, "tsa_intermediate_0.crt.pem").bytes),
            vec![b"tsa mid".to_vec()]
        );
        assert_eq!(find(&t, "tsa_root.crt.pem").uri, "https://tsa.internal/api/v1/timestamp");
        assert!(t.iter().all(|x| is_legacy_name(&x.name)), "{:?}", names(&t));
        assert_eq!(legacy_targets(&tr), t, "deterministic");
    }

    /// After a Rekor key rotation and a CA rotation (carried over), the new
    /// key holds the well-known name, Active; the old one is listed Expired
    /// under a suffixed name.
    #[test]
    fn a_rotation_moves_the_well_known_name_and_expires_the_old_key() {
        let (r1, r2, c) = (EcdsaSigner::generate_p256(), EcdsaSigner::generate_p256(), EcdsaSigner::generate_p256());
        let (old, _) = build(&services(&r1, &c, b"inter 1"), "2026-01-01T00:00:00Z");
        let (mut new, _) = build(&services(&r2, &c, b"inter 2"), "2026-06-01T00:00:00Z");
        carry_over(&old, &mut new, "2026-06-01T00:00:00Z");
        let t = legacy_targets(&new);
        let active = find(&t, "rekor.pub");
        assert_eq!(sigstead_crypto::VerifierMaterial::parse(&active.bytes).unwrap().spki_der, r2.public_key_der());
        assert_eq!(active.status, Status::Active);
        let old_name = format!("rekor_{}.pub", hex::encode(&sigstead_crypto::log_id(r1.public_key_der())[..8]));
        let retired = find(&t, &old_name);
        assert_eq!(sigstead_crypto::VerifierMaterial::parse(&retired.bytes).unwrap().spki_der, r1.public_key_der());
        assert_eq!(retired.status, Status::Expired);
        let old_ca =
            format!("fulcio_{}.crt.pem", hex::encode(&<sha2::Sha256 as sha2::Digest>::digest(b"inter 1")[..8]));
        assert_eq!(
            sigstead_crypto::pem_certificates(&find(&t, &old_ca).bytes),
            vec![b"inter 1".to_vec(), b"root".to_vec()]
        );
        assert_eq!(find(&t, &old_ca).status, Status::Expired);
        assert_eq!(
            sigstead_crypto::pem_certificates(&find(&t, "fulcio_intermediate_v1.crt.pem").bytes),
            vec![b"inter 2".to_vec()]
        );
        assert!(t.iter().all(|x| is_legacy_name(&x.name)));
    }

    /// The public-good trusted root (several logs, CAs and TSAs, most of them
    /// retired) gives unique names, each a legacy name.
    #[test]
    fn the_public_good_root_gives_unique_legacy_names() {
        let dir = std::env::var("SIGSTEAD_VECTORS")
            .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../../../shared/vectors").to_string());
        let text = std::fs::read_to_string(format!("{dir}/public-good/targets/trusted_root.json")).unwrap();
        let tr: TrustedRoot = serde_json::from_str(&text).unwrap();
        let t = legacy_targets(&tr);
        assert!(t.iter().any(|x| x.name == "rekor.pub" && x.status == Status::Active));
        assert!(t.iter().any(|x| x.name == "fulcio_v1.crt.pem"));
        assert!(t.iter().any(|x| x.status == Status::Expired));
        let unique: std::collections::BTreeSet<_> = t.iter().map(|x| &x.name).collect();
        assert_eq!(unique.len(), t.len());
        assert!(t.iter().all(|x| is_legacy_name(&x.name)));
    }

    #[test]
    fn legacy_names_are_recognised_and_others_are_not() {
        for n in [
            "rekor.pub",
            "rekor_0011.pub",
            "ctfe.pub",
            "ctfe_2022.pub",
            "fulcio.crt.pem",
            "fulcio_v1.crt.pem",
            "fulcio_intermediate_v1.crt.pem",
            "tsa_leaf.crt.pem",
            "tsa_root.crt.pem",
            "tsa_intermediate_0.crt.pem",
        ] {
            assert!(is_legacy_name(n), "{n}");
        }
        for n in
            ["trusted_root.json", "signing_config.v0.2.json", "rekorx.pub", "artifact.pub", "tsa.crt.pem", "rekor.pem"]
        {
            assert!(!is_legacy_name(n), "{n}");
        }
    }
}
