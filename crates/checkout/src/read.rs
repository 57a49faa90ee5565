//! Reading the worker's JSON (already parsed) into the contract types of `checkout-api`, field
//! by field. Hand-written instead of serde: the widget is downloaded by every shopper, and
//! serde's generic machinery (and the float formatting its errors pull in) is most of a
//! serde-based widget's size. Missing or mistyped fields make the whole value `None`.
//!
//! The readers take any [`Json`] value: the browser's parsed `JsValue` in the widget, and
//! `serde_json::Value` in the native tests, which serialise checkout-api's views with serde and
//! check that these readers give the same values back, so the two cannot drift apart.

use checkout_api::pay_options::{PayHow, PayOption};
use checkout_api::views::{AttemptView, CheckoutView, PayAnswer, StatusView, UnixSeconds, MAX_UNIX_SECONDS};
use checkout_api::{AttemptStatus, SessionStatus};

/// The largest whole number a JSON number holds exactly in the browser (an IEEE double).
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// A parsed JSON value: the little the readers ask of one.
pub trait Json: Sized {
    /// The field `key`, when this is an object that has it.
    fn field(&self, key: &str) -> Option<Self>;
    /// The text, when this is a string.
    fn as_text(&self) -> Option<String>;
    /// The number, when this is one.
    fn as_number(&self) -> Option<f64>;
    /// The elements, when this is an array.
    fn items(&self) -> Option<Vec<Self>>;
}

/// A string field.
pub fn text(obj: &impl Json, key: &str) -> Option<String> {
    obj.field(key)?.as_text()
}

/// A whole, non-negative number field, exact as a double.
fn number(obj: &impl Json, key: &str) -> Option<u64> {
    let n = obj.field(key)?.as_number()?;
    (n >= 0.0 && n.fract() == 0.0 && n <= MAX_SAFE_INTEGER).then_some(n as u64)
}

/// A time field, which the worker gives in Unix seconds. A number past
/// [`MAX_UNIX_SECONDS`] is an older worker's milliseconds (a widget from npm may meet one) and
/// is read as such, rather than as a time thousands of years away.
fn time(obj: &impl Json, key: &str) -> Option<UnixSeconds> {
    let n = number(obj, key)?;
    Some(if n > MAX_UNIX_SECONDS { UnixSeconds::from_ms(n) } else { UnixSeconds::from_secs(n) })
}

fn pay_option(obj: &impl Json) -> Option<PayOption> {
    let how = match text(obj, "how")?.as_str() {
        "qr" => PayHow::Qr,
        "redirect" => PayHow::Redirect,
        _ => return None,
    };
    Some(PayOption {
        pay_type: text(obj, "pay_type")?,
        wallet: text(obj, "wallet")?,
        // Sent by newer workers only (serde defaults it too): without it the widget groups the
        // choices by the display name.
        wallet_code: text(obj, "wallet_code").unwrap_or_default(),
        how,
        name_en: text(obj, "name_en")?,
        name_zh: text(obj, "name_zh")?,
    })
}

/// The latest attempt. An unreadable one reads as no attempt rather than failing the whole
/// answer: the session's status alone still tells the widget what to show.
fn attempt(obj: &impl Json) -> Option<AttemptView> {
    Some(AttemptView {
        id: text(obj, "id")?,
        pay_type: text(obj, "pay_type")?,
        status: AttemptStatus::parse(&text(obj, "status")?)?,
        out_trade_no: text(obj, "out_trade_no").unwrap_or_default(),
        syssn: text(obj, "syssn"),
        qrcode: text(obj, "qrcode"),
        redirect_url: text(obj, "redirect_url"),
        respcd: text(obj, "respcd"),
        created_at: time(obj, "created_at").unwrap_or_default(),
        expires_at: time(obj, "expires_at").unwrap_or_default(),
        paid_at: time(obj, "paid_at"),
    })
}

