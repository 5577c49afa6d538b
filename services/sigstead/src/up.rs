//! `sigstead up`: the whole stack on 127.0.0.1 with embedded defaults —
//! wiring only; each service's `init` and `run` live in its crate.

use crate::data_dir::{Stack, SIGNING_CONFIG, TRUSTED_ROOT};
use anyhow::Context;
use sigstead_tlog::{DatabaseUrl, MigratePolicy, Store};
use std::path::Path;

/// Writes the trusted root, signing config and ClientTrustConfig of the stack.
fn write_trust_documents(
    stack: &Stack,
    rekor_spki: &[u8],
    tsa_chain: &[Vec<u8>],
    start_unix: i64,
) -> anyhow::Result<()> {
    let start = time::OffsetDateTime::from_unix_timestamp(start_unix)?
        .format(&time::format_description::well_known::Rfc3339)?;
    let ct_pub = std::fs::read(stack.ct_dir().join("ct-key.pub"))?;
    let ct_spki = sigstead_crypto::pem_decode_first(&ct_pub).context("ct-key.pub is not PEM")?.1;
    let chain_pem = std::fs::read(stack.ca_chain())?;
    let services = sigstead_trust::Services {
        rekor: sigstead_trust::LogKey { url: stack.rekor_url(), spki: rekor_spki.to_vec() },
        ct: Some(sigstead_trust::LogKey { url: stack.ct_url(), spki: ct_spki }),
        ca: Some(sigstead_trust::Ca {
            url: stack.fulcio_url(),
            chain: sigstead_crypto::pem_decode_all(&chain_pem).into_iter().map(|(_, d)| d).collect(),
        }),
        tsa: Some(sigstead_trust::Tsa { url: stack.tsa_url(), chain: tsa_chain.to_vec() }),
        oidc_urls: vec![stack.oidc_url()],
    };
    let (tr, sc) = sigstead_trust::build(&services, &start);
    std::fs::write(stack.trusted_root(), serde_json::to_vec_pretty(&tr)?)?;
    std::fs::write(stack.signing_config(), serde_json::to_vec_pretty(&sc)?)?;
    std::fs::write(stack.trust_config(), serde_json::to_vec_pretty(&sigstead_trust::client_trust_config(&tr, &sc))?)?;
    Ok(())
}

async fn bind(port: u16) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(("127.0.0.1", port)).await.with_context(|| format!("binding 127.0.0.1:{port}"))
}

