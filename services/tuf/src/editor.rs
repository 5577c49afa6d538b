//! The repository editor behind `sigstead tuf`: the policy file, offline
//! signing (stage → sign → publish), key loading, target files, and the
//! development repository of `sigstead up`. The binary only parses
//! arguments and calls these.
//!
//! Offline signing: `stage-root` / `stage-targets` write an unsigned
//! metadata file; carry it to the offline host, `sign` it there with each
//! key (the file gains one signature per run), carry it back and `publish`
//! it. `publish` checks what a client will check (thresholds of the old and
//! new root for a root, of the current root's targets role for targets)
//! before anything is written, so a repository never serves metadata its
//! clients would refuse.

use crate::online::Lifetimes;
use crate::repo_dir::RepoDir;
use crate::OnlineKeys;
use anyhow::Context;
use serde::Deserialize;
use sigstead_crypto::Signer;
use sigstead_tuf::metadata::{Envelope, Role, Root, Targets};
use sigstead_tuf::repo::{self, target_path, targets_path};
use sigstead_tuf::TufKey;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use time::OffsetDateTime;

/// One role in the policy file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RolePolicy {
    /// Signatures required.
    pub threshold: u32,
    /// Lifetime of each version of this role, in days.
    pub expires_days: u32,
    /// Public key files (PEM), relative to the policy file.
    pub keys: Vec<PathBuf>,
}

/// `tuf-repo/policy.toml`: roles, thresholds, expiries.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub root: RolePolicy,
    pub targets: RolePolicy,
    pub snapshot: RolePolicy,
    pub timestamp: RolePolicy,
}

impl Policy {
    pub fn load(path: &Path) -> anyhow::Result<(Self, PathBuf)> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let p: Self = toml::from_str(&text).with_context(|| format!("{}", path.display()))?;
        Ok((p, path.parent().unwrap_or(Path::new(".")).to_path_buf()))
    }

    fn role(&self, r: Role) -> &RolePolicy {
        match r {
            Role::Root => &self.root,
            Role::Targets => &self.targets,
            Role::Snapshot => &self.snapshot,
            Role::Timestamp => &self.timestamp,
        }
    }

    /// The root this policy describes, as version `version`.
    pub fn root(&self, base: &Path, version: u64, now: OffsetDateTime) -> anyhow::Result<Root> {
        let mut roles = Vec::new();
        for r in Role::ALL {
            let rp = self.role(r);
            let mut keys = Vec::new();
            for k in &rp.keys {
                let path = base.join(k);
                let pem = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
                let (_, der) = sigstead_crypto::pem_decode_first(&pem)
                    .ok_or_else(|| anyhow::anyhow!("{} is not PEM", path.display()))?;
                keys.push(TufKey::from_spki_der(&der).with_context(|| path.display().to_string())?);
            }
            roles.push((r, keys, rp.threshold));
        }
        Ok(Root::new(version, days(now, self.root.expires_days), &roles)?)
    }
}

/// `now` plus `d` days, as a TUF expiry.
pub fn days(now: OffsetDateTime, d: u32) -> sigstead_tuf::Expiry {
    repo::expires_in(now, i64::from(d) * 86_400)
}

/// The password for keys given without their own: `file`, or the
/// environment variable `SIGSTEAD_TUF_KEY_PASSWORD`.
pub fn password(file: Option<&Path>) -> anyhow::Result<Vec<u8>> {
    match file {
        Some(p) => Ok(sigstead_keys::read_secret_file(p)?),
        None => std::env::var("SIGSTEAD_TUF_KEY_PASSWORD")
            .map(String::into_bytes)
            .map_err(|_| anyhow::anyhow!("give --password-file or set SIGSTEAD_TUF_KEY_PASSWORD")),
    }
}

/// Opens an encrypted PKCS#8 key file (Ed25519 or ECDSA P-256) with `password`.
pub fn open_key_file(path: &Path, password: &[u8]) -> anyhow::Result<Arc<dyn Signer>> {
    let pem = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let key = sigstead_crypto::signer_from_encrypted_pkcs8_pem(&pem, password)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(Arc::from(key))
}

