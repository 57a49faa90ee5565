//! `qfpay sim`: the local QFPay gateway on a socket, until SIGINT or SIGTERM.
//!
//! Its switches (`--notify-url`, `--end-order`, `--refund-*`, `--answer-signature`, ...) set
//! the behaviours QFPay's documentation leaves open, or sets per merchant; `GET`/`POST
//! /sim/switches` reads and changes them while it runs. The banner and the request log never
//! stop it: a closed stdout is ignored, a full one drops log lines (counted in `/sim/stats`).

use std::collections::BTreeMap;
use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Args, ValueEnum};
use qfpay::{ClientKey, SignType};
use qfpay_sim::switches::check_notify_url;
use qfpay_sim::{parse_merchants, AnswerSignature, EndOrder, Faults, Merchant, SimConfig, Switches};

use crate::Failure;

#[derive(Args, Debug)]
#[command(
    after_help = "While it runs, GET /sim/switches shows the switches and POST /sim/switches changes any of them \
(JSON: answer_signature, query_list_max, end_order, refund_blackout, refund_promotion, refund_low_volume, \
refund_no_partial_currency, refund_no_partial, per_request_notify_url, notify_url), from this machine only. \
One line per request is printed on stdout; lines that cannot be written at once are dropped and counted \
(log_lines_dropped in GET /sim/stats)."
)]
pub struct SimArgs {
    /// Address to listen on; port 0 picks a free one (printed once ready).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: String,
    /// The merchant's appcode (default DEMOAPPCODE).
    #[arg(long, requires = "key")]
    appcode: Option<String>,
    /// The merchant's client key (default DEMOKEY).
    #[arg(long, requires = "appcode")]
    key: Option<String>,
    /// The merchant's mchid, when the account has one.
    #[arg(long, requires = "appcode")]
    mchid: Option<String>,
    /// A TOML file of [[merchant]] entries (appcode, key, mchid?, name?).
    #[arg(long, conflicts_with = "appcode")]
    merchants: Option<String>,
    /// Simulated seconds per real second (speeds up expiry and notification retries).
    #[arg(long, default_value_t = 1.0)]
    time_scale: f64,
    /// Faults to inject, e.g. 5xx=0.1,transient=0.05,notify-drop=0.2 (see the README).
    #[arg(long)]
    faults: Option<String>,
    /// Base URL browsers reach the simulator at (default: the listening address).
    #[arg(long)]
    public_url: Option<String>,
    /// Refuse refunds 23:30-00:30 Hong Kong time with 1265, as the gateway does (the default;
    /// kept so older scripts still run).
    #[arg(long, conflicts_with = "no_refund_blackout")]
    refund_blackout: bool,
    /// Allow refunds 23:30-00:30 Hong Kong time (switch refund_blackout off).
    #[arg(long)]
    no_refund_blackout: bool,
    /// A "special promotion": refuse every refund with 1265, at any hour.
    #[arg(long)]
    refund_promotion: bool,
    /// The merchant's unsettled volume today is too low: refuse refunds with 1269.
    #[arg(long)]
    refund_low_volume: bool,
    /// The currency allows no partial refund: refuse refunds of less than the payment with 1270.
    #[arg(long)]
    refund_no_partial_currency: bool,
    /// The transaction allows no partial refund: refuse refunds of less than the payment with 1271.
    #[arg(long)]
    refund_no_partial: bool,
    /// The URL registered for notifications (QFPay registers one per appcode); without it, and
    /// without --per-request-notify-url, no notification is sent.
    #[arg(long, value_parser = notify_url)]
    notify_url: Option<String>,
    /// Send notifications to a payment's own notify_url field when it has one (not what QFPay
    /// documents; the registered URL otherwise).
    #[arg(long)]
    per_request_notify_url: bool,
    /// How an unpaid order of PAYTYPE ends early, over the documented table (reversal for
    /// Alipay and WeChat Pay CPM, close for WeChat Pay MPM, none for the rest), e.g.
    /// 805801=close; repeatable.
    #[arg(long, value_name = "PAYTYPE=MODE", value_parser = Switches::parse_end_order)]
    end_order: Vec<(String, EndOrder)>,
    /// What answers' X-QF-SIGN covers: sorted-data (the guide's reading: the data object's
    /// fields), top-level (the answer's own fields), raw-body (the body bytes, as notifications),
    /// none (unsigned).
    #[arg(long, value_enum, default_value_t = AnswerReading::SortedData)]
    answer_signature: AnswerReading,
    /// The longest comma-separated syssn or out_trade_no list a query takes (longer: 1104).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u16).range(1..))]
    query_list_max: u16,
    /// The pay types QFPay enabled for the merchants, comma-separated (default: every one);
    /// others are refused as the gateway refuses them (respcd 1251, filter_error).
    #[arg(long, value_delimiter = ',')]
    pay_types: Option<Vec<String>>,
    /// Do not enforce the 100/s and 400/min rate limits (load tests of the simulator itself).
    #[arg(long)]
    no_rate_limit: bool,
    /// Seed for the fault dice and wallet tokens (default: from the clock, so tokens are not guessable).
    #[arg(long)]
    seed: Option<u64>,
    /// Read a 64-hex-digit X-QF-SIGN sent without X-QF-SIGNTYPE as SHA256, so the guide's Python
    /// example runs unchanged (the gateway reads it as MD5 and answers 1108).
    #[arg(long)]
    lenient_sign_type: bool,
    /// How an identical retry is answered: the original answer (replay), or 1102/2011 "exists".
    #[arg(long, value_enum)]
    duplicate_answers: Option<DuplicateAnswers>,
    /// The hash of answers' X-QF-SIGN (none: unsigned, as --answer-signature none).
    #[arg(long, value_enum, default_value_t = AnswerSignType::Md5)]
    answer_sign_type: AnswerSignType,
}

