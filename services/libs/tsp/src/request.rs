//! Time-stamp requests: DER `TimeStampReq` (RFC 3161 §2.4.1) or sigstore-js's
//! JSON form, parsed into one [`TimestampRequest`].

use crate::{hash_from_name, hash_from_oid, hash_oid};
use der::asn1::{Int, ObjectIdentifier, OctetString};
use der::{Any, Decode};
use sigstead_crypto::HashAlgorithm;
use x509_tsp::{MessageImprint, TimeStampReq};

/// A request the TSA can answer: its imprint checked against its algorithm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimestampRequest {
    /// The imprint exactly as the client sent it (echoed into `TSTInfo`).
    pub message_imprint: MessageImprint,
    /// The imprint's hash algorithm.
    pub hash: HashAlgorithm,
    /// `reqPolicy`, if the client asked for one.
    pub policy: Option<ObjectIdentifier>,
    /// The client's nonce, echoed.
    pub nonce: Option<Int>,
    /// `certReq`: whether the TSA certificate goes into the token.
    pub cert_req: bool,
}

/// The `PKIFailureInfo` bits RFC 3161 §2.4.2 names for a declined request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureInfo {
    /// `badAlg` (0): unrecognised or unsupported algorithm identifier.
    BadAlg,
    /// `badRequest` (2): transaction not permitted or supported.
    BadRequest,
    /// `badDataFormat` (5): the data submitted has the wrong format.
    BadDataFormat,
    /// `unacceptedPolicy` (15): the requested TSA policy is not supported.
    UnacceptedPolicy,
    /// `unacceptedExtension` (16): the requested extension is not supported.
    UnacceptedExtension,
}

impl FailureInfo {
    /// The named bit's position.
    pub fn bit(self) -> usize {
        match self {
            Self::BadAlg => 0,
            Self::BadRequest => 2,
            Self::BadDataFormat => 5,
            Self::UnacceptedPolicy => 15,
            Self::UnacceptedExtension => 16,
        }
    }

    /// The bit's RFC name, for messages and metric labels.
    pub fn name(self) -> &'static str {
        match self {
            Self::BadAlg => "badAlg",
            Self::BadRequest => "badRequest",
            Self::BadDataFormat => "badDataFormat",
            Self::UnacceptedPolicy => "unacceptedPolicy",
            Self::UnacceptedExtension => "unacceptedExtension",
        }
    }

    /// The failure a set bit names.
    pub fn from_bit(bit: usize) -> Option<Self> {
        [Self::BadAlg, Self::BadRequest, Self::BadDataFormat, Self::UnacceptedPolicy, Self::UnacceptedExtension]
            .into_iter()
            .find(|f| f.bit() == bit)
    }
}

/// A well-formed request the TSA declines: answered with a `TimeStampResp`
/// of status `rejection`, this `failInfo` and the reason as `statusString`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason} ({})", failure.name())]
pub struct Rejection {
    pub failure: FailureInfo,
    pub reason: String,
}

impl Rejection {
    pub fn new(failure: FailureInfo, reason: impl Into<String>) -> Self {
        Self { failure, reason: reason.into() }
    }
}

/// Why a request cannot be answered with a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// Not a `TimeStampReq` at all (garbage DER, a version other than 1):
    /// answered with a plain 400 and the message.
    #[error("not an RFC 3161 TimeStampReq: {0}")]
    Malformed(String),
    /// A request the TSA declines.
    #[error(transparent)]
    Declined(#[from] Rejection),
}

impl TimestampRequest {
    /// Parses a DER `TimeStampReq`. Extensions are declined (none is supported).
    pub fn from_der(der: &[u8]) -> Result<Self, RequestError> {
        let req = TimeStampReq::from_der(der).map_err(|e| RequestError::Malformed(e.to_string()))?;
        if req.extensions.as_ref().is_some_and(|e| !e.is_empty()) {
            return Err(Rejection::new(FailureInfo::UnacceptedExtension, "request extensions are not supported").into());
        }
        let hash = imprint_hash(&req.message_imprint)?;
        Ok(Self {
            message_imprint: req.message_imprint,
            hash,
            policy: req.req_policy,
            nonce: req.nonce,
            cert_req: req.cert_req,
        })
    }

