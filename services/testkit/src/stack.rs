//! In-process services for tests: a real Rekor and a real CT log (the
//! service crates' own `open_with` and `router`, on temporary SQLite files)
//! that tests drive through `app()` or over loopback HTTP, instead of each
//! test crate assembling them by hand.

use sigstead_crypto::EcdsaSigner;
use sigstead_rekor::{RekorConfig, RekorLog};
use sigstead_tlog::{Faults, LogStore as _, Store};
use std::num::NonZeroI64;
use std::sync::Arc;

/// The Rekor v1 checkpoint signer for a test log: origin `"<name> - 1"`,
/// signer name `<name>` (what the engine tests sign their checkpoints with).
pub fn note_signer(name: &str, key: Arc<EcdsaSigner>) -> sigstead_rekor::RekorCheckpointSigner {
    sigstead_rekor::RekorCheckpointSigner {
        origin: sigstead_note::Origin::new(format!("{name} - 1")).expect("origin"),
        name: name.into(),
        signer: key,
    }
}

/// A Rekor log on its own temporary SQLite database.
#[derive(Debug)]
pub struct TestRekor {
    pub rekor: RekorLog,
    pub store: Store,
    /// The log's signing key.
    pub key: Arc<EcdsaSigner>,
    pub config: RekorConfig,
    /// Set by [`TestRekor::serve`].
    pub url: Option<String>,
    pub dir: tempfile::TempDir,
}

impl TestRekor {
    /// A log named `rekor` whose checkpoints carry `public_url`'s host as
    /// origin, signed by `key`. With `tree_id`, the log row is created with
    /// that tree ID first (so that two logs share one origin: a fork).
    pub async fn start(public_url: &str, key: Arc<EcdsaSigner>, tree_id: Option<NonZeroI64>) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = RekorConfig {
            listen: "127.0.0.1:0".parse().expect("address"),
            public_url: public_url.into(),
            database_url: "sqlite://rekor.db".parse().expect("url"),
            log_name: "rekor".into(),
            signing_key: sigstead_keys::KeySource::file("key.pem", "key.pass"),
            batch: Default::default(),
            replication: Default::default(),
            http: Default::default(),
            witnessing: Default::default(),
            monitor: None,
        };
        config.resolve(dir.path()).expect("resolve");
        let store = Store::connect(&config.database_url.to_config_string()).await.expect("connect");
        store.migrate().await.expect("migrate");
        if let Some(t) = tree_id {
            store.create_log("rekor", t, 0).await.expect("log row");
        }
        let rekor = sigstead_rekor::open_with(&config, store.clone(), key.clone(), Faults::none()).await.expect("open");
        Self { rekor, store, key, config, url: None, dir }
    }

    /// The base URL [`TestRekor::serve`] gave.
    pub fn url(&self) -> &str {
        self.url.as_deref().expect("TestRekor::serve was not called")
    }

    /// Serves the Rekor API on a loopback port; returns its base URL.
    pub async fn serve(&mut self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let app = sigstead_rekor::router(self.rekor.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
        self.url = Some(url.clone());
        url
    }
}

/// An RFC 6962 CT log on its own temporary SQLite database, accepting
/// chains to `roots` (what the CA's and the CT log's tests run against).
#[derive(Debug)]
pub struct TestCtLog {
    pub ct: sigstead_ctlog::CtLog,
    pub key: Arc<EcdsaSigner>,
    pub dir: tempfile::TempDir,
}

impl TestCtLog {
    pub async fn start(roots: Vec<Vec<u8>>) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::connect(&format!("sqlite://{}/ct.db", dir.path().display())).await.expect("connect");
        store.migrate().await.expect("migrate");
        let key = Arc::new(EcdsaSigner::generate_p256());
        let ct = sigstead_ctlog::open_with(store, "ct", key.clone(), roots, Default::default(), Faults::none())
            .await
            .expect("open");
        Self { ct, key, dir }
    }

    /// The CT API as `app()` tests drive it.
    pub fn router(&self) -> axum::Router {
        sigstead_ctlog::router(self.ct.clone())
    }

    /// Serves the CT API on a loopback port; returns its base URL.
    pub async fn serve(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let app = self.router();
        tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
        url
    }
}
