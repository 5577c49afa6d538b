//! Log engine tests against real databases: embedded SQLite and Postgres
//! (temporary databases from `sigstead_testkit::db`; a missing Postgres fails
//! the tests, `SIGSTEAD_TEST_SKIP_POSTGRES=1` runs the SQLite half alone).

use sigstead_crypto::{EcdsaSigner, Signer};
use sigstead_merkle::{leaf_hash, verify_consistency, verify_inclusion};
use sigstead_note::verify_checkpoint_v1;
use sigstead_testkit::db::{every_backend, memory, postgres, sqlite};
use sigstead_testkit::stack::note_signer;
use sigstead_tlog::store::memory::{Fault, Write};
use sigstead_tlog::{AppendOutcome, Faults, LeafIndex, Log, LogConfig, LogStore, Step, Store, TreeSize};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;

fn config() -> LogConfig {
    let mut c = LogConfig::new("test");
    c.batch_max_entries = 64;
    c
}

async fn open(url: &str, key: &Arc<EcdsaSigner>, faults: Faults) -> Log {
    let store = Store::connect(url).await.unwrap();
    store.migrate().await.unwrap();
    store.check_schema().await.unwrap();
    Log::open(store, config(), Arc::new(note_signer("test.log", key.clone())), |_| Some(b"genesis".to_vec()), faults)
        .await
        .unwrap()
}

fn check_receipt(key: &EcdsaSigner, leaf: &[u8], r: &sigstead_tlog::Receipt) {
    let cp = verify_checkpoint_v1(&r.checkpoint.signed, Some("test.log"), key.public_key_der())
        .expect("checkpoint verifies");
    assert_eq!(cp.size, r.checkpoint.tree_size.0);
    assert_eq!(cp.root_hash, r.checkpoint.root_hash);
    verify_inclusion(r.leaf_index.0, cp.size, &leaf_hash(leaf), &r.inclusion_proof, &cp.root_hash)
        .expect("inclusion proof verifies");
}