/// Loads encrypted private keys. Each path may carry its own password file
/// as `KEY=PASSWORD_FILE`; keys without one use `pw_file` (or
/// SIGSTEAD_TUF_KEY_PASSWORD), so offline and online keys need not share a
/// password.
pub fn load_keys(paths: &[PathBuf], pw_file: Option<&Path>) -> anyhow::Result<Vec<Arc<dyn Signer>>> {
    let mut shared: Option<Vec<u8>> = None;
    let mut out: Vec<Arc<dyn Signer>> = Vec::new();
    for spec in paths {
        let spec_s = spec.to_string_lossy();
        let (key_path, pw) = match spec_s.split_once('=') {
            Some((k, p)) => (PathBuf::from(k), sigstead_keys::read_secret_file(Path::new(p))?),
            None => {
                if shared.is_none() {
                    shared = Some(password(pw_file)?);
                }
                (spec.clone(), shared.clone().unwrap_or_default())
            }
        };
        out.push(open_key_file(&key_path, &pw)?);
    }
    Ok(out)
}

/// The keys among `keys` that `root` lists for `role`.
pub fn keys_for<'a>(root: &Root, role: Role, keys: &'a [Arc<dyn Signer>]) -> Vec<&'a Arc<dyn Signer>> {
    let ids = root.role(role).map(|r| r.keyids.clone()).unwrap_or_default();
    keys.iter().filter(|k| TufKey::from_spki_der(k.public_key_der()).is_ok_and(|t| ids.contains(&t.key_id()))).collect()
}

/// Signs `metadata` with the keys among `keys` that `root` lists for `role`.
pub fn sign_as<T: sigstead_tuf::metadata::Metadata>(
    metadata: &T,
    root: &Root,
    role: Role,
    keys: &[Arc<dyn Signer>],
) -> anyhow::Result<Envelope> {
    let signers: Vec<&dyn Signer> = keys_for(root, role, keys).into_iter().map(|k| k.as_ref()).collect();
    Ok(repo::sign(metadata, &signers)?)
}

pub fn online_keys(root: &Root, keys: &[Arc<dyn Signer>]) -> anyhow::Result<OnlineKeys> {
    let pick = |role| -> anyhow::Result<Arc<dyn Signer>> {
        keys_for(root, role, keys)
            .into_iter()
            .next()
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("none of the given keys is a {role} key of the current root"))
    };
    Ok(OnlineKeys { snapshot: pick(Role::Snapshot)?, timestamp: pick(Role::Timestamp)? })
}

/// Default lifetimes of online roles signed from the command line; the
/// server's configuration governs them afterwards.
const CLI_LIFETIMES: Lifetimes = Lifetimes { timestamp_secs: 86_400, snapshot_secs: 7 * 86_400 };

/// The name of the trusted root target, from which the legacy targets are derived.
pub const TRUSTED_ROOT_TARGET: &str = "trusted_root.json";

/// Reads target files into `listed`, derives the legacy targets from
/// `trusted_root.json` (see [`derive_legacy_targets`]) and copies every file
/// into `targets/<sha256>.<name>`. Returns the targets' custom metadata.
pub fn add_target_files(
    dir: &RepoDir,
    listed: &mut BTreeMap<String, Vec<u8>>,
    targets: &[(String, PathBuf)],
) -> anyhow::Result<BTreeMap<String, serde_json::Value>> {
    for (name, path) in targets {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        listed.insert(name.clone(), bytes);
    }
    if listed.contains_key(TRUSTED_ROOT_TARGET) {
        if let Some((name, _)) = targets.iter().find(|(n, _)| sigstead_trust::legacy::is_legacy_name(n)) {
            anyhow::bail!(
                "{name} is derived from {TRUSTED_ROOT_TARGET} (the legacy targets always hold its keys); \
                 do not give it as a target"
            );
        }
    }
    let custom = derive_legacy_targets(listed)?;
    for (name, bytes) in listed.iter() {
        let tf = sigstead_tuf::TargetFile::describe(bytes, None);
        let p = target_path(name, &tf).expect("sha256 listed");
        if dir.read(&p)?.as_deref() != Some(bytes.as_slice()) {
            dir.write_atomic(&p, bytes)?;
        }
    }
    Ok(custom)
}

