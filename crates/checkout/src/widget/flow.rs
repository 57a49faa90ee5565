//! The flow of a checkout: load the session, start an attempt when the shopper chooses a
//! wallet (of the product [`choice::plan`] picks for this device), then poll its status until
//! [`poll::decide`] settles it (waiting on the worker for each change, polling when a wait
//! fails: see [`poll`]), and show each step's screen.
//!
//! Requests do not hold the widget's state while they wait: the widget may be destroyed, or
//! the shopper may choose again, before an answer comes. Each attempt has a generation number,
//! and an answer for an older one is dropped. Answers come to callbacks (see `api`), always
//! after the call that asked returned, so no caller is still borrowing the state then.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use checkout_api::views::{CheckoutView, PayAnswer, UnixSeconds};
use checkout_api::{ErrorCode, SessionStatus};
use gloo_events::EventListener;
use gloo_timers::callback::Timeout;
use wasm_bindgen::JsValue;

use super::screens::{show_checking, show_choices, show_hand_off, show_message, show_outcome, show_qr, Outcome};
use super::{emit, now, Attempt, Inner, Shared};
use crate::api::{self, CallError};
use crate::choice::{self, Device, Plan};
use crate::dom;
use crate::explain::{self, Problem};
use crate::i18n::Text;
use crate::poll::{self, Action, Decision, Poller, TIMEOUT_MS, WAIT_SECONDS, WAIT_TIMEOUT_MS};
use crate::read;

/// A User Timing mark, for the page's (and the benchmarks') performance measurements.
fn mark(name: &str) {
    if let Some(perf) = dom::window().and_then(|w| w.performance()) {
        let _ = perf.mark(name);
    }
}

fn url(inner: &Inner, suffix: &str) -> String {
    [inner.options.endpoint.trim_end_matches('/'), "/v1/checkout/", &inner.options.session, suffix].concat()
}

/// What an answer is handed to, with the widget, when the widget is still there.
type Then = Box<dyn FnOnce(&Shared, Result<JsValue, CallError>)>;

/// Sends one request to the session's `suffix` path, asking the worker to hold the answer
/// until the status changes when `wait`. `then` is not called when the widget was dropped or
/// destroyed before the answer came (then nothing is left to act on it).
fn ask(weak: Weak<RefCell<Inner>>, method: &str, suffix: &str, body: Option<String>, wait: bool, then: Then) {
    let Some(shared) = weak.upgrade() else { return };
    let (address, secret) = {
        let inner = shared.borrow();
        // Destroyed (a page listener may do it synchronously, in `qfpay:select`): nothing is
        // sent, so no attempt is started for a widget that is gone.
        if inner.destroyed {
            return;
        }
        (url(&inner, suffix), inner.options.secret.clone())
    };
    let (timeout, wait) = if wait { (WAIT_TIMEOUT_MS, Some(WAIT_SECONDS)) } else { (TIMEOUT_MS, None) };
    api::call(method, &address, &secret, body, timeout as u32, wait, back(weak, then));
}

/// An answer's callback that hands it on with the widget, unless the widget was dropped or
/// destroyed meanwhile.
fn back(weak: Weak<RefCell<Inner>>, then: Then) -> api::Answer {
    Box::new(move |result| {
        let Some(shared) = weak.upgrade() else { return };
        if shared.borrow().destroyed {
            return;
        }
        then(&shared, result);
    })
}

/// False once the shopper has moved on from the attempt of `generation`.
fn is_current(shared: &Shared, generation: u64) -> bool {
    shared.borrow().generation == generation
}

/// Loads the session, then shows what fits its status.
pub(super) fn load(weak: Weak<RefCell<Inner>>) {
    // The loader may have started this request while the wasm compiled: its answer, once.
    let prefetched = weak.upgrade().and_then(|s| s.borrow_mut().options.prefetch.take());
    match prefetched {
        Some(pending) => api::answer(pending, back(weak, Box::new(loaded))),
        None => ask(weak, "GET", "", None, false, Box::new(loaded)),
    }
}

