//! C2SP signed notes and tlog checkpoints, as Rekor v1 signs them.
//!
//! A checkpoint body is
//!
//! ```text
//! <origin>\n<tree size>\n<base64 root hash>\n[<extension line>\n...]
//! ```
//!
//! and a signed note appends a blank line and one signature line per signer,
//! `— <name> <base64(key hint || signature)>\n`.
//!
//! Rekor v1 deviates from C2SP in the key hint: it is the first four bytes of
//! the log ID, SHA-256 of the key's DER SubjectPublicKeyInfo, rather than the
//! C2SP key ID. The `signed_note` crate computes C2SP key IDs and supports
//! Ed25519 only, so Rekor-v1 (ECDSA) notes are written here.

pub mod cosignature;

use base64::{engine::general_purpose::STANDARD, Engine};
use sigstead_crypto::{log_id, CryptoError, PublicKey, Signer};
use sigstead_merkle::Hash;

/// The signature-line prefix: U+2014 EM DASH and a space.
pub(crate) const SIG_PREFIX: &str = "\u{2014} ";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// A verifier key (vkey, cosigner key) that cannot be used.
    #[error("verifier key: {0}")]
    BadVerifierKey(String),
    #[error("note has no blank line separating text and signatures")]
    NoSeparator,
    #[error("checkpoint needs origin, tree size and root hash lines")]
    TooFewLines,
    #[error("tree size is not a decimal number")]
    BadTreeSize,
    #[error("root hash is not base64 of 32 bytes")]
    BadRootHash,
    #[error("origin must be non-empty and a single line")]
    BadOrigin,
    #[error("note has no signatures")]
    NoSignatures,
    #[error("note must end with a newline")]
    NoFinalNewline,
    #[error("malformed signature line")]
    BadSignatureLine,
    #[error("no signature from {0}")]
    NoMatchingSignature(String),
    #[error("signature does not verify")]
    BadSignature,
    #[error("signing failed: {0}")]
    Signing(#[from] CryptoError),
}

/// A log origin: the first line of every checkpoint the log signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin(String);

impl Origin {
    pub fn new(s: impl Into<String>) -> Result<Self, NoteError> {
        let s = s.into();
        if s.is_empty() || s.contains('\n') {
            return Err(NoteError::BadOrigin);
        }
        Ok(Self(s))
    }
    /// The Rekor v1 origin `"<host> - <tree id>"`.
    pub fn rekor_v1(host: &str, tree_id: std::num::NonZeroI64) -> Result<Self, NoteError> {
        Self::new(format!("{host} - {tree_id}"))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An unsigned checkpoint: the statement that the log `origin` has `size`
/// leaves with root `root_hash`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: Origin,
    pub size: u64,
    pub root_hash: Hash,
    /// Extra body lines (without their newline), kept verbatim.
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// The note text that is signed.
    pub fn body(&self) -> String {
        let mut s = format!("{}\n{}\n{}\n", self.origin.as_str(), self.size, STANDARD.encode(self.root_hash));
        for e in &self.extensions {
            s.push_str(e);
            s.push('\n');
        }
        s
    }

    /// Parses a note text (everything before the blank line, including its final newline).
    pub fn parse_body(text: &str) -> Result<Self, NoteError> {
        let body = text.strip_suffix('\n').ok_or(NoteError::NoFinalNewline)?;
        let mut lines = body.split('\n');
        let origin = Origin::new(lines.next().ok_or(NoteError::TooFewLines)?)?;
        let size_line = lines.next().ok_or(NoteError::TooFewLines)?;
        let root_line = lines.next().ok_or(NoteError::TooFewLines)?;
        if size_line.is_empty()
            || !size_line.bytes().all(|b| b.is_ascii_digit())
            || (size_line.len() > 1 && size_line.starts_with('0'))
        {
            return Err(NoteError::BadTreeSize);
        }
        let size = size_line.parse().map_err(|_| NoteError::BadTreeSize)?;
        let root_hash =
            STANDARD.decode(root_line).ok().and_then(|v| <[u8; 32]>::try_from(v).ok()).ok_or(NoteError::BadRootHash)?;
        Ok(Self { origin, size, root_hash, extensions: lines.map(str::to_string).collect() })
    }
}

/// One signature line of a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    pub name: String,
    pub key_hint: [u8; 4],
    pub signature: Vec<u8>,
}

/// A parsed signed note: its text and signature lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedNote {
    pub text: String,
    pub signatures: Vec<NoteSignature>,
}

