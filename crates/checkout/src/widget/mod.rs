//! The widget in the page: mounting into a shadow root, the state, and the handle.
//!
//! `screens` draws what the shopper sees (the wallets, the QR code or the link to the wallet's
//! page, an outcome) and `flow` moves between them (load the session, start an attempt, poll
//! its status).
//!
//! State lives in one `Rc<RefCell<Inner>>`. Every timer and listener is a gloo handle owned by
//! that state, so dropping the state (on `destroy()` or removal) cancels them all; nothing is
//! leaked with `Closure::forget`. Events are dispatched after borrows are released, because a
//! page's listener may call back into the widget.

mod flow;
mod screens;
mod texts;

use std::cell::RefCell;
use std::rc::Rc;

use checkout_api::views::{CheckoutView, UnixSeconds};
use gloo_events::EventListener;
use gloo_timers::callback::{Interval, Timeout};
use wasm_bindgen::prelude::*;
use web_sys::{Element, HtmlElement, ShadowRoot, ShadowRootInit, ShadowRootMode};

use crate::choice::Plan;
use crate::dom::{append, attrs, clear, el};
use crate::i18n::{Locale, Text};
use crate::poll::Poller;
use crate::read;
use crate::style::{self, Scheme};
use crate::texts::Texts;

/// What the page passes to [`mount`].
#[derive(Debug, Clone)]
struct Options {
    endpoint: String,
    session: String,
    secret: String,
    locale: Option<String>,
    /// The session's `GET` the loader started before the wasm was ready (`prefetch`, a
    /// promise of its `Response`), used once by the first load.
    prefetch: Option<js_sys::Promise>,
}

impl Options {
    fn read(v: &JsValue) -> Result<Options, JsValue> {
        let required = |key: &str| {
            read::text(v, key)
                .filter(|t| !t.is_empty())
                .ok_or_else(|| JsValue::from_str(&["qfpay-checkout: option `", key, "` is required"].concat()))
        };
        Ok(Options {
            endpoint: required("endpoint")?,
            session: required("session")?,
            secret: required("secret")?,
            locale: read::text(v, "locale"),
            prefetch: js_sys::Reflect::get(v, &"prefetch".into()).ok().and_then(|p| p.dyn_into().ok()),
        })
    }

    /// The page's `locale` option, else the browser's language.
    fn locale(&self) -> Locale {
        let tag = self
            .locale
            .clone()
            .filter(|l| !l.is_empty())
            .or_else(|| crate::dom::window().and_then(|w| w.navigator().language()))
            .unwrap_or_default();
        Locale::from_tag(&tag)
    }
}

/// The payment attempt the shopper chose: known by its wallet and plan at once, by its id and
/// expiry once the worker has answered.
struct Attempt {
    id: String,
    /// The wallet's code (`data-wallet`) and its name in the shopper's language.
    wallet_code: String,
    wallet: String,
    plan: Plan,
    /// When its QR code or page stops working (the worker's Unix seconds).
    expires_at: UnixSeconds,
}

