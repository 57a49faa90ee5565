//! The merchant's events, built from the state a change leaves behind. The store writes each
//! one in the same D1 batch as that change; the settler delivers it; `GET /v1/events` lists it.

use checkout_api::events::{EventData, EventType, EventView};
use checkout_api::views::{RefundView, SessionView, UnixSeconds};
use checkout_api::{ids, AttemptStatus, RefundStatus, SessionStatus};

use crate::app::App;
use crate::clock;
use crate::random;
use crate::store::NewEvent;

/// An event about `session` (and `refund`), as the merchant API shows them after the change.
pub fn new_event(app: &App<'_>, kind: EventType, session: SessionView, refund: Option<RefundView>) -> NewEvent {
    let now = clock::now_ms();
    let subject = refund.as_ref().map_or(session.id.clone(), |r| r.id.clone());
    let view = EventView {
        id: ids::event_id(&random::bytes()),
        kind,
        created: UnixSeconds::from_ms(now),
        data: EventData { session, refund },
    };
    NewEvent {
        id: view.id.clone(),
        kind: kind.as_str(),
        session_id: view.data.session.id.clone(),
        once_key: kind.once_key(&subject),
        payload: serde_json::to_string(&view).unwrap_or_default(),
        created_at: now,
        deliver_at: app.settings.webhook.as_ref().map(|_| now),
    }
}

/// `view` as it is once `attempt_id` has paid it, at `paid_at_ms`.
pub fn paid(mut view: SessionView, attempt_id: &str, syssn: Option<&str>, paid_at_ms: u64) -> SessionView {
    let paid_at = UnixSeconds::from_ms(paid_at_ms);
    // A second payment's event shows the session as the first one left it.
    if view.paid_attempt_id.is_none() {
        view.status = SessionStatus::Paid;
        view.paid_at = Some(paid_at);
        view.paid_attempt_id = Some(attempt_id.to_owned());
    }
    for attempt in view.attempts.iter_mut().filter(|a| a.id == attempt_id) {
        attempt.status = AttemptStatus::Paid;
        attempt.paid_at = Some(paid_at);
        attempt.respcd = Some(qfpay::RespCode::SUCCESS.into());
        if let Some(syssn) = syssn {
            attempt.syssn = Some(syssn.to_owned());
        }
    }
    view
}

/// `view` as it is once over (`expired` or `closed`).
pub fn over(mut view: SessionView, status: SessionStatus) -> SessionView {
    view.status = status;
    view
}

/// `refund` (and its session) as they are once the refund ended `status`.
pub fn refund_ended(
    mut session: SessionView,
    mut refund: RefundView,
    status: RefundStatus,
    releases: bool,
) -> (SessionView, RefundView) {
    refund.status = status;
    if releases {
        session.amount_refunded = session.amount_refunded.saturating_sub(refund.amount);
    }
    for r in session.refunds.iter_mut().filter(|r| r.id == refund.id) {
        r.status = status;
    }
    (session, refund)
}
