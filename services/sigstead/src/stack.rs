//! `sigstead ca init`, the development OIDC issuer, `sigstead dev token` and
//! the whole-stack `sigstead up`.

use anyhow::Context;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use sigstead_crypto::{log_id, pem_encode, EcdsaP256Signer, Signer};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::rekor_cmd::{random_password, rfc3339, write_private};

/// Writes a new encrypted key (`NAME.pem`, `NAME.password`) unless it exists; returns it.
fn key(dir: &Path, name: &str) -> anyhow::Result<Arc<EcdsaP256Signer>> {
    let pem_path = dir.join(format!("{name}.pem"));
    let pw_path = dir.join(format!("{name}.password"));
    if !pem_path.exists() {
        let pw = random_password()?;
        let k = EcdsaP256Signer::generate();
        write_private(&pw_path, pw.as_bytes())?;
        write_private(&pem_path, k.to_encrypted_pkcs8_pem(pw.as_bytes())?.as_bytes())?;
    }
    let pw = sigstead_server::read_password_file(&pw_path)?;
    Ok(Arc::new(sigstead_server::load_p256_key(&pem_path, &pw)?))
}

/// `sigstead ca init`: a root and an intermediate (keys in `dir`), and `ca-chain.pem`.
pub fn ca_init(dir: &Path, organization: &str) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let chain_path = dir.join("ca-chain.pem");
    if chain_path.exists() {
        eprintln!("{} exists; keeping the existing CA", chain_path.display());
        return Ok(());
    }
    let root = key(dir, "ca-root-key")?;
    let inter = key(dir, "ca-intermediate-key")?;
    let now = time::OffsetDateTime::now_utc() - time::Duration::minutes(5);
    let (root_der, inter_der) = sigstead_ca::generate_ca(organization, root, inter, now, 10)?;
    std::fs::write(
        &chain_path,
        format!("{}{}", pem_encode("CERTIFICATE", &inter_der), pem_encode("CERTIFICATE", &root_der)),
    )?;
    eprintln!("created CA: {}", chain_path.display());
    Ok(())
}

/// The development OIDC issuer: discovery and JWKS over plain HTTP on
/// loopback, tokens minted by `sigstead dev token`. INSECURE: anyone who can
/// read the data directory can mint identities. `sigstead serve` never runs it.
pub mod dev_oidc {
    use super::*;
    use axum::routing::get;
    use axum::{Json, Router};

    pub fn issuer_url(port: u16) -> String {
        format!("http://127.0.0.1:{port}")
    }

    fn jwk(key: &EcdsaP256Signer) -> anyhow::Result<Value> {
        use der::Decode;
        let spki = spki::SubjectPublicKeyInfoRef::from_der(key.public_key_der())?;
        let point = spki.subject_public_key.raw_bytes();
        anyhow::ensure!(point.len() == 65 && point[0] == 4, "unexpected P-256 point encoding");
        Ok(json!({"kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": kid(key),
                  "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..65])}))
    }

    fn kid(key: &EcdsaP256Signer) -> String {
        hex::encode(&log_id(key.public_key_der())[..8])
    }

    pub fn router(issuer: String, key: &EcdsaP256Signer) -> anyhow::Result<Router> {
        let discovery = json!({
            "issuer": issuer,
            "jwks_uri": format!("{issuer}/jwks"),
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["ES256"],
        });
        let jwks = json!({"keys": [jwk(key)?]});
        Ok(Router::new()
            .route("/.well-known/openid-configuration", get(move || std::future::ready(Json(discovery.clone()))))
            .route("/jwks", get(move || std::future::ready(Json(jwks.clone())))))
    }

    /// An ES256 ID token for `email` (audience `sigstore`, valid 10 minutes).
    pub fn mint(issuer: &str, key: &EcdsaP256Signer, email: &str) -> anyhow::Result<String> {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
        let header = json!({"alg": "ES256", "typ": "JWT", "kid": kid(key)});
        let claims = json!({"iss": issuer, "aud": "sigstore", "sub": email, "email": email, "email_verified": true,
                            "iat": now, "nbf": now, "exp": now + 600});
        let signing_input =
            format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
        let der = key.sign(signing_input.as_bytes())?;
        let sig = p256::ecdsa::Signature::from_der(&der)?;
        Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes())))
    }
}

/// Ports of the stack's services.
#[derive(Debug, Clone, Copy)]
pub struct Ports {
    pub rekor: u16,
    pub fulcio: u16,
    pub ctlog: u16,
    pub oidc: u16,
    pub tuf: u16,
}

