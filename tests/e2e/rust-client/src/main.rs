//! sigstore-rust-driver: a thin CLI over the sigstore-rust crates (0.15) used by
//! tests/e2e/rust.sh to sign and verify against a Sigstead stack.
//!
//!   sign   --fulcio-url URL --rekor-url URL --token-file FILE --bundle OUT ARTIFACT
//!          (or --signing-config FILE instead of the two URLs)
//!   verify --trusted-root FILE --bundle FILE --identity ID --issuer URL ARTIFACT
//!   tuf-sigstore --url TUF_URL --root 1.root.json --cache DIR --out DIR [--target NAME]...
//!   tuf-tough    --url TUF_URL --root 1.root.json --cache DIR --out DIR [--target NAME]...
//!
//! The two TUF subcommands are independent TUF clients (sigstore-tuf 0.15 and
//! tough 0.24): they refresh the repository's metadata from the pinned root,
//! download the named targets (default trusted_root.json and
//! signing_config.v0.2.json), write each verified target byte-for-byte to
//! OUT/NAME and print `ok root=<root version after refresh> targets=<n>`.
//! Use one --cache directory per client: their cache formats differ.
//!
//! Exits 0 on success, 1 on any failure (error printed to stderr).
use anyhow::{anyhow, bail, Context, Result};
use sigstore_sign::oidc::IdentityToken;
use sigstore_sign::trust_root::SigningConfig;
use sigstore_sign::{SigningContext, SigningServices};
use sigstore_verify::trust_root::TrustedRoot;
use sigstore_verify::types::Bundle;
use sigstore_verify::VerificationPolicy;
use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

const USAGE: &str = "usage:
  sigstore-rust-driver sign (--fulcio-url URL --rekor-url URL | --signing-config FILE) --token-file FILE --bundle OUT ARTIFACT
  sigstore-rust-driver verify --trusted-root FILE --bundle FILE --identity ID --issuer URL ARTIFACT
  sigstore-rust-driver tuf-sigstore --url TUF_URL --root ROOT_JSON --cache DIR --out DIR [--target NAME]...
  sigstore-rust-driver tuf-tough --url TUF_URL --root ROOT_JSON --cache DIR --out DIR [--target NAME]...";

/// Splits `--flag value` pairs from the single positional argument.
fn parse(args: &[String], allowed: &[&str]) -> Result<(HashMap<String, String>, String)> {
    let mut flags = HashMap::new();
    let mut positional = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if let Some(name) = a.strip_prefix("--") {
            if !allowed.contains(&name) {
                bail!("unknown flag --{name}\n{USAGE}");
            }
            let v = it.next().ok_or_else(|| anyhow!("--{name} needs a value"))?;
            flags.insert(name.to_string(), v.clone());
        } else {
            positional.push(a.clone());
        }
    }
    if positional.len() != 1 {
        bail!("expected exactly one ARTIFACT\n{USAGE}");
    }
    Ok((flags, positional.remove(0)))
}

fn need<'a>(flags: &'a HashMap<String, String>, name: &str) -> Result<&'a str> {
    flags.get(name).map(String::as_str).ok_or_else(|| anyhow!("missing --{name}\n{USAGE}"))
}

async fn sign(args: &[String]) -> Result<()> {
    let (flags, artifact) = parse(args, &["fulcio-url", "rekor-url", "signing-config", "token-file", "bundle"])?;
    let services = match flags.get("signing-config") {
        Some(path) => {
            let sc = SigningConfig::from_file(path).with_context(|| format!("reading signing config {path}"))?;
            SigningServices::from_signing_config(&sc).context("selecting services from signing config")?
        }
        None => SigningServices::new(need(&flags, "fulcio-url")?, need(&flags, "rekor-url")?),
    };
    let jwt = std::fs::read_to_string(need(&flags, "token-file")?).context("reading token file")?;
    let token = IdentityToken::from_jwt(jwt.trim()).context("parsing identity token")?;
    let bytes = std::fs::read(&artifact).with_context(|| format!("reading {artifact}"))?;
    let bundle = SigningContext::new(services)
        .signer(token)
        .sign(&bytes)
        .await
        .context("signing")?;
    let out = need(&flags, "bundle")?;
    std::fs::write(out, bundle.to_json_pretty().context("serializing bundle")?)
        .with_context(|| format!("writing {out}"))?;
    eprintln!("signed {artifact} -> {out}");
    Ok(())
}

