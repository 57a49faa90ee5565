//! The screens: a message while waiting, the pay type choices, the QR code with its countdown,
//! and the outcome of an attempt. Each replaces the last (and its listeners) in the widget's
//! body, keeps the session's header on top, and says what changed in the live region.

use std::rc::Rc;

use checkout_api::pay_options::{PayHow, PayOption};
use checkout_api::views::CheckoutView;
use gloo_events::EventListener;
use gloo_timers::callback::Interval;
use wasm_bindgen::JsCast;
use web_sys::{Element, Event, KeyboardEvent};

use super::flow::{choose, refresh_once, stop_attempt};
use super::{emit, now, Inner, Shared};
use crate::dom::{self, append, attrs, clear, el};
use crate::format;
use crate::i18n::{t, Locale, Text};
use crate::qr;

/// How an attempt (or the loading of the session) ended.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    Paid,
    Failed,
    Expired,
    Error,
    /// The session could not be loaded: there is nothing to try again from.
    LoadError,
    /// The session is over (expired or closed) without a payment from this page.
    SessionOver,
}

impl Outcome {
    fn title(self) -> Text {
        match self {
            Outcome::Paid => Text::Paid,
            Outcome::Failed => Text::Failed,
            Outcome::Expired => Text::Expired,
            Outcome::Error | Outcome::LoadError => Text::Error,
            Outcome::SessionOver => Text::SessionOver,
        }
    }

    /// The line under the title, where the title does not say it all.
    fn next(self) -> Option<Text> {
        match self {
            Outcome::Paid => Some(Text::PaidNext),
            Outcome::Failed | Outcome::Expired => Some(Text::FailedNext),
            Outcome::Error | Outcome::LoadError => Some(Text::ErrorNext),
            Outcome::SessionOver => None,
        }
    }

    /// The button's label, where the shopper can go on from here.
    fn retry(self) -> Option<Text> {
        match self {
            Outcome::Failed => Some(Text::UseAnother),
            Outcome::Expired => Some(Text::NewQr),
            Outcome::Error => Some(Text::TryAgain),
            Outcome::Paid | Outcome::LoadError | Outcome::SessionOver => None,
        }
    }

    /// The heading's `data-outcome`, for the page's styles and tests.
    fn name(self) -> &'static str {
        match self {
            Outcome::Paid => "paid",
            Outcome::Failed => "failed",
            Outcome::Expired => "expired",
            Outcome::Error | Outcome::LoadError | Outcome::SessionOver => "error",
        }
    }

    /// The event the page hears, and its `detail.status`.
    fn event(self) -> (&'static str, &'static str) {
        match self {
            Outcome::Paid => ("qfpay:paid", "paid"),
            Outcome::Failed => ("qfpay:failed", "failed"),
            Outcome::Expired | Outcome::SessionOver => ("qfpay:expired", "expired"),
            Outcome::Error | Outcome::LoadError => ("qfpay:error", "error"),
        }
    }
}

fn announce(inner: &Inner, text: &str) {
    inner.live.set_text_content(Some(text));
}

/// Empties the body for a new screen, dropping the old screen's listeners first, and puts the
/// session's header back on top once the session is known.
fn screen(inner: &mut Inner) -> Element {
    inner.screen_listeners.clear();
    clear(&inner.body);
    if let Some(h) = header(inner) {
        append(&inner.body, &[&h]);
    }
    inner.body.clone()
}

/// Merchant, amount and goods.
fn header(inner: &Inner) -> Option<Element> {
    let c = inner.checkout.as_ref()?;
    let head = el("div", "", "");
    attrs(&head, &[("part", "header")]);
    let amount = el("p", "amount", &amount(c, inner.locale));
    attrs(&amount, &[("part", "amount")]);
    append(&head, &[&el("p", "merchant", &c.merchant_name), &amount, &el("p", "goods", &c.goods_name)]);
    Some(head)
}

fn amount(c: &CheckoutView, locale: Locale) -> String {
    format::amount(c.amount, &c.currency, c.currency_exponent, locale)
}

