//! What every handler works with: settings, the database, the gateway, the log context.

use checkout_api::{ApiError, ErrorCode};
use worker::{Env, Response, Result};

use crate::config::Settings;
use crate::context::Ctx;
use crate::gateway::Gateway;
use crate::http;
use crate::store::Store;

/// One request's (or one sweep's) view of the worker.
pub struct App<'a> {
    pub env: &'a Env,
    pub settings: std::rc::Rc<Settings>,
    pub store: Store,
    pub ctx: &'a Ctx,
    /// True inside the settler itself, which plans its own next alarm after each sweep.
    pub in_settler: bool,
}

impl App<'_> {
    /// The gateway client.
    pub fn gateway(&self) -> Gateway<'_> {
        Gateway { env: self.env, settings: &self.settings, ctx: self.ctx }
    }

    /// Asks the merchant's settler to sweep by `at` (Unix ms): a new obligation exists. A
    /// failure is only logged: the settler's heartbeat and the cron trigger still find it.
    pub async fn wake_settler(&self, at: u64) {
        if self.in_settler {
            return;
        }
        if let Err(e) = crate::settler::wake(self.env, &self.settings, at).await {
            worker::console_error!("could not wake the settler: {e}");
        }
    }

    /// Wakes the widgets waiting on every session this request (or sweep) changed. Called
    /// once the handler is done, so every change it made is in D1 when they read again. A
    /// failure is only logged: a waiting widget reads the status when its wait runs out.
    pub async fn announce_changes(&self) {
        for session in self.store.take_changed() {
            if let Err(e) = crate::watch::changed(self.env, &session).await {
                worker::console_error!("could not wake the session's watch: {e}");
            }
        }
    }
}

/// A handler's result: an answer, or an API error to send as one.
pub type Answer = std::result::Result<Response, ApiError>;

/// Turns a storage or platform failure into a 500 that names nothing internal.
pub fn internal(e: worker::Error) -> ApiError {
    worker::console_error!("internal error: {e}");
    ApiError::new(
        ErrorCode::InternalError,
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
