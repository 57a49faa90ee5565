//! `cargo xtask size`: what the page downloads for the widget and what the edge runs, in bytes,
//! raw, gzip (level 9) and brotli (quality 11), one line per artefact.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::build;
use crate::run::root;

/// The size of `path` compressed by `tool`; an error (not 0) when the tool fails.
fn compressed(tool: &[&str], path: &Path) -> Result<usize, String> {
    let out = Command::new(tool[0])
        .args(&tool[1..])
        .arg(path)
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", tool[0]))?;
    if !out.status.success() {
        let said = String::from_utf8_lossy(&out.stderr);
        return Err(format!("`{} {}` failed ({}): {}", tool.join(" "), path.display(), out.status, said.trim()));
    }
    Ok(out.stdout.len())
}

/// Raw, gzip and brotli bytes of files together.
pub fn measure(paths: &[&Path]) -> Result<(usize, usize, usize), String> {
    let mut totals = (0, 0, 0);
    for p in paths {
        totals.0 += std::fs::metadata(p).map_err(|e| format!("{}: {e}", p.display()))?.len() as usize;
        totals.1 += compressed(&["gzip", "-9", "-c"], p)?;
        totals.2 += compressed(&["brotli", "-q", "11", "-c"], p)?;
    }
    Ok(totals)
}

/// What the page may download for the widget (wasm, glue and loader together), brotli bytes:
/// issue 22's goal for a shopper on a mobile network. See BENCHMARKS.md for where they go.
pub const WIDGET_BROTLI_BUDGET: usize = 40_000;

fn line(name: &str, paths: &[&Path]) -> Result<usize, String> {
    let (raw, gzip, brotli) = measure(paths)?;
    println!("{name} raw={raw} gzip={gzip} brotli={brotli}");
    Ok(brotli)
}

/// The widget's files as built: wasm, glue, loader.
fn widget_files() -> Vec<std::path::PathBuf> {
    let root = root();
    vec![
        root.join("www/pkg/qfpay_checkout_bg.wasm"),
        root.join("www/pkg/qfpay_checkout.js"),
        root.join("www/qfpay-checkout.js"),
    ]
}

/// Fails when the widget as built is over [`WIDGET_BROTLI_BUDGET`]: the check `cargo xtask
/// test` makes after building it. Compressed by Node's zlib (quality 11, the largest window),
/// which every machine that builds this has, so no brotli program is needed.
pub fn check_widget_budget() -> Result<(), String> {
    const SCRIPT: &str = "const fs = require('fs'), z = require('zlib'); let n = 0; \
        for (const f of process.argv.slice(1)) n += z.brotliCompressSync(fs.readFileSync(f), {params: \
        {[z.constants.BROTLI_PARAM_QUALITY]: 11, [z.constants.BROTLI_PARAM_LGWIN]: 24}}).length; console.log(n)";
    let out = Command::new("node")
        .args(["-e", SCRIPT])
        .args(widget_files())
        .output()
        .map_err(|e| format!("cannot run node to measure the widget: {e}"))?;
    let said = String::from_utf8_lossy(&out.stdout);
    let total: usize = said
        .trim()
        .parse()
        .map_err(|_| format!("measuring the widget failed: {}{}", said.trim(), String::from_utf8_lossy(&out.stderr)))?;
    if total > WIDGET_BROTLI_BUDGET {
        return Err(format!(
            "the widget's files (wasm, glue, loader) are {total} bytes brotli, over the budget of {WIDGET_BROTLI_BUDGET} \
             (BENCHMARKS.md says where the bytes go)"
        ));
    }
    crate::run::step(&format!(
        "size: the widget is {total} bytes brotli, within {WIDGET_BROTLI_BUDGET} by {}",
        WIDGET_BROTLI_BUDGET - total
    ));
    Ok(())
}

/// The widget's files (wasm, glue, loader) and the worker's wasm, as built.
pub fn artefacts() -> Result<(Vec<std::path::PathBuf>, std::path::PathBuf), String> {
    let root = root();
    let widget = widget_files();
    let worker = std::fs::read_dir(root.join("worker/build"))
        .map_err(|e| format!("worker/build: {e}"))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "wasm"))
        .ok_or("no worker wasm in worker/build")?;
    Ok((widget, worker))
}

/// Installs brotli when missing (Debian's package), or says how when apt-get may not run here.
pub fn ensure_brotli() -> Result<(), String> {
    if Command::new("brotli").arg("--version").output().is_ok() {
        return Ok(());
    }
    if crate::setup::apt_install(
        &["brotli"],
        "the brotli sizes of `cargo xtask size` and `bench`",
        "install brotli (brew install brotli)",
    ) {
        Ok(())
    } else {
        Err("brotli is missing (see above): install it and run again".into())
    }
}

/// Builds both release artefacts and prints their sizes.
pub fn report() -> Result<(), String> {
    crate::setup::dev()?;
    ensure_brotli()?;
    build::widget()?;
    build::worker()?;
    let (widget, worker) = artefacts()?;
    line("widget-wasm", &[&widget[0]])?;
    line("widget-glue-js", &[&widget[1]])?;
    line("widget-loader-js", &[&widget[2]])?;
    let total = line("widget-total", &widget.iter().map(|p| p.as_path()).collect::<Vec<_>>())?;
    line("worker-wasm", &[&worker])?;
    if total > WIDGET_BROTLI_BUDGET {
        return Err(format!("the widget's files are {total} bytes brotli, over the budget of {WIDGET_BROTLI_BUDGET}"));
    }
    println!("widget-budget brotli={WIDGET_BROTLI_BUDGET} (within it by {})", WIDGET_BROTLI_BUDGET - total);
    Ok(())
}