/// A line of text (loading, preparing, redirecting, checking), also read out.
pub(super) fn show_message(shared: &Shared, text: Text) {
    let mut inner = shared.borrow_mut();
    let body = screen(&mut inner);
    append(&body, &[&el("p", "note", t(inner.locale, text))]);
    announce(&inner, t(inner.locale, text));
}

fn is_phone() -> bool {
    web_sys::window()
        .and_then(|w| w.match_media("(max-width: 600px), (pointer: coarse)").ok().flatten())
        .is_some_and(|m| m.matches())
}

/// The pay type list: an accessible radio group, grouped by wallet; on phones the types that
/// open the wallet come first.
pub(super) fn show_choices(shared: &Shared) {
    let mut inner = shared.borrow_mut();
    let Some(checkout) = inner.checkout.clone() else { return };
    let body = screen(&mut inner);
    let heading = el("h2", "", t(inner.locale, Text::ChooseMethod));
    attrs(&heading, &[("id", "qf-choose")]);
    let group = el("div", "", "");
    attrs(&group, &[("role", "radiogroup"), ("aria-labelledby", "qf-choose"), ("part", "methods")]);
    let mut options = checkout.pay_types;
    if is_phone() {
        options.sort_by_key(|o| o.how != PayHow::Redirect);
    }
    let mut radios: Vec<Element> = Vec::new();
    for wallet in wallets(&options) {
        let block = el("div", "group", "");
        attrs(&block, &[("role", "group"), ("aria-label", &wallet)]);
        append(&block, &[&el("p", "group-name", &wallet)]);
        for o in options.iter().filter(|o| o.wallet == wallet) {
            let radio = choice(o, inner.locale);
            append(&block, &[&radio]);
            radios.push(radio);
        }
        append(&group, &[&block]);
    }
    // A radio group is one tab stop: the first choice takes it, the arrows move it.
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
            if on_choice_key(event, &all, i) {
                if let Some(s) = weak.upgrade() {
                    choose(&s, &pay_type);
                }
            }
        }));
    }
}

/// The wallets in the order their first pay type comes.
fn wallets(options: &[PayOption]) -> Vec<String> {
    let mut wallets: Vec<String> = Vec::new();
    for o in options {
        if !wallets.contains(&o.wallet) {
            wallets.push(o.wallet.clone());
        }
    }
    wallets
}

/// One pay type as a radio, named in the shopper's language.
fn choice(option: &PayOption, locale: Locale) -> Element {
    let name = if locale == Locale::En { &option.name_en } else { &option.name_zh };
    let radio = el("div", "", name);
    attrs(
        &radio,
        &[
            ("role", "radio"),
            ("aria-checked", "false"),
            ("tabindex", "-1"),
            ("data-pay-type", &option.pay_type),
            ("part", "method"),
        ],
    );
    radio
}

/// A key on the `at`-th choice: the arrows move the focus and the check along the group (and
/// round it), as a radio group's do. True when Enter or Space chose it.
fn on_choice_key(event: &Event, radios: &[Element], at: usize) -> bool {
    let Some(key) = event.dyn_ref::<KeyboardEvent>() else { return false };
    let step: i32 = match key.key().as_str() {
        "ArrowDown" | "ArrowRight" => 1,
        "ArrowUp" | "ArrowLeft" => -1,
        "Enter" | " " => {
            event.prevent_default();
            return true;
        }
        _ => return false,
    };
    event.prevent_default();
    let next = (at as i32 + step).rem_euclid(radios.len() as i32) as usize;
    for (j, r) in radios.iter().enumerate() {
        let _ = r.set_attribute("tabindex", if j == next { "0" } else { "-1" });
        let _ = r.set_attribute("aria-checked", if j == next { "true" } else { "false" });
    }
    dom::focus(&radios[next]);
    false
}

