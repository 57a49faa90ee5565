//! `qfpay events tail`: follow the merchant's event feed (`GET /v1/events?after=&limit=`),
//! one line per event, or one JSON object per line with `--json` (NDJSON). It starts after the
//! newest event (`latest=true&limit=1`: one read, however long the feed), after a given one,
//! or from the start. `events forward` follows it the same way and delivers each event to a
//! local receiver (`forward.rs`); `events resend ID` has the worker deliver one again.

use std::time::Duration;

use clap::{Args, Subcommand};
use serde_json::value::RawValue;
use serde_json::Value;

use crate::api::{encode_query, worth_retrying, Client, Page, PAGE_SIZE};
use crate::{output, Failure};

/// The longest pause between polls of a quiet feed.
const MAX_INTERVAL_SECONDS: u64 = 30;

#[derive(Subcommand, Debug)]
pub enum EventsCommand {
    /// Print new events as they happen, until Ctrl-C (or once, with --once).
    Tail(TailArgs),
    /// Deliver new events to a local webhook receiver, signed with a local whsec_ secret, until Ctrl-C.
    Forward(crate::forward::ForwardArgs),
    /// Have the worker deliver one event to its WEBHOOK_URL again, now.
    Resend {
        /// The event's id (evt_...).
        id: String,
    },
}

#[derive(Args, Debug)]
pub struct TailArgs {
    /// Where to start, and how often to look.
    #[command(flatten)]
    pub feed: FeedArgs,
    /// One JSON object a line (NDJSON), each event as the worker wrote it.
    #[arg(long)]
    pub json: bool,
}

/// Where following the feed starts, and its pace (shared by `tail` and `forward`).
#[derive(Args, Debug)]
pub struct FeedArgs {
    /// Start after this event (evt_...); by default after the newest one.
    #[arg(long, conflicts_with = "from_start")]
    pub after: Option<String>,
    /// Start from the first event.
    #[arg(long)]
    pub from_start: bool,
    /// Print what is there now and exit.
    #[arg(long)]
    pub once: bool,
    /// Seconds between polls; a quiet feed is polled less often, up to 30 s.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=MAX_INTERVAL_SECONDS))]
    pub interval: u64,
}

pub fn run(command: EventsCommand) -> Result<(), Failure> {
    let client = Client::from_env()?;
    match command {
        EventsCommand::Tail(args) => {
            let json = args.json;
            follow(&client, &args.feed, |raw| output::print(&client.target, &render(raw, json)))
        }
        EventsCommand::Forward(args) => crate::forward::run(&client, &args),
        EventsCommand::Resend { id } => resend(&client, &id),
    }
}

/// `POST /v1/events/{id}/resend`: one delivery try now, printed as status and latency.
fn resend(client: &Client, id: &str) -> Result<(), Failure> {
    let reply = client.post(&format!("/v1/events/{}/resend", crate::api::path_segment(id.trim())), None, None)?;
    if reply.status != 200 {
        return Err(client.failure(&reply));
    }
    let tried = reply.json();
    let status = tried["status"].as_u64().unwrap_or(0);
    let latency = tried["latency_ms"].as_u64().unwrap_or(0);
    let error = tried["error"].as_str().map(|e| format!(" ({e})")).unwrap_or_default();
    output::print(&client.target, &format!("{} resent: HTTP {status} in {latency} ms{error}", id.trim()));
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(Failure::Remote(format!("the receiver answered {status}; the worker keeps its own retries")))
    }
}

/// A page read, or why not: `Fatal` ends the tail (a wrong key, an unknown `after`), `Later`
/// is tried again after a pause (no answer, the worker busy or failing).
enum ReadError {
    Fatal(Failure),
    Later(String),
}

/// Where a read of the feed starts.
#[derive(Clone, Copy)]
enum From<'a> {
    /// After this event, or the start.
    After(Option<&'a str>),
    /// The newest event alone.
    Newest,
}

fn read_page(client: &Client, from: From<'_>) -> Result<Page, ReadError> {
    let query = match from {
        From::After(after) => {
            let mut query = vec![("limit", PAGE_SIZE.to_string())];
            query.extend(after.map(|id| ("after", id.to_owned())));
            query
        }
        From::Newest => vec![("latest", "true".to_owned()), ("limit", "1".to_owned())],
    };
    let reply = match client.get(&format!("/v1/events?{}", encode_query(&query))) {
        Ok(reply) => reply,
        Err(Failure::Remote(msg)) => return Err(ReadError::Later(msg)),
        Err(other) => return Err(ReadError::Fatal(other)),
    };
    if reply.status != 200 {
        return Err(if worth_retrying(reply.status) {
            ReadError::Later(client.error_text(&reply))
        } else {
            ReadError::Fatal(client.failure(&reply))
        });
    }
    serde_json::from_str(&reply.text)
        .map_err(|e| ReadError::Fatal(Failure::Remote(format!("GET /v1/events answered JSON not of its shape ({e})"))))
}