impl Ports {
    pub fn from_base(base: u16) -> Self {
        Self { rekor: base, fulcio: base + 1, ctlog: base + 2, oidc: base + 3, tuf: base + 4 }
    }
}

fn write_if_missing(path: &Path, text: &str) -> anyhow::Result<()> {
    if !path.exists() {
        std::fs::write(path, text)?;
    }
    Ok(())
}

/// `sigstead ctlog init`: the CT log key (and `ct-key.pub`), the accepted
/// roots and `ctlog.toml` in `dir`, unless `ctlog.toml` exists.
pub fn ctlog_init(dir: &Path, listen: &str, roots: &Path, database_url: Option<&str>) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let cfg = dir.join("ctlog.toml");
    let k = key(dir, "ct-key")?;
    std::fs::write(dir.join("ct-key.pub"), k.public_key_pem())?;
    if !dir.join("accepted-roots.pem").exists() {
        std::fs::copy(roots, dir.join("accepted-roots.pem")).with_context(|| format!("reading {}", roots.display()))?;
    }
    let db = match database_url {
        Some(u) => format!("database_url = {u:?}\n"),
        None => "database_url = \"sqlite://ctlog.db\"\n".to_string(),
    };
    write_if_missing(
        &cfg,
        &format!(
            "# Sigstead CT log.\nlisten = {listen:?}\n{db}key_path = \"ct-key.pem\"\nkey_password_file = \"ct-key.password\"\nroots = [\"accepted-roots.pem\"]\n"
        ),
    )?;
    Ok(cfg)
}

/// Creates the CA, CT and OIDC material and configuration under `data`.
fn init_keyless(data: &Path, ports: Ports, database_url: Option<&str>) -> anyhow::Result<(PathBuf, PathBuf)> {
    let ca_dir = data.join("fulcio");
    let ct_dir = data.join("ctlog");
    let oidc_dir = data.join("oidc");
    for d in [&ca_dir, &ct_dir, &oidc_dir] {
        std::fs::create_dir_all(d)?;
    }
    ca_init(&ca_dir, "sigstead")?;
    key(&oidc_dir, "dev-issuer-key")?;
    let ct_cfg =
        ctlog_init(&ct_dir, &format!("127.0.0.1:{}", ports.ctlog), &ca_dir.join("ca-chain.pem"), database_url)?;
    let issuer = dev_oidc::issuer_url(ports.oidc);
    let fulcio_cfg = ca_dir.join("fulcio.toml");
    write_if_missing(
        &fulcio_cfg,
        &format!(
            "# Sigstead CA, created by `sigstead up`.\nlisten = \"127.0.0.1:{}\"\nct_log_url = \"http://127.0.0.1:{}\"\nca_chain = \"ca-chain.pem\"\nca_key_path = \"ca-intermediate-key.pem\"\nca_key_password_file = \"ca-intermediate-key.password\"\n\n# The development issuer of `sigstead up` (INSECURE: for local use only).\n[[oidc.issuers]]\nissuer_url = \"{issuer}\"\ntype = \"email\"\ninsecure_allow_http = true\n",
            ports.fulcio, ports.ctlog
        ),
    )?;
    std::fs::write(oidc_dir.join("issuer"), &issuer)?;
    Ok((fulcio_cfg, ct_cfg))
}

/// The trusted root, signing config and ClientTrustConfig for the whole stack.
fn write_stack_trust(data: &Path, rekor: &sigstead_rekor::RekorConfig, ports: Ports, start: i64) -> anyhow::Result<()> {
    let start = rfc3339(start)?;
    let rekor_key = sigstead_rekor::load_signer(rekor)?;
    let ct = key(&data.join("ctlog"), "ct-key")?;
    let chain_pem = std::fs::read(data.join("fulcio/ca-chain.pem"))?;
    let services = crate::trust::Services {
        rekor: crate::trust::LogKey { url: rekor.public_url.clone(), spki: rekor_key.public_key_der().to_vec() },
        ct: crate::trust::LogKey {
            url: format!("http://127.0.0.1:{}", ports.ctlog),
            spki: ct.public_key_der().to_vec(),
        },
        fulcio_url: format!("http://127.0.0.1:{}", ports.fulcio),
        ca_chain: sigstead_crypto::pem_decode_all(&chain_pem).into_iter().map(|(_, d)| d).collect(),
        oidc_urls: vec![dev_oidc::issuer_url(ports.oidc)],
    };
    let (tr, sc) = crate::trust::build(&services, &start);
    std::fs::write(data.join("trusted_root.json"), serde_json::to_vec_pretty(&tr)?)?;
    std::fs::write(data.join("signing_config.v0.2.json"), serde_json::to_vec_pretty(&sc)?)?;
    let tc = json!({"mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json", "trustedRoot": tr, "signingConfig": sc});
    std::fs::write(data.join("trust_config.json"), serde_json::to_vec_pretty(&tc)?)?;
    Ok(())
}

