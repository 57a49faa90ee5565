//! The endpoint table: every route the worker serves, who may call it, what it takes, what it
//! answers and which errors it can give. The e2e test `tests/tests/openapi.rs` compares it with
//! the worker's router and calls each one.

use serde_json::{json, Value};

use crate::error::ErrorCode;
use crate::listing::{DEFAULT_SESSIONS_LIMIT, EVENTS_DEFAULT_LIMIT, MAX_LIMIT};
use crate::views::MAX_UNIX_SECONDS;

/// Who may call an operation, which decides the errors every such call can give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// The merchant's server: `Authorization: Bearer MERCHANT_API_KEY`.
    Merchant,
    /// The widget: `Authorization: Bearer <client_secret>` of the session in the path, from an
    /// allowed origin.
    ClientSecret,
    /// QFPay: a body signed in `X-QF-SIGN`.
    Gateway,
    /// Anyone: answered before the worker's settings are read.
    Public,
}

/// A query parameter.
pub struct Param {
    /// Its name.
    pub name: &'static str,
    /// What it does.
    pub description: &'static str,
    /// Its JSON Schema.
    pub schema: fn() -> Value,
}

/// A request body.
#[derive(Clone, Copy)]
pub struct Body {
    /// Its media type.
    pub media_type: &'static str,
    /// The named schema, or `None` for raw text.
    pub schema: Option<&'static str>,
}

/// A success answer.
pub struct Success {
    /// Its HTTP status.
    pub status: u16,
    /// When it is given.
    pub description: &'static str,
    /// Its media type.
    pub media_type: &'static str,
    /// The named schema, or `None` for plain text.
    pub schema: Option<&'static str>,
}

/// One route.
pub struct Operation {
    /// `GET`, `POST`.
    pub method: &'static str,
    /// The path template, `{id}` for the one path parameter.
    pub path: &'static str,
    /// The `operationId`.
    pub id: &'static str,
    /// Its group.
    pub tag: &'static str,
    /// One line.
    pub summary: &'static str,
    /// More.
    pub description: &'static str,
    /// Who may call it.
    pub auth: Auth,
    /// What `{id}` is, when the path has it.
    pub id_description: &'static str,
    /// Query parameters.
    pub query: &'static [Param],
    /// Request headers of its own (besides `Authorization` and `Idempotency-Key`).
    pub headers: &'static [Param],
    /// The body it takes.
    pub body: Option<Body>,
    /// Whether `Idempotency-Key` is honoured.
    pub idempotent: bool,
    /// Its success answers.
    pub ok: &'static [Success],
    /// Errors of its own, besides those its caller, body and key bring.
    pub own_errors: &'static [ErrorCode],
}

impl Operation {
    /// Every error it can answer.
    pub fn errors(&self) -> Vec<ErrorCode> {
        use ErrorCode::*;
        let mut out: Vec<ErrorCode> = match self.auth {
            Auth::Merchant => vec![Unauthorized, RateLimited, InternalError, Misconfigured],
            Auth::ClientSecret => vec![Unauthorized, OriginNotAllowed, RateLimited, InternalError, Misconfigured],
            Auth::Gateway => vec![BadSignature, UnreadableBody, BodyTooLarge, InternalError, Misconfigured],
            Auth::Public => vec![],
        };
        if self.body.is_some_and(|b| b.schema.is_some()) {
            out.extend([InvalidField, InvalidBody, UnreadableBody, BodyTooLarge, UnsupportedMediaType]);
        }
        if self.idempotent {
            out.extend([IdempotencyConflict, IdempotencyInProgress]);
        }
        out.extend(self.own_errors);
        // In the order of the README's table, once each.
        ErrorCode::ALL.into_iter().filter(|e| out.contains(e)).collect()
    }
}

const JSON: &str = "application/json";

const fn json_body(schema: &'static str) -> Option<Body> {
    Some(Body { media_type: JSON, schema: Some(schema) })
}

