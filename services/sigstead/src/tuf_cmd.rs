//! `sigstead tuf …` and `sigstead mirror`: arguments, and calls into the
//! repository editor (`sigstead_tuf_service::editor`), which holds the
//! offline-signing workflow and its checks.

use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use sigstead_tuf::repo;
use sigstead_tuf_service::editor::{self, load_keys, password};
use sigstead_tuf_service::online;
use sigstead_tuf_service::repo_dir::RepoDir;
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
        /// Publish a trusted root without auditing it against the live
        /// services first (an offline host: run `sigstead tuf audit` on a
        /// connected one before signing).
        #[arg(long)]
        insecure_skip_audit: bool,
        /// PEM CA certificates for the live services' HTTPS (the audit).
        #[arg(long)]
        ca_file: Option<PathBuf>,
    },
    /// Compare a trusted root (and signing config) with the live services:
    /// log keys and IDs, checkpoint origins, CT key, CA and TSA chains, URLs,
    /// validity windows. Prints OK / DIFF / SKIP lines; exits non-zero on a DIFF.
    Audit {
        #[arg(long)]
        trusted_root: PathBuf,
        #[arg(long)]
        signing_config: Option<PathBuf>,
        /// PEM CA certificates for the live services' HTTPS.
        #[arg(long)]
        ca_file: Option<PathBuf>,
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
        /// The timestamp authority's full URL (`https://…/api/v1/timestamp`); with --tsa-chain.
        #[arg(long, requires = "tsa_chain")]
        tsa_url: Option<String>,
        /// The TSA chain (PEM, leaf first), e.g. tsa-chain.pem from `sigstead tsa init`.
        #[arg(long, requires = "tsa_url")]
        tsa_chain: Option<PathBuf>,
        /// OIDC issuer URLs offered to interactive clients (repeatable).
        #[arg(long = "oidc-url")]
        oidc_urls: Vec<String>,
        /// The trusted root currently published, to carry its history over.
        #[arg(long)]
        previous: Option<PathBuf>,
        /// Another instance's trusted root (e.g. the public-good one, from a
        /// `sigstead mirror` copy of its repository) to federate: its logs, CAs
        /// and TSAs are listed too, so verifiers accept both (repeatable).
        #[arg(long = "include")]
        include: Vec<PathBuf>,
        /// Start of validity of new entries (RFC 3339); default: now.
        #[arg(long)]
        start: Option<String>,
        #[arg(long)]
        out_dir: PathBuf,
    },
    /// Versions, expiry and days left of every role.
    Status {
        #[arg(long)]
        repo: PathBuf,
        /// Exit non-zero if any role expires within this many days (an air-gapped
        /// copy must be refreshed before then).
        #[arg(long)]
        min_days: Option<f64>,
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
            let algorithm = match algorithm {
                Algorithm::Ed25519 => editor::KeyAlgorithm::Ed25519,
                Algorithm::EcdsaP256 => editor::KeyAlgorithm::EcdsaP256,
            };
            let (key_id, key_path) = editor::keygen(&out, algorithm, &pw)?;
            println!("{key_id} {}", key_path.display());
            Ok(())
        }
        TufCommand::Init { policy, repo: repo_path, targets, keys, password_file } => {
            let keys = load_keys(&keys, password_file.as_deref())?;
            let files = editor::init_repository(&RepoDir::new(&repo_path), &policy, &targets, &keys, now)?;
            println!("initialised {} (root 1, targets 1: {files} files)", repo_path.display());
            Ok(())
        }
        TufCommand::StageRoot { policy, repo: repo_path, out } => {
            let version = editor::stage_root(&RepoDir::new(&repo_path), &policy, &out, now)?;
            println!(
                "staged root {version} in {}: sign it with a threshold of the current and the new root keys",
                out.display()
            );
            Ok(())
        }
        TufCommand::StageTargets { repo: repo_path, targets, remove, expires_days, out } => {
            let dir = RepoDir::new(&repo_path);
            let (version, files) = editor::stage_targets(&dir, &targets, &remove, expires_days, &out, now)?;
            println!("staged targets {version} ({files} files) in {}", out.display());
            Ok(())
        }
        TufCommand::Sign { metadata, keys, password_file } => {
            anyhow::ensure!(!keys.is_empty(), "give at least one --key");
            for key_id in editor::sign_file(&metadata, &load_keys(&keys, password_file.as_deref())?)? {
                println!("signed with {key_id}");
            }
            Ok(())
        }
        TufCommand::Publish {
            repo: repo_path,
            metadata,
            online_keys: okeys,
            password_file,
            insecure_skip_audit,
            ca_file,
        } => {
            if insecure_skip_audit {
                eprintln!("WARNING: publishing without auditing the trust documents against the live services");
            } else {
                audit_staged(&RepoDir::new(&repo_path), &metadata, ca_file, now)?;
            }
            let keys = load_keys(&okeys, password_file.as_deref())?;
            for p in editor::publish_files(&RepoDir::new(&repo_path), &metadata, &keys)? {
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
            tsa_url,
            tsa_chain,
            oidc_urls,
            previous,
            include,
            start,
            out_dir,
        } => {
            let spki = |p: &Path| -> anyhow::Result<Vec<u8>> {
                let pem = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
                let v = sigstead_crypto::VerifierMaterial::parse(&pem).with_context(|| p.display().to_string())?;
                Ok(v.spki_der)
            };
            let certificates = |p: &Path| -> anyhow::Result<Vec<Vec<u8>>> {
                let pem = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
                let chain = sigstead_crypto::pem_certificates(&pem);
                anyhow::ensure!(!chain.is_empty(), "{} holds no certificates", p.display());
                Ok(chain)
            };
            let tsa = match (tsa_url, tsa_chain) {
                (Some(url), Some(chain)) => Some(sigstead_trust::Tsa { url, chain: certificates(&chain)? }),
                _ => None,
            };
            let services = sigstead_trust::Services {
                rekor: sigstead_trust::LogKey { url: rekor_url, spki: spki(&rekor_key)? },
                ct: Some(sigstead_trust::LogKey { url: ctlog_url, spki: spki(&ct_key)? }),
                ca: Some(sigstead_trust::Ca { url: fulcio_url, chain: certificates(&ca_chain)? }),
                tsa,
                oidc_urls,
            };
            let now_s = sigstead_tuf::Expiry::at(now).to_string();
            let start = start.unwrap_or_else(|| now_s.clone());
            let (mut tr, sc) = sigstead_trust::build(&services, &start);
            // Federated instances first, so that carrying the previous root over
            // keeps their entries as they are instead of retiring them.
            for other in include {
                let o: sigstead_trust::TrustedRoot = serde_json::from_slice(&std::fs::read(&other)?)
                    .with_context(|| format!("{} is not a trusted root", other.display()))?;
                sigstead_tuf_service::kit::check_trusted_root(&o).with_context(|| other.display().to_string())?;
                sigstead_trust::include(&mut tr, &o);
            }
            if let Some(prev) = previous {
                let old: sigstead_trust::TrustedRoot = serde_json::from_slice(&std::fs::read(&prev)?)
                    .with_context(|| format!("{} is not a trusted root", prev.display()))?;
                sigstead_trust::carry_over(&old, &mut tr, &now_s);
            }
            std::fs::create_dir_all(&out_dir)?;
            let tc = sigstead_trust::client_trust_config(&tr, &sc);
            std::fs::write(out_dir.join("trusted_root.json"), serde_json::to_vec_pretty(&tr)?)?;
            std::fs::write(out_dir.join("signing_config.v0.2.json"), serde_json::to_vec_pretty(&sc)?)?;
            std::fs::write(out_dir.join("trust_config.json"), serde_json::to_vec_pretty(&tc)?)?;
            println!(
                "wrote trusted_root.json, signing_config.v0.2.json and trust_config.json in {}",
                out_dir.display()
            );
            Ok(())
        }
        TufCommand::Audit { trusted_root, signing_config, ca_file } => {
            let tr: sigstead_trust::TrustedRoot = serde_json::from_slice(&std::fs::read(&trusted_root)?)
                .with_context(|| format!("{} is not a trusted root", trusted_root.display()))?;
            let sc: Option<sigstead_trust::wire::SigningConfig> = match &signing_config {
                Some(p) => Some(
                    serde_json::from_slice(&std::fs::read(p)?)
                        .with_context(|| format!("{} is not a signing config", p.display()))?,
                ),
                None => None,
            };
            let report = run_audit(&tr, sc.as_ref(), ca_file, now)?;
            for f in &report.findings {
                println!("{f}");
            }
            anyhow::ensure!(
                report.is_clean(),
                "the trust documents do not describe the live services ({} differences)",
                report.diffs().count()
            );
            Ok(())
        }
        TufCommand::Status { repo: repo_path, min_days } => {
            freshness(&RepoDir::new(&repo_path), now, min_days)?;
            Ok(())
        }
        TufCommand::AttackFixtures { out } => {
            editor::write_attack_fixtures(&out, now)?;
            Ok(())
        }
    }
}

