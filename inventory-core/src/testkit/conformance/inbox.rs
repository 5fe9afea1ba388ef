//! The inbox of handled messages.

use chrono::TimeDelta;

use crate::backend::AuditStore;
use crate::id::{LineId, OrderId, Sku};
use crate::inbox::{InboxStore, LineRef};
use crate::testkit::Harness;

/// A message is recorded once per source and id, recognised afterwards, and forgotten
/// once older than the cut-off.
pub async fn the_inbox_recognises_handled_messages<S: AuditStore + InboxStore>(store: S) {
    let h = Harness::new(store);
    let store = h.inventory.store();
    let now = h.inventory.now();
    assert!(!store.handled("shopify", "w-1").await.unwrap());
    assert!(store.record_handled("shopify", "w-1", now).await.unwrap());
    assert!(!store
        .record_handled("shopify", "w-1", now + TimeDelta::hours(1))
        .await
        .unwrap());
    assert!(store.handled("shopify", "w-1").await.unwrap());
    assert!(!store.handled("amazon", "w-1").await.unwrap());
    let later = now + TimeDelta::hours(2);
    assert!(store.record_handled("shopify", "w-2", later).await.unwrap());
    let forgotten = store
        .forget_handled_before(now + TimeDelta::hours(1))
        .await
        .unwrap();
    assert_eq!(
        forgotten, 1,
        "only the first record is kept, and it is the older"
    );
    assert!(!store.handled("shopify", "w-1").await.unwrap());
    assert!(store.handled("shopify", "w-2").await.unwrap());
}

/// The lines of an order are recorded once each (the first SKU is kept), read back by
/// order in line id order, kept apart from other orders, and never forgotten by time.
pub async fn order_lines_are_recorded_once_and_kept<S: AuditStore + InboxStore>(store: S) {
    let h = Harness::new(store);
    let store = h.inventory.store();
    let order = OrderId::new("shopify:1001").unwrap();
    let other = OrderId::new("shopify:1002").unwrap();
    let line = |id: &str, sku: &str| LineRef::new(LineId::new(id).unwrap(), Sku::new(sku).unwrap());
    assert!(store.lines_of(&order).await.unwrap().is_empty());
    let first = [line("20", "MUG"), line("10", "TEE")];
    assert_eq!(store.record_lines(&order, &first).await.unwrap(), 2);
    assert_eq!(store.record_lines(&order, &[]).await.unwrap(), 0);
    // Recorded again (a redelivered create, an update naming every line) with a line
    // that changed SKU on the way and one new line: only the new line is added.
    let again = [line("10", "CAP"), line("30", "CAP")];
    assert_eq!(store.record_lines(&order, &again).await.unwrap(), 1);
    assert_eq!(
        store
            .record_lines(&other, &[line("10", "MUG")])
            .await
            .unwrap(),
        1,
        "line ids are per order"
    );
    let now = h.inventory.now();
    store
        .forget_handled_before(now + TimeDelta::days(365))
        .await
        .unwrap();
    assert_eq!(
        store.lines_of(&order).await.unwrap(),
        vec![line("10", "TEE"), line("20", "MUG"), line("30", "CAP")]
    );
    assert_eq!(
        store.lines_of(&other).await.unwrap(),
        vec![line("10", "MUG")]
    );
    // An order of thousands of lines is recorded whole (past any one statement's
    // placeholder limit: MySQL's 65,535 are 21,845 lines of three).
    let big = OrderId::new("shopify:1003").unwrap();
    let many: Vec<LineRef> = (0..22_000)
        .map(|n| line(&format!("{n:05}"), "TEE"))
        .collect();
    assert_eq!(store.record_lines(&big, &many).await.unwrap(), 22_000);
    assert_eq!(store.lines_of(&big).await.unwrap(), many);
}
