//! `sigstead bench rekor|fulcio|tsa|explorer|fill|reads|soak`: load generators for
//! the Rekor API, the CA, the TSA and the explorer, and the log's scale
//! benchmarks (a library so that the binary only parses arguments and calls it).
//!
//! Requests are signed before the clock starts (so the generator does not
//! compete with the server for the CPU while measuring) and every request is
//! a distinct, valid `hashedrekord` entry. Two modes:
//!
//! * closed loop (default): `--concurrency` clients submit back to back; this
//!   measures sustained throughput;
//! * open loop (`--rate R`): requests are issued on a fixed schedule and
//!   latency is measured from the *scheduled* time, so a stalled server is
//!   not hidden by clients that stop sending (no coordinated omission).
//!
//! The same run also measures this machine's single-core P-256 verification
//! rate, the floor cost of every append.

use base64::{engine::general_purpose::STANDARD, Engine};
use bytes::Bytes;
use clap::{Args, Subcommand};
mod explorer;
mod scale;
mod soak;

use sha2::{Digest, Sha256};
use sigstead_crypto::Signer;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Submit hashedrekord entries to a running Rekor log.
    Rekor(RekorBench),
    /// Request certificates (with embedded SCT) from the CA of a running `sigstead up`.
    Fulcio(FulcioBench),
    /// Request RFC 3161 timestamps from a running timestamp authority.
    Tsa(TsaBench),
    /// Search latency of the log explorer over a filled log.
    Explorer(explorer::ExplorerBench),
    /// Build a large log fast: valid entries appended in-process, through the
    /// service's canonicalisation and the engine's commit protocol.
    Fill(scale::FillBench),
    /// Latency of entry reads (by index and UUID, with inclusion proofs) and
    /// consistency proofs over a filled log.
    Reads(scale::ReadsBench),
    /// A long open-loop run of Rekor appends at a fixed rate with the
    /// server's memory sampled (requests signed as the run goes).
    Soak(soak::SoakBench),
}

#[derive(Debug, Args)]
pub struct TsaBench {
    /// The timestamp URL.
    #[arg(long, default_value = "http://127.0.0.1:3005/api/v1/timestamp")]
    url: String,
    /// Seconds of measured load.
    #[arg(long, default_value_t = 20)]
    duration: u64,
    /// Concurrent clients (closed loop).
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Requests to prepare, each a distinct SHA-256 imprint with a random nonce and certReq set.
    #[arg(long, default_value_t = 400_000)]
    max_requests: usize,
}

#[derive(Debug, Args)]
pub struct FulcioBench {
    /// Base URL of the CA.
    #[arg(long, default_value = "http://127.0.0.1:3001")]
    url: String,
    /// Data directory of `sigstead up` (its development issuer mints the tokens).
    #[arg(long, default_value = "./sigstead-data")]
    data_dir: std::path::PathBuf,
    /// Seconds of measured load.
    #[arg(long, default_value_t = 20)]
    duration: u64,
    /// Concurrent clients.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Requests to prepare (each with its own key and proof of possession).
    #[arg(long, default_value_t = 60_000)]
    max_requests: usize,
}

#[derive(Debug, Args)]
pub struct RekorBench {
    /// Base URL of the log. Repeat it for replicas: requests go to each in
    /// turn, as clients spread over replicas without a load balancer.
    #[arg(long = "url", default_value = "http://127.0.0.1:3000")]
    urls: Vec<String>,
    /// Write one JSON line per acknowledged entry (replica, uuid, logIndex,
    /// the receipt's treeSize and rootHash, UNIX ms) for later checks.
    #[arg(long)]
    record: Option<std::path::PathBuf>,
    /// With several URLs: after every Nth acknowledgement, read the entry
    /// back at once from the next replica (read-your-writes); 0 = never.
    #[arg(long, default_value_t = 0)]
    read_back_every: usize,
    /// Seconds of measured load.
    #[arg(long, default_value_t = 20)]
    duration: u64,
    /// Concurrent clients (closed loop), or the cap on requests in flight (open loop).
    #[arg(long, default_value_t = 256)]
    concurrency: usize,
    /// Open loop: requests per second on a fixed schedule.
    #[arg(long)]
    rate: Option<u64>,
    /// Closed loop: requests to pre-sign (the run stops early if they run out).
    #[arg(long, default_value_t = 200_000)]
    max_requests: usize,
    /// What each entry carries: `certificate` (hashedrekord with a distinct
    /// Fulcio-like leaf per client, as a CI fleet's keyless signatures), `key`
    /// (hashedrekord with a bare public key, cosign's key-based shape), or
    /// `dsse` (a DSSE envelope over an in-toto statement, with a leaf).
    #[arg(long, value_enum, default_value = "certificate")]
    entry_shape: EntryShape,
    /// Distinct signing identities (leaf certificates or keys) the requests rotate through.
    #[arg(long, default_value_t = 256)]
    clients: usize,
    /// Closed loop: stop early once this file exists (a test harness ends
    /// the load when its fault rounds are done; the record is flushed).
    #[arg(long)]
    until_file: Option<std::path::PathBuf>,
}

