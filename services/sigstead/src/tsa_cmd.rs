//! `sigstead tsa …`: create a timestamp authority.

use clap::Subcommand;
use sigstead_crypto::EcCurve;
use sigstead_keys::{KeySource, Pkcs11Key, Pkcs11Signer, SecretSource};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Curve {
    P256,
    P384,
}

#[derive(Debug, Subcommand)]
pub enum TsaCommand {
    /// Create a TSA: its key (an encrypted file, or an existing key on a
    /// PKCS#11 token), a chain (root, optional intermediate, leaf with a
    /// critical EKU id-kp-timeStamping) in tsa-chain.pem, and tsa.toml.
    Init {
        #[arg(long)]
        data_dir: PathBuf,
        #[arg(long, default_value = "127.0.0.1:3005")]
        listen: String,
        #[arg(long, default_value = "sigstead")]
        organization: String,
        /// Curve of the generated keys.
        #[arg(long, value_enum, default_value = "p256")]
        curve: Curve,
        /// Put an intermediate between the root and the leaf.
        #[arg(long)]
        intermediate: bool,
        /// Use the key pair on this PKCS#11 module's token instead of a key file
        /// (with --token-label, --key-label and --pin-file or --pin-env).
        #[arg(long, requires_all = ["token_label", "key_label"])]
        pkcs11_module: Option<PathBuf>,
        #[arg(long)]
        token_label: Option<String>,
        #[arg(long)]
        key_label: Option<String>,
        /// File holding the token's user PIN.
        #[arg(long, conflicts_with = "pin_env")]
        pin_file: Option<PathBuf>,
        /// Environment variable holding the token's user PIN.
        #[arg(long)]
        pin_env: Option<String>,
        /// Generate the key pair on the token first (non-extractable, sensitive,
        /// on --curve); refused if the token already holds a key with that label.
        #[arg(long, requires = "pkcs11_module")]
        generate_on_token: bool,
    },
}

pub fn run(command: TsaCommand) -> anyhow::Result<()> {
    match command {
        TsaCommand::Init {
            data_dir,
            listen,
            organization,
            curve,
            intermediate,
            pkcs11_module,
            token_label,
            key_label,
            pin_file,
            pin_env,
            generate_on_token,
        } => {
            let curve = match curve {
                Curve::P256 => EcCurve::P256,
                Curve::P384 => EcCurve::P384,
            };
            let key = match pkcs11_module {
                None => None,
                Some(module) => {
                    let pin = match (pin_file, pin_env) {
                        (Some(f), _) => SecretSource::File(f),
                        (None, Some(e)) => SecretSource::Env(e),
                        (None, None) => anyhow::bail!("--pin-file or --pin-env is required with --pkcs11-module"),
                    };
                    Some(KeySource::Pkcs11(Pkcs11Key {
                        module,
                        token_label: token_label.unwrap_or_default(),
                        key_label: key_label.unwrap_or_default(),
                        pin,
                    }))
                }
            };
            if let (true, Some(KeySource::Pkcs11(k))) = (generate_on_token, &key) {
                let pin = String::from_utf8(k.pin.read()?).map_err(|_| anyhow::anyhow!("the PIN is not UTF-8"))?;
                if Pkcs11Signer::open(&k.module, &k.token_label, &pin, &k.key_label).is_ok() {
                    anyhow::bail!("token {:?} already holds a key labelled {:?}", k.token_label, k.key_label);
                }
                Pkcs11Signer::generate(&k.module, &k.token_label, &pin, &k.key_label, curve)?;
                eprintln!(
                    "generated a non-extractable {} key {:?} on token {:?}",
                    curve.name(),
                    k.key_label,
                    k.token_label
                );
            }
            let opts = sigstead_tsa::init::TsaInit { organization, curve, intermediate, key };
            let path = sigstead_tsa::init::init(&data_dir, &listen, &opts)?;
            sigstead_tsa::open(&sigstead_tsa::TsaConfig::load(&path)?)?;
            eprintln!(
                "created timestamp authority config {} (chain {})",
                path.display(),
                data_dir.join("tsa-chain.pem").display()
            );
            Ok(())
        }
    }
}
