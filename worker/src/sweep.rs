//! One sweep of the settler: every obligation that is due, in order of what matters most to
//! money, each bounded so one sweep stays short. Gateway queries are batched: one query carries
//! every `out_trade_no` due within a few seconds, attempts and refunds alike.

use checkout_api::budget::CallClass;
use checkout_api::{upstream, ApiError};
use qfpay::{GatewayRequest, QueryAnswer, QueryRequest, RespCode, Txdtm};

use crate::app::{App, OrInternal};
use crate::clock;
use crate::gateway::Outcome;
use crate::settle;
use crate::store::{AttemptRow, RefundRow};
use crate::webhooks;

type R<T> = std::result::Result<T, ApiError>;

/// Idempotency keys whose first request never finished are freed after this long (ms).
const STUCK_IDEMPOTENCY_MS: u64 = 5 * 60_000;
/// Sessions or attempts handled per step of one sweep.
const STEP_LIMIT: u32 = 25;
/// How far back the reconciliation query looks (ms).
pub const RECONCILE_WINDOW_MS: u64 = 60 * 60_000;
/// Pages of the reconciliation query read per run (100 rows each).
const RECONCILE_PAGES: u32 = 5;

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
}

/// Runs every due obligation once. `reconcile`: also run the periodic time-window query.
pub async fn run(app: &App<'_>, reconcile: bool) -> R<Report> {
    let mut report = Report::default();
    let now = clock::now_ms();
    // Each step runs whatever the one before it did: one failing obligation must not hold up
    // the others (a webhook delivery behind a refund the gateway keeps refusing, say).
    let stuck = app.store.free_stuck_idempotency(now.saturating_sub(STUCK_IDEMPOTENCY_MS)).await.or_500();
    keep_going("idempotency", stuck);
    let expired = app.store.expire_due_sessions(now).await.or_500();
    report.expired = expired.clone().unwrap_or(0);
    keep_going("expiry", expired.map(|_| ()));
    keep_going("closes", close_due(app, now, &mut report).await);
    keep_going("queries", query_due(app, now, &mut report).await);
    keep_going("blackout refunds", refunds_in_blackout(app, now, &mut report).await);
    if reconcile {
        keep_going("reconciliation", reconcile_window(app, now, &mut report).await);
    }
    keep_going("webhooks", webhooks::deliver_due(app, &mut report).await);
    Ok(report)
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
async fn close_due(app: &App<'_>, now: u64, report: &mut Report) -> R<()> {
    for attempt in app.store.attempts_to_close(now, STEP_LIMIT).await.or_500()? {
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

/// Queries every open attempt and pending refund that is due, in batches of up to 100
/// `out_trade_no` per call, and applies what the gateway says.
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
        .filter(|r| r.respcd.as_deref() != Some(RespCode::REFUND_BLACKOUT))
        .collect();
    // Queries ride along only with one that is due now: a sweep woken for something else (a
    // webhook to deliver after a notification) sends none.
    let any_due_now = !refunds.is_empty() || attempts.iter().any(|a| a.next_check_at.is_some_and(|t| t <= now));
    if !any_due_now {
        return Ok(());
    }
    let numbers: Vec<String> =
        attempts.iter().map(|a| a.out_trade_no.clone()).chain(refunds.iter().map(|r| r.out_trade_no.clone())).collect();
    for chunk in numbers.chunks(upstream::QUERY_BATCH) {
        let Some(answer) = query(app, chunk.to_vec(), None).await? else {
            // No answer: each is tried again at its next time.
            reschedule(app, &attempts, now).await?;
            for refund in &refunds {
                let at = upstream::order_change_retry_at(now, refund.tries as u32);
                let txdtm = refund.txdtm.clone().unwrap_or_else(|| clock::txdtm_at(now));
                app.store.refund_retry_at(&refund.id, at, &txdtm, refund.respcd.as_deref()).await.or_500()?;
            }
            return Ok(());
        };
        report.query_calls += 1;
        for attempt in attempts.iter().filter(|a| chunk.contains(&a.out_trade_no)) {
            keep_going(
                "query row",
                settle::apply_attempt_row(app, attempt, answer.payment(&attempt.out_trade_no)).await,
            );
            report.queried += 1;
        }
        for refund in refunds.iter().filter(|r| chunk.contains(&r.out_trade_no)) {
            keep_going("refund row", settle::apply_refund_row(app, refund, answer.refund(&refund.out_trade_no)).await);
            report.refunds += 1;
        }
    }
    reschedule(app, &attempts, now).await
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

/// Refunds refused during the nightly blackout are sent again once it is over, with a new
/// `txdtm` (the first send was refused, so this is a new request, not a repeat).
async fn refunds_in_blackout(app: &App<'_>, now: u64, report: &mut Report) -> R<()> {
    let due = app.store.refunds_due(now, STEP_LIMIT as usize).await.or_500()?;
    for refund in due.into_iter().filter(|r| r.respcd.as_deref() == Some(RespCode::REFUND_BLACKOUT)) {
        let Some(attempt) = app.store.attempt(&refund.attempt_id).await.or_500()? else { continue };
        let fresh = RefundRow { txdtm: Some(clock::txdtm_at(now)), ..refund };
        keep_going("blackout refund", settle::send_refund(app, &fresh, &attempt).await.map(|_| ()));
        report.refunds += 1;
    }
    Ok(())
}

/// The periodic reconciliation: every order of the last hour, by time window, so a payment on
/// an attempt whose notification never came (and whose queries were all lost) is still found.
async fn reconcile_window(app: &App<'_>, now: u64, report: &mut Report) -> R<()> {
    let start = now.saturating_sub(RECONCILE_WINDOW_MS);
    for page in 1..=RECONCILE_PAGES {
        let Some(answer) = query(app, Vec::new(), Some((start, now, page))).await? else { return Ok(()) };
        report.query_calls += 1;
        for row in &answer.rows {
            report.reconciled_rows += 1;
            let Some(number) = row.out_trade_no.as_deref() else { continue };
            if row.order_type.as_deref().is_some_and(|t| t != "payment")
                || !matches!(
                    row.status(),
                    qfpay::PaymentStatus::Paid | qfpay::PaymentStatus::Refunded | qfpay::PaymentStatus::PartlyRefunded
                )
            {
                continue;
            }
            if let Some(attempt) = app.store.attempt_by_out_trade_no(number).await.or_500()? {
                if attempt.status() != checkout_api::AttemptStatus::Paid {
                    keep_going("reconciled row", settle::apply_attempt_row(app, &attempt, Some(row)).await);
                }
            }
        }
        if answer.rows.len() < upstream::QUERY_BATCH {
            break;
        }
    }
    Ok(())
}

/// One gateway query: by numbers, or by time window and page. `None` when no answer came.
async fn query(app: &App<'_>, numbers: Vec<String>, window: Option<(u64, u64, u32)>) -> R<Option<QueryAnswer>> {
    let txdtm = Txdtm::parse("txdtm", &clock::txdtm_now()).map_err(ApiError::from)?;
    let mut request = QueryRequest { out_trade_no: numbers, txdtm: Some(txdtm.to_string()), ..QueryRequest::default() };
    request.page_size = Some(upstream::QUERY_BATCH as u32);
    if let Some((start, end, page)) = window {
        // The gateway wants both ends within one calendar month; a window that crosses into a
        // new month starts at the month's first second (the previous runs covered the rest).
        let (start_text, end_text) = (clock::txdtm_at(start), clock::txdtm_at(end));
        let start_text =
            if start_text[..7] == end_text[..7] { start_text } else { format!("{}-01 00:00:00", &end_text[..7]) };
        request.start_time = Some(start_text);
        request.end_time = Some(end_text);
        request.page = Some(page);
    }
    let signed = request.sign(&app.settings.gateway.credentials).map_err(ApiError::from)?;
    Ok(match app.gateway().call(CallClass::Query, &signed, QueryAnswer::parse, |a| &a.outcome.respcd).await {
        Outcome::Answer(answer) if answer.outcome.respcd.is_success() => Some(answer),
        _ => None,
    })
}
