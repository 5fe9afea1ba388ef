//! Channel sync: the outbox, buffered numbers, coalescing, failing channels, dead
//! workers, reconciliation.

use std::time::Duration;

use crate::backend::AuditStore;
use crate::sync::{Buffer, ChannelPolicy, SyncConfig, SyncStore, SyncWorker};
use crate::testkit::{loc, order, qty, shop_worker, sku, Harness, RecordingChannel};

fn policy(buffer: &str) -> ChannelPolicy {
    ChannelPolicy::buffered(Buffer::decimal(buffer).expect("valid buffer"))
}

/// Shopify 0.90, Amazon 0.85, wholesale 0.70 (each a recording channel).
fn three_channels<S: AuditStore + SyncStore>(
    h: &Harness<S>,
) -> (SyncWorker<S>, [RecordingChannel; 3]) {
    let channels = [
        RecordingChannel::new(),
        RecordingChannel::new(),
        RecordingChannel::new(),
    ];
    let worker = SyncWorker::builder(h.inventory.clone())
        .channel("shopify", policy("0.90"), channels[0].clone())
        .and_then(|w| w.channel("amazon", policy("0.85"), channels[1].clone()))
        .and_then(|w| w.channel("wholesale", policy("0.70"), channels[2].clone()))
        .expect("channels")
        .build();
    (worker, channels)
}

/// A change of available marks its SKU dirty in the same transaction; a refused command
/// or a change that leaves available alone marks nothing; a mark that changed while
/// claimed survives its release.
pub async fn changes_mark_skus_dirty_in_their_transaction<S: AuditStore + SyncStore>(store: S) {
    let h = Harness::new(store);
    let store = h.inventory.store();
    h.inventory
        .add_in_transit(sku("TEE"), loc("main"), qty(5))
        .await
        .unwrap();
    assert!(
        !store.is_dirty(&sku("TEE")).await.unwrap(),
        "in transit is not sellable"
    );
    assert!(h
        .inventory
        .reserve(order("o1", &[("TEE", 1)]))
        .await
        .is_err());
    assert!(
        !store.is_dirty(&sku("TEE")).await.unwrap(),
        "a refused command marks nothing"
    );
    h.stocked("TEE", "main", 5).await;
    assert!(store.is_dirty(&sku("TEE")).await.unwrap());

    let now = h.inventory.now();
    let claim_until = now + chrono::TimeDelta::seconds(30);
    let marks = store.claim_dirty(now, claim_until, 10).await.unwrap();
    assert_eq!(marks.len(), 1);
    assert!(
        store
            .claim_dirty(now, claim_until, 10)
            .await
            .unwrap()
            .is_empty(),
        "claimed once"
    );
    h.held(order("o2", &[("TEE", 1)])).await;
    store.release_dirty(&marks, None).await.unwrap();
    assert!(
        store.is_dirty(&sku("TEE")).await.unwrap(),
        "a newer change keeps the mark"
    );
    let again = store.claim_dirty(now, claim_until, 10).await.unwrap();
    assert!(again[0].generation > marks[0].generation);
    store.release_dirty(&again, None).await.unwrap();
    assert!(!store.is_dirty(&sku("TEE")).await.unwrap());
}

/// Each channel gets its buffered share; nothing is pushed twice for the same number;
/// a burst of changes becomes one push per channel.
pub async fn sync_pushes_buffered_numbers_once<S: AuditStore + SyncStore>(store: S) {
    let h = Harness::new(store);
    let (worker, [shopify, amazon, wholesale]) = three_channels(&h);
    h.stocked("TEE", "main", 143).await;
    let pass = worker.run_until_idle().await.unwrap();
    assert_eq!(pass.pushed, 3);
    let tee = sku("TEE");
    assert_eq!(
        (shopify.last(&tee), amazon.last(&tee), wholesale.last(&tee)),
        (Some(128), Some(121), Some(100))
    );
    assert_eq!(worker.run_until_idle().await.unwrap().pushed, 0);
    assert!(!h.inventory.store().is_dirty(&tee).await.unwrap());

    for number in 0..10 {
        h.held(order(&format!("burst-{number}"), &[("TEE", 1)]))
            .await;
    }
    worker.run_until_idle().await.unwrap();
    assert_eq!(shopify.pushes().len(), 2, "ten changes, one more push");
    assert_eq!(shopify.last(&tee), Some(119), "floor(133 * 0.9)");
    // A change that leaves wholesale's number alone is not pushed to it.
    h.held(order("one-more", &[("TEE", 1)])).await;
    worker.run_until_idle().await.unwrap();
    assert_eq!(wholesale.last(&tee), Some(92), "floor(132 * 0.7)");
    let status = worker.status("shopify", &tee).await.unwrap();
    assert_eq!(status.last.map(|told| told.quantity), Some(118));
    assert!(!status.pending && status.failing.is_none());
}

/// A failing channel rests with backoff while the others get their numbers; its SKUs
/// stay pending and reach it once it is back and its rest is over.
pub async fn a_failing_channel_does_not_hold_back_the_others<S: AuditStore + SyncStore>(store: S) {
    let h = Harness::new(store);
    let (worker, [shopify, amazon, _]) = three_channels(&h);
    amazon.set_failing(true);
    h.stocked("TEE", "main", 100).await;
    worker.run_until_idle().await.unwrap();
    let tee = sku("TEE");
    assert_eq!(shopify.last(&tee), Some(90));
    assert_eq!(amazon.last(&tee), None);
    let status = worker.status("amazon", &tee).await.unwrap();
    assert!(status.pending && status.failing.is_some(), "{status:?}");
    assert!(h.inventory.store().is_dirty(&tee).await.unwrap());

    // Still resting: further changes reach shopify, not the resting channel.
    h.held(order("o1", &[("TEE", 10)])).await;
    worker.run_until_idle().await.unwrap();
    assert_eq!(shopify.last(&tee), Some(81));
    assert_eq!(amazon.refused(), 1, "no call while resting");

    amazon.set_failing(false);
    h.advance(Duration::from_secs(120));
    worker.run_until_idle().await.unwrap();
    assert_eq!(amazon.last(&tee), Some(76), "floor(90 * 0.85)");
    assert_eq!(shopify.pushes().len(), 2, "shopify was not told again");
    let status = worker.status("amazon", &tee).await.unwrap();
    assert!(!status.pending && status.failing.is_none(), "{status:?}");
}

