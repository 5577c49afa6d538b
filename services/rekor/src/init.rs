//! `sigstead rekor init` (and the Rekor part of `sigstead up`): a new log's
//! key and `rekor.toml`.

use crate::RekorConfig;
use sigstead_tlog::DatabaseUrl;
use std::path::Path;

/// Writes a key (encrypted PKCS#8, its random password in a 0600 file) and
/// `rekor.toml` into `dir`, unless `rekor.toml` already exists; returns the
/// loaded configuration. `public_url` defaults to `http://<listen>`; the
/// database to `sqlite://rekor.db` beside the file.
pub fn init(
    dir: &Path,
    listen: &str,
    public_url: Option<String>,
    database_url: Option<&DatabaseUrl>,
) -> anyhow::Result<RekorConfig> {
    std::fs::create_dir_all(dir).map_err(|e| anyhow::anyhow!("creating {}: {e}", dir.display()))?;
    let config_path = dir.join("rekor.toml");
    if !config_path.exists() {
        let (key, signer) = sigstead_keys::generate_p256_key_file(dir, "rekor-key")?;
        std::fs::write(dir.join("rekor-key.pub"), sigstead_crypto::pem_encode("PUBLIC KEY", signer.public_key_der()))?;
        let public_url = public_url.unwrap_or_else(|| format!("http://{listen}"));
        let db = match database_url {
            Some(u) => format!("database_url = {:?}\n", u.to_config_string()),
            None => "# database_url = \"postgres://…\"  (default: sqlite://rekor.db beside this file)\n".to_string(),
        };
        let text = format!(
            "# Sigstead Rekor log, created by `sigstead rekor init`.\n\
             listen = {listen:?}\n\
             public_url = {public_url:?}\n\
             {db}\n\
             [batch]\n\
             max_entries = 2048\n\
             max_delay_ms = 2\n\n\
             {}",
            key.to_toml("signing_key")
        );
        std::fs::write(&config_path, text)?;
    }
    RekorConfig::load(&config_path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_writes_a_config_that_loads_and_keeps_it_on_a_rerun() {
        let dir = tempfile::tempdir().unwrap();
        let c = init(dir.path(), "127.0.0.1:3000", None, None).unwrap();
        assert_eq!(c.public_url, "http://127.0.0.1:3000");
        assert_eq!(c.database_url.to_config_string(), format!("sqlite://{}", dir.path().join("rekor.db").display()));
        let key = crate::load_signer(&c).unwrap();
        let again = init(dir.path(), "127.0.0.1:9999", None, None).unwrap();
        assert_eq!(again.listen.port(), 3000, "an existing rekor.toml is kept");
        assert_eq!(crate::load_signer(&again).unwrap().public_key_der(), key.public_key_der());
        let pem = std::fs::read(dir.path().join("rekor-key.pub")).unwrap();
        assert_eq!(sigstead_crypto::pem_decode_first(&pem).unwrap().1, key.public_key_der());
    }
}