/// `GET /v1/checkout/{id}`.
pub fn checkout(v: &impl Json) -> Option<CheckoutView> {
    let pay_types = v.field("pay_types")?.items()?.iter().map(pay_option).collect::<Option<Vec<_>>>()?;
    Some(CheckoutView {
        id: text(v, "id")?,
        status: SessionStatus::parse(&text(v, "status")?)?,
        amount: number(v, "amount")?,
        currency: text(v, "currency")?,
        currency_exponent: u8::try_from(number(v, "currency_exponent")?).ok()?,
        goods_name: text(v, "goods_name")?,
        merchant_name: text(v, "merchant_name").unwrap_or_default(),
        expires_at: time(v, "expires_at")?,
        pay_types,
        attempt: v.field("attempt").as_ref().and_then(attempt),
    })
}

/// `POST /v1/checkout/{id}/pay`.
pub fn pay_answer(v: &impl Json) -> Option<PayAnswer> {
    Some(PayAnswer {
        attempt_id: text(v, "attempt_id")?,
        pay_type: text(v, "pay_type")?,
        qrcode: text(v, "qrcode"),
        redirect_url: text(v, "redirect_url"),
        expires_at: time(v, "expires_at")?,
    })
}

/// `GET /v1/checkout/{id}/status`. A session status this widget does not know (a worker newer
/// than a copy of the widget cached on a page) is not final yet: it reads as `open` with no
/// attempt, so [`crate::poll::decide`] keeps polling until the status is one it knows.
pub fn status(v: &impl Json) -> Option<StatusView> {
    let expires_at = time(v, "expires_at")?;
    let Some(status) = SessionStatus::parse(&text(v, "status")?) else {
        return Some(StatusView { status: SessionStatus::Open, attempt: None, paid_at: None, expires_at });
    };
    Some(StatusView {
        status,
        attempt: v.field("attempt").as_ref().and_then(attempt),
        paid_at: time(v, "paid_at"),
        expires_at,
    })
}

/// What the browser's `JSON.parse` (in `Response.json()`) gives.
#[cfg(target_arch = "wasm32")]
impl Json for wasm_bindgen::JsValue {
    fn field(&self, key: &str) -> Option<Self> {
        // `Reflect.get` throws on anything but an object: that reads as "no such field".
        js_sys::Reflect::get(self, &key.into()).ok().filter(|v| !v.is_undefined())
    }

    fn as_text(&self) -> Option<String> {
        self.as_string()
    }

    fn as_number(&self) -> Option<f64> {
        self.as_f64()
    }

    fn items(&self) -> Option<Vec<Self>> {
        use wasm_bindgen::JsCast;
        self.dyn_ref::<js_sys::Array>().map(js_sys::Array::to_vec)
    }
}

