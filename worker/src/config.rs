//! The worker's settings, from its bindings. Secrets: `QFPAY_APPCODE`, `QFPAY_KEY`,
//! `QFPAY_MCHID` (optional), `MERCHANT_API_KEY` (at least 32 characters) and, while it is being
//! rotated, `MERCHANT_API_KEY_NEXT`. Vars: `QFPAY_ENV`, `QFPAY_BASE_URL` (local),
//! `ALLOWED_ORIGINS`, `PUBLIC_URL`, `SESSION_TTL_MINUTES`, `QUERY_AFTER_SECONDS`,
//! `AUTO_REFUND_DOUBLE_PAYMENTS`, `MERCHANT_NAME`, `DEMO_SHOP` (local only), `WEBHOOK_URL` with
//! the secret `WEBHOOK_SECRET` (`whsec_...`), and what `qfpay gateway check` settles about the
//! real gateway: `QFPAY_ANSWER_SIGNATURE`, `QFPAY_QUERY_LIST_MAX`, `END_ORDER`. A problem names
//! the setting, never its value.

use checkout_api::events::WebhookSecret;
use checkout_api::{ApiError, ErrorCode};
use qfpay::{Config as GatewayConfig, Environment};
use std::rc::Rc;

use worker::Env;

/// Everything a request needs to know.
pub struct Settings {
    pub gateway: GatewayConfig,
    pub merchant_keys: MerchantKeys,
    pub allowed_origins: Vec<String>,
    pub public_url: String,
    pub session_ttl_minutes: u32,
    pub query_after_seconds: u64,
    pub auto_refund_double_payments: bool,
    /// Refund every paid session at once (`AUTO_REFUND_TEST_PAYMENTS`): the guide asks that
    /// test-environment payments be refunded immediately.
    pub refund_payments_at_once: bool,
    pub merchant_name: String,
    /// The pay types QFPay enabled for this appcode (`PAY_TYPES`), or the Hong Kong default.
    pub pay_types: Vec<String>,
    /// Whether `PAY_TYPES` was set (then a till's CPM type must be in it too).
    pub pay_types_set: bool,
    /// Where events are delivered; `None`: only the feed (`GET /v1/events`).
    pub webhook: Option<Webhook>,
    /// `DEMO_SHOP=true`: `POST /demo/sessions` creates sessions for anyone who asks, so it is
    /// refused unless the gateway is the local simulator.
    pub demo_shop: bool,
    /// How the gateway's answer signatures are checked (`QFPAY_ANSWER_SIGNATURE`).
    pub answer_signature: AnswerSignature,
    /// The most order numbers one query carries (`QFPAY_QUERY_LIST_MAX`). QFPay types the field
    /// String(128) while taking comma-separated lists, so how long a list it takes is unknown:
    /// the default, 1, works under any reading; `qfpay gateway check` tells what to raise it to.
    pub query_list_max: usize,
    /// Per pay type, how an unpaid order is ended where QFPay enabled more than its
    /// documentation's table (`END_ORDER`, `805801=close,...`).
    pub end_order_overrides: Vec<(String, qfpay::tables::EndOrder)>,
    /// Seconds the worker's clock is moved by (`CLOCK_OFFSET_SECONDS`; tests only).
    pub clock_offset_seconds: i64,
    /// Days a session that never moved money is kept after its end (`RETENTION_DAYS_UNPAID`).
    pub retention_days_unpaid: u64,
    /// Days a raw notification is kept (`RETENTION_DAYS_NOTIFICATIONS`).
    pub retention_days_notifications: u64,
    /// Where the worker dies on purpose, with what chance (`FAULT_POINTS`; local only).
    pub fault_points: Vec<(String, f64)>,
}

/// `QFPAY_ANSWER_SIGNATURE`: what the gateway's `X-QF-SIGN` on answers is checked against. QFPay
/// does not document what it covers, so the default, `log`, accepts every answer and logs which
/// reading matched (or that none did); `qfpay gateway check` names the reading to enforce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerSignature {
    /// Not checked.
    Off,
    /// Every known reading tried, the answer accepted either way, the result logged.
    Log,
    /// This reading enforced: an answer signed otherwise (or unsigned) is no answer.
    Enforce(qfpay::sign::AnswerReading),
}

