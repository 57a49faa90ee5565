//! One sweep of the settler: every obligation that is due, in order of what matters most to
//! money, each bounded so one sweep stays short. Gateway queries are batched: one query carries
//! every `out_trade_no` due within a few seconds, attempts and refunds alike.

use checkout_api::budget::CallClass;
use checkout_api::{upstream, ApiError, RefundStatus};
use qfpay::{RespCode, Txdtm, HONG_KONG_OFFSET_SECONDS};

use crate::app::{App, OrInternal};
use crate::clock;
use crate::settle;
use crate::store::{AttemptRow, RefundRow};
use crate::webhooks;

type R<T> = std::result::Result<T, ApiError>;

/// Idempotency keys whose first request never finished are freed after this long (ms).
const STUCK_IDEMPOTENCY_MS: u64 = 5 * 60_000;
/// Query calls one sweep makes at most (each carries up to `QFPAY_QUERY_LIST_MAX` numbers):
/// what is left waits for the next sweep, a second later.
const MAX_QUERY_CALLS: usize = 20;
/// Sessions or attempts handled per step of one sweep.
const STEP_LIMIT: u32 = 25;
/// How far back the reconciliation query looks (ms).
pub const RECONCILE_WINDOW_MS: u64 = 60 * 60_000;
/// Pages of the reconciliation query read per window and run (100 rows each): every row of an
/// hour at 360 checkouts a minute, bounded.
const RECONCILE_PAGES: u32 = 250;

/// What a sweep did, for the log.
#[derive(Debug, Default, serde::Serialize)]
pub struct Report {
    pub expired: usize,
    pub closes: usize,
    pub finished: usize,
    pub queried: usize,
    pub query_calls: usize,
    pub refunds: usize,
    pub reconciled_rows: usize,
    pub delivered: usize,
    pub failed_deliveries: usize,
    pub purged_rows: usize,
}

/// How long each gateway step of a sweep may start new work (ms): a slow gateway while many
/// sessions expire must not hold back the queries behind the closes, or the refunds behind both.
const STEP_BUDGET_MS: u64 = 8_000;
/// How long the reconciliation may read pages (ms): the last of the gateway's steps.
const RECONCILE_BUDGET_MS: u64 = 25_000;
/// How long a sweep delivers webhooks (ms).
const WEBHOOK_BUDGET_MS: u64 = 60_000;

/// Runs every due obligation once. `reconcile`: also run the periodic time-window query;
/// `purge`: also forget what no promise needs any more.
/// Webhooks are delivered alongside the gateway's steps, not after them, so a slow gateway
/// never holds back a paid event; each gateway step has its own time budget.
pub async fn run(app: &App<'_>, reconcile: bool, purge: bool) -> R<Report> {
    let now = clock::now_ms();
    let gateway_running = std::cell::Cell::new(true);
    let gateway_steps = async {
        let mut report = Report::default();
        // Each step runs whatever the one before it did: one failing obligation must not hold
        // up the others (a close the gateway keeps refusing, say).
        let stuck = app.store.free_stuck_idempotency(now.saturating_sub(STUCK_IDEMPOTENCY_MS)).await.or_500();
        keep_going("idempotency", stuck);
        let expired = app.store.expire_due_sessions(now).await.or_500();
        report.expired = expired.clone().unwrap_or(0);
        keep_going("expiry", expired.map(|_| ()));
        keep_going("closes", close_due(app, now, deadline(), &mut report).await);
        keep_going("queries", query_due(app, clock::now_ms(), &mut report).await);
        keep_going("blackout refunds", refunds_in_blackout(app, clock::now_ms(), deadline(), &mut report).await);
        if purge {
            keep_going("retention", forget_old(app, clock::now_ms(), &mut report).await);
        }
        if reconcile {
            // Last, and longer: it reads every page of its hour (100 rows a call).
            let until = clock::now_ms() + RECONCILE_BUDGET_MS;
            keep_going("reconciliation", reconcile_window(app, clock::now_ms(), until, &mut report).await);
        }
        gateway_running.set(false);
        report
    };
    let deliveries = async {
        let mut report = Report::default();
        let running = || gateway_running.get();
        keep_going("webhooks", webhooks::deliver_due(app, &mut report, now + WEBHOOK_BUDGET_MS, &running).await);
        report
    };
    let (mut report, delivered) = futures_util::future::join(gateway_steps, deliveries).await;
    report.delivered = delivered.delivered;
    report.failed_deliveries = delivered.failed_deliveries;
    Ok(report)
}

