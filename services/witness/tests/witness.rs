//! The witness through `app()` against real Rekor logs (the test kit's):
//! cosignatures that verify under the published vkey, every refusal of
//! C2SP `tlog-witness` with its status and reason, a forked log and a
//! rolled-back log refused, and the state surviving a restart.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use sigstead_crypto::{EcdsaSigner, Ed25519Signer, Signer};
use sigstead_note::cosignature::{verify_cosignature, AddCheckpoint, Cosigner};
use sigstead_testkit::stack::TestRekor;
use sigstead_tlog::TreeSize;
use sigstead_witness::state::StateDir;
use sigstead_witness::Witness;
use std::collections::HashMap;
use std::num::NonZeroI64;
use std::sync::Arc;
use tower::ServiceExt;

const URL: &str = "https://rekor.witness.test";
const NAME: &str = "witness.test/w1";

async fn grow(log: &TestRekor, prefix: &str, n: u32) {
    for i in 0..n {
        log.rekor.engine().append(format!("{prefix}{i}").into_bytes(), vec![]).await.unwrap();
    }
}

/// The `add-checkpoint` body for `log`'s newest checkpoint, proved from `old`.
async fn request(log: &TestRekor, old: u64) -> String {
    let cp = log.rekor.engine().checkpoint();
    let proof = if old == 0 {
        vec![]
    } else {
        log.rekor.engine().consistency_proof(TreeSize(old), cp.tree_size).await.unwrap()
    };
    AddCheckpoint { old_size: old, proof, checkpoint: cp.signed.clone() }.render()
}

fn origin_of(log: &TestRekor) -> String {
    log.rekor.engine().checkpoint().signed.lines().next().unwrap().to_string()
}

async fn post(app: &axum::Router, body: String) -> (StatusCode, Option<String>, String) {
    let req = Request::post("/add-checkpoint").body(Body::from(body)).unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let ct = resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_string());
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, ct, String::from_utf8(body.to_vec()).unwrap())
}

fn witness(key: Arc<Ed25519Signer>, logs: HashMap<String, Vec<u8>>, dir: &std::path::Path) -> axum::Router {
    let w = Witness::new(NAME, key, logs, StateDir::open(dir).unwrap()).unwrap();
    sigstead_witness::app(w, &Default::default())
}

