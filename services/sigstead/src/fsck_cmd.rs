//! `sigstead fsck`: checks a Rekor log's database end to end (see
//! `sigstead_tlog::fsck` for what is checked), with progress on stderr.

use sigstead_tlog::LogStore as _;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::Duration;

pub async fn run(
    database_url: &sigstead_tlog::DatabaseUrl,
    log_name: &str,
    public_key: Option<&Path>,
) -> anyhow::Result<bool> {
    // Read only, and without the SQLite process lock: fsck may run beside a
    // stopped server or on a copy; it never writes.
    let store = sigstead_tlog::Store::connect_url(database_url).await?;
    store.check_schema().await?;
    let spki = match public_key {
        Some(p) => {
            let pem = std::fs::read(p).map_err(|e| anyhow::anyhow!("reading {}: {e}", p.display()))?;
            Some(sigstead_crypto::VerifierMaterial::parse(&pem)?.spki_der)
        }
        None => None,
    };
    let note_check = spki.as_ref().map(|k| {
        let k = k.clone();
        move |cp: &sigstead_tlog::StoredCheckpoint| sigstead_rekor::fsck_note_check(&k, cp)
    });
    let tty = std::io::stderr().is_terminal();
    let mut last = Duration::ZERO;
    let mut progress = |done: u64, total: u64, elapsed: Duration| {
        #[allow(clippy::cast_precision_loss, reason = "entry counts are far below 2^52")]
        let (pct, rate) = (done as f64 * 100.0 / total.max(1) as f64, done as f64 / elapsed.as_secs_f64().max(1e-9));
        if tty {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "0..=40")]
            let filled = (pct / 2.5) as usize;
            eprint!("\r[{:<40}] {pct:5.1}% {done}/{total} entries, {rate:.0}/s ", "#".repeat(filled.min(40)));
            let _ = std::io::stderr().flush();
            if done == total {
                eprintln!();
            }
        } else if elapsed - last >= Duration::from_secs(5) || done == total {
            last = elapsed;
            eprintln!("fsck: {done}/{total} entries ({pct:.1}%), {rate:.0} entries/s, {:.1} s", elapsed.as_secs_f64());
        }
    };
    let report = sigstead_tlog::fsck::fsck(
        &store,
        log_name,
        Some(&sigstead_rekor::fsck_body_check),
        note_check.as_ref().map(|c| c as &sigstead_tlog::fsck::NoteCheck<'_>),
        sigstead_rekor::KEYS_ADDED_LATER,
        &mut progress,
    )
    .await?;
    println!("{}", serde_json::to_string_pretty(&report.to_json())?);
    if spki.is_none() {
        eprintln!("fsck: checkpoint signatures not checked (give --public-key with the log's key)");
    }
    Ok(report.is_clean())
}
