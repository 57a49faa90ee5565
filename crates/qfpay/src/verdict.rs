//! What a gateway answer means, decided once per endpoint: the widget's pay, the till's
//! charge, the settler's queries, refunds and order endings all read answers through these
//! functions (hyperswitch's habit of one mapping per connector answer). Pure: the caller brings
//! the time where the meaning depends on it.

use crate::answer::{OrderChangeAnswer, PaymentAnswer, PaymentStatus, QueryRow};
use crate::tables::{PayMode, RespClass, RespCode};
use crate::HONG_KONG_OFFSET_SECONDS;

/// What a payment request's answer means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayVerdict {
    /// A QR code or wallet page exists (MPM, WAP, web: `0000` is not a payment yet).
    Created,
    /// A CPM charge went through.
    Paid,
    /// Not final (`1143`, `1145`, `1298`, or a CPM charge's `0000` with `txstatus` other than
    /// `SUCCESS`): never tell the shopper "refused", ask again by query.
    Pending(String),
    /// Refused with a final code: no order to follow.
    Refused(RespCode),
}

/// The meaning of a payment answer for a pay type of `mode`.
pub fn payment(answer: &PaymentAnswer, mode: PayMode) -> PayVerdict {
    let code = &answer.outcome.respcd;
    match code.class() {
        // A QR code or wallet page: its `txstatus` says the shopper has not paid yet (PENDING),
        // which is what creating it means.
        RespClass::Success if mode != PayMode::Cpm => PayVerdict::Created,
        RespClass::Success => match answer.txstatus.as_deref() {
            // The guide's `txstatus` can say PENDING or FAILED under a charge's `0000`: only a
            // query tells.
            Some(status) if status != "SUCCESS" => PayVerdict::Pending(status.to_owned()),
            _ => PayVerdict::Paid,
        },
        RespClass::PendingAskAgain => PayVerdict::Pending(code.code().to_owned()),
        _ => PayVerdict::Refused(code.clone()),
    }
}

/// What a query row (or its absence) says about a payment order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowVerdict {
    /// The gateway has no such order (in the window asked).
    NotFound,
    /// Paid (refunds since do not undo that it was paid).
    Paid,
    /// Not final yet.
    Pending,
    /// Ended unpaid by its own expiry (`1181`).
    Expired,
    /// Closed or reversed before payment.
    Closed,
    /// Failed with a final code.
    Failed(Option<String>),
}

/// The meaning of a payment's query row.
pub fn payment_row(row: Option<&QueryRow>) -> RowVerdict {
    let Some(row) = row else { return RowVerdict::NotFound };
    let respcd = row.respcd.as_ref().map(|r| r.code().to_owned());
    match row.status() {
        PaymentStatus::Paid | PaymentStatus::Refunded | PaymentStatus::PartlyRefunded => RowVerdict::Paid,
        PaymentStatus::Pending => RowVerdict::Pending,
        PaymentStatus::Closed => RowVerdict::Closed,
        PaymentStatus::Failed if respcd.as_deref() == Some(RespCode::ORDER_EXPIRED) => RowVerdict::Expired,
        PaymentStatus::Failed => RowVerdict::Failed(respcd),
    }
}

/// What a refund's answer (or query row) means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundVerdict {
    /// The money went back.
    Succeeded,
    /// In progress (`1143`/`1145`): ask again later, same number.
    Pending(String),
    /// `1265` inside 23:30-00:30 Hong Kong time: send again after the window, as a new request
    /// with a new number (the refused one is used up).
    AfterBlackout(u64),
    /// Refused for good (a `1265` outside the window is a "special promotion").
    Refused(String),
}

/// How far around 23:30-00:30 a `1265` still counts as the nightly window's (ms): the call
/// may have taken a while, and the gateway's clock is not ours.
const BLACKOUT_MARGIN_MS: u64 = 5 * 60_000;

/// The meaning of a refund answer received at `now_ms` (the time the answer came).
pub fn refund(answer: &OrderChangeAnswer, now_ms: u64) -> RefundVerdict {
    let code = &answer.outcome.respcd;
    match code.class() {
        RespClass::Success => RefundVerdict::Succeeded,
        RespClass::PendingAskAgain => RefundVerdict::Pending(code.code().to_owned()),
        _ if code.is(RespCode::REFUND_BLACKOUT) => {
            let early = refund_blackout_end(now_ms + BLACKOUT_MARGIN_MS);
            let late = refund_blackout_end(now_ms.saturating_sub(BLACKOUT_MARGIN_MS));
            match refund_blackout_end(now_ms).or(early).or(late) {
                // Sent again after the window: never earlier than a minute from now.
                Some(end) => RefundVerdict::AfterBlackout(end.max(now_ms + 60_000)),
                None => RefundVerdict::Refused(code.code().to_owned()),
            }
        }
        _ => RefundVerdict::Refused(code.code().to_owned()),
    }
}

/// The meaning of a refund's query row (`None`: the gateway never got it).
pub fn refund_row(row: Option<&QueryRow>) -> Option<RefundVerdict> {
    let row = row?;
    let respcd = row.respcd.as_ref().map(|r| r.code().to_owned()).unwrap_or_default();
    Some(match row.status() {
        PaymentStatus::Paid | PaymentStatus::Refunded | PaymentStatus::PartlyRefunded => RefundVerdict::Succeeded,
        PaymentStatus::Pending => RefundVerdict::Pending(respcd),
        PaymentStatus::Failed | PaymentStatus::Closed => RefundVerdict::Refused(respcd),
    })
}

/// If `now_ms` falls in the gateway's daily refund window 23:30-00:30 Hong Kong time, the
/// first moment after it plus a minute's margin for clocks; else `None`.
pub fn refund_blackout_end(now_ms: u64) -> Option<u64> {
    const DAY: u64 = 86_400_000;
    let local = now_ms + HONG_KONG_OFFSET_SECONDS as u64 * 1000;
    let into_day = local % DAY;
    let (start, end, margin) = (23 * 3_600_000 + 30 * 60_000, 30 * 60_000, 60_000);
    if into_day >= start {
        Some(now_ms - into_day + DAY + end + margin)
    } else if into_day < end {
        Some(now_ms - into_day + end + margin)
    } else {
        None
    }
}

/// What a close's or a reversal's answer means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndVerdict {
    /// The order cannot be paid any more: ended now, or already closed, expired or never made.
    Ended,
    /// In progress (`1143`/`1145`): query later.
    InProgress,
    /// The order was paid (`1260`): only a refund undoes it, and a query confirms it.
    AlreadyPaid,
    /// Not ended (`1136` for a type that cannot be cancelled, or any other code).
    NotEnded(String),
}

/// The meaning of a close or reversal answer.
pub fn end_order(answer: &OrderChangeAnswer) -> EndVerdict {
    let code = &answer.outcome.respcd;
    if code.is_success()
        || [RespCode::ORDER_CLOSED, RespCode::ORDER_EXPIRED, RespCode::NO_SUCH_ORDER].contains(&code.code())
    {
        return EndVerdict::Ended;
    }
    if code.is(RespCode::ALREADY_PAID) {
        return EndVerdict::AlreadyPaid;
    }
    match code.class() {
        RespClass::PendingAskAgain => EndVerdict::InProgress,
        _ => EndVerdict::NotEnded(code.code().to_owned()),
    }
}

#[cfg(test)]
mod tests;
