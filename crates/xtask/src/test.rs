//! `cargo xtask test`: the one command CI runs. Every check fails the run.

use crate::run::{cargo, run, step};
use crate::setup;

/// Setup, then every check and test in order, cheapest first.
pub fn all() -> Result<(), String> {
    setup::all()?;
    run(cargo().args(["fmt", "--all", "--", "--check"]))?;
    run(cargo().args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]))?;
    // The protocol crate must build for the browser and the edge too.
    run(cargo().args(["build", "-p", "qfpay", "--target", "wasm32-unknown-unknown"]))?;
    run(cargo().args(["test", "--workspace"]))?;
    step("test: all checks passed");
    Ok(())
}
