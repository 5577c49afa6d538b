//! `sigstead tsa init` (and the TSA part of `sigstead up`): the TSA key, a
//! chain certifying it, and `tsa.toml`.

use sigstead_crypto::{EcCurve, Signer};
use sigstead_keys::KeySource;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What `init` makes.
#[derive(Debug, Clone)]
pub struct TsaInit {
    pub organization: String,
    /// Curve of generated keys (the TSA key when `key` is `None`, the root and intermediate always).
    pub curve: EcCurve,
    /// Put an intermediate between the root and the leaf.
    pub intermediate: bool,
    /// An existing key (e.g. on a PKCS#11 token) for the TSA; `None` generates an encrypted key file.
    pub key: Option<KeySource>,
}

impl Default for TsaInit {
    fn default() -> Self {
        Self { organization: "sigstead".into(), curve: EcCurve::P256, intermediate: false, key: None }
    }
}

/// Writes into `dir`, each unless it exists: the TSA key (`tsa-key.pem`,
/// encrypted, its random password in 0600 `tsa-key.password`) unless
/// `opts.key` names one, the root (and intermediate) keys likewise
/// (`tsa-root-key.pem`, `tsa-intermediate-key.pem`), the chain
/// `tsa-chain.pem` (leaf first) and `tsa.toml`. Returns the configuration's path.
pub fn init(dir: &Path, listen: &str, opts: &TsaInit) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let cfg = dir.join("tsa.toml");
    let chain_path = dir.join("tsa-chain.pem");
    let (key, signer): (KeySource, Arc<dyn Signer>) = match &opts.key {
        Some(source) => {
            let mut opened = source.clone();
            opened.resolve(dir);
            let (signer, _) = opened.open_ecdsa("signing_key", &[EcCurve::P256, EcCurve::P384], "P-256 or P-384")?;
            (source.clone(), signer)
        }
        None => sigstead_keys::generate_key_file(dir, "tsa-key", opts.curve)?,
    };
    if !chain_path.exists() {
        let (_, root_key) = sigstead_keys::generate_key_file(dir, "tsa-root-key", opts.curve)?;
        let intermediate_key = if opts.intermediate {
            Some(sigstead_keys::generate_key_file(dir, "tsa-intermediate-key", opts.curve)?.1)
        } else {
            None
        };
        let chain = sigstead_ca::generate_tsa_chain(&sigstead_ca::TsaChainRequest {
            organization: opts.organization.clone(),
            root_key,
            intermediate_key,
            leaf_key: signer,
            not_before: time::OffsetDateTime::now_utc() - time::Duration::minutes(5),
            years: 10,
        })?;
        let pem: String = chain.iter().map(|c| sigstead_crypto::pem_encode("CERTIFICATE", c)).collect();
        std::fs::write(&chain_path, pem)?;
    }
    if !cfg.exists() {
        std::fs::write(
            &cfg,
            format!(
                "# Sigstead RFC 3161 timestamp authority.\nlisten = {listen:?}\ncert_chain = \"tsa-chain.pem\"\n\n\
                 [http]\n# A TimeStampReq is a few hundred bytes.\nmax_body_bytes = 16384\n\n{}",
                key.to_toml("signing_key")
            ),
        )?;
    }
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    #[test]
    fn init_writes_a_config_that_opens_with_a_p384_chain_and_intermediate() {
        let dir = tempfile::tempdir().unwrap();
        let opts = super::TsaInit { curve: sigstead_crypto::EcCurve::P384, intermediate: true, ..Default::default() };
        let path = super::init(dir.path(), "127.0.0.1:3005", &opts).unwrap();
        let c = crate::TsaConfig::load(&path).unwrap();
        assert_eq!(c.load_chain().unwrap().len(), 3);
        assert_eq!(c.http.max_body_bytes, 16384);
        let tsa = crate::open(&c).unwrap();
        assert_eq!(tsa.authority().chain_der().len(), 3);
        // Idempotent: a second init keeps the key and the chain.
        let before = std::fs::read(dir.path().join("tsa-chain.pem")).unwrap();
        super::init(dir.path(), "127.0.0.1:3005", &opts).unwrap();
        assert_eq!(std::fs::read(dir.path().join("tsa-chain.pem")).unwrap(), before);
    }
}
