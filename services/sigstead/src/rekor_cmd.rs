//! `sigstead rekor …` and the Rekor part of `sigstead up`.

use anyhow::Context;
use base64::{engine::general_purpose::STANDARD, Engine};
use clap::Subcommand;
use serde_json::json;
use sigstead_crypto::{log_id, EcdsaP256Signer};
use sigstead_rekor::RekorConfig;
use std::path::{Path, PathBuf};

#[derive(Debug, Subcommand)]
pub enum RekorCommand {
    /// Create a log: key, configuration, database and genesis entry.
    Init {
        /// Directory for rekor.toml, the key and (by default) the SQLite database.
        #[arg(long)]
        data_dir: PathBuf,
        /// Listen address.
        #[arg(long, default_value = "127.0.0.1:3000")]
        listen: String,
        /// URL clients use (default: http://<listen>).
        #[arg(long)]
        public_url: Option<String>,
        /// Postgres URL (schema must be applied with `sigstead migrate`); default embedded SQLite.
        #[arg(long)]
        database_url: Option<String>,
    },
    /// Write trusted_root.json and signing_config.v0.2.json for this log.
    TrustMaterial {
        #[arg(long)]
        config: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
}

pub async fn run(cmd: RekorCommand) -> anyhow::Result<()> {
    match cmd {
        RekorCommand::Init { data_dir, listen, public_url, database_url } => {
            let cfg = init(&data_dir, &listen, public_url, database_url)?;
            let rekor = sigstead_rekor::open(&cfg, sigstead_tlog::Faults::none()).await?;
            eprintln!(
                "created log: tree ID {}, {} entries, config {}",
                rekor.tree_id(),
                rekor.engine().checkpoint().tree_size,
                data_dir.join("rekor.toml").display()
            );
            Ok(())
        }
        RekorCommand::TrustMaterial { config, out } => {
            let cfg = RekorConfig::load(&config)?;
            write_trust_material(&cfg, &out).await
        }
    }
}

/// Writes a key (encrypted PKCS#8 with a random password in a 0600 file) and
/// rekor.toml into `dir`, unless rekor.toml already exists.
pub fn init(
    dir: &Path,
    listen: &str,
    public_url: Option<String>,
    database_url: Option<String>,
) -> anyhow::Result<RekorConfig> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let config_path = dir.join("rekor.toml");
    if !config_path.exists() {
        let password = random_password()?;
        let signer = EcdsaP256Signer::generate();
        write_private(&dir.join("rekor-key.password"), password.as_bytes())?;
        write_private(&dir.join("rekor-key.pem"), signer.to_encrypted_pkcs8_pem(password.as_bytes())?.as_bytes())?;
        std::fs::write(dir.join("rekor-key.pub"), signer.public_key_pem())?;
        let public_url = public_url.unwrap_or_else(|| format!("http://{listen}"));
        let db = match &database_url {
            Some(u) => format!("database_url = {u:?}\n"),
            None => "# database_url = \"postgres://…\"  (default: sqlite://rekor.db beside this file)\n".to_string(),
        };
        let text = format!(
            "# Sigstead Rekor log, created by `sigstead rekor init`.\n\
             listen = {listen:?}\n\
             public_url = {public_url:?}\n\
             {db}\n\
             [signing_key]\n\
             path = \"rekor-key.pem\"\n\
             password_file = \"rekor-key.password\"\n\n\
             [batch]\n\
             max_entries = 2048\n\
             max_delay_ms = 2\n"
        );
        std::fs::write(&config_path, text)?;
    }
    RekorConfig::load(&config_path)
}

pub fn random_password() -> anyhow::Result<String> {
    use std::io::Read;
    let mut b = [0u8; 24];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut b)?;
    Ok(STANDARD.encode(b))
}

pub fn write_private(path: &Path, data: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    opts.mode(0o600);
    let mut f = opts.open(path).with_context(|| format!("creating {}", path.display()))?;
    f.write_all(data)?;
    Ok(())
}

pub fn rfc3339(unix: i64) -> anyhow::Result<String> {
    Ok(time::OffsetDateTime::from_unix_timestamp(unix)?.format(&time::format_description::well_known::Rfc3339)?)
}

/// Rekor-only trust material: a trusted root listing this log's key, and a
/// signing config naming this log.
pub async fn write_trust_material(cfg: &RekorConfig, out: &Path) -> anyhow::Result<()> {
    let signer = sigstead_rekor::load_signer(cfg)?;
    let store = sigstead_rekor::open_store(cfg.database_url.as_deref().unwrap_or_default()).await?;
    let row = store.load_log(&cfg.log_name).await?.context("the log does not exist yet; run `sigstead rekor init`")?;
    // Back-date a minute so a clock step cannot put the first entries before it.
    let start = rfc3339(row.created_at - 60)?;
    let spki = signer.public_key_der();
    let (trusted_root, signing_config) = trust_documents(&cfg.public_url, spki, &start);
    std::fs::create_dir_all(out)?;
    std::fs::write(out.join("trusted_root.json"), serde_json::to_vec_pretty(&trusted_root)?)?;
    std::fs::write(out.join("signing_config.v0.2.json"), serde_json::to_vec_pretty(&signing_config)?)?;
    eprintln!("wrote {}/trusted_root.json and signing_config.v0.2.json", out.display());
    Ok(())
}

pub fn trust_documents(url: &str, spki: &[u8], start: &str) -> (serde_json::Value, serde_json::Value) {
    let trusted_root = json!({
        "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
        "tlogs": [{
            "baseUrl": url,
            "hashAlgorithm": "SHA2_256",
            "publicKey": {"rawBytes": STANDARD.encode(spki), "keyDetails": "PKIX_ECDSA_P256_SHA_256", "validFor": {"start": start}},
            "logId": {"keyId": STANDARD.encode(log_id(spki))},
        }],
        "certificateAuthorities": [],
        "ctlogs": [],
        "timestampAuthorities": [],
    });
    let signing_config = json!({
        "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
        "caUrls": [],
        "oidcUrls": [],
        "rekorTlogUrls": [{"url": url, "majorApiVersion": 1, "validFor": {"start": start}, "operator": "sigstead"}],
        "tsaUrls": [],
        "rekorTlogConfig": {"selector": "ANY"},
    });
    (trusted_root, signing_config)
}
