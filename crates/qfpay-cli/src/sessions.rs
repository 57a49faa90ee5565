//! `qfpay sessions create|get|list|close`: checkout sessions on a deployment.

use std::time::{Duration, Instant};

use checkout_api::SessionStatus;
use clap::builder::PossibleValuesParser;
use clap::{Args, Subcommand};
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};

use crate::api::idempotency::{fresh_key, Write};
use crate::api::{encode_query, path_segment, Client, Page, Reply, PAGE_SIZE};
use crate::time::Round;
use crate::{output, progress, time, Failure};

#[derive(Subcommand, Debug)]
pub enum SessionsCommand {
    /// Create a session (POST /v1/sessions) with a fresh Idempotency-Key; prints its client secret.
    Create(CreateArgs),
    /// Show a session with its attempts and refunds.
    Get(GetArgs),
    /// List sessions, oldest first, following every page up to --limit.
    List(ListArgs),
    /// Close an unpaid session; with --wait, until the gateway confirmed it.
    Close(CloseArgs),
}

#[derive(Args, Debug)]
pub struct CreateArgs {
    /// In the currency's minor units, as the API takes it: 3800 is HK$38.00.
    #[arg(long, value_parser = parse_minor_units)]
    pub amount: u64,
    /// ISO 4217 code.
    #[arg(long, default_value = "HKD")]
    pub currency: String,
    /// What the shopper sees (at most 20 characters).
    #[arg(long)]
    pub goods_name: String,
    /// Your order's reference.
    #[arg(long)]
    pub reference: String,
    /// Offer only these pay types, comma-separated (e.g. 800201,801501).
    #[arg(long, value_delimiter = ',')]
    pub pay_types: Option<Vec<String>>,
    /// Minutes until it expires (the worker's default otherwise).
    #[arg(long)]
    pub expires_in_minutes: Option<u32>,
    /// Where wallet pages send the shopper back.
    #[arg(long)]
    pub return_url: Option<String>,
    /// Notes kept with the session, KEY=VALUE, repeatable.
    #[arg(long = "metadata", value_parser = parse_pair)]
    pub metadata: Vec<(String, String)>,
    /// The Idempotency-Key to send (default: a fresh one); give the same one to retry safely.
    #[arg(long)]
    pub idempotency_key: Option<String>,
    /// Print the worker's JSON answer unchanged.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct GetArgs {
    /// The session id (cs_...).
    pub id: String,
    /// Print the worker's JSON answer unchanged.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct ListArgs {
    /// Only sessions with this reference.
    #[arg(long)]
    pub reference: Option<String>,
    /// Only sessions in this status, as stored: a session past its expiry can show `open` for
    /// up to about a minute (`sessions get` shows it closing at once).
    #[arg(long, value_parser = status_parser())]
    pub status: Option<String>,
    /// Created at or after: a date (2026-01-31, UTC), RFC 3339, or Unix seconds.
    #[arg(long)]
    pub since: Option<String>,
    /// Created before: a date (2026-01-31, UTC), RFC 3339, or Unix seconds.
    #[arg(long)]
    pub until: Option<String>,
    /// At most this many sessions, across pages.
    #[arg(long, default_value_t = PAGE_SIZE, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub limit: u32,
    /// Print {"data": [...], "has_more": ...}: the worker's sessions unchanged, its pages joined.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct CloseArgs {
    /// The session id (cs_...).
    pub id: String,
    /// While the gateway has not confirmed the close (202 closing), keep reading the session
    /// until it is closed or expired.
    #[arg(long)]
    pub wait: bool,
    /// How long --wait waits, in seconds.
    #[arg(long, default_value_t = 120)]
    pub timeout: u64,
    /// Print the worker's JSON answer unchanged (with --wait, the last one).
    #[arg(long)]
    pub json: bool,
}

/// `--amount`: whole minor units; a decimal point is refused rather than guessed at.
pub fn parse_minor_units(text: &str) -> Result<u64, String> {
    if text.contains(['.', ',']) {
        return Err(format!("amount is in minor units, a whole number (3800 is HK$38.00), not {text:?}"));
    }
    match text.parse::<u64>() {
        Ok(0) | Err(_) => Err(format!("amount must be a whole number of minor units above 0 (got {text:?})")),
        Ok(n) => Ok(n),
    }
}

