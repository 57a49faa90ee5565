//! `cargo xtask test`: the one command CI runs. Every check fails the run.

use std::path::PathBuf;

use crate::build;
use crate::run::{cargo, root, run, step};
use crate::{setup, tools};

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
    // The CLI's simulator is an opt-in feature (a light `cargo install` for signing), so the
    // workspace-wide runs above and below leave it out: checked here with it on.
    run(cargo().args(["clippy", "-p", "qfpay-cli", "--all-targets", "--features", "sim", "--", "-D", "warnings"]))?;
    run(cargo().args(["test", "-p", "qfpay-cli", "--features", "sim"]))?;
    build::widget()?;
    crate::size::check_widget_budget()?;
    widget_browser_tests()?;
    // Built once here so the end-to-end tests start `wrangler dev` on a ready bundle.
    build::worker()?;
    run(cargo().args(["test"]))?;
    // A short fault run that reconciles the worker with the gateway's ledger, under the
    // gateway's strictest readings where QFPay's documentation is silent.
    crate::chaos::run_only(true, false, true)?;
    step("test: all checks passed");
    Ok(())
}

/// The widget's `wasm_bindgen_test`s in headless Chromium, run by wasm-bindgen-cli's
/// `wasm-bindgen-test-runner` as cargo's runner for wasm32 (it starts `$CHROMEDRIVER` and
/// adds `headless` itself; a failing test fails cargo, hence this step).
fn widget_browser_tests() -> Result<(), String> {
    // Said before cargo builds anything, naming what is missing, instead of the runner's
    // "cannot start chromedriver" minutes later.
    let missing = setup::browser_missing();
    if !missing.is_empty() {
        return Err(format!("the widget's browser tests cannot run: {}. {}", missing.join("; "), setup::BROWSER_HOW));
    }
    let capabilities = webdriver_json()?;
    run(cargo()
        .args(["test", "-p", "qfpay-checkout", "--target", "wasm32-unknown-unknown"])
        .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER", "wasm-bindgen-test-runner")
        .env("CHROMEDRIVER", tools::chromedriver())
        .env("WASM_BINDGEN_TEST_WEBDRIVER_JSON", capabilities)
        // The runner gives a whole test binary 20 s by default; `web.rs` takes about 18 s
        // on a busy 2-core machine, so a slow run would fail for time, not for a bug.
        .env("WASM_BINDGEN_TEST_TIMEOUT", "120"))
}

/// `crates/checkout/webdriver.json` (Chrome's flags) with `binary` set to [`tools::chrome`],
/// written under `target/` for the runner, so `CHROME` works as for the end-to-end tests.
fn webdriver_json() -> Result<PathBuf, String> {
    let source = root().join("crates/checkout/webdriver.json");
    let text = std::fs::read_to_string(&source).map_err(|e| format!("{}: {e}", source.display()))?;
    let mut json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: not JSON: {e}", source.display()))?;
    let options = json
        .get_mut("goog:chromeOptions")
        .and_then(|o| o.as_object_mut())
        .ok_or_else(|| format!("{}: goog:chromeOptions must be an object", source.display()))?;
    options.insert("binary".into(), tools::chrome().to_string_lossy().into_owned().into());
    let out = root().join("target/webdriver-checkout.json");
    std::fs::create_dir_all(root().join("target")).map_err(|e| format!("cannot create target/: {e}"))?;
    std::fs::write(&out, json.to_string()).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runners_capabilities_name_our_chrome_and_keep_the_flags() {
        let written = std::fs::read_to_string(webdriver_json().unwrap()).unwrap();
        let json: serde_json::Value = serde_json::from_str(&written).unwrap();
        let options = &json["goog:chromeOptions"];
        assert_eq!(options["binary"], tools::chrome().to_string_lossy().as_ref());
        let args = options["args"].as_array().unwrap();
        assert!(args.iter().any(|a| a == "--no-sandbox"), "{written}");
    }
}
