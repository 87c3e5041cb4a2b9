//! `cargo xtask bench NAME`: benchmarks that compare against a baseline in the
//! same run. Criterion benches (`cargo bench`) live beside their crates.

use std::path::Path;

#[path = "bench_explain.rs"]
mod bench_explain;

#[path = "bench_live.rs"]
mod bench_live;

#[path = "bench_inputs.rs"]
mod bench_inputs;

pub fn run(root: &Path, rest: &[String]) -> Result<(), String> {
    match rest.first().map(String::as_str) {
        Some("tui") => crate::tui_bench::run(root, &rest[1..]),
        Some("policy") => crate::bench_policy::run(root, &rest[1..]),
        Some("live") => bench_live::run(root, &rest[1..]),
        Some("inputs") => bench_inputs::run(root, &rest[1..]),
        Some("explain") => bench_explain::run(root, &rest[1..]),
        Some(other) => Err(format!("no benchmark {other:?}")),
        None => Err("usage: cargo xtask bench NAME".to_owned()),
    }
}
