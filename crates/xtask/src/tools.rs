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
/// Chrome and ChromeDriver (`$CHROME`, `$CHROMEDRIVER`, else Debian's); kept in `chrome.rs`,
/// which the end-to-end harness includes alone.
pub use crate::chrome::{chrome, chromedriver};
/// Node.js installed from npm when the user's is older than [`crate::node::MIN_NODE`]; kept in
/// `node.rs`, which the end-to-end harness includes alone.
pub use crate::node::NODE;

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

    /// The `[section]` headers of wrangler.toml and the `key = value` lines under each.
    fn wrangler_sections() -> Vec<(String, Vec<String>)> {
        let toml = std::fs::read_to_string(worker_dir().join("wrangler.toml")).unwrap();
        let mut sections = vec![(String::new(), Vec::new())];
        for line in toml.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
            if line.starts_with('[') {
                sections.push((line.to_string(), Vec::new()));
            } else {
                sections.last_mut().unwrap().1.push(line.to_string());
            }
        }
        sections
    }

    fn lines_of(sections: &[(String, Vec<String>)], header: &str, key: &str) -> Vec<String> {
        let prefix = format!("{key} =");
        sections
            .iter()
            .filter(|(h, _)| h == header)
            .flat_map(|(_, lines)| lines.iter().filter(|l| l.starts_with(&prefix)).cloned())
            .collect()
    }

    /// Every build command is `cargo xtask bundle` (the steps live once, in build.rs): the
    /// local one without the widget, each deployment's with it (so a deploy ships the widget
    /// built from its own source); and every copy of `run_worker_first` (TOML cannot share one)
    /// is the same list.
    #[test]
    fn every_wrangler_environment_builds_with_xtask_and_routes_alike() {
        let sections = wrangler_sections();
        let envs: Vec<String> = sections
            .iter()
            .filter_map(|(h, _)| {
                h.strip_prefix("[env.")?.strip_suffix(']').filter(|e| !e.contains('.')).map(String::from)
            })
            .collect();
        assert_eq!(envs, ["staging", "production"], "the deployment environments");
        assert_eq!(lines_of(&sections, "[build]", "command"), [r#"command = "cargo xtask bundle""#]);
        let run_first = lines_of(&sections, "[assets]", "run_worker_first");
        assert_eq!(run_first.len(), 1, "[assets] needs run_worker_first");
        for env in &envs {
            let command = lines_of(&sections, &format!("[env.{env}.build]"), "command");
            assert_eq!(command, [r#"command = "cargo xtask bundle --widget""#], "[env.{env}.build]");
            let assets = lines_of(&sections, &format!("[env.{env}.assets]"), "run_worker_first");
            assert_eq!(assets, run_first, "[env.{env}.assets] run_worker_first must equal the top level's");
            let dir = lines_of(&sections, &format!("[env.{env}.assets]"), "directory");
            assert_eq!(dir, [r#"directory = "build/widget""#], "[env.{env}.assets] serves only the widget");
        }
        let all_commands = sections.iter().flat_map(|(_, l)| l.iter()).filter(|l| l.starts_with("command ="));
        assert_eq!(all_commands.count(), 1 + envs.len(), "a build command outside [build] and the envs' builds");
    }

    /// The top level is never deployed: its name is not production's.
    #[test]
    fn the_local_worker_is_not_named_like_a_deployment() {
        let sections = wrangler_sections();
        assert_eq!(lines_of(&sections, "", "name"), [r#"name = "qfpay-checkout-local""#]);
        assert_eq!(lines_of(&sections, "[env.production]", "name"), [r#"name = "qfpay-checkout""#]);
        assert_eq!(lines_of(&sections, "[env.staging]", "name"), [r#"name = "qfpay-checkout-staging""#]);
    }

    /// A `.tools/node` at another version than the pin is not put on `PATH`; at the pin it is,
    /// first. (setup asks the same [`crate::node::project_bin_dir`], so both agree.)
    #[test]
    fn only_the_pinned_project_node_comes_first_on_path() {
        use crate::node::{path_with_node, project_bin_dir};
        use std::os::unix::fs::PermissionsExt;
        let root = std::env::temp_dir().join(format!("xtask-node-pin-{}", std::process::id()));
        let package = crate::node::package_name().expect("npm has a Node package for the machine the tests run on");
        let bin = root.join(".tools/node/node_modules").join(package).join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let fake = |version: &str| {
            std::fs::write(bin.join("node"), format!("#!/bin/sh\necho v{version}\n")).unwrap();
            std::fs::set_permissions(bin.join("node"), std::fs::Permissions::from_mode(0o755)).unwrap();
        };
        let first = |root: &std::path::Path| std::env::split_paths(&path_with_node(root)).next().unwrap();
        fake("20.19.0");
        assert_eq!(project_bin_dir(&root), None, "a stale .tools/node must not count");
        assert_ne!(first(&root), bin, "a stale .tools/node must not come first on PATH");
        fake(NODE);
        assert_eq!(project_bin_dir(&root), Some(bin.clone()));
        assert_eq!(first(&root), bin);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn empty_browser_variables_mean_debians_paths() {
        // The one rule xtask and the harness share (chrome.rs): empty is unset.
        use crate::chrome::{path_or_default, CHROME, CHROMEDRIVER};
        assert_eq!(CHROME.1, "/usr/bin/chromium");
        assert_eq!(CHROMEDRIVER.1, "/usr/bin/chromedriver");
        assert_eq!(path_or_default(None, CHROME.1), PathBuf::from(CHROME.1));
        assert_eq!(path_or_default(Some("".into()), CHROME.1), PathBuf::from(CHROME.1));
        assert_eq!(path_or_default(Some("/opt/chrome/chrome".into()), CHROME.1), PathBuf::from("/opt/chrome/chrome"));
    }
}
