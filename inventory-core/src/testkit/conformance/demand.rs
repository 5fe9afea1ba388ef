//! The daily shipped aggregate reorder runs read.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::NaiveDate;

use crate::backend::AuditStore;
use crate::reorder::DemandStore;
use crate::testkit::{order, sku, Harness};

const DAY: Duration = Duration::from_secs(24 * 3600);

/// Shipments are summed per SKU and UTC day in the shipment's own transaction; holds
/// that never ship count for nothing; the window is inclusive at both ends.
pub async fn shipments_are_counted_per_day<S: AuditStore + DemandStore>(store: S) {
    let h = Harness::new(store);
    h.stocked("TEE", "main", 100).await;
    h.stocked("MUG", "main", 100).await;
    let ship = |id: &'static str, lines: &'static [(&'static str, i64)]| {
        let inventory = &h.inventory;
        async move {
            let held = inventory
                .reserve(order(id, lines))
                .await
                .unwrap()
                .reservation;
            inventory.commit(held.id).await.unwrap();
            inventory.ship(held.id).await.unwrap();
        }
    };
    ship("o1", &[("TEE", 3)]).await;
    ship("o2", &[("TEE", 2), ("MUG", 1)]).await;
    h.advance(DAY);
    ship("o3", &[("TEE", 4)]).await;
    h.advance(DAY);
    let unshipped = h.held(order("o4", &[("TEE", 5)])).await;
    h.inventory.commit(unshipped.id).await.unwrap();
    h.inventory.release(unshipped.id).await.unwrap();

    let day = |n| NaiveDate::from_ymd_opt(2026, 1, n).unwrap();
    let all = h
        .inventory
        .store()
        .shipped_per_day(day(1), day(3))
        .await
        .unwrap();
    let expected = BTreeMap::from([
        (sku("MUG"), BTreeMap::from([(day(1), 1)])),
        (sku("TEE"), BTreeMap::from([(day(1), 5), (day(2), 4)])),
    ]);
    assert_eq!(all, expected);
    let second = h
        .inventory
        .store()
        .shipped_per_day(day(2), day(2))
        .await
        .unwrap();
    assert_eq!(
        second,
        BTreeMap::from([(sku("TEE"), BTreeMap::from([(day(2), 4)]))])
    );
    assert!(h
        .inventory
        .store()
        .shipped_per_day(day(4), day(30))
        .await
        .unwrap()
        .is_empty());
}
