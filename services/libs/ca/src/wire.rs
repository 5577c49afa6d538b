//! The CA's wire types: request bodies (Fulcio's `v2` and legacy `v1`
//! `signingCert` JSON) and the JSON answers (`signingCert`, `trustBundle`),
//! field names as upstream's protobuf (`fulcio.proto`) spells them. The
//! handlers, the bench and the tests share them.
//!
//! Parsing is as lenient as upstream's grpc-gateway in one respect: a field
//! of the wrong JSON type reads as absent (and the handler then says which
//! field is required), rather than failing the whole body. Unknown fields
//! (`algorithm`, …) are ignored, as upstream ignores them.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};

/// A field that reads as `None` unless it has the expected shape.
fn lenient<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Option<T>, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    Ok(serde_json::from_value(v).ok())
}

/// `publicKey`: the key to certify (`content`: PEM in v2, base64 of PEM in v1).
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicKey {
    /// `ECDSA`, `RSA_PSS`, `ED25519` as cosign names it; read and ignored,
    /// as upstream ignores it (the key's own encoding says what it is).
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<String>,
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
}

/// v2 `publicKeyRequest`: the key and its proof of possession (a signature
/// over the token's subject, base64).
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicKeyRequest {
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    pub public_key: Option<PublicKey>,
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    pub proof_of_possession: Option<String>,
}

/// v2 `credentials`: the identity token in the body (sigstore-js, sigstore-rust).
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Credentials {
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    pub oidc_identity_token: Option<String>,
}

/// `POST /api/v2/signingCert`: a public key with its proof of possession,
/// or a CSR (base64 DER), and optionally the token.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SigningCertRequest {
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    pub credentials: Option<Credentials>,
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    pub public_key_request: Option<PublicKeyRequest>,
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    pub certificate_signing_request: Option<String>,
}

impl SigningCertRequest {
    /// cosign's request: an ECDSA PEM public key and its proof of possession (a
    /// signature over the token's subject), the token in the `Authorization`
    /// header.
    pub fn public_key(pem: &str, proof_of_possession: &[u8]) -> Self {
        use base64::Engine;
        Self {
            credentials: None,
            public_key_request: Some(PublicKeyRequest {
                public_key: Some(PublicKey { algorithm: Some("ECDSA".into()), content: Some(pem.into()) }),
                proof_of_possession: Some(base64::engine::general_purpose::STANDARD.encode(proof_of_possession)),
            }),
            certificate_signing_request: None,
        }
    }
    pub fn identity_token(&self) -> Option<&str> {
        self.credentials.as_ref()?.oidc_identity_token.as_deref()
    }
    pub fn public_key_content(&self) -> Option<&str> {
        self.public_key_request.as_ref()?.public_key.as_ref()?.content.as_deref()
    }
    pub fn proof_of_possession(&self) -> Option<&str> {
        self.public_key_request.as_ref()?.proof_of_possession.as_deref()
    }
}

/// Legacy `POST /api/v1/signingCert` (gitsign, cosign 2).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LegacySigningCertRequest {
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    pub public_key: Option<PublicKey>,
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    pub signed_email_address: Option<String>,
}

/// `{"certificates": [PEM, …]}`: a chain, leaf first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateChain {
    pub certificates: Vec<String>,
}

/// `signedCertificateEmbeddedSct` of a `v2/signingCert` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedCertificateEmbeddedSct {
    pub chain: CertificateChain,
}

/// The `POST /api/v2/signingCert` answer (this CA always embeds the SCT).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SigningCertResponse {
    pub signed_certificate_embedded_sct: SignedCertificateEmbeddedSct,
}

impl SigningCertResponse {
    pub fn new(pem_chain: Vec<String>) -> Self {
        Self {
            signed_certificate_embedded_sct: SignedCertificateEmbeddedSct {
                chain: CertificateChain { certificates: pem_chain },
            },
        }
    }
    /// The chain, leaf first.
    pub fn certificates(&self) -> &[String] {
        &self.signed_certificate_embedded_sct.chain.certificates
    }
}

/// The `GET /api/v2/trustBundle` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustBundle {
    pub chains: Vec<CertificateChain>,
}

/// Parses a request body: it must be JSON; a JSON value that is not an
/// object of the expected shape reads as an empty request (each handler
/// then names what is missing).
pub fn parse<T: DeserializeOwned + Default>(body: &[u8]) -> Result<T, serde_json::Error> {
    // One pass for every real request; only a body that fails it is parsed
    // again, to tell "not JSON" from "JSON of another shape".
    match serde_json::from_slice(body) {
        Ok(req) => Ok(req),
        Err(_) => serde_json::from_slice::<serde_json::Value>(body).map(|_| T::default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_client_shape_reads_and_wrong_types_read_as_absent() {
        let cosign = br#"{"publicKeyRequest": {"publicKey": {"algorithm": "ECDSA", "content": "PEM"}, "proofOfPossession": "c2ln"}}"#;
        let r: SigningCertRequest = parse(cosign).unwrap();
        assert_eq!(
            (r.public_key_content(), r.proof_of_possession(), r.identity_token()),
            (Some("PEM"), Some("c2ln"), None)
        );
        let js =
            br#"{"credentials": {"oidcIdentityToken": "eyJ"}, "publicKeyRequest": {"publicKey": {"content": "PEM"}}}"#;
        assert_eq!(parse::<SigningCertRequest>(js).unwrap().identity_token(), Some("eyJ"));
        let python = br#"{"certificateSigningRequest": "Q1NS"}"#;
        assert_eq!(parse::<SigningCertRequest>(python).unwrap().certificate_signing_request.as_deref(), Some("Q1NS"));
        let wrong = br#"{"credentials": "eyJ", "publicKeyRequest": {"publicKey": {"content": 7}}}"#;
        let r: SigningCertRequest = parse(wrong).unwrap();
        assert_eq!((r.identity_token(), r.public_key_content()), (None, None));
        assert_eq!(parse::<SigningCertRequest>(b"[]").unwrap().public_key_content(), None);
        assert!(parse::<SigningCertRequest>(b"{not json").is_err());
        let v1: LegacySigningCertRequest =
            parse(br#"{"publicKey": {"content": "B64"}, "signedEmailAddress": "c2ln"}"#).unwrap();
        assert_eq!(v1.public_key.and_then(|k| k.content).as_deref(), Some("B64"));
        assert_eq!(v1.signed_email_address.as_deref(), Some("c2ln"));
    }

    /// What the bench and the tests send reads back as cosign's shape; the
    /// answer has upstream's field names.
    #[test]
    fn built_requests_and_answers_have_upstreams_shape() {
        let body = serde_json::to_value(SigningCertRequest::public_key("PEM", b"sig")).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"publicKeyRequest": {
                "publicKey": {"algorithm": "ECDSA", "content": "PEM"}, "proofOfPossession": "c2ln"}})
        );
        let answer = serde_json::to_value(SigningCertResponse::new(vec!["LEAF".into(), "CA".into()])).unwrap();
        assert_eq!(answer["signedCertificateEmbeddedSct"]["chain"]["certificates"][1], "CA");
        let back: SigningCertResponse = serde_json::from_value(answer).unwrap();
        assert_eq!(back.certificates(), ["LEAF", "CA"]);
    }
}
