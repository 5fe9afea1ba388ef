//! The inbox of handled messages.

use chrono::TimeDelta;

use crate::backend::AuditStore;
use crate::inbox::InboxStore;
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
