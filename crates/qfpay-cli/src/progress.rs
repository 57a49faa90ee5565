//! Progress of a wait, on stderr (stdout stays the command's answer, fit for pipes and
//! `--json`): a countdown redrawn in place on a terminal, one line per wait otherwise.

use std::io::{IsTerminal, Write};
use std::time::Duration;

/// Says why, then waits `seconds`, counting down.
pub fn countdown(why: &str, seconds: u64) {
    let mut err = std::io::stderr();
    if !err.is_terminal() {
        let _ = writeln!(err, "qfpay: {why}: waiting {seconds} s");
        std::thread::sleep(Duration::from_secs(seconds));
        return;
    }
    for left in (1..=seconds).rev() {
        let _ = write!(err, "\r\x1b[2Kqfpay: {why}: {left} s ");
        let _ = err.flush();
        std::thread::sleep(Duration::from_secs(1));
    }
    let _ = write!(err, "\r\x1b[2K");
    let _ = err.flush();
}

/// A one-line status of a longer wait (`closing... 12 s`), redrawn on a terminal; elsewhere
/// printed only when `changed`, so logs get one line per change rather than one per poll.
pub fn status(line: &str, changed: bool) {
    let mut err = std::io::stderr();
    if err.is_terminal() {
        let _ = write!(err, "\r\x1b[2Kqfpay: {line}");
        let _ = err.flush();
    } else if changed {
        let _ = writeln!(err, "qfpay: {line}");
    }
}

/// Ends a [`status`] line on a terminal.
pub fn done() {
    let mut err = std::io::stderr();
    if err.is_terminal() {
        let _ = writeln!(err);
    }
}
