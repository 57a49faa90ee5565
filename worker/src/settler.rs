//! The settler: one Durable Object per merchant whose alarm drives every open obligation to
//! its end with nobody watching (no browser, no merchant call): open attempts queried on their
//! schedule (batched), QR codes closed when a session is over, refunds with an unknown outcome
//! queried or re-sent identically, refunds refused in the nightly blackout sent again, webhooks
//! delivered and re-delivered, stuck idempotency keys freed, and a periodic reconciliation by
//! time window.
//!
//! Why an alarm and not only a Cron Trigger: an alarm fires at the moment the next obligation
//! is due (a QR code closes when its session expires, not up to a minute later), runs one sweep
//! at a time per merchant (so two sweeps never send the same query), and runs under
//! `wrangler dev` by itself. The cron trigger (every minute) only wakes the settler, as a
//! backstop should an alarm ever be lost.

use checkout_api::ApiError;
use worker::{durable_object, DurableObject, Env, Request, Response, Result, State};

use crate::app::App;
use crate::clock;
use crate::config::Settings;
use crate::context::Ctx;
use crate::store::Store;
use crate::sweep::{self, RECONCILE_WINDOW_MS};

/// The settler wakes at least this often (ms), to reconcile and as a heartbeat.
const HEARTBEAT_MS: u64 = 60_000;
/// Two sweeps are at least this far apart (ms), so a busy merchant's sweeps batch their work.
const MIN_GAP_MS: u64 = 1_000;
/// How often the reconciliation query runs (ms).
const RECONCILE_EVERY_MS: u64 = 10 * 60_000;
/// Where the last reconciliation's time is kept.
const RECONCILED_KEY: &str = "reconciled_at";
/// Storage key: when the last retention run was (it runs every 10 minutes, busy or not).
const PURGED_KEY: &str = "purged_at";

// The macro generates public glue without docs.
#[allow(missing_docs)]
mod glue {
    use super::*;

    /// The settler's state: the platform's alarm and storage, and the worker's bindings.
    #[durable_object(alarm)]
    pub struct Settler {
        pub(super) state: State,
        pub(super) env: Env,
    }
}
pub use glue::Settler;

/// Asks the settler of this deployment's merchant to sweep by `at`.
pub async fn wake(env: &Env, settings: &Settings, at: u64) -> Result<()> {
    let stub = env.durable_object("SETTLER")?.id_from_name(&settings.gateway.credentials.appcode)?.get_stub()?;
    stub.fetch_with_str(&format!("https://settler/wake?at={at}")).await?;
    Ok(())
}

impl DurableObject for Settler {
    fn new(state: State, env: Env) -> Self {
        Settler { state, env }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        // For the clock's offset (tests only); a misconfigured worker still arms its settler.
        let _ = Settings::load(&self.env);
        let url = req.url()?;
        let at = url.query_pairs().find(|(k, _)| k == "at").and_then(|(_, v)| v.parse::<u64>().ok());
        let at = at.unwrap_or_else(clock::now_ms);
        self.arm(at).await?;
        Response::ok("armed")
    }

    async fn alarm(&self) -> Result<Response> {
        let next = match self.sweep().await {
            Ok(next) => next,
            Err(e) => {
                worker::console_error!("settler: sweep failed ({}); trying again shortly", e.message);
                None
            }
        };
        let now = clock::now_ms();
        let at = next.unwrap_or(now + HEARTBEAT_MS).clamp(now + MIN_GAP_MS, now + HEARTBEAT_MS);
        // A wake during the sweep (a new attempt's first check, armed while its row was being
        // written) may want an earlier alarm than the sweep's read of what is due saw: keep it.
        let armed = self.state.storage().get_alarm().await.ok().flatten().map(|ms| ms as u64);
        let woken_earlier = armed.is_some_and(|a| a > clock::to_real_ms(now) && a <= clock::to_real_ms(at));
        if !woken_earlier {
            self.state.storage().set_alarm(at.saturating_sub(now) as i64).await?;
        }
        Response::ok("swept")
    }
}

impl Settler {
    /// Makes sure the alarm fires by `at`.
    async fn arm(&self, at: u64) -> Result<()> {
        let current = self.state.storage().get_alarm().await?;
        let now = clock::now_ms();
        if current.is_none_or(|c| c as u64 > clock::to_real_ms(at)) {
            self.state.storage().set_alarm(at.saturating_sub(now) as i64).await?;
        }
        Ok(())
    }

    /// One sweep; returns when the next obligation falls due.
    async fn sweep(&self) -> std::result::Result<Option<u64>, ApiError> {
        let settings = Settings::load(&self.env).map_err(|p| p.to_error())?;
        let db = self.env.d1("DB").map_err(crate::app::internal)?;
        let ctx = Ctx::default();
        let app = App { env: &self.env, settings, store: Store::new(db), ctx: &ctx, in_settler: true };
        let now = clock::now_ms();
        let last: u64 = self.state.storage().get(RECONCILED_KEY).await.ok().flatten().unwrap_or(0);
        let reconcile = now >= last + RECONCILE_EVERY_MS
            && app.store.attempts_since(now - RECONCILE_WINDOW_MS).await.unwrap_or(false);
        let last_purge: u64 = self.state.storage().get(PURGED_KEY).await.ok().flatten().unwrap_or(0);
        let purge = now >= last_purge + RECONCILE_EVERY_MS;
        let started = clock::now_ms();
        let report = sweep::run(&app, reconcile, purge).await;
        // Widgets waiting on a session the sweep changed (an attempt found paid or closed, a
        // session over) hear of it now.
        app.announce_changes().await;
        let report = report?;
        if reconcile {
            let _ = self.state.storage().put(RECONCILED_KEY, now).await;
        }
        if purge {
            let _ = self.state.storage().put(PURGED_KEY, now).await;
        }
        worker::console_log!(
            "{}",
            serde_json::json!({"settler": report, "upstream_respcd": ctx.upstream_codes(), "duration_ms": clock::now_ms() - started})
        );
        app.store.earliest_obligation(app.settings.webhook.is_some()).await.map_err(crate::app::internal)
    }
}
