//! What every handler works with: settings, the database, the gateway, the log context.

use checkout_api::ApiError;
use worker::{Env, Response, Result};

use crate::config::Settings;
use crate::context::Ctx;
use crate::gateway::Gateway;
use crate::http;
use crate::store::Store;

/// One request's view of the worker.
pub struct App<'a> {
    pub env: &'a Env,
    pub settings: Settings,
    pub store: Store,
    pub ctx: &'a Ctx,
}

impl App<'_> {
    /// The gateway client.
    pub fn gateway(&self) -> Gateway<'_> {
        Gateway { env: self.env, settings: &self.settings, ctx: self.ctx }
    }
}

/// A handler's result: an answer, or an API error to send as one.
pub type Answer = std::result::Result<Response, ApiError>;

/// Turns a storage or platform failure into a 500 that names nothing internal.
pub fn internal(e: worker::Error) -> ApiError {
    worker::console_error!("internal error: {e}");
    ApiError::new(
        500,
        "internal_error",
        "something went wrong on our side; the request changed nothing it could not finish",
    )
}

/// A JSON answer as an [`Answer`].
pub fn ok_json<T: serde::Serialize>(status: u16, value: &T) -> Answer {
    http::json(status, value).map_err(internal)
}

/// Unwraps a platform result into an API error.
pub trait OrInternal<T> {
    /// `Err` becomes a 500.
    fn or_500(self) -> std::result::Result<T, ApiError>;
}

impl<T> OrInternal<T> for Result<T> {
    fn or_500(self) -> std::result::Result<T, ApiError> {
        self.map_err(internal)
    }
}
