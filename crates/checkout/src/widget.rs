//! The widget in the page: a shadow root, its screens, the status polling and the events.
//!
//! State lives in one `Rc<RefCell<Inner>>`. Every timer and listener is a gloo handle owned by
//! that state, so dropping the state (on `destroy()` or removal) cancels them all; nothing is
//! leaked with `Closure::forget`. Events are dispatched after borrows are released, because a
//! page's listener may call back into the widget.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use checkout_api::pay_options::PayHow;
use checkout_api::views::CheckoutView;
use checkout_api::{AttemptStatus, SessionStatus};
use gloo_events::EventListener;
use gloo_timers::callback::{Interval, Timeout};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlElement, KeyboardEvent, ShadowRoot, ShadowRootInit, ShadowRootMode};

use crate::api::{self, CallError};
use crate::dom::{self, append, attrs, clear, el};
use crate::format;
use crate::i18n::{t, Locale, Text};
use crate::poll::{Action, Poller, TIMEOUT_MS};
use crate::qr;
use crate::read;

/// What the page passes to [`mount`].
#[derive(Debug, Clone)]
struct Options {
    endpoint: String,
    session: String,
    secret: String,
    locale: Option<String>,
}

impl Options {
    fn read(v: &JsValue) -> Result<Options, JsValue> {
        let required = |key: &str| {
            read::text(v, key)
                .filter(|t| !t.is_empty())
                .ok_or_else(|| JsValue::from_str(&format!("qfpay-checkout: option `{key}` is required")))
        };
        Ok(Options {
            endpoint: required("endpoint")?,
            session: required("session")?,
            secret: required("secret")?,
            locale: read::text(v, "locale"),
        })
    }
}

struct Attempt {
    id: String,
    pay_type: String,
    wallet: String,
    expires_at: f64,
}

struct Inner {
    host: HtmlElement,
    body: Element,
    live: Element,
    options: Options,
    locale: Locale,
    checkout: Option<CheckoutView>,
    attempt: Option<Attempt>,
    poller: Option<Poller>,
    generation: u64,
    paid_announced: bool,
    destroyed: bool,
    poll_timer: Option<Timeout>,
    countdown: Option<Interval>,
    screen_listeners: Vec<EventListener>,
    visibility: Option<EventListener>,
}

type Shared = Rc<RefCell<Inner>>;

/// The handle `mount` returns; `destroy()` stops everything and empties the element.
#[wasm_bindgen]
pub struct Handle {
    inner: Option<Shared>,
}

#[wasm_bindgen]
impl Handle {
    /// Stops polling, timers and listeners, and removes the widget's content.
    pub fn destroy(&mut self) {
        if let Some(shared) = self.inner.take() {
            let mut inner = shared.borrow_mut();
            inner.destroyed = true;
            inner.poll_timer = None;
            inner.countdown = None;
            inner.screen_listeners.clear();
            inner.visibility = None;
            if let Some(p) = inner.poller.as_mut() {
                p.stop();
            }
            clear(&inner.body);
        }
    }
}

fn now() -> f64 {
    js_sys::Date::now()
}

fn mark(name: &str) {
    if let Some(perf) = web_sys::window().and_then(|w| w.performance()) {
        let _ = perf.mark(name);
    }
}

/// Mounts the checkout into `element` with `{endpoint, session, secret, locale?}`.
#[wasm_bindgen]
pub fn mount(element: HtmlElement, options: JsValue) -> Result<Handle, JsValue> {
    let options = Options::read(&options)?;
    let tag = options
        .locale
        .clone()
        .filter(|l| !l.is_empty())
        .or_else(|| web_sys::window().and_then(|w| w.navigator().language()))
        .unwrap_or_default();
    let locale = Locale::from_tag(&tag);
    let root = match element.shadow_root() {
        Some(root) => root,
        None => element.attach_shadow(&ShadowRootInit::new(ShadowRootMode::Open))?,
    };
    adopt_styles(&root)?;
    let container = el("div", "qf", "");
    attrs(&container, &[("part", "container"), ("lang", locale.tag())]);
    let live = el("div", "sr-only", "");
    attrs(&live, &[("role", "status"), ("aria-live", "polite")]);
    let body = el("div", "", "");
    attrs(&body, &[("part", "body")]);
    append(&container, &[&live, &body]);
    clear_root(&root);
    let _ = root.append_child(&container);
    let shared = Rc::new(RefCell::new(Inner {
        host: element,
        body,
        live,
        options,
        locale,
        checkout: None,
        attempt: None,
        poller: None,
        generation: 0,
        paid_announced: false,
        destroyed: false,
        poll_timer: None,
        countdown: None,
        screen_listeners: Vec::new(),
        visibility: None,
    }));
    watch_visibility(&shared);
    show_message(&shared, Text::Loading);
    wasm_bindgen_futures::spawn_local(load(Rc::downgrade(&shared)));
    Ok(Handle { inner: Some(shared) })
}

