//! Crash safety: two child processes work one SQLite file hard at once (several
//! processes on one file) and are killed with SIGKILL at varied moments, 20 times.
//! After each kill the file opens, every invariant holds, the ledger replays to the
//! rows, every reservation's history is whole, and the sync outbox brings a channel to
//! the right numbers (nothing committed before the kill is lost to sync).

use std::process::{Command, Stdio};
use std::time::Duration;

use inventory_core::sync::SyncStore;
use inventory_core::testkit::invariants::violations;
use inventory_core::testkit::StoreState;
use inventory_core::testkit::{shop_worker, RecordingChannel};
use inventory_core::Inventory;
use inventory_sqlite::SqliteStore;
use inventory_tests::histories_are_whole;

const KILLS: u64 = 20;

/// The workers committed without ever syncing: every change they made before the kill
/// is in the outbox, and a sync worker started now brings the channel to the formula.
async fn channels_catch_up(store: &SqliteStore) {
    let inventory = Inventory::new(store.clone());
    let channel = RecordingChannel::new();
    let worker = shop_worker(inventory, &channel).build();
    worker.run_until_idle().await.expect("sync after the kill");
    let skus = store.skus_after(None, 100).await.expect("skus");
    let stock = store.stock_of(&skus).await.expect("stock");
    let told = store.last_pushed("shop", &skus).await.expect("told");
    for sku in &skus {
        assert!(!store.is_dirty(sku).await.unwrap(), "{sku} still dirty");
        let available: i64 = stock[sku].iter().map(|row| row.level.available()).sum();
        assert_eq!(
            told.get(sku).map(|pushed| pushed.quantity),
            Some(available.max(0)),
            "{sku}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_any_moment_leaves_a_whole_database() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let path = folder.path().join("crash.db");
    let mut grew = 0;
    let mut ledger_length = 0;
    for round in 0..KILLS {
        let mut child = Command::new(env!("CARGO_BIN_EXE_crash_worker"))
            .arg(&path)
            .arg(format!("round{round}"))
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the worker");
        // Wait for the worker to have opened the file (its first line), however long a
        // loaded machine takes to start it.
        let stdout = child.stdout.take().expect("piped stdout");
        let opened = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line)
                .map(|_| line)
        })
        .await
        .expect("reader task")
        .expect("read the worker's first line");
        assert_eq!(opened.trim(), "open", "the worker did not start");
        // Varied moments: 60 ms to about 400 ms into the run.
        tokio::time::sleep(Duration::from_millis(60 + (round * 97) % 340)).await;
        child.kill().expect("SIGKILL");
        let status = child.wait().expect("reap");
        assert!(
            status.code().is_none(),
            "the worker stopped by itself: {status:?}"
        );

        let store = SqliteStore::open(&path)
            .await
            .expect("reopen after the kill");
        channels_catch_up(&store).await;
        let snapshot = StoreState::capture(&store).await;
        let broken = violations(&snapshot);
        assert!(broken.is_empty(), "after kill {round}: {broken:?}");
        histories_are_whole(&snapshot)
            .unwrap_or_else(|error| panic!("after kill {round}: {error}"));
        if snapshot.ledger.len() > ledger_length {
            grew += 1;
        }
        ledger_length = snapshot.ledger.len();
    }
    assert!(
        grew >= KILLS - 2,
        "the worker made progress in only {grew} of {KILLS} runs"
    );
    eprintln!("crash test: {KILLS} kills, {ledger_length} ledger entries, all whole");
}
