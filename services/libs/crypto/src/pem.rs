//! PEM the way Go's `encoding/pem` writes it, and a decoder that tolerates
//! what clients actually send (CRLF line ends, text around the block).

use base64::{engine::general_purpose::STANDARD, Engine};

/// Encodes `der` as a PEM block: 64-character base64 lines, LF line ends,
/// trailing newline after the END line (Go `pem.EncodeToMemory` layout).
pub fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 2 * label.len() + 40);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        // base64 output is ASCII, so every chunk is valid UTF-8.
        out.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

/// Decodes every PEM block in `input`, in order, as `(label, der)`.
/// Blocks whose base64 is invalid are skipped. Headers are not supported.
pub fn pem_decode_all(input: &[u8]) -> Vec<(String, Vec<u8>)> {
    let Ok(text) = std::str::from_utf8(input) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start + "-----BEGIN ".len()..];
        let Some(label_end) = after.find("-----") else {
            break;
        };
        let label = &after[..label_end];
        let body_start = &after[label_end + 5..];
        let end_marker = format!("-----END {label}-----");
        let Some(end) = body_start.find(&end_marker) else {
            break;
        };
        let body: String = body_start[..end].chars().filter(|c| !c.is_ascii_whitespace()).collect();
        if let Ok(der) = STANDARD.decode(body.as_bytes()) {
            out.push((label.to_string(), der));
        }
        rest = &body_start[end + end_marker.len()..];
    }
    out
}

/// The DER of every `CERTIFICATE` block in `input`, in order (a chain file).
pub fn pem_certificates(input: &[u8]) -> Vec<Vec<u8>> {
    pem_decode_all(input).into_iter().filter(|(label, _)| label == "CERTIFICATE").map(|(_, der)| der).collect()
}

/// The first PEM block in `input`.
pub fn pem_decode_first(input: &[u8]) -> Option<(String, Vec<u8>)> {
    pem_decode_all(input).into_iter().next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_layout_matches_go() {
        let der = vec![0xabu8; 96]; // 128 base64 characters: two full lines
        let pem = pem_encode("PUBLIC KEY", &der);
        let lines: Vec<&str> = pem.split('\n').collect();
        assert_eq!(lines[0], "-----BEGIN PUBLIC KEY-----");
        assert_eq!(lines[1].len(), 64);
        assert_eq!(lines[3], "-----END PUBLIC KEY-----");
        assert_eq!(lines[4], "", "trailing newline");
        assert_eq!(pem_decode_first(pem.as_bytes()), Some(("PUBLIC KEY".into(), der)));
    }

    #[test]
    fn decodes_multiple_blocks_and_crlf() {
        let a = pem_encode("CERTIFICATE", b"one");
        let b = pem_encode("CERTIFICATE", b"two").replace('\n', "\r\n");
        let all = pem_decode_all(format!("junk\n{a}{b}").as_bytes());
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].1, b"two");
    }

    #[test]
    fn garbage_is_not_pem() {
        assert_eq!(pem_decode_first(b"hello"), None);
        assert_eq!(pem_decode_first(b"-----BEGIN X-----\n!!!\n-----END X-----\n"), None);
    }
}
