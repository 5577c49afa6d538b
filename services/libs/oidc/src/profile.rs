//! The certificate profile a verified identity asks for: the one
//! SubjectAlternativeName and the Sigstore (Fulcio OID) extensions, with how
//! each value is encoded. Both [`crate::identity`] (which derives them from
//! claims) and [`crate::ci`] (whose templates produce extensions) use these
//! types, so they live apart from both.

/// How an extension's value is placed in the certificate's `extnValue`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExtensionEncoding {
    /// The UTF-8 bytes themselves, no DER tag (OIDs 1.1–1.6).
    Raw,
    /// A DER `UTF8String` (tag 0x0C) (OIDs 1.8–1.24).
    Utf8String,
}

/// One non-critical Sigstore extension for the leaf certificate.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CertExtension {
    /// Dotted OID, one of the constants in [`crate::oid`].
    pub oid: &'static str,
    /// The value (never empty: empty values are omitted, as upstream does).
    pub value: String,
    /// How `value` is encoded into `extnValue`.
    pub encoding: ExtensionEncoding,
}

impl CertExtension {
    /// The `extnValue` OCTET STRING contents: the raw bytes, or the DER
    /// `UTF8String` encoding of the value.
    pub fn der_value(&self) -> Vec<u8> {
        let bytes = self.value.as_bytes();
        match self.encoding {
            ExtensionEncoding::Raw => bytes.to_vec(),
            ExtensionEncoding::Utf8String => {
                let mut out = Vec::with_capacity(bytes.len() + 6);
                out.push(0x0c);
                push_der_len(&mut out, bytes.len());
                out.extend_from_slice(bytes);
                out
            }
        }
    }
}

fn push_der_len(out: &mut Vec<u8>, len: usize) {
    if let Ok(short) = u8::try_from(len) {
        if short < 0x80 {
            out.push(short);
            return;
        }
    }
    let be = len.to_be_bytes();
    let skip = be.iter().take_while(|b| **b == 0).count();
    let count = u8::try_from(be.len() - skip).unwrap_or(0);
    out.push(0x80 | count);
    out.extend_from_slice(&be[skip..]);
}

/// The one SubjectAlternativeName entry of the leaf certificate.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SubjectAltName {
    /// `rfc822Name` (email issuers).
    Email(String),
    /// `uniformResourceIdentifier` (every CI type, kubernetes, spiffe, uri).
    Uri(String),
    /// `otherName` with type-id [`crate::oid::OTHERNAME_USERNAME`] and value
    /// `[0] EXPLICIT UTF8String "<sub>!<subject_domain>"` (username issuers).
    /// The SAN extension must then be marked critical.
    OtherNameUsername(String),
}

impl SubjectAltName {
    /// The SAN's string value, whatever its kind.
    pub fn value(&self) -> &str {
        match self {
            Self::Email(v) | Self::Uri(v) | Self::OtherNameUsername(v) => v,
        }
    }
}
