//! Micro-benchmarks (written below).
fn main() {}
