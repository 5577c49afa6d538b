//! The witness's durable state: for each log origin, the size and root hash
//! of the latest checkpoint it cosigned.
//!
//! # Protocol (what a crash leaves)
//!
//! One file per origin, `<state_dir>/<hex SHA-256 of the origin>.json`.
//! An update (under the witness's one lock, so that checking the old size
//! and recording the new one are atomic, as C2SP `tlog-witness` requires):
//!
//! 1. write `<file>.tmp` and `fsync` it — *crash here*: the old file is
//!    intact, the stray `.tmp` is overwritten next time; nobody got a
//!    cosignature for the new size;
//! 2. `rename` it over the file and `fsync` the directory — *crash here*:
//!    the file is either the old or the new state, whole;
//! 3. only then sign and answer. *Crash before answering*: the state moved
//!    to a checkpoint whose cosignature nobody received; the log retries
//!    with `old` = that size (the 409 tells it) — never a rollback.
//!
//! So a cosignature is only ever returned for a state already on disk, and
//! a restarted witness cannot cosign anything inconsistent with what it
//! cosigned before the crash. A second process on the same directory is
//! refused at start (an exclusive `flock` on `<state_dir>/state.lock`).

use serde::{Deserialize, Serialize};
use sigstead_merkle::Hash;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The latest cosigned checkpoint of one log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Latest {
    pub size: u64,
    pub root_hash: Hash,
}

#[derive(Serialize, Deserialize)]
struct File {
    origin: String,
    size: u64,
    root_hash: String,
}

/// The state directory.
#[derive(Debug)]
pub struct StateDir {
    dir: PathBuf,
}

impl StateDir {
    /// Opens (creating it) and locks the directory for this process.
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| anyhow::anyhow!("creating state_dir {}: {e}", dir.display()))?;
        sigstead_tlog::sqlite_lock::lock_for_process(&dir.join("state"))
            .map_err(|e| anyhow::anyhow!("witness state_dir {}: {e}", dir.display()))?;
        Ok(Self { dir: dir.to_path_buf() })
    }

    fn path(&self, origin: &str) -> PathBuf {
        let d = sigstead_crypto::digest(sigstead_crypto::HashAlgorithm::Sha256, origin.as_bytes());
        self.dir.join(format!("{}.json", hex::encode(d)))
    }

    /// The latest cosigned checkpoint of `origin` (`None` before the first).
    pub fn latest(&self, origin: &str) -> anyhow::Result<Option<Latest>> {
        let path = self.path(origin);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => anyhow::bail!("reading {}: {e}", path.display()),
        };
        let f: File = serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        if f.origin != origin {
            anyhow::bail!("{}: holds the state of {:?}, not {origin:?}", path.display(), f.origin);
        }
        use base64::Engine;
        let root_hash = base64::engine::general_purpose::STANDARD
            .decode(&f.root_hash)
            .ok()
            .and_then(|v| <[u8; 32]>::try_from(v).ok())
            .ok_or_else(|| anyhow::anyhow!("{}: root_hash is not 32 bytes of base64", path.display()))?;
        Ok(Some(Latest { size: f.size, root_hash }))
    }

    /// Records `latest` durably (steps 1 and 2 above).
    pub fn record(&self, origin: &str, latest: Latest) -> anyhow::Result<()> {
        use base64::Engine;
        let path = self.path(origin);
        let tmp = path.with_extension("json.tmp");
        let body = serde_json::to_vec(&File {
            origin: origin.to_owned(),
            size: latest.size,
            root_hash: base64::engine::general_purpose::STANDARD.encode(latest.root_hash),
        })?;
        let mut f = std::fs::File::create(&tmp).map_err(|e| anyhow::anyhow!("writing {}: {e}", tmp.display()))?;
        f.write_all(&body)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, &path).map_err(|e| anyhow::anyhow!("replacing {}: {e}", path.display()))?;
        std::fs::File::open(&self.dir)?.sync_all()?;
        Ok(())
    }
}