/// When `files` holds `trusted_root.json`: replaces every legacy target
/// (`rekor.pub`, `ctfe.pub`, `fulcio_v1.crt.pem`, … see
/// [`sigstead_trust::legacy`]) with those derived from it, so that a client
/// reading only the legacy targets gets the keys of the trusted root, and a
/// rotation changes both in one targets version. Returns their
/// `custom.sigstore` metadata by name. Without a trusted root, nothing is
/// derived and nothing removed.
pub fn derive_legacy_targets(
    files: &mut BTreeMap<String, Vec<u8>>,
) -> anyhow::Result<BTreeMap<String, serde_json::Value>> {
    let Some(bytes) = files.get(TRUSTED_ROOT_TARGET) else { return Ok(BTreeMap::new()) };
    let root: sigstead_trust::TrustedRoot = serde_json::from_slice(bytes)
        .with_context(|| format!("the {TRUSTED_ROOT_TARGET} target is not a trusted root"))?;
    files.retain(|name, _| !sigstead_trust::legacy::is_legacy_name(name));
    let mut custom = BTreeMap::new();
    for t in sigstead_trust::legacy::legacy_targets(&root) {
        custom.insert(t.name.clone(), t.custom());
        files.insert(t.name, t.bytes);
    }
    Ok(custom)
}

/// The current targets' files, read back from the repository.
pub fn current_target_files(dir: &RepoDir) -> anyhow::Result<(u64, BTreeMap<String, Vec<u8>>)> {
    let Some(v) = dir.latest("targets")? else { return Ok((0, BTreeMap::new())) };
    let env = Envelope::parse(&dir.read(&targets_path(v))?.unwrap_or_default())?;
    let t: Targets = env.signed_as()?;
    let mut files = BTreeMap::new();
    for (name, tf) in &t.targets {
        let p = target_path(name, tf).ok_or_else(|| anyhow::anyhow!("target {name} has no sha256"))?;
        let bytes = dir.read(&p)?.ok_or_else(|| anyhow::anyhow!("{p} is missing from the repository"))?;
        anyhow::ensure!(tf.matches(&bytes), "{p} does not match its listed hash");
        files.insert(name.clone(), bytes);
    }
    Ok((v, files))
}

pub fn write_new(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

/// Publishes signed metadata (see [`crate::publish::publish`]) with the
/// editor's default online lifetimes.
pub fn publish(dir: &RepoDir, metadata: &[Envelope], online: Option<&OnlineKeys>) -> anyhow::Result<Vec<String>> {
    crate::publish::publish(dir, metadata, online, CLI_LIFETIMES, OffsetDateTime::now_utc())
}

/// The development repository of `sigstead up` in `tuf_dir`: Ed25519 keys
/// for the four roles (one each, threshold 1, all on this machine, which
/// suits a development stack only: production keeps root and targets keys
/// offline, see deploy/RUNBOOK.md) in `tuf_dir/keys`, root 1, and the
/// `targets` files given. When those files change (say, the ports moved), a
/// new targets version is published. Writes `tuf_dir/tuf.toml` (server
/// listening on `listen`) unless it exists, and returns its path.
pub fn dev_repository(tuf_dir: &Path, targets: &[(String, PathBuf)], listen: &str) -> anyhow::Result<PathBuf> {
    let keys_dir = tuf_dir.join("keys");
    std::fs::create_dir_all(&keys_dir)?;
    let pw_path = keys_dir.join("password");
    if !pw_path.exists() {
        sigstead_keys::write_private(&pw_path, sigstead_keys::random_password().as_bytes())?;
    }
    let pw = sigstead_keys::read_secret_file(&pw_path)?;
    let mut keys: Vec<Arc<dyn Signer>> = Vec::new();
    for role in Role::ALL {
        let path = keys_dir.join(format!("{role}.key"));
        if !path.exists() {
            let k = sigstead_crypto::Ed25519Signer::generate();
            sigstead_keys::write_private(&path, k.to_encrypted_pkcs8_pem(&pw)?.as_bytes())?;
        }
        keys.push(open_key_file(&path, &pw)?);
    }
    let dir = RepoDir::new(tuf_dir.join("repository"));
    let now = OffsetDateTime::now_utc();
    let year = repo::expires_in(now, 365 * 86_400);
    if dir.latest("root")?.is_none() {
        let roles: Vec<_> = Role::ALL
            .iter()
            .zip(&keys)
            .map(|(r, k)| Ok((*r, vec![TufKey::from_spki_der(k.public_key_der())?], 1)))
            .collect::<anyhow::Result<_>>()?;
        let root = Root::new(1, year, &roles)?;
        publish(&dir, &[sign_as(&root, &root, Role::Root, &keys)?], None)?;
    }
    let (_, root_bytes) = dir.latest_root()?;
    let root: Root = Envelope::parse(&root_bytes)?.signed_as()?;
    let (version, current) = current_target_files(&dir)?;
    let mut files = BTreeMap::new();
    let custom = add_target_files(&dir, &mut files, targets)?;
    if files != current {
        let t = repo::targets_with_custom(version + 1, year, &files, &custom)?;
        let env = sign_as(&t, &root, Role::Targets, &keys)?;
        publish(&dir, &[env], None)?;
    }
    let cfg = tuf_dir.join("tuf.toml");
    if !cfg.exists() {
        std::fs::write(
            &cfg,
            format!(
                "# Sigstead TUF repository, created by `sigstead up`.\nlisten = {listen:?}\nrepository_dir = \"repository\"\n\n\
                 [timestamp_key.file]\npath = \"keys/timestamp.key\"\npassword_file = \"keys/password\"\n\n\
                 [snapshot_key.file]\npath = \"keys/snapshot.key\"\npassword_file = \"keys/password\"\n"
            ),
        )?;
    }
    Ok(cfg)
}

/// Key types `sigstead tuf keygen` makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlgorithm {
    Ed25519,
    EcdsaP256,
}

