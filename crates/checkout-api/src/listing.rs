//! The merchant API's lists: `GET /v1/sessions` (filters and a cursor, for reconciliation) and
//! `GET /v1/events` (the feed, from a cursor or its newest end), and the query-string rules
//! both follow, read by one parser ([`read_params`]): a page size from 1 to 100, an unknown
//! parameter named with the allowed list, a parameter given twice refused by name. Pure: the
//! worker hands in the query pairs.

use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::states::SessionStatus;
use crate::views::{read_unix_seconds, SessionView, UnixSeconds};

/// The most items one page of a list holds.
pub const MAX_LIMIT: u32 = 100;
/// `GET /v1/sessions`'s page size when `limit` is not given.
pub const DEFAULT_SESSIONS_LIMIT: u32 = 20;
/// `GET /v1/events`' page size when `limit` is not given.
pub const EVENTS_DEFAULT_LIMIT: u32 = 50;
/// The parameters `GET /v1/sessions` takes, in the order error messages list them.
pub const SESSION_PARAMETERS: [&str; 6] = ["reference", "status", "created_gte", "created_lt", "limit", "after"];
/// The parameters `GET /v1/events` takes, in the order error messages list them.
pub const EVENT_PARAMETERS: [&str; 3] = ["after", "latest", "limit"];

/// `GET /v1/sessions` answer.
///
/// A listed session's `status` is as stored: a session past `expires_at` shows `open` until the
/// settler's sweep (about once a minute) starts closing it, while `GET /v1/sessions/{id}`
/// starts closing it when read. That read is authoritative; the list does not write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SessionList {
    /// Oldest first (by the time of creation, which the worker keeps to the millisecond, finer
    /// than `created_at` shows it), then by `id`; each as `GET /v1/sessions/{id}` shows it,
    /// except that `status` can lag for a session past its expiry (see the type's description).
    pub data: Vec<SessionView>,
    /// True when more sessions match after the last one (ask again with `after` = its id).
    pub has_more: bool,
}

/// A page size: a whole number from 1 to [`MAX_LIMIT`].
pub fn parse_limit(value: &str) -> Result<u32, ApiError> {
    value
        .parse::<u32>()
        .ok()
        .filter(|l| (1..=MAX_LIMIT).contains(l))
        .ok_or_else(|| ApiError::field("limit", format!("must be a whole number from 1 to {MAX_LIMIT}")))
}

/// The error for a query parameter an endpoint does not take: names it and lists the allowed.
pub fn unknown_parameter(name: &str, endpoint: &str, allowed: &[&str]) -> ApiError {
    ApiError::field(name, format!("is not a parameter of {endpoint} ({})", allowed.join(", ")))
}

/// A list's query string, checked against the endpoint's `allowed` names: an unknown name and a
/// name given twice are refused by name (two values of one filter would leave it to chance which
/// counts). Answers the pairs with their names as `allowed` spells them, in the order given.
pub fn read_params<'a>(
    endpoint: &str,
    allowed: &[&'static str],
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<Vec<(&'static str, &'a str)>, ApiError> {
    let mut out: Vec<(&'static str, &'a str)> = Vec::new();
    for (name, value) in pairs {
        let Some(known) = allowed.iter().copied().find(|p| *p == name) else {
            return Err(unknown_parameter(name, endpoint, allowed));
        };
        if out.iter().any(|(seen, _)| *seen == known) {
            return Err(ApiError::field(known, "is given more than once (give each parameter at most once)"));
        }
        out.push((known, value));
    }
    Ok(out)
}

/// What `GET /v1/sessions` asks for: every filter is optional, and they combine with AND.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SessionQuery {
    /// The merchant's reference, matched exactly.
    pub reference: Option<String>,
    /// Sessions in this status only.
    pub status: Option<SessionStatus>,
    /// Created at or after this second.
    pub created_gte: Option<UnixSeconds>,
    /// Created before this second.
    pub created_lt: Option<UnixSeconds>,
    /// The page size.
    pub limit: u32,
    /// The last session id of the previous page.
    pub after: Option<String>,
}

