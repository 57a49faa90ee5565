//! The QFPay OpenAPI as this project implements it (see `shared/spec/QFPAY.md`).
//!
//! Everything here is pure: time, ids and keys come in as arguments, nothing reads a
//! clock, draws a random number or touches the network. The worker, the simulator, the
//! CLI and the tests all build on these types, so a rule lives in exactly one place.
//!
//! - [`sign`]: the canonical string, MD5/SHA256 signatures, constant-time verification.
//! - [`tables`]: the guide's pay types, currencies and status codes, as named data.
//! - [`request`]: typed, validated requests that turn into a [`request::SignedRequest`].
//! - [`answer`]: lenient parsing of the gateway's answers and notifications.
//! - [`config`]: environments and credentials from any lookup function.
//! - [`verdict`]: what each endpoint's answer means, decided once for every caller.
//! - [`ratelimit`]: the per-merchant rate limits as sliding windows, time as an argument.
#![forbid(unsafe_code)]

pub mod answer;
pub mod calendar;
pub mod config;
pub mod ratelimit;
pub mod request;
pub mod secret;
pub mod sign;
pub mod tables;
mod txdtm;
mod validate;
pub mod verdict;

pub use answer::{
    AnswerError, Notification, OrderChangeAnswer, Outcome, PaymentAnswer, PaymentStatus, QueryAnswer, QueryRow,
};
pub use config::{Config, ConfigError, Credentials, Environment};
pub use request::{
    h5_extend_info, CloseRequest, Form, GatewayRequest, Method, OrderRef, PaymentRequest, QueryRequest, RefundRequest,
    ReversalRequest, SignedRequest,
};
pub use secret::ClientKey;
pub use sign::SignType;
pub use tables::{Currency, PayMode, PayType, RespClass, RespCode};
pub use txdtm::{Txdtm, HONG_KONG_OFFSET_SECONDS};
pub use validate::InvalidField;
