//! `GET /v1/sessions` (Bearer `MERCHANT_API_KEY`): the merchant's sessions for reconciliation,
//! filtered by `reference`, `status` and a created-time range, oldest first (by the time of
//! creation as stored, to the millisecond, then `id`), a page at a time (`limit`, cursor `after`). The query string follows
//! `GET /v1/events`' rules (`checkout_api::listing`). A page costs one indexed query for the
//! sessions and one batch for their attempts and refunds, however many sessions it holds.
//!
//! The list only reads: a session past `expires_at` shows the status stored for it (`open`
//! until the settler's sweep, about a minute, starts closing it), where `GET /v1/sessions/{id}`
//! would start closing it. That read is the authoritative one; the docs say so.

use checkout_api::listing::{SessionList, SessionQuery};
use checkout_api::ApiError;
use worker::Request;

use crate::app::{ok_json, Answer, App, OrInternal};
use crate::merchant::authorize;

/// `GET /v1/sessions`.
pub async fn list_sessions(app: &App<'_>, req: Request) -> Answer {
    authorize(app, &req)?;
    let pairs = query_pairs(&req)?;
    let query = SessionQuery::parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
    let cursor = match query.after.as_deref() {
        None => None,
        Some(id) => Some(app.store.session_cursor(id).await.or_500()?.ok_or_else(|| {
            ApiError::field("after", "names no session (it must be a session id from a previous page, cs_...)")
        })?),
    };
    let mut rows = app.store.list_sessions(&query, cursor.as_ref(), query.limit + 1).await.or_500()?;
    let has_more = rows.len() > query.limit as usize;
    rows.truncate(query.limit as usize);
    let data = app.store.session_views(&rows).await.or_500()?;
    ok_json(200, &SessionList { data, has_more })
}

/// The request's query pairs, decoded, for `checkout_api::listing`'s parsers.
pub fn query_pairs(req: &Request) -> Result<Vec<(String, String)>, ApiError> {
    let url = req.url().map_err(crate::app::internal)?;
    Ok(url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
}