struct Inner {
    host: HtmlElement,
    /// Where the screens go.
    body: Element,
    /// The polite live region that screen readers hear.
    live: Element,
    options: Options,
    /// The words in the shopper's language, the merchant's where they gave some.
    texts: Rc<Texts>,
    checkout: Option<CheckoutView>,
    attempt: Option<Attempt>,
    poller: Option<Poller>,
    /// Bumped whenever the attempt on screen changes, so an answer to an older request is dropped.
    generation: u64,
    destroyed: bool,
    poll_timer: Option<Timeout>,
    countdown: Option<Interval>,
    screen_listeners: Vec<EventListener>,
    visibility: Option<EventListener>,
    /// What went wrong, for the next `qfpay:error`.
    problem: Option<crate::explain::Problem>,
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

/// Mounts the checkout into `element` with `{endpoint, session, secret, locale?, texts?}`.
#[wasm_bindgen]
pub fn mount(element: HtmlElement, options: JsValue) -> Result<Handle, JsValue> {
    let given = options;
    let options = Options::read(&given)?;
    let locale = options.locale();
    let texts = Rc::new(texts::read(locale, &given));
    let root = match element.shadow_root() {
        Some(root) => root,
        None => element.attach_shadow(&ShadowRootInit::new(ShadowRootMode::Open))?,
    };
    adopt_styles(&root)?;
    let (live, body) = frame(&root, locale, colour_scheme(&element));
    let shared = Rc::new(RefCell::new(Inner {
        host: element,
        body,
        live,
        options,
        texts,
        checkout: None,
        attempt: None,
        poller: None,
        generation: 0,
        destroyed: false,
        poll_timer: None,
        countdown: None,
        screen_listeners: Vec::new(),
        visibility: None,
        problem: None,
    }));
    flow::watch_visibility(&shared);
    screens::show_message(&shared, Text::Loading);
    flow::load(Rc::downgrade(&shared));
    Ok(Handle { inner: Some(shared) })
}

/// Replaces whatever the shadow root held (a previous mount) with the widget's container: a
/// live region and the body the screens go into, returned in that order.
fn frame(root: &ShadowRoot, locale: Locale, scheme: Scheme) -> (Element, Element) {
    let container = el("div", "qf", "");
    attrs(&container, &[("part", "container"), ("lang", locale.tag()), ("data-scheme", scheme.name())]);
    let live = el("div", "sr-only", "");
    attrs(&live, &[("role", "status"), ("aria-live", "polite")]);
    let body = el("div", "", "");
    attrs(&body, &[("part", "body")]);
    append(&container, &[&live, &body]);
    while let Some(child) = root.first_child() {
        let _ = root.remove_child(&child);
    }
    let _ = root.append_child(&container);
    (live, body)
}

/// The scheme the page's CSS variables ask for on `host` (see [`crate::style`]), read once at
/// mount: a variable set later takes effect at the next mount.
fn colour_scheme(host: &HtmlElement) -> Scheme {
    let style = crate::dom::window().and_then(|w| w.get_computed_style(host).ok().flatten());
    let value = |name: &str| style.as_ref().and_then(|s| s.get_property_value(name).ok()).unwrap_or_default();
    let any_colour_set = style::COLOUR_VARIABLES.iter().any(|name| !value(name).trim_ascii().is_empty());
    let (scheme, error) = style::scheme(&value(style::SCHEME_VARIABLE), any_colour_set);
    if let Some(error) = error {
        texts::console_error(&error);
    }
    scheme
}

/// Constructable style sheets need no `<style>` element, so a strict CSP without
/// `'unsafe-inline'` styles still applies them.
fn adopt_styles(root: &ShadowRoot) -> Result<(), JsValue> {
    let sheet = web_sys::CssStyleSheet::new()?;
    sheet.replace_sync(crate::style::CSS)?;
    let list = js_sys::Array::of1(&sheet);
    js_sys::Reflect::set(root, &"adoptedStyleSheets".into(), &list)?;
    Ok(())
}

fn now() -> f64 {
    js_sys::Date::now()
}

/// Fires a bubbling, composed `CustomEvent` on the host element.
fn emit(shared: &Shared, name: &str, status: &str) {
    let (host, detail) = {
        let problem = if name == "qfpay:error" { shared.borrow_mut().problem.take() } else { None };
        let inner = shared.borrow();
        let detail = js_sys::Object::new();
        let set = |k: &str, v: JsValue| {
            let _ = js_sys::Reflect::set(&detail, &k.into(), &v);
        };
        set("session", inner.options.session.as_str().into());
        set("status", status.into());
        if let Some(a) = &inner.attempt {
            set("attempt", a.id.as_str().into());
            set("pay_type", a.plan.pay_type.as_str().into());
            set("wallet", a.wallet_code.as_str().into());
        }
        if name == "qfpay:error" {
            let problem = problem.unwrap_or_else(|| crate::explain::own("error", "the checkout could not go on"));
            set("code", problem.code.as_str().into());
            set("message", problem.message.as_str().into());
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
