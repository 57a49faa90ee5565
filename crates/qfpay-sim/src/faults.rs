//! Faults the simulator injects, for tests of everything that talks to it.
//!
//! Command-line syntax (`--faults`), comma-separated `name=value`:
//!
//! | name | value | effect |
//! |---|---|---|
//! | `latency` | ms | added to every gateway call |
//! | `spike` | share 0..1 | share of calls that get `spike-latency` more |
//! | `spike-latency` | ms | the extra latency of a spike (default 1500) |
//! | `5xx` | share | answered HTTP 503 without touching any order |
//! | `transient` | share | answered a transient respcd (1100, 1297, ...) without touching any order |
//! | `refund-5xx` | share | a refund call is answered HTTP 503 without touching any order, while every other call is served (a gateway whose refund route is down) |
//! | `answer-drop` | share | the call is carried out (an order may change), then its answer is lost: HTTP 503 |
//! | `answer-drop-first` | true/false | the first call of each distinct request is carried out and its answer lost; an identical retry is answered |
//! | `pending` | seconds | a paid order shows `1145` (processing) this long before `0000` |
//! | `notify-drop` | share | a notification attempt is lost (the retry schedule goes on) |
//! | `notify-repeat` | share | a notification is delivered twice |
//! | `notify-reorder` | share | a notification is held back 1-10 s so later ones overtake it |
//! | `notify-delay` | seconds | every notification waits this long first |
//! | `bad-answer-signature` | share | a signed answer carries a wrong `X-QF-SIGN` (clients must treat it as no answer) |
//! | `duplicate-exists` | `true`/`false` | an identical retry is answered `1102` (payment) or `2011` (refund) instead of the original answer |
//! | `refund-pending` | seconds | a refund answers `1145` and stays in progress this long before `0000` |
//! | `bad-pay-url` | `true`/`false` | a WAP/web payment's `pay_url` is a `javascript:` URL (clients must never follow it) |
//! | `close-latency` | ms | added to every close and reversal only (a gateway slow to end orders) |
//! | `reversal-crosses-payment` | `true`/`false` | a reversal of an unpaid order first lets it be paid (its notification sent and acknowledged), then reverses it anyway (`0000`, `cancel` 1): the payment and the reversal crossed inside the gateway, and the money goes back |
//!
//! The same names, with `_` for `-`, are the JSON fields of `POST /sim/faults`. Some of these
//! are not failures but things a real gateway may do that the default simulator does not
//! (`duplicate-exists`, `refund-pending`): clients must cope with them all the same.

use serde::{Deserialize, Serialize};

/// The fault settings in force.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Milliseconds added to every gateway call.
    pub latency: u64,
    /// Share of gateway calls that get a latency spike.
    pub spike: f64,
    /// Milliseconds of a spike (1500 when zero).
    pub spike_latency: u64,
    /// Share of gateway calls answered HTTP 503.
    #[serde(rename = "5xx")]
    pub http_5xx: f64,
    /// Share of refund calls answered HTTP 503, other calls served as usual.
    pub refund_5xx: f64,
    /// Share of gateway calls answered a transient respcd.
    pub transient: f64,
    /// Share of gateway calls carried out whose answer is then lost (HTTP 503).
    pub answer_drop: f64,
    /// The first call of each distinct request (same path and body) is carried out and its
    /// answer lost; an identical retry is answered (replayed, or "exists").
    pub answer_drop_first: bool,
    /// Simulated seconds a paid order stays "processing" first.
    pub pending: u64,
    /// Share of notification attempts lost.
    pub notify_drop: f64,
    /// Share of notifications delivered twice.
    pub notify_repeat: f64,
    /// Share of notifications held back so later ones overtake them.
    pub notify_reorder: f64,
    /// Simulated seconds every notification waits first.
    pub notify_delay: u64,
    /// Share of signed answers sent with a wrong `X-QF-SIGN`.
    pub bad_answer_signature: f64,
    /// Answer an identical retry "order exists" (`1102`/`2011`) instead of replaying the original.
    pub duplicate_exists: bool,
    /// Simulated seconds a refund stays in progress (`1145`) before it succeeds.
    pub refund_pending: u64,
    /// Answer WAP/web payments with a `javascript:` `pay_url`, as a compromised or buggy
    /// gateway might: a client must refuse to send a shopper there.
    pub bad_pay_url: bool,
    /// A reversal of an order not yet paid pays it first (notification acknowledged), then
    /// reverses it (`0000`). QFPay's documentation says a paid order is never reversed; this is
    /// the race of a payment landing while the reversal is on its way, which a client that
    /// recorded the payment must still survive.
    pub reversal_crosses_payment: bool,
    /// Milliseconds added to every close and reversal, on top of `latency`.
    pub close_latency: u64,
}

/// Every fault name `--faults` knows, for the error that meets an unknown one.
const NAMES: [&str; 19] = [
    "latency",
    "spike",
    "spike-latency",
    "5xx",
    "refund-5xx",
    "transient",
    "answer-drop",
    "answer-drop-first",
    "pending",
    "notify-drop",
    "notify-repeat",
    "notify-reorder",
    "notify-delay",
    "bad-answer-signature",
    "duplicate-exists",
    "refund-pending",
    "bad-pay-url",
    "reversal-crosses-payment",
    "close-latency",
];