/// `--metadata KEY=VALUE`.
pub fn parse_pair(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!("metadata must be KEY=VALUE (got {text:?})")),
    }
}

/// `--status`: one of the statuses the worker's contract names (clap lists them in --help).
fn status_parser() -> PossibleValuesParser {
    PossibleValuesParser::new(SessionStatus::ALL.map(SessionStatus::as_str))
}

pub fn run(command: SessionsCommand) -> Result<(), Failure> {
    let client = Client::from_env()?;
    match command {
        SessionsCommand::Create(args) => create(&client, args),
        SessionsCommand::Get(args) => get(&client, args),
        SessionsCommand::List(args) => list(&client, args),
        SessionsCommand::Close(args) => close(&client, args),
    }
}

/// The request body of `create`, with only the options given.
pub fn create_body(args: &CreateArgs) -> Value {
    let mut body = json!({"amount": args.amount, "currency": args.currency, "goods_name": args.goods_name,
                          "reference": args.reference});
    if let Some(types) = &args.pay_types {
        body["pay_types"] = json!(types);
    }
    if let Some(minutes) = args.expires_in_minutes {
        body["expires_in_minutes"] = json!(minutes);
    }
    if let Some(url) = &args.return_url {
        body["return_url"] = json!(url);
    }
    if !args.metadata.is_empty() {
        let map: Map<String, Value> = args.metadata.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
        body["metadata"] = Value::Object(map);
    }
    body
}

fn create(client: &Client, args: CreateArgs) -> Result<(), Failure> {
    let key = args.idempotency_key.clone().unwrap_or_else(|| fresh_key("session"));
    let write = Write { key: &key, session: None };
    let reply = client.post("/v1/sessions", Some(&create_body(&args)), Some(&key)).map_err(|f| write.no_answer(f))?;
    if reply.status != 201 {
        return Err(write.refused(&reply, client.error_text(&reply)));
    }
    show_session(client, &reply, args.json);
    if reply.resent {
        eprintln!("qfpay: {}", write.resent_note());
    }
    Ok(())
}

fn show_session(client: &Client, reply: &Reply, json: bool) {
    let text = if json { reply.text.clone() } else { output::session(&reply.json()) };
    output::print(&client.target, &text);
}

fn get(client: &Client, args: GetArgs) -> Result<(), Failure> {
    let reply = client.get(&format!("/v1/sessions/{}", path_segment(&args.id)))?;
    if reply.status != 200 {
        return Err(client.failure(&reply));
    }
    show_session(client, &reply, args.json);
    Ok(())
}

/// The query of `GET /v1/sessions` for these filters (without paging).
pub fn list_query(args: &ListArgs) -> Result<Vec<(&'static str, String)>, Failure> {
    let mut query = Vec::new();
    if let Some(r) = &args.reference {
        query.push(("reference", r.clone()));
    }
    if let Some(s) = &args.status {
        query.push(("status", s.clone()));
    }
    // Unix seconds, the unit of created_at and of these bounds.
    if let Some(t) = &args.since {
        let seconds = time::parse_instant("--since", t, Round::Down).map_err(Failure::Usage)?;
        query.push(("created_gte", seconds.to_string()));
    }
    // Up: `--until 12:00:00.5` keeps every session of that second (the API has whole seconds).
    if let Some(t) = &args.until {
        let seconds = time::parse_instant("--until", t, Round::Up).map_err(Failure::Usage)?;
        query.push(("created_lt", seconds.to_string()));
    }
    Ok(query)
}

