//! Bundles (kits): definitions and their rules, reservations that hold components all
//! or nothing, the life of a bundle hold, returns of bundles, and bundle numbers on
//! channels.

use std::time::Duration;

use crate::backend::{AuditStore, Store};
use crate::catalog::{BundleComponent, BundleProblem};
use crate::error::DomainError;
use crate::id::OrderId;
use crate::inventory::Inventory;
use crate::reservation::{BundleLine, OrderLine, ReservationStatus, ReserveRequest};
use crate::returns::{Disposition, ReturnLine, ReturnRequest};
use crate::sync::SyncStore;
use crate::testkit::invariants::assert_invariants;
use crate::testkit::{domain_error, loc, order, qty, shop_worker, sku, Harness, RecordingChannel};

fn part(name: &str, units: i64) -> BundleComponent {
    BundleComponent::new(sku(name), qty(units))
}

/// `GIFT = 1 x MUG + 2 x TEA`.
async fn gift_set<S: Store>(inventory: &Inventory<S>) {
    inventory
        .define_bundle(sku("GIFT"), vec![part("TEA", 2), part("MUG", 1)])
        .await
        .expect("a valid bundle");
}

fn problem(error: crate::Error) -> BundleProblem {
    match domain_error(error) {
        DomainError::InvalidBundle { problem, .. } => problem,
        other => panic!("expected InvalidBundle, got {other:?}"),
    }
}

/// A definition is stored (components ordered by SKU) and read back by any inventory
/// on the store; each rule of bundles refuses a definition and writes nothing; a
/// bundle takes no stock of its own; removing a definition says whether there was one.
pub async fn bundles_are_defined_by_their_rules<S: AuditStore + Clone>(store: S) {
    let h = Harness::new(store);
    h.stocked("SPOON", "main", 4).await;
    let stored = h
        .inventory
        .define_bundle(sku("GIFT"), vec![part("TEA", 2), part("MUG", 1)])
        .await
        .unwrap();
    assert_eq!(stored, vec![part("MUG", 1), part("TEA", 2)]);
    let version = h.inventory.store().catalog_version().await.unwrap();
    let elsewhere = Inventory::new(h.inventory.store().clone());
    let catalog = elsewhere.catalog().await.unwrap();
    assert_eq!(catalog.bundle(&sku("GIFT")), Some(stored.as_slice()));
    assert_eq!(catalog.version(), version);

    let define =
        |bundle: &str, parts: Vec<BundleComponent>| h.inventory.define_bundle(sku(bundle), parts);
    let refusals = [
        (define("BOX", vec![]).await, BundleProblem::NoComponents),
        (
            define("BOX", vec![part("A", 1), part("A", 1)]).await,
            BundleProblem::RepeatedComponent(sku("A")),
        ),
        (
            define("BOX", vec![part("BOX", 1)]).await,
            BundleProblem::ContainsItself,
        ),
        (
            define("BOX", vec![part("GIFT", 1), part("MUG", 1)]).await,
            BundleProblem::ComponentIsBundle(sku("GIFT")),
        ),
        (
            define("TEA", vec![part("LEAF", 5)]).await,
            BundleProblem::UsedInBundle(sku("GIFT")),
        ),
        (
            define("SPOON", vec![part("MUG", 1)]).await,
            BundleProblem::HasStock,
        ),
    ];
    for (refused, expected) in refusals {
        assert_eq!(problem(refused.unwrap_err()), expected);
    }
    assert_eq!(
        h.inventory.store().catalog_version().await.unwrap(),
        version,
        "a refused definition writes nothing"
    );

    let receipt = h.inventory.receive(sku("GIFT"), loc("main"), qty(1)).await;
    assert_eq!(
        domain_error(receipt.unwrap_err()),
        DomainError::BundleHoldsNoStock { sku: sku("GIFT") }
    );
    assert!(h
        .inventory
        .store()
        .stock(&sku("GIFT"))
        .await
        .unwrap()
        .is_empty());

    // Redefining replaces the components; removing ends the bundle.
    let again = define("GIFT", vec![part("MUG", 2)]).await.unwrap();
    assert_eq!(again, vec![part("MUG", 2)]);
    assert!(h.inventory.remove_bundle(&sku("GIFT")).await.unwrap());
    assert!(!h.inventory.remove_bundle(&sku("GIFT")).await.unwrap());
    assert!(h
        .inventory
        .bundle_stock(&sku("GIFT"))
        .await
        .unwrap()
        .is_none());
    assert!(elsewhere.store().catalog().await.unwrap().is_empty());
    assert_invariants(h.inventory.store()).await;
}

