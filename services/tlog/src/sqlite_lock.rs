//! An SQLite log is single-process: its sequencer assumes it is the only
//! writer, and a second process on the same file would fight it over every
//! batch (each process's transactions failing in turn). [`lock_for_process`]
//! takes an exclusive advisory lock (`flock`) on `<database>.lock` beside the
//! file for the life of the process, and refuses, naming the holder's PID,
//! when another process holds it. The same process may open the file again
//! (a test, or `sigstead up` reopening after a restart of a service task).
//! Postgres has no such limit: replicas coordinate through the database.

use crate::Error;
use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

/// Lock files this process holds, kept open (and so locked) until it exits.
fn held() -> &'static Mutex<(HashSet<PathBuf>, Vec<File>)> {
    static HELD: OnceLock<Mutex<(HashSet<PathBuf>, Vec<File>)>> = OnceLock::new();
    HELD.get_or_init(Default::default)
}

/// The lock file of the SQLite database at `db`.
pub fn lock_path(db: &Path) -> PathBuf {
    let mut name = db.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".lock");
    db.with_file_name(name)
}

/// Takes the process-wide lock of the SQLite database at `db`, or refuses if
/// another process holds it.
pub fn lock_for_process(db: &Path) -> Result<(), Error> {
    let path = lock_path(db);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::Config(format!("creating {}: {e}", dir.display())))?;
    }
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&path)
        .map_err(|e| Error::Config(format!("opening {}: {e}", path.display())))?;
    let key = path.canonicalize().unwrap_or_else(|_| path.clone());
    let mut guard = held().lock().map_err(|_| Error::Config("SQLite lock registry poisoned".into()))?;
    if guard.0.contains(&key) {
        return Ok(());
    }
    match file.try_lock() {
        Ok(()) => {
            file.set_len(0)
                .and_then(|()| writeln!(file, "{}", std::process::id()))
                .map_err(|e| Error::Config(format!("writing {}: {e}", path.display())))?;
            guard.0.insert(key);
            guard.1.push(file);
            Ok(())
        }
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut pid = String::new();
            let _ = file.rewind().and_then(|()| file.read_to_string(&mut pid));
            let pid = pid.trim();
            Err(Error::Config(format!(
                "the SQLite database {} is in use by another process (pid {}): an SQLite log is \
                 single-process; stop the other server, or run replicas on Postgres",
                db.display(),
                if pid.is_empty() { "unknown" } else { pid },
            )))
        }
        Err(std::fs::TryLockError::Error(e)) => Err(Error::Config(format!("locking {}: {e}", path.display()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The parent holds the lock; a child process (this test binary, re-run
    /// for `child_is_refused`) must be refused with the parent's PID.
    #[test]
    fn a_second_process_is_refused_with_the_holders_pid() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("rekor.db");
        lock_for_process(&db).unwrap();
        lock_for_process(&db).expect("the same process may open it again");
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "sqlite_lock::tests::child_is_refused", "--ignored", "--nocapture"])
            .env("SIGSTEAD_LOCK_TEST_DB", &db)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{text}");
        assert!(text.contains(&format!("in use by another process (pid {})", std::process::id())), "{text}");
        assert!(text.contains("1 passed"), "the child ran: {text}");
    }

    #[test]
    #[ignore = "run by a_second_process_is_refused_with_the_holders_pid in a child process"]
    fn child_is_refused() {
        let db = PathBuf::from(std::env::var("SIGSTEAD_LOCK_TEST_DB").expect("run by the parent test"));
        let err = lock_for_process(&db).expect_err("another process holds the lock");
        println!("{err}");
    }
}
