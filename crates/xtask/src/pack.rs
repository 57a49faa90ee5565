//! `cargo xtask pack`: the widget as one npm package, `@qfpay-edge/checkout`, in `target/pack/`.
//!
//! One source for every file: the loader and its types stay in `www/` (the worker serves them
//! from its own origin, and its production build copies them), the widget's wasm-bindgen output
//! in `www/pkg/`, and what only the package has (its `package.json`, README and the React
//! entry) in `packages/checkout/`. This assembles them in a staging folder, writes the widget
//! crate's version into the staged `package.json` (the crate is the one place a version is
//! kept), and runs `npm pack`. The tarball's absolute path is the last line printed, for scripts
//! and for the end-to-end test that installs it.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::run::{root, step};

/// Files copied into the package: (from, relative to the workspace root; to, in the package).
const FILES: &[(&str, &str)] = &[
    ("packages/checkout/package.json", "package.json"),
    ("packages/checkout/README.md", "README.md"),
    ("packages/checkout/react.js", "react.js"),
    ("packages/checkout/react.d.ts", "react.d.ts"),
    ("www/qfpay-checkout.js", "qfpay-checkout.js"),
    ("www/qfpay-checkout.d.ts", "qfpay-checkout.d.ts"),
    ("www/qfpay-checkout-texts.d.ts", "qfpay-checkout-texts.d.ts"),
    ("www/pkg/qfpay_checkout.js", "pkg/qfpay_checkout.js"),
    ("www/pkg/qfpay_checkout.d.ts", "pkg/qfpay_checkout.d.ts"),
    ("www/pkg/qfpay_checkout_bg.wasm", "pkg/qfpay_checkout_bg.wasm"),
];

/// The placeholder in `packages/checkout/package.json` that the crate's version replaces.
const VERSION_PLACEHOLDER: &str = "\"version\": \"0.0.0\"";

/// `cargo xtask pack [--no-build]`: builds the widget (unless `--no-build`: use `www/pkg` as it
/// is, as the end-to-end test does after `cargo xtask test` built it), stages, packs, and prints
/// the tarball's path last.
pub fn run(args: &[String]) -> Result<(), String> {
    let no_build = match args {
        [] => false,
        [flag] if flag == "--no-build" => true,
        _ => return Err(format!("pack: unknown arguments {args:?} (usage: cargo xtask pack [--no-build])")),
    };
    if !no_build {
        crate::build::widget()?;
    }
    let tarball = pack(&root())?;
    println!("{}", tarball.display());
    Ok(())
}

/// Stages the package under `root/target/pack/stage` and packs it into `root/target/pack/`.
fn pack(root: &Path) -> Result<PathBuf, String> {
    let out = root.join("target/pack");
    let stage = out.join("stage");
    // A fresh stage each time: a file dropped from FILES must not linger in the package.
    if stage.exists() {
        std::fs::remove_dir_all(&stage).map_err(|e| format!("cannot empty {}: {e}", stage.display()))?;
    }
    for (from, to) in FILES {
        copy(&root.join(from), &stage.join(to))?;
    }
    let version = crate_version(&root.join("crates/checkout/Cargo.toml"))?;
    let manifest = stage.join("package.json");
    let text = read(&manifest)?;
    write(&manifest, &with_version(&text, &version)?)?;
    step(&format!("pack: npm pack of @qfpay-edge/checkout {version}"));
    let npm = Command::new("npm")
        .arg("pack")
        .arg("--pack-destination")
        .arg(&out)
        .current_dir(&stage)
        .env("PATH", crate::tools::path_with_node())
        .output()
        .map_err(|e| format!("cannot start npm pack: {e}"))?;
    if !npm.status.success() {
        return Err(format!("npm pack failed ({}): {}", npm.status, String::from_utf8_lossy(&npm.stderr)));
    }
    // npm prints the tarball's file name as its last line of standard output.
    let stdout = String::from_utf8_lossy(&npm.stdout);
    let name = stdout.lines().rev().find(|l| !l.trim().is_empty()).map(str::trim).unwrap_or_default();
    let tarball = out.join(name);
    if name.is_empty() || !name.ends_with(".tgz") || !tarball.is_file() {
        return Err(format!("npm pack did not name a tarball in target/pack (it printed {stdout:?})"));
    }
    Ok(tarball)
}

/// The `version` of a crate's `[package]`, from its Cargo.toml.
fn crate_version(manifest: &Path) -> Result<String, String> {
    read(manifest)?
        .lines()
        .take_while(|l| !l.starts_with('[') || l.trim() == "[package]")
        .find_map(|l| l.strip_prefix("version = \"").and_then(|rest| rest.strip_suffix('"')))
        .map(str::to_owned)
        .ok_or_else(|| format!("{}: no `version = \"...\"` in [package]", manifest.display()))
}

/// `package.json`'s text with its placeholder version replaced by `version`; an error names the
/// field when the placeholder is not there exactly once.
fn with_version(text: &str, version: &str) -> Result<String, String> {
    if text.matches(VERSION_PLACEHOLDER).count() != 1 {
        return Err(format!("packages/checkout/package.json: `version` must be the placeholder {VERSION_PLACEHOLDER} (once); the widget crate's version replaces it"));
    }
    let replaced = text.replace(VERSION_PLACEHOLDER, &format!("\"version\": \"{version}\""));
    let parsed: serde_json::Value =
        serde_json::from_str(&replaced).map_err(|e| format!("packages/checkout/package.json: {e}"))?;
    if parsed["version"] != version {
        return Err("packages/checkout/package.json: `version` is not a top-level field".into());
    }
    Ok(replaced)
}

fn copy(from: &Path, to: &Path) -> Result<(), String> {
    if !from.is_file() {
        let hint = if from.starts_with(root().join("www/pkg")) { " (build the widget: cargo xtask pack)" } else { "" };
        return Err(format!("pack: {} is missing{hint}", from.display()));
    }
    if let Some(dir) = to.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    std::fs::copy(from, to).map(|_| ()).map_err(|e| format!("cannot copy {} to {}: {e}", from.display(), to.display()))
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_comes_from_the_widget_crate() {
        let text = "{\n  \"name\": \"x\",\n  \"version\": \"0.0.0\"\n}\n";
        let out = with_version(text, "1.2.3").unwrap();
        assert!(out.contains("\"version\": \"1.2.3\""), "{out}");
        assert!(with_version("{\"version\": \"9.9.9\"}", "1.2.3").unwrap_err().contains("version"));
        let manifest = root().join("crates/checkout/Cargo.toml");
        let version = crate_version(&manifest).unwrap();
        assert!(version.split('.').count() == 3, "{version}");
    }

    #[test]
    fn every_packaged_source_file_is_listed_in_package_json() {
        let manifest: serde_json::Value =
            serde_json::from_str(&read(&root().join("packages/checkout/package.json")).unwrap()).unwrap();
        let listed: Vec<&str> = manifest["files"].as_array().unwrap().iter().filter_map(|v| v.as_str()).collect();
        for (_, to) in FILES.iter().filter(|(_, to)| *to != "package.json") {
            assert!(listed.contains(to), "package.json `files` lacks {to}");
        }
        assert_eq!(listed.len(), FILES.len() - 1, "package.json `files` lists a file xtask does not stage");
    }
}