/// The entry shapes `sigstead bench rekor` submits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EntryShape {
    Certificate,
    Key,
    Dsse,
}

pub async fn run(cmd: BenchCommand) -> anyhow::Result<()> {
    // The HTTP clients' TLS (benchmarks may target https URLs).
    sigstead_server::install_crypto_provider();
    match cmd {
        BenchCommand::Rekor(b) => rekor(b).await,
        BenchCommand::Fulcio(b) => fulcio(b).await,
        BenchCommand::Tsa(b) => tsa(b).await,
        BenchCommand::Explorer(b) => explorer::run(b).await,
        BenchCommand::Fill(b) => scale::fill(b).await,
        BenchCommand::Reads(b) => scale::reads(b).await,
        BenchCommand::Soak(b) => soak::run(b).await,
    }
}

/// Verifications per second on one core, measured for about a second with
/// the same code the server runs (`sigstead_crypto`, prehashed P-256).
fn p256_verify_rate() -> f64 {
    let signer = sigstead_crypto::EcdsaSigner::generate_p256();
    let sig = signer.sign(b"bench").expect("sign");
    let digest = sigstead_crypto::digest(sigstead_crypto::HashAlgorithm::Sha256, b"bench");
    let key = sigstead_crypto::PublicKey::from_spki_der(signer.public_key_der()).expect("key");
    let start = Instant::now();
    let mut n = 0u32;
    while start.elapsed() < Duration::from_secs(1) {
        for _ in 0..100 {
            key.verify_prehash(sigstead_crypto::HashAlgorithm::Sha256, &digest, &sig).expect("verify");
        }
        n += 100;
    }
    f64::from(n) / start.elapsed().as_secs_f64()
}

/// One signing identity of the simulated fleet: its key and the PEM its
/// entries carry (a leaf certificate, or the bare public key).
struct Identity {
    key: sigstead_crypto::EcdsaSigner,
    pem_b64: String,
}

/// `clients` identities: for `key`, bare P-256 keys; otherwise Fulcio-like
/// leaves (ten minutes, email SAN, the issuer extensions, one embedded SCT)
/// from a throwaway CA, one per client.
fn identities(shape: EntryShape, clients: usize) -> anyhow::Result<Vec<Identity>> {
    use sigstead_ca::{CertExtension, ExtensionEncoding, LeafRequest, SubjectAltName};
    let clients = clients.max(1);
    if shape == EntryShape::Key {
        return Ok((0..clients)
            .map(|_| {
                let key = sigstead_crypto::EcdsaSigner::generate_p256();
                let pem_b64 = STANDARD.encode(key.public_key_pem().as_bytes());
                Identity { key, pem_b64 }
            })
            .collect());
    }
    let inter_key: Arc<dyn Signer> = Arc::new(sigstead_crypto::EcdsaSigner::generate_p256());
    let now = time::OffsetDateTime::now_utc();
    let root: Arc<dyn Signer> = Arc::new(sigstead_crypto::EcdsaSigner::generate_p256());
    let (root, inter) = sigstead_ca::generate_ca("bench", root, inter_key.clone(), now, 1)?;
    let ca = sigstead_ca::CaChain::new(vec![inter, root], inter_key)?;
    let ct_key = sigstead_crypto::EcdsaSigner::generate_p256();
    let issuer = "https://token.actions.githubusercontent.com";
    (0..clients)
        .map(|i| {
            let key = sigstead_crypto::EcdsaSigner::generate_p256();
            let req = LeafRequest {
                spki_der: key.public_key_der().to_vec(),
                san: SubjectAltName::Email(format!("ci-{i}@example.com")),
                extensions: vec![
                    CertExtension {
                        oid: sigstead_ca::oid::ISSUER,
                        value: issuer.into(),
                        encoding: ExtensionEncoding::Raw,
                    },
                    CertExtension {
                        oid: sigstead_ca::oid::ISSUER_V2,
                        value: issuer.into(),
                        encoding: ExtensionEncoding::Utf8String,
                    },
                ],
                not_before: now,
                not_after: now + time::Duration::minutes(10),
                serial: sigstead_ca::new_serial(),
            };
            let pre = ca.precertificate(&req)?;
            let ms = u64::try_from(now.unix_timestamp()).unwrap_or(0) * 1000;
            let sct = sigstead_ct::Sct::sign(&ca.ct_entry(&pre)?, ms, &ct_key)?;
            let leaf = ca.finalize(pre, &[sct])?;
            let pem_b64 = STANDARD.encode(sigstead_crypto::pem_encode("CERTIFICATE", &leaf).as_bytes());
            Ok(Identity { key, pem_b64 })
        })
        .collect()
}