/// The session's answer: shows what fits its status.
fn loaded(shared: &Shared, result: Result<JsValue, CallError>) {
    let view = match result.map(|v| read::checkout(&v)) {
        Ok(Some(view)) => view,
        Ok(None) => return fail(shared, Outcome::LoadError, unreadable()),
        Err(e) => return fail(shared, Outcome::LoadError, problem_of(shared, &e)),
    };
    let status = view.status;
    // Back from the wallet's page before the gateway confirmed the payment: watch that attempt
    // rather than offer the wallets again (a shopper shown the list might pay twice).
    let returning = view.attempt.as_ref().is_some_and(|a| a.status.is_open() && a.redirect_url.is_some());
    // A QR code still open (the widget was restarted, or the page reloaded, while it was on
    // screen): show it again with its countdown, for the same reason.
    let open_qr = resumable_qr(shared, &view);
    shared.borrow_mut().checkout = Some(view);
    match status {
        SessionStatus::Open if open_qr.is_some() => {
            if let Some((attempt, qrcode)) = open_qr {
                resume_qr(shared, attempt, &qrcode);
            }
            mark("qfpay:interactive");
            emit(shared, "qfpay:ready", "open");
        }
        SessionStatus::Open if returning => {
            show_checking(shared);
            start_polling(shared);
            mark("qfpay:interactive");
            emit(shared, "qfpay:ready", "open");
        }
        SessionStatus::Open => {
            show_choices(shared);
            mark("qfpay:interactive");
            emit(shared, "qfpay:ready", "open");
        }
        SessionStatus::Paid => show_outcome(shared, Outcome::Paid),
        // Closing: over, though a QR code shown before may still be paid; the merchant
        // hears of that payment by webhook.
        SessionStatus::Closing | SessionStatus::Expired | SessionStatus::Closed | SessionStatus::Reversed => {
            show_outcome(shared, Outcome::SessionOver)
        }
    }
}

/// The session's open QR attempt, when it has one that has not expired, as the widget's
/// [`Attempt`] (its wallet found among the session's pay types) and the code to draw.
fn resumable_qr(shared: &Shared, view: &CheckoutView) -> Option<(Attempt, String)> {
    let open =
        view.attempt.as_ref().filter(|a| a.status.is_open() && crate::format::ms_until(a.expires_at, now()) > 0)?;
    let qrcode = open.qrcode.clone()?;
    let wallet =
        choice::wallets(&view.pay_types).into_iter().find(|w| w.options.iter().any(|o| o.pay_type == open.pay_type))?;
    let name = shared.borrow().texts.wallet(&wallet.code, &wallet.name).to_owned();
    let attempt = Attempt {
        id: open.id.clone(),
        wallet_code: wallet.code,
        wallet: name,
        plan: choice::qr_plan(&open.pay_type),
        expires_at: open.expires_at,
    };
    Some((attempt, qrcode))
}

/// Puts `attempt`'s QR code back on screen, with its countdown, and watches its status.
fn resume_qr(shared: &Shared, attempt: Attempt, qrcode: &str) {
    {
        let mut inner = shared.borrow_mut();
        inner.generation += 1;
        inner.attempt = Some(attempt);
    }
    show_qr(shared, qrcode);
    start_polling(shared);
}

/// The device, as [`choice::plan`] needs to know it: its primary pointer, and how narrow it
/// is. The width is the viewport's, but no more than the screen's shorter side: a phone lays
/// out a page without `<meta name="viewport">` 980 px wide, and a phone held sideways is wide
/// too, and either is still a phone.
fn device() -> Device {
    let Some(window) = dom::window() else { return Device { coarse_pointer: false, viewport_width: u32::MAX } };
    let coarse_pointer = window.match_media("(pointer: coarse)").ok().flatten().is_some_and(|m| m.matches());
    let viewport = window.inner_width().ok().and_then(|v| v.as_f64()).unwrap_or(f64::MAX);
    let screen = window.screen().ok().and_then(|s| Some(s.width().ok()?.min(s.height().ok()?))).unwrap_or(i32::MAX);
    Device { coarse_pointer, viewport_width: viewport.min(f64::from(screen)) as u32 }
}

/// The shopper chose the wallet `wallet_code`: start the product that fits this device.
pub(super) fn choose(shared: &Shared, wallet_code: &str) {
    let chosen = {
        let inner = shared.borrow();
        inner.checkout.as_ref().and_then(|c| {
            let wallet = choice::wallets(&c.pay_types).into_iter().find(|w| w.code == wallet_code)?;
            let plan = choice::plan(&wallet.options, device())?;
            Some((inner.texts.wallet(&wallet.code, &wallet.name).to_owned(), plan))
        })
    };
    if let Some((name, plan)) = chosen {
        start(shared, wallet_code.to_owned(), name, plan);
    }
}