fn list(client: &Client, args: ListArgs) -> Result<(), Failure> {
    let filters = list_query(&args)?;
    let mut raw: Vec<Box<RawValue>> = Vec::new();
    let mut after: Option<String> = None;
    let has_more = loop {
        let want = (args.limit as usize - raw.len()).min(PAGE_SIZE as usize);
        let mut query = filters.clone();
        query.push(("limit", want.to_string()));
        if let Some(id) = &after {
            query.push(("after", id.clone()));
        }
        let reply = client.get(&format!("/v1/sessions?{}", encode_query(&query)))?;
        if reply.status != 200 {
            return Err(list_failure(client, &reply));
        }
        let page: Page = serde_json::from_str(&reply.text)
            .map_err(|e| Failure::Remote(format!("GET /v1/sessions answered JSON not of its shape ({e})")))?;
        let last = page.data.last().and_then(|s| serde_json::from_str::<Value>(s.get()).ok());
        raw.extend(page.data);
        if !page.has_more || raw.len() >= args.limit as usize {
            break page.has_more;
        }
        match last.as_ref().and_then(|s| s["id"].as_str()) {
            Some(id) => after = Some(id.to_owned()),
            None => {
                return Err(Failure::Remote("GET /v1/sessions said has_more with no session id to go on from".into()))
            }
        }
    };
    if args.json {
        let items: Vec<&str> = raw.iter().map(|r| r.get()).collect();
        output::print(&client.target, &format!("{{\"data\":[{}],\"has_more\":{has_more}}}", items.join(",")));
        return Ok(());
    }
    let sessions: Vec<Value> = raw.iter().filter_map(|r| serde_json::from_str(r.get()).ok()).collect();
    if sessions.is_empty() {
        output::print(&client.target, "no sessions match");
        return Ok(());
    }
    let mut text = output::table(&output::session_rows(&sessions));
    text.push_str(&match (sessions.len(), has_more) {
        (n, true) => format!("{n} sessions shown; more match (raise --limit or narrow the filters)"),
        (n, false) => format!("{n} session{}", if n == 1 { "" } else { "s" }),
    });
    output::print(&client.target, &text);
    Ok(())
}

fn list_failure(client: &Client, reply: &Reply) -> Failure {
    let msg = client.error_text(reply);
    if matches!(reply.status, 404 | 405) {
        return Failure::Remote(format!("{msg}; this deployment may predate GET /v1/sessions (listing sessions)"));
    }
    Failure::Remote(msg)
}

fn close(client: &Client, args: CloseArgs) -> Result<(), Failure> {
    let id = path_segment(&args.id);
    let reply = client.post(&format!("/v1/sessions/{id}/close"), None, None)?;
    if !matches!(reply.status, 200 | 202) {
        return Err(client.failure(&reply));
    }
    if reply.status == 200 {
        show_session(client, &reply, args.json);
        return Ok(());
    }
    if !args.wait {
        show_session(client, &reply, args.json);
        eprintln!(
            "qfpay: {} is closing: the gateway has not confirmed every QR code closed yet (a payment can still \
             arrive); the worker keeps trying. Check with `qfpay sessions get {}`, or run `qfpay sessions close {} --wait`",
            args.id, args.id, args.id
        );
        return Ok(());
    }
    let last = wait_while_closing(client, &id, Duration::from_secs(args.timeout))?;
    show_session(client, &last, args.json);
    match last.json()["status"].as_str() {
        Some("closed" | "expired") => Ok(()),
        Some("paid") => Err(Failure::Remote(format!(
            "{} was paid while it was closing (a late payment): fulfil the order or refund it with `qfpay refunds create {} --amount N`",
            args.id, args.id
        ))),
        Some("reversed") => Err(Failure::Remote(format!(
            "{} was paid and the payment reversed at the gateway: the money went back to the shopper; do not ship",
            args.id
        ))),
        _ => Err(Failure::Remote(format!(
            "{} is still closing after {} s; the worker keeps trying. Check with `qfpay sessions get {}`",
            args.id, args.timeout, args.id
        ))),
    }
}

