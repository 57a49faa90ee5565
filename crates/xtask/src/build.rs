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
    step("build: the widget (wasm-pack --release, then wasm-opt -Oz)");
    let out = crate::run::root().join("www/pkg");
    run(std::process::Command::new("wasm-pack")
        .args(["build", "--release", "--target", "web", "--mode", "no-install", "--out-dir"])
        .arg(&out)
        .arg(&crate_dir)
        .env("PATH", crate::tools::path_with_node()))?;
    let wasm = out.join("qfpay_checkout_bg.wasm");
    run(std::process::Command::new(crate::tools::worker_dir().join("node_modules/.bin/wasm-opt"))
        .args([
            "-Oz",
            "--enable-bulk-memory",
            "--enable-nontrapping-float-to-int",
            "--enable-sign-ext",
            "--enable-mutable-globals",
        ])
        .arg(&wasm)
        .arg("-o")
        .arg(&wasm)
        .env("PATH", crate::tools::path_with_node()))
}

/// Runs the browser test (which saves `target/e2e/*.png`) and copies the pictures to `docs/`.
pub fn screenshots() -> Result<(), String> {
    crate::setup::all()?;
    widget()?;
    worker()?;
    run(crate::run::cargo().args(["test", "-p", "e2e", "--test", "browser"]))?;
    let root = crate::run::root();
    let names = [
        "shop.png",
        "qr.png",
        "paid.png",
        "shop-zh-HK.png",
        "qr-zh-HK.png",
        "shop-phone.png",
        "wallet-phone.png",
        "paid-phone.png",
        "wallet-phone-zh-HK.png",
    ];
    for name in names {
        let from = root.join("target/e2e").join(name);
        let to = root.join("docs").join(name);
        std::fs::copy(&from, &to).map_err(|e| format!("cannot copy {}: {e}", from.display()))?;
        step(&format!("screenshots: docs/{name}"));
    }
    Ok(())
}