/// Drops any attempt on screen and asks the worker for a new one of `plan`'s pay type.
pub(super) fn start(shared: &Shared, wallet_code: String, wallet: String, plan: Plan) {
    let generation = {
        let mut inner = shared.borrow_mut();
        if inner.destroyed {
            return;
        }
        inner.generation += 1;
        inner.poll_timer = None;
        inner.countdown = None;
        inner.poller = None;
        inner.attempt = Some(Attempt {
            id: String::new(),
            wallet_code,
            wallet,
            plan: plan.clone(),
            expires_at: UnixSeconds::default(),
        });
        inner.generation
    };
    emit(shared, "qfpay:select", "selected");
    // The page's listener may have destroyed or restarted the widget.
    let still_this = {
        let inner = shared.borrow();
        !inner.destroyed && inner.generation == generation
    };
    if !still_this {
        return;
    }
    show_message(shared, Text::Preparing);
    start_attempt(Rc::downgrade(shared), plan.pay_type, generation);
}

fn start_attempt(weak: Weak<RefCell<Inner>>, pay_type: String, generation: u64) {
    let body = ["{\"pay_type\":\"", &pay_type, "\"}"].concat();
    let then = Box::new(move |shared: &Shared, result| attempt_answered(shared, result, pay_type, generation));
    ask(weak, "POST", "/pay", Some(body), false, then);
}

/// The worker's answer to a new attempt of `pay_type`.
fn attempt_answered(shared: &Shared, result: Result<JsValue, CallError>, pay_type: String, generation: u64) {
    if !is_current(shared, generation) {
        return;
    }
    match result {
        Ok(value) => match read::pay_answer(&value) {
            Some(answer) => follow(shared, answer),
            None => fail(shared, Outcome::Error, unreadable()),
        },
        Err(CallError { status: 402, .. }) => show_outcome(shared, Outcome::Failed),
        // Paid or over meanwhile (another tab, the merchant): ask the status to say which.
        Err(CallError { code, .. })
            if is(&code, const { ErrorCode::AlreadyPaid.code() })
                || is(&code, const { ErrorCode::SessionNotOpen.code() }) =>
        {
            refresh_once(shared)
        }
        // The gateway is still confirming (never a refusal): wait for the status to say.
        Err(CallError { code, .. }) if is(&code, const { ErrorCode::PaymentPending.code() }) => {
            show_message(shared, Text::Checking);
            start_polling(shared);
        }
        // This session has had as many attempts as one may: nothing more to try here.
        Err(CallError { code, .. }) if is(&code, const { ErrorCode::TooManyAttempts.code() }) => {
            show_message(shared, Text::TooManyAttempts)
        }
        // Too soon after the last try, or too many requests: say so, then offer the list again.
        // Another attempt started a moment ago ("QR instead" tapped at once): start this one
        // as soon as the worker allows, rather than send the shopper back to the list.
        Err(CallError { code, .. }) if is(&code, const { ErrorCode::AttemptTooSoon.code() }) => {
            show_message(shared, Text::WaitAMoment);
            let weak = Rc::downgrade(shared);
            Timeout::new(RETRY_SOON_MS, move || {
                if weak.upgrade().is_some_and(|s| is_current(&s, generation) && !s.borrow().destroyed) {
                    start_attempt(weak, pay_type, generation);
                }
            })
            .forget();
        }
        Err(CallError { status: 429, .. }) => {
            show_message(shared, Text::WaitAMoment);
            let weak = Rc::downgrade(shared);
            Timeout::new(WAIT_A_MOMENT_MS, move || {
                if let Some(s) = weak.upgrade().filter(|s| is_current(s, generation) && !s.borrow().destroyed) {
                    show_choices(&s);
                }
            })
            .forget();
        }
        Err(e) => fail(shared, Outcome::Error, problem_of(shared, &e)),
    }
}

