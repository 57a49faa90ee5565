//! Builds of the wasm artefacts: the widget (wasm-pack) and the worker (worker-build through
//! `wrangler build`, with the pinned tools).

use crate::dev::wrangler;
use crate::run::{run, step};

/// The worker's bundle in `worker/build/`.
pub fn worker() -> Result<(), String> {
    step("build: the worker (worker-build --release; about a minute when cold)");
    run(wrangler(&["build"]).env("CI", "true"))
}

/// The widget in `www/pkg/` (arrives with the widget crate).
pub fn widget() -> Result<(), String> {
    let crate_dir = crate::run::root().join("crates/checkout");
    if !crate_dir.exists() {
        return Ok(());
    }
    step("build: the widget (wasm-pack --release)");
    run(std::process::Command::new("wasm-pack")
        .args(["build", "--release", "--target", "web", "--mode", "no-install", "--no-typescript", "--out-dir"])
        .arg(crate::run::root().join("www/pkg"))
        .arg(&crate_dir)
        .env("PATH", crate::tools::path_with_node()))
}
