//! `qfpay gateway check`: a one-minute run a merchant does once, with real credentials, against
//! QFPay's test environment (or the sandbox), that finds out what the documentation leaves
//! open and prints the worker settings that fit.
//!
//! - [`signing`]: which request signature types are accepted;
//! - [`answer_signature`]: what the answers' `X-QF-SIGN` covers;
//! - [`list_limit`]: how many order numbers one query takes, with the first order
//!   [`end_order`] creates listed last;
//! - [`end_order`]: which endpoint ends an unpaid order of each enabled pay type;
//! - [`report`]: the findings for people or as JSON, the settings, and what blocks going live
//!   (then the check exits 1, after the report);
//! - [`client`]: the paced HTTP client they share.
//!
//! It creates the smallest orders and never pays them; it never charges a CPM code. Production
//! needs `--prod`, so a copied command line cannot create orders there by accident.

mod answer_signature;
mod client;
mod end_order;
mod list_limit;
mod report;
mod signing;

use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Args, Subcommand};
use qfpay::tables::{pay_type, PayTypeInfo};
use qfpay::{Config, Environment, SignType, Txdtm, HONG_KONG_OFFSET_SECONDS};

use crate::{output, progress, Failure};
use client::{Answer, Gateway};

/// `qfpay gateway ...`.
#[derive(Subcommand, Debug)]
pub enum GatewayCommand {
    /// Find out what QFPay's documentation leaves open, with your credentials, and print the worker settings to use.
    ///
    /// Run it once against QFPay's test environment (QFPAY_ENV=test, or sandbox) with the
    /// appcode and key QFPay gave you (QFPAY_APPCODE, QFPAY_KEY, QFPAY_MCHID if you have one)
    /// and the pay types QFPay enabled (PAY_TYPES; unset, the worker's Hong Kong default).
    ///
    /// It sends a few dozen calls, at most five a second, and reports:
    /// signature_types (MD5 and SHA256 requests accepted?), answer_signature (what X-QF-SIGN on
    /// answers covers: sorted-data, top-level, raw-body, none or unknown), query_list_max (the
    /// longest out_trade_no list a query takes: a list counts only if the answer carries the row
    /// of a real order the check listed last) and end_order (for each MPM, WAP and web pay type,
    /// whether reversal, close or nothing ends an unpaid order). It creates one order per such pay
    /// type, for 1 HKD (or just above the type's minimum), never pays it, and ends it or lets it
    /// expire; CPM types are never charged and are reported from the documentation as not tested.
    ///
    /// Then it prints the worker's settings: QFPAY_ANSWER_SIGNATURE, QFPAY_QUERY_LIST_MAX and
    /// END_ORDER (only the pay types that differ from the documentation), and anything that blocks
    /// going live: the worker signs its calls with SHA256, so a gateway that refuses SHA256 is one
    /// (ask QFPay to enable it for the appcode). Progress goes to stderr. QFPAY_ENV=prod is
    /// refused unless --prod.
    ///
    /// Exit codes: 0 the check ran and found nothing that blocks going live; 1 it found something
    /// that does (after the report, whose JSON says "ready": false and lists "problems"), or the
    /// gateway could not be reached or answered something that is not a QFPay answer; 2 a missing
    /// or wrong setting (named).
    Check(CheckArgs),
}

/// `qfpay gateway check`'s flags.
#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Print one JSON object (ready, problems, signature_types, answer_signature, query_list_max, settings, ...).
    #[arg(long)]
    json: bool,
    /// Allow QFPAY_ENV=prod: real orders in production (never paid, ended or left to expire).
    #[arg(long)]
    prod: bool,
}

/// Runs a `gateway` subcommand.
pub fn run(command: GatewayCommand) -> Result<(), Failure> {
    match command {
        GatewayCommand::Check(args) => check(&args),
    }
}

fn check(args: &CheckArgs) -> Result<(), Failure> {
    let lookup = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    // No default environment: the check sends real credentials, so where to is never a guess.
    if lookup("QFPAY_ENV").is_none() {
        return Err(Failure::Usage(
            "QFPAY_ENV is not set: test (QFPay's test environment), sandbox, or local (the simulator at QFPAY_BASE_URL)"
                .into(),
        ));
    }
    let config = Config::from_lookup(lookup, Environment::Test).map_err(|e| Failure::Usage(e.to_string()))?;
    if config.environment == Environment::Prod && !args.prod {
        return Err(Failure::Usage(
            "QFPAY_ENV=prod: the check creates real orders, so it runs in production only with --prod".into(),
        ));
    }
    let pay_types = enabled_pay_types(lookup("PAY_TYPES"))?;
    announce(&config, &pay_types);
    let gateway = Gateway::new(config);
    let signature_types = signing::probe(&gateway)?;
    if !signature_types.accepted.contains(&SignType::Sha256) {
        // A problem the report names; the other findings are still worth having meanwhile.
        gateway.use_sign_type(SignType::Md5);
    }
    let (list, end_orders) = orders(&gateway, &pay_types)?;
    progress::done();
    let config = gateway.config();
    let report = report::Report {
        environment: config.environment,
        base_url: config.base_url.clone(),
        signature_types,
        answers: answer_signature::decide(&gateway.answers(), &config.credentials.key),
        list,
        end_orders,
        calls: gateway.calls(),
    };
    if args.json {
        println!("{}", report.json());
    } else {
        print!("{}", report.human());
    }
    match report.problems().len() {
        0 => Ok(()),
        1 => Err(Failure::Remote("not ready to go live: the report names 1 problem".into())),
        n => Err(Failure::Remote(format!("not ready to go live: the report names {n} problems"))),
    }
}

