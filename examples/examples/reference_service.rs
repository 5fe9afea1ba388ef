//! The reference HTTP service: JSON API, Shopify webhooks, channel sync, reorder and
//! cycle counting over SQLite (default `./inventory.db`) or PostgreSQL.
//!
//! `cargo run --release -p inventory-examples --example reference_service -- --db <path or postgres:// URL> --addr 127.0.0.1:8080 [--config service.toml]`

#[tokio::main]
async fn main() -> std::process::ExitCode {
    inventory_examples::service::main().await
}
