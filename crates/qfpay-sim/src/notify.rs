//! Signed notifications, with the gateway's retry schedule.
//!
//! They go to the one URL registered for the appcode (`04-common-api/04-asynchronous-notification.md`:
//! registered with QFPay by e-mail, one per appcode), which is the `notify_url` switch here; a
//! payment's own `notify_url` field is used only under the `per_request_notify_url` switch.
//! With neither, nothing is sent, and `/sim/stats` counts it (`notifications_unaddressed`).
//! The URL is read at each attempt, as a registration changed at QFPay would apply.
//!
//! A notification is acknowledged by HTTP 200 with the body `SUCCESS`; anything else is
//! retried after 2 min, 10 min, 10 min, 60 min, 2 h, 6 h and 15 h of simulated time. The
//! body is Python-`json.dumps`-shaped and signed with MD5(body + key) in `X-QF-SIGN`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use qfpay::RespCode;

use crate::ledger::{hk_time, OrderId};
use crate::signing::sign_notification;
use crate::{lock, python_json_dumps, Sim};

/// Simulated seconds between attempts: after the first, 2 min, 10 min, 10 min, 60 min, 2 h, 6 h, 15 h.
pub const RETRY_SCHEDULE_SECONDS: [u64; 7] = [120, 600, 600, 3600, 7200, 21_600, 54_000];

#[derive(Debug, Clone, Copy)]
struct Job {
    order: OrderId,
    attempt: usize,
    due: f64,
}

/// The queue of notifications waiting to be sent.
#[derive(Debug, Default)]
pub struct Notifier {
    queue: Mutex<Vec<Job>>,
    wake: tokio::sync::Notify,
}

impl Notifier {
    /// Queues the first notification for an order that just became paid (or a refund).
    pub fn schedule(&self, sim: &Sim, order: OrderId, now: f64) {
        let faults = lock(&sim.faults).clone();
        let mut due = now + faults.notify_delay as f64;
        if sim.chance(faults.notify_reorder) {
            lock(&sim.stats).fault("notify_reorder");
            due += 1.0 + lock(&sim.rng).f64() * 9.0;
        }
        lock(&self.queue).push(Job { order, attempt: 0, due });
        self.wake.notify_one();
    }

    /// Wakes the sending loop.
    pub fn wake_now(&self) {
        self.wake.notify_one();
    }

    fn take_due(&self, now: f64) -> Vec<Job> {
        let mut queue = lock(&self.queue);
        let (due, later): (Vec<Job>, Vec<Job>) = queue.drain(..).partition(|j| j.due <= now);
        *queue = later;
        due
    }

    fn push(&self, job: Job) {
        lock(&self.queue).push(job);
    }
}

/// Starts the background loop that sends due notifications and settles processing orders.
pub fn start(sim: Arc<Sim>) {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap_or_default();
    tokio::spawn(async move {
        loop {
            sim.tick();
            for job in sim.notifier.take_due(sim.clock.now()) {
                tokio::spawn(deliver(sim.clone(), client.clone(), job));
            }
            // Wake at least every 50 ms of real time, sooner when something is queued.
            let _ = tokio::time::timeout(Duration::from_millis(50), sim.notifier.wake.notified()).await;
        }
    });
}

/// Where a notification of `order` goes: the payment's own URL when the switch allowed one
/// (kept on the order then), else the URL registered now.
fn address(sim: &Sim, order_url: Option<&str>) -> Option<String> {
    order_url.map(str::to_owned).or_else(|| lock(&sim.switches).notify_url.clone())
}

/// The body and where it goes, or `None` when there is nowhere to send it (counted).
fn message(sim: &Sim, id: OrderId) -> Option<(String, String, String)> {
    let ledger = lock(&sim.ledger);
    let order = ledger.get(id);
    let Some(url) = address(sim, order.notify_url.as_deref()) else {
        lock(&sim.stats).notifications_unaddressed += 1;
        return None;
    };
    let merchant = sim.config.merchants.get(&order.appcode)?;
    let now = sim.clock.now();
    let mut pairs: Vec<(&str, String)> = vec![
        ("notify_type", order.kind.name().into()),
        ("status", "1".into()),
        ("syssn", order.syssn.clone()),
        ("out_trade_no", order.out_trade_no.clone()),
        ("pay_type", order.pay_type.clone()),
        ("txamt", order.txamt.to_string()),
        ("txcurrcd", order.txcurrcd.clone()),
        ("txdtm", order.txdtm.clone()),
        ("sysdtm", hk_time(order.created_at)),
        ("paydtm", order.paid_at.map(hk_time).unwrap_or_default()),
        ("cancel", order.cancel(now).to_string()),
        ("respcd", RespCode::SUCCESS.into()),
        ("goods_name", order.goods_name.clone()),
        ("chnlsn", String::new()),
        ("chnlsn2", String::new()),
        ("cardcd", String::new()),
    ];
    if let Some(orig) = &order.orig_syssn {
        pairs.push(("orig_syssn", orig.clone()));
    }
    if let Some(mchid) = &merchant.mchid {
        pairs.push(("mchid", mchid.clone()));
    }
    let body = python_json_dumps(&pairs);
    let signature = sign_notification(body.as_bytes(), &merchant.key);
    Some((url, body, signature))
}

async fn deliver(sim: Arc<Sim>, client: reqwest::Client, job: Job) {
    let Some((url, body, signature)) = message(&sim, job.order) else { return };
    let faults = lock(&sim.faults).clone();
    lock(&sim.ledger).get_mut(job.order).notifications_sent += 1;
    lock(&sim.stats).notifications_sent += 1;
    let dropped = sim.chance(faults.notify_drop);
    let acknowledged = if dropped {
        lock(&sim.stats).notifications_dropped += 1;
        lock(&sim.stats).fault("notify_drop");
        false
    } else {
        let first = post(&client, &url, &body, &signature).await;
        if sim.chance(faults.notify_repeat) {
            lock(&sim.stats).notifications_repeated += 1;
            lock(&sim.stats).fault("notify_repeat");
            post(&client, &url, &body, &signature).await || first
        } else {
            first
        }
    };
    if acknowledged {
        lock(&sim.ledger).get_mut(job.order).notification_acknowledged = true;
        lock(&sim.stats).notifications_acknowledged += 1;
        return;
    }
    if !dropped {
        lock(&sim.stats).notifications_failed += 1;
    }
    if let Some(wait) = RETRY_SCHEDULE_SECONDS.get(job.attempt) {
        sim.notifier.push(Job { order: job.order, attempt: job.attempt + 1, due: sim.clock.now() + *wait as f64 });
    }
}

async fn post(client: &reqwest::Client, url: &str, body: &str, signature: &str) -> bool {
    let sent = client
        .post(url)
        .header("Content-Type", "application/json")
        .header("X-QF-SIGN", signature)
        .body(body.to_owned())
        .send()
        .await;
    match sent {
        Ok(resp) if resp.status() == reqwest::StatusCode::OK => {
            resp.text().await.is_ok_and(|text| text.trim() == "SUCCESS")
        }
        _ => false,
    }
}
