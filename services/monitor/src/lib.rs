//! `sigstead monitor`: follows a Rekor v1 log by URL (local or remote, TLS
//! with a private CA) and proves it honest from the outside, as an auditor's
//! monitor does for a log nobody else witnesses.
//!
//! Each round (every `interval`, or once with `--once`):
//! 1. `GET /api/v1/log`: the signed checkpoint (`signedTreeHead`), verified
//!    with the log key the trusted root lists for that URL (its `validFor`
//!    open) — a bad signature is an alert, never state.
//! 2. [`verdict::compare`] with the last verified checkpoint kept on disk
//!    (`STATE_DIR/rekor-checkpoint.json`): same origin, no smaller tree, no
//!    second root for one size.
//! 3. A larger tree: `GET /api/v1/log/proof?firstSize=OLD&lastSize=NEW`, and
//!    the RFC 9162 consistency proof checked from the verified root to the
//!    new one (the proof's `rootHash` must be the checkpoint's).
//! 4. Only then is the new checkpoint written (atomically: a temporary file
//!    renamed over the old one), so a crash or an alert leaves the last
//!    verified state — the evidence — as it was.
//!
//! Alerts are printed as one JSON object per line (`{"alert": KIND, …}`) and
//! counted in the metric `sigstead_monitor_alerts_total{kind}`; the verified
//! tree size is the gauge `sigstead_monitor_verified_tree_size`. Proof of
//! misbehaviour (bad signature, origin change, rollback, split view,
//! inconsistency) stops the monitor with a non-zero exit; an outage is
//! reported and retried. Freshness: with `max_stale`, a tree that has not
//! grown for that long is reported as `stale` (Rekor v1 checkpoints carry no
//! time of their own, so this bound suits logs with continuous traffic).
//!
//! A CT log (`--ctlog-url`) is followed the same way: `get-sth` verified
//! with the CT key, `get-sth-consistency` from the last verified STH
//! (`STATE_DIR/ct-sth.json`); there `stale` uses the STH's own signed
//! timestamp.
//!
//! Identity alerts ([`watch`]): each entry new since the last verified
//! checkpoint is fetched and matched against watched certificate identities
//! (SAN exact or regexp, optional issuer) and artifact digests; a match is a
//! JSON line `{"identity_seen": RULE, …}` and the counter
//! `sigstead_monitor_identity_matches_total`.
//!
//! Not yet: witness cosignatures, Fulcio OID extensions other than the
//! issuer as watch criteria (issue 12).

pub mod embedded;
pub mod freshness;
pub mod verdict;
pub mod watch;
pub mod witnessed;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sigstead_note::Checkpoint;
use std::path::{Path, PathBuf};
use std::time::Duration;
pub use verdict::Alert;
use verdict::Next;

/// The log to follow and the key that signs its checkpoints.
#[derive(Debug, Clone)]
pub struct RekorTarget {
    /// The log's base URL (as `tlogs[].baseUrl` names it).
    pub url: String,
    /// DER SubjectPublicKeyInfo of the log key.
    pub key_spki: Vec<u8>,
}

/// The base URL (without a final `/`) and DER key of the log among `logs`
/// with base URL `url` whose key window is open.
fn current_log(
    logs: &[sigstead_trust::TransparencyLogInstance],
    url: &str,
    what: &str,
) -> anyhow::Result<(String, Vec<u8>)> {
    let url = url.trim_end_matches('/');
    let log = logs
        .iter()
        .find(|l| l.base_url.trim_end_matches('/') == url && l.public_key.valid_for.end.is_none())
        .ok_or_else(|| anyhow::anyhow!("the trusted root lists no current {what} at {url}"))?;
    Ok((url.to_string(), STANDARD.decode(&log.public_key.raw_bytes)?))
}

