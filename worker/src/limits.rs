//! Per-client limits, so one shopper (or one script) cannot crowd out the others: the widget's
//! API (`/v1/checkout/...`) is limited per client IP and per session, and wrong merchant keys
//! are limited per client IP. Counted by Cloudflare's rate-limiting binding (`[[ratelimits]]`
//! in `wrangler.toml`), which is per Cloudflare location and approximate: a flood is cut off,
//! a careful count is not kept. The exact QFPay limits (100/s, 400/min per merchant) stay in
//! the upstream gate, a Durable Object. Beyond a limit: `429 rate_limited` with `Retry-After`
//! (the binding does not say when its window ends, so that is the window's length).

use checkout_api::{ApiError, ErrorCode};
use worker::{Env, Headers, Request};

use crate::config::{SettingProblem, Settings};

/// The binding counting the widget's requests per client IP.
pub const CHECKOUT_CLIENT_LIMITER: &str = "CHECKOUT_CLIENT_LIMITER";
/// The binding counting the widget's requests per session (and bearer secret).
pub const CHECKOUT_SESSION_LIMITER: &str = "CHECKOUT_SESSION_LIMITER";
/// The binding counting wrong merchant keys per client IP.
pub const AUTH_FAILURE_LIMITER: &str = "AUTH_FAILURE_LIMITER";
/// The binding counting payment attempts per client (IP, /64 for IPv6) across sessions.
pub const PAY_CLIENT_LIMITER: &str = "PAY_CLIENT_LIMITER";
/// Its period (`simple.period` in `wrangler.toml`).
const PAY_PERIOD_SECONDS: u64 = 60;

/// The checkout limiters' period (`simple.period` in `wrangler.toml`): how long a limited
/// client is told to wait.
const CHECKOUT_PERIOD_SECONDS: u64 = 10;
/// The wrong-key limiter's period, and how long a client past it is shut out.
const AUTH_PERIOD_SECONDS: u64 = 60;

/// Who is asking: `CF-Connecting-IP`, which Cloudflare sets on every request from the
/// internet (a client cannot choose it). Without it (a request that did not come through
/// Cloudflare's edge) every request shares one key.
fn client(headers: &Headers) -> String {
    headers.get("CF-Connecting-IP").ok().flatten().filter(|ip| !ip.is_empty()).unwrap_or_else(|| "local".into())
}

/// A key that says nothing by itself: the limiters and the cache never hold an IP address or
/// a secret, only a fingerprint.
fn fingerprint(kind: &str, value: &str) -> String {
    let hash = qfpay::sign::sha256_hex(format!("{kind}:{value}").as_bytes());
    format!("{kind}:{}", &hash[..32])
}

fn missing(binding: &str) -> ApiError {
    let problem = SettingProblem {
        setting: binding.into(),
        problem: "(a [[ratelimits]] binding) is missing from wrangler.toml".into(),
    };
    problem.to_error()
}

/// One request counted against a binding under a key, and the answer should it be over.
struct Count {
    binding: &'static str,
    key: String,
    refusal: ApiError,
}

/// Counts the request against each of `counts`, all at once: `Err` with the refusal asking
/// for the longest wait if any is over its limit. A key the binding has just refused is refused here without asking
/// anyone, for [`crate::refused_recently::HOLD_MS`]: the client was told to wait far longer
/// (`Retry-After`), and asking the binding was the largest part of a flood's refusal. The
/// bindings are asked together rather than in turn, so a request that passes waits for one
/// round trip, not one per limit. A limiter that fails to answer lets the request through (and
/// logs it): a broken counter must not stop every shopper.
async fn count_all(env: &Env, counts: Vec<Count>) -> Result<(), ApiError> {
    let now = crate::clock::now_ms();
    let held = counts.iter().filter(|c| crate::refused_recently::is_held(c.binding, &c.key, now));
    if let Some(refusal) = longest_wait(held.map(|c| c.refusal.clone())) {
        return Err(refusal);
    }
    let asked = counts.iter().map(|c| async move {
        let limiter = env.rate_limiter(c.binding).map_err(|_| missing(c.binding))?;
        match limiter.limit(c.key.clone()).await {
            Ok(outcome) => Ok(outcome.success),
            Err(e) => {
                worker::console_error!("rate limiter {} did not answer: {e}", c.binding);
                Ok(true)
            }
        }
    });
    let answers: Vec<Result<bool, ApiError>> = futures_util::future::join_all(asked).await;
    let mut refused = Vec::new();
    for (c, answer) in counts.into_iter().zip(answers) {
        if !answer? {
            crate::refused_recently::hold(c.binding, c.key, now);
            refused.push(c.refusal);
        }
    }
    longest_wait(refused.into_iter()).map_or(Ok(()), Err)
}

/// Of several refusals, the one that asks for the longest wait (the first of equals): the
/// client has to wait for all of them.
fn longest_wait(refusals: impl Iterator<Item = ApiError>) -> Option<ApiError> {
    refusals.reduce(|kept, next| if next.retry_after_s > kept.retry_after_s { next } else { kept })
}

