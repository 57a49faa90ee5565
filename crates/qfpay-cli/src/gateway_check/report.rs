//! The check's findings as lines for people or one JSON object, the worker settings they
//! lead to, and the problems that block going live. Pure: built from the findings, printed by
//! the caller, which exits 1 when there are problems.

use qfpay::sign::AnswerReading;
use qfpay::verdict::RowVerdict;
use qfpay::{Environment, SignType};
use serde_json::{json, Map, Value};

use super::answer_signature::{AnswerSignature, Finding};
use super::end_order::{Outcome, Tested};
use super::list_limit::ListLimit;
use super::signing::SignatureTypes;

/// The most numbers the worker puts in one query, whatever the gateway takes: a query answers
/// a page of at most this many rows.
const QUERY_BATCH_MAX: u32 = checkout_api::upstream::QUERY_BATCH as u32;
/// The worker's own `QFPAY_QUERY_LIST_MAX`, which works on any gateway: the setting when the
/// list could not be tested.
const QUERY_LIST_DEFAULT: u32 = 1;
/// The problem when SHA256 requests are refused: the worker signs nothing else.
pub const SHA256_REFUSED: &str =
    "this worker signs with SHA256, which the gateway refused; ask QFPay to enable SHA256 for the appcode";

/// Everything the check found.
#[derive(Debug, Clone)]
pub struct Report {
    /// The environment checked.
    pub environment: Environment,
    /// Its base URL.
    pub base_url: String,
    /// Which request signatures were accepted.
    pub signature_types: SignatureTypes,
    /// What the answers' signatures cover.
    pub answers: Finding,
    /// The longest query list; `None` when no order could be created to list last.
    pub list: Option<ListLimit>,
    /// Each enabled pay type's end.
    pub end_orders: Vec<Outcome>,
    /// Calls sent.
    pub calls: u32,
}

impl Report {
    /// What blocks going live, in words; empty when the worker can run against this gateway.
    /// The worker always signs its calls with SHA256, and no setting changes that.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.signature_types.accepted.contains(&SignType::Sha256) {
            out.push(SHA256_REFUSED.to_owned());
        }
        out
    }

    /// The worker settings, `NAME=VALUE`: only what differs from the worker's defaults or
    /// the documented table, plus the two findings the worker always needs.
    pub fn settings(&self) -> Vec<(&'static str, String)> {
        let list_max = self.list.as_ref().map_or(QUERY_LIST_DEFAULT, |l| l.max.min(QUERY_BATCH_MAX));
        let mut out = vec![
            ("QFPAY_ANSWER_SIGNATURE", self.answers.setting().to_owned()),
            ("QFPAY_QUERY_LIST_MAX", list_max.to_string()),
        ];
        let differing: Vec<String> = self
            .tested()
            .filter(|t| t.found != t.documented)
            .map(|t| format!("{}={}", t.info.code, t.found.name()))
            .collect();
        if !differing.is_empty() {
            out.push(("END_ORDER", differing.join(",")));
        }
        out
    }

    fn tested(&self) -> impl Iterator<Item = &Tested> {
        self.end_orders.iter().filter_map(|o| match o {
            Outcome::Tested(t) => Some(t),
            Outcome::Untested { .. } => None,
        })
    }

    /// The `--json` object.
    pub fn json(&self) -> Value {
        let mut end_order = Map::new();
        let mut untested = Map::new();
        for outcome in &self.end_orders {
            match outcome {
                Outcome::Tested(t) => {
                    end_order.insert(t.info.code.into(), json!(t.found.name()));
                }
                Outcome::Untested { info, why } => {
                    let documented = qfpay::tables::end_order(info.code).name();
                    untested.insert(info.code.into(), json!({"documented": documented, "why": why}));
                }
            }
        }
        let settings: Map<String, Value> = self.settings().into_iter().map(|(k, v)| (k.to_owned(), json!(v))).collect();
        let problems = self.problems();
        json!({
            "ready": problems.is_empty(),
            "problems": problems,
            "environment": self.environment.name(),
            "base_url": self.base_url,
            "signature_types": self.signature_types.accepted.iter().map(|t| t.header_value()).collect::<Vec<_>>(),
            "answer_signature": self.answers.signature.name(),
            "answer_sign_type": self.answers.sign_type.map(SignType::header_value),
            "query_list_max": self.list.as_ref().map(|l| l.max),
            "end_order": end_order,
            "untested": untested,
            "settings": settings,
            "calls": self.calls,
        })
    }

    /// One line per finding, one per problem, then the settings block.
    pub fn human(&self) -> String {
        let mut lines = vec![
            format!("environment: {} ({}), {} calls", self.environment.name(), self.base_url, self.calls),
            self.signature_line(),
            self.answer_line(),
            self.list_line(),
        ];
        lines.extend(self.end_orders.iter().map(end_order_line));
        lines.extend(self.problems().into_iter().map(|p| format!("not ready to go live: {p}")));
        lines.push(String::new());
        lines.push("worker settings:".into());
        lines.extend(self.settings().into_iter().map(|(k, v)| format!("{k}={v}")));
        lines.join("\n") + "\n"
    }

    fn signature_line(&self) -> String {
        let accepted: Vec<&str> = self.signature_types.accepted.iter().map(|t| t.header_value()).collect();
        let refused: Vec<String> = self
            .signature_types
            .refused
            .iter()
            .map(|(t, why)| format!("{} refused: {why}", t.header_value()))
            .collect();
        match refused.is_empty() {
            true => format!("signature_types: {} (both accepted)", accepted.join(", ")),
            false => format!("signature_types: {} ({})", accepted.join(", "), refused.join("; ")),
        }
    }

    fn answer_line(&self) -> String {
        let a = &self.answers;
        let hash = a.sign_type.map_or("mixed hashes", SignType::header_value);
        let counted = format!("{} of {} answers signed", a.signed, a.total);
        let detail = match a.signature {
            AnswerSignature::Unsigned => format!("no answer carried X-QF-SIGN; {} answers", a.total),
            AnswerSignature::Unknown => {
                format!("no reading verifies every signed answer, so the worker can only log them; {counted}")
            }
            AnswerSignature::Reading { reading, also_top_level } => {
                let covers = match reading {
                    AnswerReading::SortedData => "the data fields (or the top level), sorted, then the key",
                    AnswerReading::TopLevel => "the top-level fields, sorted, then the key",
                    AnswerReading::RawBody => "the raw body, then the key",
                };
                let same = if also_top_level { "; top-level reads the same: no answer had a data object" } else { "" };
                format!("X-QF-SIGN is {hash} over {covers}; {counted}{same}")
            }
        };
        let mut notes = String::new();
        if a.undeclared_sha256 {
            notes.push_str("; SHA256 signatures came without X-QF-SIGNTYPE, which the worker reads as MD5");
        }
        if matches!(a.signature, AnswerSignature::Reading { .. }) && !a.enforceable() {
            notes.push_str("; so the worker can only log it, not enforce it");
        }
        format!("answer_signature: {} ({detail}{notes})", a.signature.name())
    }

    fn list_line(&self) -> String {
        let Some(list) = &self.list else {
            return format!(
                "query_list_max: not tested (it lists an order of an MPM, WAP or web pay type last, and none was \
                 created; see end_order); {QUERY_LIST_DEFAULT}, the worker's default, works on any gateway"
            );
        };
        let how = match &list.refused {
            Some((length, why)) => format!("{length} refused: {why}"),
            None => "every length tried was accepted; the gateway may take more".to_owned(),
        };
        let capped = match list.max > QUERY_BATCH_MAX {
            true => format!("; the worker asks for at most {QUERY_BATCH_MAX}, a query's largest page"),
            false => String::new(),
        };
        format!("query_list_max: {} ({how}; {} queries{capped})", list.max, list.queries)
    }
}

