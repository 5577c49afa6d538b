//! Criterion benchmark of the per-entry CPU work on the write path:
//! parsing, signature verification and canonicalisation of a hashedrekord.

use base64::{engine::general_purpose::STANDARD, Engine};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use p256::ecdsa::signature::hazmat::PrehashSigner;
use sha2::{Digest, Sha256};
use std::hint::black_box;

fn request() -> Vec<u8> {
    use p256::pkcs8::EncodePublicKey;
    let key = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
    let pem = key.verifying_key().to_public_key_pem(p256::pkcs8::LineEnding::LF).unwrap();
    let digest: [u8; 32] = Sha256::digest(b"artifact").into();
    let sig: p256::ecdsa::Signature = key.sign_prehash(&digest).unwrap();
    serde_json::to_vec(&serde_json::json!({
        "apiVersion": "0.0.1", "kind": "hashedrekord",
        "spec": {"data": {"hash": {"algorithm": "sha256", "value": hex::encode(digest)}},
                 "signature": {"content": STANDARD.encode(sig.to_der().as_bytes()),
                               "publicKey": {"content": STANDARD.encode(pem.as_bytes())}}}
    }))
    .unwrap()
}

fn canonicalize(c: &mut Criterion) {
    let req = request();
    let mut g = c.benchmark_group("hashedrekord");
    g.throughput(Throughput::Elements(1));
    g.bench_function("canonicalize_and_verify", |b| {
        b.iter(|| black_box(sigstead_rekor_types::canonicalize(black_box(&req)).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, canonicalize);
criterion_main!(benches);
