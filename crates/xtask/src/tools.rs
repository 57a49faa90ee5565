//! Every pinned tool version and where each tool is found, in one place. The workspace's
//! `wasm-bindgen = "=0.2.130"` pin (root Cargo.toml) must equal [`WASM_BINDGEN`]; a test below
//! checks it.

use std::path::PathBuf;

use crate::run::root;

/// wasm-bindgen CLI (with `wasm-bindgen-test-runner`); must equal the crate pin in the root
/// Cargo.toml. It serves both wasm builds: the widget directly, the worker through worker-build.
pub const WASM_BINDGEN: &str = "0.2.130";
/// worker-build, matching the `worker` crate 0.8.x (it writes the worker's JavaScript entry).
pub const WORKER_BUILD: &str = "0.8.7";
/// Node.js installed from npm when the user's is older than [`crate::node::MIN_NODE`].
pub const NODE: &str = "22.23.3";

/// Where tools installed into the project live (git-ignored).
pub fn tools_dir() -> PathBuf {
    root().join(".tools")
}

/// The folder with the worker's `package.json` (wrangler, esbuild, binaryen).
pub fn worker_dir() -> PathBuf {
    root().join("worker")
}

/// The folder with the tests' `package.json` (TypeScript, esbuild, OpenAPI tools).
pub fn tests_js_dir() -> PathBuf {
    root().join("tests/js")
}

/// `PATH` with the project's Node (when installed) and the worker's npm binaries first.
pub fn path_with_node() -> String {
    crate::node::path_with_node(&root())
}

/// binaryen's `wasm-opt` from the worker's npm packages (JavaScript and wasm: any platform).
pub fn wasm_opt() -> PathBuf {
    worker_dir().join("node_modules/.bin/wasm-opt")
}

/// Chromium: `$CHROME` when set (a Mac's Chrome, say), else Debian's.
pub fn chrome() -> PathBuf {
    env_path("CHROME", "/usr/bin/chromium")
}

/// ChromeDriver of the same version: `$CHROMEDRIVER` when set, else Debian's.
pub fn chromedriver() -> PathBuf {
    env_path("CHROMEDRIVER", "/usr/bin/chromedriver")
}

fn env_path(name: &str, default: &str) -> PathBuf {
    std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from).unwrap_or_else(|| default.into())
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
    fn npm_pins_are_the_toolchain_ones() {
        let package = std::fs::read_to_string(worker_dir().join("package.json")).unwrap();
        assert!(package.contains("\"wrangler\": \"4.164.0\""), "{package}");
        assert!(package.contains("\"binaryen\": \"132.0.0\""), "{package}");
        // wrangler's own esbuild version, pinned directly so `.bin/esbuild` is always there.
        assert!(package.contains("\"esbuild\": \"0.28.2\""), "{package}");
    }

    #[test]
    fn node_versions_compare_by_major_then_minor() {
        use crate::node::new_enough;
        assert!(new_enough("v22.12.0\n"));
        assert!(new_enough(&format!("v{NODE}")));
        assert!(new_enough("v24.1.0"));
        assert!(!new_enough("v22.11.9"));
        assert!(!new_enough("v20.20.2"));
        assert!(!new_enough("not a version"));
    }

    #[test]
    fn the_wrangler_build_uses_npm_tools_not_a_platform_path() {
        let toml = std::fs::read_to_string(worker_dir().join("wrangler.toml")).unwrap();
        assert!(!toml.contains("@esbuild/linux"), "wrangler.toml names a platform's esbuild");
        assert!(toml.contains("ESBUILD_BIN=./node_modules/.bin/esbuild"), "wrangler.toml must use npm's esbuild");
    }
}
