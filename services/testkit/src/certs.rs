//! Certificates for tests that need a Fulcio-shaped identity without a CA.

/// A self-signed certificate with an e-mail SAN and the Fulcio issuer
/// extension (OID 1.3.6.1.4.1.57264.1.8, UTF8String), as PEM: what the
/// monitor's identity rules and the explorer's issuer search read.
pub fn fulcio_like_cert(email: &str, issuer: &str) -> String {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    params.subject_alt_names = vec![rcgen::SanType::Rfc822Name(email.try_into().expect("an e-mail address"))];
    let mut value = vec![0x0c, u8::try_from(issuer.len()).expect("an issuer URL under 128 bytes")];
    value.extend_from_slice(issuer.as_bytes());
    params.custom_extensions = vec![rcgen::CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 57264, 1, 8], value)];
    let key = rcgen::KeyPair::generate().expect("key");
    let der = params.self_signed(&key).expect("self-signed").der().to_vec();
    let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, der);
    let lines: Vec<&str> = b64.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).expect("base64")).collect();
    format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", lines.join("\n"))
}
