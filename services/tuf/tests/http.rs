//! The TUF server over HTTP (tower oneshot), and the online re-signing.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use sigstead_crypto::Ed25519Signer;
use sigstead_tuf::client::{refresh, Files};
use sigstead_tuf::metadata::{Envelope, Timestamp};
use sigstead_tuf::repo;
use sigstead_tuf_service::online::refresh_online;
use sigstead_tuf_service::repo_dir::RepoDir;
use sigstead_tuf_service::{router, OnlineKeys, TufConfig, TufState};
use std::collections::BTreeMap;
use std::sync::Arc;
use time::OffsetDateTime;
use tower::ServiceExt;

mod common;
use common::*;

async fn get(r: &Repo, path: &str) -> (StatusCode, Option<String>, Vec<u8>) {
    let app = router(TufState::new(r.dir.clone()));
    let resp = app.oneshot(Request::get(path).body(Body::empty()).unwrap()).await.unwrap();
    let cache = resp.headers().get("cache-control").map(|v| v.to_str().unwrap().to_string());
    let status = resp.status();
    (status, cache, resp.into_body().collect().await.unwrap().to_bytes().to_vec())
}

fn timestamp(r: &Repo) -> Timestamp {
    Envelope::parse(&r.dir.read("timestamp.json").unwrap().unwrap()).unwrap().signed_as().unwrap()
}

#[tokio::test]
async fn serves_the_consistent_snapshot_layout_with_fitting_cache_headers() {
    let r = new_repo();
    refresh_online(&r.dir, &r.online, LIFE, OffsetDateTime::now_utc()).unwrap();
    let (s, c, body) = get(&r, "/timestamp.json").await;
    assert_eq!((s, c.as_deref()), (StatusCode::OK, Some("no-cache")));
    assert_eq!(body, r.dir.read("timestamp.json").unwrap().unwrap());
    for path in ["/1.root.json", "/1.snapshot.json", "/1.targets.json"] {
        let (s, c, _) = get(&r, path).await;
        assert_eq!((s, c.as_deref()), (StatusCode::OK, Some("public, max-age=31536000, immutable")), "{path}");
    }
    let (s, c, body) = get(&r, "/root.json").await;
    assert_eq!((s, c.as_deref(), body), (StatusCode::OK, Some("no-cache"), r.root1.clone()));
    // The next root does not exist yet: 404 ends a client's root walk.
    assert_eq!(get(&r, "/2.root.json").await.0, StatusCode::NOT_FOUND);
    // Everything a client needs verifies through the router.
    let files = r.dir.load_files().unwrap();
    let target = files.keys().find(|p| p.starts_with("targets/")).unwrap().clone();
    let (s, c, body) = get(&r, &format!("/{target}")).await;
    assert_eq!((s, c.as_deref()), (StatusCode::OK, Some("public, max-age=31536000, immutable")));
    assert_eq!(body, b"{\"v\":1}");
}

/// Caches in front of the server revalidate with the ETag: a matching
/// If-None-Match gets 304 without a body; a re-signed timestamp.json a new
/// ETag and the new bytes.
#[tokio::test]
async fn etags_let_caches_revalidate_and_a_resigned_timestamp_changes_it() {
    let r = new_repo();
    refresh_online(&r.dir, &r.online, LIFE, OffsetDateTime::now_utc()).unwrap();
    let app = router(TufState::new(r.dir.clone()));
    let fetch = |path: &str, inm: Option<&str>| {
        let mut req = Request::get(path);
        if let Some(t) = inm {
            req = req.header("if-none-match", t);
        }
        let app = app.clone();
        let req = req.body(Body::empty()).unwrap();
        async move {
            let resp = app.oneshot(req).await.unwrap();
            let tag = resp.headers().get("etag").map(|v| v.to_str().unwrap().to_string());
            let cache = resp.headers().get("cache-control").map(|v| v.to_str().unwrap().to_string());
            (resp.status(), tag, cache, resp.into_body().collect().await.unwrap().to_bytes().to_vec())
        }
    };
    for path in ["/timestamp.json", "/1.root.json", "/root.json"] {
        let (s, tag, _, body) = fetch(path, None).await;
        assert_eq!(s, StatusCode::OK, "{path}");
        let tag = tag.expect("an ETag");
        assert!(tag.starts_with('"') && tag.len() == 66, "{tag}");
        let (s, again, cache, body304) = fetch(path, Some(&tag)).await;
        assert_eq!(
            (s, again.as_deref(), body304.is_empty()),
            (StatusCode::NOT_MODIFIED, Some(tag.as_str()), true),
            "{path}"
        );
        assert!(cache.is_some(), "{path}: the cache policy comes with the 304");
        let (s, _, _, b) = fetch(path, Some("\"something-else\", W/\"older\"")).await;
        assert_eq!((s, b), (StatusCode::OK, body), "{path}: another ETag gets the file");
    }
    let (_, before, _, _) = fetch("/timestamp.json", None).await;
    let later = OffsetDateTime::now_utc() + time::Duration::days(30);
    refresh_online(&r.dir, &r.online, LIFE, later).unwrap();
    let (s, after, _, body) = fetch("/timestamp.json", before.as_deref()).await;
    assert_eq!(s, StatusCode::OK, "a re-signed timestamp is not the cached one");
    assert_ne!(after, before);
    assert_eq!(body, r.dir.read("timestamp.json").unwrap().unwrap());
}