/// The QR code to scan, the wallet to scan it with, a countdown to its expiry and a way back
/// to the list.
pub(super) fn show_qr(shared: &Shared, code: &str) {
    let mut inner = shared.borrow_mut();
    let locale = inner.locale;
    let (wallet, expires_at) = inner.attempt.as_ref().map(|a| (a.wallet.clone(), a.expires_at)).unwrap_or_default();
    let amount = inner.checkout.as_ref().map(|c| amount(c, locale)).unwrap_or_default();
    let label = format!("{} {amount} — {wallet}", t(locale, Text::QrLabel));
    let Some(matrix) = qr::encode(code) else {
        drop(inner);
        show_outcome(shared, Outcome::Error);
        return;
    };
    let body = screen(&mut inner);
    let svg = dom::qr_svg(&matrix, &label);
    attrs(&svg, &[("data-qrcode", code)]);
    let scan = el("p", "note", &format!("{} {wallet}", t(locale, Text::ScanWith)));
    let left = format::countdown(ms_left(expires_at));
    let countdown = el("p", "note", "");
    let remaining = el("span", "countdown", &left);
    attrs(&remaining, &[("part", "countdown")]);
    append(&countdown, &[&el("span", "", &format!("{} ", t(locale, Text::ExpiresIn))), &remaining]);
    let back = el("button", "secondary", t(locale, Text::UseAnother));
    attrs(&back, &[("type", "button"), ("part", "back")]);
    append(&body, &[&svg, &scan, &countdown, &back]);
    announce(&inner, &format!("{label}. {} {left}", t(locale, Text::ExpiresIn)));
    let weak = Rc::downgrade(shared);
    inner.screen_listeners.push(EventListener::new(&back, "click", move |_| {
        if let Some(s) = weak.upgrade() {
            stop_attempt(&s);
            show_choices(&s);
        }
    }));
    inner.countdown = Some(count_down(shared, remaining, expires_at));
}

fn ms_left(expires_at: f64) -> u64 {
    (expires_at - now()).max(0.0) as u64
}

/// Ticks the QR code's countdown in `remaining` every second until `expires_at`.
fn count_down(shared: &Shared, remaining: Element, expires_at: f64) -> Interval {
    let weak = Rc::downgrade(shared);
    let mut last_announced_minute = u64::MAX;
    Interval::new(1000, move || {
        let Some(s) = weak.upgrade() else { return };
        let left = ms_left(expires_at);
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
    })
}

/// Ends the attempt on an outcome screen and tells the page.
pub(super) fn show_outcome(shared: &Shared, outcome: Outcome) {
    // However polls and screens interleave, "paid" is announced once.
    let tell_page = outcome != Outcome::Paid || first_paid(shared);
    stop_attempt(shared);
    render_outcome(shared, outcome);
    if tell_page {
        let (name, status) = outcome.event();
        emit(shared, name, status);
    }
}

/// True the first time it is called for this widget.
fn first_paid(shared: &Shared) -> bool {
    !std::mem::replace(&mut shared.borrow_mut().paid_announced, true)
}

fn render_outcome(shared: &Shared, outcome: Outcome) {
    let mut inner = shared.borrow_mut();
    let locale = inner.locale;
    let body = screen(&mut inner);
    let title = t(locale, outcome.title());
    let heading = el("p", "outcome", title);
    attrs(&heading, &[("tabindex", "-1"), ("part", "outcome"), ("data-outcome", outcome.name())]);
    append(&body, &[&heading]);
    if let Some(next) = outcome.next() {
        append(&body, &[&el("p", "note", t(locale, next))]);
    }
    if let Some(label) = outcome.retry() {
        let button = el("button", "", t(locale, label));
        attrs(&button, &[("type", "button"), ("part", "retry")]);
        append(&body, &[&button]);
        let weak = Rc::downgrade(shared);
        let pay_type = inner.attempt.as_ref().map(|a| a.pay_type.clone());
        inner.screen_listeners.push(EventListener::new(&button, "click", move |_| {
            let Some(s) = weak.upgrade() else { return };
            // An expired QR code: a new one of the same pay type. Otherwise: choose again.
            match (outcome, &pay_type) {
                (Outcome::Expired, Some(p)) => choose(&s, p),
                _ => show_choices(&s),
            }
        }));
    }
    announce(&inner, title);
    // Focus moves to the outcome so keyboard and screen reader users land on it.
    dom::focus(&heading);
}