fn clear_root(root: &ShadowRoot) {
    while let Some(child) = root.first_child() {
        let _ = root.remove_child(&child);
    }
}

fn adopt_styles(root: &ShadowRoot) -> Result<(), JsValue> {
    let sheet = web_sys::CssStyleSheet::new()?;
    sheet.replace_sync(crate::style::CSS)?;
    let list = js_sys::Array::of1(&sheet);
    js_sys::Reflect::set(root, &"adoptedStyleSheets".into(), &list)?;
    Ok(())
}

fn url(inner: &Inner, suffix: &str) -> String {
    format!("{}/v1/checkout/{}{suffix}", inner.options.endpoint.trim_end_matches('/'), inner.options.session)
}

/// Fires a bubbling, composed `CustomEvent` on the host element.
fn emit(shared: &Shared, name: &str, status: &str) {
    let (host, detail) = {
        let inner = shared.borrow();
        let detail = js_sys::Object::new();
        let set = |k: &str, v: JsValue| {
            let _ = js_sys::Reflect::set(&detail, &k.into(), &v);
        };
        set("session", inner.options.session.as_str().into());
        set("status", status.into());
        if let Some(a) = &inner.attempt {
            set("attempt", a.id.as_str().into());
            set("pay_type", a.pay_type.as_str().into());
        }
        (inner.host.clone(), detail)
    };
    let init = web_sys::CustomEventInit::new();
    init.set_bubbles(true);
    init.set_composed(true);
    init.set_detail(&detail);
    if let Ok(event) = web_sys::CustomEvent::new_with_event_init_dict(name, &init) {
        let _ = host.dispatch_event(&event);
    }
}

fn announce(inner: &Inner, text: &str) {
    inner.live.set_text_content(Some(text));
}

/// Replaces the screen: drops the old screen's listeners first.
fn screen(inner: &mut Inner) -> Element {
    inner.screen_listeners.clear();
    clear(&inner.body);
    inner.body.clone()
}

fn header(inner: &Inner) -> Option<Element> {
    let c = inner.checkout.as_ref()?;
    let head = el("div", "", "");
    attrs(&head, &[("part", "header")]);
    let amount = el("p", "amount", &format::amount(c.amount, &c.currency, c.currency_exponent, inner.locale));
    attrs(&amount, &[("part", "amount")]);
    append(&head, &[&el("p", "merchant", &c.merchant_name), &amount, &el("p", "goods", &c.goods_name)]);
    Some(head)
}

fn show_message(shared: &Shared, text: Text) {
    let mut inner = shared.borrow_mut();
    let body = screen(&mut inner);
    if let Some(h) = header(&inner) {
        append(&body, &[&h]);
    }
    append(&body, &[&el("p", "note", t(inner.locale, text))]);
    announce(&inner, t(inner.locale, text));
}

async fn load(weak: Weak<RefCell<Inner>>) {
    let Some(shared) = weak.upgrade() else { return };
    let (address, secret) = {
        let inner = shared.borrow();
        (url(&inner, ""), inner.options.secret.clone())
    };
    drop(shared);
    let result = api::call("GET", &address, &secret, None, TIMEOUT_MS as u32).await;
    let Some(shared) = weak.upgrade() else { return };
    if shared.borrow().destroyed {
        return;
    }
    match result.ok().and_then(|v| read::checkout(&v)) {
        Some(view) => {
            let status = view.status;
            shared.borrow_mut().checkout = Some(view);
            match status {
                SessionStatus::Open => {
                    show_choices(&shared);
                    mark("qfpay:interactive");
                    emit(&shared, "qfpay:ready", "open");
                }
                SessionStatus::Paid => show_paid(&shared),
                // Closing: over, though a QR code shown before may still be paid; the merchant
                // hears of that payment by webhook.
                SessionStatus::Closing | SessionStatus::Expired | SessionStatus::Closed => {
                    show_outcome(&shared, Outcome::SessionOver)
                }
            }
        }
        None => show_outcome(&shared, Outcome::LoadError),
    }
}