impl SessionQuery {
    /// Reads the query string's pairs; the error names the parameter and its rule.
    pub fn parse<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self, ApiError> {
        let mut query = SessionQuery { limit: DEFAULT_SESSIONS_LIMIT, ..SessionQuery::default() };
        for (name, value) in read_params("GET /v1/sessions", &SESSION_PARAMETERS, pairs)? {
            match name {
                "reference" => query.reference = Some(non_empty(name, value)?.to_owned()),
                "status" => query.status = Some(parse_status(value)?),
                "created_gte" => query.created_gte = Some(read_unix_seconds(name, value)?),
                "created_lt" => query.created_lt = Some(read_unix_seconds(name, value)?),
                "limit" => query.limit = parse_limit(value)?,
                _ => query.after = Some(non_empty(name, value)?.to_owned()),
            }
        }
        if let (Some(gte), Some(lt)) = (query.created_gte, query.created_lt) {
            if gte >= lt {
                return Err(ApiError::field(
                    "created_lt",
                    format!(
                        "must be greater than created_gte ({}): the range is created_gte <= created_at < created_lt",
                        gte.secs()
                    ),
                ));
            }
        }
        Ok(query)
    }
}

/// What `GET /v1/events` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventQuery {
    /// Start after this event id (the feed's start when `None`).
    pub after: Option<String>,
    /// The `limit` most recent events instead, still oldest first.
    pub latest: bool,
    /// The page size.
    pub limit: u32,
}

impl EventQuery {
    /// Reads the query string's pairs; the error names the parameter and its rule.
    pub fn parse<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self, ApiError> {
        let mut query = EventQuery { after: None, latest: false, limit: EVENTS_DEFAULT_LIMIT };
        for (name, value) in read_params("GET /v1/events", &EVENT_PARAMETERS, pairs)? {
            match name {
                "after" => query.after = Some(non_empty(name, value)?.to_owned()),
                "latest" => query.latest = parse_bool(name, value)?,
                _ => query.limit = parse_limit(value)?,
            }
        }
        if query.latest && query.after.is_some() {
            return Err(ApiError::field(
                "latest",
                "cannot be combined with after: latest=true reads back from the newest event, after reads on from a given one",
            ));
        }
        Ok(query)
    }
}

fn non_empty<'a>(name: &str, value: &'a str) -> Result<&'a str, ApiError> {
    if value.is_empty() {
        return Err(ApiError::field(name, "must not be empty (leave the parameter out instead)"));
    }
    Ok(value)
}

fn parse_bool(name: &str, value: &str) -> Result<bool, ApiError> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(ApiError::field(name, "must be true or false")),
    }
}

