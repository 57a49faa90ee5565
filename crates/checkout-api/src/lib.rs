//! The checkout's own contract, shared by the worker, the widget and merchant servers:
//! request and answer JSON types, the session and attempt state machines, which pay types fit
//! a session, ids, and when the worker may ask the gateway. Pure: no I/O, clock or randomness
//! (time and random bytes are arguments), so every rule is tested natively.
#![forbid(unsafe_code)]

pub mod budget;
pub mod client_secret;
pub mod error;
pub mod events;
pub mod ids;
pub mod listing;
#[cfg(feature = "schema")]
pub mod openapi;
pub mod pay_options;
pub mod session;
pub mod states;
pub mod upstream;
pub mod views;
pub mod wait;

pub use error::{ApiError, ErrorCode};
pub use pay_options::{fitting_pay_types, PayOption};
pub use session::{ChargeRequest, CreateRefund, CreateSession, NewSession, PayRequest, Resolution, ResolveRefund};
pub use states::{AttemptEvent, AttemptStatus, CloseReason, PaidHow, RefundEvent, RefundStatus, SessionStatus};