/// What a failed call tells the developer, with this widget's endpoint, session and page.
fn problem_of(shared: &Shared, e: &CallError) -> Problem {
    let inner = shared.borrow();
    let origin = dom::window().and_then(|w| w.location().origin().ok()).unwrap_or_default();
    let at = explain::Context { endpoint: &inner.options.endpoint, session: &inner.options.session, origin: &origin };
    explain::call(e.status, &e.code, &e.message, e.request_id.as_deref(), &at)
}

fn unreadable() -> Problem {
    explain::own("unreadable_answer", "the worker's answer could not be read: is `endpoint` a worker of this version?")
}

/// Shows an error outcome after logging what to check, once, for the developer; the
/// `qfpay:error` it fires carries the same code and message.
fn fail(shared: &Shared, outcome: Outcome, problem: Problem) {
    super::texts::console_error(&explain::console_line(&problem));
    shared.borrow_mut().problem = Some(problem);
    show_outcome(shared, outcome);
}

/// When a refused-too-soon attempt is asked again (ms): the worker spaces attempts 1 s apart.
const RETRY_SOON_MS: u32 = 1_100;

/// How long "wait a moment" shows before the list comes back (ms).
const WAIT_A_MOMENT_MS: u32 = 2_000;

/// Whether `code` is `wanted`, an `ErrorCode`'s code evaluated at compile time (`const {}`),
/// so that only the codes the flow acts on are in the download, not the whole table.
fn is(code: &str, wanted: &str) -> bool {
    code == wanted
}

/// Takes the shopper where the new attempt is paid: the wallet's page, or a QR code to scan.
fn follow(shared: &Shared, answer: PayAnswer) {
    if let Some(a) = shared.borrow_mut().attempt.as_mut() {
        a.id = answer.attempt_id;
        a.expires_at = answer.expires_at;
    }
    if let Some(redirect) = answer.redirect_url {
        // The worker checks the gateway's URL too; this page checks again before it leaves,
        // because a `javascript:` (or `data:`) URL would run in the merchant's page.
        if !may_navigate(&redirect) {
            let why = "the wallet's page is not an https: URL; the widget does not follow it";
            return fail(shared, Outcome::Error, explain::own("bad_redirect", why));
        }
        // A wallet's page may open in its app and leave this page where it is: polling finds
        // the payment when the shopper comes back.
        let hand_off = shared.borrow().attempt.as_ref().is_some_and(|a| a.plan.hand_off);
        if hand_off {
            // On a phone the shopper follows a link: a tap on a link (not a script's
            // navigation) is what lets a wallet's page open in its app.
            show_hand_off(shared, &redirect);
            start_polling(shared);
        } else {
            show_message(shared, Text::Redirecting);
            start_polling(shared);
            if let Some(w) = dom::window() {
                let _ = w.location().assign(&redirect);
            }
        }
    } else if let Some(code) = answer.qrcode {
        show_qr(shared, &code);
        start_polling(shared);
        mark("qfpay:qr-shown");
        emit(shared, "qfpay:qr", "pending");
    } else {
        fail(shared, Outcome::Error, unreadable());
    }
}

/// Whether the widget may send the shopper to `url`: an `https:` URL, or an `http:` one on
/// this machine (`127.0.0.1`, `[::1]`, `localhost`: the local simulator's wallet pages).
/// Anything else, and anything a browser would read differently from this check (spaces,
/// control or non-ASCII characters, a backslash, user info before the host), is refused.
/// On bytes, without indexing that could panic: string slicing's panic messages would add
/// kilobytes to the download.
fn may_navigate(url: &str) -> bool {
    let url = url.as_bytes();
    if url.iter().any(|&b| b <= b' ' || b >= 0x7f || b == b'\\') {
        return false;
    }
    let after = |prefix: &[u8]| {
        let (head, rest) = (url.get(..prefix.len())?, url.get(prefix.len()..)?);
        head.eq_ignore_ascii_case(prefix).then_some(rest)
    };
    let (rest, secure) = match (after(b"https://"), after(b"http://")) {
        (Some(rest), _) => (rest, true),
        (None, Some(rest)) => (rest, false),
        (None, None) => return false,
    };
    let authority = rest.split(|&b| matches!(b, b'/' | b'?' | b'#')).next().unwrap_or_default();
    if authority.is_empty() || authority.contains(&b'@') {
        return false;
    }
    if secure {
        return true;
    }
    let host = match authority.strip_prefix(b"[") {
        Some(v6) => v6.split(|&b| b == b']').next().unwrap_or_default(),
        None => authority.iter().rposition(|&b| b == b':').and_then(|i| authority.get(..i)).unwrap_or(authority),
    };
    [&b"127.0.0.1"[..], b"::1", b"localhost"].iter().any(|local| host.eq_ignore_ascii_case(local))
}

