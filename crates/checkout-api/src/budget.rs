//! The merchant's upstream budget, a protected and shared resource. QFPay allows 100 calls a
//! second and 400 a minute per merchant; the worker grants at most 90 and 380, in four classes:
//! a waiting shopper's payment, closes, refunds, and settlement queries. Each class keeps a
//! reserved share of the minute that the others cannot take, so no class can starve another:
//! a flood of payments cannot stop refunds, closes or settlement, and a backlog of queries or
//! closes cannot stop payments. The rest (160 a minute) is shared, first come first served.
//! Payments, which a shopper waits for, keep the largest share; the others keep small ones that
//! still go far (one query settles up to 100 attempts), so a busy merchant's payments can use
//! up to 360 calls a minute. The arithmetic is pure (time is an argument); the worker's gate (a Durable Object)
//! feeds it the clock and keeps the grants in storage.

use std::collections::{HashMap, VecDeque};

use qfpay::ratelimit::{Limits, SlidingWindows, MINUTE_MS};

/// What an upstream call is for, most urgent first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallClass {
    /// A payment a shopper (or a till) is waiting for.
    Pay,
    /// Closing or reversing an order, so it cannot be paid.
    Close,
    /// Sending or settling a refund.
    Refund,
    /// Settling an attempt by query, and reconciliation.
    Query,
}

/// Calls granted per second and per minute (QFPay allows 100 and 400; the margin keeps the
/// worker clear of a 429).
pub const LIMITS: Limits = Limits::new(90, 380);

impl CallClass {
    /// Every class, most urgent first.
    pub const ALL: [CallClass; 4] = [CallClass::Pay, CallClass::Close, CallClass::Refund, CallClass::Query];

