//! Hold times: default and custom expiry, extension, the sweep and lazy reclaim.

use std::time::Duration;

use crate::backend::AuditStore;
use crate::error::DomainError;
use crate::ledger::Movement;
use crate::reservation::ReservationStatus;
use crate::testkit::invariants::assert_invariants;
use crate::testkit::{domain_error, order, Harness};

const MINUTE: Duration = Duration::from_secs(60);

/// A hold lasts 30 minutes by default: the sweep leaves it alone one second before and
/// expires it at that moment, giving its units back.
pub async fn holds_expire_after_the_default_ttl<S: AuditStore>(store: S) {
    let h = Harness::new(store);
    h.stocked("TEE", "main", 5).await;
    let hold = h.held(order("o1", &[("TEE", 5)])).await;
    h.advance(30 * MINUTE - Duration::from_secs(1));
    assert!(h.inventory.expire_due(100).await.unwrap().is_empty());
    assert_eq!(h.level("TEE", "main").await.available(), 0);
    h.advance(Duration::from_secs(1));
    assert_eq!(h.inventory.expire_due(100).await.unwrap(), vec![hold.id]);
    let expired = h.inventory.reservation(hold.id).await.unwrap();
    assert_eq!(expired.status, ReservationStatus::Expired);
    assert_eq!(h.level("TEE", "main").await.available(), 5);
    let last = h.snapshot().await.ledger.pop().unwrap();
    assert_eq!((last.movement, last.quantity), (Movement::Expired, 5));
    assert_invariants(h.inventory.store()).await;
}

/// A request's own hold time wins over the default, and extend holds until
/// `now + ttl`.
pub async fn custom_ttl_and_extend<S: AuditStore>(store: S) {
    let h = Harness::new(store);
    h.stocked("TEE", "main", 5).await;
    let hold = h.held(order("o1", &[("TEE", 1)]).with_ttl(MINUTE)).await;
    assert_eq!(
        hold.expires_at,
        h.inventory.now() + chrono::TimeDelta::minutes(1)
    );
    h.advance(Duration::from_secs(50));
    let extended = h.inventory.extend(hold.id, 2 * MINUTE).await.unwrap();
    assert_eq!(
        extended.expires_at,
        h.inventory.now() + chrono::TimeDelta::minutes(2)
    );
    h.advance(Duration::from_secs(100));
    assert!(h.inventory.expire_due(100).await.unwrap().is_empty());
    h.advance(Duration::from_secs(20));
    assert_eq!(h.inventory.expire_due(100).await.unwrap(), vec![hold.id]);
    assert_invariants(h.inventory.store()).await;
}

/// Extend never shortens a hold, and cannot revive one whose time ran out.
pub async fn extend_refuses_expired_and_never_shortens<S: AuditStore>(store: S) {
    let h = Harness::new(store);
    h.stocked("TEE", "main", 5).await;
    let hold = h
        .held(order("o1", &[("TEE", 1)]).with_ttl(10 * MINUTE))
        .await;
    let same = h.inventory.extend(hold.id, MINUTE).await.unwrap();
    assert_eq!(same.expires_at, hold.expires_at);
    let error = h
        .inventory
        .extend(hold.id, Duration::ZERO)
        .await
        .unwrap_err();
    assert_eq!(
        domain_error(error),
        DomainError::InvalidTtl {
            ttl: Duration::ZERO
        }
    );
    h.advance(10 * MINUTE);
    let before = h.snapshot().await;
    let error = h.inventory.extend(hold.id, MINUTE).await.unwrap_err();
    assert_eq!(
        domain_error(error),
        DomainError::Expired {
            id: hold.id,
            expired_at: hold.expires_at,
        }
    );
    assert_eq!(h.snapshot().await, before);
}

/// A hold whose time ran out cannot be committed, even before the sweep ran.
pub async fn commit_after_expiry_is_refused<S: AuditStore>(store: S) {
    let h = Harness::new(store);
    h.stocked("TEE", "main", 5).await;
    let hold = h.held(order("o1", &[("TEE", 2)]).with_ttl(MINUTE)).await;
    h.advance(MINUTE);
    let before = h.snapshot().await;
    let expired = DomainError::Expired {
        id: hold.id,
        expired_at: hold.expires_at,
    };
    let error = h.inventory.commit(hold.id).await.unwrap_err();
    assert_eq!(domain_error(error), expired);
    assert_eq!(h.snapshot().await, before);
    // The same answer once the sweep has written the expiry.
    assert_eq!(h.inventory.expire_due(10).await.unwrap(), vec![hold.id]);
    let error = h.inventory.commit(hold.id).await.unwrap_err();
    assert_eq!(domain_error(error), expired);
}

