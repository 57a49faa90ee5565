//! Counters for `GET /sim/stats`: what the gateway was asked, and what it sent.

use std::collections::BTreeMap;

use serde::Serialize;

/// Everything counted since start.
#[derive(Debug, Default, Serialize)]
pub struct Stats {
    /// Gateway calls by path (rate-limited ones included).
    pub calls_by_path: BTreeMap<String, u64>,
    /// Gateway calls by real minute since start ("0", "1", ...).
    pub calls_by_minute: BTreeMap<u64, u64>,
    /// Gateway calls by simulated minute (Unix minute of the simulated clock).
    pub calls_by_sim_minute: BTreeMap<i64, u64>,
    /// Calls answered HTTP 429.
    pub rate_limited: u64,
    /// Faults injected, by kind.
    pub faults_injected: BTreeMap<String, u64>,
    /// Notification attempts made (including dropped ones).
    pub notifications_sent: u64,
    /// Notifications the merchant acknowledged with `SUCCESS`.
    pub notifications_acknowledged: u64,
    /// Notification attempts lost on purpose.
    pub notifications_dropped: u64,
    /// Notifications delivered a second time on purpose.
    pub notifications_repeated: u64,
    /// Attempts the merchant did not acknowledge (error, timeout, other body).
    pub notifications_failed: u64,
    /// Notifications due but not sent: no URL was registered (the `notify_url` switch) and
    /// none could be taken from the payment (`per_request_notify_url`).
    pub notifications_unaddressed: u64,
    /// Request log lines dropped because the log's writer was behind (e.g. stdout is a pipe
    /// nobody reads); filled in when the stats are read.
    pub log_lines_dropped: u64,
}

impl Stats {
    /// Counts an injected fault.
    pub fn fault(&mut self, kind: &str) {
        *self.faults_injected.entry(kind.to_owned()).or_default() += 1;
    }

    /// The highest count in any one real minute.
    pub fn peak_per_minute(&self) -> u64 {
        self.calls_by_minute.values().copied().max().unwrap_or(0)
    }
}
