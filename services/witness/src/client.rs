//! The log's side of C2SP `tlog-witness`: obtain cosignatures on each new
//! checkpoint from the configured witnesses and build the cosigned
//! checkpoint (the log's note with every valid cosignature line appended).
//!
//! Per witness the client remembers the size the witness last cosigned
//! (starting at 0, so the first request learns it from the 409 answer), and
//! sends a consistency proof from it. A 409 that names a size larger than
//! the log's own is reported: the witness has seen a longer history of this
//! log than the log itself (a rollback, or a split view) — never retried
//! around. Cosignatures are checked with the witness's vkey before they are
//! published; anything else a witness answers is ignored.

use serde::Deserialize;
use sigstead_merkle::Hash;
use sigstead_note::cosignature::{verify_cosignature, AddCheckpoint, Cosigner};
use std::future::Future;
use std::pin::Pin;

/// A witness the log asks, as configured.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessPeer {
    /// The witness's submission prefix (`/add-checkpoint` is appended).
    pub url: String,
    /// The witness's verifier key (`sigstead witness vkey`): its cosignatures
    /// are checked with it; lines under other keys are dropped.
    pub vkey: VKey,
}

/// A vkey parsed when the configuration is read.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "String")]
pub struct VKey(pub Cosigner);

impl TryFrom<String> for VKey {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Cosigner::from_vkey(&s).map(Self).map_err(|e| e.to_string())
    }
}

/// What one witness said about one checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A cosignature line that verifies under the witness's vkey.
    Cosigned(String),
    /// The witness has cosigned a larger tree of this log than the log's own.
    AheadOfLog(u64),
    /// Any other failure (unreachable, refused, a line that does not verify).
    Failed(String),
}

/// Consistency proofs from the log: `(old size, new size) → proof`.
pub type ProofSource<'a> =
    &'a (dyn Fn(u64, u64) -> Pin<Box<dyn Future<Output = Result<Vec<Hash>, String>> + Send>> + Send + Sync);

/// The client: one entry per witness with the size it last cosigned.
#[derive(Debug)]
pub struct Witnessing {
    http: reqwest::Client,
    peers: Vec<(WitnessPeer, u64)>,
}

impl Witnessing {
    pub fn new(http: reqwest::Client, peers: Vec<WitnessPeer>) -> Self {
        Self { http, peers: peers.into_iter().map(|p| (p, 0)).collect() }
    }

    /// Asks every witness to cosign `note` (a checkpoint of `size` leaves
    /// signed by the log); returns each witness's outcome in order.
    pub async fn round(&mut self, note: &str, size: u64, proofs: ProofSource<'_>) -> Vec<Outcome> {
        let mut out = Vec::with_capacity(self.peers.len());
        for (peer, last) in &mut self.peers {
            let mut outcome = Outcome::Failed("not asked".into());
            // At most two tries: the second after a 409 told us the witness's size.
            for _ in 0..2 {
                match ask(&self.http, peer, *last, note, size, proofs).await {
                    Ask::Cosigned(line) => {
                        *last = size;
                        outcome = Outcome::Cosigned(line);
                        break;
                    }
                    Ask::Conflict(theirs) if theirs > size => {
                        outcome = Outcome::AheadOfLog(theirs);
                        break;
                    }
                    Ask::Conflict(theirs) if theirs != *last => *last = theirs,
                    Ask::Conflict(theirs) => {
                        outcome = Outcome::Failed(format!("409 again at size {theirs}"));
                        break;
                    }
                    Ask::Failed(why) => {
                        outcome = Outcome::Failed(why);
                        break;
                    }
                }
            }
            match &outcome {
                Outcome::Cosigned(_) => metrics::counter!("witness_cosignatures_obtained_total").increment(1),
                Outcome::AheadOfLog(theirs) => {
                    tracing::error!(
                        witness = peer.url,
                        size,
                        witness_size = theirs,
                        "a witness has cosigned a larger tree of this log than the log holds: rollback or split view"
                    );
                    metrics::counter!("witness_ahead_of_log_total").increment(1);
                }
                Outcome::Failed(why) => {
                    tracing::warn!(witness = peer.url, size, error = why, "no cosignature this round");
                    metrics::counter!("witness_cosignature_failures_total").increment(1);
                }
            }
            out.push(outcome);
        }
        out
    }
}