    /// Builds a request from sigstore-js's JSON fields: `artifactHash` (the
    /// decoded digest), `hashAlgorithm` (`sha256`…), an optional `nonce`, the
    /// `certificates` flag and an optional `tsaPolicyOID` (dotted).
    pub fn from_json_fields(
        artifact_hash: Vec<u8>,
        hash_algorithm: &str,
        nonce: Option<u64>,
        certificates: bool,
        policy: Option<&str>,
    ) -> Result<Self, RequestError> {
        let hash = hash_from_name(hash_algorithm).ok_or_else(|| {
            Rejection::new(FailureInfo::BadAlg, format!("unsupported hash algorithm {hash_algorithm:?}"))
        })?;
        let policy = policy
            .map(|p| {
                ObjectIdentifier::new(p)
                    .map_err(|_| Rejection::new(FailureInfo::BadRequest, format!("{p:?} is not an OID")))
            })
            .transpose()?;
        let nonce = nonce.map(nonce_from_u64);
        let hashed_message = OctetString::new(artifact_hash).map_err(|e| RequestError::Malformed(e.to_string()))?;
        // `parameters` absent, as RFC 5754 recommends for SHA-2.
        let message_imprint = MessageImprint {
            hash_algorithm: spki::AlgorithmIdentifier::<Any> { oid: hash_oid(hash), parameters: None },
            hashed_message,
        };
        check_length(hash, &message_imprint)?;
        Ok(Self { message_imprint, hash, policy, nonce, cert_req: certificates })
    }

    /// The imprint's digest bytes.
    pub fn digest(&self) -> &[u8] {
        self.message_imprint.hashed_message.as_bytes()
    }
}

/// A DER `TimeStampReq` as clients send it (SHA-2 parameters NULL, as
/// OpenSSL writes them): for load generators and tests.
pub fn encode_query(hash: HashAlgorithm, digest: &[u8], nonce: Option<u64>, cert_req: bool) -> Vec<u8> {
    use der::Encode;
    TimeStampReq {
        version: x509_tsp::TspVersion::V1,
        message_imprint: MessageImprint {
            hash_algorithm: spki::AlgorithmIdentifier::<Any> { oid: hash_oid(hash), parameters: Some(Any::null()) },
            hashed_message: OctetString::new(digest).expect("a digest fits an OCTET STRING"),
        },
        req_policy: None,
        nonce: nonce.map(nonce_from_u64),
        cert_req,
        extensions: None,
    }
    .to_der()
    .expect("a TimeStampReq encodes")
}

/// A nonce given as a number (sigstore-js's JSON) as a DER INTEGER.
pub fn nonce_from_u64(n: u64) -> Int {
    let bytes = n.to_be_bytes();
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len() - 1);
    let mut minimal = Vec::with_capacity(9);
    if bytes[start] & 0x80 != 0 {
        minimal.push(0); // keep it positive
    }
    minimal.extend_from_slice(&bytes[start..]);
    Int::new(&minimal).expect("a minimal positive INTEGER")
}

fn imprint_hash(imprint: &MessageImprint) -> Result<HashAlgorithm, Rejection> {
    let oid = imprint.hash_algorithm.oid;
    let hash = hash_from_oid(&oid)
        .ok_or_else(|| Rejection::new(FailureInfo::BadAlg, format!("unsupported hash algorithm {oid}")))?;
    // SHA-2 parameters are absent or NULL (RFC 5754 §2); anything else is not that algorithm.
    if let Some(p) = &imprint.hash_algorithm.parameters {
        if der::Tagged::tag(p) != der::Tag::Null {
            return Err(Rejection::new(FailureInfo::BadAlg, format!("unexpected parameters for {}", hash.name())));
        }
    }
    check_length(hash, imprint)?;
    Ok(hash)
}

fn check_length(hash: HashAlgorithm, imprint: &MessageImprint) -> Result<(), Rejection> {
    let got = imprint.hashed_message.as_bytes().len();
    if got != hash.digest_len() {
        return Err(Rejection::new(
            FailureInfo::BadDataFormat,
            format!("a {} digest is {} bytes, not {got}", hash.name(), hash.digest_len()),
        ));
    }
    Ok(())
}