impl Faults {
    /// Parses the `--faults` syntax; the error names the part that is wrong.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let mut f = Faults::default();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, value) = part.split_once('=').ok_or_else(|| format!("fault {part:?} is not name=value"))?;
            let name = name.trim().replace('_', "-");
            let value = value.trim();
            match name.as_str() {
                "latency" => f.latency = millis(&name, value)?,
                "spike" => f.spike = share(&name, value)?,
                "spike-latency" => f.spike_latency = millis(&name, value)?,
                "5xx" => f.http_5xx = share(&name, value)?,
                "refund-5xx" => f.refund_5xx = share(&name, value)?,
                "transient" => f.transient = share(&name, value)?,
                "answer-drop" => f.answer_drop = share(&name, value)?,
                "answer-drop-first" => f.answer_drop_first = switch(&name, value)?,
                "pending" => f.pending = seconds(&name, value)?,
                "notify-drop" => f.notify_drop = share(&name, value)?,
                "notify-repeat" => f.notify_repeat = share(&name, value)?,
                "notify-reorder" => f.notify_reorder = share(&name, value)?,
                "notify-delay" => f.notify_delay = seconds(&name, value)?,
                "bad-answer-signature" => f.bad_answer_signature = share(&name, value)?,
                "duplicate-exists" => f.duplicate_exists = switch(&name, value)?,
                "refund-pending" => f.refund_pending = seconds(&name, value)?,
                "bad-pay-url" => f.bad_pay_url = switch(&name, value)?,
                "reversal-crosses-payment" => f.reversal_crosses_payment = switch(&name, value)?,
                "close-latency" => f.close_latency = millis(&name, value)?,
                _ => return Err(format!("unknown fault {name:?}; known: {}", NAMES.join(", "))),
            }
        }
        f.check()?;
        Ok(f)
    }

    /// Checks that every share is within 0..=1.
    pub fn check(&self) -> Result<(), String> {
        let shares = [
            ("spike", self.spike),
            ("5xx", self.http_5xx),
            ("refund-5xx", self.refund_5xx),
            ("transient", self.transient),
            ("answer-drop", self.answer_drop),
            ("notify-drop", self.notify_drop),
            ("notify-repeat", self.notify_repeat),
            ("notify-reorder", self.notify_reorder),
            ("bad-answer-signature", self.bad_answer_signature),
        ];
        match shares.iter().find(|(_, v)| !(0.0..=1.0).contains(v)) {
            Some((name, v)) => Err(format!("fault {name} must be a share between 0 and 1 (got {v})")),
            None => Ok(()),
        }
    }
}

fn share(name: &str, value: &str) -> Result<f64, String> {
    value.parse::<f64>().map_err(|_| format!("fault {name} must be a number between 0 and 1 (got {value:?})"))
}

fn switch(name: &str, value: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "on" => Ok(true),
        "false" | "0" | "off" => Ok(false),
        _ => Err(format!("fault {name} must be true or false (got {value:?})")),
    }
}

fn millis(name: &str, value: &str) -> Result<u64, String> {
    let digits = value.strip_suffix("ms").unwrap_or(value);
    digits.parse().map_err(|_| format!("fault {name} must be milliseconds, e.g. 200ms (got {value:?})"))
}

fn seconds(name: &str, value: &str) -> Result<u64, String> {
    let digits = value.strip_suffix('s').unwrap_or(value);
    digits.parse().map_err(|_| format!("fault {name} must be seconds, e.g. 30s (got {value:?})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_syntax() {
        let f = Faults::parse(
            "5xx=0.1, transient=0.05,latency=20ms,notify-drop=0.2,notify_repeat=0.2,notify-delay=30s,pending=5",
        )
        .unwrap();
        assert_eq!(f.http_5xx, 0.1);
        assert_eq!(f.latency, 20);
        assert_eq!(f.notify_repeat, 0.2);
        assert_eq!(f.notify_delay, 30);
        assert_eq!(f.pending, 5);
        assert_eq!(Faults::parse("answer-drop=1").unwrap().answer_drop, 1.0);
        assert_eq!(Faults::parse("refund-5xx=1").unwrap().refund_5xx, 1.0);
        assert!(Faults::parse("answer-drop-first=true").unwrap().answer_drop_first);
        assert!(Faults::parse("bad-pay-url=true").unwrap().bad_pay_url);
        let f = Faults::parse("bad-answer-signature=0.5,duplicate-exists=true,refund-pending=30s").unwrap();
        assert_eq!((f.bad_answer_signature, f.duplicate_exists, f.refund_pending), (0.5, true, 30));
        assert!(!Faults::parse("duplicate_exists=off").unwrap().duplicate_exists);
    }

    #[test]
    fn errors_name_the_part() {
        assert!(Faults::parse("5xx=2").unwrap_err().contains("5xx"));
        assert!(Faults::parse("gremlins=1").unwrap_err().contains("gremlins"));
        assert!(Faults::parse("latency=fast").unwrap_err().contains("latency"));
        assert!(Faults::parse("latency").unwrap_err().contains("name=value"));
        assert!(Faults::parse("duplicate-exists=maybe").unwrap_err().contains("duplicate-exists"));
        assert!(Faults::parse("bad-answer-signature=1.5").unwrap_err().contains("bad-answer-signature"));
        assert!(Faults::parse("gremlins=1").unwrap_err().contains("refund-pending"), "the error lists the names");
        assert_eq!(Faults::parse("").unwrap(), Faults::default());
    }

    #[test]
    fn every_name_is_a_json_field_of_post_sim_faults() {
        let json = serde_json::to_value(Faults::default()).unwrap();
        let mut fields: Vec<String> = json.as_object().unwrap().keys().cloned().collect();
        let mut names: Vec<String> = NAMES.iter().map(|n| n.replace('-', "_")).collect();
        fields.sort();
        names.sort();
        assert_eq!(fields, names);
    }
}
