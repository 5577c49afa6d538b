//! Attack fixtures: small repositories, each one attack named after it,
//! used by this crate's tests, by `sigstead mirror`'s tests, and written to
//! disk (`sigstead tuf attack-fixtures DIR`) so that python-tuf and tough can
//! cross-check them in the end-to-end tests.
//!
//! Every fixture is bootstrapped from the same `1.root.json`. A fixture with
//! a `baseline` is a rollback: a client first refreshes from the baseline (a
//! good, newer repository) and must then refuse `repo`.

use crate::metadata::{Envelope, Expiry, MetaFile, Role, Root, Timestamp};
use crate::repo::{self, root_path, snapshot_path, targets_path, TIMESTAMP_PATH};
use crate::{KeyId, TufError, TufKey};
use sigstead_crypto::{EcdsaSigner, Ed25519Signer, Signer};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// Files of a repository, by path relative to its base URL.
pub type Files = BTreeMap<String, Vec<u8>>;

/// One fixture.
#[derive(Debug, Clone)]
pub struct Fixture {
    /// The attack, e.g. `rollback-timestamp`.
    pub name: &'static str,
    /// What is wrong, for humans.
    pub attack: &'static str,
    /// True for the two good repositories every client must accept.
    pub good: bool,
    /// A newer good repository the client refreshes from first (rollbacks).
    pub baseline: Option<Files>,
    /// The repository the client must refuse (or accept, when `good`).
    pub repo: Files,
    /// The pinned root every client starts from.
    pub root1: Vec<u8>,
}

struct Keys {
    root: Vec<Box<dyn Signer>>,
    targets: Box<dyn Signer>,
    targets_new: Box<dyn Signer>,
    snapshot: Box<dyn Signer>,
    timestamp: Box<dyn Signer>,
}

fn key(s: &dyn Signer) -> TufKey {
    TufKey::from_spki_der(s.public_key_der()).expect("fixture keys are TUF keys")
}

struct Gen {
    now: OffsetDateTime,
    keys: Keys,
}

impl Gen {
    fn far(&self) -> Expiry {
        repo::expires_in(self.now, 30 * 86_400)
    }

    fn root(&self, version: u64, targets_key: &dyn Signer) -> Root {
        let k = &self.keys;
        Root::new(
            version,
            self.far(),
            &[
                (Role::Root, k.root.iter().map(|s| key(s.as_ref())).collect(), 2),
                (Role::Targets, vec![key(targets_key)], 1),
                (Role::Snapshot, vec![key(k.snapshot.as_ref())], 1),
                (Role::Timestamp, vec![key(k.timestamp.as_ref())], 1),
            ],
        )
        .expect("fixture root is valid")
    }

    fn root_signers(&self) -> Vec<&dyn Signer> {
        self.keys.root.iter().take(2).map(|s| s.as_ref()).collect()
    }

    fn bytes<T: crate::metadata::Metadata>(m: &T, signers: &[&dyn Signer]) -> Vec<u8> {
        repo::sign(m, signers).expect("fixture signs").to_bytes()
    }

    /// Publishes targets version `v` (content `label`), its snapshot `v` and timestamp `v`.
    fn publish(&self, files: &mut Files, v: u64, label: &str, targets_key: &dyn Signer) {
        let trusted_root = format!(
            "{{\"mediaType\":\"application/vnd.dev.sigstore.trustedroot+json;version=0.1\",\"fixture\":\"{label}\"}}\n"
        );
        let signing_config = format!(
            "{{\"mediaType\":\"application/vnd.dev.sigstore.signingconfig.v0.2+json\",\"fixture\":\"{label}\"}}\n"
        );
        let content: Files = BTreeMap::from([
            ("trusted_root.json".to_string(), trusted_root.into_bytes()),
            ("signing_config.v0.2.json".to_string(), signing_config.into_bytes()),
        ]);
        let targets = repo::targets_for(v, self.far(), &content).expect("fixture targets");
        for (name, bytes) in &content {
            let path = repo::target_path(name, &targets.targets[name]).expect("sha256 listed");
            files.insert(path, bytes.clone());
        }
        let tb = Self::bytes(&targets, &[targets_key]);
        let snapshot = repo::snapshot_for(v, self.far(), v, &tb);
        let sb = Self::bytes(&snapshot, &[self.keys.snapshot.as_ref()]);
        let ts = repo::timestamp_for(v, self.far(), v, &sb);
        files.insert(targets_path(v), tb);
        files.insert(snapshot_path(v), sb);
        files.insert(TIMESTAMP_PATH.into(), Self::bytes(&ts, &[self.keys.timestamp.as_ref()]));
    }
}

