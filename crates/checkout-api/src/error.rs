//! The one error shape of the API: `{"error": {"code", "message", "field"?}}`, never internals,
//! and the one list of every error the worker can answer ([`ErrorCode`]): its HTTP status, its
//! code and what it means. The README's error table is checked against this list.

use serde::Serialize;

/// Every error the API can answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// 409 `payment_pending`: The gateway is still confirming the payment (`1143`/`1145`/`1298`): not refused; do not pay again, follow the status.
    PaymentPending,
    /// 400 `invalid_field`: A field breaks a rule; `field` names it and `message` gives the rule.
    InvalidField,
    /// 400 `invalid_body`: The body is not the JSON the endpoint takes (a wrong type, an unknown or missing field).
    InvalidBody,
    /// 400 `unreadable_body`: The request body could not be read.
    UnreadableBody,
    /// 401 `unauthorized`: The bearer key (merchant API key or client secret) is missing or wrong.
    Unauthorized,
    /// 401 `bad_signature`: A gateway notification's `X-QF-SIGN` does not match its body.
    BadSignature,
    /// 402 `payment_refused`: The gateway refused the payment; the shopper can choose another way to pay.
    PaymentRefused,
    /// 403 `origin_not_allowed`: The page's origin is not in `ALLOWED_ORIGINS`.
    OriginNotAllowed,
    /// 404 `not_found`: No such session, event or route.
    NotFound,
    /// 409 `already_paid`: The session is paid: refund it instead.
    AlreadyPaid,
    /// 409 `not_paid`: Only a paid session can be refunded.
    NotPaid,
    /// 409 `not_refundable`: Payments of this pay type cannot be refunded.
    NotRefundable,
    /// 409 `payment_not_settled`: The payment's gateway number is not known yet; try again shortly.
    PaymentNotSettled,
    /// 409 `refund_exceeds_payment`: The amount is more than is left to refund.
    RefundExceedsPayment,
    /// 409 `refund_not_unresolved`: Only an unresolved refund can be resolved; this one is pending or ended.
    RefundNotUnresolved,
    /// 409 `session_not_open`: The session no longer takes payments (it is paid, closing, expired, closed or reversed).
    SessionNotOpen,
    /// 409 `idempotency_conflict`: The `Idempotency-Key` was used with a different body.
    IdempotencyConflict,
    /// 409 `idempotency_in_progress`: A request with this `Idempotency-Key` is still being processed.
    IdempotencyInProgress,
    /// 409 `idempotency_interrupted`: The first request with this refund's `Idempotency-Key` was interrupted; read the session.
    IdempotencyInterrupted,
    /// 409 `payment_held`: The gateway reported the payment for another amount or currency than the session's: it is held, not paid (`payment.held`); check it with QFPay.
    PaymentHeld,
    /// 409 `webhooks_disabled`: No `WEBHOOK_URL` is set, so there is nothing to resend to.
    WebhooksDisabled,
    /// 409 `conflict`: The session kept changing under the request; try again.
    Conflict,
    /// 429 `attempt_too_soon`: This session started a payment attempt a moment ago; `Retry-After` says when to try again.
    AttemptTooSoon,
    /// 429 `too_many_attempts`: This session has started as many payment attempts as one may; the shopper needs a new checkout.
    TooManyAttempts,
    /// 413 `body_too_large`: The body is larger than 16 KiB.
    BodyTooLarge,
    /// 415 `unsupported_media_type`: `Content-Type` must be `application/json`.
    UnsupportedMediaType,
    /// 429 `rate_limited`: Too many requests from this client or for this session, too many payment attempts from this network, or too many wrong keys; wait `Retry-After` seconds.
    RateLimited,
    /// 500 `internal_error`: Something failed on our side; the request changed nothing it could not finish.
    InternalError,
    /// 503 `gateway_unavailable`: The payment gateway did not answer; try again in a moment.
    GatewayUnavailable,
    /// 503 `upstream_busy`: The merchant's gateway budget is used up for the moment; `Retry-After` says when to try again.
    UpstreamBusy,
    /// 503 `misconfigured`: The worker is missing a setting; `field` names it (never its value).
    Misconfigured,
}

impl ErrorCode {
    /// Every error, in the README's order.
    pub const ALL: [ErrorCode; 31] = [
        ErrorCode::InvalidField,
        ErrorCode::InvalidBody,
        ErrorCode::UnreadableBody,
        ErrorCode::Unauthorized,
        ErrorCode::BadSignature,
        ErrorCode::PaymentRefused,
        ErrorCode::OriginNotAllowed,
        ErrorCode::NotFound,
        ErrorCode::AlreadyPaid,
        ErrorCode::PaymentPending,
        ErrorCode::NotPaid,
        ErrorCode::NotRefundable,
        ErrorCode::PaymentNotSettled,
        ErrorCode::RefundExceedsPayment,
        ErrorCode::RefundNotUnresolved,
        ErrorCode::SessionNotOpen,
        ErrorCode::IdempotencyConflict,
        ErrorCode::IdempotencyInProgress,
        ErrorCode::IdempotencyInterrupted,
        ErrorCode::PaymentHeld,
        ErrorCode::WebhooksDisabled,
        ErrorCode::Conflict,
        ErrorCode::BodyTooLarge,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::AttemptTooSoon,
        ErrorCode::TooManyAttempts,
        ErrorCode::RateLimited,
        ErrorCode::InternalError,
        ErrorCode::GatewayUnavailable,
        ErrorCode::UpstreamBusy,
        ErrorCode::Misconfigured,
    ];

