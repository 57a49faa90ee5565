//! Human output of the worker's answers: amounts with their currency's exponent, times in
//! RFC 3339 UTC, aligned columns. Read from the JSON leniently (a field the worker adds or
//! drops shows as `-`), so an older CLI still prints a newer worker's answers.
//!
//! Text from the worker (metadata, references, refund reasons, error messages) is the
//! merchant's or a shopper's words and may hold terminal control sequences: the human output
//! escapes control characters (`\u{1b}`), so nothing printed can move the cursor, clear the
//! screen or disguise a line. `--json` prints the worker's bytes, which JSON already escapes.

use serde_json::Value;

use crate::api::Target;
use crate::time;

/// Prints `text` on stdout with the key redacted (the worker never echoes it; this makes sure).
pub fn print(target: &Target, text: &str) {
    println!("{}", target.redact(text.trim_end_matches('\n')));
}

/// `3800` HKD as `38.00 HKD`; a currency the tables do not know keeps its minor units.
pub fn amount(minor: u64, currency: &str) -> String {
    match qfpay::tables::currency(currency) {
        Some(info) => format!("{} {currency}", info.format_minor(minor)),
        None => format!("{minor} (minor units) {currency}"),
    }
}

/// `text` with every control character (C0, DEL, C1) and every bidirectional override written
/// as a Rust-style escape (`\u{1b}`), so a terminal shows it rather than obeys it.
pub fn escape_controls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let bidi = matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}');
        if c.is_control() || bidi {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => escape_controls(s),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

/// A time: Unix seconds. A number past any time in seconds is an older worker's Unix
/// milliseconds, shown as the same instant rather than as the year 9999.
fn instant(v: &Value) -> String {
    let seconds = |n: u64| if n > checkout_api::views::MAX_UNIX_SECONDS { n / 1000 } else { n };
    v.as_u64().map_or_else(|| "-".into(), |n| time::format_seconds(seconds(n)))
}

fn money(v: &Value, currency: &str) -> String {
    v.as_u64().map_or_else(|| "-".into(), |a| amount(a, currency))
}

/// Rows of cells as aligned columns (two spaces apart; the last column is not padded).
pub fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| rows.iter().filter_map(|r| r.get(c)).map(|s| s.chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in rows {
        let last = row.len().saturating_sub(1);
        for (c, cell) in row.iter().enumerate() {
            if c == last {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<width$}  ", width = widths[c]));
            }
        }
        out.push('\n');
    }
    out
}

/// A session as `name  value` lines, then its attempts and refunds.
pub fn session(s: &Value) -> String {
    let currency = s["currency"].as_str().unwrap_or("");
    let pay_types = s["pay_types"].as_array().map(|a| a.iter().map(text).collect::<Vec<_>>().join(", "));
    let mut rows: Vec<Vec<String>> = vec![
        vec!["id".into(), text(&s["id"])],
        vec!["status".into(), text(&s["status"])],
        vec!["amount".into(), money(&s["amount"], currency)],
        vec!["refunded".into(), money(&s["amount_refunded"], currency)],
        vec!["reference".into(), text(&s["reference"])],
        vec!["goods".into(), text(&s["goods_name"])],
        vec!["created".into(), instant(&s["created_at"])],
        vec!["expires".into(), instant(&s["expires_at"])],
    ];
    if !s["paid_at"].is_null() {
        rows.push(vec!["paid".into(), instant(&s["paid_at"])]);
    }
    rows.push(vec!["pay types".into(), pay_types.unwrap_or_else(|| "-".into())]);
    for (name, field) in
        [("return url", "return_url"), ("client secret", "client_secret"), ("note", "client_secret_note")]
    {
        if !s[field].is_null() {
            rows.push(vec![name.into(), text(&s[field])]);
        }
    }
    if let Some(meta) = s["metadata"].as_object() {
        for (k, v) in meta {
            rows.push(vec![format!("metadata.{}", escape_controls(k)), text(v)]);
        }
    }
    let mut out = table(&rows);
    let attempts: Vec<Vec<String>> = list(&s["attempts"])
        .map(|a| {
            vec![text(&a["id"]), text(&a["pay_type"]), text(&a["status"]), instant(&a["created_at"]), text(&a["syssn"])]
        })
        .collect();
    if !attempts.is_empty() {
        out.push_str("attempts:\n");
        out.push_str(&indent(&table(&attempts)));
    }
    let refunds: Vec<Vec<String>> = list(&s["refunds"]).map(|r| refund_row(r, currency)).collect();
    if !refunds.is_empty() {
        out.push_str("refunds:\n");
        out.push_str(&indent(&table(&refunds)));
    }
    out
}

fn list(v: &Value) -> impl Iterator<Item = &Value> {
    v.as_array().into_iter().flatten()
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}

/// A refund's cells: id, amount, status, created, reason.
pub fn refund_row(r: &Value, currency: &str) -> Vec<String> {
    let reason = if r["automatic"] == true { "automatic".into() } else { text(&r["reason"]) };
    vec![text(&r["id"]), money(&r["amount"], currency), text(&r["status"]), instant(&r["created_at"]), reason]
}

/// The header and one row per session for `sessions list`.
pub fn session_rows(sessions: &[Value]) -> Vec<Vec<String>> {
    let header = ["ID", "STATUS", "AMOUNT", "REFUNDED", "CREATED", "REFERENCE"].map(String::from).to_vec();
    let rows = sessions.iter().map(|s| {
        let currency = s["currency"].as_str().unwrap_or("");
        vec![
            text(&s["id"]),
            text(&s["status"]),
            money(&s["amount"], currency),
            money(&s["amount_refunded"], currency),
            instant(&s["created_at"]),
            text(&s["reference"]),
        ]
    });
    std::iter::once(header).chain(rows).collect()
}

