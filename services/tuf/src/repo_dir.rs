//! The repository directory: all file I/O of the TUF server, `sigstead tuf`
//! and `sigstead mirror`. Every write is atomic (temporary file, fsync,
//! rename, fsync of the directory), so a crash leaves either the old or the
//! new file, never a torn one; versioned files are written before the file
//! that names them (targets, then snapshot, then timestamp).

use sigstead_tuf::client::Files;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A repository directory in the consistent-snapshot layout.
#[derive(Debug, Clone)]
pub struct RepoDir {
    path: PathBuf,
}

/// `N.<role>.json` → N.
pub fn versioned(name: &str, role: &str) -> Option<u64> {
    let v = name.strip_suffix(&format!(".{role}.json"))?;
    if v.is_empty() || v.starts_with('0') || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse().ok()
}

impl RepoDir {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Takes the repository's write lock (an exclusive advisory lock on
    /// `.sigstead-tuf.lock`), held until the guard is dropped: `sigstead tuf
    /// publish` and the server's re-signing never interleave, so no two
    /// timestamps ever share a version.
    pub fn lock(&self) -> std::io::Result<std::fs::File> {
        std::fs::create_dir_all(&self.path)?;
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.path.join(".sigstead-tuf.lock"))?;
        f.lock()?;
        Ok(f)
    }

    /// Reads `rel` (a path in the wire layout); `None` when absent.
    pub fn read(&self, rel: &str) -> std::io::Result<Option<Vec<u8>>> {
        match std::fs::read(self.path.join(rel)) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Highest N of the `N.<role>.json` files present.
    pub fn latest(&self, role: &str) -> std::io::Result<Option<u64>> {
        let mut max = None;
        match std::fs::read_dir(&self.path) {
            Ok(rd) => {
                for e in rd {
                    let name = e?.file_name();
                    if let Some(v) = name.to_str().and_then(|n| versioned(n, role)) {
                        max = max.max(Some(v));
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        Ok(max)
    }

    /// The newest root, with its version.
    pub fn latest_root(&self) -> anyhow::Result<(u64, Vec<u8>)> {
        let v = self.latest("root")?.ok_or_else(|| anyhow::anyhow!("{} holds no N.root.json", self.path.display()))?;
        let bytes = self.read(&format!("{v}.root.json"))?.ok_or_else(|| anyhow::anyhow!("{v}.root.json vanished"))?;
        Ok((v, bytes))
    }

    /// Writes `rel` atomically, creating directories as needed.
    pub fn write_atomic(&self, rel: &str, bytes: &[u8]) -> std::io::Result<()> {
        let dest = self.path.join(rel);
        let dir = dest.parent().unwrap_or(&self.path).to_path_buf();
        std::fs::create_dir_all(&dir)?;
        let name = dest.file_name().and_then(|n| n.to_str()).unwrap_or("file");
        let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
        {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &dest)?;
        std::fs::File::open(&dir)?.sync_all()
    }

    /// Every file of the repository by wire path (for a mirror's local copy).
    pub fn load_files(&self) -> std::io::Result<Files> {
        let mut out = Files::new();
        if !self.path.exists() {
            return Ok(out);
        }
        let mut stack = vec![self.path.clone()];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir)? {
                let e = e?;
                let p = e.path();
                let name = e.file_name();
                if name.to_string_lossy().starts_with('.') {
                    continue;
                }
                if e.file_type()?.is_dir() {
                    stack.push(p);
                } else if let Ok(rel) = p.strip_prefix(&self.path) {
                    let rel = rel.to_string_lossy().replace('\\', "/");
                    out.insert(rel, std::fs::read(&p)?);
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versioned_names() {
        assert_eq!(versioned("12.root.json", "root"), Some(12));
        assert_eq!(versioned("012.root.json", "root"), None);
        assert_eq!(versioned(".root.json", "root"), None);
        assert_eq!(versioned("1.targets.json", "root"), None);
        assert_eq!(versioned("x1.root.json", "root"), None);
    }

    #[test]
    fn atomic_write_and_scan() {
        let t = tempfile::tempdir().unwrap();
        let d = RepoDir::new(t.path());
        d.write_atomic("1.root.json", b"a").unwrap();
        d.write_atomic("2.root.json", b"b").unwrap();
        d.write_atomic("targets/abc.x.json", b"c").unwrap();
        assert_eq!(d.latest_root().unwrap(), (2, b"b".to_vec()));
        let files = d.load_files().unwrap();
        assert_eq!(files.keys().collect::<Vec<_>>(), ["1.root.json", "2.root.json", "targets/abc.x.json"]);
        assert_eq!(d.read("nope.json").unwrap(), None);
    }
}
