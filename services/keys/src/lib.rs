//! Where a signing key lives, and opening it: one configuration shape for
//! every key of the stack (the Rekor log key, the CT log key, the CA's
//! issuing key, the TUF online roles, and the timestamp authority's key).
//!
//! In every service's TOML a key is a table with exactly one of two forms:
//!
//! ```toml
//! # An encrypted PKCS#8 PEM file; its password from a file or an environment
//! # variable, never from the configuration itself.
//! [signing_key.file]
//! path = "rekor-key.pem"
//! password_file = "rekor-key.password"   # or: password_env = "REKOR_KEY_PASSWORD"
//!
//! # A key pair on a PKCS#11 token (HSM); the user PIN from a file or an
//! # environment variable.
//! [signing_key.pkcs11]
//! module = "/usr/lib/softhsm/libsofthsm2.so"
//! token_label = "sigstead"
//! key_label = "rekor"
//! pin_env = "REKOR_PIN"                   # or: pin_file = "/run/secrets/pin"
//! ```
//!
//! The table parses into [`KeySource`]; a wrong combination (both forms,
//! neither, both password sources, a PIN written into the file) is a parse
//! error, not a check run later. [`KeySource::open`] is the one place a key
//! becomes an `Arc<dyn Signer>`. Configurations written before this shape
//! existed are refused (`sigstead_server::refuse_renamed_fields`) with a
//! message naming the new field.
//!
//! Why a crate of our own: no maintained crate maps "file or PKCS#11 token"
//! configuration onto a signing trait; the PKCS#11 calls themselves go
//! through `cryptoki` (see [`pkcs11`]).

pub mod pkcs11;

pub use pkcs11::{softhsm, HsmError, Pkcs11Signer};

use serde::{Deserialize, Serialize};
use sigstead_crypto::{EcCurve, PublicKey, Signer};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Errors opening a key.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("reading {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("writing {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("environment variable {0} is not set")]
    MissingEnv(String),
    #[error("the PIN of {0} is not UTF-8")]
    PinNotUtf8(String),
    #[error("{path}: {source}")]
    BadKeyFile { path: PathBuf, source: sigstead_crypto::CryptoError },
    #[error(transparent)]
    Hsm(#[from] HsmError),
    #[error("{what} must be an ECDSA {expected} key, but {location} holds {found}")]
    WrongKeyType { what: String, expected: &'static str, location: String, found: &'static str },
}

/// Where a secret (a key password or a token PIN) comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// A file holding the secret; a trailing newline is not part of it.
    File(PathBuf),
    /// An environment variable holding the secret.
    Env(String),
}

impl SecretSource {
    /// Reads the secret.
    pub fn read(&self) -> Result<Vec<u8>, KeyError> {
        match self {
            Self::File(path) => read_secret_file(path),
            Self::Env(var) => std::env::var(var).map(String::into_bytes).map_err(|_| KeyError::MissingEnv(var.clone())),
        }
    }

    fn from_pair(file: Option<PathBuf>, env: Option<String>, what: &str) -> Result<Self, String> {
        match (file, env) {
            (Some(f), None) => Ok(Self::File(f)),
            (None, Some(e)) => Ok(Self::Env(e)),
            (Some(_), Some(_)) => Err(format!("set {what}_file or {what}_env, not both")),
            (None, None) => Err(format!("{what}_file or {what}_env is required")),
        }
    }

    fn to_pair(&self) -> (Option<PathBuf>, Option<String>) {
        match self {
            Self::File(f) => (Some(f.clone()), None),
            Self::Env(e) => (None, Some(e.clone())),
        }
    }

    fn resolve(&mut self, base: &Path) {
        if let Self::File(p) = self {
            resolve_path(p, base);
        }
    }
}

/// Reads a password or PIN file; a trailing newline is not part of the secret.
pub fn read_secret_file(path: &Path) -> Result<Vec<u8>, KeyError> {
    let s = std::fs::read_to_string(path).map_err(|source| KeyError::Read { path: path.to_path_buf(), source })?;
    Ok(s.trim_end_matches(['\n', '\r']).as_bytes().to_vec())
}

fn resolve_path(p: &mut PathBuf, base: &Path) {
    if p.is_relative() {
        *p = base.join(&*p);
    }
}

/// An encrypted PKCS#8 PEM key file (`ENCRYPTED PRIVATE KEY`, ECDSA P-256 or Ed25519).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "RawKeyFile", into = "RawKeyFile")]
pub struct KeyFile {
    /// The PEM file.
    pub path: PathBuf,
    /// Its password.
    pub password: SecretSource,
}