/// Request `i`: a distinct artifact signed by identity `i % clients`, built
/// with the shared Rekor wire types (as the tests build theirs).
fn entry(shape: EntryShape, id: &Identity, nonce: &[u8], i: usize) -> Bytes {
    use sigstead_rekor_types::wire;
    let mut artifact = nonce.to_vec();
    artifact.extend_from_slice(&i.to_be_bytes());
    let digest: [u8; 32] = Sha256::digest(&artifact).into();
    let body = match shape {
        EntryShape::Key | EntryShape::Certificate => {
            // The signature covers the artifact, the entry carries its SHA-256 (as clients do).
            let sig = id.key.sign(&artifact).expect("sign");
            wire::hashedrekord_raw("sha256", &hex::encode(digest), &STANDARD.encode(&sig), &id.pem_b64).to_vec()
        }
        EntryShape::Dsse => {
            let payload = wire::in_toto_statement("artifact", &hex::encode(digest));
            let payload_type = wire::IN_TOTO_PAYLOAD_TYPE;
            let sig = id.key.sign(&sigstead_rekor_types::pae(payload_type, &payload)).expect("sign");
            let envelope = wire::Envelope::new(payload_type, &payload, &[sig]).to_text();
            let mut entry = wire::dsse(&envelope, &[]);
            entry.spec.proposed_content.verifiers.push(id.pem_b64.clone());
            entry.to_vec()
        }
    };
    Bytes::from(body)
}

fn make_requests(count: usize, shape: EntryShape, clients: usize) -> anyhow::Result<Vec<Bytes>> {
    let ids = Arc::new(identities(shape, clients)?);
    let nonce: [u8; 16] = sigstead_crypto::random_bytes();
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let chunk = count.div_ceil(threads).max(1);
    let mut handles = Vec::new();
    for t in 0..threads {
        let ids = ids.clone();
        handles.push(std::thread::spawn(move || {
            ((t * chunk)..((t + 1) * chunk).min(count))
                .map(|i| entry(shape, &ids[i % ids.len()], &nonce, i))
                .collect::<Vec<_>>()
        }));
    }
    Ok(handles.into_iter().flat_map(|h| h.join().expect("signer thread")).collect())
}

#[derive(Debug, Default)]
struct Outcome {
    latencies: Vec<Duration>,
    ok: usize,
    errors: std::collections::BTreeMap<String, usize>,
}

impl Outcome {
    /// The common part of a report: counts, rate and latency percentiles.
    fn report(&self, secs: f64, count_key: &str, rate_key: &str) -> serde_json::Map<String, serde_json::Value> {
        let mut lat = self.latencies.clone();
        lat.sort_unstable();
        #[allow(clippy::cast_precision_loss, reason = "request counts are far below 2^52")]
        let per_sec = self.ok as f64 / secs;
        let mut m = serde_json::Map::new();
        m.insert("seconds".into(), secs.into());
        m.insert(count_key.into(), self.ok.into());
        m.insert("errors".into(), serde_json::json!(self.errors));
        m.insert(rate_key.into(), per_sec.into());
        m.insert("p50_ms".into(), (percentile(&lat, 50.0).as_secs_f64() * 1e3).into());
        m.insert("p99_ms".into(), (percentile(&lat, 99.0).as_secs_f64() * 1e3).into());
        m.insert("max_ms".into(), (lat.last().copied().unwrap_or_default().as_secs_f64() * 1e3).into());
        m
    }
}

