//! Backorders: selling beyond available within a SKU's limit, arrivals that cover the
//! owed units first come first served, holds that wait for their units, channels told
//! the room left only when their policy says so.

use std::time::Duration;

use crate::backend::AuditStore;
use crate::catalog::BackorderLimit;
use crate::error::DomainError;
use crate::id::OrderId;
use crate::ledger::Movement;
use crate::reservation::{OrderLine, ReserveRequest};
use crate::sync::{Buffer, ChannelPolicy, SyncStore, SyncWorker};
use crate::testkit::invariants::assert_invariants;
use crate::testkit::{domain_error, loc, order, qty, sku, Harness, RecordingChannel};
use crate::transfer::TransferRequest;

/// Without a policy a short order is refused; with a limit, a line takes what is
/// available and backorders the rest, within the room left at the location; the hold
/// cannot be committed while it is owed units; a limit under one unit is refused.
pub async fn backorders_sell_beyond_available_within_the_limit<S: AuditStore>(store: S) {
    let h = Harness::new(store);
    h.stocked("TEE", "main", 2).await;
    let short = h.inventory.reserve(order("a", &[("TEE", 5)])).await;
    assert!(matches!(
        domain_error(short.unwrap_err()),
        DomainError::InsufficientStock { .. }
    ));
    let zero = h
        .inventory
        .set_backorder_limit(sku("TEE"), Some(BackorderLimit::Units(0)))
        .await;
    assert!(matches!(
        domain_error(zero.unwrap_err()),
        DomainError::InvalidBackorderLimit { units: 0, .. }
    ));
    h.inventory
        .set_backorder_limit(sku("TEE"), Some(BackorderLimit::Units(5)))
        .await
        .unwrap();

    let a = h.held(order("a", &[("TEE", 5)])).await;
    assert_eq!((a.lines[0].held(), a.lines[0].backordered), (2, 3));
    let row = h.level("TEE", "main").await;
    assert_eq!((row.reserved, row.backordered, row.available()), (2, 3, 0));
    let b = h.held(order("b", &[("TEE", 2)])).await;
    assert_eq!(b.lines[0].backordered, 2, "all owed: nothing is available");
    let full = h.inventory.reserve(order("c", &[("TEE", 1)])).await;
    assert!(
        matches!(
            domain_error(full.unwrap_err()),
            DomainError::InsufficientStock { .. }
        ),
        "the limit of 5 owed units is reached"
    );
    let waiting = h.inventory.commit(a.id).await;
    assert_eq!(
        domain_error(waiting.unwrap_err()),
        DomainError::Backordered {
            id: a.id,
            sku: sku("TEE"),
            backordered: 3
        }
    );
    let moves: Vec<(Movement, i64)> = h
        .snapshot()
        .await
        .ledger
        .iter()
        .map(|entry| (entry.movement, entry.quantity))
        .collect();
    assert_eq!(
        moves,
        [
            (Movement::Received, 2),
            (Movement::Reserved, 2),
            (Movement::Backordered, 3),
            (Movement::Backordered, 2),
        ]
    );
    // Stopping the policy leaves what is owed owed.
    h.inventory
        .set_backorder_limit(sku("TEE"), None)
        .await
        .unwrap();
    assert_eq!(h.level("TEE", "main").await.backordered, 5);
    assert_invariants(h.inventory.store()).await;
}

