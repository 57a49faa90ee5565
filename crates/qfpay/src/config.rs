//! Which gateway to talk to and with which credentials, read through a lookup function so
//! the CLI can pass `std::env::var` and the worker its bindings.
//!
//! `QFPAY_{ENV}_APPCODE`, `QFPAY_{ENV}_KEY`, `QFPAY_{ENV}_MCHID` win over the plain names, so
//! several environments can sit side by side without mixing one's key with another's URL.

use core::fmt;

use crate::secret::ClientKey;

/// A QFPay environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Environment {
    /// Real payments, settled.
    Prod,
    /// Real payment flow on a test account, never settled.
    Test,
    /// Simulated payments.
    Sandbox,
    /// This project's own simulator, at `QFPAY_BASE_URL`.
    Local,
}

impl Environment {
    /// Reads `prod`, `test`, `sandbox` or `local` (any case).
    pub fn parse(text: &str) -> Option<Self> {
        [Environment::Prod, Environment::Test, Environment::Sandbox, Environment::Local]
            .into_iter()
            .find(|e| e.name().eq_ignore_ascii_case(text.trim()))
    }

    /// The lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Environment::Prod => "prod",
            Environment::Test => "test",
            Environment::Sandbox => "sandbox",
            Environment::Local => "local",
        }
    }

    /// The gateway's base URL; `None` for `local`, whose URL is configured.
    pub fn fixed_base_url(self) -> Option<&'static str> {
        match self {
            Environment::Prod => Some("https://openapi-hk.qfapi.com"),
            Environment::Test => Some("https://test-openapi-hk.qfapi.com"),
            Environment::Sandbox => Some("https://openapi-int.qfapi.com"),
            Environment::Local => None,
        }
    }
}

/// What a merchant signs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// `X-QF-APPCODE`.
    pub appcode: String,
    /// The client key (never printed).
    pub key: ClientKey,
    /// The merchant id, sent with every request when the account has one.
    pub mchid: Option<String>,
}

/// A complete gateway configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Which environment.
    pub environment: Environment,
    /// Where requests go, without a trailing slash.
    pub base_url: String,
    /// Who signs them.
    pub credentials: Credentials,
}

/// A setting that is missing or malformed. Names the setting, never its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The variable's name, e.g. `QFPAY_KEY`.
    pub setting: String,
    /// What is wrong with it.
    pub problem: &'static str,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.setting, self.problem)
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Reads the configuration. `default_env` applies when `QFPAY_ENV` is unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>, default_env: Environment) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let environment = match get("QFPAY_ENV") {
            None => default_env,
            Some(text) => Environment::parse(&text).ok_or(ConfigError {
                setting: "QFPAY_ENV".into(),
                problem: "must be one of prod, test, sandbox, local",
            })?,
        };
        let prefixed = |name: &str| format!("QFPAY_{}_{name}", environment.name().to_ascii_uppercase());
        let either = |name: &str| get(&prefixed(name)).or_else(|| get(&format!("QFPAY_{name}")));
        let required =
            |name: &str| either(name).ok_or(ConfigError { setting: format!("QFPAY_{name}"), problem: "is not set" });
        let appcode = required("APPCODE")?;
        let key = ClientKey::new(required("KEY")?);
        let mchid = either("MCHID");
        let base_url = match environment.fixed_base_url() {
            Some(url) => url.to_owned(),
            None => local_base_url(get("QFPAY_BASE_URL"))?,
        };
        Ok(Config { environment, base_url, credentials: Credentials { appcode, key, mchid } })
    }
}

fn local_base_url(value: Option<String>) -> Result<String, ConfigError> {
    let url = value.ok_or(ConfigError {
        setting: "QFPAY_BASE_URL".into(),
        problem: "is not set (QFPAY_ENV=local needs the simulator's URL)",
    })?;
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(ConfigError { setting: "QFPAY_BASE_URL".into(), problem: "must start with http:// or https://" });
    }
    if !on_this_network(&url) {
        // `local` allows what no real gateway may see (crash points, a moved clock, the demo
        // shop): its gateway must be a simulator on this machine or a private network.
        return Err(ConfigError {
            setting: "QFPAY_BASE_URL".into(),
            problem: "must be a loopback or private address with QFPAY_ENV=local (the simulator), never a QFPay host",
        });
    }
    Ok(url.trim_end_matches('/').to_owned())
}

/// Whether a URL's host is this machine or a private network (`localhost`, loopback, RFC 1918,
/// IPv6 unique-local).
fn on_this_network(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    match host.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(v4)) => v4.is_loopback() || v4.is_private(),
        Ok(std::net::IpAddr::V6(v6)) => v6.is_loopback() || (v6.segments()[0] & 0xfe00) == 0xfc00,
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn local_means_this_machine_or_a_private_network() {
        for ok in [
            "http://127.0.0.1:8788",
            "http://localhost:1",
            "http://[::1]:9/x",
            "http://10.0.0.5",
            "http://192.168.1.2:80",
        ] {
            assert!(on_this_network(ok), "{ok}");
        }
        for no in [
            "https://openapi-hk.qfapi.com",
            "https://test-openapi-hk.qfapi.com:443",
            "http://8.8.8.8",
            "http://127.0.0.1.evil.example",
        ] {
            assert!(!on_this_network(no), "{no}");
        }
    }

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn prefixed_names_win() {
        let cfg = Config::from_lookup(
            lookup(&[
                ("QFPAY_ENV", "sandbox"),
                ("QFPAY_APPCODE", "plain"),
                ("QFPAY_SANDBOX_APPCODE", "sb"),
                ("QFPAY_KEY", "k"),
            ]),
            Environment::Local,
        )
        .unwrap();
        assert_eq!(cfg.credentials.appcode, "sb");
        assert_eq!(cfg.base_url, "https://openapi-int.qfapi.com");
        assert_eq!(cfg.credentials.mchid, None);
    }

    #[test]
    fn local_needs_a_base_url_and_errors_name_the_setting() {
        let err =
            Config::from_lookup(lookup(&[("QFPAY_APPCODE", "a"), ("QFPAY_KEY", "secret-value")]), Environment::Local)
                .unwrap_err();
        assert_eq!(err.setting, "QFPAY_BASE_URL");
        assert!(!err.to_string().contains("secret-value"));
        let err = Config::from_lookup(lookup(&[("QFPAY_APPCODE", "a")]), Environment::Local).unwrap_err();
        assert_eq!(err.setting, "QFPAY_KEY");
        let err = Config::from_lookup(lookup(&[("QFPAY_ENV", "staging")]), Environment::Local).unwrap_err();
        assert_eq!(err.setting, "QFPAY_ENV");
    }

    #[test]
    fn local_reads_base_url() {
        let cfg = Config::from_lookup(
            lookup(&[
                ("QFPAY_APPCODE", "a"),
                ("QFPAY_KEY", "k"),
                ("QFPAY_MCHID", "M1"),
                ("QFPAY_BASE_URL", "http://127.0.0.1:9/"),
            ]),
            Environment::Local,
        )
        .unwrap();
        assert_eq!(cfg.base_url, "http://127.0.0.1:9");
        assert_eq!(cfg.credentials.mchid.as_deref(), Some("M1"));
    }
}