impl RekorTarget {
    /// The target for `url` from a trusted root: the Rekor log with that
    /// base URL whose key window is open.
    pub fn from_trusted_root(root: &sigstead_trust::TrustedRoot, url: &str) -> anyhow::Result<Self> {
        let (url, key_spki) = current_log(&root.tlogs, url, "Rekor log")?;
        Ok(Self { url, key_spki })
    }
}

/// The last verified checkpoint, as kept on disk.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct State {
    /// The signed note, verbatim (the evidence).
    pub checkpoint: String,
    pub tree_size: u64,
    /// Unix seconds when the tree was last seen to grow (or first seen).
    pub grew_at: u64,
}

/// What one round found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub tree_size: u64,
    /// The previous verified size, if any.
    pub previous: Option<u64>,
    /// Whether a consistency proof was checked this round.
    pub proved: bool,
    /// Watched identities and digests seen in the new entries.
    pub sightings: Vec<watch::Sighting>,
}

use sigstead_rekor_types::wire::{ConsistencyProof, LogInfo};

/// The state file of the Rekor log.
const REKOR_STATE: &str = "rekor-checkpoint.json";
/// The state file of the CT log.
const CT_STATE: &str = "ct-sth.json";

/// The checkpoint of the last verified Rekor state, parsed.
fn load_verified(dir: &Path, target: &RekorTarget) -> Option<Checkpoint> {
    let s = load_state(dir).ok()??;
    sigstead_note::verify_checkpoint_v1(&s.checkpoint, None, &target.key_spki).ok()
}

/// Reads the last verified Rekor state (None before the first round).
pub fn load_state(dir: &Path) -> anyhow::Result<Option<State>> {
    read_state(dir, REKOR_STATE)
}

fn read_state(dir: &Path, name: &str) -> anyhow::Result<Option<State>> {
    match std::fs::read(dir.join(name)) {
        Ok(b) => Ok(Some(serde_json::from_slice(&b)?)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Writes the state atomically: a synced temporary file renamed over the old one.
fn save_state(dir: &Path, name: &str, state: &State) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, serde_json::to_vec_pretty(state)?)?;
    std::fs::File::open(&tmp)?.sync_all()?;
    std::fs::rename(&tmp, dir.join(name))?;
    Ok(())
}

pub(crate) fn hash32(hex_str: &str, what: &str) -> Result<sigstead_merkle::Hash, Alert> {
    hex::decode(hex_str)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| Alert::Malformed(format!("{what} is not 32 bytes of hex")))
}

pub(crate) async fn get_json<T: serde::de::DeserializeOwned>(http: &reqwest::Client, url: &str) -> Result<T, Alert> {
    let resp = http.get(url).send().await.map_err(|e| Alert::Unreachable(format!("{url}: {e}")))?;
    let status = resp.status();
    if !status.is_success() {
        return Err(Alert::Unreachable(format!("{url}: HTTP {status}")));
    }
    resp.json().await.map_err(|e| Alert::Malformed(format!("{url}: {e}")))
}

