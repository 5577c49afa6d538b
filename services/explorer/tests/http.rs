//! The explorer through `app()` (tower `oneshot`) over a real Rekor log on
//! SQLite: paging newest first, search by issuer, entry pages, the proof
//! document the browser checks (verified here with the same rules), error
//! states, and the security headers on every page.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use sigstead_crypto::{EcdsaSigner, Signer as _};
use sigstead_explorer::{Explorer, TrustSource};
use sigstead_testkit::certs::fulcio_like_cert;
use sigstead_testkit::stack::TestRekor;
use sigstead_tlog::Store;
use std::sync::Arc;
use tower::ServiceExt;

const REKOR_URL: &str = "https://rekor.explorer.test";

fn body_and_keys(cert_pem: &str, n: u8) -> (Vec<u8>, Vec<String>) {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(cert_pem);
    let digest = hex::encode([n; 32]);
    let body = format!(
        r#"{{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{{"data":{{"hash":{{"algorithm":"sha256","value":"{digest}"}}}},"signature":{{"content":"c2ln","publicKey":{{"content":"{b64}"}}}}}}}}"#
    );
    let der = sigstead_crypto::pem_certificates(cert_pem.as_bytes()).remove(0);
    let v = sigstead_crypto::VerifierMaterial::from_certificate_der(&der).unwrap();
    let mut keys = vec![sigstead_rekor_types::IndexKey::Sha256([n; 32]).to_key_string()];
    keys.extend(sigstead_rekor_types::IndexKey::for_verifier(&v).iter().map(|k| k.to_key_string()));
    (body.into_bytes(), keys)
}

