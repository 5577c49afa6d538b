//! The TSA over HTTP (through `app()`): DER and JSON queries get tokens
//! that verify against the served chain, and every kind of bad input gets a
//! clear 4xx with nothing signed.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use der::asn1::{Int, ObjectIdentifier, OctetString};
use der::{Any, Decode, Encode};
use http_body_util::BodyExt;
use sigstead_crypto::HashAlgorithm;
use sigstead_tsp::asn1::TimeStampResp;
use sigstead_tsp::{oid, verify_response, ExpectedImprint, VerifyError};
use tower::ServiceExt;
use x509_tsp::{MessageImprint, TimeStampReq, TspVersion};

struct Fixture {
    app: axum::Router,
    chain: Vec<Vec<u8>>,
    _dir: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = sigstead_tsa::init::init(dir.path(), "127.0.0.1:0", &Default::default()).unwrap();
    let config = sigstead_tsa::TsaConfig::load(&path).unwrap();
    let tsa = sigstead_tsa::open(&config).unwrap();
    let chain = tsa.authority().chain_der().to_vec();
    Fixture { app: sigstead_tsa::app(tsa, &config.http), chain, _dir: dir }
}

fn query(hash_oid: ObjectIdentifier, digest: &[u8], nonce: Option<&[u8]>, policy: Option<&str>) -> Vec<u8> {
    TimeStampReq {
        version: TspVersion::V1,
        message_imprint: MessageImprint {
            hash_algorithm: spki::AlgorithmIdentifier { oid: hash_oid, parameters: Some(Any::null()) },
            hashed_message: OctetString::new(digest).unwrap(),
        },
        req_policy: policy.map(ObjectIdentifier::new_unwrap),
        nonce: nonce.map(|n| Int::new(n).unwrap()),
        cert_req: true,
        extensions: None,
    }
    .to_der()
    .unwrap()
}

async fn post(app: &axum::Router, content_type: &str, body: Vec<u8>) -> (StatusCode, String, Vec<u8>) {
    let req =
        Request::post("/api/v1/timestamp").header(header::CONTENT_TYPE, content_type).body(Body::from(body)).unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let ct = resp.headers().get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    (status, ct, resp.into_body().collect().await.unwrap().to_bytes().to_vec())
}

fn digest(b: &[u8]) -> Vec<u8> {
    sigstead_crypto::digest(HashAlgorithm::Sha256, b)
}

