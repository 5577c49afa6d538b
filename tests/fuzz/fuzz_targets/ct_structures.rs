//! CT structures read from the network: certificates and precertificates of
//! `add-chain` / `add-pre-chain`, embedded SCT lists, stored extra data.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = sigstead_ct::parse_sct_list_extension(data);
    let _ = sigstead_ct::final_cert_tbs_and_scts(data);
    let _ = sigstead_ct::precert_tbs(data);
    let _ = sigstead_ct::spki_hash(data);
    let _ = sigstead_ct::parse_extra_data(true, data);
    let _ = sigstead_ct::parse_extra_data(false, data);
});
