//! The edge signing endpoint: a Cloudflare Worker that holds the QFPay client key and nothing
//! else does. It serves the merchant server's API, the widget's API and the gateway's
//! notifications; D1 keeps sessions, attempts and refunds; a Durable Object per merchant keeps
//! upstream calls within QFPay's rate limits. Static files (the widget, the demo shop) are
//! served by the platform's assets binding.

use checkout_api::{ApiError, ErrorCode};
use worker::{event, web_sys, Context, Env, Method, Request, Response, Result, ScheduleContext, ScheduledEvent};

mod app;
mod checkout;
mod clock;
mod config;
mod context;
mod cors;
mod demo;
mod faults;
mod feed;
mod gate;
mod gateway;
mod head;
mod http;
mod limits;
mod listing;
mod merchant;
mod notify;
mod openapi;
mod outbox;
mod pay;
mod random;
mod refusal_log;
mod refused_recently;
mod request_id;
mod resolve;
mod settle;
mod settler;
mod store;
mod sweep;
mod till;
mod watch;
mod webhooks;

pub use gate::UpstreamGate;
pub use settler::Settler;
pub use watch::SessionWatch;

use app::{Answer, App};
use config::Settings;
use context::Ctx;
use head::Head;
use store::Store;

/// Takes the platform's request as it is: it is converted to a [`Request`] only once the limits
/// have let it through (see [`head`]).
#[event(fetch)]
async fn fetch(raw: web_sys::Request, env: Env, _ctx: Context) -> Result<Response> {
    let started = clock::now_ms();
    let head = Head::of(&raw);
    let (method, path) = (head.method.to_string(), head.path.clone());
    let request_id = request_id::draw();
    let ctx = Ctx::new(&request_id);
    let origin = head.header("Origin");
    let settings = Settings::load(&env);
    let (response, rate_limited) = match route(raw, &head, &env, &ctx, settings).await {
        Ok(resp) => (request_id::stamp(resp, &request_id).await?, false),
        Err(mut e) => {
            e.request_id = Some(request_id.clone());
            (request_id::header(http::error(&e)?, &request_id)?, e.code == ErrorCode::RateLimited.code())
        }
    };
    let response = cors::decorate(response, &path, origin.as_deref())?;
    let now = clock::now_ms();
    let unlogged = if rate_limited { refusal_log::take(now) } else { Some(0) };
    if let Some(unlogged) = unlogged {
        worker::console_log!(
            "{}",
            ctx.log_line(&method, &path, response.status_code(), now.saturating_sub(started), unlogged)
        );
    }
    Ok(response)
}

async fn route(
    raw: web_sys::Request,
    head: &Head,
    env: &Env,
    ctx: &Ctx,
    settings: std::result::Result<std::rc::Rc<Settings>, config::SettingProblem>,
) -> Answer {
    let path = &head.path;
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    if segments == ["healthz"] {
        return health(settings.as_ref().err());
    }
    if segments == ["openapi.json"] && head.method == Method::Get {
        return openapi::serve();
    }
    let settings = settings.map_err(|p| p.to_error())?;
    match segments.as_slice() {
        ["v1", "checkout", rest @ ..] => {
            // A preflight changes nothing and is answered for every origin, so that a refused
            // one's request goes on to read its 403 (see `cors`).
            if head.method == Method::Options {
                return Response::empty().map(|r| r.with_status(204)).map_err(app::internal);
            }
            cors::check(head, &settings)?;
            // A payment with its session's secret (checked by HMAC, no read) is counted against
            // its client's payments here, with the other limits and before anything is read:
            // the many-sessions abuser's refusals then cost no D1 query. Any other is counted by
            // the handler once the session is read and the secret checked there.
            let pay_client = match rest {
                [id, "pay"] if head.method == Method::Post => {
                    limits::pay_client(&head.headers).filter(|_| holds_secret(&settings, head, id))
                }
                _ => None,
            };
            limits::checkout(env, &head.headers, rest.first().copied(), pay_client.as_deref()).await?;
            if pay_client.is_some() {
                ctx.note_pay_counted(pay_client);
            }
        }
        // Every merchant route checks the key again; this is where wrong keys are counted.
        ["v1", "sessions" | "refunds" | "events" | "notifications" | "health", ..] => {
            limits::merchant(env, &settings, &head.headers).await?;
        }
        _ => {}
    }
    let db = env.d1("DB").map_err(app::internal)?;
    let app = App { env, settings, store: Store::new(db), ctx, in_settler: false };
    let answer = handle(&app, Request::from(raw), &segments, path).await;
    app.announce_changes().await;
    ctx.note_d1_queries(app.store.queries());
    answer
}