/// A reserve that finds too little stock expires overdue holds on its SKUs first; one
/// that finds enough leaves them for the sweep.
pub async fn reserve_reclaims_expired_holds<S: AuditStore>(store: S) {
    let h = Harness::new(store);
    h.stocked("TEE", "main", 3).await;
    h.stocked("MUG", "main", 3).await;
    let stale = h
        .held(order("stale", &[("TEE", 2), ("MUG", 1)]).with_ttl(MINUTE))
        .await;
    h.advance(2 * MINUTE);
    h.held(order("small", &[("TEE", 1)])).await;
    let untouched = h.inventory.reservation(stale.id).await.unwrap();
    assert_eq!(untouched.status, ReservationStatus::Active);

    h.held(order("big", &[("TEE", 2)])).await;
    let reclaimed = h.inventory.reservation(stale.id).await.unwrap();
    assert_eq!(reclaimed.status, ReservationStatus::Expired);
    let tee = h.level("TEE", "main").await;
    assert_eq!((tee.reserved, tee.available()), (3, 0));
    // Every line of the reclaimed hold was released, on the other SKU too.
    assert_eq!(h.level("MUG", "main").await.reserved, 0);
    assert_invariants(h.inventory.store()).await;
}

/// The sweep expires at most its limit, the longest overdue first.
pub async fn expiry_sweep_respects_its_limit<S: AuditStore>(store: S) {
    let h = Harness::new(store);
    h.stocked("TEE", "main", 10).await;
    let late = h
        .held(order("late", &[("TEE", 1)]).with_ttl(3 * MINUTE))
        .await;
    let early = h.held(order("early", &[("TEE", 1)]).with_ttl(MINUTE)).await;
    let middle = h
        .held(order("middle", &[("TEE", 1)]).with_ttl(2 * MINUTE))
        .await;
    let lasting = h
        .held(order("lasting", &[("TEE", 1)]).with_ttl(60 * MINUTE))
        .await;
    h.advance(5 * MINUTE);
    assert_eq!(
        h.inventory.expire_due(2).await.unwrap(),
        vec![early.id, middle.id]
    );
    assert_eq!(h.inventory.expire_due(10).await.unwrap(), vec![late.id]);
    assert!(h.inventory.expire_due(10).await.unwrap().is_empty());
    let status = h.inventory.reservation(lasting.id).await.unwrap().status;
    assert_eq!(status, ReservationStatus::Active);
    assert_eq!(h.level("TEE", "main").await.reserved, 1);
    assert_invariants(h.inventory.store()).await;
}

/// A hold past its time but not yet swept may still be released by its order.
pub async fn expired_hold_can_still_be_released<S: AuditStore>(store: S) {
    let h = Harness::new(store);
    h.stocked("TEE", "main", 5).await;
    let hold = h.held(order("o1", &[("TEE", 2)]).with_ttl(MINUTE)).await;
    h.advance(2 * MINUTE);
    let released = h.inventory.release(hold.id).await.unwrap();
    assert_eq!(released.status, ReservationStatus::Released);
    assert_eq!(h.level("TEE", "main").await.available(), 5);
    assert!(h.inventory.expire_due(10).await.unwrap().is_empty());
    assert_invariants(h.inventory.store()).await;
}

/// The store names when the next active hold runs out: none before any hold, the
/// earliest active one (extensions counted), and none once every hold is committed or
/// released.
pub async fn next_expiry_is_the_earliest_active_hold<S: AuditStore>(store: S) {
    let h = Harness::new(store);
    h.stocked("TEE", "main", 5).await;
    let store = h.inventory.store();
    assert_eq!(store.next_expiry().await.unwrap(), None);
    let later = h
        .held(order("later", &[("TEE", 1)]).with_ttl(2 * MINUTE))
        .await;
    let sooner = h
        .held(order("sooner", &[("TEE", 1)]).with_ttl(MINUTE))
        .await;
    assert_eq!(store.next_expiry().await.unwrap(), Some(sooner.expires_at));
    let extended = h.inventory.extend(sooner.id, 3 * MINUTE).await.unwrap();
    assert_eq!(store.next_expiry().await.unwrap(), Some(later.expires_at));
    h.inventory.commit(later.id).await.unwrap();
    assert_eq!(
        store.next_expiry().await.unwrap(),
        Some(extended.expires_at)
    );
    h.inventory.release(sooner.id).await.unwrap();
    assert_eq!(store.next_expiry().await.unwrap(), None);
}
