//! C2SP `tlog-cosignature` (Ed25519, `cosignature/v1`) and the verifier
//! keys (`vkey`) of C2SP `signed-note` that name a cosigner, and the
//! request body of C2SP `tlog-witness` `add-checkpoint`.
//!
//! A cosignature line is a note signature line
//! `— <name> base64(key ID ‖ timestamp ‖ Ed25519 signature)`:
//! * key ID: `SHA-256(<name> ‖ "\n" ‖ 0x04 ‖ 32-byte public key)[:4]`;
//! * timestamp: POSIX seconds, u64 big-endian;
//! * signed message: `cosignature/v1\ntime <timestamp>\n` followed by the
//!   whole checkpoint body (extension lines included).
//!
//! Our own code because the Rust crates that implement it (Cloudflare's
//! `signed_note`/`tlog_tiles`) bring a second Ed25519 implementation
//! (ed25519-dalek) beside aws-lc-rs, and Rekor v1's ECDSA notes need the
//! code in this crate anyway. The key-ID rule is checked against a vkey
//! published by a running witness (transparency-dev/formats' test data), the
//! timestamp layout against a cosignature from the same source.

use crate::{Checkpoint, NoteError, NoteSignature, SignedNote};
use base64::{engine::general_purpose::STANDARD, Engine};
use sigstead_crypto::{PublicKey, Signer};
use sigstead_merkle::Hash;

/// The signature type byte of Ed25519 cosignatures in key IDs and vkeys.
pub const COSIGNATURE_V1_TYPE: u8 = 0x04;

/// Most consistency proof lines an `add-checkpoint` request may carry.
pub const MAX_PROOF_LINES: usize = 63;

/// A cosigner: its name and raw Ed25519 public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cosigner {
    pub name: String,
    pub public_key: [u8; 32],
}

impl Cosigner {
    /// The C2SP key ID: `SHA-256(name ‖ "\n" ‖ 0x04 ‖ key)[:4]`.
    pub fn key_id(&self) -> [u8; 4] {
        let mut m = self.name.as_bytes().to_vec();
        m.push(b'\n');
        m.push(COSIGNATURE_V1_TYPE);
        m.extend_from_slice(&self.public_key);
        let d = sigstead_crypto::digest(sigstead_crypto::HashAlgorithm::Sha256, &m);
        [d[0], d[1], d[2], d[3]]
    }

    /// From an Ed25519 DER SubjectPublicKeyInfo.
    pub fn from_spki(name: &str, spki_der: &[u8]) -> Result<Self, NoteError> {
        match PublicKey::from_spki_der(spki_der).map_err(NoteError::Signing)? {
            PublicKey::Ed25519(k) => Ok(Self { name: name.into(), public_key: k }),
            _ => Err(NoteError::BadVerifierKey("a cosigner key must be Ed25519".into())),
        }
    }

    /// Parses a vkey `<name>+<hex key ID>+base64(0x04 ‖ key)`; the key ID
    /// must be the one the name and key give.
    pub fn from_vkey(vkey: &str) -> Result<Self, NoteError> {
        let bad = |why: &str| NoteError::BadVerifierKey(format!("{vkey:?}: {why}"));
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad("expected <name>+<key ID>+<key>"));
        };
        if name.is_empty() || name.contains(char::is_whitespace) || name.contains('+') {
            return Err(bad("bad name"));
        }
        let raw = STANDARD.decode(key).map_err(|_| bad("key is not base64"))?;
        let (&kind, key) = raw.split_first().ok_or_else(|| bad("empty key"))?;
        if kind != COSIGNATURE_V1_TYPE {
            return Err(bad(&format!("signature type {kind:#04x} is not an Ed25519 cosignature (0x04)")));
        }
        let public_key: [u8; 32] = key.try_into().map_err(|_| bad("an Ed25519 key is 32 bytes"))?;
        let c = Self { name: name.into(), public_key };
        if id.len() != 8 || hex::encode(c.key_id()) != id.to_ascii_lowercase() {
            return Err(bad("the key ID does not match the name and key"));
        }
        Ok(c)
    }

    /// The vkey form of this cosigner (what a witness operator publishes).
    pub fn vkey(&self) -> String {
        let mut raw = vec![COSIGNATURE_V1_TYPE];
        raw.extend_from_slice(&self.public_key);
        format!("{}+{}+{}", self.name, hex::encode(self.key_id()), STANDARD.encode(raw))
    }
}

/// The message an Ed25519 `cosignature/v1` signs.
pub fn cosigned_message(checkpoint_body: &str, timestamp: u64) -> String {
    format!("cosignature/v1\ntime {timestamp}\n{checkpoint_body}")
}

