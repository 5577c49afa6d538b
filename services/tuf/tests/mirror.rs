//! `mirror` over real HTTP against the server's router: a byte-identical
//! copy, incremental re-runs, and refusals that leave the copy untouched.

mod common;
use common::*;
use sigstead_tuf::fixtures;
use sigstead_tuf_service::mirror::mirror;
use sigstead_tuf_service::online::refresh_online;
use sigstead_tuf_service::repo_dir::RepoDir;
use sigstead_tuf_service::{router, TufState};
use time::OffsetDateTime;

fn client() -> reqwest::Client {
    sigstead_server::install_crypto_provider();
    reqwest::Client::new()
}

/// Serves `dir` on a loopback port; returns its base URL.
async fn serve(dir: RepoDir) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router(TufState::new(dir))).await.unwrap() });
    url
}

fn write_all(dir: &RepoDir, files: &sigstead_tuf::client::Files) {
    for (p, b) in files {
        dir.write_atomic(p, b).unwrap();
    }
}

#[tokio::test]
async fn a_mirror_is_byte_identical_and_re_runs_fetch_only_what_changed() {
    let r = new_repo();
    refresh_online(&r.dir, &r.online, LIFE, OffsetDateTime::now_utc()).unwrap();
    let url = serve(r.dir.clone()).await;
    let out = tempfile::tempdir().unwrap();
    let copy = RepoDir::new(out.path());
    let first = mirror(client(), &url, r.root1.clone(), &copy, |_, _| {}).await.unwrap();
    assert_eq!((first.root_version, first.targets_version, first.unchanged), (1, 1, 0));
    let origin: Vec<_> = r.dir.load_files().unwrap().into_iter().collect();
    let mirrored: Vec<_> = copy.load_files().unwrap().into_iter().collect();
    assert_eq!(origin, mirrored, "every file, byte for byte");

    publish_targets(&r, 2, "{\"v\":2}");
    refresh_online(&r.dir, &r.online, LIFE, OffsetDateTime::now_utc()).unwrap();
    let fetched = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = fetched.clone();
    let second = mirror(client(), &url, r.root1.clone(), &copy, move |p, _| {
        log.lock().unwrap().push(p.to_string());
    })
    .await
    .unwrap();
    assert_eq!(second.targets_version, 2);
    let fetched = fetched.lock().unwrap().clone();
    assert_eq!(fetched.len(), 4, "timestamp, snapshot 2, targets 2 and the new target, nothing else: {fetched:?}");
    assert!(!fetched.iter().any(|p| p.starts_with("1.")), "{fetched:?}");
}

#[tokio::test]
async fn attack_fixtures_are_refused_over_http_and_the_copy_is_left_alone() {
    let now = OffsetDateTime::now_utc();
    for f in fixtures::all(now).unwrap() {
        let served = tempfile::tempdir().unwrap();
        let origin = RepoDir::new(served.path());
        let url = serve(origin.clone()).await;
        let out = tempfile::tempdir().unwrap();
        let copy = RepoDir::new(out.path());
        if let Some(base) = &f.baseline {
            write_all(&origin, base);
            mirror(client(), &url, f.root1.clone(), &copy, |_, _| {}).await.unwrap();
            // The attacker now serves the fixture instead.
            std::fs::remove_dir_all(served.path()).unwrap();
        }
        write_all(&origin, &f.repo);
        let before = copy.load_files().unwrap();
        let result = mirror(client(), &url, f.root1.clone(), &copy, |_, _| {}).await;
        if f.good {
            result.unwrap_or_else(|e| panic!("{}: {e}", f.name));
        } else {
            let err = result.expect_err(f.name).to_string();
            assert!(err.starts_with("refusing to mirror"), "{}: {err}", f.name);
            assert_eq!(copy.load_files().unwrap(), before, "{}: the copy changed", f.name);
        }
    }
}
