//! `sigstead monitor --witness-key`: the log's cosigned checkpoint
//! (`GET /api/v1/log/cosigned-checkpoint`) must carry a valid cosignature
//! (C2SP `cosignature/v1`) of every required witness, be signed by the log,
//! and be consistent with the checkpoint the monitor verified itself — so a
//! log that shows witnesses one history and clients another is caught.

use crate::verdict::{check_consistency, Alert};
use crate::{hash32, RekorTarget};
use sigstead_note::cosignature::{verify_cosignature, Cosigner};
use sigstead_note::Checkpoint;
use sigstead_rekor_types::wire::ConsistencyProof;

/// Checks the cosigned checkpoint against `verified` (the checkpoint this
/// round verified); returns its tree size.
pub async fn check_witnessed(
    http: &reqwest::Client,
    target: &RekorTarget,
    witnesses: &[Cosigner],
    verified: &Checkpoint,
) -> Result<u64, Alert> {
    let url = format!("{}/api/v1/log/cosigned-checkpoint", target.url);
    let all = || witnesses.iter().map(|w| w.name.as_str()).collect::<Vec<_>>().join(", ");
    let resp = http.get(&url).send().await.map_err(|e| Alert::Unreachable(format!("{url}: {e}")))?;
    if resp.status() == reqwest::StatusCode::NOT_FOUND {
        return Err(Alert::WitnessMissing {
            witness: all(),
            reason: "the log publishes no cosigned checkpoint".into(),
        });
    }
    if !resp.status().is_success() {
        return Err(Alert::Unreachable(format!("{url}: HTTP {}", resp.status())));
    }
    let note = resp.text().await.map_err(|e| Alert::Unreachable(format!("{url}: {e}")))?;
    let cp = sigstead_note::verify_checkpoint_v1(&note, None, &target.key_spki)
        .map_err(|e| Alert::BadSignature(format!("cosigned checkpoint: {e}")))?;
    for w in witnesses {
        let (cosigned, _) = verify_cosignature(&note, w)
            .map_err(|e| Alert::WitnessMissing { witness: w.name.clone(), reason: e.to_string() })?;
        debug_assert_eq!(cosigned.size, cp.size);
    }
    if cp.origin != verified.origin {
        return Err(Alert::OriginChanged { want: verified.origin.as_str().into(), got: cp.origin.as_str().into() });
    }
    let (old, new) = if cp.size <= verified.size { (&cp, verified) } else { (verified, &cp) };
    if old.size == new.size {
        if old.root_hash != new.root_hash {
            return Err(Alert::SplitView {
                size: cp.size,
                old: hex::encode(verified.root_hash),
                new: hex::encode(cp.root_hash),
            });
        }
    } else {
        let url = format!("{}/api/v1/log/proof?firstSize={}&lastSize={}", target.url, old.size, new.size);
        let p: ConsistencyProof = crate::get_json(http, &url).await?;
        let hashes = p.hashes.iter().map(|h| hash32(h, "a proof hash")).collect::<Result<Vec<_>, _>>()?;
        check_consistency(old, new, &hashes)?;
    }
    metrics::gauge!("sigstead_monitor_witnessed_tree_size").set(cp.size as f64);
    Ok(cp.size)
}