fn run_audit(
    tr: &sigstead_trust::TrustedRoot,
    sc: Option<&sigstead_trust::wire::SigningConfig>,
    ca_file: Option<PathBuf>,
    now: OffsetDateTime,
) -> anyhow::Result<sigstead_tuf_service::audit::AuditReport> {
    let http = sigstead_server::OutboundTls::with_ca_file(ca_file).http_client(std::time::Duration::from_secs(10))?;
    // `tuf` runs inside the binary's multi-threaded runtime.
    Ok(tokio::task::block_in_place(|| {
        tokio::runtime::Handle::current().block_on(sigstead_tuf_service::audit::audit(&http, tr, sc, now))
    }))
}

/// The audit before `publish`: the trusted root (and signing config) that a
/// staged targets file names, read from the repository where `stage-targets`
/// put them, must describe the live services.
fn audit_staged(
    dir: &RepoDir,
    metadata: &[PathBuf],
    ca_file: Option<PathBuf>,
    now: OffsetDateTime,
) -> anyhow::Result<()> {
    for m in metadata {
        let env = sigstead_tuf::Envelope::parse(&std::fs::read(m).with_context(|| m.display().to_string())?)?;
        if env.type_name() != Some("targets") {
            continue;
        }
        let t: sigstead_tuf::Targets = env.signed_as()?;
        let read = |name: &str| -> anyhow::Result<Option<Vec<u8>>> {
            let Some(f) = t.targets.get(name) else { return Ok(None) };
            let path = sigstead_tuf::layout::target_path(name, f).context("a target without a SHA-256")?;
            let bytes = dir.read(&path)?.with_context(|| format!("{path} is not in the repository"))?;
            anyhow::ensure!(f.matches(&bytes), "{path} does not match the staged targets");
            Ok(Some(bytes))
        };
        let Some(tr) = read("trusted_root.json")? else { continue };
        let tr: sigstead_trust::TrustedRoot = serde_json::from_slice(&tr).context("the staged trusted_root.json")?;
        let sc: Option<sigstead_trust::wire::SigningConfig> = match read("signing_config.v0.2.json")? {
            Some(b) => Some(serde_json::from_slice(&b).context("the staged signing_config.v0.2.json")?),
            None => None,
        };
        let report = run_audit(&tr, sc.as_ref(), ca_file.clone(), now)?;
        for f in &report.findings {
            eprintln!("audit: {f}");
        }
        if !report.is_clean() {
            let diffs: Vec<String> = report.diffs().map(ToString::to_string).collect();
            anyhow::bail!(
                "refusing to publish: the staged trusted root does not describe the live services:\n  {}\n(fix the trust documents, or on an offline host pass --insecure-skip-audit after `sigstead tuf audit` on a connected one)",
                diffs.join("\n  ")
            );
        }
    }
    Ok(())
}

