//! PKCS#11 keys behind the workspace [`Signer`] trait: a CA or log key that
//! never leaves the HSM. Tested against SoftHSM2. Configured through
//! [`crate::KeySource::Pkcs11`].
//!
//! ECDSA P-256 and P-384 keys are supported (the curve is read from the
//! key's `CKA_EC_PARAMS`); the module signs a SHA-256 (P-256) or SHA-384
//! (P-384) digest computed here (`CKM_ECDSA`), and the fixed-size `r || s` it
//! returns is re-encoded as ASN.1 DER, the form every other Sigstead signer
//! produces.

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use der::{Decode, Encode};
use sigstead_crypto::{CryptoError, EcCurve, Signer};
use std::fmt;
use std::path::Path;
use std::sync::Mutex;

#[derive(Debug, thiserror::Error)]
pub enum HsmError {
    #[error("PKCS#11: {0}")]
    Pkcs11(#[from] cryptoki::error::Error),
    #[error("no token labelled {0:?}")]
    NoToken(String),
    #[error("no ECDSA key pair labelled {0:?} on the token")]
    NoKey(String),
    #[error("the key's public point is not an uncompressed point on its curve")]
    BadPoint,
    #[error("the key's curve is neither P-256 nor P-384")]
    UnsupportedCurve,
}

/// An ECDSA P-256 or P-384 private key on a PKCS#11 token.
pub struct Pkcs11Signer {
    /// One session per core: a PKCS#11 session signs one thing at a time, so a
    /// single one would serialise every signer of the process.
    sessions: Vec<Mutex<Session>>,
    next: std::sync::atomic::AtomicUsize,
    key: ObjectHandle,
    curve: EcCurve,
    spki_der: Vec<u8>,
    // Keeps the module loaded and initialized for the session's lifetime.
    _ctx: Pkcs11,
}

impl fmt::Debug for Pkcs11Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pkcs11Signer(ECDSA {})", self.curve.name())
    }
}

