//! Project automation, in Rust so it runs wherever cargo does.
//!
//! - `cargo xtask setup`: install every tool the project needs, skipping what is present.
//! - `cargo xtask test`: setup, then format check, clippy, the wasm builds, and every test.
//! - `cargo xtask dev`: the simulator, the worker and the demo shop on loopback.
//! - `cargo xtask screenshots`, `cargo xtask size`: the README's pictures and the artefacts' sizes.

use std::process::ExitCode;

mod bench;
mod build;
mod chaos;
mod dev;
mod fuzz;
mod run;
mod setup;
mod size;
mod test;
mod tools;

const USAGE: &str = "usage: cargo xtask <setup|test|dev>
  setup   install the pinned tools (wasm32 target, wasm-bindgen, wasm-pack, worker-build,
          Node 22, the worker's npm packages, Chromium and ChromeDriver); idempotent
  test    setup, then cargo fmt --check, clippy -D warnings, the wasm builds, every test
  dev     [--worker-port 8787] [--sim-port 8788]: simulator + worker + demo shop until Ctrl-C
  screenshots  run the browser test and copy its screenshots to docs/
  size    build the release widget and worker; print NAME raw=N gzip=N brotli=N per artefact
  bench   [--quick]: signing, worker overhead, upstream economy, widget timings, sizes
  chaos   [--quick]: checkouts through a failing gateway and a worker restart, reconciled
  fuzz    [--seconds 30]: every cargo-fuzz target for a bounded time";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("setup") => setup::all(),
        Some("test") => test::all(),
        Some("dev") => dev::run_dev(&args[1..]),
        Some("screenshots") => build::screenshots(),
        Some("size") => size::report(),
        Some("bench") => bench::all(args.iter().any(|a| a == "--quick")),
        Some("chaos") => chaos::all(args.iter().any(|a| a == "--quick")),
        Some("fuzz") => fuzz::all(&args[1..]),
        Some("-h") | Some("--help") | Some("help") => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        other => {
            eprintln!("xtask: unknown command {:?}\n{USAGE}", other.unwrap_or(""));
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: {err}");
            ExitCode::FAILURE
        }
    }
}
