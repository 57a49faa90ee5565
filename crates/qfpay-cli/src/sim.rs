//! `qfpay sim`: the local QFPay gateway on a socket, until SIGINT or SIGTERM.

use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Args, ValueEnum};
use qfpay::{ClientKey, SignType};
use qfpay_sim::{parse_merchants, Faults, Merchant, SimConfig};

use crate::Failure;

#[derive(Args, Debug)]
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
    /// Refuse refunds 23:30-00:30 Hong Kong time, as the gateway does.
    #[arg(long)]
    refund_blackout: bool,
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
    /// How answers are signed in X-QF-SIGN (none: unsigned).
    #[arg(long, value_enum, default_value_t = AnswerSignType::Md5)]
    answer_sign_type: AnswerSignType,
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
    fn sign_type(self) -> Option<SignType> {
        match self {
            AnswerSignType::Md5 => Some(SignType::Md5),
            AnswerSignType::Sha256 => Some(SignType::Sha256),
            AnswerSignType::None => None,
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
        config.public_url = args.public_url.unwrap_or_else(|| format!("http://{addr}"));
        config.refund_blackout = args.refund_blackout;
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
            println!(
                "qfpay-sim merchant appcode={} key={} mchid={}",
                m.appcode,
                m.key.expose(),
                m.mchid.as_deref().unwrap_or("-")
            );
        }
        println!("qfpay-sim {}", signature_rules(&config));
        println!("qfpay-sim wallet pages at {}/sim/wallet/<token>", config.public_url);
        println!("qfpay-sim listening on http://{addr}");
        qfpay_sim::serve(listener, config, shutdown_signal())
            .await
            .map_err(|e| Failure::Usage(format!("server error: {e}")))?;
        println!("qfpay-sim stopped");
        Ok(())
    })
}

/// One line on how requests are read and answers signed, so a 1108 is no surprise.
fn signature_rules(config: &SimConfig) -> String {
    let requests = match config.lenient_sign_type {
        false => "requests without X-QF-SIGNTYPE are checked as MD5 (strict, as the gateway)",
        true => "requests without X-QF-SIGNTYPE: 64 hex digits are checked as SHA256 (lenient)",
    };
    let answers = config.answer_sign_type.map_or("unsigned", SignType::header_value);
    format!("signatures: {requests}; answers signed with {answers}")
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