/// Where requests go and what counts as success.
#[derive(Debug)]
struct Target {
    /// Request `i` goes to `urls[i % urls.len()]`.
    urls: Vec<String>,
    content_type: &'static str,
    bearer: Option<String>,
    expect: u16,
    /// Rekor only: record and read back acknowledged entries.
    rekor: Option<RekorChecks>,
}

/// What `sigstead bench rekor` checks beside the load.
#[derive(Debug)]
struct RekorChecks {
    /// Base URLs of the replicas (for reading entries back).
    bases: Vec<String>,
    record: Option<std::sync::Mutex<std::io::BufWriter<std::fs::File>>>,
    read_back_every: usize,
    read_backs: AtomicUsize,
    read_back_misses: AtomicUsize,
}

impl Target {
    fn single(url: String, content_type: &'static str, bearer: Option<String>, expect: u16) -> Self {
        Self { urls: vec![url], content_type, bearer, expect, rekor: None }
    }

    async fn send(&self, client: &reqwest::Client, body: Bytes, i: usize) -> Result<(), String> {
        let replica = i % self.urls.len();
        let mut req = client.post(&self.urls[replica]).header("content-type", self.content_type).body(body);
        if let Some(t) = &self.bearer {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let resp = req.send().await.map_err(|e| format!("transport: {}", e.without_url()))?;
        let status = resp.status();
        let bytes = resp.bytes().await;
        if status.as_u16() != self.expect {
            return Err(format!("HTTP {}", status.as_u16()));
        }
        if let (Some(checks), Ok(bytes)) = (&self.rekor, bytes) {
            checks.acknowledged(client, replica, &bytes, i).await;
        }
        Ok(())
    }
}

impl RekorChecks {
    async fn acknowledged(&self, client: &reqwest::Client, replica: usize, body: &[u8], i: usize) {
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else { return };
        let Some((uuid, entry)) = v.as_object().and_then(|m| m.iter().next()) else { return };
        if let Some(record) = &self.record {
            let proof = &entry["verification"]["inclusionProof"];
            let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_millis();
            let line = serde_json::json!({
                "replica": replica, "uuid": uuid, "logIndex": entry["logIndex"],
                "treeSize": proof["treeSize"], "rootHash": proof["rootHash"], "unix_ms": u64::try_from(ms).unwrap_or(0),
            });
            if let Ok(mut w) = record.lock() {
                use std::io::Write;
                let _ = writeln!(w, "{line}");
            }
        }
        if self.read_back_every > 0 && self.bases.len() > 1 && i.is_multiple_of(self.read_back_every) {
            let other = &self.bases[(replica + 1) % self.bases.len()];
            self.read_backs.fetch_add(1, Ordering::Relaxed);
            // A replica that does not answer (stopped, starting) is not a
            // miss: a miss is a replica that answers 404 for an acknowledged entry.
            match client.get(format!("{other}/api/v1/log/entries/{uuid}")).send().await {
                Ok(r) if r.status().as_u16() == 200 => {}
                Ok(r) if r.status().as_u16() == 404 => {
                    self.read_back_misses.fetch_add(1, Ordering::Relaxed);
                }
                _ => {
                    self.read_backs.fetch_sub(1, Ordering::Relaxed);
                }
            }
        }
    }
}

/// What one client task of a by-kind benchmark (explorer, reads) returns:
/// latencies per request kind, and errors by message.
type KindResults = (std::collections::BTreeMap<&'static str, Vec<Duration>>, std::collections::BTreeMap<String, usize>);

/// Joins the client tasks of a by-kind benchmark: p50/p99/max per kind,
/// every latency sorted, and the errors summed.
async fn summarise_by_kind(
    tasks: Vec<tokio::task::JoinHandle<KindResults>>,
) -> anyhow::Result<(
    serde_json::Map<String, serde_json::Value>,
    Vec<Duration>,
    std::collections::BTreeMap<String, usize>,
)> {
    let (mut lat, mut errors) = KindResults::default();
    for t in tasks {
        let (l, e) = t.await?;
        for (k, v) in l {
            lat.entry(k).or_default().extend(v);
        }
        for (k, v) in e {
            *errors.entry(k).or_default() += v;
        }
    }
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let mut by_kind = serde_json::Map::new();
    let mut all = Vec::new();
    for (k, mut v) in lat {
        v.sort_unstable();
        by_kind.insert(
            k.into(),
            serde_json::json!({
                "requests": v.len(),
                "p50_ms": ms(percentile(&v, 50.0)),
                "p99_ms": ms(percentile(&v, 99.0)),
                "max_ms": ms(v.last().copied().unwrap_or_default()),
            }),
        );
        all.extend(v);
    }
    all.sort_unstable();
    Ok((by_kind, all, errors))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (p / 100.0 * (sorted.len() - 1) as f64).round();
    // rank is in 0..len by construction.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "rank is a small non-negative index")]
    let idx = rank as usize;
    sorted[idx.min(sorted.len() - 1)]
}

async fn rekor(b: RekorBench) -> anyhow::Result<()> {
    let bases: Vec<String> = b.urls.iter().map(|u| u.trim_end_matches('/').to_owned()).collect();
    let urls: Vec<String> = bases.iter().map(|u| format!("{u}/api/v1/log/entries")).collect();
    let verify_rate = tokio::task::spawn_blocking(p256_verify_rate).await?;
    let count = match b.rate {
        Some(r) => usize::try_from(r.saturating_mul(b.duration))?,
        None => b.max_requests,
    };
    let (shape, clients) = (b.entry_shape, b.clients);
    eprintln!("pre-signing {count} {shape:?} requests from {clients} identities…");
    let requests = Arc::new(tokio::task::spawn_blocking(move || make_requests(count, shape, clients)).await??);
    let client =
        reqwest::Client::builder().pool_max_idle_per_host(b.concurrency).timeout(Duration::from_secs(60)).build()?;
    let size_before = any_tree_size(&client, &bases).await?;
    let duration = Duration::from_secs(b.duration);
    let record = match &b.record {
        Some(p) => Some(std::sync::Mutex::new(std::io::BufWriter::new(std::fs::File::create(p)?))),
        None => None,
    };
    let checks = RekorChecks {
        bases: bases.clone(),
        record,
        read_back_every: b.read_back_every,
        read_backs: AtomicUsize::new(0),
        read_back_misses: AtomicUsize::new(0),
    };
    let start = Instant::now();
    let target =
        Arc::new(Target { urls, content_type: "application/json", bearer: None, expect: 201, rekor: Some(checks) });
    let outcome = match b.rate {
        None => closed_loop(&client, &target, requests, b.concurrency, duration, b.until_file.clone()).await,
        Some(rate) => open_loop(&client, &target, requests, rate, b.concurrency).await,
    };
    let elapsed = start.elapsed();
    // A replica may be stopped by the caller meanwhile: ask the others too.
    let size_after = any_tree_size(&client, &bases).await?;
    if let Some(checks) = &target.rekor {
        if let Some(record) = &checks.record {
            use std::io::Write;
            record.lock().map_err(|_| anyhow::anyhow!("record lock poisoned"))?.flush()?;
        }
    }
    let mode = match b.rate {
        Some(r) => format!("open loop at {r}/s"),
        None => format!("closed loop, {} clients", b.concurrency),
    };
    let mut report = outcome.report(elapsed.as_secs_f64(), "appended", "appends_per_sec");
    report.insert("mode".into(), mode.into());
    report.insert("entry_shape".into(), format!("{:?}", b.entry_shape).to_lowercase().into());
    report.insert("identities".into(), b.clients.into());
    report.insert("tree_size_before".into(), size_before.into());
    report.insert("tree_size_after".into(), size_after.into());
    report.insert("p256_verify_per_sec_one_core".into(), verify_rate.into());
    report.insert("replicas".into(), bases.len().into());
    if let Some(checks) = &target.rekor {
        if checks.read_back_every > 0 && bases.len() > 1 {
            report.insert("read_backs".into(), checks.read_backs.load(Ordering::Relaxed).into());
            report.insert("read_back_misses".into(), checks.read_back_misses.load(Ordering::Relaxed).into());
        }
    }
    println!("{}", serde_json::to_string_pretty(&report)?);
    if size_after < size_before + u64::try_from(outcome.ok)? {
        anyhow::bail!("the tree grew by {} but {} appends were acknowledged", size_after - size_before, outcome.ok);
    }
    Ok(())
}

/// The tree size from the first of `bases` that answers.
async fn any_tree_size(client: &reqwest::Client, bases: &[String]) -> anyhow::Result<u64> {
    let mut last = None;
    for base in bases {
        match tree_size(client, &format!("{base}/api/v1/log")).await {
            Ok(size) => return Ok(size),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| anyhow::anyhow!("no URL given")))
}

async fn tree_size(client: &reqwest::Client, url: &str) -> anyhow::Result<u64> {
    let v: serde_json::Value = client.get(url).send().await?.error_for_status()?.json().await?;
    v["treeSize"].as_u64().ok_or_else(|| anyhow::anyhow!("no treeSize in {v}"))
}

async fn closed_loop(
    client: &reqwest::Client,
    target: &Arc<Target>,
    requests: Arc<Vec<Bytes>>,
    concurrency: usize,
    duration: Duration,
    until_file: Option<std::path::PathBuf>,
) -> Outcome {
    let next = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + duration;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    if let Some(path) = until_file {
        let stop = stop.clone();
        tokio::spawn(async move {
            while !path.exists() {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            stop.store(true, Ordering::Relaxed);
        });
    }
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, target, requests, next, stop) =
            (client.clone(), target.clone(), requests.clone(), next.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut out = Outcome::default();
            while Instant::now() < deadline && !stop.load(Ordering::Relaxed) {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(body) = requests.get(i) else { break };
                let t = Instant::now();
                match target.send(&client, body.clone(), i).await {
                    Ok(()) => {
                        out.ok += 1;
                        out.latencies.push(t.elapsed());
                    }
                    Err(e) => *out.errors.entry(e).or_default() += 1,
                }
            }
            out
        }));
    }
    merge(tasks).await
}

