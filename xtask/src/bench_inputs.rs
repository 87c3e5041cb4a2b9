//! `cargo xtask bench inputs`: the criterion benchmark of the `keys` and
//! `lint sts` readers (credential report, manifests, source scan); targets
//! in `crates/core/benches/inputs.rs`.

use std::path::Path;
use std::process::Command;

pub fn run(root: &Path, rest: &[String]) -> Result<(), String> {
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
        .current_dir(root)
        .args(["bench", "-p", "eksdoctor-core", "--bench", "inputs", "--"])
        .args(rest)
        .status()
        .map_err(|e| format!("cargo bench: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("cargo bench failed: {status}"))
    }
}
