//! `POST /api/v1/timestamp` DER bodies (RFC 3161 TimeStampReq).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = sigstead_tsp::request::TimestampRequest::from_der(data);
});
