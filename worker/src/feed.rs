//! The merchant's events API (Bearer `MERCHANT_API_KEY`): `GET /v1/events?after=evt_...&limit=`
//! lists every event in order, for merchants who cannot receive webhooks and for recovery
//! (`latest=true` reads the newest ones, for a tail that starts now);
//! `GET /v1/events/{id}` shows one with every delivery try; `POST /v1/events/{id}/resend`
//! sends one again now. `GET /v1/notifications` lists QFPay's notifications for orders this
//! worker never made (a till sharing the appcode).

use checkout_api::events::{EventDetail, EventList, EventView};
use checkout_api::listing::EventQuery;
use checkout_api::views::{stored_body_in_seconds, UnixSeconds};
use checkout_api::{ApiError, ErrorCode};
use worker::Request;

use crate::app::{ok_json, Answer, App, OrInternal};
use crate::listing::query_pairs;
use crate::merchant::authorize;
use crate::store::EventRow;
use crate::webhooks;

/// The event as stored, with the times of one stored before they were seconds converted.
fn view(row: &EventRow) -> Result<EventView, ApiError> {
    let converted = stored_body_in_seconds(&row.payload);
    serde_json::from_str(converted.as_deref().unwrap_or(&row.payload))
        .map_err(|_| ApiError::new(ErrorCode::InternalError, "an event could not be read"))
}

/// `GET /v1/events`: a page after `after` (from the start without it), or with `latest=true`
/// the `limit` newest events, oldest first; `has_more` says whether more follow (`after`) or
/// older ones exist (`latest`).
pub async fn list(app: &App<'_>, req: Request) -> Answer {
    authorize(app, &req)?;
    let pairs = query_pairs(&req)?;
    let query = EventQuery::parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
    let limit = query.limit;
    if let Some(id) = query.after.as_deref() {
        if app.store.event(id).await.or_500()?.is_none() {
            return Err(ApiError::field("after", "names no event: it must be an id from this feed (evt_...), and one still kept (events of sessions that never moved money are deleted after RETENTION_DAYS_UNPAID); start again with latest=true"));
        }
    }
    let (rows, has_more) = if query.latest {
        let mut rows = app.store.latest_events(limit + 1).await.or_500()?;
        let has_more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        rows.reverse();
        (rows, has_more)
    } else {
        let mut rows = app.store.events_after(query.after.as_deref(), limit + 1).await.or_500()?;
        let has_more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        (rows, has_more)
    };
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
    let tries = app.store.deliveries(id).await.or_500()?.iter().map(|t| t.view()).collect();
    let next_try_at = row.next_try_at.map(UnixSeconds::from_ms);
    ok_json(200, &EventDetail { event: view(&row)?, delivery: row.delivery(), next_try_at, tries })
}

/// `POST /v1/events/{id}/resend`: one delivery now; the answer is that try.
pub async fn resend(app: &App<'_>, req: Request, id: &str) -> Answer {
    authorize(app, &req)?;
    let row = load(app, id).await?;
    let try_ = webhooks::resend(app, &row).await?;
    ok_json(200, &try_.view())
}

/// `GET /v1/notifications`: the newest 100 notifications for orders no attempt or refund of
/// this worker has.
pub async fn unmatched_notifications(app: &App<'_>, req: Request) -> Answer {
    authorize(app, &req)?;
    let rows = app.store.unmatched_notifications(100).await.or_500()?;
    let data = rows
        .into_iter()
        .map(|r| checkout_api::views::UnmatchedNotification {
            syssn: r.syssn,
            notify_type: r.notify_type,
            out_trade_no: r.out_trade_no,
            received_at: UnixSeconds::from_ms(r.received_at),
        })
        .collect();
    ok_json(200, &checkout_api::views::UnmatchedNotificationList { data })
}

/// `GET /v1/health`: what the worker keeps (`store::retention`).
pub async fn health(app: &App<'_>, req: Request) -> Answer {
    authorize(app, &req)?;
    let f = app.store.footprint().await.or_500()?;
    let time = |ms: Option<f64>| ms.map(|t| UnixSeconds::from_ms(t as u64));
    ok_json(
        200,
        &checkout_api::views::HealthView {
            database_bytes: f.database_bytes.map(|b| b as u64),
            sessions: f.sessions as u64,
            events: f.events as u64,
            notifications: f.notifications as u64,
            refunds_unresolved: f.refunds_unresolved as u64,
            oldest: checkout_api::views::HealthOldest {
                session: time(f.oldest_session),
                event: time(f.oldest_event),
                notification: time(f.oldest_notification),
                idempotency_record: time(f.oldest_idempotency),
            },
            retention_days_unpaid: app.settings.retention_days_unpaid,
            retention_days_notifications: app.settings.retention_days_notifications,
        },
    )
}
