//! `witness.toml`: configuration of the witness.

use serde::Deserialize;
use sigstead_keys::KeySource;
use sigstead_server::HttpConfig;
use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The whole configuration file. Relative paths are relative to the file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// The witness's name: the key name on its cosignatures, a schema-less
    /// URL by C2SP convention (`witness.example.org/sigstead`). Clients
    /// verify cosignatures by this name and the key (see `vkey`).
    pub name: String,
    /// The witness's Ed25519 key: `[witness_key.file]` (an encrypted PKCS#8
    /// file with its password file or environment variable). A cosignature
    /// key must not be used for anything else.
    pub witness_key: KeySource,
    /// Directory holding the latest cosigned checkpoint of each log (one
    /// file each, replaced atomically and flushed to disk before a
    /// cosignature is returned). One witness process per directory: a
    /// second one is refused at start.
    pub state_dir: PathBuf,
    /// The logs this witness cosigns; a checkpoint of any other origin is
    /// answered 404.
    pub logs: Vec<WitnessedLog>,
    #[serde(default)]
    pub http: HttpConfig,
}

/// One log the witness follows.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessedLog {
    /// The log's checkpoint origin line, exactly (Rekor v1: `<host> - <tree ID>`).
    pub origin: String,
    /// PEM file of the log's public key. Checkpoints are verified as Rekor v1
    /// signs them (ECDSA, the key hint being the first four bytes of the log ID).
    pub public_key: PathBuf,
}

impl WitnessConfig {
    /// Reads and checks the file (a wrong combination is refused here, at start).
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
        let mut c: Self = toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        c.resolve(&base)?;
        c.check().map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        Ok(c)
    }

    /// Makes relative paths relative to `base`.
    pub fn resolve(&mut self, base: &Path) -> anyhow::Result<()> {
        self.http.resolve(base)?;
        self.witness_key.resolve(base);
        if self.state_dir.is_relative() {
            self.state_dir = base.join(&self.state_dir);
        }
        for l in &mut self.logs {
            if l.public_key.is_relative() {
                l.public_key = base.join(&l.public_key);
            }
        }
        Ok(())
    }

    /// The combinations refused at start.
    pub fn check(&self) -> anyhow::Result<()> {
        if self.name.is_empty() || self.name.contains(char::is_whitespace) || self.name.contains('+') {
            anyhow::bail!("name: {:?} must be non-empty, without spaces or '+' (it is a note key name)", self.name);
        }
        if self.logs.is_empty() {
            anyhow::bail!("logs: a witness needs at least one [[logs]] entry");
        }
        let mut seen = HashSet::new();
        for l in &self.logs {
            if l.origin.is_empty() || l.origin.contains('\n') {
                anyhow::bail!("logs: origin {:?} is not a checkpoint origin line", l.origin);
            }
            if !seen.insert(&l.origin) {
                anyhow::bail!("logs: origin {:?} is listed twice", l.origin);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example in `deploy/` parses, and a wrong combination is refused with its reason.
    #[test]
    fn example_parses_and_bad_combinations_are_refused() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/witness.example.toml");
        let c = WitnessConfig::load(&path).unwrap();
        assert_eq!(c.logs.len(), 1);
        let text = std::fs::read_to_string(&path).unwrap();
        let dup = format!("{text}\n[[logs]]\norigin = {:?}\npublic_key = \"other.pem\"\n", c.logs[0].origin);
        let mut d: WitnessConfig = toml::from_str(&dup).unwrap();
        d.resolve(Path::new("/")).unwrap();
        assert!(d.check().unwrap_err().to_string().contains("listed twice"));
        let spaced = text.replacen(&format!("name = {:?}", c.name), "name = \"two words\"", 1);
        let s: WitnessConfig = toml::from_str(&spaced).unwrap();
        assert!(s.check().unwrap_err().to_string().contains("without spaces"));
        let unknown = format!("cosign_everything = true\n{text}");
        assert!(toml::from_str::<WitnessConfig>(&unknown).unwrap_err().to_string().contains("unknown field"));
    }
}