fn verify(args: &[String]) -> Result<()> {
    let (flags, artifact) = parse(args, &["trusted-root", "bundle", "identity", "issuer"])?;
    let root = TrustedRoot::from_file(need(&flags, "trusted-root")?).context("reading trusted root")?;
    let bundle_json = std::fs::read_to_string(need(&flags, "bundle")?).context("reading bundle")?;
    let bundle = Bundle::from_json(&bundle_json).context("parsing bundle")?;
    let policy = VerificationPolicy::any_identity()
        .require_identity(need(&flags, "identity")?)
        .require_issuer(need(&flags, "issuer")?);
    let bytes = std::fs::read(&artifact).with_context(|| format!("reading {artifact}"))?;
    let result = sigstore_verify::verify(&bytes, &bundle, &policy, &root).context("verification failed")?;
    if !(result.certificate_verified() && result.sct_verified() && result.tlog_verified()) {
        bail!(
            "incomplete verification: certificate={} sct={} tlog={}",
            result.certificate_verified(),
            result.sct_verified(),
            result.tlog_verified()
        );
    }
    eprintln!(
        "OK: identity={:?} issuer={:?} certificate={} sct={} tlog={}",
        result.identity(),
        result.issuer(),
        result.certificate_verified(),
        result.sct_verified(),
        result.tlog_verified()
    );
    Ok(())
}

/// Targets fetched when no --target is given.
const DEFAULT_TARGETS: &[&str] = &["trusted_root.json", "signing_config.v0.2.json"];

/// Arguments shared by the TUF subcommands.
struct TufArgs {
    url: String,
    root: Vec<u8>,
    cache: PathBuf,
    out: PathBuf,
    targets: Vec<String>,
}

fn parse_tuf(args: &[String]) -> Result<TufArgs> {
    let mut flags = HashMap::new();
    let mut targets = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let name = a.strip_prefix("--").ok_or_else(|| anyhow!("unexpected argument {a:?}\n{USAGE}"))?;
        if !["url", "root", "cache", "out", "target"].contains(&name) {
            bail!("unknown flag --{name}\n{USAGE}");
        }
        let v = it.next().ok_or_else(|| anyhow!("--{name} needs a value"))?;
        if name == "target" {
            targets.push(v.clone());
        } else {
            flags.insert(name.to_string(), v.clone());
        }
    }
    if targets.is_empty() {
        targets = DEFAULT_TARGETS.iter().map(|t| t.to_string()).collect();
    }
    // OUT/NAME must stay inside OUT.
    for t in &targets {
        if t.is_empty() || !Path::new(t).components().all(|c| matches!(c, Component::Normal(_))) {
            bail!("unsafe target name {t:?}");
        }
    }
    let root_path = need(&flags, "root")?;
    Ok(TufArgs {
        url: need(&flags, "url")?.to_string(),
        root: std::fs::read(root_path).with_context(|| format!("reading root {root_path}"))?,
        cache: PathBuf::from(need(&flags, "cache")?),
        out: PathBuf::from(need(&flags, "out")?),
        targets,
    })
}

