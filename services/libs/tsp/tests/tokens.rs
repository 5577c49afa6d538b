//! Tokens issued by `TimestampAuthority` verify, rejections carry their
//! failInfo, hostile responses are refused with their reason, and real
//! upstream (timestamp.sigstage.dev) responses verify with the same code.

use der::asn1::{Int, ObjectIdentifier, OctetString};
use der::{Any, Decode, Encode};
use sigstead_crypto::{EcCurve, EcdsaSigner, HashAlgorithm, Signer};
use sigstead_tsp::asn1::TimeStampResp;
use sigstead_tsp::{
    oid, rejection_response, verify_response, AuthorityError, ExpectedImprint, FailureInfo, IssueError, RequestError,
    TimestampAuthority, TimestampRequest, TsaSettings, VerifyError,
};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use x509_tsp::{MessageImprint, TimeStampReq, TspVersion, TstInfo};

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../../shared/vectors/tsa/rfc3161-client");

fn chain(curve: EcCurve, intermediate: bool) -> (Arc<dyn Signer>, Vec<Vec<u8>>) {
    let leaf: Arc<dyn Signer> = Arc::new(EcdsaSigner::generate(curve));
    let chain = sigstead_ca::generate_tsa_chain(&sigstead_ca::TsaChainRequest {
        organization: "tokens test".into(),
        root_key: Arc::new(EcdsaSigner::generate(EcCurve::P384)),
        intermediate_key: intermediate.then(|| Arc::new(EcdsaSigner::generate(EcCurve::P384)) as Arc<dyn Signer>),
        leaf_key: leaf.clone(),
        not_before: time::OffsetDateTime::now_utc() - time::Duration::minutes(5),
        years: 1,
    })
    .unwrap();
    (leaf, chain)
}

fn authority(curve: EcCurve) -> TimestampAuthority {
    let (key, chain) = chain(curve, true);
    TimestampAuthority::new(key, chain, TsaSettings::default()).unwrap()
}

fn der_request(hash_oid: ObjectIdentifier, digest: &[u8], nonce: Option<&[u8]>, cert_req: bool) -> Vec<u8> {
    TimeStampReq {
        version: TspVersion::V1,
        message_imprint: MessageImprint {
            hash_algorithm: spki::AlgorithmIdentifier { oid: hash_oid, parameters: Some(Any::null()) },
            hashed_message: OctetString::new(digest).unwrap(),
        },
        req_policy: None,
        nonce: nonce.map(|n| Int::new(n).unwrap()),
        cert_req,
        extensions: None,
    }
    .to_der()
    .unwrap()
}

fn sha256(b: &[u8]) -> Vec<u8> {
    sigstead_crypto::digest(HashAlgorithm::Sha256, b)
}

#[test]
fn a_der_request_gets_a_token_that_verifies_with_nonce_certificate_and_serial() {
    for curve in [EcCurve::P256, EcCurve::P384] {
        let tsa = authority(curve);
        let digest = sha256(b"signature bytes");
        let nonce = [0x31, 0x4c, 0xfc, 0xe4, 0xe0, 0x65, 0x18, 0x27];
        let req = TimestampRequest::from_der(&der_request(oid::SHA256, &digest, Some(&nonce), true)).unwrap();
        let now = SystemTime::UNIX_EPOCH
            + Duration::from_secs(SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs());
        let resp = tsa.issue(&req, &[0x01, 0x02, 0x03], now).unwrap();
        let expected = ExpectedImprint { hash: HashAlgorithm::Sha256, digest: &digest, nonce: Some(&nonce) };
        let v = verify_response(&resp, &expected, tsa.chain_der()).unwrap();
        assert_eq!((v.gen_time, v.serial.as_slice(), v.policy), (now, &[1u8, 2, 3][..], oid::SIGSTORE_TSA_POLICY));
        assert!(v.embedded_certificate, "certReq set: the TSA certificate is in the token");

        // Without certReq the certificate is left out, and the token still verifies against the chain.
        let req = TimestampRequest::from_der(&der_request(oid::SHA256, &digest, None, false)).unwrap();
        let resp = tsa.issue(&req, &[0x04], now).unwrap();
        let v = verify_response(&resp, &ExpectedImprint { nonce: None, ..expected.clone() }, tsa.chain_der()).unwrap();
        assert!(!v.embedded_certificate);
    }
}

