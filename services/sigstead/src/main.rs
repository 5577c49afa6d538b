//! `sigstead`: the one binary of the Sigstead stack. This file is the
//! command tree and its dispatch; each verb with more than a call or two has
//! its own small file, and all domain logic lives in the service and library
//! crates.

mod data_dir;
mod dev;
mod fsck_cmd;
mod kit_cmd;
mod rekor_cmd;
mod tsa_cmd;
mod tuf_cmd;
mod up;
mod witness_cmd;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(name = "sigstead", version, about = "A private, self-hosted Sigstore stack")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the whole stack on 127.0.0.1 with embedded defaults (SQLite, generated keys).
    Up {
        /// Where keys, databases and trust material live.
        #[arg(long, default_value = "./sigstead-data")]
        data_dir: PathBuf,
        /// Use this Postgres database instead of embedded SQLite.
        #[arg(long)]
        database_url: Option<sigstead_tlog::DatabaseUrl>,
        /// First of six consecutive ports: Rekor, Fulcio, CT log, development OIDC issuer, TUF repository,
        /// timestamp authority.
        #[arg(long, default_value_t = 3000)]
        port_base: u16,
    },
    /// Operate the certificate authority.
    Ca {
        #[command(subcommand)]
        command: CaCommand,
    },
    /// Development helpers (never for production).
    Dev {
        #[command(subcommand)]
        command: DevCommand,
    },
    /// Run one service from its configuration file.
    Serve {
        #[command(subcommand)]
        service: ServeCommand,
    },
    /// Apply the database schema (Postgres or SQLite).
    Migrate {
        #[arg(long, env = "SIGSTEAD_DATABASE_URL")]
        database_url: sigstead_tlog::DatabaseUrl,
    },
    /// Operate the CT log.
    Ctlog {
        #[command(subcommand)]
        command: CtlogCommand,
    },
    /// Operate the RFC 3161 timestamp authority.
    Tsa {
        #[command(subcommand)]
        command: tsa_cmd::TsaCommand,
    },
    /// Operate a transparency-log witness (C2SP tlog-witness).
    Witness {
        #[command(subcommand)]
        command: witness_cmd::WitnessCommand,
    },
    /// Operate the Rekor log.
    Rekor {
        #[command(subcommand)]
        command: rekor_cmd::RekorCommand,
    },
    /// Operate the TUF repository (root of trust): keys, init, offline signing, rotation.
    Tuf {
        #[command(subcommand)]
        command: tuf_cmd::TufCommand,
    },
    /// Copy a TUF repository for an air-gapped site, verifying every step from
    /// a pinned root; re-running updates the copy and refuses rollbacks.
    Mirror {
        #[command(flatten)]
        source: tuf_cmd::TufSource,
        /// Directory to write (and, on a re-run, update).
        #[arg(long)]
        out: PathBuf,
        /// Exit non-zero (after mirroring) if any role of the copy expires within this many days.
        #[arg(long)]
        min_days: Option<f64>,
    },
    /// Check a Rekor log's database end to end: re-derive the tree from the
    /// stored entries (streaming, constant memory) and check every stored
    /// node, every recorded checkpoint (root, and signature with
    /// --public-key), each body's canonical form and its search keys.
    /// Read only; prints a JSON report and exits non-zero on any error.
    Fsck {
        #[arg(long, env = "SIGSTEAD_DATABASE_URL")]
        database_url: sigstead_tlog::DatabaseUrl,
        #[arg(long, default_value = "rekor")]
        log_name: String,
        /// PEM public key of the log (checkpoint signatures are checked with it).
        #[arg(long)]
        public_key: Option<PathBuf>,
    },
    /// Follow a Rekor log: verify each signed checkpoint with the trusted
    /// root's log key and prove it consistent with the last verified one (kept
    /// in --state-dir); exits non-zero on proof of misbehaviour.
    Monitor {
        /// The log's base URL, as the trusted root's tlogs[].baseUrl names it.
        #[arg(long)]
        rekor_url: String,
        /// Also follow this CT log (its base URL, as ctlogs[].baseUrl names it).
        #[arg(long)]
        ctlog_url: Option<String>,
        /// The trusted root holding the log keys (e.g. a kit's trusted_root.json).
        #[arg(long)]
        trusted_root: PathBuf,
        /// Where the last verified checkpoint is kept.
        #[arg(long)]
        state_dir: PathBuf,
        /// Extra CA certificates (PEM) for an https URL.
        #[arg(long)]
        ca_file: Option<PathBuf>,
        #[arg(long, default_value_t = 60)]
        interval_secs: u64,
        /// Report `stale` when the tree has not grown for this long.
        #[arg(long)]
        max_stale_secs: Option<u64>,
        /// One round, then exit (non-zero on any alert).
        #[arg(long)]
        once: bool,
        /// Report new entries whose certificate names this identity (SAN), exactly (repeatable).
        #[arg(long = "watch-identity")]
        watch_identities: Vec<String>,
        /// Report new entries whose certificate identity matches this regular expression (repeatable).
        #[arg(long = "watch-identity-regexp")]
        watch_identity_regexps: Vec<String>,
        /// With the identity rules: only certificates from this OIDC issuer.
        #[arg(long)]
        watch_issuer: Option<String>,
        /// Report new hashedrekord entries for this artifact SHA-256 (hex, repeatable).
        #[arg(long = "watch-digest")]
        watch_digests: Vec<String>,
        /// Also refresh the verifiers' TUF repository at this URL each round
        /// (expiry metric per role; with --tuf-root).
        #[arg(long, requires = "tuf_root")]
        tuf_url: Option<String>,
        /// The pinned root of that repository.
        #[arg(long, requires = "tuf_url")]
        tuf_root: Option<PathBuf>,
        /// Report `tuf-expiring` when a role has fewer days left.
        #[arg(long, requires = "tuf_url")]
        tuf_min_days: Option<f64>,
        /// Require a cosignature by this witness (its vkey, from `sigstead
        /// witness vkey`) on the log's cosigned checkpoint, consistent with
        /// the verified one (repeatable).
        #[arg(long = "witness-key")]
        witness_keys: Vec<String>,
    },
    /// The offline verification kit for one site.
    Kit {
        #[command(subcommand)]
        command: kit_cmd::KitCommand,
    },
    /// Load generators.
    Bench {
        #[command(subcommand)]
        command: sigstead_bench::BenchCommand,
    },
}