/// The TOML form of [`KeyFile`].
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawKeyFile {
    /// `ENCRYPTED PRIVATE KEY` PEM file.
    path: PathBuf,
    /// File holding the key password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    password_file: Option<PathBuf>,
    /// Environment variable holding the key password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    password_env: Option<String>,
}

impl TryFrom<RawKeyFile> for KeyFile {
    type Error = String;
    fn try_from(r: RawKeyFile) -> Result<Self, String> {
        Ok(Self { path: r.path, password: SecretSource::from_pair(r.password_file, r.password_env, "password")? })
    }
}

impl From<KeyFile> for RawKeyFile {
    fn from(k: KeyFile) -> Self {
        let (password_file, password_env) = k.password.to_pair();
        Self { path: k.path, password_file, password_env }
    }
}

/// A key pair on a PKCS#11 token (ECDSA P-256).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "RawPkcs11Key", into = "RawPkcs11Key")]
pub struct Pkcs11Key {
    /// Path of the PKCS#11 module, e.g. `/usr/lib/softhsm/libsofthsm2.so`.
    pub module: PathBuf,
    /// Label of the token holding the key.
    pub token_label: String,
    /// Label (CKA_LABEL) of the key pair.
    pub key_label: String,
    /// The user PIN.
    pub pin: SecretSource,
}

/// The TOML form of [`Pkcs11Key`].
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawPkcs11Key {
    module: PathBuf,
    token_label: String,
    key_label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pin_file: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pin_env: Option<String>,
}

impl TryFrom<RawPkcs11Key> for Pkcs11Key {
    type Error = String;
    fn try_from(r: RawPkcs11Key) -> Result<Self, String> {
        Ok(Self {
            module: r.module,
            token_label: r.token_label,
            key_label: r.key_label,
            pin: SecretSource::from_pair(r.pin_file, r.pin_env, "pin")?,
        })
    }
}

impl From<Pkcs11Key> for RawPkcs11Key {
    fn from(k: Pkcs11Key) -> Self {
        let (pin_file, pin_env) = k.pin.to_pair();
        Self { module: k.module, token_label: k.token_label, key_label: k.key_label, pin_file, pin_env }
    }
}

impl Pkcs11Key {
    /// Logs in and finds the key.
    pub fn open(&self) -> Result<Pkcs11Signer, KeyError> {
        let pin = self.pin.read()?;
        let pin = String::from_utf8(pin).map_err(|_| KeyError::PinNotUtf8(self.token_label.clone()))?;
        Ok(Pkcs11Signer::open(&self.module, &self.token_label, &pin, &self.key_label)?)
    }
}

/// Where one signing key lives: the one shape every service's configuration uses.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "lowercase")]
pub enum KeySource {
    /// `[<key>.file]`: an encrypted PKCS#8 PEM file.
    File(KeyFile),
    /// `[<key>.pkcs11]`: a key pair on a PKCS#11 token.
    Pkcs11(Pkcs11Key),
}

impl KeySource {
    /// A key file with its password in a file (what the `init` commands write).
    pub fn file(path: impl Into<PathBuf>, password_file: impl Into<PathBuf>) -> Self {
        Self::File(KeyFile { path: path.into(), password: SecretSource::File(password_file.into()) })
    }

    /// Makes relative paths relative to `base` (the configuration file's directory).
    pub fn resolve(&mut self, base: &Path) {
        match self {
            Self::File(k) => {
                resolve_path(&mut k.path, base);
                k.password.resolve(base);
            }
            Self::Pkcs11(k) => {
                resolve_path(&mut k.module, base);
                k.pin.resolve(base);
            }
        }
    }

    /// This source as the TOML table `[<name>.file]` / `[<name>.pkcs11]`,
    /// for configuration files the `init` commands write.
    pub fn to_toml(&self, name: &str) -> String {
        let outer = std::collections::BTreeMap::from([(name, self)]);
        toml::to_string(&outer).expect("a key source serialises")
    }

    /// Where the key is, for messages (never a secret).
    pub fn describe(&self) -> String {
        match self {
            Self::File(k) => k.path.display().to_string(),
            Self::Pkcs11(k) => format!("PKCS#11 token {:?}, key {:?}", k.token_label, k.key_label),
        }
    }

