//! Two CT log replicas on one Postgres database (the engine's replication
//! protocol), each with its own connection pool and HTTP app as two
//! processes would have: precertificates submitted to both get SCTs, every
//! entry is provable from the other replica at once, both serve the same
//! signed tree head, and the history is one.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::{engine::general_purpose::STANDARD, Engine};
use serde_json::{json, Value};
use sigstead_crypto::{EcdsaSigner, Signer};
use sigstead_testkit::ca::{leaf_request as leaf_for, test_ca};
use sigstead_testkit::http::{call, urlencode};
use sigstead_tlog::LogStore as _;
use std::sync::Arc;

async fn get(app: &axum::Router, path: &str) -> Value {
    let (s, v) = sigstead_testkit::http::get(app, path).await;
    assert_eq!(s, StatusCode::OK, "{path}: {v}");
    v
}

fn hashes(v: &Value) -> Vec<[u8; 32]> {
    v.as_array().unwrap().iter().map(|h| STANDARD.decode(h.as_str().unwrap()).unwrap().try_into().unwrap()).collect()
}

fn root_of(sth: &Value) -> [u8; 32] {
    STANDARD.decode(sth["sha256_root_hash"].as_str().unwrap()).unwrap().try_into().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_ct_replicas_one_tree() {
    let Some(db) = sigstead_testkit::db::postgres("ct_replicas").await else { return };
    let ca = test_ca("replicated");
    let ct_key = Arc::new(EcdsaSigner::generate_p256());
    let mut apps = Vec::new();
    for _ in 0..2 {
        let store = sigstead_tlog::Store::connect(&db.url).await.unwrap();
        store.migrate().await.unwrap();
        let log = sigstead_ctlog::open_with(
            store,
            "ct",
            ct_key.clone(),
            vec![ca.chain()[1].clone()],
            Default::default(),
            sigstead_tlog::Faults::none(),
        )
        .await
        .unwrap();
        assert!(apps.is_empty() == log.engine().is_leader(), "the first replica leads, the second follows");
        apps.push(sigstead_ctlog::router(log));
    }
    let before = get(&apps[1], "/ct/v1/get-sth").await;

    // Concurrent precertificates through both replicas.
    let ca = Arc::new(ca);
    let mut tasks = Vec::new();
    for i in 0..40 {
        let (app, ca) = (apps[i % 2].clone(), ca.clone());
        tasks.push(tokio::spawn(async move {
            let pre = ca.precertificate(&leaf_for(&format!("ci-{i}@example.com"))).unwrap();
            let body = json!({"chain": [STANDARD.encode(&pre.der), STANDARD.encode(&ca.chain()[0])]});
            let req = Request::post("/ct/v1/add-pre-chain")
                .header("content-type", "application/json")
                .body(Body::from(body.to_string()))
                .unwrap();
            let (s, v) = call(&app, req).await;
            assert_eq!(s, StatusCode::OK, "replica {}: {v}", i % 2);
            let entry = ca.ct_entry(&pre).unwrap();
            let mtl = entry.merkle_tree_leaf(v["timestamp"].as_u64().unwrap()).unwrap();
            (i % 2, sigstead_merkle::leaf_hash(&mtl))
        }));
    }
    let mut leaves = Vec::new();
    for t in tasks {
        leaves.push(t.await.unwrap());
    }

    // Both replicas serve the same signed tree head at once, and it verifies.
    let sth0 = get(&apps[0], "/ct/v1/get-sth").await;
    let sth1 = get(&apps[1], "/ct/v1/get-sth").await;
    assert_eq!(sth0["tree_size"], 40);
    assert_eq!(sth0["sha256_root_hash"], sth1["sha256_root_hash"]);
    let size = sth1["tree_size"].as_u64().unwrap();
    let root = root_of(&sth1);
    let sig = STANDARD.decode(sth1["tree_head_signature"].as_str().unwrap()).unwrap();
    sigstead_ct::verify_tree_head(sth1["timestamp"].as_u64().unwrap(), size, &root, &sig, ct_key.public_key_der())
        .unwrap();

    // Every entry is provable from the replica that did not take it.
    for (took, leaf_hash) in &leaves {
        let other = &apps[1 - took];
        let q = format!("/ct/v1/get-proof-by-hash?hash={}&tree_size={size}", urlencode(&STANDARD.encode(leaf_hash)));
        let p = get(other, &q).await;
        sigstead_merkle::verify_inclusion(
            p["leaf_index"].as_u64().unwrap(),
            size,
            leaf_hash,
            &hashes(&p["audit_path"]),
            &root,
        )
        .expect("inclusion proof from the other replica");
    }
    let entries = get(&apps[0], "/ct/v1/get-entries?start=0&end=39").await;
    assert_eq!(entries["entries"].as_array().unwrap().len(), 40);

    // One history: the empty tree head from before is a prefix of this one
    // (size 0 is consistent with anything), and a middle one too.
    assert_eq!(before["tree_size"], 0);
    let c = get(&apps[0], &format!("/ct/v1/get-sth-consistency?first=20&second={size}")).await;
    let first = get(&apps[1], "/ct/v1/get-entries?start=0&end=19").await;
    let leaf_hashes: Vec<[u8; 32]> = first["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| sigstead_merkle::leaf_hash(&STANDARD.decode(e["leaf_input"].as_str().unwrap()).unwrap()))
        .collect();
    let mut range = sigstead_merkle::CompactRange::new();
    for h in leaf_hashes {
        range.append(h, |_, _| {});
    }
    let root20 = range.root();
    sigstead_merkle::verify_consistency(20, size, &hashes(&c["consistency"]), &root20, &root).unwrap();
}
