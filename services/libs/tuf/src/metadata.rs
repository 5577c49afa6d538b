//! The four top-level roles and the signed envelope
//! (`{"signed": …, "signatures": [{"keyid", "sig"}]}`).

use crate::{canonical::to_canonical, keys, KeyId, TufError, TufKey};
use serde::{de::DeserializeOwned, Deserialize, Deserializer, Serialize, Serializer};
use sigstead_crypto::Signer;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use time::{format_description::well_known::Rfc3339, OffsetDateTime, UtcOffset};

/// The specification version Sigstead writes.
pub const SPEC_VERSION: &str = "1.0.31";

/// An expiry instant, serialised as `YYYY-MM-DDTHH:MM:SSZ` (whole seconds, UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Expiry(OffsetDateTime);

impl Expiry {
    /// `at`, truncated to whole seconds.
    pub fn at(at: OffsetDateTime) -> Self {
        let utc = at.to_offset(UtcOffset::UTC);
        Self(utc.replace_nanosecond(0).expect("0 ns is valid"))
    }
    pub fn instant(self) -> OffsetDateTime {
        self.0
    }
    /// True once `now` has reached the expiry (the specification: expired
    /// when the expiration timestamp is *not after* now).
    pub fn is_expired(self, now: OffsetDateTime) -> bool {
        self.0 <= now
    }
}

impl fmt::Display for Expiry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            d.year(),
            u8::from(d.month()),
            d.day(),
            d.hour(),
            d.minute(),
            d.second()
        )
    }
}

impl Serialize for Expiry {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Expiry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if !s.ends_with('Z') {
            return Err(serde::de::Error::custom("expires must be UTC, ending in Z"));
        }
        OffsetDateTime::parse(&s, &Rfc3339).map(Self::at).map_err(|e| serde::de::Error::custom(format!("expires: {e}")))
    }
}

/// The four top-level roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Root,
    Targets,
    Snapshot,
    Timestamp,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Root, Role::Targets, Role::Snapshot, Role::Timestamp];
    pub fn name(self) -> &'static str {
        match self {
            Role::Root => "root",
            Role::Targets => "targets",
            Role::Snapshot => "snapshot",
            Role::Timestamp => "timestamp",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.name() == s)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A role's keys and signature threshold, as listed in root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleKeys {
    pub keyids: Vec<KeyId>,
    pub threshold: u32,
}

/// Common shape of the four roles.
pub trait Metadata: Serialize + DeserializeOwned {
    const TYPE: &'static str;
    fn version(&self) -> u64;
    fn expires(&self) -> Expiry;
}

macro_rules! metadata_impl {
    ($t:ty, $name:literal) => {
        impl Metadata for $t {
            const TYPE: &'static str = $name;
            fn version(&self) -> u64 {
                self.version
            }
            fn expires(&self) -> Expiry {
                self.expires
            }
        }
    };
}

/// Root metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Root {
    #[serde(rename = "_type")]
    pub type_: String,
    pub spec_version: String,
    pub consistent_snapshot: bool,
    pub version: u64,
    pub expires: Expiry,
    pub keys: BTreeMap<KeyId, TufKey>,
    pub roles: BTreeMap<String, RoleKeys>,
}
metadata_impl!(Root, "root");

impl Root {
    /// A root listing `keys` per role with `thresholds`.
    pub fn new(version: u64, expires: Expiry, roles: &[(Role, Vec<TufKey>, u32)]) -> Result<Self, TufError> {
        let mut root = Root {
            type_: "root".into(),
            spec_version: SPEC_VERSION.into(),
            consistent_snapshot: true,
            version,
            expires,
            keys: BTreeMap::new(),
            roles: BTreeMap::new(),
        };
        for (role, role_keys, threshold) in roles {
            let mut keyids = Vec::new();
            for k in role_keys {
                let id = k.key_id();
                root.keys.insert(id.clone(), k.clone());
                if !keyids.contains(&id) {
                    keyids.push(id);
                }
            }
            root.roles.insert(role.name().into(), RoleKeys { keyids, threshold: *threshold });
        }
        root.validate()?;
        Ok(root)
    }