async fn open_loop(
    client: &reqwest::Client,
    target: &Arc<Target>,
    requests: Arc<Vec<Bytes>>,
    rate: u64,
    cap: usize,
) -> Outcome {
    let start = tokio::time::Instant::now();
    let permits = Arc::new(tokio::sync::Semaphore::new(cap));
    let mut tasks = Vec::with_capacity(requests.len());
    for (i, body) in requests.iter().enumerate() {
        let offset = Duration::from_secs_f64(
            u32::try_from(i).map(f64::from).unwrap_or(f64::MAX) / f64::from(u32::try_from(rate).unwrap_or(u32::MAX)),
        );
        let scheduled = start + offset;
        tokio::time::sleep_until(scheduled).await;
        let (client, target, body, permits) = (client.clone(), target.clone(), body.clone(), permits.clone());
        tasks.push(tokio::spawn(async move {
            let mut out = Outcome::default();
            let Ok(_permit) = permits.acquire_owned().await else {
                return out;
            };
            match target.send(&client, body, i).await {
                Ok(()) => {
                    out.ok = 1;
                    out.latencies.push(scheduled.elapsed());
                }
                Err(e) => *out.errors.entry(e).or_default() += 1,
            }
            out
        }));
    }
    merge(tasks).await
}

async fn merge(tasks: Vec<tokio::task::JoinHandle<Outcome>>) -> Outcome {
    let mut all = Outcome::default();
    for t in tasks {
        if let Ok(o) = t.await {
            all.ok += o.ok;
            all.latencies.extend(o.latencies);
            for (k, v) in o.errors {
                *all.errors.entry(k).or_default() += v;
            }
        }
    }
    all
}