/// One round against `target`, with the state in `state_dir`; `now` in Unix seconds.
pub async fn check_once(
    http: &reqwest::Client,
    target: &RekorTarget,
    state_dir: &Path,
    now: u64,
    max_stale: Option<Duration>,
    watch: Option<&watch::Watch>,
) -> Result<Report, Alert> {
    let state = read_state(state_dir, REKOR_STATE).map_err(|e| Alert::Malformed(format!("state file: {e}")))?;
    let info: LogInfo = get_json(http, &format!("{}/api/v1/log", target.url)).await?;
    let new = sigstead_note::verify_checkpoint_v1(&info.signed_tree_head, None, &target.key_spki)
        .map_err(|e| Alert::BadSignature(e.to_string()))?;
    if new.size != info.tree_size || hex::encode(new.root_hash) != info.root_hash {
        return Err(Alert::Malformed("treeSize/rootHash differ from the signed checkpoint".into()));
    }
    let old: Option<Checkpoint> = match &state {
        Some(s) => Some(
            sigstead_note::verify_checkpoint_v1(&s.checkpoint, None, &target.key_spki)
                .map_err(|e| Alert::Malformed(format!("the stored checkpoint no longer verifies: {e}")))?,
        ),
        None => None,
    };
    let mut proved = false;
    let mut sightings = Vec::new();
    match verdict::compare(old.as_ref(), &new)? {
        Next::First | Next::Unchanged => {}
        Next::ProveConsistency { old: o, new: n } => {
            let p: ConsistencyProof =
                get_json(http, &format!("{}/api/v1/log/proof?firstSize={o}&lastSize={n}", target.url)).await?;
            if hash32(&p.root_hash, "the proof's rootHash")? != new.root_hash {
                return Err(Alert::SplitView { size: n, old: hex::encode(new.root_hash), new: p.root_hash });
            }
            let hashes = p.hashes.iter().map(|h| hash32(h, "a proof hash")).collect::<Result<Vec<_>, _>>()?;
            verdict::check_consistency(old.as_ref().expect("a verified checkpoint"), &new, &hashes)?;
            proved = true;
        }
    }
    // Identity alerts: the entries new since the last verified checkpoint
    // (none on first sight: the watch starts there).
    if let (Some(w), Some(o)) = (watch, old.as_ref()) {
        if !w.is_empty() {
            for index in o.size..new.size {
                let url = format!("{}/api/v1/log/entries?logIndex={index}", target.url);
                let entry: std::collections::BTreeMap<String, EntryWire> = get_json(http, &url).await?;
                let Some(e) = entry.values().next() else { return Err(Alert::Malformed(format!("{url}: no entry"))) };
                let body =
                    STANDARD.decode(&e.body).map_err(|_| Alert::Malformed(format!("{url}: body is not base64")))?;
                for s in watch::match_entry(w, index, &body) {
                    metrics::counter!("sigstead_monitor_identity_matches_total").increment(1);
                    sightings.push(s);
                }
            }
        }
    }
    let grew = state.as_ref().is_none_or(|s| new.size > s.tree_size);
    let grew_at = if grew { now } else { state.as_ref().map_or(now, |s| s.grew_at) };
    if grew {
        save_state(
            state_dir,
            REKOR_STATE,
            &State { checkpoint: info.signed_tree_head.clone(), tree_size: new.size, grew_at },
        )
        .map_err(|e| Alert::Malformed(format!("writing the state: {e}")))?;
    }
    metrics::gauge!("sigstead_monitor_verified_tree_size").set(new.size as f64);
    if let Some(bound) = max_stale {
        let secs = now.saturating_sub(grew_at);
        if secs > bound.as_secs() {
            return Err(Alert::Stale { secs, bound: bound.as_secs() });
        }
    }
    Ok(Report { tree_size: new.size, previous: state.map(|s| s.tree_size), proved, sightings })
}

#[derive(Deserialize)]
struct EntryWire {
    body: String,
}

/// A CT log (RFC 6962) to follow and its key.
#[derive(Debug, Clone)]
pub struct CtTarget {
    /// The log's base URL (as `ctlogs[].baseUrl` names it); `/ct/v1/…` is appended.
    pub url: String,
    pub key_spki: Vec<u8>,
}

impl CtTarget {
    /// The CT log with that base URL whose key window is open in `root`.
    pub fn from_trusted_root(root: &sigstead_trust::TrustedRoot, url: &str) -> anyhow::Result<Self> {
        let (url, key_spki) = current_log(&root.ctlogs, url, "CT log")?;
        Ok(Self { url, key_spki })
    }
}

use sigstead_ct::wire::{ConsistencyProof as CtConsistency, SignedTreeHead as Sth};

fn b64_32(s: &str, what: &str) -> Result<sigstead_merkle::Hash, Alert> {
    STANDARD
        .decode(s)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| Alert::Malformed(format!("{what} is not 32 bytes of base64")))
}