    /// The structural rules every root must satisfy before it is trusted:
    /// the four roles, satisfiable positive thresholds, every listed key
    /// present, and every key ID equal to the hash of its key (as tough and
    /// the specification's key ID definition require).
    pub fn validate(&self) -> Result<(), TufError> {
        if self.type_ != "root" {
            return Err(TufError::Invalid(format!("_type is {:?}, expected root", self.type_)));
        }
        if !self.spec_version.starts_with("1.") {
            return Err(TufError::Invalid(format!("unsupported spec_version {}", self.spec_version)));
        }
        if self.version == 0 {
            return Err(TufError::Invalid("version must be at least 1".into()));
        }
        for (id, key) in &self.keys {
            if key.key_id() != *id {
                return Err(TufError::Invalid(format!("key ID {id} is not the hash of its key ({})", key.key_id())));
            }
        }
        for role in Role::ALL {
            let rk = self.role(role).ok_or_else(|| TufError::Invalid(format!("root lists no {role} role")))?;
            let distinct: BTreeSet<&KeyId> = rk.keyids.iter().collect();
            if rk.threshold == 0 {
                return Err(TufError::Invalid(format!("{role} threshold is 0")));
            }
            if distinct.len() < usize::try_from(rk.threshold).unwrap_or(usize::MAX) {
                return Err(TufError::Invalid(format!(
                    "{role} threshold {} exceeds its {} keys",
                    rk.threshold,
                    distinct.len()
                )));
            }
            if let Some(missing) = rk.keyids.iter().find(|k| !self.keys.contains_key(k)) {
                return Err(TufError::Invalid(format!("{role} key {missing} is not listed in keys")));
            }
        }
        Ok(())
    }

    pub fn role(&self, role: Role) -> Option<&RoleKeys> {
        self.roles.get(role.name())
    }
}

/// A `meta` entry in timestamp or snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaFile {
    pub version: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hashes: Option<BTreeMap<String, String>>,
}

impl MetaFile {
    /// A meta entry pinning `bytes` by version, length and SHA-256.
    pub fn pinned(version: u64, bytes: &[u8]) -> Self {
        Self {
            version,
            length: Some(u64::try_from(bytes.len()).expect("length fits u64")),
            hashes: Some(BTreeMap::from([("sha256".to_string(), crate::sha256_hex(bytes))])),
        }
    }
}

/// Timestamp metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timestamp {
    #[serde(rename = "_type")]
    pub type_: String,
    pub spec_version: String,
    pub version: u64,
    pub expires: Expiry,
    pub meta: BTreeMap<String, MetaFile>,
}
metadata_impl!(Timestamp, "timestamp");

impl Timestamp {
    pub fn new(version: u64, expires: Expiry, snapshot: MetaFile) -> Self {
        Self {
            type_: "timestamp".into(),
            spec_version: SPEC_VERSION.into(),
            version,
            expires,
            meta: BTreeMap::from([("snapshot.json".to_string(), snapshot)]),
        }
    }
    pub fn snapshot_meta(&self) -> Option<&MetaFile> {
        self.meta.get("snapshot.json")
    }
}

/// Snapshot metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    #[serde(rename = "_type")]
    pub type_: String,
    pub spec_version: String,
    pub version: u64,
    pub expires: Expiry,
    pub meta: BTreeMap<String, MetaFile>,
}
metadata_impl!(Snapshot, "snapshot");

impl Snapshot {
    pub fn new(version: u64, expires: Expiry, targets: MetaFile) -> Self {
        Self {
            type_: "snapshot".into(),
            spec_version: SPEC_VERSION.into(),
            version,
            expires,
            meta: BTreeMap::from([("targets.json".to_string(), targets)]),
        }
    }
    pub fn targets_meta(&self) -> Option<&MetaFile> {
        self.meta.get("targets.json")
    }
}

/// A target file's length, hashes and optional custom data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetFile {
    pub length: u64,
    pub hashes: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom: Option<serde_json::Value>,
}

impl TargetFile {
    /// Describes `bytes` (SHA-256 only).
    pub fn describe(bytes: &[u8], custom: Option<serde_json::Value>) -> Self {
        Self {
            length: u64::try_from(bytes.len()).expect("length fits u64"),
            hashes: BTreeMap::from([("sha256".to_string(), crate::sha256_hex(bytes))]),
            custom,
        }
    }
    /// The SHA-256 under which the file is served (`targets/<sha256>.<name>`).
    pub fn sha256(&self) -> Option<&str> {
        self.hashes.get("sha256").map(String::as_str)
    }
    /// True when `bytes` has this length and every listed hash we know matches
    /// (at least one must be SHA-256 or SHA-512).
    pub fn matches(&self, bytes: &[u8]) -> bool {
        u64::try_from(bytes.len()).ok() == Some(self.length) && hashes_match(&self.hashes, bytes)
    }
}

