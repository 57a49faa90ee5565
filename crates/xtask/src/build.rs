//! Builds of the wasm artefacts: the widget (cargo, then wasm-bindgen and wasm-opt) and the
//! worker (worker-build through `wrangler build`). Both use the one wasm-bindgen-cli that
//! `cargo xtask setup` installed and binaryen's wasm-opt from npm.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::dev::wrangler;
use crate::run::{cargo, root, run, step};
use crate::tools;

/// The worker's bundle in `worker/build/`.
pub fn worker() -> Result<(), String> {
    step("build: the worker (worker-build --release; about a minute when cold)");
    // What `wrangler build` runs, with `--env=`: the top level (local) configuration, said
    // outright (`wrangler build` drops an empty --env, and wrangler then warns that staging and
    // production exist and none was named).
    run(wrangler(&["deploy", "--dry-run", "--outdir=dist", "--env="]).env("CI", "true"))
}

/// The widget in `www/pkg/`: `qfpay_checkout.js`, `qfpay_checkout_bg.wasm` and their `.d.ts`
/// (the names the loader and the production assets use).
pub fn widget() -> Result<(), String> {
    step("build: the widget (cargo build --release for wasm32, wasm-bindgen --target web, wasm-opt -Oz)");
    let wasm = widget_wasm()?;
    let out = root().join("www/pkg");
    // A fresh folder, so no file of an older build (or of wasm-pack's) is served.
    if out.exists() {
        std::fs::remove_dir_all(&out).map_err(|e| format!("cannot empty {}: {e}", out.display()))?;
    }
    run(Command::new("wasm-bindgen")
        .args(["--target", "web", "--out-name", "qfpay_checkout", "--out-dir"])
        .arg(&out)
        .arg(&wasm))?;
    let wasm = out.join("qfpay_checkout_bg.wasm");
    // -Oz: the page downloads this file; the features are those every browser the widget
    // supports has, and that rustc's wasm32 target emits.
    run(Command::new(tools::wasm_opt())
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
        .env("PATH", tools::path_with_node()))
}

/// Builds the widget crate for wasm32 and returns its `.wasm`, as cargo reports it (so a
/// `CARGO_TARGET_DIR` or a config's `target-dir` is followed).
fn widget_wasm() -> Result<PathBuf, String> {
    let mut cmd = cargo();
    cmd.args(["build", "-p", "qfpay-checkout", "--lib", "--release", "--target", "wasm32-unknown-unknown"])
        .args(["--message-format", "json-render-diagnostics"])
        .stdout(Stdio::piped());
    step("cargo build -p qfpay-checkout --lib --release --target wasm32-unknown-unknown");
    let out = cmd.output().map_err(|e| format!("cannot run cargo: {e}"))?;
    if !out.status.success() {
        return Err(format!("the widget's cargo build failed ({})", out.status));
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|msg| msg["reason"] == "compiler-artifact" && msg["target"]["name"] == "qfpay_checkout")
        .flat_map(|msg| msg["filenames"].as_array().cloned().unwrap_or_default())
        .filter_map(|f| f.as_str().map(PathBuf::from))
        .find(|f| f.extension().is_some_and(|x| x == "wasm"))
        .ok_or_else(|| "the widget's cargo build reported no qfpay_checkout.wasm".to_string())
}

/// Runs the browser test (which saves `target/e2e/*.png`) and copies the pictures to `docs/`.
pub fn screenshots() -> Result<(), String> {
    crate::setup::all()?;
    widget()?;
    worker()?;
    run(cargo().args(["test", "-p", "e2e", "--test", "browser"]))?;
    let root = root();
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