/// How long a delivered event's earlier tries are kept (the last one stays with the event).
const DELIVERY_TRIES_KEPT_MS: u64 = 7 * 86_400_000;
/// How long an idempotency record answers a retry.
const IDEMPOTENCY_KEPT_MS: u64 = 86_400_000;

/// One bounded run of forgetting what no promise needs any more (`store::retention`).
async fn forget_old(app: &App<'_>, now: u64, report: &mut Report) -> R<()> {
    const DAY: u64 = 86_400_000;
    let cut = crate::store::Cutoffs {
        idempotency: now.saturating_sub(IDEMPOTENCY_KEPT_MS),
        deliveries: now.saturating_sub(DELIVERY_TRIES_KEPT_MS),
        notifications: now.saturating_sub(app.settings.retention_days_notifications * DAY),
        unpaid_sessions: now.saturating_sub(app.settings.retention_days_unpaid * DAY),
    };
    let purged = app.store.purge(&cut).await.or_500()?;
    report.purged_rows = purged.idempotency + purged.deliveries + purged.notifications + purged.sessions;
    Ok(())
}

/// The end of a step's budget, from now.
fn deadline() -> u64 {
    clock::now_ms() + STEP_BUDGET_MS
}

/// Logs a step's or an item's failure and goes on; the item keeps its due time and is tried
/// again at the next sweep.
fn keep_going(what: &str, result: R<()>) {
    if let Err(e) = result {
        worker::console_error!("settler: {what}: {} ({})", e.code, e.message);
    }
}

/// Closes at the gateway the open attempts of sessions that are over (and attempts whose own
/// time is up), then ends each closing session whose attempts are all confirmed closed.
async fn close_due(app: &App<'_>, now: u64, until: u64, report: &mut Report) -> R<()> {
    for attempt in app.store.attempts_to_close(now, STEP_LIMIT).await.or_500()? {
        if clock::now_ms() >= until {
            break;
        }
        let Some(session) = app.store.session(&attempt.session_id).await.or_500()? else { continue };
        keep_going("close", settle::close_attempt(app, &session, &attempt).await.map(|_| ()));
        report.closes += 1;
    }
    for session in app.store.sessions_ready_to_finish(STEP_LIMIT).await.or_500()? {
        match settle::finish_closing(app, &session).await {
            Ok(true) => report.finished += 1,
            Ok(false) => {}
            Err(e) => keep_going("finish", Err(e)),
        }
    }
    Ok(())
}

/// Queries every open attempt and pending refund that is due, in lists of up to
/// `QFPAY_QUERY_LIST_MAX` numbers per call, each in its month's window, and applies what the
/// gateway says.
async fn query_due(app: &App<'_>, now: u64, report: &mut Report) -> R<()> {
    let attempts = app
        .store
        .attempts_due_for_query(now + upstream::BATCH_PULL_FORWARD_MS, upstream::QUERY_BATCH)
        .await
        .or_500()?;
    let refunds: Vec<RefundRow> = app
        .store
        .refunds_due(now, upstream::QUERY_BATCH)
        .await
        .or_500()?
        .into_iter()
        .filter(|r| !in_blackout_care(r))
        .collect();
    // Queries ride along only with one that is due now: a sweep woken for something else (a
    // webhook to deliver after a notification) sends none.
    let any_due_now = !refunds.is_empty() || attempts.iter().any(|a| a.next_check_at.is_some_and(|t| t <= now));
    if !any_due_now {
        return Ok(());
    }
    // Refunds first: money owed to a shopper, and few; a busy merchant's open attempts (up to
    // 100 a sweep, pulled forward) would otherwise use every call a sweep may make, for ever.
    let wanted: Vec<settle::Wanted> = refunds
        .iter()
        .map(settle::refund_wanted)
        .chain(attempts.iter().map(|a| settle::Wanted::at(&a.out_trade_no, a.created_at)))
        .collect();
    let found = settle::query_orders(app, &wanted, CallClass::Query, MAX_QUERY_CALLS).await?;
    report.query_calls += 1;
    let asked = |n: &String| !found.unasked.contains(n);
    for attempt in attempts.iter().filter(|a| asked(&a.out_trade_no)) {
        keep_going(
            "query row",
            settle::apply_attempt_row(app, attempt, found.answer.payment(&attempt.out_trade_no)).await,
        );
        report.queried += 1;
    }
    for refund in &refunds {
        if asked(&refund.out_trade_no) {
            keep_going(
                "refund row",
                settle::apply_refund_row(app, refund, found.answer.refund(&refund.out_trade_no)).await,
            );
            report.refunds += 1;
        } else {
            keep_going("unasked refund", refund_not_asked(app, refund, now).await);
        }
    }
    let (asked_now, unasked): (Vec<AttemptRow>, Vec<AttemptRow>) =
        attempts.into_iter().partition(|a| asked(&a.out_trade_no));
    for attempt in &unasked {
        // No answer or no budget for it this sweep: asked again shortly.
        app.store.query_again_at(&attempt.id, upstream::order_change_retry_at(now, 0)).await.or_500()?;
    }
    reschedule(app, &asked_now, now).await
}