/// True when every listed hash Sigstead knows (SHA-256, SHA-512) matches
/// `bytes` and at least one was checked.
pub fn hashes_match(hashes: &BTreeMap<String, String>, bytes: &[u8]) -> bool {
    use sha2::Digest;
    let mut checked = 0;
    for (alg, want) in hashes {
        let got = match alg.as_str() {
            "sha256" => hex::encode(sha2::Sha256::digest(bytes)),
            "sha512" => hex::encode(sha2::Sha512::digest(bytes)),
            _ => continue,
        };
        if !got.eq_ignore_ascii_case(want) {
            return false;
        }
        checked += 1;
    }
    checked > 0
}

/// Targets metadata (top-level; Sigstead writes no delegations).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Targets {
    #[serde(rename = "_type")]
    pub type_: String,
    pub spec_version: String,
    pub version: u64,
    pub expires: Expiry,
    pub targets: BTreeMap<String, TargetFile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delegations: Option<serde_json::Value>,
}
metadata_impl!(Targets, "targets");

impl Targets {
    pub fn new(version: u64, expires: Expiry, targets: BTreeMap<String, TargetFile>) -> Self {
        Self {
            type_: "targets".into(),
            spec_version: SPEC_VERSION.into(),
            version,
            expires,
            targets,
            delegations: None,
        }
    }
}

/// One signature in an envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    pub keyid: KeyId,
    pub sig: String,
}

/// A signed metadata file: the `signed` object exactly as received (so the
/// canonical form signed over includes fields we do not model) and its
/// signatures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    pub signed: serde_json::Value,
    pub signatures: Vec<Signature>,
}

impl Envelope {
    /// An unsigned envelope around `signed`.
    pub fn new<T: Metadata>(signed: &T) -> Result<Self, TufError> {
        let signed = serde_json::to_value(signed).map_err(|e| TufError::Malformed(e.to_string()))?;
        Ok(Self { signed, signatures: Vec::new() })
    }

    /// Parses a metadata file.
    pub fn parse(bytes: &[u8]) -> Result<Self, TufError> {
        let env: Envelope = serde_json::from_slice(bytes).map_err(|e| TufError::Malformed(e.to_string()))?;
        if !env.signed.is_object() {
            return Err(TufError::Malformed("signed is not an object".into()));
        }
        Ok(env)
    }

    /// The `_type` of the signed object.
    pub fn type_name(&self) -> Option<&str> {
        self.signed.get("_type").and_then(|t| t.as_str())
    }

    /// The typed content, refusing a different `_type`.
    pub fn signed_as<T: Metadata>(&self) -> Result<T, TufError> {
        match self.type_name() {
            Some(t) if t == T::TYPE => {}
            other => return Err(TufError::Invalid(format!("expected {} metadata, found _type {other:?}", T::TYPE))),
        }
        serde_json::from_value(self.signed.clone())
            .map_err(|e| TufError::Malformed(format!("{} metadata: {e}", T::TYPE)))
    }

    /// The bytes signatures are computed over.
    pub fn canonical_signed(&self) -> Result<Vec<u8>, TufError> {
        to_canonical(&self.signed)
    }

    /// Adds (or replaces) the signature of `signer`.
    pub fn sign(&mut self, signer: &dyn Signer) -> Result<KeyId, TufError> {
        let (keyid, sig) = keys::sign(signer, &self.canonical_signed()?)?;
        self.signatures.retain(|s| s.keyid != keyid);
        self.signatures.push(Signature { keyid: keyid.clone(), sig });
        Ok(keyid)
    }

    /// Counts the distinct keys of `role` whose signature verifies, and fails
    /// unless they reach its threshold.
    pub fn verify_threshold(&self, role: &RoleKeys, keys: &BTreeMap<KeyId, TufKey>) -> Result<usize, TufError> {
        let message = self.canonical_signed()?;
        let mut good = BTreeSet::new();
        for s in &self.signatures {
            if good.contains(&s.keyid) || !role.keyids.contains(&s.keyid) {
                continue;
            }
            if let Some(key) = keys.get(&s.keyid) {
                if key.verify(&message, &s.sig) {
                    good.insert(s.keyid.clone());
                }
            }
        }
        let need = usize::try_from(role.threshold).unwrap_or(usize::MAX);
        if good.len() < need {
            return Err(TufError::Invalid(format!("{} of {} required signatures verify", good.len(), role.threshold)));
        }
        Ok(good.len())
    }

    /// The file as written to the repository (indented JSON and a final newline).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).expect("an envelope serialises");
        out.push(b'\n');
        out
    }
}