fn is_phone() -> bool {
    web_sys::window()
        .and_then(|w| w.match_media("(max-width: 600px), (pointer: coarse)").ok().flatten())
        .is_some_and(|m| m.matches())
}

/// The pay type list: an accessible radio group, grouped by wallet; on phones the types that
/// open the wallet come first.
fn show_choices(shared: &Shared) {
    let mut inner = shared.borrow_mut();
    let Some(checkout) = inner.checkout.clone() else { return };
    let body = screen(&mut inner);
    if let Some(h) = header(&inner) {
        append(&body, &[&h]);
    }
    let heading = el("h2", "", t(inner.locale, Text::ChooseMethod));
    attrs(&heading, &[("id", "qf-choose")]);
    let group = el("div", "", "");
    attrs(&group, &[("role", "radiogroup"), ("aria-labelledby", "qf-choose"), ("part", "methods")]);
    let mut options = checkout.pay_types.clone();
    if is_phone() {
        options.sort_by_key(|o| o.how != PayHow::Redirect);
    }
    let mut wallets: Vec<String> = Vec::new();
    for o in &options {
        if !wallets.contains(&o.wallet) {
            wallets.push(o.wallet.clone());
        }
    }
    let mut radios: Vec<Element> = Vec::new();
    for wallet in &wallets {
        let block = el("div", "group", "");
        attrs(&block, &[("role", "group"), ("aria-label", wallet)]);
        append(&block, &[&el("p", "group-name", wallet)]);
        for o in options.iter().filter(|o| &o.wallet == wallet) {
            let name = if inner.locale == Locale::En { &o.name_en } else { &o.name_zh };
            let radio = el("div", "", name);
            attrs(
                &radio,
                &[
                    ("role", "radio"),
                    ("aria-checked", "false"),
                    ("tabindex", "-1"),
                    ("data-pay-type", &o.pay_type),
                    ("part", "method"),
                ],
            );
            append(&block, &[&radio]);
            radios.push(radio);
        }
        append(&group, &[&block]);
    }
    if let Some(first) = radios.first() {
        let _ = first.set_attribute("tabindex", "0");
    }
    append(&body, &[&heading, &group]);
    for (i, radio) in radios.iter().enumerate() {
        let pay_type = radio.get_attribute("data-pay-type").unwrap_or_default();
        let weak = Rc::downgrade(shared);
        let chosen = pay_type.clone();
        inner.screen_listeners.push(EventListener::new(radio, "click", move |_| {
            if let Some(s) = weak.upgrade() {
                choose(&s, &chosen);
            }
        }));
        let weak = Rc::downgrade(shared);
        let all = radios.clone();
        inner.screen_listeners.push(EventListener::new(radio, "keydown", move |event| {
            let Some(key) = event.dyn_ref::<KeyboardEvent>() else { return };
            let step: i32 = match key.key().as_str() {
                "ArrowDown" | "ArrowRight" => 1,
                "ArrowUp" | "ArrowLeft" => -1,
                "Enter" | " " => {
                    event.prevent_default();
                    if let Some(s) = weak.upgrade() {
                        choose(&s, &pay_type);
                    }
                    return;
                }
                _ => return,
            };
            event.prevent_default();
            let next = (i as i32 + step).rem_euclid(all.len() as i32) as usize;
            for (j, r) in all.iter().enumerate() {
                let _ = r.set_attribute("tabindex", if j == next { "0" } else { "-1" });
                let _ = r.set_attribute("aria-checked", if j == next { "true" } else { "false" });
            }
            dom::focus(&all[next]);
        }));
    }
}