/// The TUF repository of `sigstead up` in `data/tuf`: Ed25519 keys for the
/// four roles (one each, threshold 1; all on this machine, which suits a
/// development stack only: production keeps root and targets keys offline,
/// see deploy/RUNBOOK.md), root 1, and targets `trusted_root.json` and
/// `signing_config.v0.2.json`. When those files change (say, the ports
/// moved), a new targets version is published. Returns the server config.
fn init_tuf(data: &Path, ports: Ports) -> anyhow::Result<PathBuf> {
    use sigstead_tuf::metadata::Role;
    use sigstead_tuf::repo;
    let tuf = data.join("tuf");
    let keys_dir = tuf.join("keys");
    std::fs::create_dir_all(&keys_dir)?;
    let pw_path = keys_dir.join("password");
    if !pw_path.exists() {
        write_private(&pw_path, random_password()?.as_bytes())?;
    }
    let pw = sigstead_server::read_password_file(&pw_path)?;
    let mut keys: Vec<Arc<dyn Signer>> = Vec::new();
    for role in Role::ALL {
        let path = keys_dir.join(format!("{role}.key"));
        if !path.exists() {
            let k = sigstead_crypto::Ed25519Signer::generate();
            write_private(&path, k.to_encrypted_pkcs8_pem(&pw)?.as_bytes())?;
        }
        keys.push(sigstead_server::load_key_file(&path, &pw)?);
    }
    let dir = sigstead_tuf_service::repo_dir::RepoDir::new(tuf.join("repository"));
    let now = time::OffsetDateTime::now_utc();
    let year = repo::expires_in(now, 365 * 86_400);
    if dir.latest("root")?.is_none() {
        let roles: Vec<_> = Role::ALL
            .iter()
            .zip(&keys)
            .map(|(r, k)| Ok((*r, vec![sigstead_tuf::TufKey::from_spki_der(k.public_key_der())?], 1)))
            .collect::<anyhow::Result<_>>()?;
        let root = sigstead_tuf::Root::new(1, year, &roles)?;
        crate::tuf_cmd::publish(&dir, &[crate::tuf_cmd::sign_as(&root, &root, Role::Root, &keys)?], None)?;
    }
    let (_, root_bytes) = dir.latest_root()?;
    let root: sigstead_tuf::Root = sigstead_tuf::Envelope::parse(&root_bytes)?.signed_as()?;
    let (version, current) = crate::tuf_cmd::current_target_files(&dir)?;
    let mut files = std::collections::BTreeMap::new();
    let wanted: Vec<(String, PathBuf)> =
        ["trusted_root.json", "signing_config.v0.2.json"].iter().map(|n| (n.to_string(), data.join(n))).collect();
    crate::tuf_cmd::add_target_files(&dir, &mut files, &wanted)?;
    if files != current {
        let t = repo::targets_for(version + 1, year, &files)?;
        let env = crate::tuf_cmd::sign_as(&t, &root, Role::Targets, &keys)?;
        crate::tuf_cmd::publish(&dir, &[env], None)?;
    }
    let cfg = tuf.join("tuf.toml");
    write_if_missing(
        &cfg,
        &format!(
            "# Sigstead TUF repository, created by `sigstead up`.\nlisten = \"127.0.0.1:{}\"\nrepository_dir = \"repository\"\ntimestamp_key_path = \"keys/timestamp.key\"\nsnapshot_key_path = \"keys/snapshot.key\"\nkey_password_file = \"keys/password\"\n",
            ports.tuf
        ),
    )?;
    Ok(cfg)
}

/// A token from the development issuer of `data` (for the load generator).
pub fn mint_dev_token(data: &Path, email: &str) -> anyhow::Result<String> {
    let dir = data.join("oidc");
    let issuer =
        std::fs::read_to_string(dir.join("issuer")).context("no development issuer here; run `sigstead up` first")?;
    let k = key(&dir, "dev-issuer-key")?;
    dev_oidc::mint(issuer.trim(), &k, email)
}

