//! Sessions: brought up to date with the clock, and ended once the gateway confirmed every
//! attempt closed.

use checkout_api::events::EventType;
use checkout_api::SessionStatus;

use crate::app::{App, OrInternal};
use crate::clock;
use crate::outbox;
use crate::store::SessionRow;

use super::{gone, R};

/// Ends a closing session (`expired` or `closed`, as its reason says) with its event, if the
/// gateway has confirmed every attempt closed. True when it ended.
pub async fn finish_closing(app: &App<'_>, session: &SessionRow) -> R<bool> {
    let Some(to) = session.closing_reason().and_then(|r| session.status().on_attempts_closed(r)) else {
        return Ok(false);
    };
    let view = app.store.session_view(session).await.or_500()?;
    if view.attempts.iter().any(|a| a.status.is_open()) {
        return Ok(false);
    }
    let kind = if to == SessionStatus::Expired { EventType::SessionExpired } else { EventType::SessionClosed };
    let event = outbox::new_event(app, kind, outbox::over(view, to), None);
    app.store.finish_closing(&session.id, to, &event).await.or_500()
}

/// Brings a session up to date with the clock, without calling the gateway: an open session
/// past its expiry starts closing, and the settler is woken to close its QR codes now.
pub async fn refresh(app: &App<'_>, session: SessionRow) -> R<SessionRow> {
    if session.status() != SessionStatus::Open || clock::now_ms() < session.expires_at {
        return Ok(session);
    }
    app.store.start_closing(&session.id, SessionStatus::Open, checkout_api::CloseReason::Expired).await.or_500()?;
    app.wake_settler(clock::now_ms()).await;
    app.store.session(&session.id).await.or_500()?.ok_or_else(gone)
}