fn choose(shared: &Shared, pay_type: &str) {
    let generation = {
        let mut inner = shared.borrow_mut();
        if inner.destroyed {
            return;
        }
        inner.generation += 1;
        inner.poll_timer = None;
        inner.countdown = None;
        inner.poller = None;
        let wallet = inner
            .checkout
            .as_ref()
            .and_then(|c| c.pay_types.iter().find(|p| p.pay_type == pay_type))
            .map(|p| p.wallet.clone())
            .unwrap_or_default();
        inner.attempt = Some(Attempt { id: String::new(), pay_type: pay_type.to_owned(), wallet, expires_at: 0.0 });
        inner.generation
    };
    emit(shared, "qfpay:select", "selected");
    show_message(shared, Text::Preparing);
    wasm_bindgen_futures::spawn_local(start_attempt(Rc::downgrade(shared), pay_type.to_owned(), generation));
}

async fn start_attempt(weak: Weak<RefCell<Inner>>, pay_type: String, generation: u64) {
    let Some(shared) = weak.upgrade() else { return };
    let (address, secret) = {
        let inner = shared.borrow();
        (url(&inner, "/pay"), inner.options.secret.clone())
    };
    drop(shared);
    let body = format!("{{\"pay_type\":\"{pay_type}\"}}");
    let result = api::call("POST", &address, &secret, Some(body), TIMEOUT_MS as u32).await;
    let Some(shared) = weak.upgrade() else { return };
    if shared.borrow().destroyed || shared.borrow().generation != generation {
        return;
    }
    match result {
        Ok(value) => match read::pay_answer(&value).ok_or(()) {
            Ok(answer) => {
                if let Some(a) = shared.borrow_mut().attempt.as_mut() {
                    a.id = answer.attempt_id.clone();
                    a.expires_at = answer.expires_at as f64;
                }
                if let Some(redirect) = answer.redirect_url {
                    show_message(&shared, Text::Redirecting);
                    start_polling(&shared);
                    if let Some(w) = web_sys::window() {
                        let _ = w.location().assign(&redirect);
                    }
                } else if let Some(code) = answer.qrcode {
                    show_qr(&shared, &code);
                    start_polling(&shared);
                    mark("qfpay:qr-shown");
                    emit(&shared, "qfpay:qr", "pending");
                } else {
                    show_outcome(&shared, Outcome::Error);
                }
            }
            Err(_) => show_outcome(&shared, Outcome::Error),
        },
        Err(CallError { status: 402, .. }) => show_outcome(&shared, Outcome::Failed),
        Err(CallError { code, .. }) if code == "already_paid" || code == "session_not_open" => refresh_once(&shared),
        Err(_) => show_outcome(&shared, Outcome::Error),
    }
}

fn show_qr(shared: &Shared, code: &str) {
    let mut inner = shared.borrow_mut();
    let locale = inner.locale;
    let body = screen(&mut inner);
    if let Some(h) = header(&inner) {
        append(&body, &[&h]);
    }
    let (wallet, expires_at) = inner.attempt.as_ref().map(|a| (a.wallet.clone(), a.expires_at)).unwrap_or_default();
    let amount = inner
        .checkout
        .as_ref()
        .map(|c| format::amount(c.amount, &c.currency, c.currency_exponent, locale))
        .unwrap_or_default();
    let label = format!("{} {amount} — {wallet}", t(locale, Text::QrLabel));
    let Some(matrix) = qr::encode(code) else {
        drop(inner);
        show_outcome(shared, Outcome::Error);
        return;
    };
    let svg = dom::qr_svg(&matrix, &label);
    attrs(&svg, &[("data-qrcode", code)]);
    let scan = el("p", "note", &format!("{} {wallet}", t(locale, Text::ScanWith)));
    let countdown = el("p", "note", "");
    let remaining = el("span", "countdown", &format::countdown((expires_at - now()).max(0.0) as u64));
    attrs(&remaining, &[("part", "countdown")]);
    append(&countdown, &[&el("span", "", &format!("{} ", t(locale, Text::ExpiresIn))), &remaining]);
    let back = el("button", "secondary", t(locale, Text::UseAnother));
    attrs(&back, &[("type", "button"), ("part", "back")]);
    append(&body, &[&svg, &scan, &countdown, &back]);
    announce(
        &inner,
        &format!("{label}. {} {}", t(locale, Text::ExpiresIn), format::countdown((expires_at - now()).max(0.0) as u64)),
    );
    let weak = Rc::downgrade(shared);
    inner.screen_listeners.push(EventListener::new(&back, "click", move |_| {
        if let Some(s) = weak.upgrade() {
            stop_attempt(&s);
            show_choices(&s);
        }
    }));
    let weak = Rc::downgrade(shared);
    let mut last_announced_minute = u64::MAX;
    inner.countdown = Some(Interval::new(1000, move || {
        let Some(s) = weak.upgrade() else { return };
        let left = (expires_at - now()).max(0.0) as u64;
        remaining.set_text_content(Some(&format::countdown(left)));
        // Screen readers hear the countdown once a minute, then at 30 and 10 seconds.
        let minute = left.div_ceil(60_000);
        let at_mark = left / 1000 == 30 || left / 1000 == 10;
        if (minute != last_announced_minute && left % 60_000 < 1000) || at_mark {
            last_announced_minute = minute;
            let inner = s.borrow();
            announce(&inner, &format!("{} {}", t(inner.locale, Text::ExpiresIn), format::countdown(left)));
        }
        if left == 0 {
            s.borrow_mut().countdown = None;
            // Ask the worker once more before saying "expired": the shopper may have just paid.
            refresh_once(&s);
        }
    }));
}