fn answer_signature(env: &Env) -> Result<AnswerSignature, SettingProblem> {
    match lookup(env, "QFPAY_ANSWER_SIGNATURE").as_deref().map(str::trim) {
        None | Some("log") => Ok(AnswerSignature::Log),
        Some("off") => Ok(AnswerSignature::Off),
        Some(other) => qfpay::sign::AnswerReading::parse(other).map(AnswerSignature::Enforce).ok_or(SettingProblem {
            setting: "QFPAY_ANSWER_SIGNATURE".into(),
            problem: "must be off, log, sorted-data, top-level or raw-body".into(),
        }),
    }
}

/// `CLOCK_OFFSET_SECONDS`: moves the worker's clock, so a test can stand at a month's last
/// second. Only against the local simulator: a moved clock would send wrong `txdtm`s to QFPay.
fn clock_offset(env: &Env, environment: Environment) -> Result<i64, SettingProblem> {
    let Some(text) = lookup(env, "CLOCK_OFFSET_SECONDS") else { return Ok(0) };
    let problem = |p: &str| SettingProblem { setting: "CLOCK_OFFSET_SECONDS".into(), problem: p.into() };
    if environment != Environment::Local {
        return Err(problem(
            "must not be set unless QFPAY_ENV=local: it moves the clock the gateway's txdtm comes from",
        ));
    }
    text.trim().parse::<i64>().map_err(|_| problem("must be a whole number of seconds"))
}

/// `FAULT_POINTS`: crash points for the fault run; a configuration problem unless
/// `QFPAY_ENV=local`, so no deployment can be made to die on purpose.
fn fault_points(env: &Env, environment: Environment) -> Result<Vec<(String, f64)>, SettingProblem> {
    let Some(text) = lookup(env, "FAULT_POINTS") else { return Ok(Vec::new()) };
    let problem = |p: String| SettingProblem { setting: "FAULT_POINTS".into(), problem: p };
    if environment != Environment::Local {
        return Err(problem("must not be set unless QFPAY_ENV=local: it makes the worker die on purpose".into()));
    }
    crate::faults::parse(&text).map_err(problem)
}

fn end_order_overrides(env: &Env) -> Result<Vec<(String, qfpay::tables::EndOrder)>, SettingProblem> {
    lookup(env, "END_ORDER").map_or(Ok(Vec::new()), |text| {
        qfpay::tables::parse_end_order_overrides(&text)
            .map_err(|problem| SettingProblem { setting: "END_ORDER".into(), problem })
    })
}

/// Shortest merchant API key accepted: 32 characters of a random key are far beyond guessing.
pub const MIN_MERCHANT_KEY_LEN: usize = 32;

/// The keys that open the merchant's API: `MERCHANT_API_KEY`, and `MERCHANT_API_KEY_NEXT`
/// while the merchant moves to a new one (both work, so a rotation needs no downtime). Never
/// printed (redacted `Debug`, no `Display`).
pub struct MerchantKeys {
    current: String,
    next: Option<String>,
}

impl std::fmt::Debug for MerchantKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MerchantKeys(redacted)")
    }
}

impl MerchantKeys {
    /// Whether `given` is one of the keys. Both are always compared, and by their SHA256
    /// (always 64 characters), so the time taken tells nothing of a key, its length, or
    /// which one matched.
    pub fn accepts(&self, given: &str) -> bool {
        is_one_of(given, std::iter::once(self.current.as_str()).chain(self.next.as_deref()))
    }

    /// Whether `given` is the client secret a session `session_id` created under either key
    /// has ([`MerchantKeys::client_secrets`]), compared as [`MerchantKeys::accepts`] compares:
    /// no read is needed to check a derived secret.
    pub fn opens_session(&self, session_id: &str, given: &str) -> bool {
        is_one_of(given, self.client_secrets(session_id).iter().map(String::as_str))
    }