/// Stops the attempt on screen: its polling, its countdown and any answer still to come.
pub(super) fn stop_attempt(shared: &Shared) {
    let mut inner = shared.borrow_mut();
    inner.generation += 1;
    inner.poll_timer = None;
    inner.countdown = None;
    if let Some(p) = inner.poller.as_mut() {
        p.stop();
    }
}

/// Tells the poller when the tab is hidden or shown again.
pub(super) fn watch_visibility(shared: &Shared) {
    let document = dom::document();
    let weak = Rc::downgrade(shared);
    let listener = EventListener::new(&document, "visibilitychange", move |_| {
        let Some(s) = weak.upgrade() else { return };
        let hidden = dom::document().hidden();
        step(&s, |p| p.on_visibility(now(), hidden));
    });
    shared.borrow_mut().visibility = Some(listener);
}

fn start_polling(shared: &Shared) {
    let action = {
        let mut inner = shared.borrow_mut();
        let mut poller = Poller::waiting(now(), dom::document().hidden());
        let action = poller.tick(now());
        inner.poller = Some(poller);
        action
    };
    drive(shared, action);
}

/// Tells the poller something and carries out its answer. The borrow ends first, because
/// carrying it out borrows again.
fn step(shared: &Shared, event: impl FnOnce(&mut Poller) -> Action) {
    let action = shared.borrow_mut().poller.as_mut().map(event);
    if let Some(action) = action {
        drive(shared, action);
    }
}

/// Carries out what the poller decided.
fn drive(shared: &Shared, action: Action) {
    match action {
        Action::Fetch => {
            let generation = shared.borrow().generation;
            check_status(Rc::downgrade(shared), generation, false);
        }
        Action::WaitMs(ms) => {
            let weak = Rc::downgrade(shared);
            let timer = Timeout::new(ms.ceil() as u32, move || {
                if let Some(s) = weak.upgrade() {
                    step(&s, |p| p.tick(now()));
                }
            });
            shared.borrow_mut().poll_timer = Some(timer);
        }
        Action::Idle | Action::Stop => {}
    }
}

/// One status check outside the schedule (expiry, or a pay answer saying it is already paid),
/// whose answer is final: see [`poll::decide`].
pub(super) fn refresh_once(shared: &Shared) {
    let generation = shared.borrow().generation;
    show_message(shared, Text::Checking);
    check_status(Rc::downgrade(shared), generation, true);
}

fn check_status(weak: Weak<RefCell<Inner>>, generation: u64, final_check: bool) {
    // A scheduled check waits for a change while the poller says so; a final check never does.
    let wait = !final_check
        && weak.upgrade().is_some_and(|s| s.borrow().poller.as_ref().is_some_and(|p| p.waits() && p.in_flight()));
    let then = Box::new(move |shared: &Shared, result| status_answered(shared, result, generation, final_check));
    ask(weak, "GET", "/status", None, wait, then);
}

/// The status answer: the outcome it settles, or the poller told.
fn status_answered(shared: &Shared, result: Result<JsValue, CallError>, generation: u64, final_check: bool) {
    if !is_current(shared, generation) {
        return;
    }
    let failure = result.as_ref().err().map(|e| problem_of(shared, e));
    let answer = result.ok().and_then(|v| read::status(&v));
    match poll::decide(answer.as_ref(), final_check) {
        Decision::Paid => show_outcome(shared, Outcome::Paid),
        Decision::SessionOver => show_outcome(shared, Outcome::SessionOver),
        Decision::Failed => show_outcome(shared, Outcome::Failed),
        Decision::Expired => show_outcome(shared, Outcome::Expired),
        Decision::Error => fail(shared, Outcome::Error, failure.unwrap_or_else(unreadable)),
        Decision::KeepPolling { answered } => step(shared, |p| p.on_response(now(), answered)),
    }
}