/// Creates an order of each testable pay type and tries to end it; the first order created
/// also serves the list search, before its ends are tried. `None` for the list when no order
/// could be created.
fn orders(
    gateway: &Gateway,
    pay_types: &[&'static PayTypeInfo],
) -> Result<(Option<list_limit::ListLimit>, Vec<end_order::Outcome>), Failure> {
    let mut list = None;
    let mut outcomes = Vec::new();
    for info in pay_types {
        let created = match end_order::create(gateway, info)? {
            Ok(created) => created,
            Err(untested) => {
                outcomes.push(untested);
                continue;
            }
        };
        let searched = list.is_none().then(|| list_limit::probe(gateway, &created));
        // Ended (or left) as every other order even when the search failed.
        outcomes.push(end_order::finish(gateway, created)?);
        if let Some(searched) = searched {
            list = Some(searched?);
        }
    }
    Ok((list, outcomes))
}

/// `PAY_TYPES` read as the worker reads it (unset: the worker's own default), each once.
fn enabled_pay_types(setting: Option<String>) -> Result<Vec<&'static PayTypeInfo>, Failure> {
    let codes = match setting {
        None => checkout_api::pay_options::default_enabled(),
        Some(text) => {
            checkout_api::pay_options::parse_enabled(&text).map_err(|p| Failure::Usage(format!("PAY_TYPES: {p}")))?
        }
    };
    let mut out: Vec<&'static PayTypeInfo> = Vec::new();
    for info in codes.iter().filter_map(|c| pay_type(c)) {
        if !out.iter().any(|o| o.code == info.code) {
            out.push(info);
        }
    }
    Ok(out)
}

/// Says what the check is about to do, and where, before the first call.
fn announce(config: &Config, pay_types: &[&'static PayTypeInfo]) {
    let (testable, untested): (Vec<_>, Vec<_>) = pay_types.iter().partition(|p| end_order::untestable(p).is_none());
    let codes = |list: &[&&PayTypeInfo]| list.iter().map(|p| p.code).collect::<Vec<_>>().join(", ");
    let mut line = format!(
        "qfpay: gateway check of QFPAY_ENV={} at {}: about {} calls, at most 5 a second. It creates {} orders of 1 HKD \
         (or just above a pay type's minimum), one per pay type ({}), never pays them, and ends each or leaves it to expire.",
        config.environment.name(),
        config.base_url,
        16 + 4 * testable.len(),
        testable.len(),
        if testable.is_empty() { "none".to_owned() } else { codes(&testable) },
    );
    if !untested.is_empty() {
        line.push_str(&format!(" Not tested (no order created): {}.", codes(&untested)));
    }
    eprintln!("{line}");
}

/// A progress line on stderr.
fn step(line: &str) {
    progress::status(&format!("gateway check: {line}"), true);
}

/// A fresh order number, shaped like the worker's (`QCP` and 24 base32 characters).
fn fresh_out_trade_no() -> String {
    let mut random = [0u8; 15];
    random.iter_mut().for_each(|b| *b = fastrand::u8(..));
    checkout_api::ids::payment_out_trade_no(&random)
}

/// Now, as Hong Kong's `txdtm`.
fn now_txdtm() -> Txdtm {
    let seconds = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    Txdtm::from_unix(i64::try_from(seconds).unwrap_or(i64::MAX), HONG_KONG_OFFSET_SECONDS)
}

/// The failure for an answer that is not a QFPay answer (an HTML page, a proxy's error).
fn garbage(gateway: &Gateway, path: &str, answer: &Answer) -> Failure {
    let start: String = String::from_utf8_lossy(&answer.body).chars().take(120).collect();
    Failure::Remote(format!(
        "the gateway at {} answered {path} with HTTP {} and a body that is not a QFPay answer: \"{}\"",
        gateway.config().base_url,
        answer.status,
        output::escape_controls(start.trim())
    ))
}
