//! Shared tests for every backend (feature `testkit`).
//!
//! - [`conformance`]: one generic `async fn` per behaviour, and
//!   [`conformance_suite!`](crate::conformance_suite) to stamp all of them onto a
//!   backend as `#[tokio::test]`s in a module named after it.
//! - [`invariants`]: checks of every invariant of the stock model, and ledger replay.
//! - [`strategy`]: proptest strategies for command sequences, and a runner that applies
//!   them to any backend.
//! - [`race`]: the hot-SKU race every backend must win.
//!
//! ```
//! // In a test file of the backend's crate: one `#[tokio::test]` per case in `mod memory`.
//! inventory_core::conformance_suite!(memory, async { Some(inventory_core::MemoryStore::new()) });
//! # fn main() {}
//! ```
//!
//! The factory is an expression producing a future of `Option<store>`; `None` skips the
//! case (a backend whose database is missing says so loudly before returning `None`).

mod channel;
pub mod conformance;
mod fixtures;
pub mod invariants;
pub mod race;
pub mod strategy;

pub use channel::{shop_worker, RecordingChannel};

/// `store`, checked at compile time to be a full [`Backend`](crate::backend::Backend):
/// what [`conformance_suite!`](crate::conformance_suite) hands every case.
pub fn full_backend<B: crate::backend::Backend>(store: B) -> B {
    store
}
pub use fixtures::{domain_error, loc, order, qty, sku, Harness, StoreState, START};

/// Stamps every conformance case onto a backend, as `#[tokio::test]`s in `mod $backend`.
///
/// `$factory` is evaluated once per case and must yield a future of `Option<S>` where
/// `S` is a full [`Backend`](crate::backend::Backend) (see the
/// [backend guide](crate::backend)). The calling crate needs `tokio` with the `macros`
/// and `rt-multi-thread` features.
#[macro_export]
macro_rules! conformance_suite {
    ($backend:ident, $factory:expr) => {
        mod $backend {
            #[allow(unused_imports)]
            use super::*;
            $crate::__conformance_cases!($factory;
                receive_creates_row_and_ledger,
                receive_accumulates_and_totals_locations,
                receive_overflow_changes_nothing,
                sku_total_overflow_is_refused,
                keyed_receipt_applies_once,
                reused_idempotency_key_is_refused,
                refused_keyed_movement_leaves_the_key_free,
                transit_moves_units_to_on_hand,
                transit_receipt_beyond_in_transit_is_refused,
                unknown_sku_and_location_are_refused,
                adjust_corrects_on_hand_with_reason,
                adjust_refuses_bad_input_and_promised_units,
                identifiers_are_stored_exactly,
                reserve_holds_units,
                reserve_refuses_insufficient_stock_with_context,
                reserve_is_all_or_nothing,
                reserve_counts_repeated_lines_together,
                reserve_is_idempotent_by_order_id,
                reserve_refuses_a_different_request_under_a_used_order_id,
                reserve_refuses_malformed_requests,
                allocation_most_available,
                allocation_priority_list,
                allocation_split_across_locations,
                allocation_pinned_location_ignores_strategy,
                commit_moves_reserved_to_committed,
                ship_takes_units_off_the_shelf,
                release_returns_units_from_active_and_committed,
                wrong_state_transitions_are_refused,
                unknown_reservations_are_refused,
                fulfil_commits_and_ships_at_once,
                holds_expire_after_the_default_ttl,
                custom_ttl_and_extend,
                extend_refuses_expired_and_never_shortens,
                commit_after_expiry_is_refused,
                reserve_reclaims_expired_holds,
                expiry_sweep_respects_its_limit,
                next_expiry_is_the_earliest_active_hold,
                the_inbox_recognises_handled_messages,
                order_lines_are_recorded_once_and_kept,
                expired_hold_can_still_be_released,
                changes_mark_skus_dirty_in_their_transaction,
                the_outbox_protocol_step_by_step,
                sync_pushes_buffered_numbers_once,
                a_failing_channel_does_not_hold_back_the_others,
                claims_of_a_dead_worker_expire,
                reconcile_pushes_every_number,
                shipments_are_counted_per_day,
                purchase_orders_move_stock_through_their_lifecycle,
                receiving_everything_outstanding_completes_an_order,
                ledger_entries_name_actor_and_reference,
                ledger_pages_newest_first_by_every_filter,
                closing_early_writes_off_and_cancel_moves_nothing,
                reorder_runs_raise_one_order_per_supplier_once,
                counts_adjust_investigate_or_freeze,
                resolving_an_investigation_unfreezes,
                unfreezing_resolves_every_open_investigation_at_once,
                state_changes_set_units_aside,
                unavailable_units_are_never_sold,
                counts_count_units_in_every_state,
                keyed_state_change_applies_once,
                bulk_set_replaces_on_hand_row_by_row,
                a_stale_bulk_set_changes_nothing,
                keyed_bulk_set_applies_once,
                malformed_bulk_sets_are_refused,
                returns_put_units_back_by_disposition,
                returns_never_exceed_what_was_shipped,
                keyed_return_is_recorded_once,
                partial_shipments_ship_exactly_the_lines_named,
                partial_shipments_refuse_what_the_order_does_not_hold,
                partial_releases_cancel_backorders_first_and_keep_the_rest,
                added_lines_are_held_like_the_order_once_per_key,
                transfers_move_units_in_two_legs,
                closing_a_transfer_writes_off_what_never_arrived,
                transfers_take_only_available_units,
                keyed_transfer_legs_apply_once,
                a_short_count_reports_the_shortage,
                frozen_skus_are_told_zero,
                revenue_ranks_the_count_list,
                bundles_are_defined_by_their_rules,
                bundle_reservations_hold_components_all_or_nothing,
                bundle_holds_live_and_return_as_components,
                bundle_numbers_reach_channels,
                backorders_sell_beyond_available_within_the_limit,
                arrivals_cover_backorders_first_come_first_served,
                channels_are_told_backorders_only_when_they_sell_them,
                low_stock_events_are_raised_once_per_crossing_and_delivered,
                low_stock_thresholds_follow_changes_and_the_reorder_point,
            );
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_cases {
    ($factory:expr; $($case:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $case() {
            let Some(store) = ($factory).await else { return };
            $crate::testkit::conformance::$case($crate::testkit::full_backend(store)).await;
        }
    )*};
}