#[test]
fn the_signer_info_uses_the_curves_digest_and_sorted_attributes() {
    for (curve, digest_oid, sig_oid) in
        [(EcCurve::P256, oid::SHA256, oid::ECDSA_WITH_SHA256), (EcCurve::P384, oid::SHA384, oid::ECDSA_WITH_SHA384)]
    {
        let tsa = authority(curve);
        let req = TimestampRequest::from_der(&der_request(oid::SHA256, &sha256(b"x"), None, true)).unwrap();
        let resp = TimeStampResp::from_der(&tsa.issue(&req, &[9], SystemTime::now()).unwrap()).unwrap();
        let sd: cms::signed_data::SignedData = resp.time_stamp_token.unwrap().content.decode_as().unwrap();
        let si = &sd.signer_infos.0.as_slice()[0];
        assert_eq!((si.digest_alg.oid, si.signature_algorithm.oid), (digest_oid, sig_oid));
        let encoded: Vec<Vec<u8>> = si.signed_attrs.as_ref().unwrap().iter().map(|a| a.to_der().unwrap()).collect();
        let mut sorted = encoded.clone();
        sorted.sort();
        assert_eq!(encoded, sorted, "SET OF in DER order");
        let oids: Vec<_> = si.signed_attrs.as_ref().unwrap().iter().map(|a| a.oid).collect();
        for want in [oid::CONTENT_TYPE, oid::MESSAGE_DIGEST, oid::SIGNING_CERTIFICATE_V2] {
            assert!(oids.contains(&want), "{want} present");
        }
        let tst: OctetString = sd.encap_content_info.econtent.unwrap().decode_as().unwrap();
        let tst = TstInfo::from_der(tst.as_bytes()).unwrap();
        assert_eq!(tst.accuracy.unwrap().seconds, Some(1), "default accuracy 1 s");
        assert!(tst.tsa.is_some(), "the TSA names itself");
    }
}

#[test]
fn sigstore_js_json_fields_make_the_same_request() {
    let digest = sha256(b"js");
    let req = TimestampRequest::from_json_fields(digest.clone(), "sha256", Some(42), true, None).unwrap();
    assert_eq!((req.hash, req.digest(), req.cert_req), (HashAlgorithm::Sha256, digest.as_slice(), true));
    let tsa = authority(EcCurve::P256);
    let resp = tsa.issue(&req, &[7], SystemTime::now()).unwrap();
    let nonce = sigstead_tsp::nonce_from_u64(42);
    assert_eq!(nonce.as_bytes(), [42]);
    assert_eq!(sigstead_tsp::nonce_from_u64(0).as_bytes(), [0]);
    assert_eq!(sigstead_tsp::nonce_from_u64(u64::MAX).as_bytes(), [0, 255, 255, 255, 255, 255, 255, 255, 255]);
    verify_response(
        &resp,
        &ExpectedImprint { hash: HashAlgorithm::Sha256, digest: &digest, nonce: Some(nonce.as_bytes()) },
        tsa.chain_der(),
    )
    .unwrap();
    let err = TimestampRequest::from_json_fields(digest.clone(), "md5", None, false, None).unwrap_err();
    assert!(matches!(&err, RequestError::Declined(r) if r.failure == FailureInfo::BadAlg), "{err}");
    let err = TimestampRequest::from_json_fields(vec![0; 20], "sha256", None, false, None).unwrap_err();
    assert!(matches!(&err, RequestError::Declined(r) if r.failure == FailureInfo::BadDataFormat), "{err}");
    let err = TimestampRequest::from_json_fields(digest, "sha256", None, false, Some("not.an.oid")).unwrap_err();
    assert!(matches!(&err, RequestError::Declined(r) if r.failure == FailureInfo::BadRequest), "{err}");
}