    /// The client secret of a session the merchant's API creates, derived from its id under
    /// the current key: `cs_secret_` and base32 of HMAC-SHA256(key, label + id), cut to the
    /// 30 bytes a random secret has. Derived rather than drawn so that it never has to be
    /// stored: an idempotent replay of the creation derives it again (see
    /// `merchant::create_session`). Whoever holds the merchant key can already create, read
    /// and refund every session, so a secret derived from it gives nobody anything new, and
    /// HMAC makes the key unrecoverable from any number of secrets.
    pub fn client_secret(&self, session_id: &str) -> String {
        derive_client_secret(&self.current, session_id)
    }

    /// The secret a session created under either key in force would have (current first):
    /// after a rotation a replay finds the one that opens the session.
    pub fn client_secrets(&self, session_id: &str) -> Vec<String> {
        std::iter::once(&self.current).chain(self.next.as_ref()).map(|k| derive_client_secret(k, session_id)).collect()
    }
}

/// Whether `given` equals one of `candidates`: every candidate is compared, each by its SHA256
/// (always 64 characters) and in constant time, so the time taken tells nothing of a
/// candidate, its length, or which one matched.
fn is_one_of<'a>(given: &str, candidates: impl Iterator<Item = &'a str>) -> bool {
    let given = qfpay::sign::sha256_hex(given.as_bytes());
    candidates.fold(false, |found, c| found | qfpay::sign::secret_eq(&qfpay::sign::sha256_hex(c.as_bytes()), &given))
}

fn derive_client_secret(key: &str, session_id: &str) -> String {
    checkout_api::client_secret::derive(key, session_id)
}

/// The merchant's webhook receiver.
pub struct Webhook {
    pub url: String,
    pub secret: WebhookSecret,
}

/// A setting that is missing or malformed.
#[derive(Debug, Clone)]
pub struct SettingProblem {
    pub setting: String,
    pub problem: String,
}

impl SettingProblem {
    /// The API's answer while the worker is misconfigured: the setting's name, never its value.
    pub fn to_error(&self) -> ApiError {
        ApiError::new(
            ErrorCode::Misconfigured,
            format!("the worker is not configured: {} {}", self.setting, self.problem),
        )
        .about(self.setting.clone())
    }
}

/// Reads a binding whether it was set as a secret or a plain var.
fn lookup(env: &Env, name: &str) -> Option<String> {
    env.secret(name)
        .ok()
        .map(|s| s.to_string())
        .or_else(|| env.var(name).ok().map(|v| v.to_string()))
        .filter(|v| !v.trim().is_empty())
}

fn number<T: std::str::FromStr>(
    env: &Env,
    name: &str,
    default: T,
    valid: impl Fn(&T) -> bool,
) -> Result<T, SettingProblem> {
    match lookup(env, name) {
        None => Ok(default),
        Some(text) => text
            .trim()
            .parse::<T>()
            .ok()
            .filter(|v| valid(v))
            .ok_or(SettingProblem { setting: name.into(), problem: "is not a number in the allowed range".into() }),
    }
}

thread_local! {
    /// The settings as first read by this worker instance. A deployment's variables and secrets
    /// are fixed for an instance's life (a change is a new version, served by new instances), so
    /// they are read and checked once: reading them was a tenth of a refused request's CPU.
    static LOADED: std::cell::OnceCell<Result<Rc<Settings>, SettingProblem>> = const { std::cell::OnceCell::new() };
}

impl Settings {
    /// Every setting, read and checked on this instance's first request, and the clock's offset
    /// (`CLOCK_OFFSET_SECONDS`) set from them.
    pub fn load(env: &Env) -> Result<Rc<Settings>, SettingProblem> {
        let settings = LOADED.with(|loaded| loaded.get_or_init(|| Self::read(env).map(Rc::new)).clone())?;
        crate::clock::set_offset_seconds(settings.clock_offset_seconds);
        Ok(settings)
    }

