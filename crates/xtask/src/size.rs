//! `cargo xtask size`: what the page downloads for the widget and what the edge runs, in bytes,
//! raw, gzip (level 9) and brotli (quality 11), one line per artefact.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::build;
use crate::run::root;

fn compressed(tool: &[&str], path: &Path) -> Result<usize, String> {
    let out = Command::new(tool[0])
        .args(&tool[1..])
        .arg(path)
        .stderr(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", tool[0]))?;
    Ok(out.stdout.len())
}

fn line(name: &str, paths: &[&Path]) -> Result<(), String> {
    let mut totals = (0, 0, 0);
    for p in paths {
        totals.0 += std::fs::metadata(p).map_err(|e| format!("{}: {e}", p.display()))?.len() as usize;
        totals.1 += compressed(&["gzip", "-9", "-c"], p)?;
        totals.2 += compressed(&["brotli", "-q", "11", "-c"], p)?;
    }
    println!("{name} raw={} gzip={} brotli={}", totals.0, totals.1, totals.2);
    Ok(())
}

/// Builds both release artefacts and prints their sizes.
pub fn report() -> Result<(), String> {
    crate::setup::all()?;
    if Command::new("brotli").arg("--version").output().is_err() {
        crate::run::run(Command::new("apt-get").args(["install", "-y", "brotli"]))?;
    }
    build::widget()?;
    build::worker()?;
    let root = root();
    let wasm = root.join("www/pkg/qfpay_checkout_bg.wasm");
    let glue = root.join("www/pkg/qfpay_checkout.js");
    let loader = root.join("www/qfpay-checkout.js");
    let worker = std::fs::read_dir(root.join("worker/build"))
        .map_err(|e| format!("worker/build: {e}"))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "wasm"))
        .ok_or("no worker wasm in worker/build")?;
    line("widget-wasm", &[&wasm])?;
    line("widget-glue-js", &[&glue])?;
    line("widget-loader-js", &[&loader])?;
    line("widget-total", &[&wasm, &glue, &loader])?;
    line("worker-wasm", &[&worker])?;
    Ok(())
}
