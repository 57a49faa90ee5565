//! The screens: a message while waiting, the wallets to choose from, the QR code with its
//! countdown, the link to a wallet's page (on a phone), and the outcome of an attempt. Each
//! replaces the last (and its listeners) in the widget's body, keeps the session's header on
//! top, and says what changed in the live region.

use std::rc::Rc;

use checkout_api::pay_options::PayHow;
use checkout_api::views::{CheckoutView, UnixSeconds};
use gloo_events::{EventListener, EventListenerOptions};
use gloo_timers::callback::Interval;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Element, Event, KeyboardEvent};

use super::flow::{choose, refresh_once, start, stop_attempt};
use super::{emit, now, Inner, Shared};
use crate::choice::{self, KeyAction};
use crate::dom::{self, append, attrs, clear, el};
use crate::i18n::Text;
use crate::texts::Texts;
use crate::{format, marks, money, qr};

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
    let amount = el("p", "amount", &amount(c, &inner.texts));
    attrs(&amount, &[("part", "amount")]);
    append(&head, &[&el("p", "merchant", &c.merchant_name), &amount, &el("p", "goods", &c.goods_name)]);
    Some(head)
}

fn amount(c: &CheckoutView, texts: &Texts) -> String {
    money::amount(c.amount, &c.currency, c.currency_exponent, texts.locale())
}

/// A line of text (loading, preparing, redirecting, checking), also read out.
pub(super) fn show_message(shared: &Shared, text: Text) {
    let mut inner = shared.borrow_mut();
    let body = screen(&mut inner);
    append(&body, &[&el("p", "note", inner.texts.get(text))]);
    announce(&inner, inner.texts.get(text));
}

/// The wallets: an accessible radio group, one choice per wallet, each with its badge and
/// its name in the shopper's language. Choosing one starts the product that fits the device.
pub(super) fn show_choices(shared: &Shared) {
    let mut inner = shared.borrow_mut();
    let Some(checkout) = inner.checkout.clone() else { return };
    let texts = inner.texts.clone();
    let body = screen(&mut inner);
    let heading = el("h2", "", texts.get(Text::ChooseMethod));
    attrs(&heading, &[("id", "qf-choose")]);
    let group = el("div", "", "");
    attrs(&group, &[("role", "radiogroup"), ("aria-labelledby", "qf-choose"), ("part", "methods")]);
    let wallets = choice::wallets(&checkout.pay_types);
    let radios: Vec<Element> = wallets.iter().map(|w| wallet_radio(w, &texts)).collect();
    for radio in &radios {
        append(&group, &[radio]);
    }
    // A radio group is one tab stop: the first choice takes it, the arrows move it.
    if let Some(first) = radios.first() {
        let _ = first.set_attribute("tabindex", "0");
    }
    append(&body, &[&heading, &group]);
    for (i, (radio, wallet)) in radios.iter().zip(wallets).enumerate() {
        let weak = Rc::downgrade(shared);
        let code = wallet.code.clone();
        inner.screen_listeners.push(EventListener::new(radio, "click", move |_| {
            if let Some(s) = weak.upgrade() {
                choose(&s, &code);
            }
        }));
        let weak = Rc::downgrade(shared);
        let all = radios.clone();
        // Not passive: the keys the list uses must not scroll the page as well.
        let options = EventListenerOptions::enable_prevent_default();
        inner.screen_listeners.push(EventListener::new_with_options(radio, "keydown", options, move |event| {
            if on_choice_key(event, &all, i) {
                if let Some(s) = weak.upgrade() {
                    choose(&s, &wallet.code);
                }
            }
        }));
    }
}

/// One wallet as a radio: its badge, then its name (which is the radio's accessible name).
fn wallet_radio(wallet: &choice::Wallet, texts: &Texts) -> Element {
    let radio = el("div", "", "");
    attrs(
        &radio,
        &[
            ("role", "radio"),
            ("aria-checked", "false"),
            ("tabindex", "-1"),
            ("data-wallet", &wallet.code),
            ("part", "method"),
        ],
    );
    let name = el("span", "", texts.wallet(&wallet.code, &wallet.name));
    append(&radio, &[&dom::mark_svg(&marks::mark(&wallet.code, &wallet.name)), &name]);
    radio
}

