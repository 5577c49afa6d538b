//! The CT log over HTTP: a CA's precertificate gets an SCT that verifies in
//! the final certificate, the entry is provably in the signed tree, and
//! chains the log must not accept are refused.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::{engine::general_purpose::STANDARD, Engine};
use serde_json::{json, Value};
use sigstead_ca::{CaChain, LeafRequest};
use sigstead_crypto::{EcdsaSigner, Signer};
use sigstead_ct::{LogEntry, Sct};
use sigstead_testkit::ca::test_ca as ca;
use sigstead_testkit::http::{call, get, urlencode};
use std::sync::Arc;

struct Fixture {
    app: axum::Router,
    ca: CaChain,
    ct_key: Arc<EcdsaSigner>,
    _dir: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let ca = ca("trusted");
    let t = sigstead_testkit::stack::TestCtLog::start(vec![ca.chain()[1].clone()]).await;
    Fixture { app: t.router(), ca, ct_key: t.key, _dir: t.dir }
}

fn leaf_request() -> LeafRequest {
    sigstead_testkit::ca::leaf_request("alice@example.com")
}

async fn post(app: &axum::Router, path: &str, chain: &[&[u8]]) -> (StatusCode, Value) {
    let body = json!({"chain": chain.iter().map(|c| STANDARD.encode(c)).collect::<Vec<_>>()});
    call(
        app,
        Request::post(path).header("content-type", "application/json").body(Body::from(body.to_string())).unwrap(),
    )
    .await
}

fn sct_from_json(v: &Value) -> Sct {
    let ds = STANDARD.decode(v["signature"].as_str().unwrap()).unwrap();
    assert_eq!(&ds[..2], &[4, 3], "sha256 + ecdsa");
    Sct {
        log_id: STANDARD.decode(v["id"].as_str().unwrap()).unwrap().try_into().unwrap(),
        timestamp_ms: v["timestamp"].as_u64().unwrap(),
        signature: ds[4..].to_vec(),
    }
}

#[tokio::test]
async fn precertificate_to_final_certificate_with_a_provable_sct() {
    let f = fixture().await;
    let (s, sth0) = get(&f.app, "/ct/v1/get-sth").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(sth0["tree_size"], 0, "a CT log has no genesis entry");

    let pre = f.ca.precertificate(&leaf_request()).unwrap();
    let pre_der = pre.der.clone();
    let (s, v) = post(&f.app, "/ct/v1/add-pre-chain", &[&pre.der, &f.ca.chain()[0]]).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["sct_version"], 0);
    let sct = sct_from_json(&v);
    assert_eq!(sct.log_id, sigstead_crypto::log_id(f.ct_key.public_key_der()));
    let entry = f.ca.ct_entry(&pre).unwrap();
    let leaf = f.ca.finalize(pre, std::slice::from_ref(&sct)).unwrap();

    // Verify from the final certificate alone, as clients do.
    let (tbs, scts) = sigstead_ct::final_cert_tbs_and_scts(&leaf).unwrap();
    let rebuilt = LogEntry::Precert { issuer_key_hash: sigstead_ct::spki_hash(&f.ca.chain()[0]).unwrap(), tbs };
    scts[0].verify(&rebuilt, f.ct_key.public_key_der()).unwrap();

    // The entry is in the signed tree.
    let (_, sth) = get(&f.app, "/ct/v1/get-sth").await;
    let size = sth["tree_size"].as_u64().unwrap();
    let root: [u8; 32] = STANDARD.decode(sth["sha256_root_hash"].as_str().unwrap()).unwrap().try_into().unwrap();
    let sig = STANDARD.decode(sth["tree_head_signature"].as_str().unwrap()).unwrap();
    sigstead_ct::verify_tree_head(sth["timestamp"].as_u64().unwrap(), size, &root, &sig, f.ct_key.public_key_der())
        .unwrap();
    let mtl = entry.merkle_tree_leaf(sct.timestamp_ms).unwrap();
    let leaf_hash = sigstead_merkle::leaf_hash(&mtl);
    let q = format!("/ct/v1/get-proof-by-hash?hash={}&tree_size={size}", urlencode(&STANDARD.encode(leaf_hash)));
    let (s, p) = get(&f.app, &q).await;
    assert_eq!(s, StatusCode::OK, "{p}");
    let path: Vec<[u8; 32]> = p["audit_path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| STANDARD.decode(h.as_str().unwrap()).unwrap().try_into().unwrap())
        .collect();
    sigstead_merkle::verify_inclusion(p["leaf_index"].as_u64().unwrap(), size, &leaf_hash, &path, &root).unwrap();
    let (_, e) = get(&f.app, "/ct/v1/get-entries?start=0&end=10").await;
    assert_eq!(STANDARD.decode(e["entries"][0]["leaf_input"].as_str().unwrap()).unwrap(), mtl);
    // extra_data is the PrecertChainEntry: the precertificate, then the submitted chain after it.
    let extra = STANDARD.decode(e["entries"][0]["extra_data"].as_str().unwrap()).unwrap();
    let certs = sigstead_ct::parse_extra_data(true, &extra).unwrap();
    assert_eq!(certs, vec![pre_der.clone(), f.ca.chain()[0].clone()]);

    // A second entry; the tree heads are consistent.
    let pre2 = f.ca.precertificate(&leaf_request()).unwrap();
    assert_eq!(post(&f.app, "/ct/v1/add-pre-chain", &[&pre2.der, &f.ca.chain()[0]]).await.0, StatusCode::OK);
    let (_, sth2) = get(&f.app, "/ct/v1/get-sth").await;
    let root2: [u8; 32] = STANDARD.decode(sth2["sha256_root_hash"].as_str().unwrap()).unwrap().try_into().unwrap();
    let (_, c) = get(&f.app, &format!("/ct/v1/get-sth-consistency?first={size}&second={}", sth2["tree_size"])).await;
    let proof: Vec<[u8; 32]> = c["consistency"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| STANDARD.decode(h.as_str().unwrap()).unwrap().try_into().unwrap())
        .collect();
    sigstead_merkle::verify_consistency(size, sth2["tree_size"].as_u64().unwrap(), &proof, &root, &root2).unwrap();
    let (_, roots) = get(&f.app, "/ct/v1/get-roots").await;
    assert_eq!(roots["certificates"][0], STANDARD.encode(&f.ca.chain()[1]));
}

