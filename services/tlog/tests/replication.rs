//! Replication of one log over one Postgres database (crate docs,
//! "Replication protocol"): several replicas in one process, each with its
//! own connection pool, as separate processes would have.

use sigstead_crypto::{EcdsaSigner, Signer};
use sigstead_merkle::{leaf_hash, verify_consistency, verify_inclusion};
use sigstead_note::verify_checkpoint_v1;
use sigstead_testkit::db::postgres;
use sigstead_testkit::stack::note_signer;
use sigstead_tlog::store::{Batch, NewEntry, StoredCheckpoint};
use sigstead_tlog::{AppendOutcome, Error, Faults, LeafIndex, Log, LogConfig, LogStore, Store, TreeSize};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn config() -> LogConfig {
    let mut c = LogConfig::new("test");
    c.batch_max_entries = 64;
    c.replication.lease = Duration::from_secs(2);
    c.replication.renew_every = Duration::from_millis(500);
    c.replication.takeover_poll = Duration::from_millis(100);
    c.replication.write_timeout = Duration::from_secs(4);
    c
}

async fn replica(url: &str, key: &Arc<EcdsaSigner>) -> Log {
    let store = Store::connect(url).await.unwrap();
    store.migrate().await.unwrap();
    Log::open(
        store,
        config(),
        Arc::new(note_signer("test.log", key.clone())),
        |_| Some(b"genesis".to_vec()),
        Faults::none(),
    )
    .await
    .unwrap()
}

async fn append(log: &Log, leaf: &[u8]) -> Result<AppendOutcome, Arc<Error>> {
    log.append(leaf.to_vec(), vec![format!("k:{}", String::from_utf8_lossy(leaf))]).await
}