/// Writes a new key: `PREFIX.key` (encrypted PKCS#8 with `password`) and
/// `PREFIX.pub` (public key PEM). Refuses to overwrite a key. Returns the
/// key's TUF key ID and the private key's path.
pub fn keygen(prefix: &Path, algorithm: KeyAlgorithm, password: &[u8]) -> anyhow::Result<(String, PathBuf)> {
    let (pem, signer): (String, Box<dyn Signer>) = match algorithm {
        KeyAlgorithm::Ed25519 => {
            let s = sigstead_crypto::Ed25519Signer::generate();
            (s.to_encrypted_pkcs8_pem(password)?, Box::new(s))
        }
        KeyAlgorithm::EcdsaP256 => {
            let s = sigstead_crypto::EcdsaSigner::generate_p256();
            (s.to_encrypted_pkcs8_pem(password)?, Box::new(s))
        }
    };
    let key_path = prefix.with_extension("key");
    let pub_path = prefix.with_extension("pub");
    anyhow::ensure!(!key_path.exists(), "{} exists; refusing to overwrite a key", key_path.display());
    write_new(&key_path, pem.as_bytes())?;
    write_new(&pub_path, sigstead_crypto::pem_encode("PUBLIC KEY", signer.public_key_der()).as_bytes())?;
    Ok((TufKey::from_spki_der(signer.public_key_der())?.key_id().to_string(), key_path))
}

/// `sigstead tuf init`: root 1 from the policy, targets 1 with `targets`,
/// snapshot and timestamp, signed with `keys` (every role's keys needed).
/// Refuses a directory that already holds a root. Returns the number of targets.
pub fn init_repository(
    dir: &RepoDir,
    policy_path: &Path,
    targets: &[(String, PathBuf)],
    keys: &[Arc<dyn Signer>],
    now: OffsetDateTime,
) -> anyhow::Result<usize> {
    anyhow::ensure!(dir.latest("root")?.is_none(), "{} already holds a root", dir.path().display());
    let (policy, base) = Policy::load(policy_path)?;
    let root = policy.root(&base, 1, now)?;
    let env = sign_as(&root, &root, Role::Root, keys)?;
    let online = online_keys(&root, keys)?;
    publish(dir, &[env], None)?;
    let mut files = BTreeMap::new();
    let custom = add_target_files(dir, &mut files, targets)?;
    let t = repo::targets_with_custom(1, days(now, policy.targets.expires_days), &files, &custom)?;
    let env = sign_as(&t, &root, Role::Targets, keys)?;
    publish(dir, &[env], None)?;
    let life = Lifetimes {
        timestamp_secs: u64::from(policy.timestamp.expires_days) * 86_400,
        snapshot_secs: u64::from(policy.snapshot.expires_days) * 86_400,
    };
    crate::online::refresh_online(dir, &online, life, now)?;
    Ok(files.len())
}

