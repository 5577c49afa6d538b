//! `sigstead rekor …`: arguments, and calls into the Rekor service crate.

use anyhow::Context;
use clap::Subcommand;
use sigstead_rekor::RekorConfig;
use sigstead_tlog::DatabaseUrl;
use sigstead_tlog::LogStore as _;
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
        database_url: Option<DatabaseUrl>,
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
            let cfg = sigstead_rekor::init::init(&data_dir, &listen, public_url, database_url.as_ref())?;
            let rekor = sigstead_rekor::open(&cfg, sigstead_tlog::Faults::none()).await?;
            eprintln!(
                "created log: tree ID {}, {} entries, config {}",
                rekor.tree_id(),
                rekor.engine().checkpoint().tree_size,
                data_dir.join("rekor.toml").display()
            );
            // Hand the sequencer lease back, so that the first replica started next leads at once.
            rekor.engine().shutdown().await;
            Ok(())
        }
        RekorCommand::TrustMaterial { config, out } => {
            let cfg = RekorConfig::load(&config)?;
            write_trust_material(&cfg, &out).await
        }
    }
}

/// Rekor-only trust material: a trusted root listing this log's key, and a
/// signing config naming this log.
async fn write_trust_material(cfg: &RekorConfig, out: &Path) -> anyhow::Result<()> {
    let signer = sigstead_rekor::load_signer(cfg)?;
    let store = sigstead_rekor::open_store(&cfg.database_url).await?;
    let row = store.load_log(&cfg.log_name).await?.context("the log does not exist yet; run `sigstead rekor init`")?;
    // Back-date a minute so a clock step cannot put the first entries before it.
    let start = time::OffsetDateTime::from_unix_timestamp(row.created_at - 60)?
        .format(&time::format_description::well_known::Rfc3339)?;
    let services = sigstead_trust::Services {
        rekor: sigstead_trust::LogKey { url: cfg.public_url.clone(), spki: signer.public_key_der().to_vec() },
        ct: None,
        ca: None,
        tsa: None,
        oidc_urls: vec![],
    };
    let (trusted_root, signing_config) = sigstead_trust::build(&services, &start);
    std::fs::create_dir_all(out)?;
    std::fs::write(out.join("trusted_root.json"), serde_json::to_vec_pretty(&trusted_root)?)?;
    std::fs::write(out.join("signing_config.v0.2.json"), serde_json::to_vec_pretty(&signing_config)?)?;
    eprintln!("wrote {}/trusted_root.json and signing_config.v0.2.json", out.display());
    Ok(())
}