    /// Its HTTP status.
    pub fn status(self) -> u16 {
        match self {
            ErrorCode::PaymentPending => 409,
            ErrorCode::InvalidField => 400,
            ErrorCode::InvalidBody => 400,
            ErrorCode::UnreadableBody => 400,
            ErrorCode::Unauthorized => 401,
            ErrorCode::BadSignature => 401,
            ErrorCode::PaymentRefused => 402,
            ErrorCode::OriginNotAllowed => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::AlreadyPaid => 409,
            ErrorCode::NotPaid => 409,
            ErrorCode::NotRefundable => 409,
            ErrorCode::PaymentNotSettled => 409,
            ErrorCode::RefundExceedsPayment => 409,
            ErrorCode::RefundNotUnresolved => 409,
            ErrorCode::SessionNotOpen => 409,
            ErrorCode::IdempotencyConflict => 409,
            ErrorCode::IdempotencyInProgress => 409,
            ErrorCode::IdempotencyInterrupted => 409,
            ErrorCode::PaymentHeld => 409,
            ErrorCode::WebhooksDisabled => 409,
            ErrorCode::Conflict => 409,
            ErrorCode::BodyTooLarge => 413,
            ErrorCode::AttemptTooSoon => 429,
            ErrorCode::TooManyAttempts => 429,
            ErrorCode::UnsupportedMediaType => 415,
            ErrorCode::RateLimited => 429,
            ErrorCode::InternalError => 500,
            ErrorCode::GatewayUnavailable => 503,
            ErrorCode::UpstreamBusy => 503,
            ErrorCode::Misconfigured => 503,
        }
    }

    /// The stable machine-readable code in the answer. `const`, so that the widget can name
    /// the codes it acts on without shipping the whole table.
    pub const fn code(self) -> &'static str {
        match self {
            ErrorCode::PaymentPending => "payment_pending",
            ErrorCode::InvalidField => "invalid_field",
            ErrorCode::InvalidBody => "invalid_body",
            ErrorCode::UnreadableBody => "unreadable_body",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::BadSignature => "bad_signature",
            ErrorCode::PaymentRefused => "payment_refused",
            ErrorCode::OriginNotAllowed => "origin_not_allowed",
            ErrorCode::NotFound => "not_found",
            ErrorCode::AlreadyPaid => "already_paid",
            ErrorCode::NotPaid => "not_paid",
            ErrorCode::NotRefundable => "not_refundable",
            ErrorCode::PaymentNotSettled => "payment_not_settled",
            ErrorCode::RefundExceedsPayment => "refund_exceeds_payment",
            ErrorCode::RefundNotUnresolved => "refund_not_unresolved",
            ErrorCode::SessionNotOpen => "session_not_open",
            ErrorCode::IdempotencyConflict => "idempotency_conflict",
            ErrorCode::IdempotencyInProgress => "idempotency_in_progress",
            ErrorCode::IdempotencyInterrupted => "idempotency_interrupted",
            ErrorCode::PaymentHeld => "payment_held",
            ErrorCode::WebhooksDisabled => "webhooks_disabled",
            ErrorCode::Conflict => "conflict",
            ErrorCode::BodyTooLarge => "body_too_large",
            ErrorCode::AttemptTooSoon => "attempt_too_soon",
            ErrorCode::TooManyAttempts => "too_many_attempts",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::InternalError => "internal_error",
            ErrorCode::GatewayUnavailable => "gateway_unavailable",
            ErrorCode::UpstreamBusy => "upstream_busy",
            ErrorCode::Misconfigured => "misconfigured",
        }
    }

    /// What it means, for the README's table.
    pub fn meaning(self) -> &'static str {
        match self {
            ErrorCode::PaymentPending => "The gateway is still confirming the payment (`1143`/`1145`/`1298`): not refused; do not pay again, follow the status.",
            ErrorCode::InvalidField => "A field breaks a rule; `field` names it and `message` gives the rule.",
            ErrorCode::InvalidBody => {
                "The body is not the JSON the endpoint takes (a wrong type, an unknown or missing field)."
            }
            ErrorCode::UnreadableBody => "The request body could not be read.",
            ErrorCode::Unauthorized => "The bearer key (merchant API key or client secret) is missing or wrong.",
            ErrorCode::BadSignature => "A gateway notification's `X-QF-SIGN` does not match its body.",
            ErrorCode::PaymentRefused => "The gateway refused the payment; the shopper can choose another way to pay.",
            ErrorCode::OriginNotAllowed => "The page's origin is not in `ALLOWED_ORIGINS`.",
            ErrorCode::NotFound => "No such session, event or route.",
            ErrorCode::AlreadyPaid => "The session is paid: refund it instead.",
            ErrorCode::NotPaid => "Only a paid session can be refunded.",
            ErrorCode::NotRefundable => "Payments of this pay type cannot be refunded.",
            ErrorCode::PaymentNotSettled => "The payment's gateway number is not known yet; try again shortly.",
            ErrorCode::RefundExceedsPayment => "The amount is more than is left to refund.",
            ErrorCode::RefundNotUnresolved => {
                "Only an unresolved refund can be resolved; this one is pending or ended."
            }
            ErrorCode::SessionNotOpen => {
                "The session no longer takes payments (it is paid, closing, expired, closed or reversed)."
            }
            ErrorCode::IdempotencyConflict => "The `Idempotency-Key` was used with a different body.",
            ErrorCode::IdempotencyInProgress => "A request with this `Idempotency-Key` is still being processed.",
            ErrorCode::IdempotencyInterrupted => {
                "The first request with this refund's `Idempotency-Key` was interrupted; read the session."
            }
            ErrorCode::PaymentHeld => "The gateway reported the payment for another amount or currency than the session's: it is held, not paid (`payment.held`); check it with QFPay.",
            ErrorCode::WebhooksDisabled => "No `WEBHOOK_URL` is set, so there is nothing to resend to.",
            ErrorCode::Conflict => "The session kept changing under the request; try again.",
            ErrorCode::AttemptTooSoon => "This session started a payment attempt a moment ago; `Retry-After` says when to try again.",
            ErrorCode::TooManyAttempts => "This session has started as many payment attempts as one may; the shopper needs a new checkout.",
            ErrorCode::BodyTooLarge => "The body is larger than 16 KiB.",
            ErrorCode::UnsupportedMediaType => "`Content-Type` must be `application/json`.",
            ErrorCode::RateLimited => {
                "Too many requests from this client or for this session, too many payment attempts from this network, or too many wrong keys; wait `Retry-After` seconds."
            }
            ErrorCode::InternalError => {
                "Something failed on our side; the request changed nothing it could not finish."
            }
            ErrorCode::GatewayUnavailable => "The payment gateway did not answer; try again in a moment.",
            ErrorCode::UpstreamBusy => "The merchant's gateway budget is used up for the moment; `Retry-After` says when to try again.",
            ErrorCode::Misconfigured => "The worker is missing a setting; `field` names it (never its value).",
        }
    }

    /// The error with this code, if there is one.
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.code() == code)
    }
}

