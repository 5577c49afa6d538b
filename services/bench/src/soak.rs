//! `sigstead bench soak`: a long open-loop run of Rekor appends at a fixed
//! rate, with the server's memory sampled, to show that a long run neither
//! leaks nor fails.
//!
//! Unlike `sigstead bench rekor`, requests are signed while the run goes (one
//! generator thread, ahead of the schedule through a bounded channel): an
//! hour at thousands of appends per second does not fit in memory pre-signed.
//! The generator costs a fraction of a core at the rates a soak runs at (half
//! the maximum), which is why this is a soak and not a throughput benchmark.
//! Latency is measured from each request's scheduled send time (no
//! coordinated omission). Every `--report-every` seconds one JSON line gives
//! that window's acknowledgements, errors, p50/p99 and the server's RSS
//! (`VmRSS` of `--server-pid`); the last line sums up and compares the RSS
//! after warm-up with its highest value afterwards.

use crate::{entry, identities, percentile, EntryShape};
use bytes::Bytes;
use clap::Args;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

#[derive(Debug, Args)]
pub struct SoakBench {
    /// Base URL of the log.
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    url: String,
    /// Appends per second, on a fixed schedule.
    #[arg(long)]
    rate: u64,
    /// Seconds of load.
    #[arg(long, default_value_t = 3600)]
    duration: u64,
    /// Most requests in flight (a request over the cap waits, and its wait counts in its latency).
    #[arg(long, default_value_t = 512)]
    concurrency: usize,
    /// What each entry carries (as `sigstead bench rekor --entry-shape`).
    #[arg(long, value_enum, default_value = "certificate")]
    entry_shape: EntryShape,
    /// Distinct signing identities.
    #[arg(long, default_value_t = 1000)]
    clients: usize,
    /// The server process whose resident memory is sampled.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Seconds between report lines.
    #[arg(long, default_value_t = 60)]
    report_every: u64,
    /// Seconds of warm-up: memory growth is judged after it.
    #[arg(long, default_value_t = 300)]
    warm_up: u64,
}

#[derive(Debug, Default)]
struct Window {
    latencies: Vec<Duration>,
    errors: BTreeMap<String, usize>,
}

/// Resident memory of a process in KiB (Linux `/proc`), if readable.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok()
}

pub async fn run(b: SoakBench) -> anyhow::Result<()> {
    anyhow::ensure!(b.rate > 0 && b.report_every > 0, "--rate and --report-every must be positive");
    let url = format!("{}/api/v1/log/entries", b.url.trim_end_matches('/'));
    let (shape, clients) = (b.entry_shape, b.clients);
    let ids = Arc::new(tokio::task::spawn_blocking(move || identities(shape, clients)).await??);
    let nonce: [u8; 16] = sigstead_crypto::random_bytes();
    let ahead = usize::try_from(b.rate)?.saturating_mul(2).max(1);
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(ahead);
    let generator = std::thread::spawn(move || {
        for i in 0usize.. {
            if tx.blocking_send(entry(shape, &ids[i % ids.len()], &nonce, i)).is_err() {
                return;
            }
        }
    });
    let client =
        reqwest::Client::builder().pool_max_idle_per_host(b.concurrency).timeout(Duration::from_secs(60)).build()?;
    let window = Arc::new(Mutex::new(Window::default()));
    let permits = Arc::new(tokio::sync::Semaphore::new(b.concurrency));
    let start = Instant::now();
    let end = start + Duration::from_secs(b.duration);
    let reporter = {
        let (window, pid, every, warm_up) = (window.clone(), b.server_pid, b.report_every, b.warm_up);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval_at(start + Duration::from_secs(every), Duration::from_secs(every));
            let (mut ok, mut errors) = (0usize, 0usize);
            let (mut rss_after_warm_up, mut rss_max_after) = (None::<u64>, 0u64);
            let mut all: Vec<Duration> = Vec::new();
            loop {
                tick.tick().await;
                let done = Instant::now() >= end + Duration::from_secs(every);
                let w = std::mem::take(&mut *window.lock().expect("window lock"));
                let mut lat = w.latencies;
                lat.sort_unstable();
                let rss = pid.and_then(rss_kib);
                let t = start.elapsed().as_secs();
                if t >= warm_up {
                    if let Some(r) = rss {
                        rss_after_warm_up.get_or_insert(r);
                        rss_max_after = rss_max_after.max(r);
                    }
                }
                ok += lat.len();
                errors += w.errors.values().sum::<usize>();
                let ms = |d: Duration| d.as_secs_f64() * 1e3;
                let line = serde_json::json!({
                    "t_s": t, "acknowledged": lat.len(), "errors": w.errors,
                    "p50_ms": ms(percentile(&lat, 50.0)), "p99_ms": ms(percentile(&lat, 99.0)),
                    "max_ms": ms(lat.last().copied().unwrap_or_default()),
                    "server_rss_mb": rss.map(|r| r / 1024),
                });
                println!("{line}");
                all.extend(lat);
                if done {
                    all.sort_unstable();
                    return (ok, errors, rss_after_warm_up, rss_max_after, all);
                }
            }
        })
    };
    let mut sent = 0u64;
    for i in 0u64.. {
        #[allow(clippy::cast_precision_loss, reason = "request counts are far below 2^52")]
        let scheduled = start + Duration::from_secs_f64(i as f64 / b.rate as f64);
        if scheduled >= end {
            break;
        }
        let body = rx.recv().await.ok_or_else(|| anyhow::anyhow!("request generator stopped"))?;
        tokio::time::sleep_until(scheduled).await;
        let (client, url, window, permits) = (client.clone(), url.clone(), window.clone(), permits.clone());
        tokio::spawn(async move {
            let Ok(_permit) = permits.acquire_owned().await else { return };
            let result = async {
                let resp = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .map_err(|e| format!("transport: {}", e.without_url()))?;
                let status = resp.status().as_u16();
                let _ = resp.bytes().await;
                if status == 201 {
                    Ok(())
                } else {
                    Err(format!("HTTP {status}"))
                }
            }
            .await;
            let elapsed = scheduled.elapsed();
            let mut w = window.lock().expect("window lock");
            match result {
                Ok(()) => w.latencies.push(elapsed),
                Err(e) => *w.errors.entry(e).or_default() += 1,
            }
        });
        sent += 1;
    }
    drop(rx);
    let (ok, errors, rss_warm, rss_max, all) = reporter.await?;
    generator.join().map_err(|_| anyhow::anyhow!("generator thread panicked"))?;
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let summary = serde_json::json!({
        "summary": true, "rate": b.rate, "seconds": b.duration, "sent": sent, "acknowledged": ok, "errors": errors,
        "p50_ms": ms(percentile(&all, 50.0)), "p99_ms": ms(percentile(&all, 99.0)),
        "max_ms": ms(all.last().copied().unwrap_or_default()),
        "server_rss_after_warm_up_mb": rss_warm.map(|r| r / 1024),
        "server_rss_max_after_warm_up_mb": rss_max / 1024,
    });
    println!("{summary}");
    anyhow::ensure!(errors == 0 && u64::try_from(ok)? == sent, "{errors} errors, {ok} of {sent} acknowledged");
    Ok(())
}
