//! `sigstead tuf …` and `sigstead mirror`: arguments, and calls into the
//! repository editor (`sigstead_tuf_service::editor`), which holds the
//! offline-signing workflow and its checks.

use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use sigstead_crypto::Signer;
use sigstead_tuf::metadata::{Envelope, Role, Root};
use sigstead_tuf::repo;
use sigstead_tuf::TufKey;
use sigstead_tuf_service::editor::{
    add_target_files, current_target_files, days, load_keys, online_keys, password, publish, sign_as, write_new, Policy,
};
use sigstead_tuf_service::online::{self, Lifetimes};
use sigstead_tuf_service::repo_dir::RepoDir;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Algorithm {
    Ed25519,
    EcdsaP256,
}

#[derive(Debug, Subcommand)]
pub enum TufCommand {
    /// Generate a key: PREFIX.key (encrypted PKCS#8) and PREFIX.pub (public key PEM).
    Keygen {
        #[arg(long)]
        out: PathBuf,
        #[arg(long, value_enum, default_value = "ed25519")]
        algorithm: Algorithm,
        /// Password for the private key (or SIGSTEAD_TUF_KEY_PASSWORD).
        #[arg(long)]
        password_file: Option<PathBuf>,
    },
    /// Create a repository: root 1 from the policy, the targets, snapshot and
    /// timestamp, signed with the given keys (all four roles' keys needed).
    Init {
        /// Policy file (see tuf-repo/policy.example.toml).
        #[arg(long)]
        policy: PathBuf,
        #[arg(long)]
        repo: PathBuf,
        /// NAME=FILE, e.g. trusted_root.json=./trusted_root.json (repeatable).
        #[arg(long = "target", value_parser = parse_target)]
        targets: Vec<(String, PathBuf)>,
        /// Private key files to sign with (repeatable); KEY=PASSWORD_FILE gives
        /// a key its own password (default: --password-file).
        #[arg(long = "key")]
        keys: Vec<PathBuf>,
        #[arg(long)]
        password_file: Option<PathBuf>,
    },
    /// Write the next root version, from the policy, unsigned, for offline signing.
    StageRoot {
        #[arg(long)]
        policy: PathBuf,
        #[arg(long)]
        repo: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
    /// Write the next targets version (the current targets plus/minus these), unsigned.
    StageTargets {
        #[arg(long)]
        repo: PathBuf,
        #[arg(long = "target", value_parser = parse_target)]
        targets: Vec<(String, PathBuf)>,
        /// Target names to drop.
        #[arg(long = "remove")]
        remove: Vec<String>,
        #[arg(long, default_value_t = 180)]
        expires_days: u32,
        #[arg(long)]
        out: PathBuf,
    },
    /// Add a signature to a staged metadata file (on the offline host).
    Sign {
        #[arg(long)]
        metadata: PathBuf,
        /// Key files (repeatable), each KEY or KEY=PASSWORD_FILE.
        #[arg(long = "key")]
        keys: Vec<PathBuf>,
        #[arg(long)]
        password_file: Option<PathBuf>,
    },
    /// Verify signed staged files as a client would and publish them: a root,
    /// a targets, or both at once (a root that replaces the targets keys
    /// needs targets signed by the new keys); with online keys, also re-sign
    /// snapshot and timestamp.
    Publish {
        #[arg(long)]
        repo: PathBuf,
        /// A staged, signed root or targets file (repeatable: one of each).
        #[arg(long = "metadata", required = true)]
        metadata: Vec<PathBuf>,
        /// Online snapshot/timestamp keys (repeatable); without them the
        /// running server re-signs at its next check.
        #[arg(long = "online-key")]
        online_keys: Vec<PathBuf>,
        #[arg(long)]
        password_file: Option<PathBuf>,
    },
    /// Write trusted_root.json, signing_config.v0.2.json and trust_config.json
    /// for the live services (their public keys and URLs). With --previous,
    /// keys and CAs no longer current stay listed with a closed validity
    /// window, so bundles made under them keep verifying.
    TrustDocuments {
        #[arg(long)]
        rekor_url: String,
        /// Rekor's public key (PEM), e.g. from `sigstead rekor trust-material`.
        #[arg(long)]
        rekor_key: PathBuf,
        #[arg(long)]
        ctlog_url: String,
        /// The CT log's public key (PEM).
        #[arg(long)]
        ct_key: PathBuf,
        #[arg(long)]
        fulcio_url: String,
        /// The CA chain (PEM, intermediate first), e.g. ca-chain.pem from `sigstead ca init`.
        #[arg(long)]
        ca_chain: PathBuf,
        /// OIDC issuer URLs offered to interactive clients (repeatable).
        #[arg(long = "oidc-url")]
        oidc_urls: Vec<String>,
        /// The trusted root currently published, to carry its history over.
        #[arg(long)]
        previous: Option<PathBuf>,
        /// Start of validity of new entries (RFC 3339); default: now.
        #[arg(long)]
        start: Option<String>,
        #[arg(long)]
        out_dir: PathBuf,
    },
    /// Versions and expiry of every role.
    Status {
        #[arg(long)]
        repo: PathBuf,
    },
    /// Write the attack fixtures (test support) into DIR/<attack>/.
    #[command(hide = true)]
    AttackFixtures {
        #[arg(long)]
        out: PathBuf,
    },
}

fn parse_target(s: &str) -> Result<(String, PathBuf), String> {
    let (name, path) = s.split_once('=').ok_or("expected NAME=FILE")?;
    if !repo::valid_target_name(name) {
        return Err(format!("{name:?} is not a valid target name"));
    }
    Ok((name.to_string(), PathBuf::from(path)))
}

pub fn run(cmd: TufCommand) -> anyhow::Result<()> {
    let now = OffsetDateTime::now_utc();
    match cmd {
        TufCommand::Keygen { out, algorithm, password_file } => {
            let pw = password(password_file.as_deref())?;
            let (pem, signer): (String, Box<dyn Signer>) = match algorithm {
                Algorithm::Ed25519 => {
                    let s = sigstead_crypto::Ed25519Signer::generate();
                    (s.to_encrypted_pkcs8_pem(&pw)?, Box::new(s))
                }
                Algorithm::EcdsaP256 => {
                    let s = sigstead_crypto::EcdsaP256Signer::generate();
                    (s.to_encrypted_pkcs8_pem(&pw)?, Box::new(s))
                }
            };
            let key_path = out.with_extension("key");
            let pub_path = out.with_extension("pub");
            anyhow::ensure!(!key_path.exists(), "{} exists; refusing to overwrite a key", key_path.display());
            write_new(&key_path, pem.as_bytes())?;
            write_new(&pub_path, sigstead_crypto::pem_encode("PUBLIC KEY", signer.public_key_der()).as_bytes())?;
            println!("{} {}", TufKey::from_spki_der(signer.public_key_der())?.key_id(), key_path.display());
            Ok(())
        }
        TufCommand::Init { policy, repo: repo_path, targets, keys, password_file } => {
            let dir = RepoDir::new(&repo_path);
            anyhow::ensure!(dir.latest("root")?.is_none(), "{} already holds a root", repo_path.display());
            let (policy, base) = Policy::load(&policy)?;
            let keys = load_keys(&keys, password_file.as_deref())?;
            let root = policy.root(&base, 1, now)?;
            let env = sign_as(&root, &root, Role::Root, &keys)?;
            let online = online_keys(&root, &keys)?;
            publish(&dir, &[env], None)?;
            let mut files = BTreeMap::new();
            add_target_files(&dir, &mut files, &targets)?;
            let t = repo::targets_for(1, days(now, policy.targets.expires_days), &files)?;
            let env = sign_as(&t, &root, Role::Targets, &keys)?;
            publish(&dir, &[env], None)?;
            let life = Lifetimes {
                timestamp_secs: u64::from(policy.timestamp.expires_days) * 86_400,
                snapshot_secs: u64::from(policy.snapshot.expires_days) * 86_400,
            };
            online::refresh_online(&dir, &online, life, now)?;
            println!("initialised {} (root 1, targets 1: {} files)", repo_path.display(), files.len());
            Ok(())
        }
        TufCommand::StageRoot { policy, repo: repo_path, out } => {
            let dir = RepoDir::new(&repo_path);
            let (policy, base) = Policy::load(&policy)?;
            let version = dir.latest("root")?.unwrap_or(0) + 1;
            let root = policy.root(&base, version, now)?;
            write_new(&out, &Envelope::new(&root)?.to_bytes())?;
            println!(
                "staged root {version} in {}: sign it with a threshold of the current and the new root keys",
                out.display()
            );
            Ok(())
        }
        TufCommand::StageTargets { repo: repo_path, targets, remove, expires_days, out } => {
            let dir = RepoDir::new(&repo_path);
            let (v, mut files) = current_target_files(&dir)?;
            for name in &remove {
                anyhow::ensure!(files.remove(name).is_some(), "no target named {name}");
            }
            add_target_files(&dir, &mut files, &targets)?;
            let t = repo::targets_for(v + 1, days(now, expires_days), &files)?;
            write_new(&out, &Envelope::new(&t)?.to_bytes())?;
            println!("staged targets {} ({} files) in {}", v + 1, files.len(), out.display());
            Ok(())
        }
        TufCommand::Sign { metadata, keys, password_file } => {
            anyhow::ensure!(!keys.is_empty(), "give at least one --key");
            let mut env = Envelope::parse(&std::fs::read(&metadata).with_context(|| metadata.display().to_string())?)?;
            for k in load_keys(&keys, password_file.as_deref())? {
                println!("signed with {}", env.sign(k.as_ref())?);
            }
            std::fs::write(&metadata, env.to_bytes())?;
            Ok(())
        }
        TufCommand::Publish { repo: repo_path, metadata, online_keys: okeys, password_file } => {
            let dir = RepoDir::new(&repo_path);
            let envs = metadata
                .iter()
                .map(|m| Ok(Envelope::parse(&std::fs::read(m).with_context(|| m.display().to_string())?)?))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let keys = load_keys(&okeys, password_file.as_deref())?;
            let online = if keys.is_empty() {
                None
            } else {
                // The keys of the root in force after this publication.
                let root: Root = match envs.iter().find(|e| e.type_name() == Some("root")) {
                    Some(e) => e.signed_as()?,
                    None => Envelope::parse(&dir.latest_root()?.1)?.signed_as()?,
                };
                Some(online_keys(&root, &keys)?)
            };
            for p in publish(&dir, &envs, online.as_ref())? {
                println!("published {p}");
            }
            Ok(())
        }
        TufCommand::TrustDocuments {
            rekor_url,
            rekor_key,
            ctlog_url,
            ct_key,
            fulcio_url,
            ca_chain,
            oidc_urls,
            previous,
            start,
            out_dir,
        } => {
            let spki = |p: &Path| -> anyhow::Result<Vec<u8>> {
                let pem = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
                let v = sigstead_crypto::VerifierMaterial::parse(&pem).with_context(|| p.display().to_string())?;
                Ok(v.spki_der)
            };
            let chain_pem = std::fs::read(&ca_chain).with_context(|| format!("reading {}", ca_chain.display()))?;
            let chain: Vec<Vec<u8>> = sigstead_crypto::pem_decode_all(&chain_pem)
                .into_iter()
                .filter(|(label, _)| label == "CERTIFICATE")
                .map(|(_, d)| d)
                .collect();
            anyhow::ensure!(!chain.is_empty(), "{} holds no certificates", ca_chain.display());
            let services = sigstead_trust::Services {
                rekor: sigstead_trust::LogKey { url: rekor_url, spki: spki(&rekor_key)? },
                ct: Some(sigstead_trust::LogKey { url: ctlog_url, spki: spki(&ct_key)? }),
                ca: Some(sigstead_trust::Ca { url: fulcio_url, chain }),
                oidc_urls,
            };
            let now_s = sigstead_tuf::Expiry::at(now).to_string();
            let start = start.unwrap_or_else(|| now_s.clone());
            let (mut tr, sc) = sigstead_trust::build(&services, &start);
            if let Some(prev) = previous {
                let old: serde_json::Value = serde_json::from_slice(&std::fs::read(&prev)?)
                    .with_context(|| format!("{} is not JSON", prev.display()))?;
                sigstead_trust::carry_over(&old, &mut tr, &now_s);
            }
            std::fs::create_dir_all(&out_dir)?;
            let tc = sigstead_trust::client_trust_config(&tr, &sc);
            for (name, doc) in
                [("trusted_root.json", &tr), ("signing_config.v0.2.json", &sc), ("trust_config.json", &tc)]
            {
                std::fs::write(out_dir.join(name), serde_json::to_vec_pretty(doc)?)?;
            }
            println!(
                "wrote trusted_root.json, signing_config.v0.2.json and trust_config.json in {}",
                out_dir.display()
            );
            Ok(())
        }
        TufCommand::Status { repo: repo_path } => {
            let dir = RepoDir::new(&repo_path);
            for (role, version, expires) in online::expiries(&dir)? {
                let left = (expires - now).whole_hours();
                let expires = sigstead_tuf::Expiry::at(expires);
                println!("{:<9} version {version:<4} expires {expires} ({left} h)", role.name());
            }
            Ok(())
        }
        TufCommand::AttackFixtures { out } => {
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
    }
}

/// `sigstead mirror`: a verified copy of a repository for an air-gapped site.
pub async fn mirror(url: &str, root: &Path, out: &Path, ca_file: Option<&Path>) -> anyhow::Result<()> {
    let root1 = std::fs::read(root).with_context(|| format!("reading {}", root.display()))?;
    let http = sigstead_server::OutboundTls::with_ca_file(ca_file.map(Path::to_path_buf))
        .http_client(std::time::Duration::from_secs(60))?;
    let dir = RepoDir::new(out);
    let report = sigstead_tuf_service::mirror::mirror(http, url, root1, &dir, |path, bytes| {
        eprintln!("  fetched {path} ({bytes} bytes)");
    })
    .await?;
    println!(
        "mirrored root {} / targets {} into {} ({} files written, {} up to date)",
        report.root_version,
        report.targets_version,
        out.display(),
        report.written,
        report.unchanged
    );
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

    #[test]
    fn target_arguments_must_be_safe_names() {
        assert!(parse_target("trusted_root.json=./x").is_ok());
        for bad in ["../etc/passwd=x", "a//b=x", "noequals", "=x", "a/./b=x"] {
            assert!(parse_target(bad).is_err(), "{bad}");
        }
    }
}
