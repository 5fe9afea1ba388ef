//! A busy shop in a child process, for the crash-safety test: four tasks receive,
//! reserve, commit, ship, release and expire against one SQLite file until the parent
//! kills the process with SIGKILL.
//!
//! `crash_worker <database path> <order prefix>`

use std::time::Duration;

use inventory_core::{
    Error, Inventory, LocationId, OrderId, OrderLine, Quantity, ReserveRequest, Sku,
};
use inventory_sqlite::SqliteStore;

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// A refusal (a hold that expired under load, say) is part of the workload; only a
/// storage failure stops the worker.
fn refusal_is_fine<T>(result: Result<T, Error>) -> Result<(), Failure> {
    match result {
        Ok(_) | Err(Error::Domain(_)) => Ok(()),
        Err(error) => Err(error.into()),
    }
}

async fn shop(
    inventory: Inventory<SqliteStore>,
    prefix: String,
    task: usize,
) -> Result<(), Failure> {
    let skus = [Sku::new("CRASH-A")?, Sku::new("CRASH-B")?];
    let locations = [LocationId::new("east")?, LocationId::new("west")?];
    for step in 0usize.. {
        if step % 10 == 0 {
            for (sku, location) in skus.iter().zip(&locations) {
                inventory
                    .receive(sku.clone(), location.clone(), Quantity::new(20)?)
                    .await?;
            }
        }
        let units = i64::try_from(step % 3 + 1)?;
        let mut lines = vec![OrderLine::new(
            skus[step % 2].clone(),
            Quantity::new(units)?,
        )];
        if step % 3 == 0 {
            lines.push(OrderLine::new(
                skus[(step + 1) % 2].clone(),
                Quantity::new(1)?,
            ));
        }
        let order = OrderId::new(format!("{prefix}-{task}-{step}"))?;
        let request = ReserveRequest::new(order, lines)
            .with_ttl(Duration::from_secs(1))
            .with_split(true);
        let Ok(held) = inventory.reserve(request).await else {
            continue;
        };
        let id = held.reservation.id;
        match step % 4 {
            0 => {
                refusal_is_fine(inventory.commit(id).await)?;
                refusal_is_fine(inventory.ship(id).await)?;
            }
            1 => refusal_is_fine(inventory.commit(id).await)?,
            2 => refusal_is_fine(inventory.release(id).await)?,
            _ => {}
        }
        if step % 7 == 0 {
            inventory.expire_due(50).await?;
        }
    }
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Failure> {
    let mut arguments = std::env::args().skip(1);
    let path = arguments
        .next()
        .ok_or("usage: crash_worker <database> <prefix>")?;
    let prefix = arguments
        .next()
        .ok_or("usage: crash_worker <database> <prefix>")?;
    let inventory = Inventory::new(SqliteStore::open(&path).await?);
    // Tells the test the file is open: its kill timer starts from here, so a slow
    // start on a loaded machine is not counted as time the worker had.
    println!("open");
    let tasks: Vec<_> = (0..4)
        .map(|task| tokio::spawn(shop(inventory.clone(), prefix.clone(), task)))
        .collect();
    for task in tasks {
        task.await??;
    }
    Ok(())
}