async fn append_ok(log: &Log, leaf: &[u8]) -> sigstead_tlog::Receipt {
    match log.append(leaf.to_vec(), vec![format!("k:{}", leaf.len())]).await.expect("append") {
        AppendOutcome::Appended(r) => r,
        AppendOutcome::Duplicate(i) => panic!("unexpected duplicate at {i}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_get_unique_indexes_and_valid_proofs() {
    for db in every_backend("concurrent").await {
        let key = Arc::new(EcdsaSigner::generate_p256());
        let log = open(&db.url, &key, Faults::none()).await;
        assert_eq!(log.checkpoint().tree_size, TreeSize(1), "a new log holds only its genesis leaf");
        let mut tasks = Vec::new();
        for i in 0..300u32 {
            let log = log.clone();
            tasks.push(tokio::spawn(async move {
                let leaf = format!("entry {i}").into_bytes();
                (leaf.clone(), append_ok(&log, &leaf).await)
            }));
        }
        let mut seen = std::collections::HashSet::new();
        for t in tasks {
            let (leaf, r) = t.await.unwrap();
            assert!(r.leaf_index.0 >= 1, "index 0 is reserved for genesis");
            assert!(seen.insert(r.leaf_index), "index {} handed out twice", r.leaf_index);
            check_receipt(&key, &leaf, &r);
            // Proofs read back from the store agree with the receipt.
            let proof = log.inclusion_proof(r.leaf_index, r.checkpoint.tree_size).await.unwrap();
            assert_eq!(proof, r.inclusion_proof);
        }
        assert_eq!(log.checkpoint().tree_size, TreeSize(301));
        // A duplicate is reported with the original index and changes nothing.
        let before = log.checkpoint();
        match log.append(b"entry 7".to_vec(), vec![]).await.unwrap() {
            AppendOutcome::Duplicate(i) => {
                let e = log.entry(i).await.unwrap().unwrap();
                assert_eq!(e.body, b"entry 7");
            }
            AppendOutcome::Appended(_) => panic!("duplicate was appended"),
        }
        assert_eq!(log.checkpoint(), before);
        assert_eq!(log.search("k:7", 10).await.unwrap().len(), 10, "ten 7-byte entries are indexed under k:7");
        assert!(log.inclusion_proof(LeafIndex(5), TreeSize(302)).await.is_err(), "beyond the tree");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_reloads_state_and_new_checkpoints_extend_old_ones() {
    for db in every_backend("restart").await {
        let key = Arc::new(EcdsaSigner::generate_p256());
        let log = open(&db.url, &key, Faults::none()).await;
        for i in 0..37u32 {
            append_ok(&log, format!("a{i}").as_bytes()).await;
        }
        let old = log.checkpoint();
        let tree_id = log.tree_id();
        drop(log);
        let log = open(&db.url, &key, Faults::none()).await;
        assert_eq!(log.tree_id(), tree_id);
        assert_eq!(log.checkpoint().tree_size, old.tree_size);
        assert_eq!(log.checkpoint().root_hash, old.root_hash);
        for i in 0..50u32 {
            let r = append_ok(&log, format!("b{i}").as_bytes()).await;
            assert!(r.leaf_index.0 >= old.tree_size.0, "no index reused after restart");
        }
        let new = log.checkpoint();
        let proof = log.consistency_proof(old.tree_size, new.tree_size).await.unwrap();
        verify_consistency(old.tree_size.0, new.tree_size.0, &proof, &old.root_hash, &new.root_hash)
            .expect("consistent");
        assert_eq!(log.root_at(old.tree_size).await.unwrap(), old.root_hash);
        verify_checkpoint_v1(&new.signed, None, key.public_key_der()).unwrap();
    }
}

/// Fails exactly once at `step`, after being armed.
fn fail_once(step: Step, armed: Arc<AtomicBool>, hits: Arc<AtomicU32>) -> Faults {
    Faults::new(move |s| {
        if s == step && armed.swap(false, Ordering::SeqCst) {
            hits.fetch_add(1, Ordering::SeqCst);
            true
        } else {
            false
        }
    })
}

async fn fault_at(step: Step, restart: bool, url: &str) {
    let key = Arc::new(EcdsaSigner::generate_p256());
    let armed = Arc::new(AtomicBool::new(false));
    let hits = Arc::new(AtomicU32::new(0));
    let log = open(url, &key, fail_once(step, armed.clone(), hits.clone())).await;
    for i in 0..10u32 {
        append_ok(&log, format!("pre{i}").as_bytes()).await;
    }
    let before = log.checkpoint();
    armed.store(true, Ordering::SeqCst);
    let err = log.append(b"victim".to_vec(), vec![]).await;
    assert!(err.is_err(), "{step:?}: the submitter must not be acknowledged");
    assert_eq!(hits.load(Ordering::SeqCst), 1, "{step:?}: the fault fired");
    let log = if restart {
        drop(log);
        open(url, &key, Faults::none()).await
    } else {
        log
    };
    // The log keeps working, and whatever it signs next extends what it signed before.
    let after_r = append_ok(&log, b"after").await;
    check_receipt(&key, b"after", &after_r);
    let now = log.checkpoint();
    let proof = log.consistency_proof(before.tree_size, now.tree_size).await.unwrap();
    verify_consistency(before.tree_size.0, now.tree_size.0, &proof, &before.root_hash, &now.root_hash)
        .unwrap_or_else(|e| panic!("{step:?}: new checkpoint does not extend the old one: {e}"));
    // The unacknowledged entry is either absent (never durable) or present exactly once.
    let victim = log.append(b"victim".to_vec(), vec![]).await.unwrap();
    match (step, victim) {
        (Step::BeforeIntegrate, AppendOutcome::Appended(r)) => check_receipt(&key, b"victim", &r),
        (Step::BeforeIntegrate, AppendOutcome::Duplicate(_)) => panic!("nothing was durable before the transaction"),
        (_, AppendOutcome::Duplicate(i)) => {
            assert_eq!(i.0, before.tree_size.0, "{step:?}: the durable entry keeps the index it was given");
            assert_eq!(log.entry(i).await.unwrap().unwrap().body, b"victim");
        }
        (_, AppendOutcome::Appended(_)) => panic!("{step:?}: the committed entry was appended a second time"),
    }
    assert!(after_r.leaf_index.0 >= before.tree_size.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_at_every_commit_step_lose_nothing_and_never_fork() {
    for step in [Step::BeforeIntegrate, Step::AfterIntegrate, Step::AfterSign, Step::AfterRecord] {
        for restart in [false, true] {
            for db in every_backend(&format!("fault{}{}", step as u8, u8::from(restart))).await {
                fault_at(step, restart, &db.url).await;
            }
        }
    }
}

/// The storage half of the fault table, on the in-memory store's hooks: each
/// of the two writes of the commit protocol (`integrate`, step 3;
/// `store_checkpoint`, step 5) fails before it persists, or persists and then
/// reports a failure (a commit whose acknowledgement was lost). The submitter
/// is never acknowledged; nothing durable is lost or indexed twice; the next
/// checkpoint extends the last one, with or without a restart.
async fn storage_fault(write: Write, fault: Fault, restart: bool) {
    let db = memory("storage-fault");
    let key = Arc::new(EcdsaSigner::generate_p256());
    let log = open(&db.url, &key, Faults::none()).await;
    for i in 0..10u32 {
        append_ok(&log, format!("pre{i}").as_bytes()).await;
    }
    let before = log.checkpoint();
    let Store::Memory(mem) = log.store().clone() else { panic!("not the memory store") };
    let armed = Arc::new(AtomicBool::new(true));
    let hits = Arc::new(AtomicU32::new(0));
    let (a, h) = (armed.clone(), hits.clone());
    mem.inject(move |w| {
        (w == write && a.swap(false, Ordering::SeqCst)).then(|| {
            h.fetch_add(1, Ordering::SeqCst);
            fault
        })
    });
    let case = format!("{write:?}/{fault:?}/restart={restart}");
    let err = log.append(b"victim".to_vec(), vec![]).await;
    assert!(err.is_err(), "{case}: the submitter must not be acknowledged");
    assert_eq!(hits.load(Ordering::SeqCst), 1, "{case}: the fault fired");
    mem.clear_faults();
    let log = if restart {
        drop(log);
        open(&db.url, &key, Faults::none()).await
    } else {
        log
    };
    let after_r = append_ok(&log, b"after").await;
    check_receipt(&key, b"after", &after_r);
    let now = log.checkpoint();
    let proof = log.consistency_proof(before.tree_size, now.tree_size).await.unwrap();
    verify_consistency(before.tree_size.0, now.tree_size.0, &proof, &before.root_hash, &now.root_hash)
        .unwrap_or_else(|e| panic!("{case}: new checkpoint does not extend the old one: {e}"));
    let victim = log.append(b"victim".to_vec(), vec![]).await.unwrap();
    match ((write, fault), victim) {
        ((Write::Integrate, Fault::Fail), AppendOutcome::Appended(r)) => check_receipt(&key, b"victim", &r),
        ((Write::Integrate, Fault::Fail), AppendOutcome::Duplicate(_)) => panic!("{case}: nothing was written"),
        (_, AppendOutcome::Duplicate(i)) => {
            assert_eq!(i.0, before.tree_size.0, "{case}: the durable entry keeps the index it was given");
            assert_eq!(log.entry(i).await.unwrap().unwrap().body, b"victim");
        }
        (_, AppendOutcome::Appended(_)) => panic!("{case}: the durable entry was appended a second time"),
    }
    // Every index holds one entry, and every recorded checkpoint is consistent with the newest.
    let store = log.store();
    let row = store.load_log("test").await.unwrap().unwrap();
    let (entries, _, _) = store.row_counts(row.log_id).await.unwrap();
    assert_eq!(entries, row.tree_size.0, "{case}: one stored entry per index");
    let newest = log.checkpoint();
    for cp in store.checkpoints_after(row.log_id, TreeSize(0), 1000).await.unwrap() {
        let proof = log.consistency_proof(cp.tree_size, newest.tree_size).await.unwrap();
        verify_consistency(cp.tree_size.0, newest.tree_size.0, &proof, &cp.root_hash, &newest.root_hash)
            .unwrap_or_else(|e| panic!("{case}: recorded checkpoint {} forks: {e}", cp.tree_size));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_faults_before_and_after_persisting_lose_nothing_and_never_fork() {
    for write in [Write::Integrate, Write::StoreCheckpoint] {
        for fault in [Fault::Fail, Fault::PersistThenFail] {
            for restart in [false, true] {
                storage_fault(write, fault, restart).await;
            }
        }
    }
}

#[tokio::test]
async fn unmigrated_database_is_refused() {
    let db = sqlite().await;
    let store = Store::connect(&db.url).await.unwrap();
    let err = store.check_schema().await.unwrap_err();
    assert!(err.to_string().contains("sigstead migrate"), "{err}");
    if let Some(pg) = postgres("schema").await {
        let store = Store::connect(&pg.url).await.unwrap();
        assert!(store.check_schema().await.is_err());
        store.migrate().await.unwrap();
        store.check_schema().await.unwrap();
    }
}

#[tokio::test]
async fn a_tampered_node_store_is_detected_at_start() {
    let db = sqlite().await;
    let key = Arc::new(EcdsaSigner::generate_p256());
    let log = open(&db.url, &key, Faults::none()).await;
    for i in 0..8u32 {
        append_ok(&log, format!("t{i}").as_bytes()).await;
    }
    drop(log);
    let store = Store::connect(&db.url).await.unwrap();
    let Store::Sqlite(pool) = &store else { unreachable!() };
    sqlx::query("UPDATE nodes SET hash = zeroblob(32) WHERE level = 3 AND node_index = 0").execute(pool).await.unwrap();
    let res = Log::open(
        store,
        config(),
        Arc::new(note_signer("test.log", key.clone())),
        |_| Some(b"genesis".to_vec()),
        Faults::none(),
    )
    .await;
    let err = res.expect_err("a store that no longer reproduces the signed root must not be served");
    assert!(err.to_string().contains("signed root"), "{err}");
}

#[tokio::test]
async fn extra_data_is_stored_beside_the_leaf_and_not_hashed() {
    for db in every_backend("extra_data").await {
        let key = Arc::new(EcdsaSigner::generate_p256());
        let log = open(&db.url, &key, Faults::none()).await;
        let with = log.append_with_extra_data(b"leaf-a".to_vec(), vec![], Some(b"chain-a".to_vec())).await.unwrap();
        let without = append_ok(&log, b"leaf-b").await;
        let AppendOutcome::Appended(with) = with else { panic!("duplicate") };
        check_receipt(&key, b"leaf-a", &with);
        let a = log.entry(with.leaf_index).await.unwrap().unwrap();
        assert_eq!((a.body.as_slice(), a.extra_data.as_deref()), (&b"leaf-a"[..], Some(&b"chain-a"[..])), "{}", db.url);
        assert_eq!(a.leaf_hash, leaf_hash(b"leaf-a"), "the extra data is not part of the leaf hash");
        let b = log.entry(without.leaf_index).await.unwrap().unwrap();
        assert_eq!(b.extra_data, None);
    }
}

#[tokio::test]
async fn postgres_over_tls_when_the_server_offers_it() {
    let Some(db) = postgres("tls").await else { return };
    let plain = Store::connect(&db.url).await.unwrap();
    let Store::Postgres(pool) = &plain else { panic!("not postgres") };
    let ssl: String = sqlx::query_scalar("SHOW ssl").fetch_one(pool).await.unwrap();
    if ssl != "on" {
        eprintln!("the Postgres server has ssl = {ssl}; nothing to test");
        return;
    }
    let url = format!("{}?sslmode=require", db.url);
    let key = Arc::new(EcdsaSigner::generate_p256());
    let log = open(&url, &key, Faults::none()).await;
    check_receipt(&key, b"over tls", &append_ok(&log, b"over tls").await);
    let Store::Postgres(tls_pool) = log.store() else { panic!("not postgres") };
    let encrypted: bool = sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .fetch_one(tls_pool)
        .await
        .unwrap();
    assert!(encrypted, "the connection is not encrypted");
    // And a plain connection to the same server is not: the check above means something.
    let Store::Postgres(plain_pool) = Store::connect(&format!("{}?sslmode=disable", db.url)).await.unwrap() else {
        panic!("not postgres")
    };
    let plain_ssl: bool = sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .fetch_one(&plain_pool)
        .await
        .unwrap();
    assert!(!plain_ssl);
}

/// Range reads and keyed search come back in index order in one query each,
/// limited to what the newest checkpoint covers, on both backends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn range_reads_and_search_with_leaf_hashes() {
    for db in every_backend("ranges").await {
        let key = Arc::new(EcdsaSigner::generate_p256());
        let log = open(&db.url, &key, Faults::none()).await;
        let mut leaves = vec![b"genesis".to_vec()];
        for i in 0..20u32 {
            let leaf = format!("range entry {i:02}").into_bytes();
            append_ok(&log, &leaf).await;
            leaves.push(leaf);
        }
        assert_eq!(log.checkpoint().tree_size, TreeSize(21));
        let got = log.entries(LeafIndex(3), LeafIndex(9)).await.unwrap();
        let indexes: Vec<u64> = got.iter().map(|e| e.leaf_index.0).collect();
        assert_eq!(indexes, (3..9).collect::<Vec<_>>());
        for e in &got {
            assert_eq!(e.body, leaves[usize::try_from(e.leaf_index.0).unwrap()]);
            assert_eq!(e.leaf_hash, leaf_hash(&e.body));
        }
        // Past the tree: clipped; empty and inverted ranges: nothing.
        assert_eq!(log.entries(LeafIndex(18), LeafIndex(1000)).await.unwrap().len(), 3);
        assert!(log.entries(LeafIndex(21), LeafIndex(30)).await.unwrap().is_empty());
        assert!(log.entries(LeafIndex(9), LeafIndex(3)).await.unwrap().is_empty());
        // append_ok files each leaf under "k:<length>": all 20 share one key.
        let hits = log.search_with_hashes("k:14", 1000).await.unwrap();
        assert_eq!(hits.len(), 20);
        assert!(hits.windows(2).all(|w| w[0].0 < w[1].0), "ascending by index");
        for (i, h) in &hits {
            assert_eq!(*h, leaf_hash(&leaves[usize::try_from(i.0).unwrap()]));
        }
        assert_eq!(log.search_with_hashes("k:14", 5).await.unwrap(), hits[..5].to_vec());
        assert!(log.search_with_hashes("k:nothing", 5).await.unwrap().is_empty());
    }
}
