//! Each name exists once. docs/api.md's error table matches `ErrorCode` exactly, and no source
//! file writes a gateway status code or an API error code as a literal outside the tables
//! that define them (`crates/qfpay/src/tables/respcd.rs`, `crates/checkout-api/src/error.rs`):
//! everything else uses the names, so a reader and the compiler see the whole vocabulary.

use std::path::{Path, PathBuf};

use checkout_api::ErrorCode;
use qfpay::tables::RESP_CODES;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn the_readme_error_table_is_the_error_list() {
    let readme = std::fs::read_to_string(root().join("docs/api.md")).expect("docs/api.md");
    let rows: Vec<(u16, String)> = readme
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let status = cells.get(1)?.parse::<u16>().ok()?;
            let code = cells.get(2)?.strip_prefix('`')?.strip_suffix('`')?;
            Some((status, code.to_owned()))
        })
        .collect();
    let expected: Vec<(u16, String)> = ErrorCode::ALL.iter().map(|e| (e.status(), e.code().to_owned())).collect();
    assert_eq!(rows, expected, "docs/api.md's error table must list ErrorCode::ALL, in order");
}

/// Non-test Rust sources of the crates that run in production, with their test modules cut.
fn production_sources() -> Vec<(PathBuf, String)> {
    let dirs =
        ["worker/src", "crates/qfpay/src", "crates/checkout-api/src", "crates/checkout/src", "crates/qfpay-sim/src"];
    let mut out = Vec::new();
    for dir in dirs {
        collect(&root().join(dir), &mut out);
    }
    out.retain(|(path, _)| {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        name != "tests.rs" && !path.ends_with("tables/respcd.rs") && !path.ends_with("checkout-api/src/error.rs")
    });
    out.into_iter().map(|(p, text)| (p, without_tests(&text))).collect()
}

/// The text up to its first test-only item (`#[cfg(test)]`, `#[cfg(all(test, ...))]`).
fn without_tests(text: &str) -> String {
    let mut kept = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("#[cfg(") && trimmed.contains("test") {
            break;
        }
        kept.push(line);
    }
    kept.join("\n")
}

fn collect(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push((path.clone(), std::fs::read_to_string(&path).unwrap_or_default()));
        }
    }
}

/// Every string literal's content in `text` (good enough for our sources: no raw strings hold
/// these codes).
fn literals(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find('"') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('"') else { break };
        out.push(after[..end].to_owned());
        rest = &after[end + 1..];
    }
    out
}

#[test]
fn no_gateway_code_or_error_code_is_written_outside_its_table() {
    let sources = production_sources();
    assert!(sources.len() > 40, "the scan found the sources ({} files)", sources.len());
    let mut found = Vec::new();
    for (path, text) in &sources {
        for literal in literals(text) {
            let gateway = RESP_CODES.iter().any(|r| r.code == literal);
            let error = ErrorCode::parse(&literal).is_some();
            if gateway || error {
                found.push(format!("{}: \"{literal}\"", path.strip_prefix(root()).unwrap_or(path).display()));
            }
        }
    }
    assert!(found.is_empty(), "use RespCode::NAME or ErrorCode::Name instead of:\n{}", found.join("\n"));
}

#[test]
fn the_scan_can_fail() {
    assert_eq!(literals(r#"x == "1260" || y("already_paid")"#), vec!["1260", "already_paid"]);
    assert!(RESP_CODES.iter().any(|r| r.code == "1260") && ErrorCode::parse("already_paid").is_some());
    assert_eq!(without_tests("a\n#[cfg(all(test, not(x)))]\nb"), "a");
}
