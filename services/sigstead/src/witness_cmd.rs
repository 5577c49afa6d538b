//! `sigstead witness …`: create a witness, print its verifier key.

use clap::Subcommand;
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum WitnessCommand {
    /// Create a witness in DIR: an Ed25519 key (encrypted, random password in
    /// a 0600 file) and witness.toml following the given logs; prints the vkey.
    Init {
        #[arg(long)]
        dir: PathBuf,
        /// The key name of its cosignatures (a schema-less URL: witness.example.org/sigstead).
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "127.0.0.1:3007")]
        listen: std::net::SocketAddr,
        /// A log to cosign, as ORIGIN=PUBLIC_KEY_PEM (repeatable); ORIGIN is the
        /// first line of the log's checkpoints.
        #[arg(long = "log", required = true, value_parser = parse_log)]
        logs: Vec<(String, PathBuf)>,
    },
    /// Print the witness's verifier key (vkey), for `sigstead monitor --witness-key`.
    Vkey {
        #[arg(long)]
        config: PathBuf,
    },
}

fn parse_log(s: &str) -> Result<(String, PathBuf), String> {
    let (origin, pem) = s.rsplit_once('=').ok_or("expected ORIGIN=PUBLIC_KEY_PEM")?;
    if origin.is_empty() || pem.is_empty() {
        return Err("expected ORIGIN=PUBLIC_KEY_PEM".into());
    }
    Ok((origin.to_string(), PathBuf::from(pem)))
}

pub fn run(command: WitnessCommand) -> anyhow::Result<()> {
    match command {
        WitnessCommand::Init { dir, name, listen, logs } => {
            let logs = logs
                .into_iter()
                .map(|(o, p)| Ok((o, std::path::absolute(&p)?)))
                .collect::<std::io::Result<Vec<_>>>()?;
            let (config, vkey) = sigstead_witness::init::init(&dir, &name, listen, &logs)?;
            eprintln!("created witness: {}", config.display());
            println!("{vkey}");
            Ok(())
        }
        WitnessCommand::Vkey { config } => {
            let c = sigstead_witness::WitnessConfig::load(&config)?;
            println!("{}", sigstead_witness::init::vkey(&c)?);
            Ok(())
        }
    }
}
