//! Crash points for the fault run: with `FAULT_POINTS=after_payment_recorded=0.1,...` (only with
//! `QFPAY_ENV=local`; a configuration error anywhere else), the worker dies right after the
//! named write, with that chance, as an isolate killed mid-request would: the request (or the
//! settler's step) ends there with an error and nothing after the write runs. Not a panic: a
//! panicking wasm instance stays broken under `wrangler dev`, where Cloudflare would start a
//! fresh isolate, so a panic would test the local runtime rather than the worker. The chaos run sets
//! them and checks that every money obligation is still kept: nothing lost, nothing stuck, every
//! double payment refunded.

use checkout_api::{ApiError, ErrorCode};

use crate::app::App;

/// The writes after which the worker can be made to die.
pub const POINTS: [&str; 4] = [
    // The attempt is in D1; the gateway has not heard of it.
    "after_attempt_recorded",
    // A payment (first or second, with its event and owed refund) is in D1; the other attempts
    // are not closed yet, the second payment's refund not sent.
    "after_payment_recorded",
    // A merchant's refund is reserved; it is not sent yet.
    "after_refund_reserved",
    // An order was ended at the gateway and the attempt recorded so; its session not finished.
    "after_order_ended",
];

/// Reads `FAULT_POINTS`: `NAME=CHANCE` pairs (chance 0 to 1), comma-separated; the error names
/// the entry and the rule.
pub fn parse(text: &str) -> Result<Vec<(String, f64)>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|entry| {
            let (name, chance) = entry.split_once('=').ok_or_else(|| format!("{entry:?} is not NAME=CHANCE"))?;
            if !POINTS.contains(&name.trim()) {
                return Err(format!("{name:?} is not one of {}", POINTS.join(", ")));
            }
            let chance: f64 = chance
                .trim()
                .parse()
                .ok()
                .filter(|c| (0.0..=1.0).contains(c))
                .ok_or_else(|| format!("{entry:?}: CHANCE must be a number from 0 to 1"))?;
            Ok((name.trim().to_owned(), chance))
        })
        .collect()
}

/// Dies here, with the configured chance for `point` (never without `FAULT_POINTS`): an error
/// that ends the request or the settler's step.
pub fn crash_point(app: &App<'_>, point: &'static str) -> Result<(), ApiError> {
    let Some((_, chance)) = app.settings.fault_points.iter().find(|(name, _)| name == point) else { return Ok(()) };
    if crate::random::unit() < *chance {
        worker::console_error!("fault point {point}: the worker dies here (FAULT_POINTS)");
        return Err(ApiError::new(ErrorCode::InternalError, format!("fault point {point}")));
    }
    Ok(())
}

/// Whether an error is a crash point's (then nothing that follows a real crash may run: an
/// idempotency key stays taken, say).
pub fn is_crash(e: &ApiError) -> bool {
    e.message.starts_with("fault point ")
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn points_and_chances_are_checked() {
        assert_eq!(parse("after_attempt_recorded=0.5").unwrap(), [("after_attempt_recorded".to_owned(), 0.5)]);
        assert!(parse("").unwrap().is_empty());
        assert!(parse("after_lunch=0.1").unwrap_err().contains("after_attempt_recorded"));
        assert!(parse("after_order_ended=2").unwrap_err().contains("0 to 1"));
        assert!(parse("after_order_ended").unwrap_err().contains("NAME=CHANCE"));
    }
}