/// `sigstead up`: the Rekor log, the CT log, the CA, the development OIDC
/// issuer, the TUF repository and the timestamp authority.
pub async fn up(data: &Path, database_url: Option<DatabaseUrl>, port_base: u16) -> anyhow::Result<()> {
    let stack = Stack::new(data, crate::data_dir::Ports::from_base(port_base)?);
    let ports = stack.ports;
    let rekor_cfg =
        sigstead_rekor::init::init(&stack.rekor_dir(), &Stack::listen(ports.rekor), None, database_url.as_ref())?;
    // A development stack applies the schema itself, Postgres included (in
    // production `sigstead migrate` does, once per release). The Rekor log is
    // opened once, here, and served as opened.
    let store = Store::open(&rekor_cfg.database_url, MigratePolicy::Apply).await?;
    let rekor = sigstead_rekor::open_with(
        &rekor_cfg,
        store,
        sigstead_rekor::load_signer(&rekor_cfg)?,
        sigstead_tlog::Faults::none(),
    )
    .await?;

    sigstead_fulcio::init::ca_init(&stack.ca_dir(), "sigstead")?;
    let issuer = sigstead_dev_oidc::DevIssuer::init(&stack.oidc_dir(), &stack.oidc_url())?;
    let ct_path = sigstead_ctlog::init::init(
        &stack.ct_dir(),
        &Stack::listen(ports.ctlog),
        &stack.ca_chain(),
        database_url.as_ref(),
    )?;
    let fulcio_path = sigstead_fulcio::init::dev_config(&stack.ca_dir(), ports.fulcio, &stack.ct_url(), issuer.url())?;
    let tsa_cfg = sigstead_tsa::TsaConfig::load(&sigstead_tsa::init::init(
        &stack.tsa_dir(),
        &Stack::listen(ports.tsa),
        &sigstead_tsa::init::TsaInit::default(),
    )?)?;
    let tsa = sigstead_tsa::open(&tsa_cfg)?;
    // Back-dated an hour before the log's creation so that no clock step can
    // put its first entries before the trust root's validity.
    write_trust_documents(
        &stack,
        rekor.signer().public_key_der(),
        tsa.authority().chain_der(),
        rekor.engine().created_at() - 3600,
    )?;
    let tuf_path = sigstead_tuf_service::editor::dev_repository(
        &stack.tuf_dir(),
        &[(TRUSTED_ROOT.to_string(), stack.trusted_root()), (SIGNING_CONFIG.to_string(), stack.signing_config())],
        &Stack::listen(ports.tuf),
    )?;

    // The explorer reads the log through the same embedded database handle
    // (an SQLite file is single-process) and the trust root through TUF.
    let explorer_cfg = sigstead_explorer::ExplorerConfig {
        listen: Stack::listen(ports.explorer).parse()?,
        database_url: rekor_cfg.database_url.clone(),
        log_name: rekor_cfg.log_name.clone(),
        rekor_url: stack.rekor_url(),
        tuf: Some(sigstead_explorer::config::TufSource {
            url: stack.tuf_url(),
            root: stack.tuf_root_1(),
            ca_file: None,
            refresh_secs: 30,
        }),
        trusted_root: None,
        monitor_state_dir: None,
        page_size: 20,
        http: Default::default(),
    };
    let explorer = sigstead_explorer::open_with(&explorer_cfg, rekor.engine().store().clone()).await?;

    let oidc_app = issuer.router()?;
    let (stop_tx, _) = tokio::sync::broadcast::channel::<()>(1);
    let stopped = |tx: &tokio::sync::broadcast::Sender<()>| {
        let mut rx = tx.subscribe();
        async move {
            let _ = rx.recv().await;
        }
    };
    let mut tasks = tokio::task::JoinSet::new();
    let (l_oidc, l_ct, l_fulcio, l_rekor, l_tuf, l_tsa, l_explorer) = (
        bind(ports.oidc).await?,
        bind(ports.ctlog).await?,
        bind(ports.fulcio).await?,
        bind(ports.rekor).await?,
        bind(ports.tuf).await?,
        bind(ports.tsa).await?,
        bind(ports.explorer).await?,
    );
    tasks.spawn(sigstead_server::serve(oidc_app, l_oidc, None, stopped(&stop_tx)).map_err_into());
    tasks.spawn(sigstead_ctlog::run(sigstead_ctlog::CtConfig::load(&ct_path)?, l_ct, stopped(&stop_tx)));
    tasks.spawn(sigstead_fulcio::run(sigstead_fulcio::FulcioConfig::load(&fulcio_path)?, l_fulcio, stopped(&stop_tx)));
    let rekor_stop = stopped(&stop_tx);
    tasks.spawn(async move { sigstead_rekor::serve(&rekor_cfg, rekor, l_rekor, rekor_stop).await });
    tasks.spawn(sigstead_tuf_service::run(sigstead_tuf_service::TufConfig::load(&tuf_path)?, l_tuf, stopped(&stop_tx)));
    let tsa_app = sigstead_tsa::app(tsa, &tsa_cfg.http);
    tasks.spawn(sigstead_server::serve(tsa_app, l_tsa, None, stopped(&stop_tx)).map_err_into());
    let explorer_stop = stopped(&stop_tx);
    tasks.spawn(async move { sigstead_explorer::serve(&explorer_cfg, explorer, l_explorer, explorer_stop).await });

    let d = stack.root().display();
    let tuf_url = stack.tuf_url();
    let issuer = stack.oidc_url();
    let root1 = stack.tuf_root_1();
    let root1 = root1.display();
    println!("Sigstead is up (data in {d}):");
    println!("  Rekor v1 log:        {}", stack.rekor_url());
    println!("  Fulcio CA:           {}", stack.fulcio_url());
    println!("  CT log:              {}", stack.ct_url());
    println!("  OIDC issuer (DEV, INSECURE): {issuer}");
    println!("  TUF repository:      {tuf_url}  (pinned root: {root1})");
    println!("  Timestamp authority: {}  (chain: {})", stack.tsa_url(), stack.tsa_chain().display());
    println!("  Log explorer:        {}", stack.explorer_url());
    println!("  trusted root:        {d}/trusted_root.json");
    println!("  signing config:      {d}/signing_config.v0.2.json");
    println!("  trust config:        {d}/trust_config.json");
    println!();
    println!("Keyless signing: get an identity token from the development issuer (valid 10 minutes):");
    println!("  sigstead dev token --data-dir {d} --email alice@example.com --out token.jwt");
    println!();
    println!("then sign and verify with cosign 3:");
    println!("  cosign sign-blob --yes --signing-config {d}/signing_config.v0.2.json --trusted-root {d}/trusted_root.json --identity-token token.jwt --bundle artifact.sigstore.json artifact");
    println!("  cosign verify-blob --trusted-root {d}/trusted_root.json --bundle artifact.sigstore.json --certificate-identity alice@example.com --certificate-oidc-issuer {issuer} artifact");
    println!();
    println!("or with sigstore-python 4:");
    println!("  sigstore --trust-config {d}/trust_config.json sign --identity-token \"$(cat token.jwt)\" --bundle artifact.py.sigstore.json artifact");
    println!("  sigstore --trust-config {d}/trust_config.json verify identity --bundle artifact.py.sigstore.json --cert-identity alice@example.com --cert-oidc-issuer {issuer} artifact");
    println!();
    println!("Or take the root of trust from the TUF repository, as production clients do:");
    println!("  cosign initialize --mirror {tuf_url} --root {root1}");
    println!("  cosign sign-blob --yes --identity-token token.jwt --bundle artifact.tuf.sigstore.json artifact");
    println!("  cosign verify-blob --bundle artifact.tuf.sigstore.json --certificate-identity alice@example.com --certificate-oidc-issuer {issuer} artifact");
    println!("  sigstore --instance {tuf_url} trust-instance {root1}");
    println!("  sigstore --instance {tuf_url} sign --identity-token \"$(cat token.jwt)\" --bundle artifact.tuf.py.sigstore.json artifact");
    println!("  sigstore --instance {tuf_url} verify identity --bundle artifact.tuf.py.sigstore.json --cert-identity alice@example.com --cert-oidc-issuer {issuer} artifact");
    println!();
    println!("With a long-lived key (cosign 3):");
    println!("  cosign generate-key-pair");
    println!("  cosign sign-blob --yes --key cosign.key --signing-config {d}/signing_config.v0.2.json --trusted-root {d}/trusted_root.json --bundle artifact.key.sigstore.json artifact");
    println!("  cosign verify-blob --key cosign.pub --trusted-root {d}/trusted_root.json --bundle artifact.key.sigstore.json artifact");

    tokio::select! {
        () = sigstead_server::shutdown_signal() => {}
        Some(res) = tasks.join_next() => {
            let _ = stop_tx.send(());
            return res?.context("a service stopped");
        }
    }
    let _ = stop_tx.send(());
    while let Some(res) = tasks.join_next().await {
        res??;
    }
    Ok(())
}

trait MapErrInto {
    type Out;
    fn map_err_into(self) -> Self::Out;
}

impl<F: std::future::Future<Output = std::io::Result<()>> + Send + 'static> MapErrInto for F {
    type Out = std::pin::Pin<Box<dyn std::future::Future<Output = anyhow::Result<()>> + Send>>;
    fn map_err_into(self) -> Self::Out {
        Box::pin(async move { self.await.map_err(anyhow::Error::from) })
    }
}