/// One event as `events tail` prints it: id, type, created, session, refund, amount (the
/// refund's for refund events, else the session's).
pub fn event_line(e: &Value) -> String {
    let session = &e["data"]["session"];
    let refund = &e["data"]["refund"];
    let currency = session["currency"].as_str().unwrap_or("");
    let amount =
        if refund.is_null() { money(&session["amount"], currency) } else { money(&refund["amount"], currency) };
    let created = instant(&e["created"]);
    format!(
        "{:<28}  {:<32}  {created}  {:<28}  {:<28}  {amount}",
        text(&e["id"]),
        text(&e["type"]),
        text(&session["id"]),
        text(&refund["id"]),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn amounts_use_the_currency_exponent() {
        assert_eq!(amount(3800, "HKD"), "38.00 HKD");
        assert_eq!(amount(5, "HKD"), "0.05 HKD");
        assert_eq!(amount(1500, "JPY"), "1500 JPY");
        assert_eq!(amount(1500, "XYZ"), "1500 (minor units) XYZ");
    }

    #[test]
    fn control_characters_from_the_worker_are_shown_not_obeyed() {
        assert_eq!(escape_controls("tea\u{1b}[2J\r\nbun\u{9b}\u{202e}"), "tea\\u{1b}[2J\\r\\nbun\\u{9b}\\u{202e}");
        assert_eq!(escape_controls("奶茶 café"), "奶茶 café");
        let s = json!({"id": "cs_1", "metadata": {"k\u{1b}]0;x\u{7}": "v\u{1b}[31m"},
            "refunds": [{"id": "re_1", "amount": 1, "reason": "r\u{1b}[1A"}]});
        let out = session(&s);
        assert!(!out.chars().any(|c| c.is_control() && c != '\n'), "{out:?}");
        assert!(out.contains("metadata.k\\u{1b}]0;x\\u{7}  v\\u{1b}[31m"), "{out}");
        assert!(out.contains("r\\u{1b}[1A"), "{out}");
        let e = json!({"id": "evt\u{1b}[K", "type": "t", "data": {"session": {"id": "cs\u{8}"}}});
        assert!(!event_line(&e).chars().any(char::is_control), "{}", event_line(&e));
    }

    #[test]
    fn tables_align_columns() {
        let rows = vec![vec!["a".into(), "bbb".into(), "c".into()], vec!["aaaa".into(), "b".into(), "cc".into()]];
        assert_eq!(table(&rows), "a     bbb  c\naaaa  b    cc\n");
    }

    #[test]
    fn a_session_reads_as_aligned_lines() {
        let s = json!({"id": "cs_1", "status": "paid", "amount": 3800, "currency": "HKD", "amount_refunded": 1000,
            "reference": "order-1", "goods_name": "Milk tea", "created_at": 1_769_817_600u64,
            "expires_at": 1_769_819_400u64, "paid_at": 1_769_817_660u64, "pay_types": ["800201"],
            "attempts": [{"id": "pa_1", "pay_type": "800201", "status": "paid", "created_at": 1_769_817_601u64}],
            "refunds": [{"id": "re_1", "amount": 1000, "status": "succeeded", "automatic": false,
                "reason": "no bun", "created_at": 1_769_817_700u64}]});
        let out = session(&s);
        assert!(
            out.starts_with("id         cs_1\nstatus     paid\namount     38.00 HKD\nrefunded   10.00 HKD\n"),
            "{out}"
        );
        assert!(out.contains("created    2026-01-31T00:00:00Z\n"), "{out}");
        assert!(out.contains("paid       2026-01-31T00:01:00Z\n"), "{out}");
        assert!(out.contains("attempts:\n  pa_1  800201  paid  2026-01-31T00:00:01Z  -\n"), "{out}");
        assert!(out.contains("refunds:\n  re_1  10.00 HKD  succeeded  2026-01-31T00:01:40Z  no bun\n"), "{out}");
        assert!(out.contains("expires    2026-01-31T00:30:00Z\n"), "{out}");
        // An older worker's milliseconds show the same instants.
        let mut older = s.clone();
        for (field, ms) in
            [("created_at", 1_769_817_600_000u64), ("expires_at", 1_769_819_400_999), ("paid_at", 1_769_817_660_000)]
        {
            older[field] = ms.into();
        }
        older["attempts"][0]["created_at"] = 1_769_817_601_000u64.into();
        older["refunds"][0]["created_at"] = 1_769_817_700_000u64.into();
        assert_eq!(session(&older), out);
    }

    #[test]
    fn an_event_line_names_its_objects_and_amount() {
        let e = json!({"id": "evt_1", "type": "refund.succeeded", "created": 1_769_817_600u64,
            "data": {"session": {"id": "cs_1", "currency": "HKD", "amount": 3800},
                     "refund": {"id": "re_1", "amount": 1000}}});
        let line = event_line(&e);
        assert!(line.starts_with("evt_1 "), "{line}");
        assert!(line.contains(" refund.succeeded ") && line.contains(" 2026-01-31T00:00:00Z "), "{line}");
        assert!(line.contains(" cs_1 ") && line.contains(" re_1 ") && line.ends_with(" 10.00 HKD"), "{line}");
    }
}