/// Writes the verified targets; called only once every target has been verified,
/// so a failed run leaves no new output.
fn write_targets(out: &Path, fetched: &[(String, Vec<u8>)]) -> Result<()> {
    for (name, bytes) in fetched {
        let path = out.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// sigstore-tuf 0.15: Updater + HttpRepository (metadata from URL/, targets from
/// URL/targets/). The FileStore cache receives every verified file (raw bytes:
/// root_history/N.root.json, root.json, timestamp.json, snapshot.json,
/// N.snapshot.json, targets.json, targets/NAME). On the next run, `with_store`
/// adopts cached newer roots only if they chain from --root, and `refresh` uses the
/// cached timestamp/snapshot/targets as version floors (rollback protection; each is
/// re-verified under the current root and skipped if it does not verify). A
/// cached target whose bytes still match the signed length and hash is returned
/// without a download.
async fn tuf_sigstore(args: &[String]) -> Result<()> {
    use sigstore_tuf::{FileStore, HttpRepository, Updater};
    let a = parse_tuf(args)?;
    let repo = HttpRepository::new(&a.url).context("TUF repository URL")?;
    let mut updater =
        Updater::new(repo, &a.root).context("loading the bootstrap root")?.with_store(FileStore::new(&a.cache));
    let now = jiff::Timestamp::now();
    updater.refresh(now).await.context("TUF refresh")?;
    let mut fetched = Vec::new();
    for name in &a.targets {
        let bytes = updater.get_target(name, now).await.with_context(|| format!("target {name}"))?;
        fetched.push((name.clone(), bytes));
    }
    write_targets(&a.out, &fetched)?;
    println!("ok root={} targets={}", updater.trusted().root().version, fetched.len());
    Ok(())
}

/// tough 0.24 (awslabs): RepositoryLoader with the cache dir as its datastore.
/// tough stores the verified root.json, timestamp.json, snapshot.json and
/// targets.json there (re-serialized, not the served bytes) plus
/// latest_known_time.json (it refuses to run if the clock went backwards). The next
/// run checks the new timestamp and snapshot (and the role versions the snapshot
/// lists) against the cached ones, skipping a cached file that does not verify
/// under the current root. It never reads root.json back, however: it always
/// starts from the root it is given. So that a rotated root stays the trust anchor
/// across runs (as with the other clients), this driver passes the cached
/// root.json, which tough wrote only after verifying it, instead of --root when
/// the cache has one. Targets are not cached: each run downloads them again.
/// TLS: only rustls' aws-lc-rs provider is compiled in here, and tough installs
/// it as the process default itself, so nothing needs installing for https.
async fn tuf_tough(args: &[String]) -> Result<()> {
    use tough::{IntoVec, RepositoryLoader, TargetName};
    let a = parse_tuf(args)?;
    // tough requires the datastore directory to exist.
    std::fs::create_dir_all(&a.cache).with_context(|| format!("creating {}", a.cache.display()))?;
    let cached_root = a.cache.join("root.json");
    let root = match std::fs::read(&cached_root) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => a.root.clone(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", cached_root.display())),
    };
    let base = url::Url::parse(&format!("{}/", a.url.trim_end_matches('/'))).context("TUF repository URL")?;
    let targets_url = base.join("targets/").context("targets URL")?;
    let repo =
        RepositoryLoader::new(&root, base, targets_url).datastore(&a.cache).load().await.context("TUF refresh")?;
    let mut fetched = Vec::new();
    for name in &a.targets {
        let target = TargetName::new(name.as_str()).with_context(|| format!("target name {name:?}"))?;
        // read_target checks metadata expiry again; the stream fails on a length or
        // sha256 mismatch, so into_vec only returns verified bytes.
        let stream = repo
            .read_target(&target)
            .await
            .with_context(|| format!("target {name}"))?
            .ok_or_else(|| anyhow!("target {name} is not listed in the targets metadata"))?;
        let bytes = stream.into_vec().await.with_context(|| format!("target {name}"))?;
        fetched.push((name.clone(), bytes));
    }
    write_targets(&a.out, &fetched)?;
    println!("ok root={} targets={}", repo.root().signed.version, fetched.len());
    Ok(())
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let res = match args.first().map(String::as_str) {
        Some("sign") => sign(&args[1..]).await,
        Some("verify") => verify(&args[1..]),
        Some("tuf-sigstore") => tuf_sigstore(&args[1..]).await,
        Some("tuf-tough") => tuf_tough(&args[1..]).await,
        _ => Err(anyhow!("{USAGE}")),
    };
    if let Err(e) = res {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