/// Verifies an STH (JSON as `get-sth` answers) with the log key and returns
/// it as a checkpoint of origin `url` (for [`verdict::compare`]) with its timestamp.
fn verified_sth(text: &str, target: &CtTarget) -> Result<(Checkpoint, u64), Alert> {
    let sth: Sth = serde_json::from_str(text).map_err(|e| Alert::Malformed(format!("get-sth: {e}")))?;
    let root = b64_32(&sth.sha256_root_hash, "sha256_root_hash")?;
    let sig = STANDARD.decode(&sth.tree_head_signature).map_err(|_| Alert::Malformed("tree_head_signature".into()))?;
    sigstead_ct::verify_tree_head(sth.timestamp, sth.tree_size, &root, &sig, &target.key_spki)
        .map_err(|e| Alert::BadSignature(e.to_string()))?;
    let origin = sigstead_note::Origin::new(target.url.clone()).map_err(|e| Alert::Malformed(e.to_string()))?;
    Ok((Checkpoint { origin, size: sth.tree_size, root_hash: root, extensions: vec![] }, sth.timestamp))
}

/// One round against a CT log: the STH verified, compared with the last
/// verified one (`STATE_DIR/ct-sth.json`) and proven consistent with it
/// (`get-sth-consistency`). With `max_stale`, an STH whose own timestamp is
/// older than that is `stale` (a CT log signs a fresh STH regularly, so this
/// is the "signed tree head within N seconds" rule). `now_ms`: Unix milliseconds.
pub async fn check_ct_once(
    http: &reqwest::Client,
    target: &CtTarget,
    state_dir: &Path,
    now_ms: u64,
    max_stale: Option<Duration>,
) -> Result<Report, Alert> {
    let state = read_state(state_dir, CT_STATE).map_err(|e| Alert::Malformed(format!("state file: {e}")))?;
    let url = format!("{}/ct/v1/get-sth", target.url);
    let resp = http.get(&url).send().await.map_err(|e| Alert::Unreachable(format!("{url}: {e}")))?;
    if !resp.status().is_success() {
        return Err(Alert::Unreachable(format!("{url}: HTTP {}", resp.status())));
    }
    let text = resp.text().await.map_err(|e| Alert::Unreachable(format!("{url}: {e}")))?;
    let (new, timestamp) = verified_sth(&text, target)?;
    let old = match &state {
        Some(s) => {
            Some(verified_sth(&s.checkpoint, target).map_err(|e| Alert::Malformed(format!("the stored STH: {e}")))?.0)
        }
        None => None,
    };
    let mut proved = false;
    if let Next::ProveConsistency { old: o, new: n } = verdict::compare(old.as_ref(), &new)? {
        let p: CtConsistency =
            get_json(http, &format!("{}/ct/v1/get-sth-consistency?first={o}&second={n}", target.url)).await?;
        let hashes = p.consistency.iter().map(|h| b64_32(h, "a proof hash")).collect::<Result<Vec<_>, _>>()?;
        verdict::check_consistency(old.as_ref().expect("a verified STH"), &new, &hashes)?;
        proved = true;
    }
    if state.as_ref().is_none_or(|s| new.size > s.tree_size) {
        let st = State { checkpoint: text, tree_size: new.size, grew_at: now_ms / 1000 };
        save_state(state_dir, CT_STATE, &st).map_err(|e| Alert::Malformed(format!("writing the state: {e}")))?;
    }
    if let Some(bound) = max_stale {
        let secs = now_ms.saturating_sub(timestamp) / 1000;
        if secs > bound.as_secs() {
            return Err(Alert::Stale { secs, bound: bound.as_secs() });
        }
    }
    Ok(Report { tree_size: new.size, previous: state.map(|s| s.tree_size), proved, sightings: Vec::new() })
}

/// The alert as one JSON line.
pub fn alert_json(log_url: &str, alert: &Alert) -> String {
    serde_json::json!({"alert": alert.kind(), "log": log_url, "misbehaviour": alert.is_misbehaviour(), "detail": alert.to_string()})
        .to_string()
}

