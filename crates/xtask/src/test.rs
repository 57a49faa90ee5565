//! `cargo xtask test`: the one command CI runs. Every check fails the run.

use crate::build;
use crate::run::{cargo, run, step};
use crate::setup;

/// Setup, then every check and test in order, cheapest first.
pub fn all() -> Result<(), String> {
    setup::all()?;
    run(cargo().args(["fmt", "--all", "--", "--check"]))?;
    run(cargo().args(["clippy", "--all-targets", "--", "-D", "warnings"]))?;
    // The wasm-only crates, and the pure crates' wasm builds (the browser and the edge run them).
    run(cargo().args([
        "clippy",
        "-p",
        "qfpay-worker",
        "-p",
        "qfpay-checkout",
        "--all-targets",
        "--target",
        "wasm32-unknown-unknown",
        "--",
        "-D",
        "warnings",
    ]))?;
    run(cargo().args(["build", "-p", "qfpay", "-p", "checkout-api", "--target", "wasm32-unknown-unknown"]))?;
    build::widget()?;
    // The widget's browser tests, in Debian's Chromium.
    run(std::process::Command::new("wasm-pack")
        .args(["test", "--headless", "--chrome", "--mode", "no-install"])
        .arg(crate::run::root().join("crates/checkout"))
        .env("CHROMEDRIVER", "/usr/bin/chromedriver")
        .env("PATH", crate::tools::path_with_node()))?;
    // Built once here so the end-to-end tests start `wrangler dev` on a ready bundle.
    build::worker()?;
    run(cargo().args(["test"]))?;
    // A short fault run that reconciles the worker with the gateway's ledger.
    crate::chaos::run_only(true, false)?;
    step("test: all checks passed");
    Ok(())
}