/// Cosigns a checkpoint body at `timestamp` with an Ed25519 key named
/// `name`; returns the signature line's parts.
pub fn cosign(checkpoint_body: &str, name: &str, key: &dyn Signer, timestamp: u64) -> Result<NoteSignature, NoteError> {
    if timestamp > i64::MAX.unsigned_abs() {
        return Err(NoteError::BadVerifierKey("a cosignature timestamp must not exceed 2^63 - 1".into()));
    }
    let cosigner = Cosigner::from_spki(name, key.public_key_der())?;
    let sig = key.sign(cosigned_message(checkpoint_body, timestamp).as_bytes())?;
    let mut signature = timestamp.to_be_bytes().to_vec();
    signature.extend_from_slice(&sig);
    Ok(NoteSignature { name: name.into(), key_hint: cosigner.key_id(), signature })
}

/// The signature line of a cosignature (`— <name> <base64>\n`).
pub fn signature_line(sig: &NoteSignature) -> String {
    let mut raw = sig.key_hint.to_vec();
    raw.extend_from_slice(&sig.signature);
    format!("{}{} {}\n", crate::SIG_PREFIX, sig.name, STANDARD.encode(raw))
}

/// Finds `cosigner`'s cosignature on `note` (other signatures are ignored)
/// and verifies it; returns the checkpoint and the cosignature's timestamp.
pub fn verify_cosignature(note: &str, cosigner: &Cosigner) -> Result<(Checkpoint, u64), NoteError> {
    let parsed = SignedNote::parse(note)?;
    let checkpoint = Checkpoint::parse_body(&parsed.text)?;
    let id = cosigner.key_id();
    let sig = parsed
        .signatures
        .iter()
        .find(|s| s.key_hint == id && s.name == cosigner.name)
        .ok_or_else(|| NoteError::NoMatchingSignature(cosigner.name.clone()))?;
    let (ts, ed) = sig.signature.split_at_checked(8).ok_or(NoteError::BadSignature)?;
    if ed.len() != 64 {
        return Err(NoteError::BadSignature);
    }
    let timestamp = u64::from_be_bytes(ts.try_into().map_err(|_| NoteError::BadSignature)?);
    PublicKey::Ed25519(cosigner.public_key)
        .verify(cosigned_message(&parsed.text, timestamp).as_bytes(), ed)
        .map_err(|_| NoteError::BadSignature)?;
    Ok((checkpoint, timestamp))
}

/// An `add-checkpoint` request: the size the client believes the witness
/// last cosigned, a consistency proof from it, and the signed checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddCheckpoint {
    pub old_size: u64,
    pub proof: Vec<Hash>,
    /// The whole signed note.
    pub checkpoint: String,
}

/// Why an `add-checkpoint` body does not parse (answered 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddCheckpointError {
    #[error("the body must start with an `old <size>` line")]
    OldSize,
    #[error("consistency proof line {0} is not a base64 SHA-256 hash")]
    ProofLine(usize),
    #[error("more than 63 consistency proof lines")]
    TooManyProofLines,
    #[error("no empty line before the checkpoint")]
    NoCheckpoint,
}

impl AddCheckpoint {
    pub fn parse(body: &str) -> Result<Self, AddCheckpointError> {
        let (first, mut rest) = body.split_once('\n').ok_or(AddCheckpointError::OldSize)?;
        let digits = first.strip_prefix("old ").ok_or(AddCheckpointError::OldSize)?;
        if digits.is_empty()
            || !digits.bytes().all(|b| b.is_ascii_digit())
            || (digits.len() > 1 && digits.starts_with('0'))
        {
            return Err(AddCheckpointError::OldSize);
        }
        let old_size = digits.parse().map_err(|_| AddCheckpointError::OldSize)?;
        let mut proof = Vec::new();
        loop {
            let (line, next) = rest.split_once('\n').ok_or(AddCheckpointError::NoCheckpoint)?;
            rest = next;
            if line.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_LINES {
                return Err(AddCheckpointError::TooManyProofLines);
            }
            let h = STANDARD
                .decode(line)
                .ok()
                .and_then(|v| <[u8; 32]>::try_from(v).ok())
                .ok_or(AddCheckpointError::ProofLine(proof.len() + 1))?;
            proof.push(h);
        }
        Ok(Self { old_size, proof, checkpoint: rest.to_string() })
    }