fn stop_attempt(shared: &Shared) {
    let mut inner = shared.borrow_mut();
    inner.generation += 1;
    inner.poll_timer = None;
    inner.countdown = None;
    if let Some(p) = inner.poller.as_mut() {
        p.stop();
    }
}

fn watch_visibility(shared: &Shared) {
    let document = dom::document();
    let weak = Rc::downgrade(shared);
    let listener = EventListener::new(&document, "visibilitychange", move |_| {
        let Some(s) = weak.upgrade() else { return };
        let hidden = dom::document().hidden();
        let action = s.borrow_mut().poller.as_mut().map(|p| p.on_visibility(now(), hidden));
        if let Some(action) = action {
            drive(&s, action);
        }
    });
    shared.borrow_mut().visibility = Some(listener);
}

fn start_polling(shared: &Shared) {
    let action = {
        let mut inner = shared.borrow_mut();
        let mut poller = Poller::start(now(), dom::document().hidden());
        let action = poller.tick(now());
        inner.poller = Some(poller);
        action
    };
    drive(shared, action);
}

/// Carries out what the poller decided.
fn drive(shared: &Shared, action: Action) {
    match action {
        Action::Fetch => {
            let generation = shared.borrow().generation;
            wasm_bindgen_futures::spawn_local(check_status(Rc::downgrade(shared), generation, false));
        }
        Action::WaitMs(ms) => {
            let weak = Rc::downgrade(shared);
            let timer = Timeout::new(ms.ceil() as u32, move || {
                let Some(s) = weak.upgrade() else { return };
                let action = s.borrow_mut().poller.as_mut().map(|p| p.tick(now()));
                if let Some(a) = action {
                    drive(&s, a);
                }
            });
            shared.borrow_mut().poll_timer = Some(timer);
        }
        Action::Idle | Action::Stop => {}
    }
}

/// One status check outside the schedule (expiry, or a pay answer saying it is already paid).
fn refresh_once(shared: &Shared) {
    let generation = shared.borrow().generation;
    show_message(shared, Text::Checking);
    wasm_bindgen_futures::spawn_local(check_status(Rc::downgrade(shared), generation, true));
}

