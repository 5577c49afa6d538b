//! Scale benchmarks of the Rekor log: `sigstead bench fill` builds a large
//! log quickly, `sigstead bench reads` measures entry and proof reads over it.
//!
//! `fill` opens the log of a Rekor configuration in-process (the same
//! database, log name, signing key and origin as `sigstead serve rekor`)
//! and appends through the same two steps as `POST /api/v1/log/entries`:
//! every entry is a distinct proposed entry signed by one of `--clients`
//! identities and goes through the service's canonicalisation (parsing,
//! signature verification, RFC 8785 body, search keys), then through the
//! engine's append (batch integration, RFC 6962 nodes, a signed checkpoint
//! per batch, the written commit protocol). What it leaves out is the HTTP
//! round trip and each answer's SET, so a log of 10^7 valid entries is
//! built in minutes rather than hours. It refuses to run while the log's
//! SQLite file is held by a server; on Postgres a running replica would
//! simply lead and take the entries through the hand-over queue (slower,
//! still correct), so stop it first.

use crate::{entry, identities, percentile, EntryShape};
use clap::Args;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Args)]
pub struct FillBench {
    /// The Rekor configuration (`rekor.toml`, as `sigstead rekor init`
    /// writes it) of the log to fill.
    #[arg(long)]
    config: PathBuf,
    /// Entries to add.
    #[arg(long)]
    entries: u64,
    /// What each entry carries (as `sigstead bench rekor --entry-shape`).
    #[arg(long, value_enum, default_value = "certificate")]
    entry_shape: EntryShape,
    /// Distinct signing identities (`ci-<i>@example.com` for `certificate`).
    #[arg(long, default_value_t = 1000)]
    clients: usize,
    /// Entries integrated in one transaction and covered by one checkpoint
    /// (the configuration's `batch.max_entries` is replaced by this).
    #[arg(long, default_value_t = 8192)]
    batch: usize,
}

/// Entries each generator thread builds and canonicalises at a time.
const CHUNK: u64 = 4096;