/// The verifiers' TUF repository to keep an eye on (see [`freshness`]).
#[derive(Debug, Clone)]
pub struct TufWatch {
    pub url: String,
    /// The pinned initial root.
    pub root1: Vec<u8>,
    /// Report `tuf-expiring` when a role has fewer days left.
    pub min_days: Option<f64>,
}

/// What `sigstead monitor` follows, and how.
#[derive(Debug, Clone)]
pub struct Follow {
    pub rekor: RekorTarget,
    pub ct: Option<CtTarget>,
    pub watch: watch::Watch,
    pub tuf: Option<TufWatch>,
    pub state_dir: PathBuf,
    pub interval: Duration,
    pub max_stale: Option<Duration>,
    /// One round, then return (an outage or staleness is then an error too).
    pub once: bool,
    /// Witnesses whose cosignature the log's cosigned checkpoint must carry
    /// (`--witness-key`); none: not checked.
    pub witnesses: Vec<sigstead_note::cosignature::Cosigner>,
}

/// Follows the logs every `interval` until misbehaviour is proven (returned
/// as the error) or, with `once`, after one round.
pub async fn follow(http: reqwest::Client, f: Follow) -> Result<(), Alert> {
    loop {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        let mut rounds = vec![(
            f.rekor.url.clone(),
            check_once(&http, &f.rekor, &f.state_dir, now.as_secs(), f.max_stale, Some(&f.watch)).await,
        )];
        if !f.witnesses.is_empty() && rounds[0].1.is_ok() {
            if let Some(verified) = load_verified(&f.state_dir, &f.rekor) {
                if let Err(alert) = witnessed::check_witnessed(&http, &f.rekor, &f.witnesses, &verified).await {
                    rounds.push((format!("{} (witnessed)", f.rekor.url), Err(alert)));
                }
            }
        }
        if let Some(ct) = &f.ct {
            let ms = u64::try_from(now.as_millis()).unwrap_or(u64::MAX);
            rounds.push((ct.url.clone(), check_ct_once(&http, ct, &f.state_dir, ms, f.max_stale).await));
        }
        let mut failed = None;
        if let Some(t) = &f.tuf {
            match freshness::check_tuf_once(&http, &t.url, &t.root1, t.min_days).await {
                Ok(roles) => {
                    let left: serde_json::Map<String, serde_json::Value> = roles
                        .iter()
                        .map(|r| {
                            (r.role.to_string(), serde_json::json!({"version": r.version, "secs_left": r.secs_left}))
                        })
                        .collect();
                    println!("{}", serde_json::json!({"tuf_verified": t.url, "roles": left}));
                }
                Err(alert) => {
                    metrics::counter!("sigstead_monitor_alerts_total", "kind" => alert.kind()).increment(1);
                    println!("{}", alert_json(&t.url, &alert));
                    if f.once {
                        failed.get_or_insert(alert);
                    }
                }
            }
        }
        for (url, round) in rounds {
            match round {
                Ok(r) => {
                    for s in &r.sightings {
                        println!(
                            "{}",
                            serde_json::json!({"identity_seen": s.rule, "log": url, "log_index": s.log_index,
                                "identities": s.identities, "issuer": s.issuer, "digest": s.digest})
                        );
                    }
                    println!(
                        "{}",
                        serde_json::json!({"verified": url, "tree_size": r.tree_size, "previous": r.previous, "consistency_proved": r.proved})
                    );
                }
                Err(alert) => {
                    metrics::counter!("sigstead_monitor_alerts_total", "kind" => alert.kind()).increment(1);
                    println!("{}", alert_json(&url, &alert));
                    if f.once || alert.is_misbehaviour() {
                        failed.get_or_insert(alert);
                    }
                }
            }
        }
        if let Some(alert) = failed {
            return Err(alert);
        }
        if f.once {
            return Ok(());
        }
        tokio::time::sleep(f.interval).await;
    }
}
