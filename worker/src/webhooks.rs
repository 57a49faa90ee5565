//! Delivering events to the merchant's `WEBHOOK_URL`, signed as Standard Webhooks says
//! (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256>`). At least
//! once, in order per session: an event waits while an earlier one of its session is pending.
//! Any non-2xx answer (a redirect included: it is never followed) or a timeout is retried with
//! back-off for 3 days; every try is recorded. Deliveries run concurrently, bounded, payments
//! first.

use checkout_api::events::{next_delivery_at, DeliveryStatus, DELIVERY_TIMEOUT_MS};
use checkout_api::views::stored_body_in_seconds;
use checkout_api::{ApiError, ErrorCode};

use crate::app::{App, OrInternal};
use crate::clock;
use crate::config::Webhook;
use crate::http;
use crate::store::{DeliveryOutcome, DeliveryTry, EventRow};
use crate::sweep::Report;

type R<T> = std::result::Result<T, ApiError>;

/// Events delivered per sweep at most, and how many are in flight at once: a receiver that
/// takes 500 ms still gets 20 a second, and one session's events still go one at a time (the
/// store hands out only the oldest pending event of each session).
const PER_SWEEP: u32 = 200;
const IN_FLIGHT: usize = 10;
/// How soon an empty queue is looked at again while the sweep's gateway steps run (ms).
const LOOK_AGAIN_MS: u64 = 500;

/// Delivers every event that is due, payments first, one session's events in order, up to
/// [`IN_FLIGHT`] at once, until nothing is due, [`PER_SWEEP`] were sent, or `deadline` (ms) has
/// passed.
/// `others_running` says whether the sweep's gateway steps are still at work: while they are,
/// an empty queue is looked at again shortly (they may create events, a notification elsewhere
/// too), so no event waits for the whole sweep to end.
pub async fn deliver_due(
    app: &App<'_>,
    report: &mut Report,
    deadline: u64,
    others_running: &dyn Fn() -> bool,
) -> R<()> {
    let Some(webhook) = app.settings.webhook.as_ref() else { return Ok(()) };
    let mut sent = 0;
    while sent < PER_SWEEP && clock::now_ms() < deadline {
        let due = app.store.due_events(clock::now_ms(), IN_FLIGHT as u32).await.or_500()?;
        if due.is_empty() {
            if others_running() {
                crate::gateway::sleep(LOOK_AGAIN_MS).await;
                continue;
            }
            break;
        }
        let tries = futures_util::future::join_all(due.iter().map(|event| send(webhook, event))).await;
        let mut any_ok = false;
        for (event, try_) in due.iter().zip(tries) {
            sent += 1;
            let ok = try_.error.is_none();
            any_ok |= ok;
            let outcome = if ok {
                DeliveryOutcome::Delivered
            } else {
                match next_delivery_at(event.created_at, event.tries as u32 + 1, try_.at) {
                    Some(at) => DeliveryOutcome::RetryAt(at),
                    None => DeliveryOutcome::GaveUp,
                }
            };
            app.store.record_delivery(event, &try_, outcome).await.or_500()?;
            if ok {
                report.delivered += 1;
            } else {
                report.failed_deliveries += 1;
            }
        }
        // Later events of the sessions just delivered are due now; failed ones wait for their
        // retry time, so a receiver that is down is not asked again in this sweep.
        if !any_ok {
            break;
        }
    }
    Ok(())
}

/// Sends an event once more, whatever its state (`POST /v1/events/{id}/resend`). A pending or
/// failed event that gets through is delivered; a delivered one stays delivered either way.
pub async fn resend(app: &App<'_>, event: &EventRow) -> R<DeliveryTry> {
    let webhook = app.settings.webhook.as_ref().ok_or_else(|| {
        ApiError::new(ErrorCode::WebhooksDisabled, "WEBHOOK_URL is not set; read the events at GET /v1/events instead")
    })?;
    let try_ = send(webhook, event).await;
    let outcome = match (try_.error.is_none(), event.delivery()) {
        (true, _) | (false, DeliveryStatus::Delivered) => DeliveryOutcome::Delivered,
        (false, _) => match next_delivery_at(event.created_at, event.tries as u32 + 1, try_.at) {
            Some(at) => DeliveryOutcome::RetryAt(at),
            None => DeliveryOutcome::GaveUp,
        },
    };
    app.store.record_delivery(event, &try_, outcome).await.or_500()?;
    Ok(try_)
}

/// One signed POST of the event's stored body (its times in seconds if it was stored before
/// they were: `stored_body_in_seconds`).
async fn send(webhook: &Webhook, event: &EventRow) -> DeliveryTry {
    let at = clock::now_ms();
    let timestamp = at / 1000;
    let converted = stored_body_in_seconds(&event.payload);
    let body = converted.as_deref().unwrap_or(&event.payload);
    let signature = webhook.secret.signature(&event.id, timestamp, body);
    let headers = [
        ("Content-Type", "application/json".to_owned()),
        ("User-Agent", "qfpay-edge-checkout-webhooks/1".to_owned()),
        ("webhook-id", event.id.clone()),
        ("webhook-timestamp", timestamp.to_string()),
        ("webhook-signature", signature),
    ];
    let result = http::post(&webhook.url, &headers, body, DELIVERY_TIMEOUT_MS).await;
    let latency_ms = clock::now_ms().saturating_sub(at);
    match result {
        Ok(reply) if (200..300).contains(&reply.status) => {
            DeliveryTry { at, status: reply.status, latency_ms, error: None }
        }
        Ok(reply) => {
            DeliveryTry { at, status: reply.status, latency_ms, error: Some(format!("HTTP {}", reply.status)) }
        }
        Err(why) => DeliveryTry { at, status: 0, latency_ms, error: Some(why) },
    }
}