/// Units that arrive (a receipt, a transfer's receipt, a released hold) cover the
/// owed units first, oldest hold first, in the arrival's transaction; a covered hold
/// commits; a released or expired hold cancels what it was still owed.
pub async fn arrivals_cover_backorders_first_come_first_served<S: AuditStore>(store: S) {
    let h = Harness::new(store);
    h.stocked("TEE", "main", 1).await;
    h.stocked("TEE", "annex", 10).await;
    h.inventory
        .set_backorder_limit(sku("TEE"), Some(BackorderLimit::Units(20)))
        .await
        .unwrap();
    let at_main = |id: &str, units: i64| {
        ReserveRequest::new(
            OrderId::new(id).unwrap(),
            vec![OrderLine::at(sku("TEE"), qty(units), loc("main"))],
        )
    };
    let first = h.held(at_main("first", 4)).await;
    h.advance(Duration::from_secs(1));
    let second = h.held(at_main("second", 3)).await;
    h.advance(Duration::from_secs(1));
    let third = h
        .held(at_main("third", 2).with_ttl(Duration::from_secs(60)))
        .await;
    assert_eq!(h.level("TEE", "main").await.backordered, 3 + 3 + 2);

    // 4 arrive: the first hold's 3, then 1 of the second's.
    h.stocked("TEE", "main", 4).await;
    let row = h.level("TEE", "main").await;
    assert_eq!((row.reserved, row.backordered, row.available()), (5, 4, 0));
    let inventory = &h.inventory;
    let owed = |id| async move { inventory.reservation(id).await.unwrap().lines[0].backordered };
    assert_eq!(
        (
            owed(first.id).await,
            owed(second.id).await,
            owed(third.id).await
        ),
        (0, 2, 2)
    );
    h.inventory.commit(first.id).await.unwrap();

    // A transfer's receipt covers the second hold's remaining 2 and 1 of the third's.
    let transfer = h
        .inventory
        .ship_transfer(TransferRequest {
            sku: sku("TEE"),
            from: loc("annex"),
            to: loc("main"),
            quantity: qty(3),
            idempotency_key: None,
        })
        .await
        .unwrap();
    h.inventory
        .receive_transfer(transfer.id, None, None)
        .await
        .unwrap();
    assert_eq!((owed(second.id).await, owed(third.id).await), (0, 1));
    let covered: Vec<i64> = h
        .snapshot()
        .await
        .ledger
        .iter()
        .filter(|entry| entry.movement == Movement::BackorderCovered)
        .map(|entry| entry.quantity)
        .collect();
    assert_eq!(covered, [3, 1, 2, 1]);

    // Released, the second hold's units go to what the third is owed.
    h.inventory.release(second.id).await.unwrap();
    let row = h.level("TEE", "main").await;
    assert_eq!(owed(third.id).await, 0);
    assert_eq!((row.backordered, row.available()), (0, 2));

    // A hold still owed units when it expires cancels them.
    let late = h
        .held(at_main("late", 5).with_ttl(Duration::from_secs(60)))
        .await;
    assert_eq!(late.lines[0].backordered, 3);
    h.advance(Duration::from_secs(61));
    let expired = h.inventory.expire_due(10).await.unwrap();
    assert!(expired.contains(&late.id) && expired.contains(&third.id));
    let row = h.level("TEE", "main").await;
    assert_eq!((row.reserved, row.backordered), (0, 0));
    assert_invariants(h.inventory.store()).await;
}

/// A limit of what is in transit; a channel is told the room left only when its policy
/// takes backorders; the units arriving from transit cover what was sold.
pub async fn channels_are_told_backorders_only_when_they_sell_them<S: AuditStore + SyncStore>(
    store: S,
) {
    let h = Harness::new(store);
    let (amazon, shop) = (RecordingChannel::new(), RecordingChannel::new());
    let worker = SyncWorker::builder(h.inventory.clone())
        .channel(
            "amazon",
            ChannelPolicy::buffered(Buffer::FULL),
            amazon.clone(),
        )
        .and_then(|w| {
            let policy = ChannelPolicy::buffered(Buffer::FULL).with_backorders(true);
            w.channel("shop", policy, shop.clone())
        })
        .unwrap()
        .build();
    h.stocked("TEE", "main", 2).await;
    h.inventory
        .add_in_transit(sku("TEE"), loc("main"), qty(10))
        .await
        .unwrap();
    h.inventory
        .set_backorder_limit(sku("TEE"), Some(BackorderLimit::InTransit))
        .await
        .unwrap();
    worker.run_until_idle().await.unwrap();
    let tee = sku("TEE");
    assert_eq!((amazon.last(&tee), shop.last(&tee)), (Some(2), Some(12)));

    let hold = h.held(order("pre", &[("TEE", 6)])).await;
    assert_eq!(hold.lines[0].backordered, 4);
    worker.run_until_idle().await.unwrap();
    assert_eq!((amazon.last(&tee), shop.last(&tee)), (Some(0), Some(6)));
    let beyond = h.inventory.reserve(order("over", &[("TEE", 7)])).await;
    assert!(matches!(
        domain_error(beyond.unwrap_err()),
        DomainError::InsufficientStock { .. }
    ));

    h.inventory
        .receive_in_transit(sku("TEE"), loc("main"), qty(10))
        .await
        .unwrap();
    let row = h.level("TEE", "main").await;
    assert_eq!((row.reserved, row.backordered, row.available()), (6, 0, 6));
    worker.run_until_idle().await.unwrap();
    assert_eq!((amazon.last(&tee), shop.last(&tee)), (Some(6), Some(6)));
    h.inventory.commit(hold.id).await.unwrap();
    assert_invariants(h.inventory.store()).await;
}
