//! The money rules, shared by the pay flow, notifications, the merchant API and the settler:
//! an attempt paid, a gateway query's answer applied, an attempt closed, a session over, a
//! refund sent or settled. Every change goes through the store's named operations, whose
//! conditional UPDATEs apply `checkout_api::states`, so concurrent callers (a notification and
//! the settler, two isolates) agree on one outcome; every change the merchant must hear of is
//! written with its event.
//!
//! `payment.rs`: a payment reported, the session paid (or a second payment, or a wrong amount
//! held). `refund.rs`: refunds sent, re-sent and ended. `order.rs`: orders at the gateway:
//! queried, their rows applied, closed or reversed where the pay type allows, else followed to
//! their expiry. `lookup.rs`: queries by number, by month window, in lists of the configured
//! length. `session.rs`: a session brought up to date
//! and ended once the gateway confirmed it over.

mod lookup;
mod order;
mod payment;
mod refund;
mod session;

pub use lookup::{one_query, query as query_orders, Wanted};
pub use order::{apply_attempt_row, close_attempt, query_order, CloseOutcome};
pub use payment::{payment_reported, Reported};
pub use refund::{
    apply_refund_row, end_refund, give_up_refund, recheck_unresolved, refund_made_at, refund_next_at, refund_unaskable,
    refund_wanted, send_refund,
};
pub use session::{finish_closing, refresh};

use checkout_api::{ApiError, ErrorCode};

type R<T> = std::result::Result<T, ApiError>;

fn gone() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no session with this id")
}
