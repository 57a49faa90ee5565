//! The worker's settings, from its bindings. Secrets: `QFPAY_APPCODE`, `QFPAY_KEY`,
//! `QFPAY_MCHID` (optional), `MERCHANT_API_KEY`. Vars: `QFPAY_ENV`, `QFPAY_BASE_URL` (local),
//! `ALLOWED_ORIGINS`, `PUBLIC_URL`, `SESSION_TTL_MINUTES`, `QUERY_AFTER_SECONDS`,
//! `AUTO_REFUND_DOUBLE_PAYMENTS`, `MERCHANT_NAME`, `WEBHOOK_URL` with the secret
//! `WEBHOOK_SECRET` (`whsec_...`). A problem names the setting, never its value.

use checkout_api::events::WebhookSecret;
use checkout_api::{ApiError, ErrorCode};
use qfpay::{Config as GatewayConfig, Environment};
use worker::Env;

/// Everything a request needs to know.
pub struct Settings {
    pub gateway: GatewayConfig,
    pub merchant_api_key: String,
    pub allowed_origins: Vec<String>,
    pub public_url: String,
    pub session_ttl_minutes: u32,
    pub query_after_seconds: u64,
    pub auto_refund_double_payments: bool,
    /// Refund every paid session at once (`AUTO_REFUND_TEST_PAYMENTS`): the guide asks that
    /// test-environment payments be refunded immediately.
    pub refund_payments_at_once: bool,
    pub merchant_name: String,
    /// Where events are delivered; `None`: only the feed (`GET /v1/events`).
    pub webhook: Option<Webhook>,
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

impl Settings {
    /// Reads and checks every setting.
    pub fn load(env: &Env) -> Result<Settings, SettingProblem> {
        let gateway = GatewayConfig::from_lookup(|name| lookup(env, name), Environment::Local)
            .map_err(|e| SettingProblem { setting: e.setting, problem: e.problem.into() })?;
        let refund_payments_at_once = refund_at_once(env, gateway.environment)?;
        let merchant_api_key = lookup(env, "MERCHANT_API_KEY").filter(|k| k.len() >= 8).ok_or(SettingProblem {
            setting: "MERCHANT_API_KEY".into(),
            problem: "is not set (or shorter than 8 characters)".into(),
        })?;
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
            merchant_api_key,
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
            webhook: webhook(env)?,
        })
    }

    /// Whether the demo routes are on: only against the local simulator.
    pub fn demo_enabled(&self) -> bool {
        self.gateway.environment == Environment::Local
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
