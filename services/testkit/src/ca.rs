//! A throwaway CA for tests of the CT log and the CA: a root and an
//! intermediate on fresh P-256 keys, and leaf requests for it.

use sigstead_ca::{generate_ca, CaChain, LeafRequest, SubjectAltName};
use sigstead_crypto::{EcdsaSigner, Signer};
use std::sync::Arc;

/// A CA chain (intermediate, root) whose subject names `org`.
pub fn test_ca(org: &str) -> CaChain {
    let inter_key: Arc<dyn Signer> = Arc::new(EcdsaSigner::generate_p256());
    let root_key: Arc<dyn Signer> = Arc::new(EcdsaSigner::generate_p256());
    let (root, inter) = generate_ca(org, root_key, inter_key.clone(), time::OffsetDateTime::now_utc(), 1).expect("CA");
    CaChain::new(vec![inter, root], inter_key).expect("chain")
}

/// A ten-minute leaf for a fresh P-256 key with an e-mail SAN and no
/// Fulcio extensions.
pub fn leaf_request(email: &str) -> LeafRequest {
    let now = time::OffsetDateTime::now_utc();
    LeafRequest {
        spki_der: EcdsaSigner::generate_p256().public_key_der().to_vec(),
        san: SubjectAltName::Email(email.into()),
        extensions: vec![],
        not_before: now,
        not_after: now + time::Duration::minutes(10),
        serial: sigstead_ca::new_serial(),
    }
}