fn check_receipt(key: &EcdsaSigner, leaf: &[u8], r: &sigstead_tlog::Receipt) {
    let cp = verify_checkpoint_v1(&r.checkpoint.signed, Some("test.log"), key.public_key_der())
        .expect("checkpoint verifies");
    assert_eq!(cp.size, r.checkpoint.tree_size.0);
    verify_inclusion(r.leaf_index.0, cp.size, &leaf_hash(leaf), &r.inclusion_proof, &cp.root_hash)
        .expect("inclusion proof verifies");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_one_history_and_read_your_writes_everywhere() {
    let Some(db) = postgres("repl_three").await else { return };
    let key = Arc::new(EcdsaSigner::generate_p256());
    let replicas = vec![replica(&db.url, &key).await, replica(&db.url, &key).await, replica(&db.url, &key).await];
    let leaders = replicas.iter().filter(|r| r.is_leader()).count();
    assert_eq!(leaders, 1, "exactly one replica sequences");

    // Clients spread over all three, concurrently.
    let mut tasks = Vec::new();
    for i in 0..300u32 {
        let log = replicas[(i % 3) as usize].clone();
        tasks.push(tokio::spawn(async move {
            let leaf = format!("entry-{i}").into_bytes();
            (leaf.clone(), append(&log, &leaf).await)
        }));
    }
    let mut acked = Vec::new();
    for t in tasks {
        let (leaf, outcome) = t.await.unwrap();
        match outcome.expect("every submission is acknowledged") {
            AppendOutcome::Appended(r) => {
                check_receipt(&key, &leaf, &r);
                acked.push((leaf, r));
            }
            AppendOutcome::Duplicate(i) => panic!("unexpected duplicate at {i}"),
        }
    }
    let mut indexes: Vec<u64> = acked.iter().map(|(_, r)| r.leaf_index.0).collect();
    indexes.sort_unstable();
    indexes.dedup();
    assert_eq!(indexes.len(), 300, "no index is given twice");
    assert_eq!(indexes, (1..=300).collect::<Vec<_>>(), "indexes 1..=300 (0 is genesis), no gap");

    // Every acknowledged entry is readable from every replica at once, by
    // index, by leaf hash and by search key.
    for (leaf, r) in &acked {
        for log in &replicas {
            let e = log.entry(r.leaf_index).await.unwrap().expect("readable by index from every replica");
            assert_eq!(&e.body, leaf);
            assert!(log.entry_by_leaf_hash(&leaf_hash(leaf)).await.unwrap().is_some(), "by leaf hash");
            let key = format!("k:{}", String::from_utf8_lossy(leaf));
            assert_eq!(log.search(&key, 10).await.unwrap(), vec![r.leaf_index], "by search key");
        }
    }

    // The checkpoints every replica serves form one history.
    let mut heads = Vec::new();
    for log in &replicas {
        heads.push(log.latest_checkpoint().await.unwrap());
    }
    assert!(heads.iter().all(|h| h.tree_size == TreeSize(301)), "every replica serves the newest checkpoint");
    let newest = &heads[0];
    for (_, r) in acked.iter().step_by(37) {
        let old = &r.checkpoint;
        let proof = replicas[2].consistency_proof(old.tree_size, newest.tree_size).await.unwrap();
        verify_consistency(old.tree_size.0, newest.tree_size.0, &proof, &old.root_hash, &newest.root_hash)
            .expect("each receipt's checkpoint is a prefix of the newest");
    }

    // A duplicate submitted through a follower is answered with the first index.
    let follower = replicas.iter().find(|r| !r.is_leader()).unwrap();
    match append(follower, b"entry-7").await.unwrap() {
        AppendOutcome::Duplicate(i) => assert_eq!(i, acked.iter().find(|(l, _)| l == b"entry-7").unwrap().1.leaf_index),
        AppendOutcome::Appended(_) => panic!("a duplicate was appended again"),
    }
}

/// `deposed-leader-commit`: once another replica holds the lease, the old
/// holder's integrate and checkpoint transactions write nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deposed_leader_commit_is_refused() {
    let Some(db) = postgres("repl_deposed").await else { return };
    let key = Arc::new(EcdsaSigner::generate_p256());
    let log = replica(&db.url, &key).await;
    let store = log.store().clone();
    let Store::Postgres(pool) = &store else { panic!("not postgres") };
    let row = store.load_log("test").await.unwrap().unwrap();
    let (old, live) = store.current_lease(row.log_id).await.unwrap().expect("a lease row");
    assert!(live);
    log.shutdown().await;
    // The shut-down replica released its lease; a new holder takes it.
    let new = store.try_acquire_lease(row.log_id, "usurper", Duration::from_secs(30)).await.unwrap().expect("free");
    assert_eq!(new.epoch, old.epoch + 1, "every change of holder is a new epoch");
    assert!(store.try_acquire_lease(row.log_id, "third", Duration::from_secs(30)).await.unwrap().is_none());

    let size_before = store.load_log("test").await.unwrap().unwrap().tree_size;
    let batch = Batch {
        entries: vec![NewEntry {
            leaf_index: LeafIndex(size_before.0),
            leaf_hash: leaf_hash(b"late"),
            body: b"late".to_vec(),
            integrated_time: 0,
            index_keys: vec![],
            extra_data: None,
        }],
        nodes: vec![],
        queue_results: vec![],
    };
    let err = store.integrate(row.log_id, size_before, &batch, Some(&old)).await.unwrap_err();
    assert!(matches!(err, Error::Deposed), "deposed leader's integrate refused: {err}");
    let cp = StoredCheckpoint { tree_size: TreeSize(999), root_hash: [7; 32], signed: "forged".into() };
    let err = store.store_checkpoint(row.log_id, &cp, 0, Some(&old)).await.unwrap_err();
    assert!(matches!(err, Error::Deposed), "deposed leader's checkpoint refused: {err}");
    assert_eq!(store.load_log("test").await.unwrap().unwrap().tree_size, size_before, "nothing written");
    let n: i64 =
        sqlx::query_scalar("SELECT count(*) FROM checkpoints WHERE tree_size = 999").fetch_one(pool).await.unwrap();
    assert_eq!(n, 0);

    // An expired lease fences its holder too, even before anyone takes it.
    sqlx::query("UPDATE log_leases SET expires_at = clock_timestamp() - interval '1 second'")
        .execute(pool)
        .await
        .unwrap();
    let err = store.integrate(row.log_id, size_before, &batch, Some(&new)).await.unwrap_err();
    assert!(matches!(err, Error::Deposed), "expired lease refused: {err}");
}