    pub fn render(&self) -> String {
        let mut s = format!("old {}\n", self.old_size);
        for h in &self.proof {
            s.push_str(&STANDARD.encode(h));
            s.push('\n');
        }
        s.push('\n');
        s.push_str(&self.checkpoint);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sigstead_crypto::Ed25519Signer;

    /// A vkey published by a running witness (remora.n621.de), from
    /// transparency-dev/formats' `note_cosigv1_test.go`: its key ID is the
    /// one the C2SP rule gives, so ours agree with theirs.
    #[test]
    fn key_id_matches_a_published_witness_vkey() {
        let c = Cosigner::from_vkey("remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2").unwrap();
        assert_eq!(hex::encode(c.key_id()), "da77ade7");
        assert_eq!(c.vkey(), "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2");
        // `bad-vkey`: a wrong key ID, an Ed25519 note key (type 0x01) and junk are refused with their reason.
        let e =
            Cosigner::from_vkey("remora.n621.de+00000000+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2").unwrap_err();
        assert!(e.to_string().contains("key ID does not match"), "{e}");
        let e = Cosigner::from_vkey("TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6").unwrap_err();
        assert!(e.to_string().contains("not an Ed25519 cosignature"), "{e}");
        assert!(Cosigner::from_vkey("bananas+12345678").is_err());
    }

    /// The timestamp sits between the key ID and the signature, big-endian:
    /// a cosignature from transparency-dev/formats' tests decodes to its time.
    #[test]
    fn timestamp_layout_matches_a_published_cosignature() {
        let raw = STANDARD
            .decode("ZGhGuQAAAABm/qTPeyKXD+R2rzyQsxPiP8mXum7qq/iF0u4vanlqJyocWODBt97w9uL+8qT7S5gxEHWWOworDcFiEBYJXORmnFBOBA==")
            .unwrap();
        assert_eq!(raw.len(), 4 + 8 + 64);
        assert_eq!(u64::from_be_bytes(raw[4..12].try_into().unwrap()), 1_727_964_367);
    }

    #[test]
    fn cosign_then_verify_and_tamper() {
        let key = Ed25519Signer::generate();
        let body = "example.com/log\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
        let sig = cosign(body, "witness.example/w1", &key, 1_679_315_147).unwrap();
        let cosigner = Cosigner::from_spki("witness.example/w1", key.public_key_der()).unwrap();
        let note = format!("{body}\n{}", signature_line(&sig));
        let (cp, ts) = verify_cosignature(&note, &cosigner).unwrap();
        assert_eq!((cp.size, ts), (20_852_163, 1_679_315_147));
        // `tampered-checkpoint`: another size under the same cosignature.
        let forged = note.replacen("20852163", "20852164", 1);
        assert_eq!(verify_cosignature(&forged, &cosigner), Err(NoteError::BadSignature));
        // `rewound-timestamp`: the timestamp is signed too.
        let mut raw = sig.key_hint.to_vec();
        raw.extend_from_slice(&(1_679_315_146u64).to_be_bytes());
        raw.extend_from_slice(&sig.signature[8..]);
        let moved = format!("{body}\n\u{2014} witness.example/w1 {}\n", STANDARD.encode(raw));
        assert_eq!(verify_cosignature(&moved, &cosigner), Err(NoteError::BadSignature));
        // Another witness's key is not this cosigner's.
        let other = Cosigner::from_spki("witness.example/w1", Ed25519Signer::generate().public_key_der()).unwrap();
        assert!(matches!(verify_cosignature(&note, &other), Err(NoteError::NoMatchingSignature(_))));
    }

    #[test]
    fn add_checkpoint_bodies_parse_and_render() {
        let text = "old 3\nPlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n\nlog\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n\u{2014} log AAAA\n";
        let r = AddCheckpoint::parse(text).unwrap();
        assert_eq!((r.old_size, r.proof.len()), (3, 1));
        assert!(r.checkpoint.starts_with("log\n5\n"));
        assert_eq!(r.render(), text);
        assert_eq!(AddCheckpoint::parse("old 03\n\nx"), Err(AddCheckpointError::OldSize));
        assert_eq!(AddCheckpoint::parse("new 3\n\nx"), Err(AddCheckpointError::OldSize));
        assert_eq!(AddCheckpoint::parse("old 3\nnot-a-hash\n\nx"), Err(AddCheckpointError::ProofLine(1)));
        assert_eq!(AddCheckpoint::parse("old 3\n"), Err(AddCheckpointError::NoCheckpoint));
        let long = format!("old 1\n{}\nx", "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n".repeat(64));
        assert_eq!(AddCheckpoint::parse(&long), Err(AddCheckpointError::TooManyProofLines));
    }
}