const fn ok(status: u16, description: &'static str, schema: &'static str) -> Success {
    Success { status, description, media_type: JSON, schema: Some(schema) }
}

const SESSION_ID: &str = "The session's id, `cs_...`.";
const EVENT_ID: &str = "The event's id, `evt_...`.";
const REFUND_ID: &str = "The refund's id, `re_...`.";

fn limit_schema(default: u32) -> Value {
    json!({"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": default})
}

fn time_schema() -> Value {
    json!({"type": "integer", "minimum": 0, "maximum": MAX_UNIX_SECONDS, "description": "Unix time in seconds"})
}

fn prefer_wait_schema() -> Value {
    json!({"type": "string", "pattern": "^wait=[0-9]+$", "examples": ["wait=25"]})
}

fn text_schema() -> Value {
    json!({"type": "string", "minLength": 1})
}

/// `GET /v1/sessions`' parameters, in the order `listing::SESSION_PARAMETERS` names them.
const SESSION_QUERY: &[Param] = &[
    Param { name: "reference", description: "Only sessions with this reference (exact match).", schema: text_schema },
    Param {
        name: "status",
        description: "Only sessions in this status.",
        schema: || json!({"$ref": "#/components/schemas/SessionStatus"}),
    },
    Param {
        name: "created_gte",
        description: "Only sessions created at or after this time: Unix time in seconds, like `created_at`. A \
            larger number than the maximum is a time in milliseconds: 400 naming the parameter.",
        schema: time_schema,
    },
    Param {
        name: "created_lt",
        description:
            "Only sessions created before this time: Unix time in seconds, like `created_at`. With `created_gte`, it \
            must be greater (the range is created_gte <= created_at < created_lt): else 400 naming `created_lt`.",
        schema: time_schema,
    },
    Param {
        name: "limit",
        description: "How many sessions a page holds (1-100, default 20).",
        schema: || limit_schema(DEFAULT_SESSIONS_LIMIT),
    },
    Param {
        name: "after",
        description:
            "The id of the last session of the previous page: the page starts after it. 400 if it names no session.",
        schema: text_schema,
    },
];

/// `GET /v1/events`' parameters, in the order `listing::EVENT_PARAMETERS` names them.
const EVENT_QUERY: &[Param] = &[
    Param {
        name: "after",
        description: "The id of the last event seen: the page starts after it. 400 if it names no event.",
        schema: text_schema,
    },
    Param {
        name: "latest",
        description: "`true`: the `limit` most recent events instead, still oldest first (the last is the newest), \
            with `has_more` true when older ones exist. Not with `after` (400 naming `latest`). To follow the feed \
            from now: `latest=true&limit=1`, then `after` = that event's id.",
        schema: || json!({"type": "boolean", "default": false}),
    },
    Param {
        name: "limit",
        description: "How many events a page holds (1-100, default 50).",
        schema: || limit_schema(EVENTS_DEFAULT_LIMIT),
    },
];

use ErrorCode::*;

