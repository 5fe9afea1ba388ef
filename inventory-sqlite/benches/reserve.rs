//! Reservation throughput (filled in with the benchmark).

fn main() {}