/// `--answer-signature`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum AnswerReading {
    /// The data object's fields (else the answer's own), sorted, key appended.
    SortedData,
    /// The answer's top-level fields, sorted, key appended.
    TopLevel,
    /// The raw body bytes, key appended.
    RawBody,
    /// No X-QF-SIGN.
    None,
}

impl AnswerReading {
    fn switch(self) -> AnswerSignature {
        match self {
            AnswerReading::SortedData => AnswerSignature::SortedData,
            AnswerReading::TopLevel => AnswerSignature::TopLevel,
            AnswerReading::RawBody => AnswerSignature::RawBody,
            AnswerReading::None => AnswerSignature::None,
        }
    }
}

fn notify_url(text: &str) -> Result<String, String> {
    check_notify_url(text)
}

/// The switches the flags set, from the documented defaults.
fn switches(args: &SimArgs) -> Switches {
    let mut answer_signature = args.answer_signature.switch();
    if args.answer_sign_type == AnswerSignType::None {
        answer_signature = AnswerSignature::None;
    }
    Switches {
        answer_signature,
        query_list_max: usize::from(args.query_list_max),
        end_order: args.end_order.iter().cloned().collect::<BTreeMap<_, _>>(),
        refund_blackout: !args.no_refund_blackout,
        refund_promotion: args.refund_promotion,
        refund_low_volume: args.refund_low_volume,
        refund_no_partial_currency: args.refund_no_partial_currency,
        refund_no_partial: args.refund_no_partial,
        per_request_notify_url: args.per_request_notify_url,
        notify_url: args.notify_url.clone(),
    }
}

/// `--duplicate-answers`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum DuplicateAnswers {
    /// The original answer again (the default).
    Replay,
    /// 1102 for a payment, 2011 for a refund (the fault duplicate-exists).
    Exists,
}

/// `--answer-sign-type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum AnswerSignType {
    /// MD5, no X-QF-SIGNTYPE (the guide's default).
    Md5,
    /// SHA256, with X-QF-SIGNTYPE: SHA256.
    Sha256,
    /// No X-QF-SIGN at all.
    None,
}

impl AnswerSignType {
    /// The hash; `none` is the `answer_signature` switch's `none` (see [`switches`]).
    fn sign_type(self) -> SignType {
        match self {
            AnswerSignType::Sha256 => SignType::Sha256,
            AnswerSignType::Md5 | AnswerSignType::None => SignType::Md5,
        }
    }
}