fn end_order_line(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Untested { info, why } => format!(
            "end_order {} ({}): {}, documented; not tested: {why}",
            info.code,
            info.name_en,
            qfpay::tables::end_order(info.code).name()
        ),
        Outcome::Tested(t) => {
            let versus = match t.found == t.documented {
                true => "as documented".to_owned(),
                false => format!("documented {}", t.documented.name()),
            };
            let tries: Vec<String> = t.tries.iter().map(|(e, said)| format!("{}: {said}", e.name())).collect();
            format!(
                "end_order {} ({}): {}, {versus} ({}); order {} {}",
                t.info.code,
                t.info.name_en,
                t.found.name(),
                tries.join("; "),
                t.out_trade_no,
                afterwards(t)
            )
        }
    }
}

fn afterwards(t: &Tested) -> String {
    match &t.afterwards {
        Some(RowVerdict::Closed) => "closed, not paid".into(),
        Some(RowVerdict::Expired) => "expired, not paid".into(),
        Some(RowVerdict::Pending) => format!("open, not paid; it ends by itself within {} min", t.expiry_minutes()),
        Some(RowVerdict::Failed(code)) => format!("failed ({}), not paid", code.as_deref().unwrap_or("no respcd")),
        Some(RowVerdict::NotFound) => "not found by a query".into(),
        Some(RowVerdict::Paid) => "PAID: the check never pays, so someone did; refund it in QFPay's portal".into(),
        None => "state unknown: the query was refused".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use qfpay::tables::{pay_type, EndOrder};

    fn report(found: EndOrder, accepted: Vec<SignType>) -> Report {
        let info = pay_type("805801").expect("PayMe MPM");
        let tested = Tested {
            info,
            documented: EndOrder::None,
            found,
            out_trade_no: "QCPX".into(),
            tries: vec![(EndOrder::Close, "respcd 0000".into())],
            afterwards: Some(RowVerdict::Closed),
        };
        let cpm = Outcome::Untested { info: pay_type("800108").expect("Alipay CPM"), why: "CPM".into() };
        Report {
            environment: Environment::Local,
            base_url: "http://127.0.0.1:1".into(),
            signature_types: SignatureTypes { accepted, refused: Vec::new() },
            answers: Finding {
                signature: AnswerSignature::Unsigned,
                sign_type: None,
                undeclared_sha256: false,
                signed: 0,
                total: 3,
            },
            list: Some(ListLimit { max: 7, refused: Some((8, "respcd 1104".into())), queries: 5 }),
            end_orders: vec![Outcome::Tested(tested), cpm],
            calls: 12,
        }
    }

    #[test]
    fn settings_name_only_what_differs() {
        let r = report(EndOrder::Close, vec![SignType::Md5, SignType::Sha256]);
        let settings = r.settings();
        assert_eq!(
            settings,
            [
                ("QFPAY_ANSWER_SIGNATURE", "off".to_owned()),
                ("QFPAY_QUERY_LIST_MAX", "7".to_owned()),
                ("END_ORDER", "805801=close".to_owned())
            ]
        );
        let json = r.json();
        assert_eq!(json["end_order"], json!({"805801": "close"}));
        assert_eq!(json["untested"]["800108"]["documented"], "reversal");
        assert_eq!(json["settings"]["END_ORDER"], "805801=close");
        let same = report(EndOrder::None, vec![SignType::Md5, SignType::Sha256]);
        assert_eq!(same.settings().len(), 2);
        assert_eq!(same.json()["signature_types"], json!(["MD5", "SHA256"]));
    }

    #[test]
    fn the_list_setting_stops_at_a_querys_largest_page() {
        let mut r = report(EndOrder::None, vec![SignType::Sha256]);
        r.list = Some(ListLimit { max: 150, refused: Some((151, "respcd 1104".into())), queries: 12 });
        assert_eq!(r.settings()[1], ("QFPAY_QUERY_LIST_MAX", "100".to_owned()));
        assert_eq!(r.json()["query_list_max"], 150);
        assert!(r.human().contains("at most 100"));
    }

    #[test]
    fn human_lines_one_per_finding_then_the_settings() {
        let text = report(EndOrder::Close, vec![SignType::Md5, SignType::Sha256]).human();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[1].starts_with("signature_types: MD5, SHA256"), "{text}");
        assert!(lines[2].starts_with("answer_signature: none"), "{text}");
        assert!(lines[3].starts_with("query_list_max: 7 (8 refused"), "{text}");
        assert!(lines[4].starts_with("end_order 805801") && lines[4].contains("documented none"), "{text}");
        assert!(lines[5].contains("not tested"), "{text}");
        assert_eq!(
            lines[7..],
            ["worker settings:", "QFPAY_ANSWER_SIGNATURE=off", "QFPAY_QUERY_LIST_MAX=7", "END_ORDER=805801=close"]
        );
        let json = report(EndOrder::Close, vec![SignType::Sha256]).json();
        assert_eq!((&json["ready"], &json["problems"]), (&json!(true), &json!([])), "{json}");
    }

    #[test]
    fn sha256_refused_blocks_going_live_and_sets_nothing() {
        let mut r = report(EndOrder::None, vec![SignType::Md5]);
        r.signature_types.refused = vec![(SignType::Sha256, "respcd 1108".into())];
        assert_eq!(r.problems(), [SHA256_REFUSED]);
        let json = r.json();
        assert_eq!((&json["ready"], &json["problems"]), (&json!(false), &json!([SHA256_REFUSED])), "{json}");
        assert_eq!(json["signature_types"], json!(["MD5"]));
        let text = r.human();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[1].starts_with("signature_types: MD5 (SHA256 refused: respcd 1108)"), "{text}");
        assert_eq!(
            lines[6],
            "not ready to go live: this worker signs with SHA256, which the gateway refused; ask QFPay to enable \
             SHA256 for the appcode"
        );
        assert_eq!(lines[7..], ["", "worker settings:", "QFPAY_ANSWER_SIGNATURE=off", "QFPAY_QUERY_LIST_MAX=7"]);
        // No setting pretends to change how the worker signs: it reads none.
        assert!(r
            .settings()
            .iter()
            .all(|(name, _)| name.starts_with("QFPAY_ANSWER") || name.starts_with("QFPAY_QUERY")));
        assert!(!text.contains("SIGN_TYPE") && json["settings"].get("QFPAY_SIGN_TYPE").is_none(), "{text}");
    }

    #[test]
    fn an_untested_list_keeps_the_workers_default() {
        let mut r = report(EndOrder::None, vec![SignType::Sha256]);
        r.list = None;
        assert_eq!(r.settings()[1], ("QFPAY_QUERY_LIST_MAX", "1".to_owned()));
        assert_eq!(r.json()["query_list_max"], Value::Null);
        let text = r.human();
        assert!(text.lines().nth(3).is_some_and(|l| l.starts_with("query_list_max: not tested")), "{text}");
    }
}