/// A leader whose lease is taken from it (expired by the database clock,
/// as after a long pause) steps down: its next write is fenced, the new
/// leader serves, and the old one goes on answering its clients as a
/// follower. Nothing forks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paused_leader_is_replaced_and_follows() {
    let Some(db) = postgres("repl_takeover").await else { return };
    let key = Arc::new(EcdsaSigner::generate_p256());
    let a = replica(&db.url, &key).await;
    let b = replica(&db.url, &key).await;
    assert!(a.is_leader() && !b.is_leader());
    for i in 0..10 {
        assert!(matches!(append(&b, format!("before-{i}").as_bytes()).await.unwrap(), AppendOutcome::Appended(_)));
    }
    let before = b.latest_checkpoint().await.unwrap();
    let Store::Postgres(pool) = a.store() else { panic!("not postgres") };
    // Expire A's lease under it (what a pause longer than the lease leaves).
    sqlx::query("UPDATE log_leases SET expires_at = clock_timestamp() - interval '1 second'")
        .execute(pool)
        .await
        .unwrap();
    let started = Instant::now();
    // Whoever wins, writes through both replicas succeed again within the failover bound.
    let mut ok = 0;
    for i in 0..20 {
        let log = if i % 2 == 0 { &a } else { &b };
        if let Ok(AppendOutcome::Appended(r)) = append(log, format!("after-{i}").as_bytes()).await {
            check_receipt(&key, format!("after-{i}").as_bytes(), &r);
            ok += 1;
        }
    }
    assert!(ok >= 19, "at most the one in-flight write is refused during the switch ({ok}/20)");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!([a.is_leader(), b.is_leader()].iter().filter(|l| **l).count(), 1, "one leader again");
    let after = a.latest_checkpoint().await.unwrap();
    let proof = b.consistency_proof(before.tree_size, after.tree_size).await.unwrap();
    verify_consistency(before.tree_size.0, after.tree_size.0, &proof, &before.root_hash, &after.root_hash)
        .expect("one history across the switch");
    let sizes: Vec<i64> = sqlx::query_scalar("SELECT tree_size FROM logs").fetch_all(pool).await.unwrap();
    assert_eq!(sizes, vec![i64::try_from(after.tree_size.0).unwrap()]);
}

