//! `cargo xtask bench policy`: the criterion benchmark of the IAM policy
//! evaluator (evaluations per second against a 50-statement set with
//! conditions; the target is at least 100,000 per second on one core).

use std::path::Path;
use std::process::Command;

pub fn run(root: &Path, rest: &[String]) -> Result<(), String> {
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
        .current_dir(root)
        .args(["bench", "-p", "eksdoctor-core", "--bench", "policy", "--"])
        .args(rest)
        .status()
        .map_err(|e| format!("cargo bench: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("cargo bench failed: {status}"))
    }
}
