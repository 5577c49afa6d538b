//! `sigstead`: the one binary of the Sigstead stack.

mod bench;
mod rekor_cmd;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

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
        database_url: Option<String>,
        /// Port of the Rekor API.
        #[arg(long, default_value_t = 3000)]
        rekor_port: u16,
    },
    /// Run one service from its configuration file.
    Serve {
        #[command(subcommand)]
        service: ServeCommand,
    },
    /// Apply the database schema (Postgres or SQLite).
    Migrate {
        #[arg(long, env = "SIGSTEAD_DATABASE_URL")]
        database_url: String,
    },
    /// Operate the Rekor log.
    Rekor {
        #[command(subcommand)]
        command: rekor_cmd::RekorCommand,
    },
    /// Load generators.
    Bench {
        #[command(subcommand)]
        command: bench::BenchCommand,
    },
}

#[derive(Debug, Subcommand)]
enum ServeCommand {
    /// The Rekor v1-compatible transparency log.
    Rekor {
        #[arg(long)]
        config: PathBuf,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    sigstead_server::init_tracing();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async move {
        match cli.command {
            Command::Up { data_dir, database_url, rekor_port } => {
                rekor_cmd::up(&data_dir, database_url, rekor_port).await
            }
            Command::Serve { service: ServeCommand::Rekor { config } } => {
                let cfg = sigstead_rekor::RekorConfig::load(&config)?;
                let listener = tokio::net::TcpListener::bind(cfg.listen).await?;
                sigstead_rekor::run(cfg, listener, sigstead_server::shutdown_signal()).await
            }
            Command::Migrate { database_url } => {
                let store = sigstead_tlog::Store::connect(&database_url).await?;
                store.migrate().await?;
                store.check_schema().await?;
                eprintln!("schema is up to date ({})", store.backend());
                Ok(())
            }
            Command::Rekor { command } => rekor_cmd::run(command).await,
            Command::Bench { command } => bench::run(command).await,
        }
    })
}
