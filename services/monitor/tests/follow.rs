//! `sigstead monitor` against real Rekor logs served over HTTP: an honest log
//! is followed (each growth proven consistent, the state kept on disk), and
//! each lie is caught by name and leaves the verified state untouched:
//! `forked-log` (a second log with the same key and origin, diverging after
//! the genesis leaf: `inconsistent` when it is larger, `split-view` at the
//! same size), `rolled-back-log` (`tree-shrank`), `wrong-log-key`
//! (`bad-signature`), and a stale tree.

use sigstead_crypto::{EcdsaSigner, Signer as _};
use sigstead_monitor::{check_once, load_state, Alert, RekorTarget};
use sigstead_testkit::certs::fulcio_like_cert;
use sigstead_testkit::stack::TestRekor;
use std::sync::Arc;
use std::time::Duration;

type Served = TestRekor;

/// A Rekor log on SQLite, served on 127.0.0.1 (the test kit's); with
/// `tree_id`, the log row is created with that tree ID first (so two logs
/// share one origin).
async fn serve(key: Arc<EcdsaSigner>, tree_id: Option<std::num::NonZeroI64>) -> Served {
    let mut s = TestRekor::start("https://rekor.monitor.test", key, tree_id).await;
    s.serve().await;
    s
}

async fn grow(s: &Served, leaves: &[&str]) {
    for l in leaves {
        s.rekor.engine().append(l.as_bytes().to_vec(), vec![]).await.unwrap();
    }
}

fn target(url: &str, key: &EcdsaSigner) -> RekorTarget {
    RekorTarget { url: url.to_string(), key_spki: key.public_key_der().to_vec() }
}

#[tokio::test]
async fn an_honest_log_is_followed_and_every_lie_is_caught_by_name() {
    sigstead_server::install_crypto_provider();
    let key = Arc::new(EcdsaSigner::generate_p256());
    let honest = serve(key.clone(), None).await;
    let tree_id = honest.rekor.engine().tree_id();
    let forked = serve(key.clone(), Some(tree_id)).await;
    let http = reqwest::Client::new();
    let state = tempfile::tempdir().unwrap();
    let t = target(honest.url(), &key);

    // First sight: trust on first use of a correctly signed checkpoint.
    grow(&honest, &["a1", "a2"]).await;
    let r = check_once(&http, &t, state.path(), 1000, None, None).await.unwrap();
    assert_eq!((r.tree_size, r.previous, r.proved), (3, None, false));
    // Growth is proven consistent.
    grow(&honest, &["a3", "a4", "a5"]).await;
    let r = check_once(&http, &t, state.path(), 1010, None, None).await.unwrap();
    assert_eq!((r.tree_size, r.previous, r.proved), (6, Some(3), true));
    let verified = load_state(state.path()).unwrap().unwrap();
    assert_eq!(verified.tree_size, 6);

    // forked-log: same key, same origin, other leaves after the genesis leaf.
    let f = target(forked.url(), &key);
    grow(&forked, &["b1", "b2", "b3", "b4", "b5", "b6"]).await; // size 7 > 6
    let e = check_once(&http, &f, state.path(), 1020, None, None).await.unwrap_err();
    assert!(matches!(e, Alert::Inconsistent { old: 6, new: 7, .. }), "{e}");
    assert!(e.is_misbehaviour());
    assert_eq!(load_state(state.path()).unwrap().unwrap(), verified, "an alert leaves the evidence untouched");

    // split-view: the fork at the verified size.
    let fork_state = tempfile::tempdir().unwrap();
    std::fs::copy(state.path().join("rekor-checkpoint.json"), fork_state.path().join("rekor-checkpoint.json")).unwrap();
    let forked6 = serve(key.clone(), Some(tree_id)).await;
    grow(&forked6, &["c1", "c2", "c3", "c4", "c5"]).await; // size 6
    let e = check_once(&http, &target(forked6.url(), &key), fork_state.path(), 1030, None, None).await.unwrap_err();
    assert_eq!(e.kind(), "split-view", "{e}");

    // rolled-back-log: a smaller tree than verified.
    let rolled = serve(key.clone(), Some(tree_id)).await;
    grow(&rolled, &["a1", "a2"]).await; // size 3 < 6
    let e = check_once(&http, &target(rolled.url(), &key), state.path(), 1040, None, None).await.unwrap_err();
    assert!(matches!(e, Alert::TreeShrank { old: 6, new: 3 }), "{e}");

    // wrong-log-key: the checkpoint does not verify with the trusted key.
    let other = EcdsaSigner::generate_p256();
    let e = check_once(&http, &target(honest.url(), &other), state.path(), 1050, None, None).await.unwrap_err();
    assert_eq!(e.kind(), "bad-signature", "{e}");

    // The honest log is still followed, and a tree that stopped growing is stale.
    grow(&honest, &["a6"]).await;
    let r = check_once(&http, &t, state.path(), 2000, Some(Duration::from_secs(60)), None).await.unwrap();
    assert_eq!((r.tree_size, r.proved), (7, true));
    let e = check_once(&http, &t, state.path(), 2100, Some(Duration::from_secs(60)), None).await.unwrap_err();
    assert!(matches!(e, Alert::Stale { secs: 100, bound: 60 }), "{e}");
    assert!(!e.is_misbehaviour());
    // An unreachable log is an outage, not misbehaviour.
    let e = check_once(&http, &target("http://127.0.0.1:9", &key), state.path(), 2200, None, None).await.unwrap_err();
    assert_eq!((e.kind(), e.is_misbehaviour()), ("unreachable", false));
}