/// `--faults`, with `--duplicate-answers` over its `duplicate-exists` when both are given.
fn faults(args: &SimArgs) -> Result<Faults, Failure> {
    let mut faults = args.faults.as_deref().map(Faults::parse).transpose().map_err(Failure::Usage)?.unwrap_or_default();
    if let Some(answers) = args.duplicate_answers {
        faults.duplicate_exists = answers == DuplicateAnswers::Exists;
    }
    Ok(faults)
}

fn merchants(args: &SimArgs) -> Result<Vec<Merchant>, Failure> {
    if let Some(path) = &args.merchants {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Failure::Usage(format!("cannot read --merchants {path}: {e}")))?;
        return parse_merchants(&text).map_err(Failure::Usage);
    }
    Ok(match (&args.appcode, &args.key) {
        (Some(appcode), Some(key)) => vec![Merchant {
            appcode: appcode.clone(),
            key: ClientKey::new(key.clone()),
            mchid: args.mchid.clone().filter(|m| !m.is_empty()),
            name: appcode.clone(),
        }],
        _ => vec![Merchant::demo()],
    })
}

pub fn run(args: SimArgs) -> Result<(), Failure> {
    let merchants = merchants(&args)?;
    let faults = faults(&args)?;
    if !(args.time_scale.is_finite() && args.time_scale > 0.0) {
        return Err(Failure::Usage("--time-scale must be a positive number".into()));
    }
    let runtime =
        tokio::runtime::Runtime::new().map_err(|e| Failure::Usage(format!("cannot start the runtime: {e}")))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .map_err(|e| Failure::Usage(format!("cannot listen on {}: {e}", args.listen)))?;
        let addr = listener.local_addr().map_err(|e| Failure::Usage(e.to_string()))?;
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
        let mut config = SimConfig::new(merchants, now);
        config.time_scale = args.time_scale;
        config.faults = faults;
        config.switches = switches(&args);
        config.public_url = args.public_url.unwrap_or_else(|| format!("http://{addr}"));
        config.log_requests = true;
        if let Some(unknown) = args.pay_types.iter().flatten().find(|p| qfpay::tables::pay_type(p).is_none()) {
            return Err(Failure::Usage(format!("--pay-types: {unknown:?} is not a pay type of the guide's table")));
        }
        config.pay_types = args.pay_types;
        config.rate_limit = !args.no_rate_limit;
        config.lenient_sign_type = args.lenient_sign_type;
        config.answer_sign_type = args.answer_sign_type.sign_type();
        config.seed = args
            .seed
            .unwrap_or_else(|| SystemTime::now().duration_since(UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64));
        for m in config.merchants.values() {
            // The simulator's keys are test keys of its own, printed so a developer can sign with them.
            say(&format!(
                "qfpay-sim merchant appcode={} key={} mchid={}",
                m.appcode,
                m.key.expose(),
                m.mchid.as_deref().unwrap_or("-")
            ));
        }
        say(&format!("qfpay-sim {}", signature_rules(&config)));
        say(&format!("qfpay-sim switches {}", serde_json::to_string(&config.switches).unwrap_or_default()));
        say(&format!("qfpay-sim wallet pages at {}/sim/wallet/<token>", config.public_url));
        say(&format!("qfpay-sim listening on http://{addr}"));
        qfpay_sim::serve(listener, config, shutdown_signal())
            .await
            .map_err(|e| Failure::Usage(format!("server error: {e}")))?;
        say("qfpay-sim stopped");
        Ok(())
    })
}

/// A banner line on stdout. Unlike `println!`, a closed stdout is no reason to stop: the
/// banner is for people, and nobody reads it then.
fn say(line: &str) {
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

/// One line on how requests are read and answers signed, so a 1108 is no surprise.
fn signature_rules(config: &SimConfig) -> String {
    let requests = match config.lenient_sign_type {
        false => "requests without X-QF-SIGNTYPE are checked as MD5 (strict, as the gateway)",
        true => "requests without X-QF-SIGNTYPE: 64 hex digits are checked as SHA256 (lenient)",
    };
    let answers = match config.switches.answer_signature {
        AnswerSignature::None => "unsigned".to_owned(),
        reading => format!("signed with {} over {}", config.answer_sign_type.header_value(), reading.name()),
    };
    format!("signatures: {requests}; answers {answers}")
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = interrupt.await;
                return;
            }
        };
        tokio::select! {
            _ = interrupt => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