/// A key on the `at`-th choice (see [`choice::on_key`]): the arrows, Home and End move the
/// focus and the check along the group, as a radio group's do, and not the page. True when
/// Enter or Space chose it. Keys with Alt, Control or Meta are the browser's.
fn on_choice_key(event: &Event, radios: &[Element], at: usize) -> bool {
    let Some(key) = event.dyn_ref::<KeyboardEvent>() else { return false };
    if key.alt_key() || key.ctrl_key() || key.meta_key() {
        return false;
    }
    let Some(action) = choice::on_key(&key.key(), at, radios.len()) else { return false };
    event.prevent_default();
    let KeyAction::MoveTo(next) = action else { return true };
    for (j, r) in radios.iter().enumerate() {
        let _ = r.set_attribute("tabindex", if j == next { "0" } else { "-1" });
        let _ = r.set_attribute("aria-checked", if j == next { "true" } else { "false" });
    }
    if let Some(radio) = radios.get(next) {
        dom::focus(radio);
    }
    false
}

/// The attempt's wallet badge and name, as the heading of its screen.
fn wallet_heading(inner: &Inner) -> Element {
    let (code, name) = inner.attempt.as_ref().map(|a| (a.wallet_code.as_str(), a.wallet.as_str())).unwrap_or_default();
    let heading = el("h2", "wallet", "");
    append(&heading, &[&dom::mark_svg(&marks::mark(code, name)), &el("span", "", name)]);
    heading
}

/// On a phone: a link to the wallet's page (`url`, already checked by the flow), and, when the
/// wallet has one, a way to a QR code instead, for paying from another device.
pub(super) fn show_hand_off(shared: &Shared, url: &str) {
    let mut inner = shared.borrow_mut();
    let texts = inner.texts.clone();
    let Some((code, wallet, plan)) =
        inner.attempt.as_ref().map(|a| (a.wallet_code.clone(), a.wallet.clone(), a.plan.clone()))
    else {
        return;
    };
    let body = screen(&mut inner);
    let finish = texts.fill(Text::FinishIn, &[("wallet", &wallet)]);
    let link = el("a", "button", &texts.fill(Text::OpenWallet, &[("wallet", &wallet)]));
    attrs(&link, &[("href", url), ("part", "open-wallet"), ("data-pay-type", &plan.pay_type), ("data-wallet", &code)]);
    append(&body, &[&wallet_heading(&inner), &el("p", "note", &finish), &link]);
    if let Some(qr) = plan.qr_instead {
        let button = el("button", "secondary", texts.get(Text::QrInstead));
        attrs(&button, &[("type", "button"), ("part", "qr-instead"), ("data-pay-type", &qr)]);
        append(&body, &[&el("p", "note", texts.get(Text::OtherDevice)), &button]);
        let weak = Rc::downgrade(shared);
        inner.screen_listeners.push(EventListener::new(&button, "click", move |_| {
            if let Some(s) = weak.upgrade() {
                start(&s, code.clone(), wallet.clone(), choice::qr_plan(&qr));
            }
        }));
    }
    let back = back_button(shared, &mut inner);
    append(&body, &[&back]);
    announce(&inner, &finish);
    drop(inner);
    // The chosen radio is gone: the focus goes where the shopper goes on.
    dom::focus(&link);
}

/// Checking a payment the shopper may have made on the wallet's page (they came back to the
/// page while its attempt is still open), with a way back to the wallets if they did not pay.
pub(super) fn show_checking(shared: &Shared) {
    let mut inner = shared.borrow_mut();
    let body = screen(&mut inner);
    let note = el("p", "note", inner.texts.get(Text::Checking));
    let back = back_button(shared, &mut inner);
    append(&body, &[&note, &back]);
}

/// "Use another method": stops the attempt on screen and shows the wallets again.
fn back_button(shared: &Shared, inner: &mut Inner) -> Element {
    let back = el("button", "secondary", inner.texts.get(Text::UseAnother));
    attrs(&back, &[("type", "button"), ("part", "back")]);
    let weak = Rc::downgrade(shared);
    inner.screen_listeners.push(EventListener::new(&back, "click", move |_| {
        if let Some(s) = weak.upgrade() {
            stop_attempt(&s);
            show_choices(&s);
        }
    }));
    back
}