#[tokio::test]
async fn chains_the_log_must_not_accept_are_refused_and_not_logged() {
    let f = fixture().await;
    let other = ca("untrusted");
    let pre = other.precertificate(&leaf_request()).unwrap();
    // untrusted-root
    let (s, v) = post(&f.app, "/ct/v1/add-pre-chain", &[&pre.der, &other.chain()[0], &other.chain()[1]]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(v["error_message"].as_str().unwrap().contains("accepted root"));
    // issuer-mismatch: a precert from the untrusted CA presented with the trusted intermediate
    let (s, _) = post(&f.app, "/ct/v1/add-pre-chain", &[&pre.der, &f.ca.chain()[0]]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // precert-via-add-chain
    let good = f.ca.precertificate(&leaf_request()).unwrap();
    assert_eq!(post(&f.app, "/ct/v1/add-chain", &[&good.der, &f.ca.chain()[0]]).await.0, StatusCode::BAD_REQUEST);
    // final-cert-via-add-pre-chain (no poison)
    let sct = Sct::sign(&f.ca.ct_entry(&good).unwrap(), 1, f.ct_key.as_ref()).unwrap();
    let final_cert = f.ca.finalize(good, &[sct]).unwrap();
    assert_eq!(post(&f.app, "/ct/v1/add-pre-chain", &[&final_cert, &f.ca.chain()[0]]).await.0, StatusCode::BAD_REQUEST);
    // missing-issuer
    assert_eq!(post(&f.app, "/ct/v1/add-chain", &[&final_cert]).await.0, StatusCode::BAD_REQUEST);
    // bad-base64
    let (s, _) = call(
        &f.app,
        Request::post("/ct/v1/add-chain")
            .header("content-type", "application/json")
            .body(Body::from(r#"{"chain":["!!"]}"#))
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (_, sth) = get(&f.app, "/ct/v1/get-sth").await;
    assert_eq!(sth["tree_size"], 0, "nothing was logged");
    // A final certificate with its chain is accepted by add-chain.
    assert_eq!(post(&f.app, "/ct/v1/add-chain", &[&final_cert, &f.ca.chain()[0]]).await.0, StatusCode::OK);
}
