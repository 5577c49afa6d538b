//! sigstore-rust-driver: a thin CLI over the sigstore-rust crates (0.15) used by
//! tests/e2e/rust.sh to sign and verify against a Sigstead stack.
//!
//!   sign   --fulcio-url URL --rekor-url URL --token-file FILE --bundle OUT ARTIFACT
//!          (or --signing-config FILE instead of the two URLs)
//!   verify --trusted-root FILE --bundle FILE --identity ID --issuer URL ARTIFACT
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

const USAGE: &str = "usage:
  sigstore-rust-driver sign (--fulcio-url URL --rekor-url URL | --signing-config FILE) --token-file FILE --bundle OUT ARTIFACT
  sigstore-rust-driver verify --trusted-root FILE --bundle FILE --identity ID --issuer URL ARTIFACT";

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

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let res = match args.first().map(String::as_str) {
        Some("sign") => sign(&args[1..]).await,
        Some("verify") => verify(&args[1..]),
        _ => Err(anyhow!("{USAGE}")),
    };
    if let Err(e) = res {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
