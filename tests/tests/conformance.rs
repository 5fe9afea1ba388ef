//! The conformance suite, stamped onto every backend that exists so far.

use inventory_core::MemoryStore;

inventory_core::conformance_suite!(memory, async { Some(MemoryStore::new()) });