/// Loads the module and finds the slot holding the token `token_label`.
fn open_token(module: &Path, token_label: &str) -> Result<(Pkcs11, cryptoki::slot::Slot), HsmError> {
    let ctx = Pkcs11::new(module)?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        // Another key of this process already initialized the module: that is fine.
        Ok(()) | Err(cryptoki::error::Error::Pkcs11(cryptoki::error::RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => return Err(e.into()),
    }
    for slot in ctx.get_slots_with_token()? {
        if ctx.get_token_info(slot)?.label().trim_end() == token_label {
            return Ok((ctx, slot));
        }
    }
    Err(HsmError::NoToken(token_label.to_string()))
}

/// Logs the user in. PKCS#11 login state is per application: if another
/// session of this process is already logged in, so is this one.
fn login(session: &Session, pin: &str) -> Result<(), HsmError> {
    match session.login(UserType::User, Some(&AuthPin::from(pin.to_string()))) {
        Ok(()) | Err(cryptoki::error::Error::Pkcs11(cryptoki::error::RvError::UserAlreadyLoggedIn, _)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

fn spki_from_ec_point(curve: EcCurve, point_attr: &[u8]) -> Result<Vec<u8>, HsmError> {
    // CKA_EC_POINT is a DER OCTET STRING holding the point (some modules return the raw point).
    let point = match der::asn1::OctetString::from_der(point_attr) {
        Ok(os) if os.as_bytes().len() == curve.point_len() => os.as_bytes().to_vec(),
        _ if point_attr.len() == curve.point_len() => point_attr.to_vec(),
        _ => return Err(HsmError::BadPoint),
    };
    curve.spki_der(&point).map_err(|_| HsmError::BadPoint)
}

impl Pkcs11Signer {
    /// Opens the key pair labelled `key_label` on the token `token_label`.
    pub fn open(module: &Path, token_label: &str, pin: &str, key_label: &str) -> Result<Self, HsmError> {
        let (ctx, slot) = open_token(module, token_label)?;
        let session = ctx.open_ro_session(slot)?;
        login(&session, pin)?;
        let find =
            |class| session.find_objects(&[Attribute::Class(class), Attribute::Label(key_label.as_bytes().to_vec())]);
        let private =
            find(ObjectClass::PRIVATE_KEY)?.into_iter().next().ok_or_else(|| HsmError::NoKey(key_label.into()))?;
        let public =
            find(ObjectClass::PUBLIC_KEY)?.into_iter().next().ok_or_else(|| HsmError::NoKey(key_label.into()))?;
        let (mut point, mut params) = (None, None);
        for a in session.get_attributes(public, &[AttributeType::EcPoint, AttributeType::EcParams])? {
            match a {
                Attribute::EcPoint(p) => point = Some(p),
                Attribute::EcParams(p) => params = Some(p),
                _ => {}
            }
        }
        let curve = params.as_deref().and_then(EcCurve::from_params_der).ok_or(HsmError::UnsupportedCurve)?;
        let spki_der = spki_from_ec_point(curve, &point.ok_or(HsmError::BadPoint)?)?;
        // Object handles are valid in every session of the application (PKCS#11
        // §5.2.2), and the login above covers them all.
        let extra = std::thread::available_parallelism().map_or(1, std::num::NonZero::get).saturating_sub(1);
        let mut sessions = vec![Mutex::new(session)];
        for _ in 0..extra {
            sessions.push(Mutex::new(ctx.open_ro_session(slot)?));
        }
        Ok(Self { sessions, next: std::sync::atomic::AtomicUsize::new(0), key: private, curve, spki_der, _ctx: ctx })
    }

    /// Generates a non-extractable ECDSA key pair on `curve` labelled `key_label` on the token.
    pub fn generate(
        module: &Path,
        token_label: &str,
        pin: &str,
        key_label: &str,
        curve: EcCurve,
    ) -> Result<(), HsmError> {
        let params = curve.oid().to_der().map_err(|_| HsmError::UnsupportedCurve)?;
        let (ctx, slot) = open_token(module, token_label)?;
        let session = ctx.open_rw_session(slot)?;
        login(&session, pin)?;
        let label = Attribute::Label(key_label.as_bytes().to_vec());
        let public = [
            Attribute::Token(true),
            Attribute::KeyType(KeyType::EC),
            Attribute::EcParams(params),
            Attribute::Verify(true),
            label.clone(),
        ];
        let private = [
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
            label,
        ];
        session.generate_key_pair(&Mechanism::EccKeyPairGen, &public, &private)?;
        Ok(())
    }
}

impl Pkcs11Signer {
    /// Whether the token lets the private key leave it (`CKA_EXTRACTABLE`
    /// true, or `CKA_SENSITIVE` false): an HSM-held key should be neither.
    pub fn extractable(&self) -> Result<bool, HsmError> {
        let session = self.sessions[0].lock().map_err(|_| HsmError::NoKey("session lock poisoned".into()))?;
        let mut out = false;
        for a in session.get_attributes(self.key, &[AttributeType::Extractable, AttributeType::Sensitive])? {
            match a {
                Attribute::Extractable(e) => out |= e,
                Attribute::Sensitive(s) => out |= !s,
                _ => {}
            }
        }
        Ok(out)
    }
}

impl Signer for Pkcs11Signer {
    fn public_key_der(&self) -> &[u8] {
        &self.spki_der
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let digest = sigstead_crypto::digest(self.curve.hash(), message);
        // A free session if there is one, else wait for the next in turn.
        let free = self.sessions.iter().find_map(|s| s.try_lock().ok());
        let session = match free {
            Some(s) => s,
            None => {
                let i = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % self.sessions.len();
                self.sessions[i].lock().map_err(|_| CryptoError::Signing("HSM session lock poisoned".into()))?
            }
        };
        let fixed = session
            .sign(&Mechanism::Ecdsa, self.key, &digest)
            .map_err(|e| CryptoError::Signing(format!("PKCS#11 sign: {e}")))?;
        sigstead_crypto::ecdsa_fixed_to_der(&fixed)
    }
}

/// Test support: SoftHSM2's module path and a fresh token.
pub mod softhsm {
    use super::*;
    use std::path::PathBuf;

    /// The SoftHSM2 module: `SIGSTEAD_PKCS11_MODULE`, or Debian's paths.
    pub fn module() -> Option<PathBuf> {
        if let Ok(p) = std::env::var("SIGSTEAD_PKCS11_MODULE") {
            return Some(PathBuf::from(p));
        }
        ["/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"]
            .iter()
            .map(PathBuf::from)
            .find(|p| p.exists())
    }

    /// Creates a token labelled `label` with user PIN `pin` whose store lives
    /// in `dir`, and points this process at it (`SOFTHSM2_CONF`).
    pub fn init_token(module: &Path, dir: &Path, label: &str, pin: &str) -> Result<(), HsmError> {
        std::fs::create_dir_all(dir.join("tokens")).map_err(|_| HsmError::NoToken(label.into()))?;
        let conf = dir.join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                dir.join("tokens").display()
            ),
        )
        .map_err(|_| HsmError::NoToken(label.into()))?;
        std::env::set_var("SOFTHSM2_CONF", &conf);
        let ctx = Pkcs11::new(module)?;
        ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))?;
        let slot = *ctx.get_all_slots()?.first().ok_or_else(|| HsmError::NoToken(label.into()))?;
        let so = AuthPin::from("so-secret".to_string());
        ctx.init_token(slot, &so, label)?;
        let session = ctx.open_rw_session(slot)?;
        session.login(UserType::So, Some(&so))?;
        session.init_pin(&AuthPin::from(pin.to_string()))?;
        session.logout()?;
        drop(session);
        ctx.finalize()?;
        Ok(())
    }
}