impl SignedNote {
    pub fn parse(note: &str) -> Result<Self, NoteError> {
        let (text, sigs) = note.split_once("\n\n").ok_or(NoteError::NoSeparator)?;
        let text = format!("{text}\n");
        if sigs.is_empty() {
            return Err(NoteError::NoSignatures);
        }
        let sigs = sigs.strip_suffix('\n').ok_or(NoteError::NoFinalNewline)?;
        let mut signatures = Vec::new();
        for line in sigs.split('\n') {
            let rest = line.strip_prefix(SIG_PREFIX).ok_or(NoteError::BadSignatureLine)?;
            let (name, b64) = rest.rsplit_once(' ').ok_or(NoteError::BadSignatureLine)?;
            if name.is_empty() || name.contains(' ') {
                return Err(NoteError::BadSignatureLine);
            }
            let raw = STANDARD.decode(b64).map_err(|_| NoteError::BadSignatureLine)?;
            if raw.len() <= 4 {
                return Err(NoteError::BadSignatureLine);
            }
            let key_hint = [raw[0], raw[1], raw[2], raw[3]];
            signatures.push(NoteSignature { name: name.to_string(), key_hint, signature: raw[4..].to_vec() });
        }
        Ok(Self { text, signatures })
    }

    /// Renders the note in wire form.
    pub fn render(&self) -> String {
        let mut s = self.text.clone();
        s.push('\n');
        for sig in &self.signatures {
            let mut raw = sig.key_hint.to_vec();
            raw.extend_from_slice(&sig.signature);
            s.push_str(SIG_PREFIX);
            s.push_str(&sig.name);
            s.push(' ');
            s.push_str(&STANDARD.encode(raw));
            s.push('\n');
        }
        s
    }
}

/// The Rekor v1 key hint: the first four bytes of the log ID.
pub fn rekor_v1_key_hint(spki_der: &[u8]) -> [u8; 4] {
    let id = log_id(spki_der);
    [id[0], id[1], id[2], id[3]]
}

/// Signs a checkpoint the way Rekor v1 does; returns the full note text.
pub fn sign_checkpoint_v1(cp: &Checkpoint, name: &str, signer: &dyn Signer) -> Result<String, NoteError> {
    let text = cp.body();
    let signature = signer.sign(text.as_bytes())?;
    let note = SignedNote {
        text,
        signatures: vec![NoteSignature {
            name: name.to_string(),
            key_hint: rekor_v1_key_hint(signer.public_key_der()),
            signature,
        }],
    };
    Ok(note.render())
}

/// Verifies a Rekor v1 checkpoint note with the log key: the signature whose
/// key hint is the log ID prefix (and, if given, whose name is `name`) must
/// verify. Returns the checkpoint it vouches for.
pub fn verify_checkpoint_v1(note: &str, name: Option<&str>, spki_der: &[u8]) -> Result<Checkpoint, NoteError> {
    let parsed = SignedNote::parse(note)?;
    // Structural errors first: a malformed note is reported as such.
    let checkpoint = Checkpoint::parse_body(&parsed.text)?;
    let key = PublicKey::from_spki_der(spki_der).map_err(NoteError::Signing)?;
    let hint = rekor_v1_key_hint(spki_der);
    let sig = parsed
        .signatures
        .iter()
        .find(|s| s.key_hint == hint && name.is_none_or(|n| n == s.name))
        .ok_or_else(|| NoteError::NoMatchingSignature(name.unwrap_or("the log key").to_string()))?;
    key.verify(parsed.text.as_bytes(), &sig.signature).map_err(|_| NoteError::BadSignature)?;
    Ok(checkpoint)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sigstead_crypto::EcdsaSigner;

    fn cp() -> Checkpoint {
        Checkpoint {
            origin: Origin::new("log.example - 42").unwrap(),
            size: 7,
            root_hash: [9u8; 32],
            extensions: vec![],
        }
    }

    #[test]
    fn sign_then_verify_and_tamper() {
        let s = EcdsaSigner::generate_p256();
        let note = sign_checkpoint_v1(&cp(), "log.example", &s).unwrap();
        assert!(note.starts_with("log.example - 42\n7\n"));
        assert!(note.contains("\n\n\u{2014} log.example "));
        let got = verify_checkpoint_v1(&note, Some("log.example"), s.public_key_der()).unwrap();
        assert_eq!(got, cp());
        let tampered = note.replacen("\n7\n", "\n8\n", 1);
        assert_eq!(verify_checkpoint_v1(&tampered, None, s.public_key_der()), Err(NoteError::BadSignature));
        let other = EcdsaSigner::generate_p256();
        assert!(matches!(
            verify_checkpoint_v1(&note, None, other.public_key_der()),
            Err(NoteError::NoMatchingSignature(_))
        ));
    }

    #[test]
    fn origin_rejects_newlines() {
        assert_eq!(Origin::new("a\nb"), Err(NoteError::BadOrigin));
        assert_eq!(Origin::new(""), Err(NoteError::BadOrigin));
    }
}