/// Each hostile or unsupported query, and the failInfo it gets.
#[test]
fn declined_queries_carry_their_fail_info_and_nothing_is_signed() {
    let tsa = authority(EcCurve::P256);
    let md5 = ObjectIdentifier::new_unwrap("1.2.840.113549.2.5");
    let cases: Vec<(&str, Vec<u8>, FailureInfo, &str)> = vec![
        (
            "unknown-hash-algorithm",
            der_request(md5, &[0; 16], None, true),
            FailureInfo::BadAlg,
            "unsupported hash algorithm",
        ),
        ("digest-too-short", der_request(oid::SHA256, &[0; 31], None, true), FailureInfo::BadDataFormat, "not 31"),
        (
            "digest-of-another-length",
            der_request(oid::SHA384, &[0; 32], None, true),
            FailureInfo::BadDataFormat,
            "48 bytes",
        ),
        (
            "unserved-policy",
            {
                let mut r = TimeStampReq::from_der(&der_request(oid::SHA256, &[0; 32], None, true)).unwrap();
                r.req_policy = Some(ObjectIdentifier::new_unwrap("1.2.3.4"));
                r.to_der().unwrap()
            },
            FailureInfo::UnacceptedPolicy,
            "policy 1.2.3.4 is not served",
        ),
        (
            "request-extension",
            {
                let mut r = TimeStampReq::from_der(&der_request(oid::SHA256, &[0; 32], None, true)).unwrap();
                r.extensions = Some(vec![x509_cert::ext::Extension {
                    extn_id: ObjectIdentifier::new_unwrap("1.2.3.5"),
                    critical: false,
                    extn_value: OctetString::new(vec![5, 0]).unwrap(),
                }]);
                r.to_der().unwrap()
            },
            FailureInfo::UnacceptedExtension,
            "extensions are not supported",
        ),
    ];
    for (name, der, failure, reason) in cases {
        let rejection = match TimestampRequest::from_der(&der) {
            Err(RequestError::Declined(r)) => r,
            Ok(req) => match tsa.issue(&req, &[1], SystemTime::now()) {
                Err(IssueError::Declined(r)) => r,
                other => panic!("{name}: issued {other:?}"),
            },
            Err(e) => panic!("{name}: {e}"),
        };
        assert_eq!(rejection.failure, failure, "{name}");
        assert!(rejection.reason.contains(reason), "{name}: {}", rejection.reason);
        let resp = rejection_response(&rejection);
        let parsed = TimeStampResp::from_der(&resp).unwrap();
        assert!(parsed.time_stamp_token.is_none(), "{name}: nothing signed");
        match verify_response(
            &resp,
            &ExpectedImprint { hash: HashAlgorithm::Sha256, digest: &[], nonce: None },
            tsa.chain_der(),
        ) {
            Err(VerifyError::NotGranted { status: 2, fail_info, text }) => {
                assert_eq!(fail_info, vec![failure.name()], "{name}");
                assert_eq!(text, vec![rejection.reason.clone()], "{name}");
            }
            other => panic!("{name}: {other:?}"),
        }
    }
    for (name, garbage) in [
        ("garbage-der", b"\x30\x03\x02\x01".to_vec()),
        ("not-der", b"hello".to_vec()),
        ("version-2", {
            let mut d = der_request(oid::SHA256, &[0; 32], None, true);
            d[4] = 2; // SEQUENCE, len, INTEGER, len 1, value
            d
        }),
    ] {
        assert!(matches!(TimestampRequest::from_der(&garbage), Err(RequestError::Malformed(_))), "{name}");
    }
}