#[tokio::test]
async fn der_and_json_queries_get_tokens_that_verify_against_the_served_chain() {
    let f = fixture();
    let d = digest(b"signature");
    let (status, ct, body) =
        post(&f.app, "application/timestamp-query", query(oid::SHA256, &d, Some(&[1, 2, 3]), None)).await;
    assert_eq!((status, ct.as_str()), (StatusCode::CREATED, "application/timestamp-reply"));
    let expected = ExpectedImprint { hash: HashAlgorithm::Sha256, digest: &d, nonce: Some(&[1, 2, 3]) };
    verify_response(&body, &expected, &f.chain).unwrap();

    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(&d);
    let json = serde_json::json!({"artifactHash": b64, "hashAlgorithm": "sha256"}).to_string();
    let (status, _, body) = post(&f.app, "application/json", json.into_bytes()).await;
    assert_eq!(status, StatusCode::CREATED);
    let v = verify_response(&body, &ExpectedImprint { nonce: None, ..expected.clone() }, &f.chain).unwrap();
    assert!(v.embedded_certificate, "sigstore-js sends no flag: the certificate is embedded");

    // The served chain is the one the tokens verify against.
    let resp =
        f.app.clone().oneshot(Request::get("/api/v1/timestamp/certchain").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(resp.headers()[header::CONTENT_TYPE], "application/pem-certificate-chain");
    let pem = resp.into_body().collect().await.unwrap().to_bytes();
    let served: Vec<Vec<u8>> = sigstead_crypto::pem_decode_all(&pem).into_iter().map(|(_, d)| d).collect();
    assert_eq!(served, f.chain);
}

#[tokio::test]
async fn serial_numbers_are_unique() {
    let f = fixture();
    let mut serials = std::collections::HashSet::new();
    for i in 0..200u32 {
        let d = digest(&i.to_be_bytes());
        let (_, _, body) = post(&f.app, "application/timestamp-query", query(oid::SHA256, &d, None, None)).await;
        let v =
            verify_response(&body, &ExpectedImprint { hash: HashAlgorithm::Sha256, digest: &d, nonce: None }, &f.chain)
                .unwrap();
        assert!(serials.insert(v.serial), "serial repeated at request {i}");
    }
}

/// Each bad input, the status it gets and the reason it carries.
#[tokio::test]
async fn bad_input_gets_a_clear_4xx_and_nothing_is_signed() {
    let f = fixture();
    let md5 = ObjectIdentifier::new_unwrap("1.2.840.113549.2.5");
    let d = digest(b"x");
    // Plain 4xx with a JSON message.
    for (name, ct, body, status, reason) in [
        (
            "garbage-der",
            "application/timestamp-query",
            b"\x30\x82\xff".to_vec(),
            StatusCode::BAD_REQUEST,
            "not an RFC 3161 TimeStampReq",
        ),
        ("empty-body", "application/timestamp-query", vec![], StatusCode::BAD_REQUEST, "not an RFC 3161 TimeStampReq"),
        (
            "wrong-content-type",
            "text/plain",
            query(oid::SHA256, &d, None, None),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type must be application/timestamp-query",
        ),
        (
            "no-content-type",
            "",
            query(oid::SHA256, &d, None, None),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type must be",
        ),
        (
            "bad-json",
            "application/json",
            b"{\"artifactHash\": 1}".to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid JSON timestamp request",
        ),
        (
            "json-not-base64",
            "application/json",
            br#"{"artifactHash": "%%", "hashAlgorithm": "sha256"}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            "artifactHash is not base64",
        ),
        (
            "oversized",
            "application/timestamp-query",
            vec![0x30; 20_000],
            StatusCode::PAYLOAD_TOO_LARGE,
            "exceeds the limit of 16384 bytes",
        ),
    ] {
        let (got, _, body) = post(&f.app, ct, body).await;
        assert_eq!(got, status, "{name}");
        let msg: serde_json::Value = serde_json::from_slice(&body).unwrap_or_else(|_| panic!("{name}: JSON body"));
        assert!(msg["message"].as_str().unwrap().contains(reason), "{name}: {msg}");
    }
    // Well-formed queries the TSA declines: a DER rejection with its failInfo.
    for (name, ct, body, fail_info) in [
        ("unknown-hash-algorithm", "application/timestamp-query", query(md5, &[0; 16], None, None), "badAlg"),
        (
            "digest-of-wrong-length",
            "application/timestamp-query",
            query(oid::SHA256, &[0; 20], None, None),
            "badDataFormat",
        ),
        (
            "unserved-policy",
            "application/timestamp-query",
            query(oid::SHA256, &d, None, Some("1.2.3.4")),
            "unacceptedPolicy",
        ),
        ("json-md5", "application/json", br#"{"artifactHash": "AAAA", "hashAlgorithm": "md5"}"#.to_vec(), "badAlg"),
    ] {
        let (status, ct, body) = post(&f.app, ct, body).await;
        assert_eq!((status, ct.as_str()), (StatusCode::BAD_REQUEST, "application/timestamp-reply"), "{name}");
        assert!(TimeStampResp::from_der(&body).unwrap().time_stamp_token.is_none(), "{name}: nothing signed");
        match verify_response(
            &body,
            &ExpectedImprint { hash: HashAlgorithm::Sha256, digest: &d, nonce: None },
            &f.chain,
        ) {
            Err(VerifyError::NotGranted { status: 2, fail_info: got, .. }) => {
                assert_eq!(got, vec![fail_info], "{name}")
            }
            other => panic!("{name}: {other:?}"),
        }
    }
    // The policy the TSA does serve is fine.
    let (status, _, _) =
        post(&f.app, "application/timestamp-query", query(oid::SHA256, &d, None, Some("1.3.6.1.4.1.57264.2"))).await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn readiness_probes_the_signer_and_metrics_count_tokens_and_rejections() {
    let f = fixture();
    let resp = f.app.clone().oneshot(Request::get("/readyz").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let d = digest(b"m");
    post(&f.app, "application/timestamp-query", query(oid::SHA256, &d, None, None)).await;
    post(&f.app, "application/timestamp-query", query(oid::SHA256, &[0; 3], None, None)).await;
    let resp = f.app.clone().oneshot(Request::get("/metrics").body(Body::empty()).unwrap()).await.unwrap();
    let text = String::from_utf8(resp.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    for metric in [
        "tsa_timestamps_issued_total{hash=\"sha256\"}",
        "tsa_rejections_total{reason=\"badDataFormat\"}",
        "tsa_signing_seconds",
    ] {
        assert!(text.contains(metric), "{metric} in\n{text}");
    }
}
