//! The reference service as a process of this package, for the tests that kill it
//! (`CARGO_BIN_EXE_reference_service`); the same program as
//! `cargo run -p inventory-examples --example reference_service`.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    inventory_examples::service::main().await
}