    /// Opens the key: any type the file holds (ECDSA P-256 or Ed25519), or the token's P-256 key.
    pub fn open(&self) -> Result<Arc<dyn Signer>, KeyError> {
        match self {
            Self::File(k) => {
                let password = k.password.read()?;
                let pem = std::fs::read_to_string(&k.path)
                    .map_err(|source| KeyError::Read { path: k.path.clone(), source })?;
                let signer = sigstead_crypto::signer_from_encrypted_pkcs8_pem(&pem, &password)
                    .map_err(|source| KeyError::BadKeyFile { path: k.path.clone(), source })?;
                Ok(Arc::from(signer))
            }
            Self::Pkcs11(k) => Ok(Arc::new(k.open()?)),
        }
    }

    /// Opens the key and checks it is ECDSA P-256 (log, CT and CA keys).
    /// `what` names the key in the error, e.g. `"signing_key"`.
    pub fn open_ecdsa_p256(&self, what: &str) -> Result<Arc<dyn Signer>, KeyError> {
        self.open_ecdsa(what, &[EcCurve::P256], "P-256").map(|(signer, _)| signer)
    }

    /// Opens the key and checks it is ECDSA on one of `curves` (the TSA key
    /// may be P-256 or P-384); returns it with its curve. `expected` names
    /// the allowed curves in the error.
    pub fn open_ecdsa(
        &self,
        what: &str,
        curves: &[EcCurve],
        expected: &'static str,
    ) -> Result<(Arc<dyn Signer>, EcCurve), KeyError> {
        let signer = self.open()?;
        let wrong = |found| KeyError::WrongKeyType { what: what.into(), expected, location: self.describe(), found };
        match PublicKey::from_spki_der(signer.public_key_der()) {
            Ok(key) => match key.ec_curve() {
                Some(curve) if curves.contains(&curve) => Ok((signer, curve)),
                _ => Err(wrong(key.algorithm())),
            },
            Err(_) => Err(wrong("an unknown key")),
        }
    }
}

/// Writes `data` to a new file readable only by its owner (0600); refuses to
/// overwrite. Used for key files, passwords and tokens.
pub fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    opts.mode(0o600);
    let mut f =
        opts.open(path).map_err(|e| std::io::Error::new(e.kind(), format!("creating {}: {e}", path.display())))?;
    f.write_all(data)
}

/// A random password for a generated key file (24 random bytes, base64).
pub fn random_password() -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(sigstead_crypto::random_bytes::<24>())
}

/// Creates `NAME.pem` (a new ECDSA P-256 key, encrypted) and `NAME.password`
/// (its random password, 0600) in `dir` unless the key file exists, and
/// returns the [`KeySource`] naming them by their file names (relative to
/// `dir`, as a configuration file in `dir` writes them) with the key opened.
pub fn generate_p256_key_file(dir: &Path, name: &str) -> Result<(KeySource, Arc<dyn Signer>), KeyError> {
    generate_key_file(dir, name, EcCurve::P256)
}

