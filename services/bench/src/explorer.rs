//! `sigstead bench explorer`: search latency of the log explorer over a
//! filled log. A closed loop of GETs, as people and scripts browse: the
//! newest page of an identity and of the issuer (on a log filled by
//! `sigstead bench rekor --clients N`, the identities are
//! `ci-<i>@example.com` and every entry has the same issuer, so the issuer
//! search is the one with the most hits), a deep page of each (`before` a
//! random index), a log index, an artifact digest and an entry UUID
//! (sampled from the log first), an entry page and its proof document.
//! Every answer must be 200 and, for a search, list at least one entry.

use clap::Args;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Args)]
pub struct ExplorerBench {
    /// Base URL of the explorer.
    #[arg(long, default_value = "http://127.0.0.1:3006")]
    url: String,
    /// Seconds of measured load.
    #[arg(long, default_value_t = 20)]
    duration: u64,
    /// Concurrent clients (closed loop).
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// The identities `ci-<i>@example.com`, i < clients, that filled the log.
    #[arg(long, default_value_t = 256)]
    clients: usize,
    /// The OIDC issuer of the filling entries.
    #[arg(long, default_value = "https://token.actions.githubusercontent.com")]
    issuer: String,
    /// Entries sampled first (at random indexes) for digest and UUID searches.
    #[arg(long, default_value_t = 200)]
    sample: usize,
}

const KINDS: [&str; 9] = [
    "identity",
    "identity_deep_page",
    "issuer",
    "issuer_deep_page",
    "index",
    "digest",
    "uuid",
    "entry_page",
    "proof_document",
];

fn random_below(n: u64) -> u64 {
    u64::from_le_bytes(sigstead_crypto::random_bytes::<8>()) % n.max(1)
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'.' || b == b'-' {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// `(uuid, sha256 hex)` of the first result row of a search page.
fn first_row(html: &str) -> Option<(String, String)> {
    let uuid = html.split("<a href=\"/entry/").nth(1)?.split('"').next()?.to_string();
    let digest = html.split("<code>sha256:").nth(1)?.split('<').next()?.to_string();
    Some((uuid, digest))
}

fn tree_size(home: &str) -> Option<u64> {
    home.split("id=\"tree-size\">").nth(1)?.split('<').next()?.parse().ok()
}

pub async fn run(b: ExplorerBench) -> anyhow::Result<()> {
    let base = b.url.trim_end_matches('/').to_string();
    let client =
        reqwest::Client::builder().pool_max_idle_per_host(b.concurrency).timeout(Duration::from_secs(30)).build()?;
    let home = client.get(format!("{base}/")).send().await?.error_for_status()?.text().await?;
    let size = tree_size(&home).ok_or_else(|| anyhow::anyhow!("no tree size on {base}/"))?;
    anyhow::ensure!(size > 1, "the log at {base} holds only its genesis leaf: fill it first (sigstead bench rekor)");
    eprintln!("tree size {size}; sampling {} entries…", b.sample);
    let mut samples = Vec::new();
    for _ in 0..b.sample {
        let i = 1 + random_below(size - 1);
        let page = client.get(format!("{base}/search?kind=index&q={i}")).send().await?.text().await?;
        if let Some(row) = first_row(&page) {
            samples.push(row);
        }
    }
    anyhow::ensure!(!samples.is_empty(), "no entry with a sha256 digest found among the sampled indexes");
    let samples = Arc::new(samples);
    let deadline = Instant::now() + Duration::from_secs(b.duration);
    let next = Arc::new(AtomicUsize::new(0));
    let b = Arc::new(b);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..b.concurrency {
        let (client, base, samples, next, b) = (client.clone(), base.clone(), samples.clone(), next.clone(), b.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat: BTreeMap<&'static str, Vec<Duration>> = BTreeMap::new();
            let mut errors: BTreeMap<String, usize> = BTreeMap::new();
            while Instant::now() < deadline {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let kind = KINDS[i % KINDS.len()];
                let (uuid, digest) = &samples[i % samples.len()];
                let identity = format!("ci-{}@example.com", random_below(u64::try_from(b.clients).unwrap_or(1)));
                let before = 1 + random_below(size - 1);
                let path = match kind {
                    "identity" => format!("/search?kind=identity&q={}", enc(&identity)),
                    "identity_deep_page" => format!("/search?kind=identity&q={}&before={before}", enc(&identity)),
                    "issuer" => format!("/search?kind=issuer&q={}", enc(&b.issuer)),
                    "issuer_deep_page" => format!("/search?kind=issuer&q={}&before={before}", enc(&b.issuer)),
                    "index" => format!("/search?kind=index&q={}", random_below(size)),
                    "digest" => format!("/search?kind=digest&q=sha256%3A{digest}"),
                    "uuid" => format!("/search?kind=uuid&q={uuid}"),
                    "entry_page" => format!("/entry/{uuid}"),
                    _ => format!("/api/proof/{uuid}"),
                };
                let t = Instant::now();
                let result = async {
                    let resp = client
                        .get(format!("{base}{path}"))
                        .send()
                        .await
                        .map_err(|e| format!("transport: {}", e.without_url()))?;
                    let status = resp.status().as_u16();
                    let text = resp.text().await.map_err(|e| format!("body: {e}"))?;
                    if status != 200 {
                        return Err(format!("{kind}: HTTP {status}"));
                    }
                    // A deep page may legitimately be past an identity's oldest entry.
                    if kind.ends_with("deep_page") || !path.starts_with("/search") || text.contains("<a href=\"/entry/")
                    {
                        Ok(())
                    } else {
                        Err(format!("{kind}: no result"))
                    }
                }
                .await;
                match result {
                    Ok(()) => lat.entry(kind).or_default().push(t.elapsed()),
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
        "p50_ms": ms(crate::percentile(&all, 50.0)),
        "p99_ms": ms(crate::percentile(&all, 99.0)),
        "max_ms": ms(all.last().copied().unwrap_or_default()),
        "by_kind": by_kind,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    anyhow::ensure!(errors.is_empty(), "some requests failed: {errors:?}");
    Ok(())
}
