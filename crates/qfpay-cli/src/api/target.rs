//! Which deployment to talk to and with which key: `QFPAY_WORKER_URL` and `MERCHANT_API_KEY`.
//!
//! The key is a bearer secret: it is sent only over TLS, or to this machine's loopback (a
//! `wrangler dev` or `cargo xtask dev`), and never printed; [`Target`]'s `Debug` hides it.

use std::fmt;
use std::net::IpAddr;

/// The worker's base URL (no trailing `/`) and the merchant API key.
pub struct Target {
    /// e.g. `https://pay.example.com` or `http://127.0.0.1:8787`.
    pub base: String,
    key: String,
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Target").field("base", &self.base).field("key", &"[hidden]").finish()
    }
}

impl Target {
    /// Reads the two settings from the environment.
    pub fn from_env() -> Result<Target, String> {
        let url = std::env::var("QFPAY_WORKER_URL").unwrap_or_default();
        let key = std::env::var("MERCHANT_API_KEY").unwrap_or_default();
        Target::new(&url, &key)
    }

    /// Checks both settings; errors name the setting and the rule, never the key's value.
    pub fn new(url: &str, key: &str) -> Result<Target, String> {
        let base = check_url(url.trim())?;
        let key = key.trim();
        if key.is_empty() {
            return Err("MERCHANT_API_KEY is not set (the merchant API key the worker was configured with)".into());
        }
        if !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("MERCHANT_API_KEY must be printable ASCII without spaces (value not shown)".into());
        }
        Ok(Target { base, key: key.to_owned() })
    }

    /// The key, for the `Authorization` header only.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// `text` with any occurrence of the key replaced, so nothing the CLI prints can carry it.
    pub fn redact(&self, text: &str) -> String {
        text.replace(&self.key, "[MERCHANT_API_KEY]")
    }
}

/// The base URL, checked: `https://`, or `http://` to a loopback host only; no credentials,
/// query or fragment.
fn check_url(url: &str) -> Result<String, String> {
    if url.is_empty() {
        return Err("QFPAY_WORKER_URL is not set (the worker's base URL, e.g. https://pay.example.com)".into());
    }
    let (scheme, rest) =
        url.split_once("://").ok_or_else(|| format!("QFPAY_WORKER_URL must start with https:// (got {url:?})"))?;
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.is_empty() {
        return Err(format!("QFPAY_WORKER_URL has no host (got {url:?})"));
    }
    if authority.contains('@') {
        return Err("QFPAY_WORKER_URL must not carry credentials (user@host); the key goes in MERCHANT_API_KEY".into());
    }
    if rest.contains(['?', '#']) {
        return Err(format!("QFPAY_WORKER_URL must be a base URL without ?query or #fragment (got {url:?})"));
    }
    match scheme.to_ascii_lowercase().as_str() {
        "https" => {}
        "http" if is_loopback(host_of(authority)) => {}
        "http" => {
            return Err(format!(
                "QFPAY_WORKER_URL {url:?} is http:// to a host that is not this machine: the merchant API key \
                 would cross the network unencrypted; use https:// (plain http:// is accepted only for \
                 localhost, 127.0.0.0/8 and [::1])"
            ))
        }
        other => return Err(format!("QFPAY_WORKER_URL must be https:// (got the scheme {other:?})")),
    }
    Ok(url.trim_end_matches('/').to_owned())
}

/// The host of `host[:port]` or `[v6][:port]`.
fn host_of(authority: &str) -> &str {
    if let Some(v6) = authority.strip_prefix('[') {
        return v6.split(']').next().unwrap_or_default();
    }
    authority.rsplit_once(':').map_or(authority, |(host, _)| host)
}

fn is_loopback(host: &str) -> bool {
    // `localhost` is loopback by RFC 6761; any other name could resolve anywhere.
    host.eq_ignore_ascii_case("localhost") || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "sk_test_0123456789abcdef0123456789abcdef";

    #[test]
    fn https_anywhere_and_http_only_to_loopback() {
        for ok in [
            "https://pay.example.com",
            "https://pay.example.com/",
            "HTTPS://pay.example.com:8443/prefix/",
            "http://127.0.0.1:8787",
            "http://127.9.9.9",
            "http://localhost:8787/",
            "http://[::1]:8787",
        ] {
            assert!(Target::new(ok, KEY).is_ok(), "{ok}");
        }
        assert_eq!(Target::new("https://pay.example.com/x/", KEY).unwrap().base, "https://pay.example.com/x");
        for (bad, says) in [
            ("http://pay.example.com", "unencrypted"),
            ("http://10.0.0.5:8787", "unencrypted"),
            ("http://127.0.0.1.example.com", "unencrypted"),
            ("http://[::2]:8787", "unencrypted"),
            ("ftp://127.0.0.1", "must be https://"),
            ("pay.example.com", "must start with https://"),
            ("https://user:pw@pay.example.com", "credentials"),
            ("https://pay.example.com/?x=1", "without ?query"),
            ("https:///v1", "no host"),
            ("", "is not set"),
        ] {
            let err = Target::new(bad, KEY).unwrap_err();
            assert!(err.starts_with("QFPAY_WORKER_URL") && err.contains(says), "{bad}: {err}");
        }
    }

    #[test]
    fn the_key_is_checked_and_never_shown() {
        assert!(Target::new("https://a.example", "").unwrap_err().starts_with("MERCHANT_API_KEY is not set"));
        let err = Target::new("https://a.example", "sk with space").unwrap_err();
        assert!(err.starts_with("MERCHANT_API_KEY") && !err.contains("sk with"), "{err}");
        let target = Target::new("https://a.example", KEY).unwrap();
        assert!(!format!("{target:?}").contains(KEY));
        assert_eq!(target.redact(&format!("echo {KEY}!")), "echo [MERCHANT_API_KEY]!");
    }
}
