//! A search, parsed at the edge into what it looks up.

use sigstead_rekor_types::EntryId;

/// What a search looks up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// A log index.
    Index(u64),
    /// An entry UUID (64 hex, or 80 hex with the tree ID).
    EntryId(EntryId),
    /// A bare 64-hex string: an entry UUID or a SHA-256 digest (both are looked up).
    Hex64([u8; 32]),
    /// An artifact or payload SHA-256 digest.
    Digest([u8; 32]),
    /// SHA-256 of a public key's SubjectPublicKeyInfo (from a key or certificate PEM).
    PublicKey([u8; 32]),
    /// An email or URI subject alternative name.
    Identity(String),
    /// An OIDC issuer URL.
    Issuer(String),
}

/// The `kind` choices of the search form.
pub const KINDS: &[(&str, &str)] = &[
    ("auto", "any"),
    ("identity", "identity (email or URI)"),
    ("issuer", "OIDC issuer"),
    ("digest", "artifact SHA-256"),
    ("key", "public key or certificate (PEM)"),
    ("index", "log index"),
    ("uuid", "entry UUID"),
];

fn hex32(s: &str) -> Option<[u8; 32]> {
    let b = hex::decode(s).ok()?;
    b.try_into().ok()
}

fn digest(s: &str) -> Result<[u8; 32], String> {
    let lower = s.to_ascii_lowercase();
    let hex_part = lower.strip_prefix("sha256:").unwrap_or(&lower);
    hex32(hex_part).ok_or_else(|| format!("{s:?} is not a SHA-256 digest (64 hex digits, optionally after sha256:)"))
}

fn key(s: &str) -> Result<[u8; 32], String> {
    let v = sigstead_crypto::VerifierMaterial::parse(s.as_bytes())
        .map_err(|e| format!("not a PEM public key or certificate: {e}"))?;
    Ok(sigstead_crypto::log_id(&v.spki_der))
}

impl Query {
    /// Parses the search box `q` as `kind` says (`auto` guesses from its shape).
    pub fn parse(kind: &str, q: &str) -> Result<Self, String> {
        let q = q.trim();
        if q.is_empty() {
            return Err("the search is empty".into());
        }
        if q.len() > 16 * 1024 {
            return Err("the search is too long".into());
        }
        match kind {
            "index" => q.parse().map(Self::Index).map_err(|_| format!("{q:?} is not a log index")),
            "uuid" => EntryId::parse(q).map(Self::EntryId).map_err(|e| e.to_string()),
            "digest" => digest(q).map(Self::Digest),
            "key" => key(q).map(Self::PublicKey),
            "identity" => Ok(Self::Identity(q.to_string())),
            "issuer" => {
                if q.starts_with("https://") || q.starts_with("http://") {
                    Ok(Self::Issuer(q.to_string()))
                } else {
                    Err(format!("{q:?} is not an issuer URL"))
                }
            }
            "" | "auto" => {
                if q.contains("-----BEGIN") {
                    return key(q).map(Self::PublicKey);
                }
                if q.to_ascii_lowercase().starts_with("sha256:") {
                    return digest(q).map(Self::Digest);
                }
                if q.len() == 64 {
                    if let Some(h) = hex32(q) {
                        return Ok(Self::Hex64(h));
                    }
                }
                if q.len() == 80 && q.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return EntryId::parse(q).map(Self::EntryId).map_err(|e| e.to_string());
                }
                // After the hex forms: a 64-digit decimal string is a digest.
                if q.bytes().all(|b| b.is_ascii_digit()) {
                    return q.parse().map(Self::Index).map_err(|_| format!("{q:?} is not a log index"));
                }
                if q.contains('@') || q.contains("://") {
                    return Ok(Self::Identity(q.to_string()));
                }
                Err(format!(
                    "cannot tell what {q:?} is: search for an email or URI identity, a sha256 digest, a PEM key, \
                     a log index or an entry UUID, or choose a kind"
                ))
            }
            other => Err(format!("unknown search kind {other:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_guesses_from_the_shape() {
        assert_eq!(Query::parse("auto", " 42 "), Ok(Query::Index(42)));
        assert_eq!(Query::parse("", "alice@example.com"), Ok(Query::Identity("alice@example.com".into())));
        let h = "ab".repeat(32);
        assert_eq!(Query::parse("auto", &h), Ok(Query::Hex64([0xab; 32])));
        // All decimal digits but 64 long: a digest or UUID, not an index.
        assert_eq!(Query::parse("auto", &"02".repeat(32)), Ok(Query::Hex64([0x02; 32])));
        assert_eq!(Query::parse("auto", &format!("SHA256:{h}")), Ok(Query::Digest([0xab; 32])));
        let id80 = format!("{:016x}{h}", 7u64);
        assert!(matches!(Query::parse("auto", &id80), Ok(Query::EntryId(EntryId { tree_id: Some(7), .. }))));
        assert_eq!(
            Query::parse("auto", "https://github.com/o/r/.github/workflows/x.yml@refs/heads/main"),
            Ok(Query::Identity("https://github.com/o/r/.github/workflows/x.yml@refs/heads/main".into()))
        );
    }

    #[test]
    fn explicit_kinds_and_refusals() {
        assert_eq!(Query::parse("issuer", "https://oidc.example"), Ok(Query::Issuer("https://oidc.example".into())));
        assert!(Query::parse("issuer", "oidc.example").unwrap_err().contains("not an issuer URL"));
        assert!(Query::parse("index", "-1").unwrap_err().contains("not a log index"));
        assert!(Query::parse("digest", "abc").unwrap_err().contains("not a SHA-256 digest"));
        assert!(Query::parse("key", "garbage").unwrap_err().contains("not a PEM"));
        assert!(Query::parse("auto", "hello").unwrap_err().contains("cannot tell"));
        assert!(Query::parse("auto", "   ").unwrap_err().contains("empty"));
        assert!(Query::parse("sql", "x").unwrap_err().contains("unknown search kind"));
        assert!(Query::parse("auto", &"9".repeat(40)).unwrap_err().contains("not a log index"));
    }
}