struct Fixture {
    app: axum::Router,
    alice_pem: String,
    key: Arc<EcdsaSigner>,
    store: Store,
    trusted_root: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

/// A log holding the genesis leaf, five entries of alice (issuer A) and
/// one of bob (issuer B); an explorer over it with pages of 2.
async fn fixture() -> Fixture {
    sigstead_server::install_crypto_provider();
    let key = Arc::new(EcdsaSigner::generate_p256());
    let TestRekor { rekor, store, dir, .. } = TestRekor::start(REKOR_URL, key.clone(), None).await;
    let alice = fulcio_like_cert("alice@example.com", "https://issuer-a.example");
    let bob = fulcio_like_cert("bob@example.com", "https://issuer-b.example");
    for n in 1..=5u8 {
        let (body, keys) = body_and_keys(&alice, n);
        rekor.engine().append(body, keys).await.unwrap();
    }
    let (body, keys) = body_and_keys(&bob, 6);
    rekor.engine().append(body, keys).await.unwrap();
    // The trust root the explorer serves to the browser: this log's key under its URL.
    let root = serde_json::json!({
        "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
        "tlogs": [{
            "baseUrl": REKOR_URL,
            "hashAlgorithm": "SHA2_256",
            "publicKey": {"rawBytes": b64(key.public_key_der()), "keyDetails": "PKIX_ECDSA_P256_SHA_256", "validFor": {"start": "2020-01-01T00:00:00Z"}},
            "logId": {"keyId": b64(&sigstead_crypto::log_id(key.public_key_der()))}
        }],
        "certificateAuthorities": [], "ctlogs": [], "timestampAuthorities": []
    });
    let tr = dir.path().join("trusted_root.json");
    std::fs::write(&tr, root.to_string()).unwrap();
    let ex_store = store.clone();
    let ex = Explorer::new(store, "rekor", REKOR_URL.into(), 2, TrustSource::File(tr.clone()), None).await.unwrap();
    Fixture {
        app: sigstead_explorer::app(ex, &Default::default()),
        alice_pem: alice,
        key,
        store: ex_store,
        trusted_root: tr,
        _dir: dir,
    }
}

fn b64(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(b)
}

async fn get(app: &axum::Router, uri: &str) -> (StatusCode, axum::http::HeaderMap, String) {
    let resp = app.clone().oneshot(Request::get(uri).body(Body::empty()).unwrap()).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

/// The log indexes linked from a result page, in order.
fn indexes(html: &str) -> Vec<u64> {
    html.split("<a href=\"/entry/")
        .skip(1)
        .filter_map(|s| s.split_once("\">").and_then(|(_, rest)| rest.split('<').next()))
        .filter_map(|n| n.parse().ok())
        .collect()
}

fn older_link(html: &str) -> Option<String> {
    let (_, rest) = html.split_once("rel=\"next\" href=\"")?;
    Some(rest.split('"').next()?.replace("&amp;", "&"))
}

#[tokio::test]
async fn search_pages_newest_first_with_stable_links() {
    let f = fixture().await;
    let (s, h, page1) = get(&f.app, "/search?kind=identity&q=alice%40example.com").await;
    assert_eq!(s, StatusCode::OK);
    assert!(h["content-security-policy"].to_str().unwrap().contains("default-src 'none'"));
    assert_eq!(indexes(&page1), vec![5, 4]);
    let next = older_link(&page1).expect("an older page");
    assert_eq!(next, "/search?kind=identity&q=alice%40example.com&before=4");
    let (_, _, page2) = get(&f.app, &next).await;
    assert_eq!(indexes(&page2), vec![3, 2]);
    let (_, _, page3) = get(&f.app, &older_link(&page2).unwrap()).await;
    assert_eq!(indexes(&page3), vec![1]);
    assert!(older_link(&page3).is_none(), "the last page links no further");
    assert!(page3.contains("Newest</a>"));
    // The rows carry identity, issuer and digest.
    assert!(page1.contains("alice@example.com") && page1.contains("https://issuer-a.example"));
    assert!(page1.contains(&format!("sha256:{}", hex::encode([5u8; 32]))));
}

#[tokio::test]
async fn search_by_issuer_digest_index_and_uuid() {
    let f = fixture().await;
    let (_, _, b) = get(&f.app, "/search?kind=issuer&q=https%3A%2F%2Fissuer-b.example").await;
    assert_eq!(indexes(&b), vec![6]);
    let (_, _, d) = get(&f.app, &format!("/search?q=sha256%3A{}", hex::encode([3u8; 32]))).await;
    assert_eq!(indexes(&d), vec![3]);
    // A bare 64-hex digest finds the entry too (it could be a UUID or a digest).
    let (_, _, d) = get(&f.app, &format!("/search?q={}", hex::encode([2u8; 32]))).await;
    assert_eq!(indexes(&d), vec![2]);
    let (_, _, i) = get(&f.app, "/search?q=4").await;
    assert_eq!(indexes(&i), vec![4]);
    let uuid = i.split("<a href=\"/entry/").nth(1).unwrap().split('"').next().unwrap().to_string();
    assert_eq!(uuid.len(), 80);
    let (_, _, u) = get(&f.app, &format!("/search?q={uuid}")).await;
    assert_eq!(indexes(&u), vec![4]);
    // A public key (here as the certificate carrying it) finds that signer's entries.
    let pem = sigstead_explorer::html::enc(&f.alice_pem);
    let (_, _, k) = get(&f.app, &format!("/search?kind=key&q={pem}")).await;
    assert_eq!(indexes(&k), vec![5, 4]);
    let (_, _, k) = get(&f.app, &format!("/search?q={pem}")).await;
    assert_eq!(indexes(&k), vec![5, 4], "a PEM is recognised without a kind");
    let (_, _, none) = get(&f.app, "/search?kind=identity&q=carol%40example.com").await;
    assert!(none.contains("No published entry matches"));
    let (_, _, beyond) = get(&f.app, "/search?q=99").await;
    assert!(beyond.contains("No published entry matches"));
}

#[tokio::test]
async fn entry_page_and_the_proof_the_browser_checks() {
    let f = fixture().await;
    let (_, _, i) = get(&f.app, "/search?q=2").await;
    let uuid = i.split("<a href=\"/entry/").nth(1).unwrap().split('"').next().unwrap().to_string();
    let (s, _, page) = get(&f.app, &format!("/entry/{uuid}")).await;
    assert_eq!(s, StatusCode::OK);
    for want in [
        "alice@example.com",
        "https://issuer-a.example",
        "1.3.6.1.4.1.57264.1.8",
        "hashedrekord",
        "id=\"verification\"",
    ] {
        assert!(page.contains(want), "{want} missing from the entry page");
    }
    assert!(page.contains(&format!("href=\"{REKOR_URL}/api/v1/log/entries/{uuid}\"")));
    let (s, _, proof) = get(&f.app, &format!("/api/proof/{uuid}")).await;
    assert_eq!(s, StatusCode::OK);
    let p: serde_json::Value = serde_json::from_str(&proof).unwrap();
    // What the page's script does, with the pure crates.
    use base64::Engine;
    let body = base64::engine::general_purpose::STANDARD.decode(p["body"].as_str().unwrap()).unwrap();
    let leaf = sigstead_merkle::leaf_hash(&body);
    assert_eq!(hex::encode(leaf), &uuid[16..]);
    let hashes: Vec<[u8; 32]> = p["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| hex::decode(h.as_str().unwrap()).unwrap().try_into().unwrap())
        .collect();
    let size = p["treeSize"].as_u64().unwrap();
    assert_eq!(size, 7);
    let cp =
        sigstead_note::verify_checkpoint_v1(p["checkpoint"].as_str().unwrap(), None, f.key.public_key_der()).unwrap();
    assert_eq!(cp.size, size);
    sigstead_merkle::verify_inclusion(2, size, &leaf, &hashes, &cp.root_hash).unwrap();
    assert_eq!(p["rekorUrl"], REKOR_URL);
    // The key the browser verifies with: the trusted root's, for this log's URL.
    let (_, _, logs) = get(&f.app, "/api/trust/logs").await;
    let logs: serde_json::Value = serde_json::from_str(&logs).unwrap();
    assert_eq!(logs["tlogs"][0]["baseUrl"], REKOR_URL);
    assert_eq!(logs["tlogs"][0]["publicKey"], b64(f.key.public_key_der()));
}

#[tokio::test]
async fn error_states_are_clear_and_change_nothing() {
    let f = fixture().await;
    let (s, h, page) = get(&f.app, "/search?q=hello").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(page.contains("cannot tell what") && page.contains("role=\"alert\""));
    assert!(h.contains_key("content-security-policy"));
    let (s, _, page) = get(&f.app, "/search?kind=drop&q=x").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(page.contains("unknown search kind"));
    let (s, _, _) = get(&f.app, &format!("/entry/{}", "0".repeat(64))).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, page) = get(&f.app, "/entry/not-a-uuid").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(!page.contains("internal"));
    let (s, _, json) = get(&f.app, &format!("/api/proof/{}", "0".repeat(64))).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(json.contains("\"code\":404"));
    // Another tree's entry ID finds nothing here.
    let (s, _, _) = get(&f.app, &format!("/entry/{:016x}{}", 1u64, "0".repeat(64))).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Markup in a search is escaped, never rendered.
    let (_, _, page) = get(&f.app, "/search?kind=identity&q=%3Cscript%3Ealert(1)%3C%2Fscript%3E").await;
    assert!(!page.contains("<script>alert(1)") && page.contains("&lt;script&gt;"));
    let (_, _, home) = get(&f.app, "/").await;
    assert!(home.contains("id=\"tree-size\">7<"));
    let (s, h, js) = get(&f.app, "/assets/explorer.js").await;
    assert_eq!(s, StatusCode::OK);
    assert!(h["content-type"].to_str().unwrap().starts_with("text/javascript"));
    assert!(js.contains("crypto.subtle"));
}

#[tokio::test]
async fn home_page_shows_the_monitors_last_verdict() {
    let f = fixture().await;
    let state = tempfile::tempdir().unwrap();
    let ex = |dir: Option<std::path::PathBuf>| {
        let (store, tr) = (f.store.clone(), f.trusted_root.clone());
        async move {
            let ex = Explorer::new(store, "rekor", REKOR_URL.into(), 2, TrustSource::File(tr), dir).await.unwrap();
            sigstead_explorer::app(ex, &Default::default())
        }
    };
    let app = ex(Some(state.path().to_path_buf())).await;
    let (_, _, home) = get(&app, "/").await;
    assert!(home.contains("id=\"monitor\">no verified checkpoint yet<"), "{home}");
    // The monitor's state file, as `sigstead monitor` keeps it.
    let grew_at = time::OffsetDateTime::now_utc().unix_timestamp() - 30;
    std::fs::write(
        state.path().join("rekor-checkpoint.json"),
        serde_json::json!({"checkpoint": "note", "tree_size": 5, "grew_at": grew_at}).to_string(),
    )
    .unwrap();
    let (_, _, home) = get(&app, "/").await;
    assert!(home.contains("verified consistent up to tree size 5 (2 entries behind the log)"), "{home}");
    std::fs::write(state.path().join("rekor-checkpoint.json"), "{broken").unwrap();
    let (s, _, home) = get(&app, "/").await;
    assert_eq!(s, StatusCode::OK);
    assert!(home.contains("state unreadable"), "{home}");
    // Without a monitor configured, nothing is claimed.
    let (_, _, home) = get(&ex(None).await, "/").await;
    assert!(!home.contains("id=\"monitor\""));
}
