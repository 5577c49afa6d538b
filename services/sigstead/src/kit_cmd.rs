//! `sigstead kit …`: the offline verification kit for one site (see
//! `sigstead_tuf_service::kit`).

use anyhow::Context;
use clap::Subcommand;
use std::path::{Path, PathBuf};

#[derive(Debug, Subcommand)]
pub enum KitCommand {
    /// Write everything one site's verifiers need (trust documents, the TUF
    /// repository as a mirror and as policy-controller's mirrorFS tarball, PEM
    /// files, admission configurations), verified from a pinned root.
    Export {
        /// The repository to export from.
        #[command(flatten)]
        source: crate::tuf_cmd::TufSource,
        /// The kit directory to write.
        #[arg(long)]
        out: PathBuf,
        /// Also write the kit as one gzipped tarball at this path.
        #[arg(long)]
        tar: Option<PathBuf>,
        /// Image references the admission policies cover (a glob).
        #[arg(long, default_value = "registry.example.internal/**")]
        images: String,
        /// The OIDC issuer the signers' certificates must name.
        #[arg(long)]
        issuer: String,
        /// A regular expression the certificate subject (SAN) must match.
        #[arg(long)]
        subject_regexp: String,
        /// An e-mail identity for containers policy.json (which matches e-mail
        /// subjects only); without it, policy.json is not written.
        #[arg(long)]
        subject_email: Option<String>,
        /// The TUF repository URL as the site's verifiers reach it (default: --url).
        #[arg(long)]
        site_tuf_url: Option<String>,
        /// Where pem/ is installed on verifier hosts (paths in policy.json).
        #[arg(long, default_value = "/etc/containers/sigstead")]
        install_dir: String,
    },
    /// Verify a bundle with the kit alone (its trusted_root.json; no network):
    /// the certificate chain, SCT, log entry and its inclusion proof or SET,
    /// timestamps, identity and the signature over the artifact.
    Verify {
        /// The kit directory (or any directory holding trusted_root.json).
        dir: PathBuf,
        #[arg(long)]
        bundle: PathBuf,
        #[arg(long)]
        artifact: PathBuf,
        /// The expected certificate identity (SAN), exactly.
        #[arg(long, required_unless_present = "identity_regexp", conflicts_with = "identity_regexp")]
        identity: Option<String>,
        /// A regular expression the certificate identity must match (anchor it).
        #[arg(long)]
        identity_regexp: Option<String>,
        /// The expected OIDC issuer.
        #[arg(long)]
        issuer: String,
    },
}

pub async fn run(cmd: KitCommand) -> anyhow::Result<()> {
    match cmd {
        KitCommand::Verify { dir, bundle, artifact, identity, identity_regexp, issuer } => {
            let read = |p: &Path| std::fs::read(p).with_context(|| format!("reading {}", p.display()));
            let root: sigstead_trust::TrustedRoot = serde_json::from_slice(&read(&dir.join("trusted_root.json"))?)
                .context("the kit's trusted_root.json")?;
            let identity = match (identity, identity_regexp) {
                (Some(i), _) => sigstead_verify::Identity::Exact(i),
                (None, Some(r)) => sigstead_verify::Identity::Regexp(
                    regex::Regex::new(&r).with_context(|| format!("--identity-regexp {r:?}"))?,
                ),
                (None, None) => anyhow::bail!("give --identity or --identity-regexp"),
            };
            let policy = sigstead_verify::Policy { identity, issuer };
            let v = sigstead_verify::verify(&root, &read(&bundle)?, &read(&artifact)?, &policy)
                .map_err(|e| anyhow::anyhow!("{}: {e}", bundle.display()))?;
            println!(
                "verified: {} signed by {} ({}), {} entry {} integrated at {}{}, {} SCT(s), {} timestamp(s)",
                artifact.display(),
                v.identity,
                v.issuer,
                v.log_url,
                v.log_index,
                v.integrated_time,
                if v.inclusion_proof { " with an inclusion proof" } else { " (SET)" },
                v.scts,
                v.timestamps
            );
            Ok(())
        }
        KitCommand::Export {
            source,
            out,
            tar,
            images,
            issuer,
            subject_regexp,
            subject_email,
            site_tuf_url,
            install_dir,
        } => {
            let (root1, http) = source.open()?;
            let url = source.url.clone();
            let site = sigstead_tuf_service::kit::Site {
                images,
                issuer,
                subject_regexp,
                subject_email,
                tuf_url: site_tuf_url.unwrap_or_else(|| url.clone()),
                install_dir,
            };
            let report = sigstead_tuf_service::kit::export(http, &url, root1, &out, &site).await?;
            if let Some(t) = tar.as_deref() {
                sigstead_tuf_service::kit::tar_directory(&out, t)?;
            }
            println!(
                "kit for root {} / targets {} in {} ({} files){}",
                report.root_version,
                report.targets_version,
                out.display(),
                report.files.len(),
                tar.as_deref().map(|t: &Path| format!(", tarball {}", t.display())).unwrap_or_default()
            );
            Ok(())
        }
    }
}
