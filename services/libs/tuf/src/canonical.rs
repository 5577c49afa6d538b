//! OLPC canonical JSON, the form TUF signs (securesystemslib's
//! `encode_canonical`): sorted keys, no whitespace, only `"` and `\` escaped
//! in strings, integers only.

use crate::TufError;
use serde::Serialize;

/// The canonical JSON bytes of `value`.
pub fn to_canonical<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, TufError> {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, olpc_cjson::CanonicalFormatter::new());
    value.serialize(&mut ser).map_err(|e| TufError::Malformed(format!("not canonicalisable: {e}")))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_keys_drops_whitespace_and_escapes_only_quote_and_backslash() {
        let v: serde_json::Value =
            serde_json::from_str(r#"{ "b": [1, 2], "a": "x\"y\\z\n", "c": {"z": true, "y": null} }"#).unwrap();
        let c = to_canonical(&v).unwrap();
        assert_eq!(c, b"{\"a\":\"x\\\"y\\\\z\n\",\"b\":[1,2],\"c\":{\"y\":null,\"z\":true}}".to_vec());
    }

    #[test]
    fn refuses_floats() {
        let v: serde_json::Value = serde_json::from_str(r#"{"a": 1.5}"#).unwrap();
        assert!(to_canonical(&v).is_err());
    }
}