/// Whether a refund is the blackout step's to settle: pending, refused in the nightly window.
fn in_blackout_care(refund: &RefundRow) -> bool {
    refund.status() == RefundStatus::Pending && refund.respcd.as_deref() == Some(RespCode::REFUND_BLACKOUT)
}

/// A refund the gateway could not be asked about this sweep (no budget, no answer, or the
/// sweep's calls used up). Nothing was sent, so it is not a try and its back-off does not grow:
/// due again shortly (hourly once old, tomorrow if unresolved); past its days and an hour
/// more without an answer, given up without a last word.
async fn refund_not_asked(app: &App<'_>, refund: &RefundRow, now: u64) -> R<()> {
    if refund.status() == RefundStatus::Unresolved {
        return settle::recheck_unresolved(app, refund, now).await;
    }
    if settle::refund_unaskable(refund, now) {
        return settle::give_up_refund(app, refund, None).await;
    }
    let at = upstream::refund_retry_at(now, settle::refund_made_at(refund), 0);
    app.store.refund_due_again(&refund.id, at).await.or_500()
}

/// Plans each queried attempt's next query.
async fn reschedule(app: &App<'_>, attempts: &[AttemptRow], now: u64) -> R<()> {
    for attempt in attempts {
        let next =
            upstream::next_query_at(attempt.created_at, now, attempt.expires_at, app.settings.query_after_seconds);
        app.store.attempt_checked(&attempt.id, now, next).await.or_500()?;
    }
    Ok(())
}

/// Refunds refused during the nightly blackout are sent again once it is over: under the new
/// number they were given, or, when an earlier send of their number got no answer, after a query
/// shows the gateway has no refund under it (then renumbered and sent).
async fn refunds_in_blackout(app: &App<'_>, now: u64, until: u64, report: &mut Report) -> R<()> {
    let due = app.store.refunds_due(now, STEP_LIMIT as usize).await.or_500()?;
    for refund in due.into_iter().filter(in_blackout_care) {
        if clock::now_ms() >= until {
            break;
        }
        let Some(attempt) = app.store.attempt(&refund.attempt_id).await.or_500()? else { continue };
        report.refunds += 1;
        if refund.number_unsure == 1 {
            keep_going("unsure refund", settle_unsure_refund(app, &refund, now).await);
            continue;
        }
        let fresh = RefundRow { txdtm: Some(clock::txdtm_at(now)), ..refund };
        keep_going("blackout refund", settle::send_refund(app, &fresh, &attempt).await.map(|_| ()));
    }
    Ok(())
}