fn hashedrekord(cert_pem: &str, digest: &str) -> Vec<u8> {
    sigstead_rekor_types::wire::hashedrekord(digest, b"\x30\x45\x02\x21", cert_pem).to_vec()
}

/// Identity alerts: entries new since the verified checkpoint that name a
/// watched identity (exact or regexp, with its issuer) or digest are
/// reported; others, and entries before the first verified checkpoint, are not.
#[tokio::test]
async fn new_entries_naming_a_watched_identity_or_digest_are_reported() {
    use sigstead_monitor::watch::{IdentityRule, San, Watch};
    sigstead_server::install_crypto_provider();
    let key = Arc::new(EcdsaSigner::generate_p256());
    let log = serve(key.clone(), None).await;
    let http = reqwest::Client::new();
    let state = tempfile::tempdir().unwrap();
    let t = target(log.url(), &key);
    let digest = "ab".repeat(32);
    let watch = Watch {
        identities: vec![
            IdentityRule { san: San::Exact("release@example.com".into()), issuer: Some("https://idp.example".into()) },
            IdentityRule { san: San::Regexp(regex::Regex::new("^ci-.*@example\\.com$").unwrap()), issuer: None },
        ],
        digests: vec![digest.clone()],
    };
    let before = hashedrekord(&fulcio_like_cert("release@example.com", "https://idp.example"), &"00".repeat(32));
    log.rekor.engine().append(before, vec![]).await.unwrap();
    let r = check_once(&http, &t, state.path(), 1, None, Some(&watch)).await.unwrap();
    assert!(r.sightings.is_empty(), "first sight starts the watch: {:?}", r.sightings);
    let entries = [
        hashedrekord(&fulcio_like_cert("release@example.com", "https://idp.example"), &"11".repeat(32)), // exact + issuer
        hashedrekord(&fulcio_like_cert("release@example.com", "https://other.example"), &"22".repeat(32)), // wrong issuer
        hashedrekord(&fulcio_like_cert("ci-build@example.com", "https://other.example"), &"33".repeat(32)), // regexp
        hashedrekord(&fulcio_like_cert("bob@example.com", "https://idp.example"), &digest),                // digest
        b"not a json body".to_vec(),
    ];
    for e in entries {
        log.rekor.engine().append(e, vec![]).await.unwrap();
    }
    let r = check_once(&http, &t, state.path(), 2, None, Some(&watch)).await.unwrap();
    let seen: Vec<(u64, &str)> = r.sightings.iter().map(|s| (s.log_index, s.rule.as_str())).collect();
    assert_eq!(
        seen,
        [
            (2, "release@example.com from https://idp.example"),
            (4, "/^ci-.*@example\\.com$/"),
            (5, format!("digest {digest}").as_str())
        ]
    );
    assert_eq!(r.sightings[0].issuer.as_deref(), Some("https://idp.example"));
    assert_eq!(r.sightings[2].identities, ["bob@example.com"]);
}

/// `[monitor]` inside a log service: the embedded monitor, configured as
/// `rekor.toml` does (trusted root by the public URL, fetched from the
/// served one), keeps verifying the log as it grows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_monitor_follows_the_log_it_runs_in() {
    use base64::Engine;
    sigstead_server::install_crypto_provider();
    let key = Arc::new(EcdsaSigner::generate_p256());
    let log = serve(key.clone(), None).await;
    let dir = tempfile::tempdir().unwrap();
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let root = serde_json::json!({
        "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
        "tlogs": [{
            "baseUrl": "https://rekor.monitor.test",
            "hashAlgorithm": "SHA2_256",
            "publicKey": {"rawBytes": b64(key.public_key_der()), "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                          "validFor": {"start": "2020-01-01T00:00:00Z"}},
            "logId": {"keyId": b64(&sigstead_crypto::log_id(key.public_key_der()))}
        }],
        "certificateAuthorities": [], "ctlogs": [], "timestampAuthorities": []
    });
    std::fs::write(dir.path().join("trusted_root.json"), root.to_string()).unwrap();
    let text = format!(
        "url = {:?}\ntrusted_root = \"trusted_root.json\"\nstate_dir = \"state\"\ninterval_secs = 1\n",
        log.url()
    );
    let mut cfg: sigstead_monitor::embedded::EmbeddedMonitorConfig = toml::from_str(&text).unwrap();
    cfg.resolve(dir.path()).unwrap();
    let (http, follow) = cfg.follow("https://rekor.monitor.test").unwrap();
    tokio::spawn(sigstead_monitor::embedded::run_forever(http, follow));
    let state = dir.path().join("state");
    let wait = |want: u64| {
        let state = state.clone();
        async move {
            for _ in 0..60 {
                if load_state(&state).ok().flatten().is_some_and(|s| s.tree_size == want) {
                    return true;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            false
        }
    };
    assert!(wait(1).await, "the genesis checkpoint was verified");
    grow(&log, &["e1", "e2", "e3"]).await;
    assert!(wait(4).await, "the grown tree was verified (consistency proved from the last)");
    // A wrong key in the trusted root is refused at start-up of the follow (no key for that URL).
    let e = cfg.follow("https://elsewhere.test").unwrap_err();
    assert!(e.to_string().contains("no current Rekor log"), "{e}");
}