    /// The name in the gate's requests.
    pub fn as_str(self) -> &'static str {
        match self {
            CallClass::Pay => "pay",
            CallClass::Close => "close",
            CallClass::Refund => "refund",
            CallClass::Query => "query",
        }
    }

    /// Reads [`CallClass::as_str`].
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == text)
    }

    /// Calls a minute kept for this class whatever the others do.
    pub fn reserved(self) -> usize {
        match self {
            CallClass::Pay => 200,
            CallClass::Close => 8,
            CallClass::Refund => 6,
            CallClass::Query => 6,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Payment attempts one session may start: one client's secret opens one session, so this
/// bounds what one client can spend of the merchant's budget.
pub const MAX_ATTEMPTS_PER_SESSION: u64 = 10;
/// The least time between two attempts of one session (ms).
pub const MIN_ATTEMPT_GAP_MS: u64 = 1_000;

/// Why a session may not start another attempt now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptRefusal {
    /// It has started [`MAX_ATTEMPTS_PER_SESSION`] already.
    TooMany,
    /// The last one started less than [`MIN_ATTEMPT_GAP_MS`] ago; wait this many ms.
    TooSoon(u64),
}

/// Whether a session that has started `count` attempts, the last at `last_created_at`, may
/// start another at `now`.
pub fn may_start_attempt(count: u64, last_created_at: Option<u64>, now: u64) -> Result<(), AttemptRefusal> {
    if count >= MAX_ATTEMPTS_PER_SESSION {
        return Err(AttemptRefusal::TooMany);
    }
    match last_created_at {
        Some(last) if now < last + MIN_ATTEMPT_GAP_MS => Err(AttemptRefusal::TooSoon(last + MIN_ATTEMPT_GAP_MS - now)),
        _ => Ok(()),
    }
}

/// Payment calls one client (a shopper's network, `limits::client_network`) may be granted a
/// minute: its fair share of the payment class, so a flood from one client never takes the
/// honest shoppers' payments. The per-client limiter in front of the gate allows 10 a minute and
/// is approximate (counted per Cloudflare location); this is the exact line behind it. An honest
/// shopper starts a few.
pub const CLIENT_PAY_SHARE: usize = 20;

/// Payment grants in a minute past which payments count as busy, and each client is held to the
/// average of the clients paying (three quarters of the 360 payments may use).
pub const BUSY_PAY_GRANTS: usize = 270;

/// The grants of the last minute, in total, by class and (payments) by client.
#[derive(Debug, Clone, Default)]
pub struct Budget {
    total: SlidingWindows,
    by_class: [VecDeque<u64>; 4],
    /// Payment grants by client key. Not saved: after a restart a client may get its share
    /// again once, which the limiter in front still bounds.
    by_client: HashMap<String, VecDeque<u64>>,
}

impl Budget {
    /// A budget restored from saved grants, so a restart forgets nothing of the last minute.
    pub fn from_saved(saved: impl IntoIterator<Item = (CallClass, u64)>) -> Self {
        let mut saved: Vec<(CallClass, u64)> = saved.into_iter().collect();
        saved.sort_by_key(|&(_, t)| t);
        let mut budget =
            Budget { total: SlidingWindows::from_granted(saved.iter().map(|&(_, t)| t)), ..Budget::default() };
        for (class, t) in saved {
            budget.by_class[class.index()].push_back(t);
        }
        budget
    }

    /// The grants to save.
    pub fn saved(&self) -> Vec<(CallClass, u64)> {
        CallClass::ALL.into_iter().flat_map(|c| self.by_class[c.index()].iter().map(move |&t| (c, t))).collect()
    }

    /// Grants a call of `class` at `now` and records it (0), or says how many ms until one
    /// could be granted, recording nothing.
    pub fn acquire(&mut self, class: CallClass, now: u64) -> u64 {
        self.acquire_for(class, None, now)
    }

    /// As [`Budget::acquire`], for a payment on behalf of `client` (`None`: the merchant's own
    /// calls, a till's or the settler's): a client past [`CLIENT_PAY_SHARE`] in the last minute
    /// waits until its oldest grant leaves the window, whatever room is left.
    pub fn acquire_for(&mut self, class: CallClass, client: Option<&str>, now: u64) -> u64 {
        let expired = |grants: &mut VecDeque<u64>| {
            while grants.front().is_some_and(|&t| now.saturating_sub(t) >= MINUTE_MS) {
                grants.pop_front();
            }
        };
        self.by_class.iter_mut().for_each(expired);
        self.by_client.values_mut().for_each(expired);
        self.by_client.retain(|_, grants| !grants.is_empty());
        let client = client.filter(|_| class == CallClass::Pay);
        if let Some(wait) = client.and_then(|c| self.over_client_share(c, now)) {
            return wait;
        }
        if let Some(wait) = self.beyond_share_wait(class, now) {
            return wait;
        }
        let wait = self.total.acquire(LIMITS, now);
        if wait == 0 {
            self.by_class[class.index()].push_back(now);
            if let Some(client) = client {
                self.by_client.entry(client.to_owned()).or_default().push_back(now);
            }
        }
        wait
    }

    /// `Some(wait)` when `client` has had its share of payments: [`CLIENT_PAY_SHARE`] a minute
    /// at most, and, while payments are busy (past [`BUSY_PAY_GRANTS`] in the minute), no more
    /// than the clients paying in that minute have on average. The heaviest clients give way
    /// first, so a flood spread over many addresses still leaves room for shoppers who pay once.
    fn over_client_share(&self, client: &str, now: u64) -> Option<u64> {
        let grants = self.by_client.get(client)?;
        let wait = || grants.front().map_or(1, |&t| (t + MINUTE_MS).saturating_sub(now).max(1));
        if grants.len() >= CLIENT_PAY_SHARE {
            return Some(wait());
        }
        if self.by_class[CallClass::Pay.index()].len() < BUSY_PAY_GRANTS {
            return None;
        }
        let all: usize = self.by_client.values().map(VecDeque::len).sum();
        let mean = all.div_ceil(self.by_client.len().max(1));
        (grants.len() >= mean.max(2)).then(wait)
    }

    /// A class past its own reservation may use only what no other class has reserved and
    /// left unused; `Some(wait)` when that is gone: until one of the grants that free room leaves
    /// the window (its own, or those of a class past its reservation).
    fn beyond_share_wait(&self, class: CallClass, now: u64) -> Option<u64> {
        let used = |c: CallClass| self.by_class[c.index()].len();
        if used(class) < class.reserved() {
            return None;
        }
        let total: usize = CallClass::ALL.iter().map(|&c| used(c)).sum();
        let protected: usize =
            CallClass::ALL.iter().filter(|&&c| c != class).map(|&c| c.reserved().saturating_sub(used(c))).sum();
        if total + protected < LIMITS.per_minute() {
            return None;
        }
        let frees_room = |c: &CallClass| *c == class || used(*c) > c.reserved();
        let oldest =
            CallClass::ALL.iter().filter(|c| frees_room(c)).filter_map(|c| self.by_class[c.index()].front()).min();
        Some(oldest.map_or(1, |&t| (t + MINUTE_MS).saturating_sub(now).max(1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(budget: &mut Budget, class: CallClass, now: u64, n: usize) -> usize {
        (0..n).filter(|i| budget.acquire(class, now + *i as u64 * 20) == 0).count()
    }

    #[test]
    fn the_shares_fit_in_the_limit() {
        let reserved: usize = CallClass::ALL.iter().map(|c| c.reserved()).sum();
        assert!(reserved <= LIMITS.per_minute());
        for c in CallClass::ALL {
            assert_eq!(CallClass::parse(c.as_str()), Some(c));
        }
    }

    #[test]
    fn a_busy_merchants_payments_may_use_all_but_the_others_reservations() {
        let mut budget = Budget::default();
        assert_eq!(grant(&mut budget, CallClass::Pay, 0, 1000), 380 - 8 - 6 - 6);
    }

    #[test]
    fn a_flood_of_payments_cannot_take_the_others_reservations() {
        let mut budget = Budget::default();
        grant(&mut budget, CallClass::Pay, 0, 1000);
        assert_eq!(grant(&mut budget, CallClass::Close, 30_000, 200), 8);
        assert_eq!(grant(&mut budget, CallClass::Refund, 35_000, 200), 6);
        assert_eq!(grant(&mut budget, CallClass::Query, 40_000, 200), 6);
        assert_eq!(grant(&mut budget, CallClass::Pay, 45_000, 10), 0, "the minute is full");
    }

    #[test]
    fn a_backlog_of_queries_or_closes_cannot_stop_payments() {
        let mut budget = Budget::default();
        let queries = grant(&mut budget, CallClass::Query, 0, 1000);
        let closes = grant(&mut budget, CallClass::Close, 1_000, 1000);
        assert_eq!(queries + closes, 380 - 200 - 6, "only the shared part and their own shares");
        assert_eq!(grant(&mut budget, CallClass::Pay, 25_000, 300), 200);
    }

    #[test]
    fn the_wait_is_when_room_frees_and_then_a_call_is_granted() {
        let mut budget = Budget::default();
        grant(&mut budget, CallClass::Pay, 0, 1000);
        let wait = budget.acquire(CallClass::Pay, 30_000);
        assert!(wait > 0 && wait <= MINUTE_MS, "{wait}");
        assert_eq!(budget.acquire(CallClass::Pay, 30_000 + wait), 0);
    }

    #[test]
    fn a_session_starts_few_attempts_and_spaced_out() {
        assert_eq!(may_start_attempt(0, None, 0), Ok(()));
        assert_eq!(may_start_attempt(1, Some(10_000), 10_400), Err(AttemptRefusal::TooSoon(600)));
        assert_eq!(may_start_attempt(1, Some(10_000), 11_000), Ok(()));
        assert_eq!(may_start_attempt(10, Some(0), 1_000_000), Err(AttemptRefusal::TooMany));
    }

    #[test]
    fn one_client_gets_its_share_of_payments_and_no_more() {
        let mut budget = Budget::default();
        let flood = (0..200).filter(|i| budget.acquire_for(CallClass::Pay, Some("flood"), *i * 10) == 0).count();
        assert_eq!(flood, CLIENT_PAY_SHARE);
        let honest = (0..100)
            .filter(|i| budget.acquire_for(CallClass::Pay, Some(&format!("shopper-{i}")), 5_000 + i * 100) == 0)
            .count();
        assert_eq!(honest, 100, "every other client still pays");
        let wait = budget.acquire_for(CallClass::Pay, Some("flood"), 20_000);
        assert_eq!(wait, MINUTE_MS - 20_000, "until its oldest grant leaves the minute");
        assert_eq!(budget.acquire_for(CallClass::Pay, Some("flood"), MINUTE_MS), 0, "then one more");
        assert_eq!(budget.acquire_for(CallClass::Query, Some("flood"), MINUTE_MS), 0, "only payments are shared out");
        assert_eq!(budget.acquire(CallClass::Pay, MINUTE_MS), 0, "the merchant's own calls are not a client's");
    }

    #[test]
    fn when_payments_are_busy_the_heaviest_clients_give_way() {
        let mut budget = Budget::default();
        // 18 addresses, 15 payments each, spread over 30 s: 270, payments are busy.
        for i in 0..270u64 {
            assert_eq!(budget.acquire_for(CallClass::Pay, Some(&format!("flood-{}", i % 18)), i * 110), 0);
        }
        let at = 30_000;
        assert!(budget.acquire_for(CallClass::Pay, Some("flood-3"), at) > 0, "at the average: waits");
        assert_eq!(budget.acquire_for(CallClass::Pay, Some("shopper"), at), 0, "a shopper pays");
        assert_eq!(budget.acquire_for(CallClass::Pay, Some("shopper"), at + 100), 0, "and may try again");
        assert_eq!(budget.acquire(CallClass::Pay, at + 200), 0, "the merchant's own calls still go");
    }

    #[test]
    fn a_restart_remembers_the_minute() {
        let mut budget = Budget::default();
        grant(&mut budget, CallClass::Pay, 0, 1000);
        let mut restored = Budget::from_saved(budget.saved());
        assert_eq!(grant(&mut restored, CallClass::Pay, 10_000, 10), 0, "still full after a restart");
        assert_eq!(grant(&mut restored, CallClass::Close, 10_000, 10), 8, "reservations still kept");
    }
}