#[test]
fn hostile_responses_are_refused_with_their_reason() {
    let tsa = authority(EcCurve::P256);
    let digest = sha256(b"sig");
    let req = TimestampRequest::from_der(&der_request(oid::SHA256, &digest, Some(&[5]), true)).unwrap();
    let resp = tsa.issue(&req, &[1], SystemTime::now()).unwrap();
    let expected = ExpectedImprint { hash: HashAlgorithm::Sha256, digest: &digest, nonce: Some(&[5]) };
    verify_response(&resp, &expected, tsa.chain_der()).unwrap();

    // tampered-signature: the last bytes of the response are the signature's.
    let mut tampered = resp.clone();
    let n = tampered.len();
    tampered[n - 3] ^= 1;
    assert_eq!(verify_response(&tampered, &expected, tsa.chain_der()), Err(VerifyError::BadSignature));
    // another-imprint: the token covers another signature.
    let other = sha256(b"other sig");
    let wrong = ExpectedImprint { digest: &other, ..expected.clone() };
    assert_eq!(verify_response(&resp, &wrong, tsa.chain_der()), Err(VerifyError::ImprintMismatch));
    // replayed-nonce: the nonce of another request.
    let wrong = ExpectedImprint { nonce: Some(&[6]), ..expected.clone() };
    assert_eq!(verify_response(&resp, &wrong, tsa.chain_der()), Err(VerifyError::NonceMismatch));
    // other-tsa: a token from an authority the verifier does not trust.
    let other_tsa = authority(EcCurve::P256);
    assert_eq!(verify_response(&resp, &expected, other_tsa.chain_der()), Err(VerifyError::SignerNotTrusted));
    // tampered-gen-time: a changed TSTInfo no longer matches its messageDigest.
    let mut parsed = TimeStampResp::from_der(&resp).unwrap();
    let token = parsed.time_stamp_token.as_mut().unwrap();
    let mut sd: cms::signed_data::SignedData = token.content.decode_as().unwrap();
    let tst: OctetString = sd.encap_content_info.econtent.as_ref().unwrap().decode_as().unwrap();
    let mut tst = TstInfo::from_der(tst.as_bytes()).unwrap();
    tst.gen_time =
        der::asn1::GeneralizedTime::from_system_time(SystemTime::now() + Duration::from_secs(86400)).unwrap();
    sd.encap_content_info.econtent = Some(Any::encode_from(&OctetString::new(tst.to_der().unwrap()).unwrap()).unwrap());
    token.content = Any::encode_from(&sd).unwrap();
    assert_eq!(
        verify_response(&parsed.to_der().unwrap(), &expected, tsa.chain_der()),
        Err(VerifyError::MessageDigestMismatch)
    );
}

#[test]
fn the_authority_refuses_a_chain_that_does_not_fit_its_key() {
    let (key, chain) = chain(EcCurve::P256, false);
    let other: Arc<dyn Signer> = Arc::new(EcdsaSigner::generate_p256());
    assert_eq!(
        TimestampAuthority::new(other, chain.clone(), TsaSettings::default()).unwrap_err(),
        AuthorityError::KeyMismatch
    );
    // A code-signing CA certificate as the leaf: no critical timeStamping EKU.
    let root = Arc::new(EcdsaSigner::generate_p256());
    let (_, inter) = sigstead_ca::generate_ca("x", root, key.clone(), time::OffsetDateTime::now_utc(), 1).unwrap();
    let err = TimestampAuthority::new(key.clone(), vec![inter], TsaSettings::default()).unwrap_err();
    assert!(matches!(err, AuthorityError::NotATimestampingCertificate(_)), "{err}");
    assert_eq!(TimestampAuthority::new(key, vec![], TsaSettings::default()).unwrap_err(), AuthorityError::EmptyChain);
}

fn pem_chain(path: &str) -> Vec<Vec<u8>> {
    sigstead_crypto::pem_decode_all(&std::fs::read(path).unwrap()).into_iter().map(|(_, der)| der).collect()
}

/// Responses from upstream's timestamp.sigstage.dev, for "hello".
#[test]
fn upstream_sigstage_responses_verify_and_a_bad_signature_is_caught() {
    let chain = pem_chain(&format!("{VECTORS}/sigstage/ts_chain.pem"));
    for (file, hash) in [
        ("response-sha256.tsr", HashAlgorithm::Sha256),
        ("response-sha384.tsr", HashAlgorithm::Sha384),
        ("response-sha512.tsr", HashAlgorithm::Sha512),
    ] {
        let resp = std::fs::read(format!("{VECTORS}/sigstage/{file}")).unwrap();
        let digest = sigstead_crypto::digest(hash, b"hello");
        let v = verify_response(&resp, &ExpectedImprint { hash, digest: &digest, nonce: None }, &chain).unwrap();
        assert!(v.embedded_certificate, "{file}");
    }
    let resp = std::fs::read(format!("{VECTORS}/sigstage/response-no-embedded-cert.tsr")).unwrap();
    let digest = sigstead_crypto::digest(HashAlgorithm::Sha256, b"hello");
    let expected = ExpectedImprint { hash: HashAlgorithm::Sha256, digest: &digest, nonce: None };
    let v = verify_response(&resp, &expected, &chain).unwrap();
    assert!(!v.embedded_certificate);
    let resp = std::fs::read(format!("{VECTORS}/sigstage/response-invalid-signature.tsr")).unwrap();
    assert_eq!(verify_response(&resp, &expected, &chain), Err(VerifyError::BadSignature));
}