/// Builds every fixture with fresh keys, valid for 30 days from `now`.
pub fn all(now: OffsetDateTime) -> Result<Vec<Fixture>, TufError> {
    let keys = Keys {
        root: vec![
            Box::new(Ed25519Signer::generate()),
            Box::new(Ed25519Signer::generate()),
            Box::new(EcdsaSigner::generate_p256()),
        ],
        targets: Box::new(EcdsaSigner::generate_p256()),
        targets_new: Box::new(Ed25519Signer::generate()),
        snapshot: Box::new(Ed25519Signer::generate()),
        timestamp: Box::new(Ed25519Signer::generate()),
    };
    let g = Gen { now, keys };
    let t1 = g.keys.targets.as_ref();
    let root1 = Gen::bytes(&g.root(1, t1), &g.root_signers());

    // Version 1 of everything, and version 2 of targets/snapshot/timestamp.
    let mut v1 = Files::from([(root_path(1), root1.clone())]);
    g.publish(&mut v1, 1, "v1", t1);
    let mut v2 = v1.clone();
    g.publish(&mut v2, 2, "v2", t1);
    let ts_v1 = v1[TIMESTAMP_PATH].clone();

    let mut out = Vec::new();
    let mut push = |name, attack, good, baseline: Option<&Files>, repo: Files| {
        out.push(Fixture { name, attack, good, baseline: baseline.cloned(), repo, root1: root1.clone() })
    };

    push("good", "none: a current repository with targets version 2", true, None, v2.clone());

    // A root rotation: threshold kept at 2 of 3 but the targets key replaced
    // (the old one revoked); signed by the old and the new root keys.
    let root2 = Gen::bytes(&g.root(2, g.keys.targets_new.as_ref()), &g.root_signers());
    let mut rotated = v1.clone();
    rotated.insert(root_path(2), root2.clone());
    g.publish(&mut rotated, 2, "rotated", g.keys.targets_new.as_ref());
    push("good-root-rotation", "none: root 2 replaces the targets key", true, None, rotated.clone());

    // Rollbacks, each after the client has seen version 2.
    let mut r = v2.clone();
    r.insert(TIMESTAMP_PATH.into(), ts_v1);
    push("rollback-timestamp", "timestamp version 1 served after version 2", false, Some(&v2), r);

    let mut r = v2.clone();
    let ts = repo::timestamp_for(3, g.far(), 1, &v2[&snapshot_path(1)]);
    r.insert(TIMESTAMP_PATH.into(), Gen::bytes(&ts, &[g.keys.timestamp.as_ref()]));
    push("rollback-snapshot", "a new timestamp naming snapshot version 1 after version 2", false, Some(&v2), r);

    let mut r = v2.clone();
    let snap = repo::snapshot_for(3, g.far(), 1, &v2[&targets_path(1)]);
    let sb = Gen::bytes(&snap, &[g.keys.snapshot.as_ref()]);
    let ts = repo::timestamp_for(3, g.far(), 3, &sb);
    r.insert(snapshot_path(3), sb);
    r.insert(TIMESTAMP_PATH.into(), Gen::bytes(&ts, &[g.keys.timestamp.as_ref()]));
    push("rollback-targets", "a new snapshot naming targets version 1 after version 2", false, Some(&v2), r);

    let mut r = rotated.clone();
    r.insert(root_path(3), root1.clone());
    push("rollback-root", "3.root.json holds the old root version 1", false, Some(&rotated), r);

    // Freeze: a validly signed but expired timestamp.
    let mut r = v1.clone();
    let ts = repo::timestamp_for(2, Expiry::at(now - time::Duration::hours(1)), 1, &v1[&snapshot_path(1)]);
    r.insert(TIMESTAMP_PATH.into(), Gen::bytes(&ts, &[g.keys.timestamp.as_ref()]));
    push("freeze-expired-timestamp", "the timestamp expired an hour ago", false, None, r);

    // Mix and match: the timestamp names snapshot 2 by version only, and
    // 2.snapshot.json holds the (validly signed) snapshot version 1.
    let mut r = v2.clone();
    r.insert(snapshot_path(2), v1[&snapshot_path(1)].clone());
    let ts = Timestamp::new(3, g.far(), MetaFile { version: 2, length: None, hashes: None });
    r.insert(TIMESTAMP_PATH.into(), Gen::bytes(&ts, &[g.keys.timestamp.as_ref()]));
    push("mix-and-match-snapshot", "2.snapshot.json is the old snapshot version 1", false, None, r);

    // Root 2 signed by one root key where the threshold is two.
    let mut r = rotated.clone();
    r.insert(root_path(2), Gen::bytes(&g.root(2, g.keys.targets_new.as_ref()), &[g.keys.root[0].as_ref()]));
    push("root-below-threshold", "2.root.json carries 1 of 2 required root signatures", false, None, r);

    // Root 2 revokes the old targets key; targets 2 is signed by it anyway.
    let mut r = v1.clone();
    r.insert(root_path(2), root2.clone());
    g.publish(&mut r, 2, "revoked", t1);
    push("revoked-key-signature", "targets 2 is signed only by the key root 2 revoked", false, None, r);

    // The timestamp's signature names the snapshot key's ID.
    let mut r = v2.clone();
    let mut env = Envelope::parse(&v2[TIMESTAMP_PATH]).expect("own metadata parses");
    env.signatures[0].keyid = key(g.keys.snapshot.as_ref()).key_id();
    r.insert(TIMESTAMP_PATH.into(), env.to_bytes());
    push("wrong-key-id", "the timestamp signature carries another role's key ID", false, None, r);

    // Root 2 lists the timestamp key under an ID that is not its hash.
    let mut root_bad = g.root(2, t1);
    let ts_key = key(g.keys.timestamp.as_ref());
    let real = ts_key.key_id();
    let fake = KeyId(crate::sha256_hex(b"not the key"));
    root_bad.keys.remove(&real);
    root_bad.keys.insert(fake.clone(), ts_key);
    if let Some(rk) = root_bad.roles.get_mut("timestamp") {
        rk.keyids = vec![fake.clone()];
    }
    let mut r = v2.clone();
    r.insert(root_path(2), Gen::bytes(&root_bad, &g.root_signers()));
    let mut env = Envelope::parse(&v2[TIMESTAMP_PATH]).expect("own metadata parses");
    env.signatures[0].keyid = fake;
    r.insert(TIMESTAMP_PATH.into(), env.to_bytes());
    push("key-id-not-hash-of-key", "root 2 lists the timestamp key under an ID that is not its hash", false, None, r);

    // A target whose bytes differ from its listed hash.
    let mut r = v2.clone();
    let path = r
        .keys()
        .find(|p| p.starts_with("targets/") && p.ends_with(".trusted_root.json") && !v1.contains_key(*p))
        .cloned();
    let path = path.ok_or_else(|| TufError::Invalid("fixture target missing".into()))?;
    r.insert(
        path,
        b"{\"mediaType\":\"application/vnd.dev.sigstore.trustedroot+json;version=0.1\",\"evil\":true}\n".to_vec(),
    );
    push("target-hash-mismatch", "trusted_root.json does not match its hash", false, None, r);

    // Targets metadata changed after signing.
    let mut r = v1.clone();
    let mut env = Envelope::parse(&v1[&targets_path(1)]).expect("own metadata parses");
    env.signed["expires"] = serde_json::Value::String("2099-01-01T00:00:00Z".into());
    let tb = env.to_bytes();
    let snap = repo::snapshot_for(2, g.far(), 1, &tb);
    let sb = Gen::bytes(&snap, &[g.keys.snapshot.as_ref()]);
    let ts = repo::timestamp_for(2, g.far(), 2, &sb);
    r.insert(targets_path(1), tb);
    r.insert(snapshot_path(2), sb);
    r.insert(TIMESTAMP_PATH.into(), Gen::bytes(&ts, &[g.keys.timestamp.as_ref()]));
    push("tampered-targets", "targets 1 was edited after it was signed", false, None, r);

    Ok(out)
}