    fn read(env: &Env) -> Result<Settings, SettingProblem> {
        let gateway = GatewayConfig::from_lookup(|name| lookup(env, name), Environment::Local)
            .map_err(|e| SettingProblem { setting: e.setting, problem: e.problem.into() })?;
        let refund_payments_at_once = refund_at_once(env, gateway.environment)?;
        let gateway_environment = gateway.environment;
        let merchant_keys = merchant_keys(env)?;
        let demo_shop = demo_shop(env, gateway.environment)?;
        let public_url = lookup(env, "PUBLIC_URL")
            .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
            .ok_or(SettingProblem { setting: "PUBLIC_URL".into(), problem: "is not set to an http(s) URL".into() })?
            .trim_end_matches('/')
            .to_owned();
        let allowed_origins = lookup(env, "ALLOWED_ORIGINS")
            .map(|v| {
                v.split(',').map(|o| o.trim().trim_end_matches('/').to_owned()).filter(|o| !o.is_empty()).collect()
            })
            .unwrap_or_default();
        Ok(Settings {
            gateway,
            merchant_keys,
            allowed_origins,
            public_url,
            session_ttl_minutes: number(env, "SESSION_TTL_MINUTES", 30, |m| (5..=120).contains(m))?,
            query_after_seconds: number(
                env,
                "QUERY_AFTER_SECONDS",
                checkout_api::upstream::DEFAULT_QUERY_AFTER_SECONDS,
                |s| (1..=600).contains(s),
            )?,
            auto_refund_double_payments: lookup(env, "AUTO_REFUND_DOUBLE_PAYMENTS").is_none_or(|v| v != "false"),
            refund_payments_at_once,
            merchant_name: lookup(env, "MERCHANT_NAME").unwrap_or_else(|| "Merchant".into()),
            pay_types_set: lookup(env, "PAY_TYPES").is_some(),
            pay_types: enabled_pay_types(env)?,
            webhook: webhook(env)?,
            demo_shop,
            answer_signature: answer_signature(env)?,
            query_list_max: number(env, "QFPAY_QUERY_LIST_MAX", 1, |n| (1..=100).contains(n))?,
            end_order_overrides: end_order_overrides(env)?,
            clock_offset_seconds: clock_offset(env, gateway_environment)?,
            retention_days_unpaid: number(env, "RETENTION_DAYS_UNPAID", 30, |d| (1..=3650).contains(d))?,
            retention_days_notifications: number(env, "RETENTION_DAYS_NOTIFICATIONS", 30, |d| (1..=3650).contains(d))?,
            fault_points: fault_points(env, gateway_environment)?,
        })
    }

    /// How an unpaid order of `pay_type` can be ended: the merchant's override, else QFPay's
    /// documented table.
    pub fn end_order(&self, pay_type: &str) -> qfpay::tables::EndOrder {
        self.end_order_overrides
            .iter()
            .find(|(code, _)| code == pay_type)
            .map_or_else(|| qfpay::tables::end_order(pay_type), |(_, mode)| *mode)
    }

    /// Whether the demo shop's route is on (`DEMO_SHOP=true`, which only the local simulator
    /// allows).
    pub fn demo_enabled(&self) -> bool {
        self.demo_shop
    }

    /// Whether the gateway is the local simulator (`QFPAY_ENV=local`).
    pub fn is_local(&self) -> bool {
        self.gateway.environment == Environment::Local
    }
}

/// `MERCHANT_API_KEY` (required) and `MERCHANT_API_KEY_NEXT` (during a rotation), each at
/// least [`MIN_MERCHANT_KEY_LEN`] characters.
fn merchant_keys(env: &Env) -> Result<MerchantKeys, SettingProblem> {
    let problem = |setting: &str, problem: String| SettingProblem { setting: setting.into(), problem };
    let long_enough = format!("must be at least {MIN_MERCHANT_KEY_LEN} characters (a long random string)");
    let current = lookup(env, "MERCHANT_API_KEY")
        .ok_or_else(|| problem("MERCHANT_API_KEY", format!("is not set; it {long_enough}")))?;
    if current.trim().chars().count() < MIN_MERCHANT_KEY_LEN {
        return Err(problem("MERCHANT_API_KEY", long_enough));
    }
    let next = lookup(env, "MERCHANT_API_KEY_NEXT");
    if next.as_ref().is_some_and(|k| k.trim().chars().count() < MIN_MERCHANT_KEY_LEN) {
        return Err(problem("MERCHANT_API_KEY_NEXT", long_enough));
    }
    Ok(MerchantKeys { current: current.trim().to_owned(), next: next.map(|k| k.trim().to_owned()) })
}