/// `sigstead tuf stage-root`: the next root version from the policy, unsigned,
/// written to `out` for offline signing. Returns its version.
pub fn stage_root(dir: &RepoDir, policy_path: &Path, out: &Path, now: OffsetDateTime) -> anyhow::Result<u64> {
    let (policy, base) = Policy::load(policy_path)?;
    let version = dir.latest("root")?.unwrap_or(0) + 1;
    let root = policy.root(&base, version, now)?;
    write_new(out, &Envelope::new(&root)?.to_bytes())?;
    Ok(version)
}

/// `sigstead tuf stage-targets`: the next targets version (the current
/// targets plus `add`, minus `remove`), unsigned, written to `out`. Returns
/// its version and its number of targets.
pub fn stage_targets(
    dir: &RepoDir,
    add: &[(String, PathBuf)],
    remove: &[String],
    expires_days: u32,
    out: &Path,
    now: OffsetDateTime,
) -> anyhow::Result<(u64, usize)> {
    let (v, mut files) = current_target_files(dir)?;
    for name in remove {
        anyhow::ensure!(files.remove(name).is_some(), "no target named {name}");
        if name == TRUSTED_ROOT_TARGET {
            // The legacy targets were derived from it: they go with it.
            files.retain(|n, _| !sigstead_trust::legacy::is_legacy_name(n));
        }
    }
    let custom = add_target_files(dir, &mut files, add)?;
    let t = repo::targets_with_custom(v + 1, days(now, expires_days), &files, &custom)?;
    write_new(out, &Envelope::new(&t)?.to_bytes())?;
    Ok((v + 1, files.len()))
}

/// `sigstead tuf sign`: adds one signature per key to a staged metadata
/// file, in place. Returns the key IDs that signed.
pub fn sign_file(metadata: &Path, keys: &[Arc<dyn Signer>]) -> anyhow::Result<Vec<String>> {
    let mut env = Envelope::parse(&std::fs::read(metadata).with_context(|| metadata.display().to_string())?)?;
    let mut signed = Vec::new();
    for k in keys {
        signed.push(env.sign(k.as_ref())?.to_string());
    }
    std::fs::write(metadata, env.to_bytes())?;
    Ok(signed)
}

/// `sigstead tuf publish`: the staged, signed files (a root, a targets, or
/// both), checked as a client will check them, then published; with online
/// keys, snapshot and timestamp are re-signed too. Returns the paths written.
pub fn publish_files(dir: &RepoDir, metadata: &[PathBuf], online: &[Arc<dyn Signer>]) -> anyhow::Result<Vec<String>> {
    let envs = metadata
        .iter()
        .map(|m| Ok(Envelope::parse(&std::fs::read(m).with_context(|| m.display().to_string())?)?))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let online = if online.is_empty() {
        None
    } else {
        // The keys of the root in force after this publication.
        let root: Root = match envs.iter().find(|e| e.type_name() == Some("root")) {
            Some(e) => e.signed_as()?,
            None => Envelope::parse(&dir.latest_root()?.1)?.signed_as()?,
        };
        Some(online_keys(&root, online)?)
    };
    publish(dir, &envs, online.as_ref())
}