/// Certificate issuance throughput: each request carries its own fresh
/// P-256 key and proof of possession (cosign's request shape, token in the
/// `Authorization` header); every answer is a chain with an embedded SCT,
/// which means one CT log append per certificate.
async fn fulcio(b: FulcioBench) -> anyhow::Result<()> {
    use sigstead_ca::wire::SigningCertRequest;
    let token = sigstead_dev_oidc::DevIssuer::open(&b.data_dir.join("oidc"))?.mint("bench@example.com")?;
    let n = b.max_requests;
    eprintln!("preparing {n} certificate requests…");
    let bodies = tokio::task::spawn_blocking(move || {
        let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        let chunk = n.div_ceil(threads).max(1);
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                std::thread::spawn(move || {
                    (t * chunk..((t + 1) * chunk).min(n))
                        .map(|_| {
                            let k = sigstead_crypto::EcdsaSigner::generate_p256();
                            let pop = k.sign(b"bench@example.com").expect("sign");
                            let body = SigningCertRequest::public_key(&k.public_key_pem(), &pop);
                            Bytes::from(serde_json::to_vec(&body).expect("json"))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("thread")).collect::<Vec<_>>()
    })
    .await?;
    let bodies = Arc::new(bodies);
    let url = format!("{}/api/v2/signingCert", b.url.trim_end_matches('/'));
    let client =
        reqwest::Client::builder().pool_max_idle_per_host(b.concurrency).timeout(Duration::from_secs(60)).build()?;
    let target = Arc::new(Target::single(url, "application/json", Some(token), 200));
    let start = Instant::now();
    let outcome = closed_loop(&client, &target, bodies, b.concurrency, Duration::from_secs(b.duration), None).await;
    let mut report = outcome.report(start.elapsed().as_secs_f64(), "certificates", "certificates_per_sec");
    report.insert("mode".into(), format!("closed loop, {} clients", b.concurrency).into());
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

/// Timestamp throughput: distinct DER queries (a fresh SHA-256 imprint and a
/// random nonce each, certReq set, as cosign and sigstore-python send them).
/// After the run a sample of answers is verified against the TSA's served
/// chain, so a fast answer that does not verify cannot count.
async fn tsa(b: TsaBench) -> anyhow::Result<()> {
    let n = b.max_requests;
    eprintln!("preparing {n} timestamp queries…");
    let seed: [u8; 16] = sigstead_crypto::random_bytes();
    let make = move |i: usize| -> (Vec<u8>, u64, Bytes) {
        let mut input = seed.to_vec();
        input.extend_from_slice(&i.to_be_bytes());
        let digest = Sha256::digest(&input).to_vec();
        let nonce = u64::from_be_bytes(sigstead_crypto::random_bytes());
        let q = sigstead_tsp::encode_query(sigstead_crypto::HashAlgorithm::Sha256, &digest, Some(nonce), true);
        (digest, nonce, Bytes::from(q))
    };
    let bodies: Vec<Bytes> = tokio::task::spawn_blocking(move || (0..n).map(|i| make(i).2).collect()).await?;
    let client =
        reqwest::Client::builder().pool_max_idle_per_host(b.concurrency).timeout(Duration::from_secs(60)).build()?;
    let target = Arc::new(Target::single(b.url.clone(), "application/timestamp-query", None, 201));
    let start = Instant::now();
    let outcome =
        closed_loop(&client, &target, Arc::new(bodies), b.concurrency, Duration::from_secs(b.duration), None).await;
    let elapsed = start.elapsed().as_secs_f64();

    // Verify a sample against the served chain.
    let chain_url = format!("{}/certchain", b.url.trim_end_matches('/'));
    let pem = client.get(&chain_url).send().await?.error_for_status()?.bytes().await?;
    let chain = sigstead_crypto::pem_certificates(&pem);
    let mut verified = 0usize;
    for i in n..n + 100 {
        let (digest, nonce, body) = make(i);
        let resp = client.post(&b.url).header("content-type", "application/timestamp-query").body(body).send().await?;
        let der = resp.error_for_status()?.bytes().await?;
        let nonce = sigstead_tsp::nonce_from_u64(nonce);
        let expected = sigstead_tsp::ExpectedImprint {
            hash: sigstead_crypto::HashAlgorithm::Sha256,
            digest: &digest,
            nonce: Some(nonce.as_bytes()),
        };
        sigstead_tsp::verify_response(&der, &expected, &chain)
            .map_err(|e| anyhow::anyhow!("a timestamp from {} does not verify: {e}", b.url))?;
        verified += 1;
    }
    let key = chain
        .first()
        .and_then(|leaf| sigstead_crypto::VerifierMaterial::from_certificate_der(leaf).ok())
        .map_or("unknown", |v| v.key.algorithm());
    let mut report = outcome.report(elapsed, "timestamps", "timestamps_per_sec");
    report.insert("mode".into(), format!("closed loop, {} clients", b.concurrency).into());
    report.insert("tsa_key".into(), key.into());
    report.insert("sample_verified".into(), verified.into());
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