/// `DEMO_SHOP`: `true` turns on `POST /demo/sessions`, which hands anyone a payable session;
/// so it is a configuration problem with any gateway but the local simulator.
fn demo_shop(env: &Env, environment: Environment) -> Result<bool, SettingProblem> {
    let problem = |p: &str| SettingProblem { setting: "DEMO_SHOP".into(), problem: p.into() };
    match lookup(env, "DEMO_SHOP").as_deref().map(str::trim) {
        None | Some("false") => Ok(false),
        Some("true") if environment == Environment::Local => Ok(true),
        Some("true") => {
            Err(problem("must not be true unless QFPAY_ENV=local: the demo route creates sessions for anyone"))
        }
        Some(_) => Err(problem("must be true or false")),
    }
}

/// `AUTO_REFUND_TEST_PAYMENTS`: on by default in QFPay's test environment (guide: "确保测试交易
/// 立即触发退款", make sure test transactions are refunded at once), off elsewhere; never in
/// production, where it would refund every sale.
fn refund_at_once(env: &Env, environment: Environment) -> Result<bool, SettingProblem> {
    let problem = |p: &str| SettingProblem { setting: "AUTO_REFUND_TEST_PAYMENTS".into(), problem: p.into() };
    match (lookup(env, "AUTO_REFUND_TEST_PAYMENTS").as_deref(), environment) {
        (None, env) => Ok(env == Environment::Test),
        (Some("false"), _) => Ok(false),
        (Some("true"), Environment::Prod) => {
            Err(problem("must not be true with QFPAY_ENV=prod: it refunds every sale"))
        }
        (Some("true"), _) => Ok(true),
        (Some(_), _) => Err(problem("must be true or false")),
    }
}

/// `PAY_TYPES`: the pay types QFPay enabled for this appcode, comma-separated; unset, the Hong
/// Kong merchant's QR and wallet-page products, one per wallet and flow.
fn enabled_pay_types(env: &Env) -> Result<Vec<String>, SettingProblem> {
    match lookup(env, "PAY_TYPES") {
        None => Ok(checkout_api::pay_options::default_enabled()),
        Some(text) => checkout_api::pay_options::parse_enabled(&text)
            .map_err(|problem| SettingProblem { setting: "PAY_TYPES".into(), problem }),
    }
}

/// `WEBHOOK_URL` and `WEBHOOK_SECRET`: both or neither.
fn webhook(env: &Env) -> Result<Option<Webhook>, SettingProblem> {
    let problem = |setting: &str, problem: &str| SettingProblem { setting: setting.into(), problem: problem.into() };
    let Some(url) = lookup(env, "WEBHOOK_URL") else {
        return match lookup(env, "WEBHOOK_SECRET") {
            Some(_) => Err(problem("WEBHOOK_URL", "is not set, but WEBHOOK_SECRET is: set both, or neither")),
            None => Ok(None),
        };
    };
    let local = lookup(env, "QFPAY_ENV").is_none_or(|e| e == "local");
    if !(url.starts_with("https://") || (local && url.starts_with("http://"))) {
        return Err(problem("WEBHOOK_URL", "must be an https:// URL (http:// only with QFPAY_ENV=local)"));
    }
    let secret = lookup(env, "WEBHOOK_SECRET").ok_or(problem("WEBHOOK_SECRET", "is not set, but WEBHOOK_URL is"))?;
    let secret = WebhookSecret::parse(&secret).map_err(|rule| problem("WEBHOOK_SECRET", rule))?;
    Ok(Some(Webhook { url: url.trim().to_owned(), secret }))
}
