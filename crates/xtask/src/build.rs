//! Builds of the wasm artefacts: the widget (cargo, then wasm-bindgen and wasm-opt) and the
//! worker (worker-build, through `wrangler deploy --dry-run`). Both use the one
//! wasm-bindgen-cli that `cargo xtask setup` installed and binaryen's wasm-opt from npm.
//!
//! [`bundle`] is what every `[build] command` of `worker/wrangler.toml` runs (`cargo xtask
//! bundle`, and `--widget` for staging and production), so the steps are written once, here:
//! in Rust they run alike on Linux and macOS (no `cp` or `rm` flags to differ), and they find
//! the pinned tools as setup installed them. A deployment (`npx wrangler deploy --env
//! production` in `worker/`) thus builds the widget from the source it deploys.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::dev::wrangler;
use crate::run::{cargo, cargo_build, root, run, step};
use crate::tools;

/// The worker's bundle in `worker/build/`, as `wrangler dev` and the tests use it.
pub fn worker() -> Result<(), String> {
    step("build: the worker (worker-build --release; about a minute when cold)");
    // What `wrangler build` runs, for the top level (local) configuration: [`wrangler`] names
    // it with `--env=` (`wrangler build` itself drops an empty --env, hence deploy --dry-run).
    run(wrangler(&["deploy", "--dry-run", "--outdir=dist"]).env("CI", "true"))
}

/// `cargo xtask bundle [--widget]`, run by wrangler as the `[build] command` (in `worker/`):
/// worker-build into `worker/build/`; with `widget`, first the widget, and after it the files a
/// deployment serves copied into `worker/build/widget/`.
pub fn bundle(widget: bool) -> Result<(), String> {
    for tool in ["worker-build", "wasm-bindgen"] {
        require(tool)?;
    }
    if widget {
        self::widget()?;
    }
    let worker = tools::worker_dir();
    run(Command::new("worker-build")
        .arg("--release")
        .current_dir(&worker)
        // worker-build would download wasm-bindgen, wasm-opt and esbuild; these are the pinned
        // ones: wasm-bindgen on PATH (the widget's), and from npm esbuild (its package picks this
        // platform's binary) and binaryen's wasm-opt (JS and wasm), on any OS and CPU.
        .env("WASM_BINDGEN_BIN", "wasm-bindgen")
        .env("WASM_OPT_BIN", tools::wasm_opt())
        .env("ESBUILD_BIN", worker.join("node_modules/.bin/esbuild"))
        .env("PATH", tools::path_with_node()))?;
    if widget {
        copy_widget(&root().join("www"), &worker.join("build/widget"))?;
    }
    Ok(())
}

/// Fails naming `tool` and the command that installs it, when it does not run: a deploy from a
/// machine without them would otherwise stop at a bare "No such file or directory".
fn require(tool: &str) -> Result<(), String> {
    let runs = Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success());
    if runs {
        Ok(())
    } else {
        Err(format!("`{tool}` is not installed or not on PATH: run `cargo xtask setup --dev` first"))
    }
}

/// What a deployment serves: the loader, its types, the built widget and `_headers` (which lets
/// a shop's page load them across origins). A fixed list, each required: a deploy without the
/// loader or without its CORS headers would succeed and fail only in a shopper's browser.
pub const WIDGET_FILES: [&str; 6] = [
    "_headers",
    "qfpay-checkout.js",
    "qfpay-checkout.d.ts",
    "qfpay-checkout-texts.d.ts",
    "pkg/qfpay_checkout.js",
    "pkg/qfpay_checkout_bg.wasm",
];

/// The [`WIDGET_FILES`] of `www/`, copied into a fresh `to`. Nothing else: the demo shop
/// (`index.html`, `demo.*`, `csp.html`) stays local.
pub fn copy_widget(www: &Path, to: &Path) -> Result<(), String> {
    if to.exists() {
        std::fs::remove_dir_all(to).map_err(|e| format!("cannot empty {}: {e}", to.display()))?;
    }
    std::fs::create_dir_all(to.join("pkg")).map_err(|e| format!("cannot create {}: {e}", to.display()))?;
    for name in WIDGET_FILES {
        let (from, dest) = (www.join(name), to.join(name));
        std::fs::copy(&from, &dest)
            .map_err(|e| format!("cannot copy {} (`cargo xtask widget` builds www/pkg): {e}", from.display()))?;
    }
    step(&format!("bundle: the widget's files in {}", to.display()));
    Ok(())
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
    // The imports' and exports' names shortened, and the glue told (`names.rs`); a pass of
    // its own, as `--converge` would shorten them again and print a second mapping.
    let names = wasm_opt(&["--minify-imports-and-exports-and-modules"], &wasm)?;
    // -Oz: the page downloads this file; `--converge` repeats it while it still shrinks the
    // code. The producers and target-features sections are notes for tools that no browser
    // reads (with `--converge`, 300 bytes of brotli).
    wasm_opt(&["-Oz", "--converge", "--strip-producers", "--strip-target-features"], &wasm)?;
    let mapping: serde_json::Value =
        serde_json::from_slice(&names).map_err(|e| format!("wasm-opt's name mapping is not JSON ({e})"))?;
    let glue = out.join("qfpay_checkout.js");
    let text = std::fs::read_to_string(&glue).map_err(|e| format!("cannot read {}: {e}", glue.display()))?;
    let renamed = crate::names::rename_in_glue(&text, &mapping, "./qfpay_checkout_bg.js")?;
    std::fs::write(&glue, renamed).map_err(|e| format!("cannot write {}: {e}", glue.display()))?;
    // Lists the wasm's raw exports by their old names: no longer true, and nothing reads it.
    let _ = std::fs::remove_file(out.join("qfpay_checkout_bg.wasm.d.ts"));
    // The page downloads the glue and the loader too: minified, they are 3.6 KB smaller
    // gzipped, which keeps everything the page downloads within 64 KiB gzip. The loader's
    // commented source is `crates/checkout/js/qfpay-checkout.js`; `www/qfpay-checkout.js` is
    // built (git-ignored).
    let glue = out.join("qfpay_checkout.js");
    minify(&glue, &glue)?;
    minify(&root().join("crates/checkout/js/qfpay-checkout.js"), &root().join("www/qfpay-checkout.js"))
}