async fn check_status(weak: Weak<RefCell<Inner>>, generation: u64, final_check: bool) {
    let Some(shared) = weak.upgrade() else { return };
    let (address, secret) = {
        let inner = shared.borrow();
        (url(&inner, "/status"), inner.options.secret.clone())
    };
    drop(shared);
    let result = api::call("GET", &address, &secret, None, TIMEOUT_MS as u32).await;
    let Some(shared) = weak.upgrade() else { return };
    if shared.borrow().destroyed || shared.borrow().generation != generation {
        return;
    }
    let view = result.ok().and_then(|v| read::status(&v));
    let Some(view) = view else {
        if final_check {
            show_outcome(&shared, Outcome::Error);
            return;
        }
        let action = shared.borrow_mut().poller.as_mut().map(|p| p.on_response(now(), false));
        if let Some(a) = action {
            drive(&shared, a);
        }
        return;
    };
    let attempt_status = view.attempt.as_ref().map(|a| a.status);
    match (view.status, attempt_status) {
        (SessionStatus::Paid, _) => show_paid(&shared),
        (SessionStatus::Expired | SessionStatus::Closed, _) => show_outcome(&shared, Outcome::SessionOver),
        // Closing: the shown QR code may still be paid until the gateway confirms it closed.
        (SessionStatus::Closing, Some(status)) if !status.is_open() => show_outcome(&shared, Outcome::SessionOver),
        (_, Some(AttemptStatus::Failed)) => show_outcome(&shared, Outcome::Failed),
        (_, Some(AttemptStatus::Expired | AttemptStatus::Closed)) => show_outcome(&shared, Outcome::Expired),
        _ if final_check => show_outcome(&shared, Outcome::Expired),
        _ => {
            let action = shared.borrow_mut().poller.as_mut().map(|p| p.on_response(now(), true));
            if let Some(a) = action {
                drive(&shared, a);
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Failed,
    Expired,
    Error,
    LoadError,
    SessionOver,
}

fn show_paid(shared: &Shared) {
    let first = {
        let mut inner = shared.borrow_mut();
        let first = !inner.paid_announced;
        inner.paid_announced = true;
        first
    };
    stop_attempt(shared);
    render_outcome(shared, Text::Paid, Text::PaidNext, None);
    // However polls and screens interleave, "paid" is announced once.
    if first {
        emit(shared, "qfpay:paid", "paid");
    }
}

fn show_outcome(shared: &Shared, outcome: Outcome) {
    stop_attempt(shared);
    let (title, next, button, event) = match outcome {
        Outcome::Failed => (Text::Failed, Text::FailedNext, Some(Text::UseAnother), ("qfpay:failed", "failed")),
        Outcome::Expired => (Text::Expired, Text::ExpiresIn, Some(Text::NewQr), ("qfpay:expired", "expired")),
        Outcome::Error => (Text::Error, Text::ErrorNext, Some(Text::TryAgain), ("qfpay:error", "error")),
        Outcome::LoadError => (Text::Error, Text::ErrorNext, None, ("qfpay:error", "error")),
        Outcome::SessionOver => (Text::SessionOver, Text::SessionOver, None, ("qfpay:expired", "expired")),
    };
    let next = if outcome == Outcome::Expired { Text::FailedNext } else { next };
    render_outcome(shared, title, next, button.map(|b| (b, outcome)));
    emit(shared, event.0, event.1);
}

fn render_outcome(shared: &Shared, title: Text, next: Text, button: Option<(Text, Outcome)>) {
    let mut inner = shared.borrow_mut();
    let locale = inner.locale;
    let body = screen(&mut inner);
    if let Some(h) = header(&inner) {
        append(&body, &[&h]);
    }
    let heading = el("p", "outcome", t(locale, title));
    attrs(
        &heading,
        &[
            ("tabindex", "-1"),
            ("part", "outcome"),
            (
                "data-outcome",
                match title {
                    Text::Paid => "paid",
                    Text::Failed => "failed",
                    Text::Expired => "expired",
                    _ => "error",
                },
            ),
        ],
    );
    append(&body, &[&heading]);
    if title != next {
        append(&body, &[&el("p", "note", t(locale, next))]);
    }
    if let Some((label, outcome)) = button {
        let b = el("button", "", t(locale, label));
        attrs(&b, &[("type", "button"), ("part", "retry")]);
        append(&body, &[&b]);
        let weak = Rc::downgrade(shared);
        let pay_type = inner.attempt.as_ref().map(|a| a.pay_type.clone());
        inner.screen_listeners.push(EventListener::new(&b, "click", move |_| {
            let Some(s) = weak.upgrade() else { return };
            match (outcome, &pay_type) {
                (Outcome::Expired, Some(p)) => choose(&s, p),
                _ => show_choices(&s),
            }
        }));
    }
    announce(&inner, t(locale, title));
    // Focus moves to the outcome so keyboard and screen reader users land on it.
    dom::focus(&heading);
}
