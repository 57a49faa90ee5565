//! `cargo xtask chaos [--quick] [--abuser]`: the bounded fault run of `tests/src/bin/qfpay-chaos/`
//! (a short one runs in `cargo xtask test`): checkouts through a failing gateway, shoppers who
//! leave before paying or without waiting, a worker restart and a flaky webhook receiver, then
//! the settler's own work, reconciled. It writes `target/chaos/report.json` and exits non-zero
//! when a promise is broken.
//!
//! With `--strict` the simulator runs its strictest switches where QFPay's documentation is
//! silent (one order number per query, answers signed over the raw body) and the worker enforces
//! that reading. With `--abuser` it runs the abuser scenario instead: one client floods pay and
//! status with one session's secret, and one client (one address) starts payments on many
//! sessions created through the merchant API, beside honest shoppers; it writes
//! `target/chaos/abuse.json`.

use crate::run::{cargo, run};
use crate::{build, setup};

/// Builds what the run needs and runs it: the fault run, or with `abuser` the abuser run.
pub fn all(quick: bool, abuser: bool, strict: bool) -> Result<(), String> {
    // The dev half only: chaos drives the worker over HTTP (no browser, no tests/js).
    setup::dev()?;
    build::widget()?;
    build::worker()?;
    if abuser {
        run_abuser(quick)
    } else {
        run_only(quick, true, strict)
    }
}

/// Runs the chaos binary's abuser scenario (`--abuser`; release, since the abusers' floods are
/// the load).
pub fn run_abuser(quick: bool) -> Result<(), String> {
    let mut cmd = cargo();
    cmd.args(["run", "-q", "-p", "e2e", "--bin", "qfpay-chaos", "--release", "--", "--abuser"]);
    if quick {
        cmd.arg("--quick");
    }
    run(&mut cmd)
}

/// Runs the chaos binary (`release` for the full run's load; debug is enough for CI's short one).
pub fn run_only(quick: bool, release: bool, strict: bool) -> Result<(), String> {
    let mut cmd = cargo();
    cmd.args(["run", "-q", "-p", "e2e", "--bin", "qfpay-chaos"]);
    if release {
        cmd.arg("--release");
    }
    cmd.arg("--");
    if quick {
        cmd.arg("--quick");
    }
    if strict {
        cmd.arg("--strict");
    }
    run(&mut cmd)
}
