//! File names of the consistent-snapshot layout (TUF specification §5,
//! `consistent_snapshot: true`): the layout on disk is the layout on the
//! wire. Shared by the client workflow and the repository builder.

use crate::TargetFile;

/// `N.root.json`.
pub fn root_path(version: u64) -> String {
    format!("{version}.root.json")
}
/// `N.snapshot.json`.
pub fn snapshot_path(version: u64) -> String {
    format!("{version}.snapshot.json")
}
/// `N.targets.json`.
pub fn targets_path(version: u64) -> String {
    format!("{version}.targets.json")
}
/// The unversioned timestamp.
pub const TIMESTAMP_PATH: &str = "timestamp.json";

/// `targets/<sha256>.<name>`, or `targets/dir/<sha256>.<base>` for a name with
/// directories (how python-tuf, go-tuf and tuf-js request hash-prefixed targets).
pub fn target_path(name: &str, file: &TargetFile) -> Option<String> {
    let sha = file.sha256()?;
    Some(match name.rsplit_once('/') {
        Some((dir, base)) => format!("targets/{dir}/{sha}.{base}"),
        None => format!("targets/{sha}.{name}"),
    })
}

/// A target name Sigstead will publish: a relative path of safe segments.
pub fn valid_target_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name.split('/').all(|seg| {
            !seg.is_empty()
                && seg != "."
                && seg != ".."
                && seg.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+'))
        })
}