#[tokio::test]
async fn cosigns_consistent_growth_and_refuses_forks_rollbacks_and_strangers() {
    sigstead_server::install_crypto_provider();
    let log_key = Arc::new(EcdsaSigner::generate_p256());
    let tree = NonZeroI64::new(4242);
    let honest = TestRekor::start(URL, log_key.clone(), tree).await;
    // `forked-log`: same origin and key, other entries after the genesis leaf.
    let forked = TestRekor::start(URL, log_key.clone(), tree).await;
    assert_eq!(origin_of(&honest), origin_of(&forked));
    let key = Arc::new(Ed25519Signer::generate());
    let state = tempfile::tempdir().unwrap();
    let logs = HashMap::from([(origin_of(&honest), log_key.public_key_der().to_vec())]);
    let app = witness(key.clone(), logs.clone(), state.path());
    let cosigner = Cosigner::from_vkey(
        &Witness::new(NAME, key.clone(), logs.clone(), StateDir::open(state.path()).unwrap()).unwrap().vkey(),
    )
    .unwrap();

    // First contact: old 0, then growth with a consistency proof; each cosignature verifies under the vkey.
    grow(&honest, "a", 4).await;
    let (s, _, line) = post(&app, request(&honest, 0).await).await;
    assert_eq!(s, StatusCode::OK, "{line}");
    assert!(line.starts_with("\u{2014} witness.test/w1 ") && line.ends_with('\n'), "{line:?}");
    let note = format!("{}{line}", honest.rekor.engine().checkpoint().signed);
    let (cp, _) = verify_cosignature(&note, &cosigner).unwrap();
    assert_eq!(cp.size, 5);
    grow(&honest, "b", 3).await;
    let (s, _, line) = post(&app, request(&honest, 5).await).await;
    assert_eq!(s, StatusCode::OK, "{line}");
    verify_cosignature(&format!("{}{line}", honest.rekor.engine().checkpoint().signed), &cosigner).unwrap();

    // `stale-old-size`: 409 naming the latest cosigned size, as text/x.tlog.size.
    let (s, ct, body) = post(&app, request(&honest, 0).await).await;
    assert_eq!((s, ct.as_deref(), body.as_str()), (StatusCode::CONFLICT, Some("text/x.tlog.size"), "8\n"));

    // `forked-log`: a checkpoint the log key signed that does not extend the cosigned one: 422, nothing recorded.
    grow(&forked, "x", 10).await;
    let mut fork = AddCheckpoint::parse(&request(&forked, 8).await).unwrap();
    fork.old_size = 8;
    let (s, _, body) = post(&app, fork.render()).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("consistency proof does not verify"), "{body}");
    // `split-view`: the same size as the cosigned checkpoint with another root: 409.
    let same_size = TestRekor::start(URL, log_key.clone(), tree).await;
    grow(&same_size, "y", 7).await;
    assert_eq!(same_size.rekor.engine().checkpoint().tree_size, TreeSize(8));
    let (s, _, body) = post(&app, request(&same_size, 8).await.replacen("old 0", "old 8", 1)).await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    assert!(body.contains("another root"), "{body}");

    // `rolled-back-log`: an older checkpoint of the honest log, claimed from the latest size: 400.
    let older = TestRekor::start(URL, log_key.clone(), tree).await;
    grow(&older, "a", 4).await;
    let (s, _, body) = post(&app, request(&older, 0).await.replacen("old 0", "old 8", 1)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("larger than the checkpoint's size"), "{body}");

    // `wrong-log-key`: the known origin signed by another key: 403. `unknown-origin`: 404.
    let impostor = TestRekor::start(URL, Arc::new(EcdsaSigner::generate_p256()), tree).await;
    let (s, _, _) = post(&app, request(&impostor, 0).await).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let stranger = TestRekor::start("https://elsewhere.test", log_key.clone(), tree).await;
    let (s, _, body) = post(&app, request(&stranger, 0).await).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{body}");

    // Malformed bodies: 400 with the reason.
    for (name, body, why) in [
        ("no-old-line", "new 3\n\nx\n".to_string(), "old <size>"),
        ("proof-not-base64", "old 8\n!!!\n\nx\n".to_string(), "proof line 1"),
        ("proof-on-first-contact", request(&honest, 8).await.replacen("old 8", "old 0", 1), "must be empty"),
    ] {
        let (s, _, got) = post(&app, body).await;
        assert!(s == StatusCode::BAD_REQUEST || s == StatusCode::CONFLICT, "{name}: {s} {got}");
        if s == StatusCode::BAD_REQUEST {
            assert!(got.contains(why), "{name}: {got}");
        }
    }

    // The honest log still gets cosignatures after all that.
    grow(&honest, "c", 2).await;
    let (s, _, body) = post(&app, request(&honest, 8).await).await;
    assert_eq!(s, StatusCode::OK, "{body}");
}

/// The state survives a restart: a new witness on the same directory knows
/// the latest cosigned size and refuses a fork of it.
#[tokio::test]
async fn a_restarted_witness_keeps_its_latest_checkpoint() {
    sigstead_server::install_crypto_provider();
    let log_key = Arc::new(EcdsaSigner::generate_p256());
    let tree = NonZeroI64::new(77);
    let honest = TestRekor::start(URL, log_key.clone(), tree).await;
    let forked = TestRekor::start(URL, log_key.clone(), tree).await;
    let key = Arc::new(Ed25519Signer::generate());
    let state = tempfile::tempdir().unwrap();
    let logs = HashMap::from([(origin_of(&honest), log_key.public_key_der().to_vec())]);
    grow(&honest, "a", 6).await;
    {
        let app = witness(key.clone(), logs.clone(), state.path());
        assert_eq!(post(&app, request(&honest, 0).await).await.0, StatusCode::OK);
    }
    let app = witness(key.clone(), logs.clone(), state.path());
    let (s, _, body) = post(&app, request(&honest, 0).await).await;
    assert_eq!((s, body.as_str()), (StatusCode::CONFLICT, "7\n"));
    grow(&forked, "z", 9).await;
    let (s, _, _) = post(&app, request(&forked, 7).await).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    grow(&honest, "b", 1).await;
    assert_eq!(post(&app, request(&honest, 7).await).await.0, StatusCode::OK);
}
