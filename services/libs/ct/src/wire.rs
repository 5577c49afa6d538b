//! RFC 6962 §4 JSON in one place: what the CT log answers, what the CA
//! sends it, and what the monitor and the tests read back. Field names as
//! the RFC spells them (snake_case); binary values base64. The SCT answer of
//! `add-chain` / `add-pre-chain` is [`crate::Sct::to_json`] /
//! [`crate::Sct::from_json`] (it is parsed next to the TLS encoding it
//! carries).

use serde::{Deserialize, Serialize};

/// `add-chain` / `add-pre-chain` request: base64 DER, leaf first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddChainRequest {
    pub chain: Vec<String>,
}

/// `get-sth`: the signed tree head (also the stored form of the CT log's checkpoints).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedTreeHead {
    pub tree_size: u64,
    /// Milliseconds since the epoch.
    pub timestamp: u64,
    pub sha256_root_hash: String,
    /// TLS `DigitallySigned` over the tree head, base64.
    pub tree_head_signature: String,
}

/// `get-sth-consistency`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsistencyProof {
    pub consistency: Vec<String>,
}

/// `get-proof-by-hash`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditProof {
    pub leaf_index: u64,
    pub audit_path: Vec<String>,
}

/// One entry of `get-entries`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeafEntry {
    /// The `MerkleTreeLeaf`, base64.
    pub leaf_input: String,
    /// The chain (`extra_data` of RFC 6962 §4.6), base64.
    pub extra_data: String,
}

/// `get-entries`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entries {
    pub entries: Vec<LeafEntry>,
}

/// `get-roots`: the accepted roots, base64 DER.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Roots {
    pub certificates: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6962 §4.3's example shape reads, and writes back with its names.
    #[test]
    fn signed_tree_head_has_the_rfcs_field_names() {
        let text = r#"{"tree_size":7,"timestamp":1000,"sha256_root_hash":"AA==","tree_head_signature":"BA=="}"#;
        let sth: SignedTreeHead = serde_json::from_str(text).unwrap();
        assert_eq!((sth.tree_size, sth.timestamp), (7, 1000));
        assert_eq!(serde_json::to_string(&sth).unwrap(), text);
        let e: Entries = serde_json::from_str(r#"{"entries":[{"leaf_input":"AQ==","extra_data":""}]}"#).unwrap();
        assert_eq!(e.entries[0].leaf_input, "AQ==");
    }
}
