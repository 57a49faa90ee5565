//! `cargo xtask fuzz [--seconds N]`: every cargo-fuzz target of `fuzz/` for a bounded time
//! (default 30 s each) with libFuzzer, on the stable toolchain (`RUSTC_BOOTSTRAP=1`). A crash
//! fails the run and leaves its input in `fuzz/artifacts/<target>/`; commit it as a regression
//! test beside the code it broke.

use std::process::Command;

use crate::run::{output, root, run, step};

/// cargo-fuzz, installed on first use.
const CARGO_FUZZ: &str = "0.13.1";
/// The targets in `fuzz/fuzz_targets/`.
const TARGETS: [&str; 4] = ["gateway_answers", "gateway_forms", "notifications", "api_bodies"];

/// Runs every target for `seconds`.
pub fn all(args: &[String]) -> Result<(), String> {
    let seconds: u32 = match args.iter().position(|a| a == "--seconds") {
        Some(i) => args
            .get(i + 1)
            .and_then(|v| v.parse().ok())
            .filter(|s| (1..=3600).contains(s))
            .ok_or("--seconds needs 1 to 3600")?,
        None => 30,
    };
    let found = output(Command::new("cargo").args(["fuzz", "--version"])).unwrap_or_default();
    if !found.contains(CARGO_FUZZ) {
        step(&format!("fuzz: installing cargo-fuzz {CARGO_FUZZ} (about 1 min)"));
        run(Command::new("cargo").args(["install", "cargo-fuzz", "--version", CARGO_FUZZ, "--locked", "--force"]))?;
    }
    for target in TARGETS {
        step(&format!("fuzz: {target} for {seconds} s"));
        run(Command::new("cargo")
            .args(["fuzz", "run", "-s", "none", "-O", target, "--"])
            .arg(format!("-max_total_time={seconds}"))
            .current_dir(root())
            .env("RUSTC_BOOTSTRAP", "1"))
        .map_err(|e| format!("{e}; the crashing input is in fuzz/artifacts/{target}/"))?;
    }
    step("fuzz: no crash, no hang");
    Ok(())
}
