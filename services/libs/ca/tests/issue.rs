//! A CA made by `generate_ca` issues a leaf whose embedded SCT verifies and
//! whose signatures chain to the root.

use der::{Decode, Encode};
use sigstead_ca::{generate_ca, oid, CaChain, CertExtension, ExtensionEncoding, LeafRequest, SubjectAltName};
use sigstead_crypto::{EcdsaSigner, PublicKey, Signer};
use sigstead_ct::{final_cert_tbs_and_scts, LogEntry, Sct};
use std::sync::Arc;
use x509_cert::Certificate;

fn verify_signed_by(cert_der: &[u8], issuer_der: &[u8]) {
    let cert = Certificate::from_der(cert_der).unwrap();
    let issuer = Certificate::from_der(issuer_der).unwrap();
    let key = PublicKey::from_spki_der(&issuer.tbs_certificate.subject_public_key_info.to_der().unwrap()).unwrap();
    key.verify(&cert.tbs_certificate.to_der().unwrap(), cert.signature.raw_bytes()).expect("signed by issuer");
    assert_eq!(cert.tbs_certificate.issuer, issuer.tbs_certificate.subject, "issuer name chains");
}

#[test]
fn issues_a_leaf_with_a_valid_embedded_sct() {
    let now = time::OffsetDateTime::now_utc();
    let root_key: Arc<dyn Signer> = Arc::new(EcdsaSigner::generate_p256());
    let inter_key: Arc<dyn Signer> = Arc::new(EcdsaSigner::generate_p256());
    let (root, inter) = generate_ca("sigstead test", root_key, inter_key.clone(), now, 10).unwrap();
    verify_signed_by(&root, &root);
    verify_signed_by(&inter, &root);
    let ca = CaChain::new(vec![inter.clone(), root.clone()], inter_key).unwrap();

    let client = EcdsaSigner::generate_p256();
    let req = LeafRequest {
        spki_der: client.public_key_der().to_vec(),
        san: SubjectAltName::Email("alice@example.com".into()),
        extensions: vec![
            CertExtension {
                oid: oid::ISSUER,
                value: "https://issuer.example".into(),
                encoding: ExtensionEncoding::Raw,
            },
            CertExtension {
                oid: oid::ISSUER_V2,
                value: "https://issuer.example".into(),
                encoding: ExtensionEncoding::Utf8String,
            },
        ],
        not_before: now,
        not_after: now + time::Duration::minutes(10),
        serial: sigstead_ca::new_serial(),
    };
    let pre = ca.precertificate(&req).unwrap();
    let ct_key = EcdsaSigner::generate_p256();
    let entry = ca.ct_entry(&pre).unwrap();
    let sct = Sct::sign(&entry, 1_700_000_000_000, &ct_key).unwrap();
    let leaf = ca.finalize(pre, std::slice::from_ref(&sct)).unwrap();
    verify_signed_by(&leaf, &inter);

    // A verifier rebuilds the precert entry from the final certificate alone.
    let (tbs, scts) = final_cert_tbs_and_scts(&leaf).unwrap();
    assert_eq!(scts, vec![sct.clone()]);
    let rebuilt = LogEntry::Precert { issuer_key_hash: sigstead_ct::spki_hash(&inter).unwrap(), tbs };
    scts[0].verify(&rebuilt, ct_key.public_key_der()).unwrap();

    let cert = Certificate::from_der(&leaf).unwrap();
    assert!(cert.tbs_certificate.subject.0.is_empty(), "empty subject");
    let exts = cert.tbs_certificate.extensions.unwrap();
    let oids: Vec<String> = exts.iter().map(|e| e.extn_id.to_string()).collect();
    for want in [
        "2.5.29.15",
        "2.5.29.37",
        "2.5.29.14",
        "2.5.29.35",
        "2.5.29.17",
        "1.3.6.1.4.1.57264.1.1",
        "1.3.6.1.4.1.57264.1.8",
        "1.3.6.1.4.1.11129.2.4.2",
    ] {
        assert!(oids.iter().any(|o| o == want), "missing {want} in {oids:?}");
    }
    assert!(!oids.iter().any(|o| o == "1.3.6.1.4.1.11129.2.4.3"), "no poison in the final certificate");
    let san = exts.iter().find(|e| e.extn_id.to_string() == "2.5.29.17").unwrap();
    assert!(san.critical, "SAN is critical when the subject is empty");
    let issuer_raw = exts.iter().find(|e| e.extn_id.to_string() == "1.3.6.1.4.1.57264.1.1").unwrap();
    assert_eq!(issuer_raw.extn_value.as_bytes(), b"https://issuer.example");
    assert_eq!(sigstead_crypto::certificate_identities(&leaf), vec!["alice@example.com".to_string()]);
    let validity = cert.tbs_certificate.validity;
    let secs = validity.not_after.to_unix_duration().as_secs() - validity.not_before.to_unix_duration().as_secs();
    assert_eq!(secs, 600);
}

#[test]
fn a_key_that_is_not_the_intermediates_is_refused() {
    let now = time::OffsetDateTime::now_utc();
    let k: Arc<dyn Signer> = Arc::new(EcdsaSigner::generate_p256());
    let (root, inter) = generate_ca("x", k.clone(), Arc::new(EcdsaSigner::generate_p256()), now, 1).unwrap();
    assert_eq!(CaChain::new(vec![inter, root], k).unwrap_err(), sigstead_ca::CaError::KeyMismatch);
}
