//! The merchant's events API (Bearer `MERCHANT_API_KEY`): `GET /v1/events?after=evt_...&limit=`
//! lists every event in order, for merchants who cannot receive webhooks and for recovery;
//! `GET /v1/events/{id}` shows one with every delivery try; `POST /v1/events/{id}/resend`
//! sends one again now.

use checkout_api::events::{EventDetail, EventList, EventView};
use checkout_api::{ApiError, ErrorCode};
use worker::Request;

use crate::app::{ok_json, Answer, App, OrInternal};
use crate::merchant::authorize;
use crate::store::EventRow;
use crate::webhooks;

/// The most events one page lists.
const MAX_LIMIT: u32 = 100;

fn view(row: &EventRow) -> Result<EventView, ApiError> {
    serde_json::from_str(&row.payload)
        .map_err(|_| ApiError::new(ErrorCode::InternalError, "an event could not be read"))
}

/// `GET /v1/events`.
pub async fn list(app: &App<'_>, req: Request) -> Answer {
    authorize(app, &req)?;
    let url = req.url().map_err(crate::app::internal)?;
    let mut after = None;
    let mut limit = 50;
    for (name, value) in url.query_pairs() {
        match name.as_ref() {
            "after" => after = Some(value.into_owned()),
            "limit" => {
                limit =
                    value.parse::<u32>().ok().filter(|l| (1..=MAX_LIMIT).contains(l)).ok_or_else(|| {
                        ApiError::field("limit", format!("must be a whole number from 1 to {MAX_LIMIT}"))
                    })?
            }
            other => return Err(ApiError::field(other, "is not a parameter of GET /v1/events (after, limit)")),
        }
    }
    if let Some(id) = after.as_deref() {
        if app.store.event(id).await.or_500()?.is_none() {
            return Err(ApiError::field("after", "names no event (it must be an id from this feed, evt_...)"));
        }
    }
    let mut rows = app.store.events_after(after.as_deref(), limit + 1).await.or_500()?;
    let has_more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let data = rows.iter().map(view).collect::<Result<Vec<_>, _>>()?;
    ok_json(200, &EventList { data, has_more })
}

async fn load(app: &App<'_>, id: &str) -> Result<EventRow, ApiError> {
    app.store.event(id).await.or_500()?.ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no event with this id"))
}

/// `GET /v1/events/{id}`.
pub async fn get(app: &App<'_>, req: Request, id: &str) -> Answer {
    authorize(app, &req)?;
    let row = load(app, id).await?;
    let tries = app.store.deliveries(id).await.or_500()?;
    ok_json(200, &EventDetail { event: view(&row)?, delivery: row.delivery(), next_try_at: row.next_try_at, tries })
}

/// `POST /v1/events/{id}/resend`: one delivery now; the answer is that try.
pub async fn resend(app: &App<'_>, req: Request, id: &str) -> Answer {
    authorize(app, &req)?;
    let row = load(app, id).await?;
    let try_ = webhooks::resend(app, &row).await?;
    ok_json(200, &try_)
}