/// An API error with its HTTP status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ApiError {
    /// HTTP status.
    #[serde(skip)]
    pub status: u16,
    /// A stable machine-readable code, e.g. `invalid_field`.
    pub code: &'static str,
    /// A sentence for the developer.
    pub message: String,
    /// The request field (or setting) at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Seconds after which a retry may succeed (the `Retry-After` header), when known.
    #[serde(skip)]
    pub retry_after_s: Option<u64>,
    /// The answer's `Request-Id` header, repeated: quote it when asking for help; the worker's
    /// log line for the request carries it too (a `429 rate_limited` gets a line only once in
    /// 10 s per worker instance).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl ApiError {
    /// A field that breaks a rule (400: the body is the problem).
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        let field = field.into();
        let message = format!("{field}: {}", message.into());
        ApiError { field: Some(field), ..ApiError::new(ErrorCode::InvalidField, message) }
    }

    /// Any other error.
    pub fn new(error: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            status: error.status(),
            code: error.code(),
            message: message.into(),
            field: None,
            retry_after_s: None,
            request_id: None,
        }
    }

    /// The error with the field (or setting) it is about.
    pub fn about(self, field: impl Into<String>) -> Self {
        ApiError { field: Some(field.into()), ..self }
    }

    /// The error with a `Retry-After` of `seconds` (at least 1).
    pub fn retry_after(self, seconds: u64) -> Self {
        ApiError { retry_after_s: Some(seconds.max(1)), ..self }
    }

    /// The JSON body.
    pub fn body(&self) -> String {
        serde_json::json!({ "error": self }).to_string()
    }
}

impl From<qfpay::InvalidField> for ApiError {
    fn from(e: qfpay::InvalidField) -> Self {
        ApiError::field(e.field, e.rule)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_round_trip() {
        for e in ErrorCode::ALL {
            assert_eq!(ErrorCode::parse(e.code()), Some(e));
            assert!((200..600).contains(&e.status()));
            assert!(!e.meaning().is_empty());
        }
    }

    #[test]
    fn the_answer_carries_the_code_and_field() {
        let e = ApiError::field("amount", "must be at least 1");
        assert_eq!(e.status, 400);
        assert_eq!(
            e.body(),
            r#"{"error":{"code":"invalid_field","field":"amount","message":"amount: must be at least 1"}}"#
        );
    }
}
