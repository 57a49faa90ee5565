//! The two tools that come from `cargo install`: wasm-bindgen-cli and worker-build. They take
//! most of a fresh machine's first `cargo xtask dev`, so they are built as cheaply as still
//! gives fast tools (figures in the README's "The two commands").

use std::process::Command;
use std::time::Instant;

use crate::run::{output, root, run, step};

/// (crate, binary, version, install with `--locked`)
pub type Tool<'a> = (&'a str, &'a str, &'a str, bool);

/// Installs each tool whose binary is missing or at another version.
pub fn cargo_tools(tools: &[Tool]) -> Result<(), String> {
    for &(package, binary, version, locked) in tools {
        let found = output(Command::new(binary).arg("--version")).unwrap_or_default();
        if found.split_whitespace().any(|word| word.trim_start_matches('v') == version) {
            step(&format!("setup: {binary} {version} present"));
            continue;
        }
        step(&format!("setup: installing {package} {version} with cargo install (a few minutes on a fresh machine)"));
        let started = Instant::now();
        run(&mut install_command(package, version, locked))?;
        step(&format!("setup: {package} installed in {} s", started.elapsed().as_secs()));
    }
    Ok(())
}

fn install_command(package: &str, version: &str, locked: bool) -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.args(["install", package, "--version", version, "--force"]);
    if locked {
        cmd.arg("--locked");
    }
    // One target folder for both installs, kept: the two share dependencies (27 of
    // worker-build's 206 crates were already built for wasm-bindgen-cli, measured), and a later
    // version bump rebuilds only what changed. Inside target/, so `cargo clean`
    // takes it away.
    cmd.env("CARGO_TARGET_DIR", root().join("target/tool-installs"));
    for (name, value) in PROFILE {
        cmd.env(name, value);
    }
    cmd
}

/// The release profile for the tools, through cargo's environment (the crates set none of
/// their own): no optimisation. Measured on a 2-core machine, wasm-bindgen-cli's install took
/// 101 s of CPU at opt-level 0 against 229 s at 1 and 236 s at the default 3, while the
/// unoptimised wasm-bindgen writes byte-identical output and takes about 1.5 s more on the
/// worker's 2 MB wasm (0.2 s on the widget's). worker-build took 222 s of CPU against 591 s;
/// it only starts cargo, wasm-bindgen, wasm-opt and esbuild, so its own speed does not matter.
const PROFILE: &[(&str, &str)] = &[("CARGO_PROFILE_RELEASE_OPT_LEVEL", "0"), ("CARGO_PROFILE_RELEASE_DEBUG", "0")];