enum Ask {
    Cosigned(String),
    Conflict(u64),
    Failed(String),
}

async fn ask(
    http: &reqwest::Client,
    peer: &WitnessPeer,
    old: u64,
    note: &str,
    size: u64,
    proofs: ProofSource<'_>,
) -> Ask {
    let proof = if old == 0 || old >= size {
        Vec::new()
    } else {
        match proofs(old, size).await {
            Ok(p) => p,
            Err(e) => return Ask::Failed(format!("consistency proof {old} → {size}: {e}")),
        }
    };
    let body = AddCheckpoint { old_size: old.min(size), proof, checkpoint: note.to_owned() }.render();
    let url = format!("{}/add-checkpoint", peer.url.trim_end_matches('/'));
    let resp = match http.post(&url).body(body).send().await {
        Ok(r) => r,
        Err(e) => return Ask::Failed(e.without_url().to_string()),
    };
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    if status == reqwest::StatusCode::CONFLICT {
        if let Some(n) = text.strip_suffix('\n').and_then(|t| t.parse().ok()) {
            return Ask::Conflict(n);
        }
        return Ask::Failed(format!("409: {}", text.trim()));
    }
    if !status.is_success() {
        return Ask::Failed(format!("{status}: {}", text.trim()));
    }
    // Keep only the lines that verify under this witness's key.
    let good: String = text
        .lines()
        .filter(|l| verify_cosignature(&format!("{note}{l}\n"), &peer.vkey.0).is_ok())
        .map(|l| format!("{l}\n"))
        .collect();
    if good.is_empty() {
        return Ask::Failed("no cosignature line verifies under the configured vkey".into());
    }
    Ask::Cosigned(good)
}

/// The log's note with the cosignature lines appended (a signed note with
/// several signatures; verifiers ignore the ones they do not know).
pub fn cosigned_note(note: &str, outcomes: &[Outcome]) -> String {
    let mut s = note.to_owned();
    for o in outcomes {
        if let Outcome::Cosigned(lines) = o {
            s.push_str(lines);
        }
    }
    s
}

/// `[witnessing]` of a log's configuration: the witnesses it asks for
/// cosignatures and how often. Empty: the log publishes no cosigned
/// checkpoint.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessingConfig {
    /// How often the log checks for a new checkpoint to have cosigned, in
    /// milliseconds. Default 1000.
    #[serde(default = "default_every_ms")]
    pub every_ms: u64,
    /// `[[witnessing.witnesses]]`: `url` and `vkey` of each witness.
    #[serde(default)]
    pub witnesses: Vec<WitnessPeer>,
    /// TLS towards the witnesses (a private CA, a client certificate).
    #[serde(default)]
    pub outbound_tls: sigstead_server::OutboundTls,
}

fn default_every_ms() -> u64 {
    1000
}

impl Default for WitnessingConfig {
    fn default() -> Self {
        Self { every_ms: default_every_ms(), witnesses: Vec::new(), outbound_tls: Default::default() }
    }
}

impl WitnessingConfig {
    /// Resolves paths against `base` and refuses a bad combination.
    pub fn resolve(&mut self, base: &std::path::Path) -> anyhow::Result<()> {
        self.outbound_tls.resolve(base)?;
        if !(100..=3_600_000).contains(&self.every_ms) {
            anyhow::bail!("witnessing.every_ms: {} is outside 100..=3600000", self.every_ms);
        }
        Ok(())
    }
}