#[derive(Debug, Subcommand)]
enum ServeCommand {
    /// The Rekor v1-compatible transparency log.
    Rekor {
        #[arg(long)]
        config: PathBuf,
    },
    /// The Fulcio-compatible certificate authority.
    Fulcio {
        #[arg(long)]
        config: PathBuf,
    },
    /// The RFC 6962 certificate transparency log.
    Ctlog {
        #[arg(long)]
        config: PathBuf,
    },
    /// The TUF repository server.
    Tuf {
        #[arg(long)]
        config: PathBuf,
    },
    /// The RFC 3161 timestamp authority.
    Tsa {
        #[arg(long)]
        config: PathBuf,
    },
    /// The log explorer web page (reads the Rekor log's database, read only).
    Explorer {
        #[arg(long)]
        config: PathBuf,
    },
    /// A transparency-log witness (C2SP tlog-witness: POST /add-checkpoint).
    Witness {
        #[arg(long)]
        config: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum CaCommand {
    /// Create a root and an intermediate (encrypted key files and ca-chain.pem in DIR).
    Init {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long, default_value = "sigstead")]
        organization: String,
    },
}

#[derive(Debug, Subcommand)]
enum CtlogCommand {
    /// Create a CT log: key (encrypted PKCS#8, random password in a 0600 file),
    /// its public key (ct-key.pub, for the trusted root) and ctlog.toml.
    Init {
        #[arg(long)]
        data_dir: PathBuf,
        #[arg(long, default_value = "127.0.0.1:3002")]
        listen: String,
        /// PEM file of the CA chain whose certificates the log accepts.
        #[arg(long)]
        roots: PathBuf,
        /// Postgres URL (schema applied with `sigstead migrate`); default embedded SQLite.
        #[arg(long)]
        database_url: Option<sigstead_tlog::DatabaseUrl>,
    },
}

