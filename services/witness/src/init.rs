//! `sigstead witness init`: a new Ed25519 witness key (encrypted, with its
//! password file) and a `witness.toml` naming the logs to follow; and
//! `sigstead witness vkey`: the verifier key clients are given.

use sigstead_crypto::Ed25519Signer;
use sigstead_keys::KeySource;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Writes `witness.key.pem`, `witness.key.pass` and `witness.toml` into
/// `dir` (refusing to overwrite a key); returns the config path and the vkey.
pub fn init(
    dir: &Path,
    name: &str,
    listen: std::net::SocketAddr,
    logs: &[(String, PathBuf)],
) -> anyhow::Result<(PathBuf, String)> {
    std::fs::create_dir_all(dir)?;
    let key_path = dir.join("witness.key.pem");
    if key_path.exists() {
        anyhow::bail!("{} exists; refusing to replace a witness key", key_path.display());
    }
    let password = sigstead_keys::random_password();
    let key = Ed25519Signer::generate();
    sigstead_keys::write_private(&dir.join("witness.key.pass"), password.as_bytes())?;
    sigstead_keys::write_private(&key_path, key.to_encrypted_pkcs8_pem(password.as_bytes())?.as_bytes())?;
    let mut toml = format!(
        "listen = \"{listen}\"\nname = {name:?}\nstate_dir = \"state\"\n\n{}\n",
        KeySource::file("witness.key.pem", "witness.key.pass").to_toml("witness_key")
    );
    for (origin, pem) in logs {
        let _ = write!(toml, "\n[[logs]]\norigin = {origin:?}\npublic_key = {:?}\n", pem.display().to_string());
    }
    let config = dir.join("witness.toml");
    std::fs::write(&config, toml)?;
    let c = crate::WitnessConfig::load(&config)?;
    Ok((config, vkey(&c)?))
}

/// The vkey of the witness `config` describes.
pub fn vkey(config: &crate::WitnessConfig) -> anyhow::Result<String> {
    let key = config.witness_key.open().map_err(|e| anyhow::anyhow!("witness_key: {e}"))?;
    let c = sigstead_note::cosignature::Cosigner::from_spki(&config.name, key.public_key_der())?;
    Ok(c.vkey())
}
