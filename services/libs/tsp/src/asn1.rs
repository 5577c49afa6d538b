//! The structures no maintained crate declares correctly (see the crate docs).

use der::asn1::{BitString, OctetString};
use der::Sequence;
use x509_cert::ext::pkix::name::GeneralNames;
use x509_cert::serial_number::SerialNumber;
use x509_tsp::TimeStampToken;

/// `PKIStatus` values RFC 3161 §2.4.2 uses.
pub const STATUS_GRANTED: u8 = 0;
/// `grantedWithMods`.
pub const STATUS_GRANTED_WITH_MODS: u8 = 1;
/// `rejection`.
pub const STATUS_REJECTION: u8 = 2;

/// `PKIStatusInfo ::= SEQUENCE { status PKIStatus, statusString PKIFreeText OPTIONAL, failInfo PKIFailureInfo OPTIONAL }`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct PkiStatusInfo {
    /// `PKIStatus ::= INTEGER`.
    pub status: u8,
    /// `PKIFreeText ::= SEQUENCE SIZE (1..MAX) OF UTF8String`.
    #[asn1(optional = "true")]
    pub status_string: Option<Vec<String>>,
    /// `PKIFailureInfo ::= BIT STRING` with named bits.
    #[asn1(optional = "true")]
    pub fail_info: Option<BitString>,
}

/// `TimeStampResp ::= SEQUENCE { status PKIStatusInfo, timeStampToken TimeStampToken OPTIONAL }`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct TimeStampResp {
    pub status: PkiStatusInfo,
    #[asn1(optional = "true")]
    pub time_stamp_token: Option<TimeStampToken>,
}

/// `SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2, policies SEQUENCE OF PolicyInformation OPTIONAL }`
/// (RFC 5035; the policies are never written).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct SigningCertificateV2 {
    pub certs: Vec<EssCertIdV2>,
}

/// `ESSCertIDv2 ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier DEFAULT {algorithm id-sha256},
/// certHash OCTET STRING, issuerSerial IssuerSerial OPTIONAL }`.
///
/// Sigstead always hashes with SHA-256 and, as DER requires of a DEFAULT,
/// omits `hashAlgorithm`; upstream timestamp-authority writes it explicitly,
/// so a present one is read (and honoured by the verifier).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct EssCertIdV2 {
    #[asn1(optional = "true")]
    pub hash_algorithm: Option<spki::AlgorithmIdentifierOwned>,
    pub cert_hash: OctetString,
    #[asn1(optional = "true")]
    pub issuer_serial: Option<IssuerSerial>,
}

/// `IssuerSerial ::= SEQUENCE { issuer GeneralNames, serialNumber CertificateSerialNumber }`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct IssuerSerial {
    pub issuer: GeneralNames,
    pub serial_number: SerialNumber,
}

/// A named-bit BIT STRING with the one bit `bit` set, DER-minimal (no trailing zero bytes, unused bits counted).
pub fn named_bit(bit: usize) -> BitString {
    let mut bytes = vec![0u8; bit / 8 + 1];
    bytes[bit / 8] = 0x80 >> (bit % 8);
    let unused = u8::try_from(7 - bit % 8).expect("below 8");
    BitString::new(unused, bytes).expect("a valid bit string")
}

/// The named bits set in a BIT STRING.
pub fn set_bits(bits: &BitString) -> Vec<usize> {
    bits.bits().enumerate().filter(|(_, b)| *b).map(|(i, _)| i).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::Encode;

    #[test]
    fn named_bits_encode_der_minimal() {
        // badAlg (0), badRequest (2), badDataFormat (5), unacceptedPolicy (15), unacceptedExtension (16).
        assert_eq!(named_bit(0).to_der().unwrap(), [0x03, 0x02, 0x07, 0x80]);
        assert_eq!(named_bit(2).to_der().unwrap(), [0x03, 0x02, 0x05, 0x20]);
        assert_eq!(named_bit(5).to_der().unwrap(), [0x03, 0x02, 0x02, 0x04]);
        assert_eq!(named_bit(15).to_der().unwrap(), [0x03, 0x03, 0x00, 0x00, 0x01]);
        assert_eq!(named_bit(16).to_der().unwrap(), [0x03, 0x04, 0x07, 0x00, 0x00, 0x80]);
        for bit in [0, 2, 5, 15, 16, 25] {
            assert_eq!(set_bits(&named_bit(bit)), vec![bit]);
        }
    }
}