/// `sigstead mirror`: a verified copy of a repository for an air-gapped site.
/// Prints every role's version, expiry and days left; fails naming each role
/// that expires within `min_days` (or has expired).
fn freshness(dir: &RepoDir, now: OffsetDateTime, min_days: Option<f64>) -> anyhow::Result<()> {
    let mut stale = Vec::new();
    for (role, version, expires) in online::expiries(dir)? {
        let days = (expires - now).as_seconds_f64() / 86_400.0;
        let at = sigstead_tuf::Expiry::at(expires);
        println!("{:<9} version {version:<4} expires {at} ({days:.1} days left)", role.name());
        if min_days.is_some_and(|min| days < min) {
            stale.push(format!("{} expires in {days:.1} days", role.name()));
        }
    }
    if let (false, Some(min)) = (stale.is_empty(), min_days) {
        anyhow::bail!("{} (threshold {min} days): refresh the repository or the copy", stale.join(", "));
    }
    Ok(())
}

/// A TUF repository to read from, as `mirror` and `kit export` take it.
#[derive(Debug, clap::Args)]
pub struct TufSource {
    /// Base URL of the repository.
    #[arg(long)]
    pub url: String,
    /// The pinned root to start from (e.g. 1.root.json, obtained out of band).
    #[arg(long)]
    pub root: PathBuf,
    /// Extra CA certificates (PEM) for an https URL.
    #[arg(long)]
    pub ca_file: Option<PathBuf>,
}

impl TufSource {
    /// The pinned root's bytes and an HTTP client trusting `ca_file`.
    pub fn open(&self) -> anyhow::Result<(Vec<u8>, reqwest::Client)> {
        let root1 = std::fs::read(&self.root).with_context(|| format!("reading {}", self.root.display()))?;
        let http = sigstead_server::OutboundTls::with_ca_file(self.ca_file.clone())
            .http_client(std::time::Duration::from_secs(60))?;
        Ok((root1, http))
    }
}

pub async fn mirror(source: &TufSource, out: &Path, min_days: Option<f64>) -> anyhow::Result<()> {
    let (root1, http) = source.open()?;
    let url = source.url.as_str();
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
    freshness(&dir, OffsetDateTime::now_utc(), min_days)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_arguments_must_be_safe_names() {
        assert!(parse_target("trusted_root.json=./x").is_ok());
        for bad in ["../etc/passwd=x", "a//b=x", "noequals", "=x", "a/./b=x"] {
            assert!(parse_target(bad).is_err(), "{bad}");
        }
    }
}