/// Whether the request's bearer token is the secret the merchant's API gave session `id`
/// (derived, so no read is needed; compared in constant time).
fn holds_secret(settings: &Settings, head: &Head, id: &str) -> bool {
    head::bearer(&head.headers).is_some_and(|given| settings.merchant_keys.opens_session(id, &given))
}

/// The route's handler.
async fn handle(app: &App<'_>, req: Request, segments: &[&str], path: &str) -> Answer {
    match (req.method(), segments) {
        (Method::Post, ["v1", "sessions"]) => merchant::create_session(app, req).await,
        (Method::Get, ["v1", "sessions"]) => listing::list_sessions(app, req).await,
        (Method::Get, ["v1", "sessions", id]) => merchant::get_session(app, req, id).await,
        (Method::Post, ["v1", "sessions", id, "refunds"]) => merchant::create_refund(app, req, id).await,
        (Method::Post, ["v1", "sessions", id, "close"]) => merchant::close_session(app, req, id).await,
        (Method::Post, ["v1", "refunds", id, "resolve"]) => resolve::resolve_refund(app, req, id).await,
        (Method::Post, ["v1", "sessions", id, "charge"]) => till::charge(app, req, id).await,
        (Method::Get, ["v1", "events"]) => feed::list(app, req).await,
        (Method::Get, ["v1", "notifications"]) => feed::unmatched_notifications(app, req).await,
        (Method::Get, ["v1", "health"]) => feed::health(app, req).await,
        (Method::Get, ["v1", "events", id]) => feed::get(app, req, id).await,
        (Method::Post, ["v1", "events", id, "resend"]) => feed::resend(app, req, id).await,
        (Method::Get, ["v1", "checkout", id]) => checkout::get_checkout(app, req, id).await,
        (Method::Post, ["v1", "checkout", id, "pay"]) => checkout::pay(app, req, id).await,
        (Method::Get, ["v1", "checkout", id, "status"]) => checkout::status(app, req, id).await,
        (Method::Post, ["v1", "qfpay", "notify"]) => notify::receive(app, req).await,
        (Method::Post, ["demo", "sessions"]) if app.settings.demo_enabled() => demo::create_session(app).await,
        _ => Err(ApiError::new(ErrorCode::NotFound, format!("no route for {} {path}", req.method()))),
    }
}

/// The cron trigger (every minute, `wrangler.toml`): a backstop that wakes the settler, should
/// its alarm ever be lost. The settler does the work.
#[event(scheduled)]
async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    match Settings::load(&env) {
        Ok(settings) => {
            if let Err(e) = settler::wake(&env, &settings, clock::now_ms()).await {
                worker::console_error!("cron: could not wake the settler: {e}");
            }
        }
        Err(p) => worker::console_error!("cron: the worker is not configured: {} {}", p.setting, p.problem),
    }
}

fn health(problem: Option<&config::SettingProblem>) -> Answer {
    match problem {
        None => app::ok_json(200, &serde_json::json!({"ok": true})),
        Some(p) => app::ok_json(
            503,
            &serde_json::json!({"ok": false, "problem": {"setting": p.setting, "problem": p.problem}}),
        ),
    }
}
