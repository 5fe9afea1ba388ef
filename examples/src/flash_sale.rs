//! A flash sale: many buyers at once, few units.

use std::sync::Arc;
use std::time::Duration;

use inventory_core::backend::Store;
use inventory_core::{
    DomainError, Error, Inventory, LocationId, OrderId, OrderLine, Quantity, ReserveRequest, Sku,
};
use tokio::sync::Mutex;

/// How one crowd of buyers fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SaleReport {
    /// Buyers told "you got it".
    pub sold: usize,
    /// Buyers told "sold out".
    pub refused: usize,
    /// Units promised beyond what was stocked.
    pub oversold: usize,
}

/// Every buyer tries to reserve one unit of `sku` through the library, all at once.
///
/// # Errors
///
/// Any failure other than "sold out".
pub async fn run_library<S: Store + Clone>(
    inventory: Inventory<S>,
    sku: Sku,
    stocked: usize,
    buyers: usize,
) -> Result<SaleReport, Error> {
    let mut tasks = Vec::with_capacity(buyers);
    for buyer in 0..buyers {
        let inventory = inventory.clone();
        let sku = sku.clone();
        tasks.push(tokio::spawn(async move {
            let order = OrderId::new(format!("{sku}/buyer-{buyer}"))?;
            let request = ReserveRequest::new(order, vec![OrderLine::new(sku, Quantity::new(1)?)]);
            match inventory.reserve(request).await {
                Ok(_) => Ok(true),
                Err(Error::Domain(DomainError::InsufficientStock { .. })) => Ok(false),
                Err(other) => Err(other),
            }
        }));
    }
    let mut sold = 0;
    for task in tasks {
        if task.await.expect("buyer task")? {
            sold += 1;
        }
    }
    Ok(SaleReport {
        sold,
        refused: buyers - sold,
        oversold: sold.saturating_sub(stocked),
    })
}

/// **The naive way, shown to fail.** A shared stock number that each buyer reads,
/// then (after the round trip any real storage has) writes back minus one: the
/// spreadsheet-and-sync approach. Buyers that read the same number all "get" the unit.
pub async fn run_naive(stocked: usize, buyers: usize) -> SaleReport {
    let count = Arc::new(Mutex::new(stocked));
    let mut tasks = Vec::with_capacity(buyers);
    for _ in 0..buyers {
        let count = Arc::clone(&count);
        tasks.push(tokio::spawn(async move {
            let seen = *count.lock().await;
            if seen == 0 {
                return false;
            }
            // The read and the write are separate round trips to the shared number.
            tokio::time::sleep(Duration::from_millis(2)).await;
            *count.lock().await = seen - 1;
            true
        }));
    }
    let mut sold = 0;
    for task in tasks {
        if task.await.expect("buyer task") {
            sold += 1;
        }
    }
    SaleReport {
        sold,
        refused: buyers - sold,
        oversold: sold.saturating_sub(stocked),
    }
}

/// The location the sale sells from.
pub fn location() -> LocationId {
    LocationId::new("main").expect("valid location")
}