/// `no-sequencer`: while no replica can hold the lease (here the lease table
/// is out of reach, as with broken permissions), every replica turns not
/// ready within two leases and a second, though the database answers; once
/// the lease can be taken again, one leads and all are ready.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_without_a_sequencer_are_not_ready() {
    let Some(db) = postgres("repl_ready").await else { return };
    let key = Arc::new(EcdsaSigner::generate_p256());
    let mut c = config();
    c.replication.lease = Duration::from_millis(600);
    c.replication.renew_every = Duration::from_millis(200);
    c.replication.takeover_poll = Duration::from_millis(100);
    c.replication.write_timeout = Duration::from_secs(1);
    let mut logs = Vec::new();
    for _ in 0..2 {
        let store = Store::connect(&db.url).await.unwrap();
        store.migrate().await.unwrap();
        let signer = Arc::new(note_signer("test.log", key.clone()));
        logs.push(Log::open(store, c.clone(), signer, |_| Some(b"genesis".to_vec()), Faults::none()).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    for log in &logs {
        log.ready().await.expect("ready with a sequencer");
    }
    let Store::Postgres(pool) = logs[0].store() else { panic!("not postgres") };
    sqlx::query("ALTER TABLE log_leases RENAME TO log_leases_away").execute(pool).await.unwrap();
    // Two leases plus a second (2.2 s) after the old leader last led (at most
    // one lease after the rename), with a margin for a loaded machine.
    tokio::time::sleep(Duration::from_millis(4000)).await;
    for log in &logs {
        assert!(!log.is_leader(), "nobody can renew, so nobody leads");
        assert!(matches!(log.ready().await, Err(Error::Unavailable)), "not ready without a sequencer");
        log.store().ping().await.expect("though the database answers");
    }
    sqlx::query("ALTER TABLE log_leases_away RENAME TO log_leases").execute(pool).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(logs.iter().filter(|l| l.is_leader()).count(), 1, "one leads again");
    for log in &logs {
        log.ready().await.expect("ready again");
    }
}

/// `slow-batch-renewal`: a batch that is slow to commit (held here behind a
/// lock on the log's row, after it took the fence) does not stop its leader
/// from renewing the lease, yet a takeover waits for it, so the batch
/// commits in the old epoch, before the new one begins. (Before the fence
/// was `FOR KEY SHARE`, such a batch blocked its own leader's renewals and
/// the leader stepped down under a heavy load.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_batch_neither_blocks_renewal_nor_overlaps_a_takeover() {
    let Some(db) = postgres("repl_slow_batch").await else { return };
    let store = Store::connect(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    let row = store.create_log("test", sigstead_tlog::random_tree_id(), 0).await.unwrap();
    let log_id = row.log_id;
    let lease = store.try_acquire_lease(log_id, "leader", Duration::from_secs(30)).await.unwrap().expect("free");
    let Store::Postgres(pool) = &store else { panic!("not postgres") };
    let mut blocker = pool.begin().await.unwrap();
    sqlx::query("SELECT tree_size FROM logs WHERE log_id = $1 FOR UPDATE")
        .bind(log_id)
        .execute(&mut *blocker)
        .await
        .unwrap();
    let batch = Batch {
        entries: vec![NewEntry {
            leaf_index: LeafIndex(0),
            leaf_hash: leaf_hash(b"slow"),
            body: b"slow".to_vec(),
            integrated_time: 0,
            index_keys: vec![],
            extra_data: None,
        }],
        nodes: vec![],
        queue_results: vec![],
    };
    let integrating = tokio::spawn({
        let (store, lease) = (store.clone(), lease.clone());
        async move { store.integrate(log_id, TreeSize(0), &batch, Some(&lease)).await }
    });
    // Wait until the batch holds the fence and waits on the log's row.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        if waiting == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "the batch never reached the log's row");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let renewed =
        tokio::time::timeout(Duration::from_secs(2), store.renew_lease(log_id, &lease, Duration::from_secs(30)))
            .await
            .expect("a renewal does not wait for its own leader's batch");
    assert!(renewed.unwrap(), "renewed");
    // The lease lapses (as after a long pause) and another replica takes over: it must wait for the batch.
    tokio::time::timeout(
        Duration::from_secs(2),
        sqlx::query("UPDATE log_leases SET expires_at = clock_timestamp() - interval '1 second'").execute(pool),
    )
    .await
    .expect("not blocked")
    .unwrap();
    let takeover = tokio::spawn({
        let store = store.clone();
        async move { store.try_acquire_lease(log_id, "usurper", Duration::from_secs(30)).await }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!takeover.is_finished(), "a takeover must wait for the running batch of the old epoch");
    blocker.commit().await.unwrap();
    integrating.await.unwrap().expect("the batch commits in its own epoch");
    let new = takeover.await.unwrap().unwrap().expect("taken once the batch ended");
    assert_eq!(new.epoch, lease.epoch + 1);
    assert_eq!(store.load_log("test").await.unwrap().unwrap().tree_size, TreeSize(1));
}