/// [`generate_p256_key_file`] for a key on `curve`; an existing key file must hold a key on `curve`.
pub fn generate_key_file(dir: &Path, name: &str, curve: EcCurve) -> Result<(KeySource, Arc<dyn Signer>), KeyError> {
    let pem = format!("{name}.pem");
    let pw = format!("{name}.password");
    let (pem_path, pw_path) = (dir.join(&pem), dir.join(&pw));
    if !pem_path.exists() {
        let password = random_password();
        let key = sigstead_crypto::EcdsaSigner::generate(curve);
        let encrypted = key
            .to_encrypted_pkcs8_pem(password.as_bytes())
            .map_err(|source| KeyError::BadKeyFile { path: pem_path.clone(), source })?;
        write_private(&pw_path, password.as_bytes())
            .map_err(|source| KeyError::Write { path: pw_path.clone(), source })?;
        write_private(&pem_path, encrypted.as_bytes())
            .map_err(|source| KeyError::Write { path: pem_path.clone(), source })?;
    }
    let source = KeySource::file(pem, pw);
    let mut opened = source.clone();
    opened.resolve(dir);
    let (signer, _) = opened.open_ecdsa(name, &[curve], curve.name())?;
    Ok((source, signer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, Serialize)]
    #[serde(deny_unknown_fields)]
    struct Cfg {
        signing_key: KeySource,
    }

    fn parse(s: &str) -> Result<KeySource, String> {
        toml::from_str::<Cfg>(s).map(|c| c.signing_key).map_err(|e| e.to_string())
    }

    #[test]
    fn file_and_pkcs11_forms_parse_and_resolve() {
        let mut k = parse("[signing_key.file]\npath = \"k.pem\"\npassword_env = \"PW\"\n").unwrap();
        k.resolve(Path::new("/etc/sigstead"));
        assert_eq!(
            k,
            KeySource::File(KeyFile { path: "/etc/sigstead/k.pem".into(), password: SecretSource::Env("PW".into()) })
        );
        let mut k = parse(
            "[signing_key.pkcs11]\nmodule = \"/m.so\"\ntoken_label = \"t\"\nkey_label = \"rekor\"\npin_file = \"pin\"\n",
        )
        .unwrap();
        k.resolve(Path::new("/etc/sigstead"));
        let KeySource::Pkcs11(p) = k else { panic!("pkcs11") };
        assert_eq!(p.pin, SecretSource::File("/etc/sigstead/pin".into()));
        assert_eq!(p.key_label, "rekor");
    }

    #[test]
    fn every_wrong_combination_is_a_parse_error_with_its_reason() {
        let cases = [
            ("both-password-sources", "[signing_key.file]\npath = \"k\"\npassword_file = \"a\"\npassword_env = \"B\"\n", "not both"),
            ("no-password-source", "[signing_key.file]\npath = \"k\"\n", "password_file or password_env is required"),
            (
                "pin-in-the-file",
                "[signing_key.pkcs11]\nmodule = \"/m\"\ntoken_label = \"t\"\nkey_label = \"k\"\npin = \"1234\"\n",
                "unknown field `pin`",
            ),
            ("password-in-the-file", "[signing_key.file]\npath = \"k\"\npassword = \"hunter2\"\n", "unknown field `password`"),
            (
                "file-and-pkcs11",
                "[signing_key.file]\npath = \"k\"\npassword_env = \"P\"\n[signing_key.pkcs11]\nmodule = \"/m\"\ntoken_label = \"t\"\nkey_label = \"k\"\npin_env = \"P\"\n",
                "",
            ),
            ("unknown-form", "[signing_key.kms]\nuri = \"x\"\n", "unknown variant `kms`"),
            ("neither", "[signing_key]\n", ""),
        ];
        for (name, text, reason) in cases {
            let err = parse(text).expect_err(name);
            assert!(err.contains(reason), "{name}: {err}");
        }
    }

    #[test]
    fn serialises_back_to_the_same_shape() {
        let k = KeySource::file("k.pem", "k.password");
        let text = toml::to_string(&Cfg { signing_key: k.clone() }).unwrap();
        assert!(text.contains("[signing_key.file]"), "{text}");
        assert_eq!(parse(&text).unwrap(), k);
        let text = k.to_toml("signing_key");
        assert_eq!(text, "[signing_key.file]\npath = \"k.pem\"\npassword_file = \"k.password\"\n");
        assert_eq!(parse(&text).unwrap(), k);
    }

    #[test]
    fn a_generated_key_file_opens_and_a_wrong_type_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let (mut k, generated) = generate_p256_key_file(dir.path(), "rekor-key").unwrap();
        k.resolve(dir.path());
        let signer = k.open_ecdsa_p256("signing_key").unwrap();
        assert_eq!(generated.public_key_der(), signer.public_key_der());
        assert_eq!(
            generate_p256_key_file(dir.path(), "rekor-key").unwrap().0,
            KeySource::file("rekor-key.pem", "rekor-key.password")
        );
        let mut again = KeySource::file("rekor-key.pem", "rekor-key.password");
        again.resolve(dir.path());
        assert_eq!(again.open().unwrap().public_key_der(), signer.public_key_der(), "not regenerated");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("rekor-key.password")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // An Ed25519 key where a P-256 key is required.
        let ed = sigstead_crypto::Ed25519Signer::generate();
        std::fs::write(dir.path().join("ed.pem"), ed.to_encrypted_pkcs8_pem(b"pw").unwrap()).unwrap();
        std::fs::write(dir.path().join("ed.pw"), "pw\n").unwrap();
        let mut ed_src = KeySource::file("ed.pem", "ed.pw");
        ed_src.resolve(dir.path());
        ed_src.open().unwrap();
        let err = ed_src.open_ecdsa_p256("signing_key").unwrap_err().to_string();
        assert!(err.contains("signing_key must be an ECDSA P-256 key"), "{err}");
        // A wrong password and a missing environment variable.
        std::fs::write(dir.path().join("ed.pw"), "wrong").unwrap();
        assert!(matches!(ed_src.open(), Err(KeyError::BadKeyFile { .. })));
        let env = KeySource::File(KeyFile {
            path: dir.path().join("ed.pem"),
            password: SecretSource::Env("SIGSTEAD_TEST_UNSET_PASSWORD_VAR".into()),
        });
        assert!(matches!(env.open(), Err(KeyError::MissingEnv(_))));
    }
}
