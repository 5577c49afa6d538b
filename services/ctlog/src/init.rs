//! `sigstead ctlog init` (and the CT part of `sigstead up`): the log key,
//! its public key, the accepted roots and `ctlog.toml`.

use sigstead_tlog::DatabaseUrl;
use std::path::{Path, PathBuf};

/// Writes into `dir`, each unless it exists: the log key (`ct-key.pem`,
/// encrypted, with its random password in the 0600 `ct-key.password`), its
/// public key `ct-key.pub` (for the trusted root), `accepted-roots.pem`
/// (a copy of `roots`) and `ctlog.toml`. Returns the configuration's path.
pub fn init(dir: &Path, listen: &str, roots: &Path, database_url: Option<&DatabaseUrl>) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let cfg = dir.join("ctlog.toml");
    let (key, signer) = sigstead_keys::generate_p256_key_file(dir, "ct-key")?;
    std::fs::write(dir.join("ct-key.pub"), sigstead_crypto::pem_encode("PUBLIC KEY", signer.public_key_der()))?;
    if !dir.join("accepted-roots.pem").exists() {
        std::fs::copy(roots, dir.join("accepted-roots.pem"))
            .map_err(|e| anyhow::anyhow!("reading {}: {e}", roots.display()))?;
    }
    let db = database_url.map_or_else(|| "sqlite://ctlog.db".to_string(), DatabaseUrl::to_config_string);
    if !cfg.exists() {
        std::fs::write(
            &cfg,
            format!(
                "# Sigstead CT log.\nlisten = {listen:?}\ndatabase_url = {db:?}\nroots = [\"accepted-roots.pem\"]\n\n{}",
                key.to_toml("signing_key")
            ),
        )?;
    }
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    #[test]
    fn init_writes_a_config_that_loads() {
        let dir = tempfile::tempdir().unwrap();
        let roots = dir.path().join("roots.pem");
        std::fs::write(&roots, sigstead_crypto::pem_encode("CERTIFICATE", b"not parsed here")).unwrap();
        let path = super::init(&dir.path().join("ct"), "127.0.0.1:3002", &roots, None).unwrap();
        let c = crate::CtConfig::load(&path).unwrap();
        assert_eq!(c.database_url.to_config_string(), format!("sqlite://{}", dir.path().join("ct/ctlog.db").display()));
        let key = c.load_signer().unwrap();
        let public = std::fs::read(dir.path().join("ct/ct-key.pub")).unwrap();
        assert_eq!(sigstead_crypto::pem_decode_first(&public).unwrap().1, key.public_key_der());
    }
}
