//! `sigstead bench fill` and `sigstead bench reads` on a real (SQLite) log:
//! the fill adds exactly the entries asked for, each one a valid entry the
//! API would accept (re-canonicalised here, searchable by its keys), and the
//! reads benchmark checks what the served log answers.

use clap::Parser;
use sigstead_bench::BenchCommand;
use sigstead_tlog::LeafIndex;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: BenchCommand,
}

async fn bench(args: &[&str]) -> anyhow::Result<()> {
    let cli = Cli::try_parse_from(std::iter::once("bench").chain(args.iter().copied()))?;
    sigstead_bench::run(cli.command).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fill_adds_valid_entries_that_the_served_log_reads_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    sigstead_rekor::init::init(dir.path(), &addr, None, None).expect("init");
    let config_path = dir.path().join("rekor.toml");
    let config = config_path.to_str().expect("utf-8 path");

    bench(&[
        "fill",
        "--config",
        config,
        "--entries",
        "1500",
        "--entry-shape",
        "certificate",
        "--clients",
        "7",
        "--batch",
        "256",
    ])
    .await
    .expect("first fill");
    bench(&["fill", "--config", config, "--entries", "700", "--entry-shape", "key", "--clients", "3"])
        .await
        .expect("second fill on the same log (fresh artifacts)");

    let rekor =
        sigstead_rekor::open(&sigstead_rekor::RekorConfig::load(&config_path).expect("config"), Default::default())
            .await
            .expect("open");
    let log = rekor.engine();
    // Genesis leaf + 1,500 + 700.
    assert_eq!(log.checkpoint().tree_size.0, 2201);
    for index in [1u64, 750, 1500, 1501, 2200] {
        let e = log.entry(LeafIndex(index)).await.expect("read").expect("entry present");
        // Each stored body is a canonical entry: canonicalising it again gives itself and its keys.
        let again = sigstead_rekor_types::canonicalize(&e.body).expect("a valid entry");
        assert_eq!(again.body, e.body, "entry {index} is not canonical");
        let key = again.index_keys.first().expect("search keys"); // an identity: at most 1,500 / 7 hits
        assert!(
            log.search(key, 10_000).await.expect("search").contains(&LeafIndex(index)),
            "entry {index} not under {key}"
        );
    }
    log.shutdown().await;
    drop(rekor);

    // The served log, read by the reads benchmark (which checks each answer).
    let served = sigstead_rekor::RekorConfig::load(&config_path).expect("config");
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(sigstead_rekor::run(served, listener, async move {
        let _ = stop_rx.await;
    }));
    let url = format!("http://{addr}");
    bench(&["reads", "--url", &url, "--duration", "1", "--concurrency", "4", "--sample", "20"]).await.expect("reads");
    let _ = stop_tx.send(());
    server.await.expect("join").expect("server");
}

#[tokio::test]
async fn fill_refuses_a_zero_batch_and_a_missing_config() {
    let err =
        bench(&["fill", "--config", "/nonexistent/rekor.toml", "--entries", "1", "--batch", "0"]).await.unwrap_err();
    assert!(err.to_string().contains("--batch must be positive"), "{err}");
    let err = bench(&["fill", "--config", "/nonexistent/rekor.toml", "--entries", "1"]).await.unwrap_err();
    assert!(err.to_string().contains("/nonexistent/rekor.toml"), "{err}");
}