/// `sigstead dev token`: prints an ID token from the development issuer of `data`.
pub fn dev_token(data: &Path, email: &str, out: Option<&Path>) -> anyhow::Result<()> {
    let dir = data.join("oidc");
    let issuer =
        std::fs::read_to_string(dir.join("issuer")).context("no development issuer here; run `sigstead up` first")?;
    let k = key(&dir, "dev-issuer-key")?;
    let token = dev_oidc::mint(issuer.trim(), &k, email)?;
    match out {
        Some(path) => {
            let _ = std::fs::remove_file(path);
            write_private(path, token.as_bytes())?;
        }
        None => println!("{token}"),
    }
    Ok(())
}

async fn bind(port: u16) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(("127.0.0.1", port)).await.with_context(|| format!("binding 127.0.0.1:{port}"))
}

/// `sigstead up`: the Rekor log, the CT log, the CA and the development OIDC issuer.
pub async fn up(data: &Path, database_url: Option<String>, base_port: u16) -> anyhow::Result<()> {
    let ports = Ports::from_base(base_port);
    let rekor_cfg =
        crate::rekor_cmd::init(&data.join("rekor"), &format!("127.0.0.1:{}", ports.rekor), None, database_url.clone())?;
    if let Some(url) = database_url.as_deref().filter(|u| u.starts_with("postgres")) {
        sigstead_tlog::Store::connect(url).await?.migrate().await?;
    }
    let (fulcio_path, ct_path) = init_keyless(data, ports, database_url.as_deref())?;
    let rekor = sigstead_rekor::open(&rekor_cfg, sigstead_tlog::Faults::none()).await?;
    let created = rekor.engine().created_at();
    drop(rekor);
    write_stack_trust(data, &rekor_cfg, ports, created - 3600)?;
    let tuf_path = init_tuf(data, ports)?;

    let oidc_key = key(&data.join("oidc"), "dev-issuer-key")?;
    let issuer = dev_oidc::issuer_url(ports.oidc);
    let oidc_app = dev_oidc::router(issuer.clone(), &oidc_key)?;
    let (stop_tx, _) = tokio::sync::broadcast::channel::<()>(1);
    let stopped = |tx: &tokio::sync::broadcast::Sender<()>| {
        let mut rx = tx.subscribe();
        async move {
            let _ = rx.recv().await;
        }
    };
    let mut tasks = tokio::task::JoinSet::new();
    let (l_oidc, l_ct, l_fulcio, l_rekor, l_tuf) = (
        bind(ports.oidc).await?,
        bind(ports.ctlog).await?,
        bind(ports.fulcio).await?,
        bind(ports.rekor).await?,
        bind(ports.tuf).await?,
    );
    tasks.spawn(sigstead_server::serve(oidc_app, l_oidc, None, stopped(&stop_tx)).map_err_into());
    tasks.spawn(sigstead_ctlog::run(sigstead_ctlog::CtConfig::load(&ct_path)?, l_ct, stopped(&stop_tx)));
    tasks.spawn(sigstead_fulcio::run(sigstead_fulcio::FulcioConfig::load(&fulcio_path)?, l_fulcio, stopped(&stop_tx)));
    tasks.spawn(sigstead_rekor::run(rekor_cfg.clone(), l_rekor, stopped(&stop_tx)));
    tasks.spawn(sigstead_tuf_service::run(sigstead_tuf_service::TufConfig::load(&tuf_path)?, l_tuf, stopped(&stop_tx)));

    let d = data.display();
    let tuf_url = format!("http://127.0.0.1:{}", ports.tuf);
    println!("Sigstead is up (data in {d}):");
    println!("  Rekor v1 log:        http://127.0.0.1:{}", ports.rekor);
    println!("  Fulcio CA:           http://127.0.0.1:{}", ports.fulcio);
    println!("  CT log:              http://127.0.0.1:{}", ports.ctlog);
    println!("  OIDC issuer (DEV, INSECURE): {issuer}");
    println!("  TUF repository:      {tuf_url}  (pinned root: {d}/tuf/repository/1.root.json)");
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
    println!("  cosign initialize --mirror {tuf_url} --root {d}/tuf/repository/1.root.json");
    println!("  cosign sign-blob --yes --identity-token token.jwt --bundle artifact.tuf.sigstore.json artifact");
    println!("  cosign verify-blob --bundle artifact.tuf.sigstore.json --certificate-identity alice@example.com --certificate-oidc-issuer {issuer} artifact");
    println!("  sigstore --instance {tuf_url} trust-instance {d}/tuf/repository/1.root.json");
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