pub async fn fill(b: FillBench) -> anyhow::Result<()> {
    anyhow::ensure!(b.batch > 0, "--batch must be positive");
    let mut config = sigstead_rekor::RekorConfig::load(&b.config)?;
    config.batch.max_entries = b.batch;
    config.batch.max_delay_ms = 20;
    // The monitor and witnesses belong to the serving process, not to a fill.
    config.monitor = None;
    let rekor = sigstead_rekor::open(&config, sigstead_tlog::Faults::none()).await?;
    let log = rekor.engine().clone();
    let size_before = log.checkpoint().tree_size.0;
    let (shape, clients, total) = (b.entry_shape, b.clients, b.entries);
    eprintln!("tree size {size_before}; adding {total} {shape:?} entries from {clients} identities…");
    let ids = Arc::new(tokio::task::spawn_blocking(move || identities(shape, clients)).await??);
    // Distinct artifacts across runs on the same log: a fresh nonce each run.
    let nonce: [u8; 16] = sigstead_crypto::random_bytes();
    let threads = std::thread::available_parallelism().map(std::num::NonZero::get).unwrap_or(1);
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<(Vec<u8>, Vec<String>)>>(threads * 2);
    let next_chunk = Arc::new(AtomicU64::new(0));
    let mut generators = Vec::new();
    for _ in 0..threads {
        let (tx, ids, next_chunk) = (tx.clone(), ids.clone(), next_chunk.clone());
        generators.push(std::thread::spawn(move || -> anyhow::Result<()> {
            loop {
                let start = next_chunk.fetch_add(1, Ordering::Relaxed).saturating_mul(CHUNK);
                if start >= total {
                    return Ok(());
                }
                let mut chunk = Vec::new();
                for i in start..(start + CHUNK).min(total) {
                    let i = usize::try_from(i)?;
                    let request = entry(shape, &ids[i % ids.len()], &nonce, i);
                    // The service's own validation: a fill holds only entries the API accepts.
                    let canonical = sigstead_rekor_types::canonicalize(&request)
                        .map_err(|e| anyhow::anyhow!("generated entry {i} refused: {e}"))?;
                    chunk.push((canonical.body, canonical.index_keys));
                }
                if tx.blocking_send(chunk).is_err() {
                    return Ok(());
                }
            }
        }));
    }
    drop(tx);
    let start = Instant::now();
    let max_in_flight = b.batch.saturating_mul(4);
    let mut in_flight = tokio::task::JoinSet::new();
    let (mut appended, mut duplicates) = (0u64, 0u64);
    let mut errors: BTreeMap<String, usize> = BTreeMap::new();
    let mut last_report = Instant::now();
    let mut tally =
        |r: Result<Result<sigstead_tlog::AppendOutcome, Arc<sigstead_tlog::Error>>, tokio::task::JoinError>| match r {
            Ok(Ok(sigstead_tlog::AppendOutcome::Appended(_))) => appended += 1,
            Ok(Ok(sigstead_tlog::AppendOutcome::Duplicate(_))) => duplicates += 1,
            Ok(Err(e)) => *errors.entry(e.to_string()).or_default() += 1,
            Err(e) => *errors.entry(format!("task: {e}")).or_default() += 1,
        };
    while let Some(chunk) = rx.recv().await {
        for (body, keys) in chunk {
            while in_flight.len() >= max_in_flight {
                if let Some(r) = in_flight.join_next().await {
                    tally(r);
                }
            }
            let log = log.clone();
            in_flight.spawn(async move { log.append(body, keys).await });
        }
        if last_report.elapsed() >= Duration::from_secs(10) {
            last_report = Instant::now();
            let size = log.checkpoint().tree_size.0;
            let done = size.saturating_sub(size_before);
            #[allow(clippy::cast_precision_loss, reason = "entry counts are far below 2^52")]
            let rate = done as f64 / start.elapsed().as_secs_f64();
            eprintln!("tree size {size} (+{done} of {total}), {rate:.0} entries/s");
        }
    }
    while let Some(r) = in_flight.join_next().await {
        tally(r);
    }
    for g in generators {
        g.join().map_err(|_| anyhow::anyhow!("generator thread panicked"))??;
    }
    let secs = start.elapsed().as_secs_f64();
    let size_after = log.checkpoint().tree_size.0;
    log.shutdown().await;
    #[allow(clippy::cast_precision_loss, reason = "entry counts are far below 2^52")]
    let rate = appended as f64 / secs;
    let report = serde_json::json!({
        "entry_shape": format!("{shape:?}").to_lowercase(),
        "identities": clients,
        "batch": b.batch,
        "appended": appended,
        "duplicates": duplicates,
        "errors": errors,
        "seconds": secs,
        "appends_per_sec": rate,
        "tree_size_before": size_before,
        "tree_size_after": size_after,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    anyhow::ensure!(errors.is_empty() && duplicates == 0, "some appends failed: {errors:?}, {duplicates} duplicates");
    anyhow::ensure!(
        size_after == size_before + appended,
        "the tree grew by {} but {appended} appends were acknowledged",
        size_after - size_before
    );
    Ok(())
}

#[derive(Debug, Args)]
pub struct ReadsBench {
    /// Base URL of the log.
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    url: String,
    /// Seconds of measured load.
    #[arg(long, default_value_t = 20)]
    duration: u64,
    /// Concurrent clients (closed loop).
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Entries read first, at random indexes, for the reads by UUID.
    #[arg(long, default_value_t = 500)]
    sample: usize,
}

/// What `sigstead bench reads` asks, in turn.
const KINDS: [&str; 3] = ["entry_by_index", "entry_by_uuid", "consistency_proof"];

fn random_below(n: u64) -> u64 {
    u64::from_le_bytes(sigstead_crypto::random_bytes::<8>()) % n.max(1)
}

/// Checks one answer: an entry read must be the entry asked for, with an
/// inclusion proof to a tree that holds it; a consistency proof must have
/// hashes unless the sizes are equal.
fn check(kind: &str, body: &[u8], index: u64, first: u64, size: u64) -> Result<(), String> {
    let v: serde_json::Value = serde_json::from_slice(body).map_err(|e| format!("{kind}: not JSON: {e}"))?;
    if kind == "consistency_proof" {
        let hashes = v["hashes"].as_array().map_or(0, Vec::len);
        return if hashes > 0 || first == size { Ok(()) } else { Err(format!("{kind}: no hashes")) };
    }
    let e = v.as_object().and_then(|m| m.values().next()).ok_or_else(|| format!("{kind}: no entry"))?;
    let proof = &e["verification"]["inclusionProof"];
    let (got, tree) = (e["logIndex"].as_u64(), proof["treeSize"].as_u64());
    match (got, tree) {
        (Some(got), Some(tree)) if (kind != "entry_by_index" || got == index) && got < tree => Ok(()),
        _ => Err(format!("{kind}: wrong entry or proof (asked {index}, got {got:?} in tree {tree:?})")),
    }
}

pub async fn reads(b: ReadsBench) -> anyhow::Result<()> {
    let base = b.url.trim_end_matches('/').to_string();
    let client =
        reqwest::Client::builder().pool_max_idle_per_host(b.concurrency).timeout(Duration::from_secs(30)).build()?;
    let size = crate::tree_size(&client, &format!("{base}/api/v1/log")).await?;
    anyhow::ensure!(size > 1, "the log at {base} holds only its genesis leaf: fill it first (sigstead bench fill)");
    eprintln!("tree size {size}; sampling {} entries…", b.sample);
    let mut uuids = Vec::new();
    for _ in 0..b.sample {
        let i = random_below(size);
        let v: serde_json::Value = client
            .get(format!("{base}/api/v1/log/entries?logIndex={i}"))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        if let Some(uuid) = v.as_object().and_then(|m| m.keys().next()) {
            uuids.push(uuid.clone());
        }
    }
    anyhow::ensure!(!uuids.is_empty(), "no entry read back from {base}");
    let uuids = Arc::new(uuids);
    let deadline = Instant::now() + Duration::from_secs(b.duration);
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..b.concurrency {
        let (client, base, uuids, next) = (client.clone(), base.clone(), uuids.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat: BTreeMap<&'static str, Vec<Duration>> = BTreeMap::new();
            let mut errors: BTreeMap<String, usize> = BTreeMap::new();
            while Instant::now() < deadline {
                let n = next.fetch_add(1, Ordering::Relaxed);
                let kind = KINDS[n % KINDS.len()];
                let index = random_below(size);
                let first = 1 + random_below(size);
                let path = match kind {
                    "entry_by_index" => format!("/api/v1/log/entries?logIndex={index}"),
                    "entry_by_uuid" => format!("/api/v1/log/entries/{}", uuids[n % uuids.len()]),
                    _ => format!("/api/v1/log/proof?firstSize={first}&lastSize={size}"),
                };
                let t = Instant::now();
                let result = async {
                    let resp = client
                        .get(format!("{base}{path}"))
                        .send()
                        .await
                        .map_err(|e| format!("transport: {}", e.without_url()))?;
                    let status = resp.status().as_u16();
                    let body = resp.bytes().await.map_err(|e| format!("body: {e}"))?;
                    if status != 200 {
                        return Err(format!("{kind}: HTTP {status}"));
                    }
                    Ok(body)
                }
                .await;
                let elapsed = t.elapsed();
                match result.and_then(|body| check(kind, &body, index, first, size)) {
                    Ok(()) => lat.entry(kind).or_default().push(elapsed),
                    Err(e) => *errors.entry(e).or_default() += 1,
                }
            }
            (lat, errors)
        }));
    }
    let secs = start.elapsed().as_secs_f64();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let (by_kind, all, errors) = crate::summarise_by_kind(tasks).await?;
    #[allow(clippy::cast_precision_loss, reason = "request counts are far below 2^52")]
    let per_sec = all.len() as f64 / secs;
    let report = serde_json::json!({
        "tree_size": size,
        "seconds": secs,
        "concurrency": b.concurrency,
        "requests": all.len(),
        "requests_per_sec": per_sec,
        "errors": errors,
        "p50_ms": ms(percentile(&all, 50.0)),
        "p99_ms": ms(percentile(&all, 99.0)),
        "by_kind": by_kind,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    anyhow::ensure!(errors.is_empty(), "some reads failed: {errors:?}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check;

    fn entry(index: u64, tree: u64) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({"abc": {
            "logIndex": index, "verification": {"inclusionProof": {"treeSize": tree}}
        }}))
        .expect("json")
    }

    #[test]
    fn an_answer_for_another_index_or_outside_its_tree_is_refused() {
        assert!(check("entry_by_index", &entry(7, 10), 7, 1, 10).is_ok());
        let wrong = check("entry_by_index", &entry(8, 10), 7, 1, 10).unwrap_err();
        assert!(wrong.contains("asked 7, got Some(8)"), "{wrong}");
        let outside = check("entry_by_uuid", &entry(10, 10), 0, 1, 10).unwrap_err();
        assert!(outside.contains("wrong entry or proof"), "{outside}");
        assert!(check("entry_by_index", b"not json", 7, 1, 10).unwrap_err().contains("not JSON"));
    }

    #[test]
    fn a_consistency_proof_without_hashes_is_refused_unless_the_sizes_are_equal() {
        assert!(check("consistency_proof", br#"{"hashes": ["aa"]}"#, 0, 3, 10).is_ok());
        assert!(check("consistency_proof", br#"{"hashes": []}"#, 0, 10, 10).is_ok());
        assert!(check("consistency_proof", br#"{"hashes": []}"#, 0, 3, 10).unwrap_err().contains("no hashes"));
    }
}