/// Every route the worker serves (the demo shop's `POST /demo/sessions`, on only with
/// `DEMO_SHOP=true` under `QFPAY_ENV=local`, is not part of the API).
pub const OPERATIONS: &[Operation] = &[
    Operation {
        method: "POST",
        path: "/v1/sessions",
        id: "createSession",
        tag: "sessions",
        summary: "Create a checkout session",
        description: "Amount, currency and goods come only from here. The answer carries the client_secret to \
            hand to the page, and nowhere else.",
        auth: Auth::Merchant,
        id_description: "",
        query: &[],
        headers: &[],
        body: json_body("CreateSession"),
        idempotent: true,
        ok: &[ok(201, "The session, with its client_secret.", "SessionCreated")],
        own_errors: &[],
    },
    Operation {
        method: "GET",
        path: "/v1/sessions",
        id: "listSessions",
        tag: "sessions",
        summary: "List sessions, for reconciliation",
        description: "Filters combine with AND. Oldest first by (created_at, id); page with `after` = the last \
            id of a page while `has_more` is true. Each session is shown as GET /v1/sessions/{id} shows it, but \
            a listed `status` can lag: a session past `expires_at` stays `open` here (and in the `status` filter) \
            until the settler's sweep, about once a minute, starts closing it, while GET /v1/sessions/{id} \
            starts closing it when read. GET /v1/sessions/{id} is authoritative. A parameter given twice is a \
            400 naming it.",
        auth: Auth::Merchant,
        id_description: "",
        query: SESSION_QUERY,
        headers: &[],
        body: None,
        idempotent: false,
        ok: &[ok(200, "A page of sessions.", "SessionList")],
        own_errors: &[InvalidField],
    },
    Operation {
        method: "GET",
        path: "/v1/sessions/{id}",
        id: "getSession",
        tag: "sessions",
        summary: "Read a session with its attempts and refunds",
        description: "An open session past its expiry starts closing when read.",
        auth: Auth::Merchant,
        id_description: SESSION_ID,
        query: &[],
        headers: &[],
        body: None,
        idempotent: false,
        ok: &[ok(200, "The session.", "SessionView")],
        own_errors: &[NotFound, Conflict],
    },
    Operation {
        method: "POST",
        path: "/v1/sessions/{id}/refunds",
        id: "createRefund",
        tag: "sessions",
        summary: "Refund a paid session, in full or in part",
        description: "The refund's amount is reserved in the same transaction as its row, so refunds never add \
            up past the payment. A refund whose gateway answer was lost stays pending and is finished by the worker.",
        auth: Auth::Merchant,
        id_description: SESSION_ID,
        query: &[],
        headers: &[],
        body: json_body("CreateRefund"),
        idempotent: true,
        ok: &[
            ok(201, "The refund, succeeded or (outcome not known yet) pending.", "RefundView"),
            ok(402, "The gateway refused the refund: it is failed and its amount can be refunded again.", "RefundView"),
        ],
        own_errors: &[
            NotFound,
            NotPaid,
            NotRefundable,
            PaymentNotSettled,
            RefundExceedsPayment,
            IdempotencyInterrupted,
            Conflict,
            GatewayUnavailable,
            UpstreamBusy,
        ],
    },
    Operation {
        method: "POST",
        path: "/v1/refunds/{id}/resolve",
        id: "resolveRefund",
        tag: "sessions",
        summary: "Resolve an unresolved refund with what QFPay says of it",
        description: "For a refund the gateway gave no final word on in 3 days (`unresolved`, `refund.unresolved`), \
            once a person has checked it with QFPay: `succeeded` keeps its amount refunded, `failed` frees it to be \
            refunded again (say `failed` only when QFPay confirms no such refund exists: should the gateway still \
            refund it, it becomes `succeeded` and its amount counts again). Its event follows (`refund.succeeded`, \
            `payment.duplicate_refunded` for an automatic refund, or `refund.failed`; `respcd` `resolved`); an \
            automatic refund resolved `failed` leaves its second payment to be refunded by `attempt_id`. Asking \
            again for the same outcome answers the refund unchanged.",
        auth: Auth::Merchant,
        id_description: REFUND_ID,
        query: &[],
        headers: &[],
        body: json_body("ResolveRefund"),
        idempotent: false,
        ok: &[ok(200, "The refund, resolved.", "RefundView")],
        own_errors: &[NotFound, RefundNotUnresolved],
    },
    Operation {
        method: "POST",
        path: "/v1/sessions/{id}/close",
        id: "closeSession",
        tag: "sessions",
        summary: "Close an unpaid session",
        description: "Its open QR codes are closed at the gateway now. A payment that still arrives makes it paid \
            (checkout.session.late_payment).",
        auth: Auth::Merchant,
        id_description: SESSION_ID,
        query: &[],
        headers: &[],
        body: None,
        idempotent: false,
        ok: &[
            ok(200, "Closed: the gateway confirmed every QR code closed.", "SessionView"),
            ok(202, "Closing: the worker keeps closing; checkout.session.closed follows.", "SessionView"),
        ],
        own_errors: &[NotFound, AlreadyPaid, Conflict, GatewayUnavailable, UpstreamBusy],
    },
    Operation {
        method: "POST",
        path: "/v1/sessions/{id}/charge",
        id: "chargeSession",
        tag: "sessions",
        summary: "Charge a scanned wallet code (in-store, CPM)",
        description: "Waits up to 20 s for the shopper's confirmation; 202 means still pending: read the session. \
            An outcome still unknown after 90 s is reversed.",
        auth: Auth::Merchant,
        id_description: SESSION_ID,
        query: &[],
        headers: &[],
        body: json_body("ChargeRequest"),
        idempotent: true,
        ok: &[
            ok(200, "Paid.", "SessionView"),
            ok(202, "Still pending: read the session until it is paid or the attempt ends.", "SessionView"),
        ],
        own_errors: &[
            NotFound,
            PaymentRefused,
            AlreadyPaid,
            SessionNotOpen,
            PaymentHeld,
            Conflict,
            AttemptTooSoon,
            TooManyAttempts,
            GatewayUnavailable,
            UpstreamBusy,
        ],
    },
    Operation {
        method: "GET",
        path: "/v1/events",
        id: "listEvents",
        tag: "events",
        summary: "List every event, oldest first",
        description: "For merchants who cannot receive webhooks, and for recovery. Page with `after` = the last \
            id of a page while `has_more` is true; `latest=true` reads the newest events instead. A parameter \
            given twice is a 400 naming it.",
        auth: Auth::Merchant,
        id_description: "",
        query: EVENT_QUERY,
        headers: &[],
        body: None,
        idempotent: false,
        ok: &[ok(200, "A page of events.", "EventList")],
        own_errors: &[InvalidField],
    },
    Operation {
        method: "GET",
        path: "/v1/events/{id}",
        id: "getEvent",
        tag: "events",
        summary: "Read an event with every delivery try",
        description: "",
        auth: Auth::Merchant,
        id_description: EVENT_ID,
        query: &[],
        headers: &[],
        body: None,
        idempotent: false,
        ok: &[ok(200, "The event and its deliveries.", "EventDetail")],
        own_errors: &[NotFound],
    },
    Operation {
        method: "POST",
        path: "/v1/events/{id}/resend",
        id: "resendEvent",
        tag: "events",
        summary: "Deliver an event again now",
        description: "The answer is that one try, whatever the receiver said.",
        auth: Auth::Merchant,
        id_description: EVENT_ID,
        query: &[],
        headers: &[],
        body: None,
        idempotent: false,
        ok: &[ok(200, "The try.", "DeliveryView")],
        own_errors: &[NotFound, WebhooksDisabled],
    },
    Operation {
        method: "GET",
        path: "/v1/health",
        id: "getHealth",
        tag: "events",
        summary: "What the worker keeps: sizes, counts and the oldest rows",
        description: "D1 has a size cap and every write fails once it is reached, payments included. The settler \
            forgets, every 10 minutes, what no promise needs: idempotency records after 24 hours, delivered \
            events' earlier tries after 7 days, raw notifications and sessions that never moved money after \
            their retention. Anything that moved money is kept.",
        auth: Auth::Merchant,
        id_description: "",
        query: &[],
        headers: &[],
        body: None,
        idempotent: false,
        ok: &[ok(200, "The footprint.", "HealthView")],
        own_errors: &[],
    },
    Operation {
        method: "GET",
        path: "/v1/notifications",
        id: "listUnmatchedNotifications",
        tag: "events",
        summary: "List QFPay notifications for orders this worker never made",
        description: "QFPay sends every notification of an appcode to the one URL registered for it, so a till or \
            another system sharing the appcode has its notifications arrive here. They are acknowledged (QFPay \
            stops retrying), stored, and listed here, newest first, at most 100.",
        auth: Auth::Merchant,
        id_description: "",
        query: &[],
        headers: &[],
        body: None,
        idempotent: false,
        ok: &[ok(200, "The notifications, newest first.", "UnmatchedNotificationList")],
        own_errors: &[],
    },
    Operation {
        method: "GET",
        path: "/v1/checkout/{id}",
        id: "getCheckout",
        tag: "widget",
        summary: "What the widget draws: amount, goods, the pay types that fit",
        description: "CORS: answered to ALLOWED_ORIGINS (and the worker's own origin).",
        auth: Auth::ClientSecret,
        id_description: SESSION_ID,
        query: &[],
        headers: &[],
        body: None,
        idempotent: false,
        ok: &[ok(200, "The checkout.", "CheckoutView")],
        own_errors: &[Conflict],
    },
    Operation {
        method: "POST",
        path: "/v1/checkout/{id}/pay",
        id: "pay",
        tag: "widget",
        summary: "Start a payment attempt with the chosen pay type",
        description: "The amount comes from the session. The answer holds the QR code or the wallet page.",
        auth: Auth::ClientSecret,
        id_description: SESSION_ID,
        query: &[],
        headers: &[],
        body: json_body("PayRequest"),
        idempotent: false,
        ok: &[ok(201, "The attempt's QR code or wallet page.", "PayAnswer")],
        own_errors: &[
            PaymentRefused,
            AlreadyPaid,
            PaymentPending,
            SessionNotOpen,
            Conflict,
            AttemptTooSoon,
            TooManyAttempts,
            GatewayUnavailable,
            UpstreamBusy,
        ],
    },
    Operation {
        method: "GET",
        path: "/v1/checkout/{id}/status",
        id: "getCheckoutStatus",
        tag: "widget",
        summary: "The session's status and latest attempt (answered from D1: polling never reaches the gateway)",
        description: "With `Prefer: wait=N` (RFC 7240) the answer waits up to N seconds (at most 25) for the \
            session or its latest attempt to change, and comes at once when either is already settled; an \
            answer that waited carries `Preference-Applied: wait=N`. Without it, or when the session has too many \
            waits open, the answer comes at once.",
        auth: Auth::ClientSecret,
        id_description: SESSION_ID,
        query: &[],
        headers: &[Param {
            name: "Prefer",
            description: "`wait=N`: hold the answer up to N seconds (1 to 25) until the status changes.",
            schema: prefer_wait_schema,
        }],
        body: None,
        idempotent: false,
        ok: &[ok(200, "The status.", "StatusView")],
        own_errors: &[Conflict],
    },
    Operation {
        method: "POST",
        path: "/v1/qfpay/notify",
        id: "gatewayNotify",
        tag: "gateway",
        summary: "QFPay's signed payment and refund notifications",
        description: "The signature is checked over the raw bytes before anything is read; a repeat changes nothing.",
        auth: Auth::Gateway,
        id_description: "",
        query: &[],
        headers: &[],
        body: Some(Body { media_type: JSON, schema: None }),
        idempotent: false,
        ok: &[Success { status: 200, description: "`SUCCESS`", media_type: "text/plain", schema: None }],
        own_errors: &[InvalidBody, Conflict],
    },
    Operation {
        method: "GET",
        path: "/healthz",
        id: "health",
        tag: "service",
        summary: "Whether the worker is configured",
        description: "",
        auth: Auth::Public,
        id_description: "",
        query: &[],
        headers: &[],
        body: None,
        idempotent: false,
        ok: &[ok(200, "Configured.", "Health"), ok(503, "A setting is missing or invalid.", "Health")],
        own_errors: &[],
    },
    Operation {
        method: "GET",
        path: "/openapi.json",
        id: "openapi",
        tag: "service",
        summary: "This document",
        description: "Cacheable; any origin may read it.",
        auth: Auth::Public,
        id_description: "",
        query: &[],
        headers: &[],
        body: None,
        idempotent: false,
        ok: &[Success { status: 200, description: "The OpenAPI 3.1 document.", media_type: JSON, schema: None }],
        own_errors: &[],
    },
];