/// A refund refused in the window whose number's earlier send got no answer: asked about first.
/// A row settles it; none means that send was never taken, so it goes under a new number.
async fn settle_unsure_refund(app: &App<'_>, refund: &RefundRow, now: u64) -> R<()> {
    let wanted = [settle::refund_wanted(refund)];
    let found = settle::query_orders(app, &wanted, CallClass::Query, 2).await?;
    if !found.unasked.is_empty() {
        if settle::refund_unaskable(refund, now) {
            return settle::give_up_refund(app, refund, None).await;
        }
        let at = settle::refund_next_at(refund, now);
        let txdtm = refund.txdtm.clone().unwrap_or_else(|| clock::txdtm_at(now));
        return app.store.refund_retry_at(&refund.id, at, &txdtm, refund.respcd.as_deref()).await.or_500();
    }
    if let Some(row) = found.answer.refund(&refund.out_trade_no) {
        return settle::apply_refund_row(app, refund, Some(row)).await;
    }
    let number = checkout_api::ids::refund_out_trade_no(&crate::random::bytes());
    app.store.renumber_refund(&refund.id, &number, now, RespCode::REFUND_BLACKOUT).await.or_500()
}

/// The periodic reconciliation: every order of the last hour, by time window and page, so a
/// payment on an attempt whose notification never came (and whose queries were all lost) is
/// still found. A window never spans two months (QFPay's rule), so across a month boundary the
/// last month's tail is read as a window of its own.
async fn reconcile_window(app: &App<'_>, now: u64, until: u64, report: &mut Report) -> R<()> {
    let at = |ms: u64| Txdtm::from_unix((ms / 1000) as i64, HONG_KONG_OFFSET_SECONDS);
    let (start, end) = (at(now.saturating_sub(RECONCILE_WINDOW_MS)), at(now));
    let windows = if start.month() == end.month() {
        vec![(start, end)]
    } else {
        let tail_end = start.month_window().1;
        let head_start = end.month_window().0;
        vec![(start, tail_end), (head_start, end)]
    };
    for window in &windows {
        for page in 1..=RECONCILE_PAGES {
            if clock::now_ms() >= until {
                // The rest of the hour is read at the next run (its window overlaps).
                return Ok(());
            }
            let Some(answer) = settle::one_query(app, Vec::new(), window, page, CallClass::Query).await? else {
                return Ok(());
            };
            report.query_calls += 1;
            for row in &answer.rows {
                report.reconciled_rows += 1;
                reconcile_row(app, row).await?;
            }
            if answer.rows.len() < upstream::QUERY_BATCH {
                break;
            }
        }
    }
    Ok(())
}

/// A paid order of the window whose attempt is not recorded paid: the payment is applied.
async fn reconcile_row(app: &App<'_>, row: &qfpay::QueryRow) -> R<()> {
    let Some(number) = row.out_trade_no.as_deref() else { return Ok(()) };
    if row.order_type.as_deref() == Some("refund") {
        return reconcile_refund_row(app, number, row).await;
    }
    let payment = row.order_type.as_deref().is_none_or(|t| t == "payment");
    if !payment || qfpay::verdict::payment_row(Some(row)) != qfpay::verdict::RowVerdict::Paid {
        return Ok(());
    }
    if let Some(attempt) = app.store.attempt_by_out_trade_no(number).await.or_500()? {
        if attempt.status() != checkout_api::AttemptStatus::Paid {
            keep_going("reconciled row", settle::apply_attempt_row(app, &attempt, Some(row)).await);
        }
    }
    Ok(())
}

/// A refund row of the reconciliation's hour: a refund of ours not yet ended (its notification
/// lost, or given up on) takes the gateway's final word from it.
async fn reconcile_refund_row(app: &App<'_>, number: &str, row: &qfpay::QueryRow) -> R<()> {
    let Some(refund) = app.store.refund_by_out_trade_no(number).await.or_500()? else { return Ok(()) };
    if !matches!(refund.status(), RefundStatus::Pending | RefundStatus::Unresolved) {
        return Ok(());
    }
    // Only a final word: a row still in progress is the refund's own schedule's to ask about,
    // and a refusal counts only under its current number (an earlier one was used up by the
    // nightly window and replaced; a success under any of them is the refund's).
    let verdict = qfpay::verdict::refund_row(Some(row));
    let succeeded = verdict == Some(qfpay::verdict::RefundVerdict::Succeeded);
    let refused_now =
        matches!(verdict, Some(qfpay::verdict::RefundVerdict::Refused(_))) && refund.out_trade_no == number;
    if succeeded || refused_now {
        keep_going("reconciled refund row", settle::apply_refund_row(app, &refund, Some(row)).await);
    }
    Ok(())
}