/// Reads the session every 2 s while it is `closing`, up to `timeout`; answers the last read.
fn wait_while_closing(client: &Client, id: &str, timeout: Duration) -> Result<Reply, Failure> {
    let started = Instant::now();
    let mut shown = String::new();
    loop {
        let reply = client.get(&format!("/v1/sessions/{id}"))?;
        if reply.status != 200 {
            progress::done();
            return Err(client.failure(&reply));
        }
        let status = reply.json()["status"].as_str().unwrap_or("?").to_owned();
        let line = format!(
            "{id} is {status} ({} s; waiting for the gateway to confirm the close)",
            started.elapsed().as_secs()
        );
        progress::status(&line, status != shown);
        shown = status;
        if shown != "closing" || started.elapsed() >= timeout {
            progress::done();
            return Ok(reply);
        }
        std::thread::sleep(Duration::from_secs(2));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct Cli {
        #[command(subcommand)]
        command: SessionsCommand,
    }

    fn parse(args: &[&str]) -> Result<SessionsCommand, String> {
        Cli::try_parse_from(std::iter::once("sessions").chain(args.iter().copied()))
            .map(|c| c.command)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn create_takes_minor_units_and_builds_only_the_given_fields() {
        let SessionsCommand::Create(args) = parse(&[
            "create",
            "--amount",
            "3800",
            "--goods-name",
            "Milk tea",
            "--reference",
            "order-1",
            "--pay-types",
            "800201,801501",
            "--metadata",
            "table=12",
            "--metadata",
            "note=a=b",
        ])
        .unwrap() else {
            panic!("create")
        };
        assert_eq!(
            create_body(&args),
            json!({"amount": 3800, "currency": "HKD", "goods_name": "Milk tea", "reference": "order-1",
                   "pay_types": ["800201", "801501"], "metadata": {"table": "12", "note": "a=b"}})
        );
        let err = parse(&["create", "--amount", "38.00", "--goods-name", "x", "--reference", "r"]).unwrap_err();
        assert!(err.contains("amount is in minor units"), "{err}");
        let err = parse(&["create", "--amount", "0", "--goods-name", "x", "--reference", "r"]).unwrap_err();
        assert!(err.contains("above 0"), "{err}");
        let err = parse(&["create", "--amount", "1", "--goods-name", "x", "--reference", "r", "--metadata", "=v"]);
        assert!(err.unwrap_err().contains("KEY=VALUE"));
        assert!(parse(&["create", "--amount", "100", "--reference", "r"]).unwrap_err().contains("--goods-name"));
    }

    #[test]
    fn list_filters_become_the_query_in_unix_seconds() {
        let SessionsCommand::List(args) = parse(&[
            "list",
            "--reference",
            "order 1&2",
            "--status",
            "paid",
            "--since",
            "2026-01-31",
            "--until",
            "1769817601",
        ])
        .unwrap() else {
            panic!("list")
        };
        assert_eq!(args.limit, 100);
        let query = list_query(&args).ok().unwrap();
        assert_eq!(
            encode_query(&query),
            "reference=order%201%262&status=paid&created_gte=1769817600&created_lt=1769817601"
        );
        let SessionsCommand::List(args) = parse(&["list", "--since", "last tuesday"]).unwrap() else { panic!("list") };
        match list_query(&args) {
            Err(Failure::Usage(msg)) => assert!(msg.starts_with("--since must be"), "{msg}"),
            _ => panic!("a bad --since is a usage error"),
        }
        assert!(parse(&["list", "--limit", "0"]).is_err());
        let SessionsCommand::List(args) = parse(&["list", "--until", "2026-01-31T00:00:00.250Z"]).unwrap() else {
            panic!("list")
        };
        assert_eq!(encode_query(&list_query(&args).ok().unwrap()), "created_lt=1769817601", "--until rounds up");
    }

    #[test]
    fn status_takes_the_contracts_statuses() {
        for status in SessionStatus::ALL {
            assert!(parse(&["list", "--status", status.as_str()]).is_ok(), "{status:?}");
        }
        let err = parse(&["list", "--status", "done"]).unwrap_err();
        assert!(err.contains("open") && err.contains("closing"), "{err}");
    }

    #[test]
    fn close_waits_only_when_asked() {
        let SessionsCommand::Close(args) = parse(&["close", "cs_1"]).unwrap() else { panic!("close") };
        assert!(!args.wait && args.timeout == 120);
        let SessionsCommand::Close(args) = parse(&["close", "cs_1", "--wait", "--timeout", "5", "--json"]).unwrap()
        else {
            panic!("close")
        };
        assert!(args.wait && args.json && args.timeout == 5);
    }
}
