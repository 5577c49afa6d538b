//! Temporary databases for storage tests: an embedded SQLite file in a
//! temporary directory, a fresh Postgres database per test, and the log
//! engine's in-memory store.
//!
//! Postgres comes from `SIGSTEAD_TEST_POSTGRES` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`); each call creates its own
//! database (`tests/run` drops `sigstead_test_*` afterwards). A missing
//! Postgres fails the test; `SIGSTEAD_TEST_SKIP_POSTGRES=1` runs the SQLite
//! half alone.

use sigstead_tlog::Store;

/// A database for one test; a SQLite file goes away with it.
#[derive(Debug)]
pub struct Db {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

/// A new embedded SQLite database.
pub async fn sqlite() -> Db {
    let dir = tempfile::tempdir().unwrap();
    Db { url: format!("sqlite://{}/log.db", dir.path().display()), _dir: Some(dir) }
}

/// A new Postgres database named after `name` and this process.
pub async fn postgres(name: &str) -> Option<Db> {
    if std::env::var("SIGSTEAD_TEST_SKIP_POSTGRES").is_ok_and(|v| v == "1") {
        return None;
    }
    let admin = std::env::var("SIGSTEAD_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let store =
        Store::connect(&admin).await.unwrap_or_else(|e| panic!("Postgres at {admin} is required for this test: {e}"));
    let db = format!("sigstead_test_{name}_{}", std::process::id());
    let Store::Postgres(pool) = &store else { panic!("not postgres") };
    sqlx::query(&format!("DROP DATABASE IF EXISTS {db}")).execute(pool).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {db}")).execute(pool).await.unwrap();
    let base = admin.rsplit_once('/').map(|(b, _)| b.to_string()).unwrap_or(admin);
    Some(Db { url: format!("{base}/{db}"), _dir: None })
}

/// A new in-memory store (`sigstead_tlog::store::memory`, with its fault
/// hooks), shared by every connection to the same URL in this process.
pub fn memory(name: &str) -> Db {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Db { url: format!("memory:{name}-{}-{n}", std::process::id()), _dir: None }
}

/// The in-memory store, SQLite and (unless skipped) Postgres: for engine
/// tests that hold on every backend of the storage contract.
pub async fn every_backend(name: &str) -> Vec<Db> {
    let mut v = vec![memory(name)];
    v.extend(backends(name).await);
    v
}

/// SQLite and (unless skipped) Postgres.
pub async fn backends(name: &str) -> Vec<Db> {
    let mut v = vec![sqlite().await];
    v.extend(postgres(name).await);
    v
}
