//! PKCS#10 CSRs (PEM or DER) as the CA checks them: parse, self-signature
//! (the proof of possession), requested extensions.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = sigstead_ca::csr::verify_csr(data);
});
