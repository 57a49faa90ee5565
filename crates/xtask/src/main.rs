//! Project automation, in Rust so it runs wherever cargo does.
//!
//! - `cargo xtask setup`: install every tool the project needs, skipping what is present.
//! - `cargo xtask test`: setup, then format check, clippy, the wasm builds, and every test.
//! - `cargo xtask dev`: the simulator, the worker and the demo shop on loopback.
//! - `cargo xtask screenshots`, `cargo xtask size`: the README's pictures and the artefacts' sizes.
//! - `cargo xtask widget`, `cargo xtask bundle [--widget]`: the widget's build, and what
//!   `worker/wrangler.toml`'s build commands run.

use std::process::ExitCode;

mod bench;
mod build;
mod chaos;
mod chrome;
mod dev;
mod fuzz;
mod install;
mod names;
mod node;
mod pack;
mod run;
mod setup;
mod size;
mod test;
mod tools;

const USAGE: &str = "usage: cargo xtask <command> [flags]
  setup   [--dev]: install the pinned tools, skipping what is present: for dev the wasm32 target,
          wasm-bindgen-cli, worker-build, Node >= 22.12 (yours, or npm's) and the worker's npm
          packages; for test (not with --dev) Chromium, ChromeDriver, CJK fonts (Debian's, with
          apt-get when root; else it says what to install; CHROME and CHROMEDRIVER name your
          own) and the tests' npm packages
  test    setup, then cargo fmt --check, clippy -D warnings, the wasm builds, every test
  dev     [--worker-port 8787] [--sim-port 8788] [--allow-origin URL]...: simulator + worker +
          demo shop until Ctrl-C; the widget may be embedded by the worker's origin, ALLOWED_ORIGINS
          (comma-separated) and each --allow-origin (installs only the dev tools; never needs root)
  screenshots  run the browser test and copy its screenshots to docs/
  size    build the release widget and worker; print NAME raw=N gzip=N brotli=N per artefact;
          fails when the widget's files are over 40,000 bytes brotli
  widget  build the widget into www/pkg (cargo, wasm-bindgen, wasm-opt)
  bundle  [--widget]: what wrangler runs as its build command (in worker/): worker-build into
          worker/build; with --widget (staging, production) the widget first, then its files
          and www/_headers copied into worker/build/widget
  bench   [--quick]: signing, worker overhead, upstream economy, widget timings, sizes, and the
          paid checkouts a minute one merchant sustains (capacity)
  chaos   [--quick] [--strict] [--abuser]: checkouts through a failing gateway and a worker
          restart, reconciled (--strict: the gateway's strictest readings); with --abuser, one
          client flooding pay and status with one session's secret and one client paying on
          many sessions, beside honest shoppers (target/chaos/abuse.json)
  fuzz    [--seconds 30]: every cargo-fuzz target for a bounded time
  pack    [--no-build]: the widget as the npm package @qfpay-edge/checkout in target/pack/;
          prints the tarball's path last";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("setup") => match flags(&args[1..], &["--dev"]) {
            Ok(f) if f.contains(&"--dev") => setup::dev(),
            Ok(_) => setup::all(),
            Err(e) => return usage_error(&e),
        },
        Some("test") => test::all(),
        Some("dev") => dev::run_dev(&args[1..]),
        Some("screenshots") => build::screenshots(),
        Some("widget") => match flags(&args[1..], &[]) {
            Ok(_) => build::widget(),
            Err(e) => return usage_error(&e),
        },
        Some("bundle") => match flags(&args[1..], &["--widget"]) {
            Ok(f) => build::bundle(f.contains(&"--widget")),
            Err(e) => return usage_error(&e),
        },
        Some("size") => size::report(),
        Some("bench") => match flags(&args[1..], &["--quick"]) {
            Ok(f) => bench::all(f.contains(&"--quick")),
            Err(e) => return usage_error(&e),
        },
        Some("chaos") => match flags(&args[1..], &["--quick", "--abuser", "--strict"]) {
            Ok(f) => chaos::all(f.contains(&"--quick"), f.contains(&"--abuser"), f.contains(&"--strict")),
            Err(e) => return usage_error(&e),
        },
        Some("fuzz") => fuzz::all(&args[1..]),
        Some("pack") => pack::run(&args[1..]),
        Some("-h") | Some("--help") | Some("help") => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        other => return usage_error(&format!("unknown command {:?}", other.unwrap_or(""))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: {err}");
            ExitCode::FAILURE
        }
    }
}

/// The flags of a command, each one of `allowed`; anything else is an error naming it.
fn flags<'a>(args: &'a [String], allowed: &[&str]) -> Result<Vec<&'a str>, String> {
    args.iter()
        .map(|a| if allowed.contains(&a.as_str()) { Ok(a.as_str()) } else { Err(format!("unknown argument {a:?}")) })
        .collect()
}

/// Says what was wrong, prints the usage, and exits 2 (a usage error, as for an unknown command).
fn usage_error(what: &str) -> ExitCode {
    eprintln!("xtask: {what}\n{USAGE}");
    ExitCode::from(2)
}

#[cfg(test)]
mod tests {
    use super::flags;

    #[test]
    fn unknown_flags_are_refused() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(flags(&args(&["--quick", "--abuser"]), &["--quick", "--abuser"]), Ok(vec!["--quick", "--abuser"]));
        assert_eq!(flags(&args(&[]), &["--quick"]), Ok(vec![]));
        assert!(flags(&args(&["--quick", "--abuse"]), &["--quick", "--abuser"]).unwrap_err().contains("--abuse"));
        assert!(flags(&args(&["quick"]), &["--quick"]).is_err());
    }
}