#[tokio::test]
async fn path_traversal_and_unknown_files_are_404() {
    let r = new_repo();
    refresh_online(&r.dir, &r.online, LIFE, OffsetDateTime::now_utc()).unwrap();
    std::fs::write(r.dir.path().join("secret.key"), b"x").unwrap();
    for path in [
        "/secret.key",
        "/targets/../1.root.json",
        "/targets/..%2f1.root.json",
        "/targets/%2e%2e/secret.key",
        "/01.root.json",
        "/.1.root.json.tmp-1",
        "/targets/",
    ] {
        assert_eq!(get(&r, path).await.0, StatusCode::NOT_FOUND, "{path}");
    }
}

#[test]
fn online_roles_are_signed_once_and_kept_while_fresh() {
    let r = new_repo();
    let now = OffsetDateTime::now_utc();
    let first = refresh_online(&r.dir, &r.online, LIFE, now).unwrap();
    assert_eq!((first.snapshot, first.timestamp), (Some(1), Some(1)));
    let again = refresh_online(&r.dir, &r.online, LIFE, now + time::Duration::hours(1)).unwrap();
    assert_eq!((again.snapshot, again.timestamp), (None, None), "nothing changed, nothing re-signed");
    // Past half of the timestamp's lifetime: a new timestamp, same snapshot.
    let later = refresh_online(&r.dir, &r.online, LIFE, now + time::Duration::hours(13)).unwrap();
    assert_eq!((later.snapshot, later.timestamp), (None, Some(2)));
    assert_eq!(timestamp(&r).snapshot_meta().unwrap().version, 1);
}

#[test]
fn new_targets_get_a_new_snapshot_and_timestamp_and_clients_follow() {
    let r = new_repo();
    let now = OffsetDateTime::now_utc();
    refresh_online(&r.dir, &r.online, LIFE, now).unwrap();
    let fetch_from = |dir: &RepoDir| {
        let files = dir.load_files().unwrap();
        move |p: &str| Ok(files.get(p).cloned())
    };
    let (_, before) = refresh(&r.root1, &Files::new(), now, &mut fetch_from(&r.dir)).unwrap();
    publish_targets(&r, 2, "{\"v\":2}");
    let out = refresh_online(&r.dir, &r.online, LIFE, now).unwrap();
    assert_eq!((out.snapshot, out.timestamp), (Some(2), Some(2)));
    let (set, _) = refresh(&r.root1, &before, now, &mut fetch_from(&r.dir)).unwrap();
    assert_eq!(set.targets().unwrap().version, 2);
}

