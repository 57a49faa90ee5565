//! Where Chrome and ChromeDriver are, in one place for `cargo xtask` and the end-to-end harness
//! (`tests/src/lib.rs` includes this file with `#[path]`, as it does `node.rs`, so it uses only
//! `std`).
//!
//! `$CHROME` and `$CHROMEDRIVER` name a machine's own (a Mac's Chrome, Chrome for Testing on
//! Ubuntu, whose Chromium is a snap); unset or empty, Debian's packages' paths.

use std::path::PathBuf;

/// An environment variable naming a path, and the path when it is unset or empty.
pub type Var = (&'static str, &'static str);

/// The variable naming Chrome, and Debian's `chromium` package's path when it is unset.
pub const CHROME: Var = ("CHROME", "/usr/bin/chromium");
/// The variable naming ChromeDriver (of Chrome's version), and Debian's `chromium-driver`'s path.
pub const CHROMEDRIVER: Var = ("CHROMEDRIVER", "/usr/bin/chromedriver");

/// Chrome: `$CHROME` when set and not empty, else Debian's Chromium.
pub fn chrome() -> PathBuf {
    env_path(CHROME)
}

/// ChromeDriver: `$CHROMEDRIVER` when set and not empty, else Debian's.
pub fn chromedriver() -> PathBuf {
    env_path(CHROMEDRIVER)
}

/// Whether the variable is set to something (then a missing file is the user's to fix, not a
/// package to install).
pub fn named_by_user((name, _): Var) -> bool {
    std::env::var_os(name).is_some_and(|v| !v.is_empty())
}

fn env_path((name, default): Var) -> PathBuf {
    path_or_default(std::env::var_os(name), default)
}

/// A variable's value as a path, where unset and empty alike mean `default`.
pub fn path_or_default(value: Option<std::ffi::OsString>, default: &str) -> PathBuf {
    value.filter(|v| !v.is_empty()).map(PathBuf::from).unwrap_or_else(|| default.into())
}
