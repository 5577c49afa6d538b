//! Acceptance and refusal of each entry kind, with keys made here.

use base64::{engine::general_purpose::STANDARD, Engine};
use p256::ecdsa::signature::hazmat::PrehashSigner;
use p256::ecdsa::signature::Signer;
use p256::pkcs8::EncodePublicKey;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use sigstead_rekor_types::wire;
use sigstead_rekor_types::{canonicalize, pae, EntryError, EntryKind};

struct Key(p256::ecdsa::SigningKey);

impl Key {
    fn new() -> Self {
        Self(p256::ecdsa::SigningKey::random(&mut rand_core::OsRng))
    }
    fn pem(&self) -> String {
        self.0.verifying_key().to_public_key_pem(p256::pkcs8::LineEnding::LF).unwrap()
    }
    fn pem_b64(&self) -> String {
        STANDARD.encode(self.pem())
    }
    fn sign(&self, msg: &[u8]) -> Vec<u8> {
        let s: p256::ecdsa::Signature = self.0.sign(msg);
        s.to_der().as_bytes().to_vec()
    }
}

fn envelope(payload: &[u8], signer: &Key) -> String {
    let t = wire::IN_TOTO_PAYLOAD_TYPE;
    wire::Envelope::new(t, payload, &[signer.sign(&pae(t, payload))]).to_text()
}

fn body(req: &Value) -> Result<Value, EntryError> {
    canonicalize(&serde_json::to_vec(req).unwrap()).map(|e| serde_json::from_slice(&e.body).unwrap())
}

const STATEMENT: &[u8] = br#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{"sha256":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}}],"predicateType":"x","predicate":{}}"#;

#[test]
fn intoto_v001_is_hashed_and_the_envelope_dropped() {
    let key = Key::new();
    let env = envelope(STATEMENT, &key);
    let req = wire::intoto_v001(&env, &key.pem()).to_json();
    let entry = canonicalize(&serde_json::to_vec(&req).unwrap()).unwrap();
    assert_eq!(entry.kind, EntryKind::IntotoV001);
    assert!(entry.index_keys.contains(&format!("sha256:{}", "a".repeat(64))), "subject digest indexed");
    let b: Value = serde_json::from_slice(&entry.body).unwrap();
    assert_eq!(b["spec"]["content"]["hash"]["value"], hex::encode(Sha256::digest(env.as_bytes())));
    assert_eq!(b["spec"]["content"]["payloadHash"]["value"], hex::encode(Sha256::digest(STATEMENT)));
    assert!(b["spec"]["content"].get("envelope").is_none());
    assert_eq!(b["spec"]["publicKey"], key.pem_b64());

    let other = Key::new();
    let req = wire::intoto_v001(&env, &other.pem()).to_json();
    assert!(matches!(body(&req), Err(EntryError::Signature(_))), "signature-by-other-key");
}

fn rekord(key: &Key, data: &[u8], sig_over: &[u8], hash: Option<&str>, format: &str) -> Value {
    wire::rekord_raw(format, data, &key.sign(sig_over), &key.pem(), hash).to_json()
}

#[test]
fn rekord_x509_is_verified_over_the_data_and_stores_only_its_hash() {
    let key = Key::new();
    let data = b"release tarball";
    let digest = hex::encode(Sha256::digest(data));
    let b = body(&rekord(&key, data, data, None, "x509")).unwrap();
    assert_eq!(b["kind"], "rekord");
    assert_eq!(b["spec"]["data"], json!({"hash": {"algorithm": "sha256", "value": digest}}));
    assert_eq!(b["spec"]["signature"]["format"], "x509");
    body(&rekord(&key, data, data, Some(&digest), "x509")).unwrap();

    let wrong = "0".repeat(64);
    let e = body(&rekord(&key, data, data, Some(&wrong), "x509")).unwrap_err();
    assert!(e.to_string().contains("SHA mismatch"), "hash-mismatch: {e}");
    assert!(matches!(body(&rekord(&key, data, b"other data", None, "x509")), Err(EntryError::Signature(_))));
    let e = body(&rekord(&key, data, data, None, "pgp")).unwrap_err();
    assert!(e.to_string().contains("pgp"), "unsupported-format: {e}");
}

#[test]
fn hashedrekord_with_sha384_and_sha512_digests() {
    let key = Key::new();
    for (alg, digest) in
        [("sha384", sha2::Sha384::digest(b"x").to_vec()), ("sha512", sha2::Sha512::digest(b"x").to_vec())]
    {
        let sig: p256::ecdsa::Signature = key.0.sign_prehash(&digest).unwrap();
        let req = wire::hashedrekord_raw(
            alg,
            &hex::encode(&digest),
            &STANDARD.encode(sig.to_der().as_bytes()),
            &key.pem_b64(),
        )
        .to_json();
        let b = body(&req).unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(b["spec"]["data"]["hash"]["algorithm"], alg);
        // The same signature claimed for a different digest of the same length fails.
        let mut bad = req.clone();
        let mut other = digest.clone();
        other[0] ^= 1;
        bad["spec"]["data"]["hash"]["value"] = json!(hex::encode(other));
        assert!(matches!(body(&bad), Err(EntryError::Signature(_))), "{alg}");
    }
}

#[test]
fn dsse_signature_must_verify_with_a_listed_verifier() {
    let key = Key::new();
    let other = Key::new();
    let env = envelope(STATEMENT, &key);
    let req = |v: &Key| wire::dsse(&env, &[&v.pem()]).to_json();
    let b = body(&req(&key)).unwrap();
    assert_eq!(b["spec"]["signatures"][0]["verifier"], key.pem_b64());
    assert!(matches!(body(&req(&other)), Err(EntryError::Signature(_))));
}

#[test]
fn hashedrekord_with_an_rsa_key() {
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::signature::KeyPair as _;
    let kp = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let spki = kp.public_key().as_der().unwrap();
    let pem = sigstead_crypto::pem_encode("PUBLIC KEY", spki.as_ref());
    let artifact = b"rsa-signed artifact";
    let mut sig = vec![0u8; kp.public_modulus_len()];
    kp.sign(&aws_lc_rs::signature::RSA_PKCS1_SHA256, &aws_lc_rs::rand::SystemRandom::new(), artifact, &mut sig)
        .unwrap();
    let req = |digest: &[u8]| wire::hashedrekord(&hex::encode(digest), &sig, &pem).to_json();
    let b = body(&req(&Sha256::digest(artifact))).unwrap();
    assert_eq!(b["spec"]["signature"]["publicKey"]["content"], STANDARD.encode(&pem));
    assert!(matches!(body(&req(&Sha256::digest(b"other"))), Err(EntryError::Signature(_))));
}
