//! Channel sync under random commands, channel outages, worker restarts and workers
//! that die holding claims, on every backend. Every push announces exactly the formula
//! applied to the committed state it read; at quiescence every channel's number for
//! every SKU equals the formula applied to current stock.

use std::time::Duration;

use inventory_core::backend::AuditStore;
use inventory_core::counting::CountStore;
use inventory_core::reorder::PurchaseStore;
use inventory_core::sync::{
    published, published_bundle, Buffer, ChannelPolicy, SyncStore, SyncWorker, Terms,
};
use inventory_core::testkit::strategy::{apply, ops, Op, BUNDLES, SKUS};
use inventory_core::testkit::{loc, sku, Harness, RecordingChannel};
use inventory_core::{MemoryStore, Sku};
use inventory_sqlite::{SqliteOptions, SqliteStore, Synchronous};
use inventory_tests::{pg, proptest_cases, runtime};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Step {
    Command(Op),
    Pass,
    Outage(usize, bool),
    Restart,
    DieHoldingClaims,
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    let step = prop_oneof![
        6 => inventory_core::testkit::strategy::op().prop_map(Step::Command),
        3 => Just(Step::Pass),
        1 => (0..2usize, any::<bool>()).prop_map(|(channel, down)| Step::Outage(channel, down)),
        1 => Just(Step::Restart),
        1 => Just(Step::DieHoldingClaims),
    ];
    (ops(4), proptest::collection::vec(step, 1..=30)).prop_map(|(opening, mut steps)| {
        let mut all: Vec<Step> = opening.into_iter().map(Step::Command).collect();
        all.append(&mut steps);
        all
    })
}

fn policies() -> [ChannelPolicy; 2] {
    let shop = ChannelPolicy::buffered(Buffer::decimal("0.9").unwrap()).with_safety_units(2);
    let wholesale = ChannelPolicy::buffered(Buffer::decimal("0.7").unwrap())
        .with_cap(20)
        .with_locations([loc("east"), loc("west")])
        .with_override(
            sku("B"),
            Terms {
                buffer: Buffer::FULL,
                safety_units: 0,
                cap: None,
            },
        );
    [shop, wholesale]
}

fn worker<S: AuditStore + SyncStore>(
    h: &Harness<S>,
    channels: &[RecordingChannel; 2],
) -> SyncWorker<S> {
    let [shop, wholesale] = policies();
    SyncWorker::builder(h.inventory.clone())
        .channel("shop", shop, channels[0].clone())
        .and_then(|w| w.channel("wholesale", wholesale, channels[1].clone()))
        .expect("channels")
        .build()
}

/// The SKUs channels are told about: [`SKUS`] and the bundles.
fn told_skus() -> Vec<Sku> {
    SKUS.iter().chain(&BUNDLES).map(|name| sku(name)).collect()
}

/// Each channel's number for each SKU of [`told_skus`], from current stock and the
/// stored catalog (a bundle is told its scarcest component's number).
async fn expected<S: AuditStore + SyncStore>(store: &S) -> Vec<[i64; 2]> {
    let skus = told_skus();
    let stock = store.stock_of(&skus).await.expect("read stock");
    let frozen = store.frozen(&skus).await.expect("read freezes");
    let catalog = store.catalog().await.expect("read catalog");
    let policies = policies();
    skus.iter()
        .map(|s| {
            let told = |policy: &ChannelPolicy| match catalog.bundle(s) {
                Some(components) => {
                    let cold = components.iter().any(|c| frozen.contains(&c.sku));
                    published_bundle(policy, s, components, &stock, cold)
                }
                None => {
                    let rows = stock.get(s).map(Vec::as_slice).unwrap_or_default();
                    published(policy, s, rows, frozen.contains(s))
                }
            };
            [told(&policies[0]), told(&policies[1])]
        })
        .collect()
}

async fn run<S: AuditStore + SyncStore + PurchaseStore + CountStore>(
    store: S,
    steps: Vec<Step>,
) -> Result<(), TestCaseError> {
    let h = Harness::new(store);
    let channels = [RecordingChannel::new(), RecordingChannel::new()];
    let mut current = worker(&h, &channels);
    for (index, step) in steps.iter().enumerate() {
        match step {
            Step::Command(op) => drop(apply(&h, op).await),
            Step::Outage(channel, down) => channels[*channel].set_failing(*down),
            Step::Restart => current = worker(&h, &channels),
            Step::DieHoldingClaims => {
                let now = h.inventory.now();
                let until = now + chrono::TimeDelta::seconds(30);
                h.inventory
                    .store()
                    .claim_dirty(now, until, 2)
                    .await
                    .expect("claim");
                current = worker(&h, &channels);
            }
            Step::Pass => {
                let seen = [channels[0].updates().len(), channels[1].updates().len()];
                current.run_until_idle().await.expect("pass");
                let want = expected(h.inventory.store()).await;
                for (which, channel) in channels.iter().enumerate() {
                    for update in &channel.updates()[seen[which]..] {
                        let position = told_skus()
                            .iter()
                            .position(|name| *name == update.sku)
                            .unwrap();
                        prop_assert_eq!(
                            update.quantity,
                            want[position][which],
                            "step {}: {:?}",
                            index,
                            update
                        );
                    }
                }
            }
        }
    }
    // Quiescence: channels back, rests and dead claims over.
    for channel in &channels {
        channel.set_failing(false);
    }
    h.advance(Duration::from_secs(600));
    current.run_until_idle().await.expect("final pass");
    let want = expected(h.inventory.store()).await;
    for (position, name) in told_skus().iter().enumerate() {
        for (which, channel) in channels.iter().enumerate() {
            let told = channel.last(name).unwrap_or(0);
            prop_assert_eq!(told, want[position][which], "{} on channel {}", name, which);
        }
        prop_assert!(!h.inventory.store().is_dirty(name).await.unwrap());
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: proptest_cases(256), max_shrink_iters: 500, ..ProptestConfig::default() })]

    #[test]
    fn memory_channels_converge(steps in steps()) {
        runtime().block_on(run(MemoryStore::new(), steps))?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: proptest_cases(64), max_shrink_iters: 300, ..ProptestConfig::default() })]

    #[test]
    fn sqlite_channels_converge(steps in steps()) {
        runtime().block_on(async {
            let options = SqliteOptions { synchronous: Synchronous::Normal, ..SqliteOptions::default() };
            run(SqliteStore::temporary(options).await.expect("database"), steps).await
        })?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: proptest_cases(32), max_shrink_iters: 200, ..ProptestConfig::default() })]

    #[test]
    fn postgres_channels_converge(steps in steps()) {
        runtime().block_on(async {
            let Some(store) = pg::fresh_store(2).await else { return Ok(()) };
            let result = run(store.clone(), steps).await;
            pg::drop_store(store).await;
            result
        })?;
    }
}
