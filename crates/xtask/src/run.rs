//! Running commands with a progress line each, from the workspace root.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The workspace root (the parent of `crates/`).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).expect("crates/xtask sits two levels down").to_path_buf()
}

/// Prints a step line, so long runs show where they are.
pub fn step(text: &str) {
    println!("==> {text}");
}

/// Runs a command to completion with inherited output; an error names the command.
pub fn run(cmd: &mut Command) -> Result<(), String> {
    let shown = describe(cmd);
    step(&shown);
    let status = cmd.status().map_err(|e| format!("cannot start `{shown}`: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{shown}` failed ({status})"))
    }
}

/// Runs a command quietly and returns its stdout, or `None` when it cannot run or fails.
pub fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.stdin(Stdio::null()).stderr(Stdio::null()).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn describe(cmd: &Command) -> String {
    let program = Path::new(cmd.get_program());
    let name = program.file_name().unwrap_or(program.as_os_str());
    let mut parts = vec![name.to_string_lossy().into_owned()];
    parts.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    parts.join(" ")
}

/// What cargo reported building for one target: its files, and its executable for a binary.
pub struct Built {
    pub filenames: Vec<PathBuf>,
    pub executable: Option<PathBuf>,
}

/// `cargo build` with `args`, and what it built for the target named `target` of kind `kind`
/// (`bin`, `cdylib`: a bin and a library may share a name, as `qfpay` does), as cargo itself
/// reports it (so a `CARGO_TARGET_DIR` or a config's `target-dir` is followed). rustc's
/// messages and cargo's progress go to the terminal as usual (stderr is inherited); only the
/// JSON on stdout is read.
pub fn cargo_build(args: &[&str], target: &str, kind: &str) -> Result<Built, String> {
    let mut cmd = cargo();
    cmd.arg("build").args(args).args(["--message-format", "json-render-diagnostics"]);
    step(&format!("cargo build {}", args.join(" ")));
    let out = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !out.status.success() {
        return Err(format!("`cargo build {}` failed ({}); rustc's errors are above", args.join(" "), out.status));
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|msg| {
            msg["reason"] == "compiler-artifact"
                && msg["target"]["name"] == target
                && msg["target"]["kind"].as_array().is_some_and(|kinds| kinds.iter().any(|k| k == kind))
        })
        .map(|msg| Built {
            filenames: msg["filenames"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|f| f.as_str().map(PathBuf::from))
                .collect(),
            executable: msg["executable"].as_str().map(PathBuf::from),
        })
        .ok_or_else(|| format!("`cargo build {}` reported no {kind} {target}", args.join(" ")))
}

/// `cargo` with the workspace root as its directory.
pub fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root());
    cmd
}
