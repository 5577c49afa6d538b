//! `sigstead dev token`: an ID token from the development issuer of `sigstead up` (INSECURE).

use std::path::Path;

pub fn token(data: &Path, email: &str, out: Option<&Path>) -> anyhow::Result<()> {
    let token = sigstead_dev_oidc::DevIssuer::open(&data.join("oidc"))?.mint(email)?;
    match out {
        Some(path) => {
            let _ = std::fs::remove_file(path);
            sigstead_keys::write_private(path, token.as_bytes())?;
        }
        None => println!("{token}"),
    }
    Ok(())
}
