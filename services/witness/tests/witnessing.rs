//! The log's side: a served Rekor log asks a served witness to cosign each
//! new checkpoint (`[witnessing]`), publishes the cosigned checkpoint, and
//! `sigstead monitor --witness-key` accepts it; a forked copy of the log
//! gets no cosignature from the same witness, and the monitor says so.

use sigstead_crypto::{EcdsaSigner, Ed25519Signer, Signer};
use sigstead_monitor::witnessed::check_witnessed;
use sigstead_monitor::{Alert, RekorTarget};
use sigstead_note::cosignature::{verify_cosignature, Cosigner};
use sigstead_testkit::stack::TestRekor;
use sigstead_witness::client::{VKey, WitnessPeer, Witnessing};
use sigstead_witness::state::StateDir;
use sigstead_witness::Witness;
use std::collections::HashMap;
use std::num::NonZeroI64;
use std::sync::Arc;
use std::time::Duration;

async fn serve_witness(w: Witness) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = sigstead_witness::app(w, &Default::default());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

async fn wait_cosigned(log: &TestRekor, size: u64) -> String {
    for _ in 0..100 {
        if let Some(n) = log.rekor.cosigned_checkpoint() {
            if n.lines().nth(1) == Some(&size.to_string()) {
                return n.to_string();
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no cosigned checkpoint of size {size}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_publishes_cosigned_checkpoints_and_the_monitor_checks_them() {
    sigstead_server::install_crypto_provider();
    let log_key = Arc::new(EcdsaSigner::generate_p256());
    let tree = NonZeroI64::new(9);
    let mut honest = TestRekor::start("https://rekor.witnessed.test", log_key.clone(), tree).await;
    let honest_url = honest.serve().await;
    let origin = honest.rekor.engine().checkpoint().signed.lines().next().unwrap().to_string();
    let state = tempfile::tempdir().unwrap();
    let witness = Witness::new(
        "witness.test/w1",
        Arc::new(Ed25519Signer::generate()),
        HashMap::from([(origin, log_key.public_key_der().to_vec())]),
        StateDir::open(state.path()).unwrap(),
    )
    .unwrap();
    let vkey = witness.vkey();
    let witness_url = serve_witness(witness).await;
    let peer = WitnessPeer { url: witness_url.clone(), vkey: VKey(Cosigner::from_vkey(&vkey).unwrap()) };
    let client = Witnessing::new(reqwest::Client::new(), vec![peer.clone()]);
    tokio::spawn(honest.rekor.clone().witness_forever(client, Duration::from_millis(100)));

    // Each new checkpoint gets cosigned (the first from old 0, the next with a proof).
    let cosigner = Cosigner::from_vkey(&vkey).unwrap();
    for (round, n) in [(1u64, 3u32), (2, 4)] {
        for i in 0..n {
            honest.rekor.engine().append(format!("r{round}-{i}").into_bytes(), vec![]).await.unwrap();
        }
        let size = honest.rekor.engine().checkpoint().tree_size.0;
        let note = wait_cosigned(&honest, size).await;
        let (cp, _) = verify_cosignature(&note, &cosigner).unwrap();
        assert_eq!(cp.size, size);
    }
    // Served over HTTP, and the monitor accepts it with the witness key.
    let http = reqwest::Client::new();
    let target = RekorTarget { url: honest_url.clone(), key_spki: log_key.public_key_der().to_vec() };
    let verified =
        sigstead_note::verify_checkpoint_v1(&honest.rekor.engine().checkpoint().signed, None, log_key.public_key_der())
            .unwrap();
    assert_eq!(check_witnessed(&http, &target, std::slice::from_ref(&cosigner), &verified).await.unwrap(), 8);
    // A witness the log never asked: `witness-missing`, not misbehaviour.
    let stranger = Cosigner::from_spki("witness.test/w2", Ed25519Signer::generate().public_key_der()).unwrap();
    let e = check_witnessed(&http, &target, &[stranger], &verified).await.unwrap_err();
    assert_eq!(e.kind(), "witness-missing", "{e}");
    assert!(!e.is_misbehaviour());

    // `forked-log`: a copy of the log with other entries asks the same witness and gets nothing;
    // it publishes no cosigned checkpoint, which the monitor reports.
    let mut forked = TestRekor::start("https://rekor.witnessed.test", log_key.clone(), tree).await;
    let forked_url = forked.serve().await;
    for i in 0..9 {
        forked.rekor.engine().append(format!("fork-{i}").into_bytes(), vec![]).await.unwrap();
    }
    let mut client = Witnessing::new(reqwest::Client::new(), vec![peer]);
    let log = forked.rekor.engine().clone();
    let proofs = move |a: u64, b: u64| {
        let log = log.clone();
        Box::pin(async move {
            log.consistency_proof(sigstead_tlog::TreeSize(a), sigstead_tlog::TreeSize(b))
                .await
                .map_err(|e| e.to_string())
        }) as std::pin::Pin<Box<dyn std::future::Future<Output = _> + Send>>
    };
    let cp = forked.rekor.engine().checkpoint();
    let outcomes = client.round(&cp.signed, cp.tree_size.0, &proofs).await;
    assert!(
        matches!(&outcomes[..], [sigstead_witness::client::Outcome::Failed(why)] if why.contains("422")),
        "{outcomes:?}"
    );
    let forked_target = RekorTarget { url: forked_url, key_spki: log_key.public_key_der().to_vec() };
    let fv = sigstead_note::verify_checkpoint_v1(&cp.signed, None, log_key.public_key_der()).unwrap();
    let e = check_witnessed(&http, &forked_target, std::slice::from_ref(&cosigner), &fv).await.unwrap_err();
    assert!(matches!(e, Alert::WitnessMissing { .. }), "{e}");
    // `split-view`: the monitor was shown the fork (10 leaves) while the log's cosigned
    // checkpoint of the same size is the honest one: caught as misbehaviour.
    for i in 0..2 {
        honest.rekor.engine().append(format!("r3-{i}").into_bytes(), vec![]).await.unwrap();
    }
    wait_cosigned(&honest, 10).await;
    let e = check_witnessed(&http, &target, &[cosigner], &fv).await.unwrap_err();
    assert!(matches!(e, Alert::SplitView { size: 10, .. }), "{e}");
    assert!(e.is_misbehaviour());
}