#[test]
fn refuses_to_sign_a_snapshot_for_targets_that_do_not_verify() {
    let r = new_repo();
    let now = OffsetDateTime::now_utc();
    refresh_online(&r.dir, &r.online, LIFE, now).unwrap();
    let ts_before = r.dir.read("timestamp.json").unwrap();
    // Targets 2 signed by the root key, which is not a targets key.
    let t = repo::targets_for(2, repo::expires_in(now, 86_400), &BTreeMap::new()).unwrap();
    r.dir.write_atomic("2.targets.json", &repo::sign(&t, &[&r.root_key]).unwrap().to_bytes()).unwrap();
    let err = refresh_online(&r.dir, &r.online, LIFE, now).unwrap_err().to_string();
    assert!(err.contains("does not verify under the current root"), "{err}");
    assert_eq!(r.dir.read("timestamp.json").unwrap(), ts_before, "nothing was re-signed");
    assert_eq!(r.dir.latest("snapshot").unwrap(), Some(1));
}

#[test]
fn refuses_online_keys_that_root_does_not_list() {
    let r = new_repo();
    let wrong = OnlineKeys { snapshot: r.online.snapshot.clone(), timestamp: Arc::new(Ed25519Signer::generate()) };
    let err = refresh_online(&r.dir, &wrong, LIFE, OffsetDateTime::now_utc()).unwrap_err().to_string();
    assert!(err.contains("is not one of root's timestamp keys"), "{err}");
    assert_eq!(r.dir.read("timestamp.json").unwrap(), None);
}

#[test]
fn example_config_parses_and_bad_combinations_fail() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/tuf.example.toml")).unwrap();
    let c = TufConfig::parse(&text, std::path::Path::new("/etc/sigstead")).unwrap();
    assert_eq!(c.timestamp_expiry_secs, 86_400);
    assert!(!c.static_only);
    // At the top: appended at the end it would land inside the file's last table.
    let static_with_keys = format!("static_only = true\n{text}");
    let e = TufConfig::parse(&static_with_keys, std::path::Path::new("/")).unwrap_err().to_string();
    assert!(e.contains("static_only"), "{e}");
    let no_keys = "listen = \"127.0.0.1:1\"\nrepository_dir = \"r\"\n";
    let e = TufConfig::parse(no_keys, std::path::Path::new("/")).unwrap_err().to_string();
    assert!(e.contains("required"), "{e}");
    assert!(TufConfig::parse(&format!("{no_keys}static_only = true\n"), std::path::Path::new("/")).is_ok());
    let e = TufConfig::parse(&format!("{no_keys}static_only = true\nbogus = 1\n"), std::path::Path::new("/"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("unknown field"), "{e}");
    let e = TufConfig::parse(
        &format!("{no_keys}static_only = true\ncheck_interval_secs = 50000\n"),
        std::path::Path::new("/"),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("check_interval_secs"), "{e}");
}

#[test]
fn offline_roles_close_to_expiry_are_warned_about_online_roles_are_not() {
    use sigstead_tuf::Role;
    let now = OffsetDateTime::now_utc();
    let day = time::Duration::days(1);
    let expiries = [
        (Role::Root, 3, now + day * 400),
        (Role::Targets, 7, now + day * 20),
        (Role::Snapshot, 9, now + day * 2),
        (Role::Timestamp, 11, now + day / 2),
    ];
    let w = sigstead_tuf_service::expiry_warnings(&expiries, now, day * 30);
    assert_eq!(
        w,
        vec![(Role::Targets, 7, now + day * 20)],
        "targets within 30 days; snapshot/timestamp are re-signed online"
    );
    let w = sigstead_tuf_service::expiry_warnings(&expiries, now, day * 500);
    assert_eq!(w.iter().map(|x| x.0).collect::<Vec<_>>(), [Role::Root, Role::Targets]);
}

/// `app()` is the served stack: `/readyz` answers 200 while a root can be
/// read and 503 when the repository is gone; `/healthz` stays 200.
#[tokio::test]
async fn readiness_follows_the_repository() {
    let r = new_repo();
    let http = sigstead_server::HttpConfig::default();
    let call = |path: &'static str| {
        let app = sigstead_tuf_service::app(TufState::new(r.dir.clone()), &http);
        async move { app.oneshot(Request::get(path).body(Body::empty()).unwrap()).await.unwrap().status() }
    };
    assert_eq!(call("/readyz").await, StatusCode::OK);
    assert_eq!(call("/1.root.json").await, StatusCode::OK);
    std::fs::remove_dir_all(r.dir.path()).unwrap();
    assert_eq!(call("/readyz").await, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(call("/healthz").await, StatusCode::OK);
}
