//! The session watch: one Durable Object per checkout session that holds the widget's waiting
//! status requests (`Prefer: wait=N`) and is woken when the session or one of its attempts
//! changes, so the widget hears "paid" the moment the notification is applied, without polling.
//!
//! It keeps no storage and reads no database: the worker's status handler reads D1, asks the
//! watch to hold it (`/wait`), and reads D1 again once woken. Whatever writes a session's or
//! attempt's state (notifications, the settler, the merchant API, the till) goes through the
//! store, which notes the session; the request's (or sweep's) end announces it here
//! (`/changed`, see [`crate::app::App::announce_changes`]).
//!
//! A change announced between the handler's read and its wait must not be missed: the watch
//! remembers when it was last told of a change, and a wait that started from a read older than
//! that (less a margin for the two machines' clocks) returns at once. A false "changed" costs one
//! more read; a missed one would cost a whole wait. Should the object be evicted between a change
//! and a wait, the wait simply runs its time and the widget reads the status then.

use std::cell::{Cell, RefCell};
use std::time::Duration;

use futures_util::future::{select, Either};
use worker::js_sys::{Function, Promise};
use worker::wasm_bindgen::JsValue;
use worker::wasm_bindgen_futures::JsFuture;
use worker::{durable_object, DurableObject, Env, Request, Response, Result, State};

/// The most waits one session holds at once: a shopper's tab or two, with room for a reload.
/// Past it a wait is answered at once (the widget then spaces its requests like a poll), so a
/// client cannot pile up open requests on one session.
const MAX_WAITERS: usize = 4;

/// How far apart the worker's and the watch's clocks may be (ms): a change this close before
/// the handler's read counts as possibly unseen.
const CLOCK_MARGIN_MS: u64 = 1_000;

/// The binding's name in `wrangler.toml`.
const BINDING: &str = "SESSION_WATCH";

/// How a wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waited {
    /// A change was announced: read again.
    Changed,
    /// Nothing changed within the time asked.
    TimedOut,
    /// The session holds as many waits as it may; answered without waiting.
    Busy,
}

// The macro generates public glue without docs.
#[allow(missing_docs)]
mod glue {
    use super::*;

    /// The waits held for one session, and when it last changed (platform ms, 0: not since
    /// this object started).
    #[durable_object(fetch)]
    pub struct SessionWatch {
        pub(super) waiters: RefCell<Vec<(u64, Function)>>,
        pub(super) next_id: Cell<u64>,
        pub(super) changed_at: Cell<u64>,
    }
}
pub use glue::SessionWatch;

/// The platform's clock (not the tests' moved one: both ends of a wait read the same kind).
fn real_now() -> u64 {
    worker::Date::now().as_millis()
}

impl DurableObject for SessionWatch {
    fn new(_state: State, _env: Env) -> Self {
        SessionWatch { waiters: RefCell::new(Vec::new()), next_id: Cell::new(0), changed_at: Cell::new(0) }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        let url = req.url()?;
        let number = |name: &str| url.query_pairs().find(|(k, _)| k == name).and_then(|(_, v)| v.parse::<u64>().ok());
        match url.path() {
            "/changed" => {
                self.changed_at.set(real_now());
                for (_, wake) in self.waiters.borrow_mut().drain(..) {
                    let _ = wake.call0(&JsValue::NULL);
                }
                Response::ok("woken")
            }
            "/wait" => {
                let since = number("since").unwrap_or(0);
                if self.changed_at.get() + CLOCK_MARGIN_MS >= since && self.changed_at.get() > 0 {
                    return Response::ok("changed");
                }
                if self.waiters.borrow().len() >= MAX_WAITERS {
                    return Response::ok("busy");
                }
                let ms = number("ms").unwrap_or(0).min(u64::from(checkout_api::wait::MAX_WAIT_SECONDS) * 1000);
                Response::ok(if self.hold(ms).await { "changed" } else { "timeout" })
            }
            _ => Response::error("no such path", 404),
        }
    }
}

impl SessionWatch {
    /// Holds until a change is announced (true) or `ms` pass (false).
    async fn hold(&self, ms: u64) -> bool {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        let mut resolve = None;
        let woken = Promise::new(&mut |yes, _no| resolve = Some(yes));
        let Some(resolve) = resolve else { return false };
        self.waiters.borrow_mut().push((id, resolve));
        let timeout = std::pin::pin!(worker::Delay::from(Duration::from_millis(ms)));
        let woken = matches!(select(JsFuture::from(woken), timeout).await, Either::Left(_));
        self.waiters.borrow_mut().retain(|(i, _)| *i != id);
        woken
    }
}

fn stub(env: &Env, session_id: &str) -> Result<worker::Stub> {
    env.durable_object(BINDING)?.id_from_name(session_id)?.get_stub()
}

/// Waits up to `seconds` for a change of `session_id` announced after `read_at` (platform ms
/// when the caller's read began).
pub async fn wait(env: &Env, session_id: &str, read_at: u64, seconds: u32) -> Result<Waited> {
    let ms = u64::from(seconds) * 1000;
    let mut answer =
        stub(env, session_id)?.fetch_with_str(&format!("https://watch/wait?since={read_at}&ms={ms}")).await?;
    Ok(match answer.text().await?.as_str() {
        "changed" => Waited::Changed,
        "busy" => Waited::Busy,
        _ => Waited::TimedOut,
    })
}

/// The moment a status read starts, as [`wait`]'s `read_at` takes it.
pub fn read_started() -> u64 {
    real_now()
}

/// Wakes every wait held for `session_id`.
pub async fn changed(env: &Env, session_id: &str) -> Result<()> {
    stub(env, session_id)?.fetch_with_str("https://watch/changed").await?;
    Ok(())
}