/// The id of the newest event (none when the feed is empty): one read.
fn newest(client: &Client) -> Result<Option<String>, Failure> {
    let page = read_page(client, From::Newest).map_err(|e| match e {
        ReadError::Fatal(Failure::Remote(msg)) if msg.contains("(field: latest)") => Failure::Remote(format!(
            "{msg}; this deployment predates `latest=true`: start with --after <evt_...> or --from-start"
        )),
        ReadError::Fatal(f) => f,
        ReadError::Later(msg) => Failure::Remote(msg),
    })?;
    let newest = page.data.last().and_then(|e| event_id(e));
    if newest.is_none() && page.has_more {
        return Err(Failure::Remote("GET /v1/events?latest=true answered no event, yet has_more".into()));
    }
    Ok(newest)
}

fn event_id(raw: &RawValue) -> Option<String> {
    serde_json::from_str::<Value>(raw.get()).ok()?["id"].as_str().map(str::to_owned)
}

/// One event as printed: its JSON unchanged (on one line) or the human line.
fn render(raw: &RawValue, json: bool) -> String {
    let value: Value = serde_json::from_str(raw.get()).unwrap_or(Value::Null);
    if !json {
        return output::event_line(&value);
    }
    // The worker writes compact JSON; should it ever not, NDJSON still needs one line.
    if raw.get().contains('\n') {
        value.to_string()
    } else {
        raw.get().to_owned()
    }
}

/// Reads the feed from where `args` says, handing each event to `each` in order, until Ctrl-C
/// (or once through, with `--once`).
pub fn follow(client: &Client, args: &FeedArgs, mut each: impl FnMut(&RawValue)) -> Result<(), Failure> {
    let mut cursor = match (&args.after, args.from_start) {
        (Some(id), _) => Some(id.trim().to_owned()),
        (None, true) => None,
        (None, false) => newest(client)?,
    };
    let base = args.interval;
    let mut pause = base;
    loop {
        match read_page(client, From::After(cursor.as_deref())) {
            Ok(page) => {
                for raw in &page.data {
                    each(raw);
                    if let Some(id) = event_id(raw) {
                        cursor = Some(id);
                    }
                }
                if page.has_more {
                    continue;
                }
                if args.once {
                    return Ok(());
                }
                // Events now: poll at the base pace; a quiet feed is polled less and less often.
                pause = if page.data.is_empty() { (pause * 3 / 2).clamp(base, MAX_INTERVAL_SECONDS) } else { base };
            }
            Err(ReadError::Fatal(failure)) => return Err(failure),
            Err(ReadError::Later(msg)) if args.once => return Err(Failure::Remote(msg)),
            Err(ReadError::Later(msg)) => {
                eprintln!("qfpay: {msg}; trying again");
                pause = (pause * 2).min(MAX_INTERVAL_SECONDS);
            }
        }
        std::thread::sleep(Duration::from_secs(pause));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct Cli {
        #[command(subcommand)]
        command: EventsCommand,
    }

    fn parse(args: &[&str]) -> Result<TailArgs, String> {
        Cli::try_parse_from(std::iter::once("events").chain(args.iter().copied()))
            .map(|c| match c.command {
                EventsCommand::Tail(t) => t,
                other => panic!("not tail: {other:?}"),
            })
            .map_err(|e| e.to_string())
    }

    #[test]
    fn tail_starts_where_asked() {
        let t = parse(&["tail"]).unwrap();
        assert!(t.feed.after.is_none() && !t.feed.from_start && !t.feed.once && t.feed.interval == 3);
        let t = parse(&["tail", "--after", "evt_1", "--once", "--json"]).unwrap();
        assert_eq!((t.feed.after.as_deref(), t.feed.once, t.json), (Some("evt_1"), true, true));
        assert!(parse(&["tail", "--after", "evt_1", "--from-start"]).unwrap_err().contains("cannot be used with"));
        assert!(parse(&["tail", "--interval", "0"]).is_err());
    }

    #[test]
    fn json_lines_are_the_worker_bytes() {
        let raw = RawValue::from_string(r#"{"id":"evt_1","type":"checkout.session.paid","z":1,"a":2}"#.into()).unwrap();
        assert_eq!(render(&raw, true), r#"{"id":"evt_1","type":"checkout.session.paid","z":1,"a":2}"#);
        let pretty = RawValue::from_string("{\n \"id\": \"evt_2\"\n}".into()).unwrap();
        assert_eq!(render(&pretty, true), r#"{"id":"evt_2"}"#);
        assert!(render(&raw, false).starts_with("evt_1 "));
    }
}