fn parse_status(value: &str) -> Result<SessionStatus, ApiError> {
    SessionStatus::parse(value).ok_or_else(|| {
        let all: Vec<&str> = SessionStatus::ALL.iter().map(|s| s.as_str()).collect();
        ApiError::field("status", format!("must be one of {}", all.join(", ")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::views::MAX_UNIX_SECONDS;

    fn field_of(pairs: &[(&str, &str)]) -> String {
        let e = SessionQuery::parse(pairs.iter().copied()).expect_err("refused");
        assert_eq!(e.status, 400, "{}", e.message);
        e.field.expect("a field")
    }

    #[test]
    fn defaults_and_every_filter() {
        assert_eq!(SessionQuery::parse([]).unwrap().limit, DEFAULT_SESSIONS_LIMIT);
        let q = SessionQuery::parse([
            ("reference", "order-7"),
            ("status", "paid"),
            ("created_gte", "1000"),
            ("created_lt", "2000"),
            ("limit", "100"),
            ("after", "cs_x"),
        ])
        .unwrap();
        assert_eq!(q.reference.as_deref(), Some("order-7"));
        assert_eq!(q.status, Some(SessionStatus::Paid));
        let (gte, lt) = (UnixSeconds::from_secs(1000), UnixSeconds::from_secs(2000));
        assert_eq!((q.created_gte, q.created_lt, q.limit), (Some(gte), Some(lt), 100));
        assert_eq!(q.after.as_deref(), Some("cs_x"));
    }

    #[test]
    fn each_bad_parameter_is_named() {
        assert_eq!(field_of(&[("status", "Paid")]), "status");
        assert_eq!(field_of(&[("created_gte", "yesterday")]), "created_gte");
        assert_eq!(field_of(&[("created_lt", "-5")]), "created_lt");
        assert_eq!(field_of(&[("limit", "0")]), "limit");
        assert_eq!(field_of(&[("limit", "101")]), "limit");
        assert_eq!(field_of(&[("reference", "")]), "reference");
        assert_eq!(field_of(&[("colour", "red")]), "colour");
        assert_eq!(field_of(&[("limit", "5"), ("limit", "6")]), "limit");
        let e = SessionQuery::parse([("sort", "x")]).unwrap_err();
        assert!(e.message.contains("reference, status, created_gte, created_lt, limit, after"), "{}", e.message);
        let e = SessionQuery::parse([("status", "done")]).unwrap_err();
        assert!(e.message.contains("open, paid, closing, expired, closed"), "{}", e.message);
        assert_eq!(field_of(&[("created_gte", "1.5")]), "created_gte");
        let max = MAX_UNIX_SECONDS.to_string();
        assert_eq!(
            SessionQuery::parse([("created_lt", max.as_str())]).unwrap().created_lt.map(UnixSeconds::secs),
            Some(MAX_UNIX_SECONDS)
        );
    }

    #[test]
    fn a_time_in_milliseconds_is_refused_naming_the_rule() {
        // Today in milliseconds: read as seconds it would be the year 57000.
        for (name, ms) in [
            ("created_gte", "1769817600000"),
            ("created_lt", "100000000000"),
            ("created_lt", "99999999999999999999999"),
        ] {
            let e = SessionQuery::parse([(name, ms)]).unwrap_err();
            assert_eq!((e.status, e.field.as_deref()), (400, Some(name)), "{}", e.message);
            assert!(e.message.starts_with(&format!("{name}: must be Unix seconds")), "{}", e.message);
            assert!(e.message.contains("milliseconds"), "{}", e.message);
        }
        let q = SessionQuery::parse([("created_gte", "1769817600")]).unwrap();
        assert_eq!(q.created_gte, Some(UnixSeconds::from_ms(1_769_817_600_000)));
    }

    #[test]
    fn an_empty_or_backwards_time_range_names_created_lt() {
        assert_eq!(field_of(&[("created_gte", "2000"), ("created_lt", "2000")]), "created_lt");
        let e = SessionQuery::parse([("created_lt", "1000"), ("created_gte", "2000")]).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("created_lt"));
        assert!(e.message.contains("created_gte <= created_at < created_lt"), "{}", e.message);
        assert!(SessionQuery::parse([("created_gte", "1999"), ("created_lt", "2000")]).is_ok());
    }

    fn event_field_of(pairs: &[(&str, &str)]) -> (String, String) {
        let e = EventQuery::parse(pairs.iter().copied()).expect_err("refused");
        assert_eq!(e.status, 400, "{}", e.message);
        (e.field.expect("a field"), e.message)
    }

    #[test]
    fn the_event_query_reads_after_latest_and_limit() {
        let q = EventQuery::parse([]).unwrap();
        assert_eq!(q, EventQuery { after: None, latest: false, limit: EVENTS_DEFAULT_LIMIT });
        let q = EventQuery::parse([("latest", "true"), ("limit", "1")]).unwrap();
        assert_eq!(q, EventQuery { after: None, latest: true, limit: 1 });
        let q = EventQuery::parse([("after", "evt_1"), ("latest", "false")]).unwrap();
        assert_eq!((q.after.as_deref(), q.latest), (Some("evt_1"), false));
        let (field, message) = event_field_of(&[("after", "evt_1"), ("latest", "true")]);
        assert_eq!(field, "latest", "{message}");
        assert!(message.contains("after"), "{message}");
        assert_eq!(event_field_of(&[("latest", "yes")]).0, "latest");
        assert_eq!(event_field_of(&[("limit", "0")]).0, "limit");
        assert_eq!(event_field_of(&[("after", "")]).0, "after");
        let (field, message) = event_field_of(&[("cursor", "evt_1")]);
        assert_eq!(field, "cursor");
        assert!(message.contains("GET /v1/events (after, latest, limit)"), "{message}");
    }

    #[test]
    fn both_lists_refuse_a_repeated_parameter_by_name() {
        for name in SESSION_PARAMETERS {
            let e = SessionQuery::parse([(name, "1"), (name, "2")]).unwrap_err();
            assert_eq!(e.field.as_deref(), Some(name), "{}", e.message);
            assert!(e.message.contains("more than once"), "{}", e.message);
        }
        for name in EVENT_PARAMETERS {
            let e = EventQuery::parse([(name, "1"), (name, "2")]).unwrap_err();
            assert_eq!(e.field.as_deref(), Some(name), "{}", e.message);
            assert!(e.message.contains("more than once"), "{}", e.message);
        }
    }
}
