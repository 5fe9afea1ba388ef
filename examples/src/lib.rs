//! Shared code of the example programs.
//!
//! [`flash_sale`] holds the story this library exists for: a crowd of buyers racing for
//! the last units of a best seller, once through the library and once through a naive
//! read-then-write counter.

pub mod flash_sale;
pub mod service;