#[derive(Debug, Subcommand)]
enum DevCommand {
    /// Print an ID token from the development OIDC issuer of `sigstead up` (INSECURE).
    Token {
        #[arg(long, default_value = "./sigstead-data")]
        data_dir: PathBuf,
        #[arg(long)]
        email: String,
        /// Write the token to this file (mode 0600, no trailing newline) instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    sigstead_server::init_tracing();
    sigstead_server::install_crypto_provider();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async move {
        match cli.command {
            Command::Up { data_dir, database_url, port_base } => up::up(&data_dir, database_url, port_base).await,
            Command::Ca { command: CaCommand::Init { dir, organization } } => {
                if sigstead_fulcio::init::ca_init(&dir, &organization)? {
                    eprintln!("created CA: {}", dir.join("ca-chain.pem").display());
                } else {
                    eprintln!("{} exists; keeping the existing CA", dir.join("ca-chain.pem").display());
                }
                Ok(())
            }
            Command::Dev { command: DevCommand::Token { data_dir, email, out } } => {
                dev::token(&data_dir, &email, out.as_deref())
            }
            Command::Serve { service: ServeCommand::Fulcio { config } } => {
                let cfg = sigstead_fulcio::FulcioConfig::load(&config)?;
                let listener = tokio::net::TcpListener::bind(cfg.listen).await?;
                sigstead_fulcio::run(cfg, listener, sigstead_server::shutdown_signal()).await
            }
            Command::Serve { service: ServeCommand::Ctlog { config } } => {
                let cfg = sigstead_ctlog::CtConfig::load(&config)?;
                let listener = tokio::net::TcpListener::bind(cfg.listen).await?;
                sigstead_ctlog::run(cfg, listener, sigstead_server::shutdown_signal()).await
            }
            Command::Serve { service: ServeCommand::Rekor { config } } => {
                let cfg = sigstead_rekor::RekorConfig::load(&config)?;
                let listener = tokio::net::TcpListener::bind(cfg.listen).await?;
                sigstead_rekor::run(cfg, listener, sigstead_server::shutdown_signal()).await
            }
            Command::Serve { service: ServeCommand::Tuf { config } } => {
                let cfg = sigstead_tuf_service::TufConfig::load(&config)?;
                let listener = tokio::net::TcpListener::bind(cfg.listen).await?;
                sigstead_tuf_service::run(cfg, listener, sigstead_server::shutdown_signal()).await
            }
            Command::Serve { service: ServeCommand::Tsa { config } } => {
                let cfg = sigstead_tsa::TsaConfig::load(&config)?;
                let listener = tokio::net::TcpListener::bind(cfg.listen).await?;
                sigstead_tsa::run(cfg, listener, sigstead_server::shutdown_signal()).await
            }
            Command::Serve { service: ServeCommand::Explorer { config } } => {
                let cfg = sigstead_explorer::ExplorerConfig::load(&config)?;
                let listener = tokio::net::TcpListener::bind(cfg.listen).await?;
                sigstead_explorer::run(cfg, listener, sigstead_server::shutdown_signal()).await
            }
            Command::Serve { service: ServeCommand::Witness { config } } => {
                let cfg = sigstead_witness::WitnessConfig::load(&config)?;
                let listener = tokio::net::TcpListener::bind(cfg.listen).await?;
                sigstead_witness::run(cfg, listener, sigstead_server::shutdown_signal()).await
            }
            Command::Tsa { command } => tsa_cmd::run(command),
            Command::Witness { command } => witness_cmd::run(command),
            Command::Tuf { command } => tuf_cmd::run(command),
            Command::Mirror { source, out, min_days } => tuf_cmd::mirror(&source, &out, min_days).await,
            Command::Migrate { database_url } => {
                let store = sigstead_tlog::Store::open(&database_url, sigstead_tlog::MigratePolicy::Apply).await?;
                eprintln!("schema is up to date ({})", store.backend());
                Ok(())
            }
            Command::Rekor { command } => rekor_cmd::run(command).await,
            Command::Ctlog { command: CtlogCommand::Init { data_dir, listen, roots, database_url } } => {
                let path = sigstead_ctlog::init::init(&data_dir, &listen, &roots, database_url.as_ref())?;
                sigstead_ctlog::CtConfig::load(&path)?;
                eprintln!(
                    "created CT log config {} (public key {})",
                    path.display(),
                    data_dir.join("ct-key.pub").display()
                );
                Ok(())
            }
            Command::Kit { command } => kit_cmd::run(command).await,
            Command::Fsck { database_url, log_name, public_key } => {
                if fsck_cmd::run(&database_url, &log_name, public_key.as_deref()).await? {
                    Ok(())
                } else {
                    anyhow::bail!("fsck found errors (see the report)")
                }
            }
            Command::Monitor {
                rekor_url,
                ctlog_url,
                trusted_root,
                state_dir,
                ca_file,
                interval_secs,
                max_stale_secs,
                once,
                watch_identities,
                watch_identity_regexps,
                watch_issuer,
                watch_digests,
                tuf_url,
                tuf_root,
                tuf_min_days,
                witness_keys,
            } => {
                use sigstead_monitor::watch::{IdentityRule, San, Watch};
                let witnesses = witness_keys
                    .iter()
                    .map(|k| {
                        sigstead_note::cosignature::Cosigner::from_vkey(k)
                            .map_err(|e| anyhow::anyhow!("--witness-key: {e}"))
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?;
                let mut identities: Vec<IdentityRule> = watch_identities
                    .into_iter()
                    .map(|s| IdentityRule { san: San::Exact(s), issuer: watch_issuer.clone() })
                    .collect();
                for r in watch_identity_regexps {
                    let re =
                        regex::Regex::new(&r).map_err(|e| anyhow::anyhow!("--watch-identity-regexp {r:?}: {e}"))?;
                    identities.push(IdentityRule { san: San::Regexp(re), issuer: watch_issuer.clone() });
                }
                for d in &watch_digests {
                    anyhow::ensure!(
                        d.len() == 64 && d.bytes().all(|b| b.is_ascii_hexdigit()),
                        "--watch-digest {d:?} is not a hex SHA-256"
                    );
                }
                let watch = Watch { identities, digests: watch_digests };
                let root: sigstead_trust::TrustedRoot = serde_json::from_slice(&std::fs::read(&trusted_root)?)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", trusted_root.display()))?;
                let target = sigstead_monitor::RekorTarget::from_trusted_root(&root, &rekor_url)?;
                let ct = ctlog_url.map(|u| sigstead_monitor::CtTarget::from_trusted_root(&root, &u)).transpose()?;
                let http = sigstead_server::OutboundTls::with_ca_file(ca_file).http_client(Duration::from_secs(30))?;
                let tuf = match (tuf_url, tuf_root) {
                    (Some(url), Some(root)) => Some(sigstead_monitor::TufWatch {
                        url,
                        root1: std::fs::read(&root).map_err(|e| anyhow::anyhow!("{}: {e}", root.display()))?,
                        min_days: tuf_min_days,
                    }),
                    _ => None,
                };
                let follow = sigstead_monitor::Follow {
                    rekor: target,
                    ct,
                    watch,
                    tuf,
                    state_dir,
                    interval: Duration::from_secs(interval_secs),
                    max_stale: max_stale_secs.map(Duration::from_secs),
                    once,
                    witnesses,
                };
                sigstead_monitor::follow(http, follow).await.map_err(|a| anyhow::anyhow!("{a}"))
            }
            Command::Bench { command } => sigstead_bench::run(command).await,
        }
    })
}
