//! Placeholder, replaced by the rules detector's benchmark.
fn main() {}