/// SKUs claimed by a worker that died stay claimed until the claim runs out, then
/// another worker pushes them.
pub async fn claims_of_a_dead_worker_expire<S: AuditStore + SyncStore>(store: S) {
    let h = Harness::new(store);
    h.stocked("TEE", "main", 10).await;
    let now = h.inventory.now();
    let dead = h
        .inventory
        .store()
        .claim_dirty(now, now + chrono::TimeDelta::seconds(30), 10)
        .await
        .unwrap();
    assert_eq!(dead.len(), 1);
    let channel = RecordingChannel::new();
    let config = SyncConfig {
        claim_for: Duration::from_secs(30),
        ..SyncConfig::default()
    };
    let worker = shop_worker(h.inventory.clone(), &channel)
        .config(config)
        .build();
    assert_eq!(worker.run_until_idle().await.unwrap().claimed, 0);
    h.advance(Duration::from_secs(31));
    worker.run_until_idle().await.unwrap();
    assert_eq!(channel.last(&sku("TEE")), Some(10));
}

/// Reconciliation pushes every SKU's number to the named channel, even unchanged ones.
pub async fn reconcile_pushes_every_number<S: AuditStore + SyncStore>(store: S) {
    let h = Harness::new(store);
    let (worker, [shopify, amazon, _]) = three_channels(&h);
    for (index, name) in ["A", "B", "C"].iter().enumerate() {
        h.stocked(name, "main", 10 * (index as i64 + 1)).await;
    }
    worker.run_until_idle().await.unwrap();
    assert_eq!(worker.reconcile(Some("shopify")).await.unwrap(), 3);
    assert_eq!(shopify.updates().len(), 6);
    assert_eq!(amazon.updates().len(), 3, "only the named channel");
    assert!(worker.reconcile(Some("nope")).await.is_err());
    assert_eq!(worker.reconcile(None).await.unwrap(), 9);
}

/// The outbox protocol of [`SyncStore`], one step at a time, on the store itself:
/// 1. a claim takes at most `limit` marks (in no promised order), and none that another
///    claim holds;
/// 2. a claim that runs out (its worker died) can be claimed again;
/// 3. a release with a retry time ends the claim and hides the mark until then;
/// 4. a change during that wait makes the mark claimable at once;
/// 5. a release without a retry time clears the mark (unless it changed meanwhile: see
///    `changes_mark_skus_dirty_in_their_transaction`).
pub async fn the_outbox_protocol_step_by_step<S: AuditStore + SyncStore>(store: S) {
    let h = Harness::new(store);
    let store = h.inventory.store();
    for name in ["A", "B", "C"] {
        h.stocked(name, "main", 5).await;
    }
    let now = h.inventory.now();
    let seconds = |n: i64| chrono::TimeDelta::seconds(n);
    let skus = |marks: &[crate::sync::DirtyMark]| -> Vec<String> {
        let mut names: Vec<String> = marks.iter().map(|mark| mark.sku.to_string()).collect();
        names.sort();
        names
    };

    // 1. At most `limit`; claimed marks are not handed out twice.
    let first = store.claim_dirty(now, now + seconds(30), 2).await.unwrap();
    assert_eq!(first.len(), 2);
    let rest = store.claim_dirty(now, now + seconds(30), 10).await.unwrap();
    assert_eq!(rest.len(), 1);
    let mut all = skus(&first);
    all.extend(skus(&rest));
    all.sort();
    assert_eq!(all, ["A", "B", "C"]);
    assert!(store
        .claim_dirty(now, now + seconds(30), 10)
        .await
        .unwrap()
        .is_empty());

    // 2. A claim that ran out is claimable again.
    let later = now + seconds(31);
    let reclaimed = store
        .claim_dirty(later, later + seconds(30), 10)
        .await
        .unwrap();
    assert_eq!(skus(&reclaimed), ["A", "B", "C"]);

    // 3. Released with a retry time: hidden until then, claimable after.
    let retry_at = later + seconds(60);
    store
        .release_dirty(&reclaimed, Some(retry_at))
        .await
        .unwrap();
    assert!(store.is_dirty(&sku("A")).await.unwrap(), "still to push");
    assert!(store
        .claim_dirty(later, later + seconds(30), 10)
        .await
        .unwrap()
        .is_empty());

    // 4. A change while waiting makes its mark claimable at once; the others wait.
    h.stocked("B", "main", 1).await;
    let changed = store
        .claim_dirty(later, later + seconds(600), 10)
        .await
        .unwrap();
    assert_eq!(skus(&changed), ["B"]);
    let after_wait = retry_at + seconds(1);
    let waited = store
        .claim_dirty(after_wait, after_wait + seconds(30), 10)
        .await
        .unwrap();
    assert_eq!(skus(&waited), ["A", "C"]);

    // 5. Released without a retry time: cleared.
    store.release_dirty(&changed, None).await.unwrap();
    store.release_dirty(&waited, None).await.unwrap();
    for name in ["A", "B", "C"] {
        assert!(!store.is_dirty(&sku(name)).await.unwrap(), "{name} cleared");
    }
}