/// Writes every attack fixture (`sigstead_tuf::fixtures`) into
/// `out/<attack>/`: `repo/`, an optional `baseline/`, `1.root.json`, and
/// `expect` (`accept` / `refuse`) and `attack` files for the drivers.
pub fn write_attack_fixtures(out: &Path, now: OffsetDateTime) -> anyhow::Result<()> {
    for f in sigstead_tuf::fixtures::all(now)? {
        let base = out.join(f.name);
        let write = |sub: &str, files: &sigstead_tuf::client::Files| -> anyhow::Result<()> {
            let d = RepoDir::new(base.join(sub));
            for (p, b) in files {
                d.write_atomic(p, b)?;
            }
            Ok(())
        };
        write("repo", &f.repo)?;
        if let Some(b) = &f.baseline {
            write("baseline", b)?;
        }
        std::fs::write(base.join("1.root.json"), &f.root1)?;
        std::fs::write(base.join("expect"), if f.good { "accept\n" } else { "refuse\n" })?;
        std::fs::write(base.join("attack"), format!("{}\n", f.attack))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_policy_parses_and_builds_a_root_from_its_keys() {
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tuf-repo/policy.example.toml");
        let (policy, _) = Policy::load(&example).unwrap();
        assert_eq!((policy.root.threshold, policy.root.keys.len()), (2, 3));
        // Build it against generated keys at the paths the example names.
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("keys")).unwrap();
        for role in [&policy.root, &policy.targets, &policy.snapshot, &policy.timestamp] {
            for k in &role.keys {
                let s = sigstead_crypto::Ed25519Signer::generate();
                std::fs::write(dir.path().join(k), sigstead_crypto::pem_encode("PUBLIC KEY", s.public_key_der()))
                    .unwrap();
            }
        }
        let root = policy.root(dir.path(), 1, OffsetDateTime::now_utc()).unwrap();
        assert_eq!(root.keys.len(), 6);
        assert_eq!(root.role(Role::Root).unwrap().threshold, 2);
        // Unknown fields are refused.
        let text = std::fs::read_to_string(&example).unwrap().replace("[targets]", "[targets]\nthreshhold = 1");
        assert!(toml::from_str::<Policy>(&text).unwrap_err().to_string().contains("unknown field"));
    }

    /// The development repository verifies from its own root 1 with the
    /// pure client, its server config parses, and a re-run with the same
    /// targets publishes nothing new while changed targets get a new version.
    #[test]
    fn the_development_repository_is_served_as_written_and_follows_its_targets() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("trusted_root.json");
        let doc = |url: &str| {
            format!("{{\"mediaType\":\"{}\",\"tlogs\":[],\"x\":\"{url}\"}}", sigstead_trust::TRUSTED_ROOT_MEDIA_TYPE)
        };
        std::fs::write(&target, doc("1")).unwrap();
        let targets = vec![("trusted_root.json".to_string(), target.clone())];
        let cfg = dev_repository(&tmp.path().join("tuf"), &targets, "127.0.0.1:3004").unwrap();
        let config = crate::TufConfig::load(&cfg).unwrap();
        assert!(config.load_online_keys().unwrap().is_some());
        let dir = RepoDir::new(tmp.path().join("tuf/repository"));
        assert_eq!(current_target_files(&dir).unwrap().0, 1);
        dev_repository(&tmp.path().join("tuf"), &targets, "127.0.0.1:3004").unwrap();
        assert_eq!(current_target_files(&dir).unwrap().0, 1, "unchanged targets: no new version");
        std::fs::write(&target, doc("2")).unwrap();
        dev_repository(&tmp.path().join("tuf"), &targets, "127.0.0.1:3004").unwrap();
        let (v, files) = current_target_files(&dir).unwrap();
        assert_eq!((v, files["trusted_root.json"].as_slice()), (2, doc("2").as_bytes()));
    }

    /// The legacy targets are derived from the trusted root in the same
    /// targets version, described with `custom.sigstore` metadata, and a Rekor
    /// key rotation changes the trusted root and `rekor.pub` together (the
    /// old key listed Expired). Giving a legacy target by hand is refused.
    #[test]
    fn legacy_targets_follow_the_trusted_root() {
        use sigstead_crypto::EcdsaSigner;
        let tmp = tempfile::tempdir().unwrap();
        let (r1, r2, ct) = (EcdsaSigner::generate_p256(), EcdsaSigner::generate_p256(), EcdsaSigner::generate_p256());
        let services = |rekor: &EcdsaSigner| sigstead_trust::Services {
            rekor: sigstead_trust::LogKey {
                url: "https://rekor.internal".into(),
                spki: rekor.public_key_der().to_vec(),
            },
            ct: Some(sigstead_trust::LogKey { url: "https://ct.internal".into(), spki: ct.public_key_der().to_vec() }),
            ca: Some(sigstead_trust::Ca {
                url: "https://ca.internal".into(),
                chain: vec![b"i".to_vec(), b"r".to_vec()],
            }),
            tsa: None,
            oidc_urls: vec![],
        };
        let target = tmp.path().join("trusted_root.json");
        let (tr1, _) = sigstead_trust::build(&services(&r1), "2026-01-01T00:00:00Z");
        std::fs::write(&target, serde_json::to_vec(&tr1).unwrap()).unwrap();
        let targets = vec![("trusted_root.json".to_string(), target.clone())];
        dev_repository(&tmp.path().join("tuf"), &targets, "127.0.0.1:3004").unwrap();
        let dir = RepoDir::new(tmp.path().join("tuf/repository"));
        let listed = |dir: &RepoDir| -> Targets {
            let v = dir.latest("targets").unwrap().unwrap();
            Envelope::parse(&dir.read(&targets_path(v)).unwrap().unwrap()).unwrap().signed_as().unwrap()
        };
        let spki = |pem: &[u8]| sigstead_crypto::VerifierMaterial::parse(pem).unwrap().spki_der;
        let t = listed(&dir);
        let names: Vec<&str> = t.targets.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            ["ctfe.pub", "fulcio_intermediate_v1.crt.pem", "fulcio_v1.crt.pem", "rekor.pub", "trusted_root.json"]
        );
        assert_eq!(
            t.targets["rekor.pub"].custom,
            Some(
                serde_json::json!({"sigstore": {"status": "Active", "uri": "https://rekor.internal", "usage": "Rekor"}})
            )
        );
        assert_eq!(t.targets["trusted_root.json"].custom, None);
        let (_, files) = current_target_files(&dir).unwrap();
        assert_eq!(spki(&files["rekor.pub"]), r1.public_key_der());

        // Rotation: the new trusted root carries the old key over, closed.
        let (mut tr2, _) = sigstead_trust::build(&services(&r2), "2026-06-01T00:00:00Z");
        sigstead_trust::carry_over(&tr1, &mut tr2, "2026-06-01T00:00:00Z");
        std::fs::write(&target, serde_json::to_vec(&tr2).unwrap()).unwrap();
        dev_repository(&tmp.path().join("tuf"), &targets, "127.0.0.1:3004").unwrap();
        let t = listed(&dir);
        assert_eq!(t.version, 2, "one targets version for both changes");
        let (_, files) = current_target_files(&dir).unwrap();
        assert_eq!(spki(&files["rekor.pub"]), r2.public_key_der());
        let old = format!("rekor_{}.pub", hex::encode(&sigstead_crypto::log_id(r1.public_key_der())[..8]));
        assert_eq!(spki(&files[&old]), r1.public_key_der());
        assert_eq!(t.targets[&old].custom.as_ref().unwrap()["sigstore"]["status"], "Expired");
        assert_eq!(t.targets["rekor.pub"].custom.as_ref().unwrap()["sigstore"]["status"], "Active");

        // A hand-made rekor.pub next to the trusted root is refused; removing
        // the trusted root removes what was derived from it.
        let fake = tmp.path().join("rekor.pub");
        std::fs::write(&fake, sigstead_crypto::pem_encode("PUBLIC KEY", ct.public_key_der())).unwrap();
        let err = stage_targets(
            &dir,
            &[("rekor.pub".into(), fake)],
            &[],
            30,
            &tmp.path().join("s.json"),
            OffsetDateTime::now_utc(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("derived from trusted_root.json"), "{err}");
        let out = tmp.path().join("t3.json");
        stage_targets(&dir, &[], &["trusted_root.json".into()], 30, &out, OffsetDateTime::now_utc()).unwrap();
        let t3: Targets = Envelope::parse(&std::fs::read(&out).unwrap()).unwrap().signed_as().unwrap();
        assert!(t3.targets.is_empty(), "{:?}", t3.targets.keys().collect::<Vec<_>>());
    }
}
