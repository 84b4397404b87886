//! The `prism` command.
fn main() {}
