//! `fsck` over real databases (SQLite and Postgres): a log written by the
//! engine is clean; then each kind of tampering with the stored rows is
//! reported by name, at the right place: `tampered-body`, `tampered-node`,
//! `deleted-entry`, `deleted-index-key`, `planted-index-key`,
//! `rewritten-checkpoint-root`, `forged-checkpoint-signature`.

use sigstead_crypto::{EcdsaSigner, Signer};
use sigstead_note::verify_checkpoint_v1;
use sigstead_testkit::db::backends;
use sigstead_testkit::stack::note_signer;
use sigstead_tlog::fsck::{fsck, FsckReport};
use sigstead_tlog::{
    CheckpointSigner, Faults, Log, LogConfig, LogStore, Store, StoredCheckpoint, StoredEntry, TreeSize,
};
use std::sync::Arc;

/// The body check of this test's log: every leaf but the genesis one has
/// the one search key `k:<body>`.
fn body_check(e: &StoredEntry) -> Result<Option<Vec<String>>, String> {
    if e.leaf_index.0 == 0 {
        return Ok(None);
    }
    Ok(Some(vec![format!("k:{}", String::from_utf8_lossy(&e.body))]))
}

async fn exec(store: &Store, sql: &str) {
    match store {
        Store::Postgres(p) => {
            sqlx::query(sql).execute(p).await.unwrap();
        }
        Store::Sqlite(p) => {
            sqlx::query(sql).execute(p).await.unwrap();
        }
        #[allow(unreachable_patterns, reason = "the memory store exists only with the test kit's feature")]
        other => panic!("no SQL on the {} store", other.backend()),
    }
}

async fn run(store: &Store, key: &EcdsaSigner) -> FsckReport {
    let spki = key.public_key_der().to_vec();
    let note_check = move |cp: &StoredCheckpoint| -> Result<(), String> {
        let note = verify_checkpoint_v1(&cp.signed, Some("fsck.log"), &spki).map_err(|e| e.to_string())?;
        if note.size != cp.tree_size.0 || note.root_hash != cp.root_hash {
            return Err("the note names another tree".into());
        }
        Ok(())
    };
    let mut calls = 0;
    let mut progress = |done: u64, total: u64, _| {
        assert!(done <= total);
        calls += 1;
    };
    let r = fsck(store, "fsck", Some(&body_check), Some(&note_check), &[], &mut progress).await.unwrap();
    assert!(calls >= 1, "progress is reported");
    r
}

fn examples(r: &FsckReport, kind: &str) -> Vec<String> {
    r.errors.get(kind).map(|(_, ex)| ex.clone()).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_log_passes_and_every_tampering_is_named() {
    for db in backends("fsck").await {
        let key = Arc::new(EcdsaSigner::generate_p256());
        let store = Store::connect(&db.url).await.unwrap();
        store.migrate().await.unwrap();
        let mut config = LogConfig::new("fsck");
        config.batch_max_entries = 16;
        let log = Log::open(
            store.clone(),
            config,
            Arc::new(note_signer("fsck.log", key.clone())),
            |_| Some(b"genesis".to_vec()),
            Faults::none(),
        )
        .await
        .unwrap();
        for i in 1..=40u32 {
            let body = format!("e{i}");
            log.append(body.clone().into_bytes(), vec![format!("k:{body}")]).await.unwrap();
        }
        let clean = run(&store, &key).await;
        assert!(clean.is_clean(), "{}: {:?}", db.url, clean.errors);
        assert_eq!(
            (clean.tree_size, clean.entries_checked, clean.bodies_checked, clean.keys_checked),
            (41, 41, 40, 40)
        );
        assert_eq!(clean.nodes_checked, 2 * 41 - u64::from(41u64.count_ones()), "every leaf and completed subtree");
        assert!(clean.checkpoints_checked >= 2 && clean.signatures_checked == clean.checkpoints_checked);
        let log_id: i16 = store.load_log("fsck").await.unwrap().unwrap().log_id;
        let w = |s: &str| s.replace("$LOG", &log_id.to_string());

        // tampered-body: the stored body of entry 5 no longer hashes to its leaf hash.
        exec(
            &store,
            &w("UPDATE entries SET body = CAST('evil' AS BLOB) WHERE log_id = $LOG AND leaf_index = 5")
                .replace("BLOB", if db.url.starts_with("postgres") { "BYTEA" } else { "BLOB" }),
        )
        .await;
        // tampered-node: the level-1 node over leaves 2 and 3.
        let zeros = if db.url.starts_with("postgres") {
            "'\\x0000000000000000000000000000000000000000000000000000000000000000'::bytea"
        } else {
            "zeroblob(32)"
        };
        exec(
            &store,
            &w(&format!("UPDATE nodes SET hash = {zeros} WHERE log_id = $LOG AND level = 1 AND node_index = 1")),
        )
        .await;
        // deleted-entry (and its search key): index 9 is gone.
        exec(&store, &w("DELETE FROM index_keys WHERE log_id = $LOG AND leaf_index = 9")).await;
        exec(&store, &w("DELETE FROM entries WHERE log_id = $LOG AND leaf_index = 9")).await;
        // deleted-index-key and planted-index-key.
        exec(&store, &w("DELETE FROM index_keys WHERE log_id = $LOG AND leaf_index = 12")).await;
        exec(&store, &w("INSERT INTO index_keys (log_id, key, leaf_index) VALUES ($LOG, 'k:planted', 13)")).await;
        // rewritten-checkpoint-root and forged-checkpoint-signature on the newest checkpoint.
        let newest = store.latest_checkpoint(log_id).await.unwrap().unwrap();
        let other = EcdsaSigner::generate_p256();
        let forged = note_signer("fsck.log", Arc::new(other)).sign(newest.tree_size, &newest.root_hash, 0).unwrap();
        exec(
            &store,
            &w(&format!(
                "UPDATE checkpoints SET signed = '{forged}' WHERE log_id = $LOG AND tree_size = {}",
                newest.tree_size.0
            )),
        )
        .await;
        let first = store.checkpoints_after(log_id, TreeSize(0), 1).await.unwrap().remove(0);
        exec(
            &store,
            &w(&format!(
                "UPDATE checkpoints SET root_hash = {zeros} WHERE log_id = $LOG AND tree_size = {}",
                first.tree_size.0
            )),
        )
        .await;

        let r = run(&store, &key).await;
        assert!(!r.is_clean());
        let has = |kind: &str, needle: &str| {
            let ex = examples(&r, kind);
            assert!(ex.iter().any(|e| e.contains(needle)), "{}: {kind} should name {needle:?}: {:?}", db.url, r.errors);
        };
        has("leaf_hash_mismatch", "index 5:");
        has("node_mismatch", "node (1, 1)");
        has("entry_missing", "index 9");
        has("index_key_missing", "index 12: k:e12");
        has("index_key_unexpected", "index 13: k:planted");
        has("checkpoint_root_mismatch", &format!("size {}:", first.tree_size.0));
        has("checkpoint_signature", &format!("size {}:", newest.tree_size.0));
        // The tampered body changes the leaf that every later node is built from... it does not:
        // fsck re-derives from the stored bodies, so the nodes above leaf 5 differ too.
        assert!(r.errors.contains_key("node_mismatch"));
    }
}