/// The QR code to scan, the wallet to scan it with, a countdown to its expiry and a way back
/// to the list.
pub(super) fn show_qr(shared: &Shared, qrcode: &str) {
    let mut inner = shared.borrow_mut();
    let texts = inner.texts.clone();
    let (wallet, code, pay_type, expires_at) = inner
        .attempt
        .as_ref()
        .map(|a| (a.wallet.clone(), a.wallet_code.clone(), a.plan.pay_type.clone(), a.expires_at))
        .unwrap_or_default();
    let amount = inner.checkout.as_ref().map(|c| amount(c, &texts)).unwrap_or_default();
    let label = texts.fill(Text::QrLabel, &[("amount", &amount), ("wallet", &wallet)]);
    let Some(matrix) = qr::encode(qrcode) else {
        drop(inner);
        show_outcome(shared, Outcome::Error);
        return;
    };
    let body = screen(&mut inner);
    let svg = dom::qr_svg(&matrix, &label);
    attrs(&svg, &[("data-qrcode", qrcode), ("data-pay-type", &pay_type), ("data-wallet", &code)]);
    let scan = el("p", "note", &texts.fill(Text::ScanWith, &[("wallet", &wallet)]));
    let left = format::countdown(ms_left(expires_at));
    let countdown = el("p", "note", "");
    let remaining = el("span", "countdown", &left);
    attrs(&remaining, &[("part", "countdown")]);
    append(&countdown, &[&el("span", "", &[texts.get(Text::ExpiresIn), " "].concat()), &remaining]);
    let back = back_button(shared, &mut inner);
    append(&body, &[&svg, &scan, &countdown, &back]);
    announce(&inner, &[&label, ". ", texts.get(Text::ExpiresIn), " ", &left].concat());
    inner.countdown = Some(count_down(shared, remaining, expires_at));
}

fn ms_left(expires_at: UnixSeconds) -> u64 {
    format::ms_until(expires_at, now())
}

/// Ticks the QR code's countdown in `remaining` every second until `expires_at`.
fn count_down(shared: &Shared, remaining: Element, expires_at: UnixSeconds) -> Interval {
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
            announce(&inner, &[inner.texts.get(Text::ExpiresIn), " ", &format::countdown(left)].concat());
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

/// The host element's property naming the session whose payment the page has been told of.
const PAID_TOLD: &str = "__qfpayPaidSession";

/// True the first time "paid" is told for this element and session. Remembered on the element,
/// not in this mount: the loader mounts afresh when an attribute changes, and the page is
/// promised `qfpay:paid` once.
fn first_paid(shared: &Shared) -> bool {
    let inner = shared.borrow();
    let key = JsValue::from_str(PAID_TOLD);
    let session = inner.options.session.as_str();
    let told = js_sys::Reflect::get(&inner.host, &key).ok().and_then(|v| v.as_string());
    if told.as_deref() == Some(session) {
        return false;
    }
    let _ = js_sys::Reflect::set(&inner.host, &key, &JsValue::from_str(session));
    true
}

fn render_outcome(shared: &Shared, outcome: Outcome) {
    let mut inner = shared.borrow_mut();
    let texts = inner.texts.clone();
    let body = screen(&mut inner);
    let title = texts.get(outcome.title());
    let heading = el("p", "outcome", title);
    attrs(&heading, &[("tabindex", "-1"), ("part", "outcome"), ("data-outcome", outcome.name())]);
    append(&body, &[&heading]);
    if let Some(next) = outcome.next() {
        append(&body, &[&el("p", "note", texts.get(next))]);
    }
    // An expired wallet page is not a QR code: its button just tries again.
    let redirected = inner.attempt.as_ref().is_some_and(|a| a.plan.how == PayHow::Redirect);
    let retry = match outcome.retry() {
        Some(Text::NewQr) if redirected => Some(Text::TryAgain),
        other => other,
    };
    if let Some(label) = retry {
        let button = el("button", "", texts.get(label));
        attrs(&button, &[("type", "button"), ("part", "retry")]);
        append(&body, &[&button]);
        let weak = Rc::downgrade(shared);
        let again = inner.attempt.as_ref().map(|a| (a.wallet_code.clone(), a.wallet.clone(), a.plan.clone()));
        inner.screen_listeners.push(EventListener::new(&button, "click", move |_| {
            let Some(s) = weak.upgrade() else { return };
            // An expired attempt: a new one of the same pay type. Otherwise: choose again.
            match (outcome, &again) {
                (Outcome::Expired, Some((code, wallet, plan))) => start(&s, code.clone(), wallet.clone(), plan.clone()),
                _ => show_choices(&s),
            }
        }));
    }
    announce(&inner, title);
    // Focus moves to the outcome so keyboard and screen reader users land on it.
    dom::focus(&heading);
}
