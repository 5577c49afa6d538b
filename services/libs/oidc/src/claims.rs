//! A token's claim set, parsed strictly. Its own module: the token verifier
//! ([`crate::token`]) produces it and the identity rules ([`crate::identity`])
//! read it, and neither should import the other for it.

use crate::json;
use crate::TokenError;
use serde_json::{Map, Value};

/// A token's claims: one JSON object, duplicate member names refused.
#[derive(Debug, Clone, PartialEq)]
pub struct Claims(Map<String, Value>);

impl Claims {
    /// Parses a claim set (e.g. a decoded JWT payload). Duplicate members,
    /// trailing data and non-objects are [`TokenError::Malformed`].
    pub fn from_json(bytes: &[u8]) -> Result<Self, TokenError> {
        json::parse_object(bytes).map(Claims).map_err(|e| TokenError::Malformed(format!("claims: {e}")))
    }

    /// One claim.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    /// One claim, if it is a string.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(Value::as_str)
    }

    /// All claims.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }
}