/// The widget's API: one client IP, and one session opened with one secret, each get a
/// bounded number of requests a period, both asked at once. The session's key includes the
/// secret's fingerprint, so requests with a wrong secret (anyone can know a session id) never
/// use up the budget of the shopper who holds the right one. `pay_client`: a payment request
/// the caller has seen hold its session's secret is counted against that client's payments
/// ([`pay_client`]) in the same round trip, so an honest payment waits for one, not two. Should
/// another limit refuse it, the payment still counts, against the network that sent it with a
/// secret it holds. Once a key is refused it is held for a second without asking any binding,
/// so a network over its request limit spends at most about one payment a second (per worker
/// instance) this way.
pub async fn checkout(
    env: &Env,
    headers: &Headers,
    session_id: Option<&str>,
    pay_client: Option<&str>,
) -> Result<(), ApiError> {
    let limited = |what: &str| {
        ApiError::new(
            ErrorCode::RateLimited,
            format!("too many requests {what}; try again in {CHECKOUT_PERIOD_SECONDS} seconds"),
        )
        .retry_after(CHECKOUT_PERIOD_SECONDS)
    };
    let mut counts = vec![Count {
        binding: CHECKOUT_CLIENT_LIMITER,
        key: fingerprint("client", &client(headers)),
        refusal: limited("from this client"),
    }];
    if let Some(id) = session_id.filter(|id| !id.is_empty()) {
        let secret = crate::head::bearer(headers).unwrap_or_default();
        let key = fingerprint("session", &format!("{id}:{}", qfpay::sign::sha256_hex(secret.as_bytes())));
        counts.push(Count { binding: CHECKOUT_SESSION_LIMITER, key, refusal: limited("for this session") });
    }
    if let Some(key) = pay_client {
        counts.push(Count { binding: PAY_CLIENT_LIMITER, key: key.to_owned(), refusal: too_many_payments() });
    }
    count_all(env, counts).await
}

/// Counts a payment request against its client's payments across sessions ([`pay_client`]),
/// once the widget's other limits have let it through: `Ok` with the client's key (`None` for
/// a client that is not counted). The caller makes sure the request holds its session's secret
/// first, so that nobody can spend the payments of a network they share (a carrier's NAT, an
/// office) with requests that could never pay. (A request whose secret the router could check
/// without a read was counted by [`checkout`] already.)
pub async fn pay_attempt(env: &Env, req: &Request) -> Result<Option<String>, ApiError> {
    let Some(key) = pay_client(req.headers()) else {
        return Ok(None);
    };
    count_all(env, vec![Count { binding: PAY_CLIENT_LIMITER, key: key.clone(), refusal: too_many_payments() }]).await?;
    Ok(Some(key))
}

/// Who a payment attempt from the widget is counted against: one client (an IP address, or an
/// IPv6 /64, which one subscriber usually holds whole) starts a few a minute across every
/// session, so a script that creates sessions through a shop's public Buy button cannot spend
/// the merchant's payment budget. A request that did not come through Cloudflare's edge (no
/// `CF-Connecting-IP`, or a loopback one under `wrangler dev`) is not counted, as no client can
/// be told apart. The key is a fingerprint, never the address; the upstream gate also holds it
/// to its share (`budget::CLIENT_PAY_SHARE`).
pub fn pay_client(headers: &Headers) -> Option<String> {
    let ip = headers.get("CF-Connecting-IP").ok().flatten().filter(|ip| !ip.is_empty())?;
    // `wrangler dev` gives every local request a loopback address, which no client reaching
    // Cloudflare's edge has: a developer's own machine is not counted.
    if ip.parse::<std::net::IpAddr>().is_ok_and(|a| a.is_loopback()) {
        return None;
    }
    Some(fingerprint("pay", &client_network(&ip)))
}

/// The answer to a client past its payments a period.
fn too_many_payments() -> ApiError {
    ApiError::new(
        ErrorCode::RateLimited,
        format!("too many payment attempts from this network; try again in {PAY_PERIOD_SECONDS} seconds"),
    )
    .retry_after(PAY_PERIOD_SECONDS)
}

/// The part of an address that names one client: the whole IPv4 address, or an IPv6 address's
/// first 64 bits (one subscriber's network). Text that is no address is taken as it is.
pub fn client_network(ip: &str) -> String {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Ok(v4) => v4.to_string(),
        Err(_) => ip.to_owned(),
    }
}

/// The merchant's API: the bearer key must be one of the merchant keys. A right key is always
/// let through: a client IP is no identity (merchants' servers share NAT and cloud egress
/// addresses), so shutting an IP out would let anyone lock the merchant out. Wrong keys are
/// counted per client IP and, past the limit, answered `429` with `Retry-After` at once; with
/// keys of 32 or more random characters guessing is hopeless anyway, and this keeps it slow.
pub async fn merchant(env: &Env, settings: &Settings, headers: &Headers) -> Result<(), ApiError> {
    if settings.merchant_keys.accepts(&crate::head::bearer(headers).unwrap_or_default()) {
        return Ok(());
    }
    let refusal = ApiError::new(
        ErrorCode::RateLimited,
        format!("too many wrong merchant keys from this client; try again in {AUTH_PERIOD_SECONDS} seconds"),
    )
    .retry_after(AUTH_PERIOD_SECONDS);
    count_all(env, vec![Count { binding: AUTH_FAILURE_LIMITER, key: fingerprint("auth", &client(headers)), refusal }])
        .await?;
    Err(crate::merchant::unauthorized())
}

#[cfg(test)]
mod tests {
    use super::client_network;

    #[test]
    fn an_ipv6_client_is_its_64_bit_network() {
        assert_eq!(client_network("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(client_network("2001:db8:1:2:ffff:ffff:ffff:ffff"), "2001:db8:1:2::/64");
        assert_ne!(client_network("2001:db8:1:3::1"), client_network("2001:db8:1:2::1"));
        assert_eq!(client_network("203.0.113.7"), "203.0.113.7");
        assert_eq!(client_network("not an ip"), "not an ip");
    }
}
