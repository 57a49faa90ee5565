//! `POST /v1/refunds/{id}/resolve`: the merchant ends an `unresolved` refund with what QFPay
//! says of it, once a person has checked. The worker gave up asking the gateway; this is the
//! refund's last way to a final state, so its reserved amount is never held for ever.

use checkout_api::{ApiError, ErrorCode, RefundEvent, RefundStatus, Resolution, ResolveRefund};
use worker::Request;

use crate::app::{ok_json, Answer, App, OrInternal};
use crate::http;
use crate::merchant::authorize;
use crate::settle;

/// The code a refund resolved by the merchant ends with.
pub const RESOLVED: &str = "resolved";

/// Applies the merchant's word to an `unresolved` refund: `succeeded` keeps its amount
/// refunded, `failed` frees it. The same word again answers the refund as it is; another
/// refund, or another word for an already ended one, is refused (`refund_not_unresolved`).
pub async fn resolve_refund(app: &App<'_>, mut req: Request, id: &str) -> Answer {
    authorize(app, &req)?;
    let body = http::json_body(&mut req).await?;
    let request = ResolveRefund::parse(&body)?;
    let refund = app
        .store
        .refund(id)
        .await
        .or_500()?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no refund with this id"))?;
    app.ctx.note_session(&refund.session_id);
    let (wanted, outcome) = match request.status {
        Resolution::Succeeded => (RefundStatus::Succeeded, RefundEvent::Succeeded),
        Resolution::Failed => (RefundStatus::Failed, RefundEvent::Failed),
    };
    let status = refund.status();
    if status == RefundStatus::Unresolved {
        settle::end_refund(app, &refund, outcome, None, Some(RESOLVED)).await?;
    } else if !(status == wanted && refund.respcd.as_deref() == Some(RESOLVED)) {
        return Err(ApiError::new(
            ErrorCode::RefundNotUnresolved,
            format!("the refund is {}: only an unresolved refund can be resolved", status.as_str()),
        ));
    }
    let now = app.store.refund(id).await.or_500()?.ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no refund"))?;
    if now.status() != wanted {
        // Another word came first (the gateway's, or another resolution) and said otherwise.
        return Err(ApiError::new(
            ErrorCode::RefundNotUnresolved,
            format!(
                "the refund was ended {} meanwhile, by the gateway's word or another resolution",
                now.status().as_str()
            ),
        ));
    }
    ok_json(200, &now.view())
}
