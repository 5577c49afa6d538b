//! The witness: checks a submitted checkpoint against the log's key and the
//! latest checkpoint it cosigned, records the new one durably, then cosigns.

use crate::error::WitnessError;
use crate::state::{Latest, StateDir};
use sigstead_crypto::Signer;
use sigstead_note::cosignature::{cosign, signature_line, AddCheckpoint, Cosigner};
use sigstead_note::{verify_checkpoint_v1, Checkpoint, NoteError, SignedNote};
use std::collections::HashMap;
use std::sync::Arc;

/// A witness: its key, the logs it follows and its state.
#[derive(Debug, Clone)]
pub struct Witness {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    name: String,
    key: Arc<dyn Signer>,
    cosigner: Cosigner,
    /// Origin → the log's DER SubjectPublicKeyInfo.
    logs: HashMap<String, Vec<u8>>,
    /// The one lock: checking `old` and recording the new state are atomic.
    state: tokio::sync::Mutex<StateDir>,
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

impl Witness {
    /// `key` must be Ed25519; `logs` maps origins to the logs' SPKI.
    pub fn new(
        name: &str,
        key: Arc<dyn Signer>,
        logs: HashMap<String, Vec<u8>>,
        state: StateDir,
    ) -> anyhow::Result<Self> {
        let cosigner = Cosigner::from_spki(name, key.public_key_der())
            .map_err(|e| anyhow::anyhow!("witness_key: {e} (a cosignature key is Ed25519)"))?;
        Ok(Self {
            inner: Arc::new(Inner { name: name.into(), key, cosigner, logs, state: tokio::sync::Mutex::new(state) }),
        })
    }

    /// The witness's verifier key, as clients are given it.
    pub fn vkey(&self) -> String {
        self.inner.cosigner.vkey()
    }

    /// `POST /add-checkpoint`: the cosignature line, or the refusal.
    pub async fn add_checkpoint(&self, body: &str) -> Result<String, WitnessError> {
        let req = AddCheckpoint::parse(body).map_err(|e| WitnessError::BadRequest(e.to_string()))?;
        let note =
            SignedNote::parse(&req.checkpoint).map_err(|e| WitnessError::BadRequest(format!("checkpoint: {e}")))?;
        let cp =
            Checkpoint::parse_body(&note.text).map_err(|e| WitnessError::BadRequest(format!("checkpoint: {e}")))?;
        let origin = cp.origin.as_str().to_owned();
        let spki = self.inner.logs.get(&origin).ok_or_else(|| WitnessError::UnknownOrigin(origin.clone()))?;
        match verify_checkpoint_v1(&req.checkpoint, None, spki) {
            Ok(_) => {}
            Err(NoteError::NoMatchingSignature(_) | NoteError::BadSignature) => return Err(WitnessError::Forbidden),
            Err(e) => return Err(WitnessError::BadRequest(format!("checkpoint: {e}"))),
        }
        if req.old_size > cp.size {
            return Err(WitnessError::BadRequest(format!(
                "old size {} is larger than the checkpoint's size {}",
                req.old_size, cp.size
            )));
        }
        let state = self.inner.state.lock().await;
        let latest = state.latest(&origin).map_err(|e| WitnessError::Internal(e.to_string()))?;
        let latest_size = latest.map_or(0, |l| l.size);
        if req.old_size != latest_size {
            metrics::counter!("witness_refused_total", "reason" => "old-size").increment(1);
            return Err(WitnessError::OldSizeMismatch(latest_size));
        }
        match latest {
            Some(l) if l.size == cp.size && l.root_hash != cp.root_hash => {
                tracing::warn!(origin, size = cp.size, "same size, another root: the log shows a split view");
                metrics::counter!("witness_refused_total", "reason" => "root-mismatch").increment(1);
                return Err(WitnessError::RootMismatch);
            }
            Some(l) if l.size == cp.size => {}
            Some(l) => {
                sigstead_merkle::verify_consistency(l.size, cp.size, &req.proof, &l.root_hash, &cp.root_hash).map_err(
                    |e| {
                        tracing::warn!(origin, old = l.size, new = cp.size, error = %e,
                            "a signed checkpoint that does not extend the cosigned one: possible log misbehaviour");
                        metrics::counter!("witness_refused_total", "reason" => "inconsistent").increment(1);
                        WitnessError::Inconsistent(e.to_string())
                    },
                )?;
            }
            None if !req.proof.is_empty() => {
                return Err(WitnessError::BadRequest("the consistency proof must be empty when old is 0".into()));
            }
            None => {}
        }
        // Durable before any cosignature leaves (state.rs, steps 1–3).
        state
            .record(&origin, Latest { size: cp.size, root_hash: cp.root_hash })
            .map_err(|e| WitnessError::Internal(e.to_string()))?;
        let sig = cosign(&note.text, &self.inner.name, self.inner.key.as_ref(), now())
            .map_err(|e| WitnessError::Internal(e.to_string()))?;
        drop(state);
        metrics::counter!("witness_cosigned_total").increment(1);
        Ok(signature_line(&sig))
    }
}