/// A bundle's available is its scarcest component's, per location and in total; a
/// reservation of it holds every component or none (naming the short component), and
/// its lines say which bundle they stand for; components sold alone share the stock.
pub async fn bundle_reservations_hold_components_all_or_nothing<S: AuditStore>(store: S) {
    let h = Harness::new(store);
    gift_set(&h.inventory).await;
    h.stocked("MUG", "east", 3).await;
    h.stocked("TEA", "east", 5).await;
    h.stocked("MUG", "west", 1).await;
    h.stocked("TEA", "west", 4).await;
    let stock = h
        .inventory
        .bundle_stock(&sku("GIFT"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stock.locations[&loc("east")], 2, "5 tea make 2 pairs");
    assert_eq!(stock.locations[&loc("west")], 1, "1 mug");
    assert_eq!(stock.available, 4, "4 mugs, 9 tea: 4 pairs");

    let mut pinned = order("too-many", &[("GIFT", 3)]);
    pinned.lines[0].location = Some(loc("east"));
    let before = h.snapshot().await;
    let short = domain_error(h.inventory.reserve(pinned).await.unwrap_err());
    assert!(
        matches!(&short, DomainError::InsufficientStock { sku: s, requested: 6, available: 5, .. } if *s == sku("TEA")),
        "{short:?}"
    );
    assert_eq!(h.snapshot().await, before, "nothing held");

    let mut east = order("kit-1", &[("GIFT", 2)]);
    east.lines[0].location = Some(loc("east"));
    let hold = h.held(east.clone()).await;
    let lines: Vec<(String, i64, Option<BundleLine>)> = hold
        .lines
        .iter()
        .map(|line| {
            (
                line.sku.to_string(),
                line.quantity.get(),
                line.bundle.clone(),
            )
        })
        .collect();
    let of_gift = |per: i64| {
        Some(BundleLine {
            sku: sku("GIFT"),
            per_bundle: qty(per),
        })
    };
    assert_eq!(
        lines,
        [
            ("MUG".to_owned(), 2, of_gift(1)),
            ("TEA".to_owned(), 4, of_gift(2))
        ]
    );
    assert_eq!(h.level("TEA", "east").await.reserved, 4);
    let again = h.inventory.reserve(east).await.unwrap();
    assert!(!again.created, "the same order again is the same hold");
    let stock = h
        .inventory
        .bundle_stock(&sku("GIFT"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((stock.locations[&loc("east")], stock.available), (0, 2));

    // A component sold alone comes out of the same stock.
    h.held(order("mug-alone", &[("MUG", 2)]).with_split(true))
        .await;
    let stock = h
        .inventory
        .bundle_stock(&sku("GIFT"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stock.available, 0, "no mug left anywhere");
    let refused = h.inventory.reserve(order("kit-2", &[("GIFT", 1)])).await;
    assert!(matches!(
        domain_error(refused.unwrap_err()),
        DomainError::InsufficientStock { .. }
    ));
    assert_invariants(h.inventory.store()).await;
}

/// Commit, ship, release and expiry of a bundle hold act on its components; a return
/// naming the bundle brings back its components, never more bundles than shipped.
pub async fn bundle_holds_live_and_return_as_components<S: AuditStore>(store: S) {
    let h = Harness::new(store);
    gift_set(&h.inventory).await;
    h.stocked("MUG", "main", 10).await;
    h.stocked("TEA", "main", 20).await;

    let shipped = h.held(order("kit-ship", &[("GIFT", 2)])).await;
    h.inventory.commit(shipped.id).await.unwrap();
    assert_eq!(h.level("TEA", "main").await.committed, 4);
    h.inventory.ship(shipped.id).await.unwrap();
    let (mug, tea) = (h.level("MUG", "main").await, h.level("TEA", "main").await);
    assert_eq!((mug.on_hand, tea.on_hand, tea.committed), (8, 16, 0));

    let released = h.held(order("kit-release", &[("GIFT", 1)])).await;
    h.inventory.release(released.id).await.unwrap();
    h.held(
        ReserveRequest::new(
            OrderId::new("kit-expire").unwrap(),
            vec![OrderLine::new(sku("GIFT"), qty(3))],
        )
        .with_ttl(Duration::from_secs(60)),
    )
    .await;
    assert_eq!(h.level("TEA", "main").await.reserved, 6);
    h.advance(Duration::from_secs(61));
    assert_eq!(h.inventory.expire_due(10).await.unwrap().len(), 1);
    let tea = h.level("TEA", "main").await;
    assert_eq!((tea.reserved, tea.available()), (0, 16));

    let back = |units: i64, disposition| ReturnLine {
        sku: sku("GIFT"),
        quantity: qty(units),
        disposition,
        location: None,
    };
    let order_id = OrderId::new("kit-ship").unwrap();
    let returned = h
        .inventory
        .record_return(ReturnRequest::new(
            order_id.clone(),
            vec![back(1, Disposition::Restock)],
        ))
        .await
        .unwrap();
    let lines: Vec<(String, i64)> = returned.returns[0]
        .lines
        .iter()
        .map(|line| (line.sku.to_string(), line.quantity.get()))
        .collect();
    assert_eq!(lines, [("MUG".to_owned(), 1), ("TEA".to_owned(), 2)]);
    let (mug, tea) = (h.level("MUG", "main").await, h.level("TEA", "main").await);
    assert_eq!((mug.on_hand, tea.on_hand), (9, 18));
    let over = h
        .inventory
        .record_return(ReturnRequest::new(
            order_id,
            vec![back(2, Disposition::Damaged)],
        ))
        .await;
    assert!(matches!(
        domain_error(over.unwrap_err()),
        DomainError::OverReturn {
            shipped: 2,
            returned: 1,
            requested: 2,
            ..
        }
    ));
    assert_eq!(
        h.inventory.reservation(shipped.id).await.unwrap().status,
        ReservationStatus::Shipped
    );
    assert_invariants(h.inventory.store()).await;
}

/// A change of a component marks every bundle using it for sync; channels are told
/// the bundle's buffered number (its scarcest component's); reconciliation pushes
/// bundles too; a new definition, or its removal, reaches channels.
pub async fn bundle_numbers_reach_channels<S: AuditStore + SyncStore>(store: S) {
    let h = Harness::new(store);
    gift_set(&h.inventory).await;
    let channel = RecordingChannel::new();
    let worker = shop_worker(h.inventory.clone(), &channel).build();
    h.stocked("MUG", "main", 4).await;
    h.stocked("TEA", "main", 5).await;
    assert!(h.inventory.store().is_dirty(&sku("GIFT")).await.unwrap());
    worker.run_until_idle().await.unwrap();
    assert_eq!(channel.last(&sku("GIFT")), Some(2), "5 tea make 2 pairs");
    assert_eq!(channel.last(&sku("MUG")), Some(4));

    h.held(order("tea-alone", &[("TEA", 2)])).await;
    worker.run_until_idle().await.unwrap();
    assert_eq!(channel.last(&sku("GIFT")), Some(1));
    h.held(order("kit", &[("GIFT", 1)])).await;
    worker.run_until_idle().await.unwrap();
    assert_eq!(
        (channel.last(&sku("GIFT")), channel.last(&sku("MUG"))),
        (Some(0), Some(3))
    );
    let before = channel.updates().len();
    let pushed = worker.reconcile(None).await.unwrap();
    assert_eq!(pushed, 3, "MUG, TEA and the bundle");
    let updates = channel.updates();
    assert!(updates[before..]
        .iter()
        .any(|update| update.sku == sku("GIFT")));

    // A new definition changes the number: channels hear of it.
    h.inventory
        .define_bundle(sku("GIFT"), vec![part("MUG", 1)])
        .await
        .unwrap();
    assert!(h.inventory.store().is_dirty(&sku("GIFT")).await.unwrap());
    worker.run_until_idle().await.unwrap();
    assert_eq!(channel.last(&sku("GIFT")), Some(3), "3 mugs left");
    assert!(h.inventory.remove_bundle(&sku("GIFT")).await.unwrap());
    worker.run_until_idle().await.unwrap();
    assert_eq!(channel.last(&sku("GIFT")), Some(0), "no longer sold");
    assert_invariants(h.inventory.store()).await;
}