/// binaryen's wasm-opt over `wasm` in place, with the features every browser the widget
/// supports has and that rustc's wasm32 target emits; what it printed.
fn wasm_opt(passes: &[&str], wasm: &Path) -> Result<Vec<u8>, String> {
    let opt = Command::new(tools::wasm_opt())
        .args(passes)
        .args([
            "--enable-bulk-memory",
            "--enable-nontrapping-float-to-int",
            "--enable-sign-ext",
            "--enable-mutable-globals",
        ])
        .arg(wasm)
        .arg("-o")
        .arg(wasm)
        .env("PATH", tools::path_with_node())
        .output()
        .map_err(|e| format!("wasm-opt did not run: {e}"))?;
    if !opt.status.success() {
        return Err(format!("wasm-opt failed: {}", String::from_utf8_lossy(&opt.stderr)));
    }
    Ok(opt.stdout)
}

/// `from` minified into `to` by the worker's pinned esbuild, as an ES module (import paths and
/// `import.meta.url` untouched: it transforms, it does not bundle).
fn minify(from: &Path, to: &Path) -> Result<(), String> {
    let esbuild = tools::worker_dir().join("node_modules/.bin/esbuild");
    let out = format!("--outfile={}", to.display());
    run(Command::new(esbuild)
        .arg(from)
        .args(["--minify", "--format=esm", "--log-level=warning", "--allow-overwrite"])
        .arg(out)
        .env("PATH", tools::path_with_node()))
}

/// Builds the widget crate for wasm32 and returns its `.wasm`.
fn widget_wasm() -> Result<PathBuf, String> {
    let args = ["-p", "qfpay-checkout", "--lib", "--release", "--target", "wasm32-unknown-unknown"];
    cargo_build(&args, "qfpay_checkout", "cdylib")?
        .filenames
        .into_iter()
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

#[cfg(test)]
mod tests {
    use super::copy_widget;

    /// A deployment gets the widget's files and their `_headers`, never the demo shop's.
    #[test]
    fn a_deployment_copies_the_widget_and_headers_only() {
        let dir = std::env::temp_dir().join(format!("xtask-copy-widget-{}", std::process::id()));
        let (www, to) = (dir.join("www"), dir.join("build/widget"));
        std::fs::create_dir_all(www.join("pkg")).unwrap();
        std::fs::create_dir_all(&to).unwrap();
        std::fs::write(to.join("stale.js"), "an older build's file").unwrap();
        let files = [
            "_headers",
            "qfpay-checkout.js",
            "qfpay-checkout.d.ts",
            "qfpay-checkout-texts.d.ts",
            "index.html",
            "demo.js",
            "demo.css",
            "csp.html",
            "pkg/qfpay_checkout.js",
            "pkg/qfpay_checkout_bg.wasm",
            "pkg/qfpay_checkout.d.ts",
        ];
        for f in files {
            std::fs::write(www.join(f), f).unwrap();
        }
        copy_widget(&www, &to).unwrap();
        let mut found: Vec<String> =
            walk(&to).into_iter().map(|p| p.strip_prefix(&to).unwrap().display().to_string()).collect();
        found.sort();
        assert_eq!(
            found,
            [
                "_headers",
                "pkg/qfpay_checkout.js",
                "pkg/qfpay_checkout_bg.wasm",
                "qfpay-checkout-texts.d.ts",
                "qfpay-checkout.d.ts",
                "qfpay-checkout.js"
            ]
        );
        assert_eq!(std::fs::read_to_string(to.join("_headers")).unwrap(), "_headers");
        std::fs::remove_file(www.join("_headers")).unwrap();
        let err = copy_widget(&www, &to).unwrap_err();
        assert!(err.contains("_headers"), "a deploy without its CORS headers must fail: {err}");
        std::fs::write(www.join("_headers"), "_headers").unwrap();
        std::fs::remove_file(www.join("pkg/qfpay_checkout_bg.wasm")).unwrap();
        let err = copy_widget(&www, &to).unwrap_err();
        assert!(err.contains("qfpay_checkout_bg.wasm") && err.contains("cargo xtask widget"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .flat_map(|p| if p.is_dir() { walk(&p) } else { vec![p] })
            .collect()
    }
}