// serde_json is a dev-dependency for the host only (it must not reach the wasm build), so these
// tests run natively.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    impl Json for Value {
        fn field(&self, key: &str) -> Option<Self> {
            self.get(key).cloned()
        }

        fn as_text(&self) -> Option<String> {
            self.as_str().map(str::to_owned)
        }

        fn as_number(&self) -> Option<f64> {
            self.as_f64()
        }

        fn items(&self) -> Option<Vec<Self>> {
            self.as_array().cloned()
        }
    }

    /// Every attempt status. The exhaustive `match` stops compiling when one is added, which
    /// leads here to add it to the list.
    fn every_attempt_status() -> Vec<AttemptStatus> {
        use AttemptStatus::*;
        let all = [Creating, Pending, Paid, Failed, Closed, Expired, Held, Reversed];
        let position = |s: AttemptStatus| match s {
            Creating => 0,
            Pending => 1,
            Paid => 2,
            Failed => 3,
            Closed => 4,
            Expired => 5,
            Held => 6,
            Reversed => 7,
        };
        assert!(all.iter().enumerate().all(|(i, s)| position(*s) == i));
        all.to_vec()
    }

    /// An attempt with every optional field set (`full`) or none of them.
    fn attempt_view(status: AttemptStatus, full: bool) -> AttemptView {
        let some = |s: &str| full.then(|| s.to_owned());
        AttemptView {
            id: "pa_1".into(),
            pay_type: "800201".into(),
            status,
            out_trade_no: "QCP1".into(),
            syssn: some("20240101000100020000123456"),
            qrcode: some("weixin://wxpay/bizpayurl?pr=abc"),
            redirect_url: some("https://wallet.example/pay?x=1"),
            respcd: some("0000"),
            created_at: UnixSeconds::from_secs(1_700_000_000),
            expires_at: UnixSeconds::from_secs(1_700_000_900),
            paid_at: full.then_some(UnixSeconds::from_secs(1_700_000_100)),
        }
    }

    /// Every attempt a view can carry: none, and each status with and without optional fields.
    fn every_attempt() -> Vec<Option<AttemptView>> {
        let mut all = vec![None];
        for status in every_attempt_status() {
            all.push(Some(attempt_view(status, true)));
            all.push(Some(attempt_view(status, false)));
        }
        all
    }

    fn pay_options() -> Vec<PayOption> {
        vec![
            PayOption {
                pay_type: "800201".into(),
                wallet: "WeChat Pay".into(),
                wallet_code: "wechat_pay".into(),
                how: PayHow::Qr,
                name_en: "WeChat Pay MPM".into(),
                name_zh: "微信支付 MPM".into(),
            },
            PayOption {
                pay_type: "801512".into(),
                wallet: "Alipay HK".into(),
                wallet_code: "alipay".into(),
                how: PayHow::Redirect,
                name_en: "Alipay HK WAP".into(),
                name_zh: "支付寶香港 WAP".into(),
            },
        ]
    }

    #[test]
    fn checkout_views_read_back_equal() {
        for session in SessionStatus::ALL {
            for attempt in every_attempt() {
                for pay_types in [pay_options(), Vec::new()] {
                    let view = CheckoutView {
                        id: "cs_1".into(),
                        status: session,
                        amount: 3800,
                        currency: "HKD".into(),
                        currency_exponent: 2,
                        goods_name: "Milk tea".into(),
                        merchant_name: "Test Shop".into(),
                        expires_at: UnixSeconds::from_secs(1_700_001_800),
                        pay_types,
                        attempt: attempt.clone(),
                    };
                    let json = serde_json::to_value(&view).unwrap();
                    assert_eq!(checkout(&json).as_ref(), Some(&view), "{json}");
                }
            }
        }
    }

    #[test]
    fn status_views_read_back_equal() {
        for session in SessionStatus::ALL {
            for attempt in every_attempt() {
                for paid_at in [Some(UnixSeconds::from_secs(1_700_000_100)), None] {
                    let view = StatusView {
                        status: session,
                        attempt: attempt.clone(),
                        paid_at,
                        expires_at: UnixSeconds::from_secs(1_700_001_800),
                    };
                    let json = serde_json::to_value(&view).unwrap();
                    assert_eq!(status(&json).as_ref(), Some(&view), "{json}");
                }
            }
        }
    }

    #[test]
    fn pay_answers_read_back_equal() {
        let qr = Some("weixin://wxpay/bizpayurl?pr=abc".to_owned());
        let page = Some("https://wallet.example/pay?x=1".to_owned());
        for (qrcode, redirect_url) in [(qr.clone(), None), (None, page.clone()), (qr, page), (None, None)] {
            let answer = PayAnswer {
                attempt_id: "pa_1".into(),
                pay_type: "800201".into(),
                qrcode,
                redirect_url,
                expires_at: UnixSeconds::from_secs(1_700_000_900),
            };
            let json = serde_json::to_value(&answer).unwrap();
            assert_eq!(pay_answer(&json).as_ref(), Some(&answer), "{json}");
        }
    }

    #[test]
    fn the_largest_exact_number_reads_and_beyond_it_does_not() {
        let answer = |expires_at: Value| json!({"attempt_id": "pa_1", "pay_type": "800201", "expires_at": expires_at});
        assert_eq!(
            pay_answer(&answer(json!(9_007_199_254_740_991u64))).map(|a| a.expires_at),
            Some(UnixSeconds::from_ms(9_007_199_254_740_991))
        );
        for bad in [json!(9_007_199_254_740_992u64), json!(-1), json!(1.5), json!("1"), Value::Null] {
            assert_eq!(pay_answer(&answer(bad.clone())), None, "expires_at: {bad}");
        }
    }

    #[test]
    fn a_missing_or_mistyped_field_fails_the_whole_value() {
        let good = serde_json::to_value(StatusView {
            status: SessionStatus::Open,
            attempt: None,
            paid_at: None,
            expires_at: UnixSeconds::from_secs(1),
        })
        .unwrap();
        assert!(status(&good).is_some());
        let mut unknown = good.clone();
        unknown["status"] = json!("refunded");
        let read = status(&unknown).expect("an unknown status reads");
        assert_eq!((read.status, &read.attempt), (SessionStatus::Open, &None), "an unknown status is not final yet");
        assert_eq!(
            crate::poll::decide(Some(&read), false),
            crate::poll::Decision::KeepPolling { answered: true },
            "the widget keeps polling"
        );
        let mut missing = good.clone();
        missing.as_object_mut().unwrap().remove("expires_at");
        assert_eq!(status(&missing), None, "no expires_at");
        for not_an_object in [json!([]), json!("open"), json!(1), Value::Null] {
            assert_eq!(status(&not_an_object), None, "{not_an_object}");
        }
        let mut option = serde_json::to_value(&pay_options()[0]).unwrap();
        option["how"] = json!("card");
        assert_eq!(pay_option(&option), None, "an unknown way to pay");
        let view = json!({"id": "cs_1", "status": "open", "amount": 1, "currency": "HKD", "currency_exponent": 256,
            "goods_name": "Tea", "expires_at": 1, "pay_types": []});
        assert_eq!(checkout(&view), None, "an exponent over 255");
        let mut no_list = view.clone();
        no_list["currency_exponent"] = json!(2);
        assert!(checkout(&no_list).is_some());
        for pay_types in [json!({}), json!("800201"), Value::Null, json!([{"pay_type": "800201"}])] {
            no_list["pay_types"] = pay_types.clone();
            assert_eq!(checkout(&no_list), None, "pay_types: {pay_types}");
        }
    }

    /// Leniencies serde would not allow: optional display fields default, and a broken attempt
    /// is no attempt rather than no answer.
    #[test]
    fn lenient_where_the_widget_can_do_without() {
        let view = json!({"id": "cs_1", "status": "open", "amount": 1, "currency": "HKD", "currency_exponent": 2,
            "goods_name": "Tea", "expires_at": 1, "pay_types": [], "attempt": {"id": "pa_1"}});
        let read = checkout(&view).expect("reads without merchant_name");
        assert_eq!(read.merchant_name, "");
        assert_eq!(read.attempt, None, "an attempt without pay_type and status");
        let bare = json!({"status": "closing", "expires_at": 1,
            "attempt": {"id": "pa_1", "pay_type": "800201", "status": "pending"}});
        let attempt = status(&bare).and_then(|s| s.attempt).expect("a bare attempt reads");
        assert_eq!((attempt.out_trade_no.as_str(), attempt.created_at.secs(), attempt.expires_at.secs()), ("", 0, 0));
        let null = json!({"status": "open", "expires_at": 1, "attempt": null});
        assert_eq!(status(&null).map(|s| s.attempt), Some(None));
        let mut older = serde_json::to_value(&pay_options()[0]).unwrap();
        older.as_object_mut().unwrap().remove("wallet_code");
        assert_eq!(pay_option(&older).map(|o| o.wallet_code), Some(String::new()), "a worker without wallet codes");
        assert_eq!(serde_json::from_value::<PayOption>(older).map(|o| o.wallet_code).ok(), Some(String::new()));
    }

    /// Times are Unix seconds, read as they are; an older worker's milliseconds (13 digits
    /// today) are recognised and read as the same instant.
    #[test]
    fn times_are_seconds_and_an_older_workers_milliseconds_read_the_same() {
        let seconds = json!({"status": "open", "expires_at": 1_769_819_400u64, "paid_at": 1_769_817_660u64});
        let read = status(&seconds).unwrap();
        assert_eq!((read.expires_at.secs(), read.paid_at.map(UnixSeconds::secs)), (1_769_819_400, Some(1_769_817_660)));
        let millis = json!({"status": "open", "expires_at": 1_769_819_400_999u64, "paid_at": 1_769_817_660_000u64});
        assert_eq!(status(&millis), Some(read));
        let edge = json!({"status": "open", "expires_at": MAX_UNIX_SECONDS});
        assert_eq!(status(&edge).map(|s| s.expires_at.secs()), Some(MAX_UNIX_SECONDS), "the largest seconds");
    }
}
