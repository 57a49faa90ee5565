//! The command line: `cargo xtask chaos` passes its flags through.

/// How to call this binary.
pub const USAGE: &str = "usage: qfpay-chaos [--quick] [--strict] [--abuser]
  --quick   fewer shoppers and shorter waits (the run in `cargo xtask test`)
  --strict  the gateway's strictest readings: one order number per query, answers signed over
            the raw body (the worker enforcing it)
  --abuser  instead of the fault run: abusers (one session's secret flooding pay and status,
            and one client starting payments on many sessions) while honest shoppers check
            out; writes target/chaos/abuse.json";

/// What the command line asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Args {
    /// `--quick`: the short run.
    pub quick: bool,
    /// `--abuser`: the abuser run instead of the fault run.
    pub abuser: bool,
    /// `--strict`: the simulator's strictest switches where QFPay's documentation is silent.
    pub strict: bool,
}

/// Reads the flags; any other argument is an error naming it.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Args, String> {
    let mut out = Args::default();
    for arg in args {
        match arg.as_str() {
            "--quick" => out.quick = true,
            "--abuser" => out.abuser = true,
            "--strict" => out.strict = true,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_read_and_unknown_ones_refused() {
        let args = |a: &[&str]| parse(a.iter().map(|s| s.to_string()));
        assert_eq!(args(&[]), Ok(Args::default()));
        assert_eq!(args(&["--abuser", "--quick"]), Ok(Args { quick: true, abuser: true, strict: false }));
        assert_eq!(args(&["--strict"]), Ok(Args { strict: true, ..Args::default() }));
        assert!(args(&["--quik"]).unwrap_err().contains("--quik"));
    }
}
