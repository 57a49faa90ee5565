//! `qfpay`: a merchant developer's tool for debugging a QFPay integration, and for the
//! merchant's day against a deployment (`sessions`, `refunds`, `events`).
//!
//! Exit codes: 0 success, 1 a check that did not match, or the worker answered an error or could
//! not be reached (one message on stderr), 2 a usage or configuration error (one line on stderr).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod api;
mod commands;
mod events;
mod forward;
mod gateway_check;
mod output;
mod progress;
mod refunds;
mod sessions;
#[cfg(feature = "sim")]
mod sim;
mod tables;
mod time;

/// Sign and verify QFPay requests and notifications, explain status codes, list the tables.
#[derive(Parser, Debug)]
#[command(name = "qfpay", version, about, after_help = GOING_LIVE)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The help's section on what to run once before going live.
const GOING_LIVE: &str = "Before going live: run `qfpay gateway check` once with the credentials QFPay gave you \
(QFPAY_ENV=test, QFPAY_APPCODE, QFPAY_KEY). It tries what QFPay's documentation leaves open (signature types, \
what answers' X-QF-SIGN covers, the query list limit, how unpaid orders end), never paying anything, and prints \
the worker settings that fit.";

#[derive(Subcommand, Debug)]
enum Command {
    /// Print the signature of NAME=VALUE parameters.
    Sign(commands::SignArgs),
    /// Check a signature over NAME=VALUE parameters (exit 0 match, 1 mismatch).
    Verify(commands::VerifyArgs),
    /// Check a notification's X-QF-SIGN over its raw body (exit 0 match, 1 mismatch).
    VerifyNotify(commands::VerifyNotifyArgs),
    /// Explain a respcd: its class and texts.
    Explain(tables::ExplainArgs),
    /// List the pay types.
    PayTypes(tables::PayTypesArgs),
    /// List the currencies.
    Currencies(tables::CurrenciesArgs),
    /// Create, read, list and close checkout sessions on a deployment (QFPAY_WORKER_URL, MERCHANT_API_KEY).
    #[command(subcommand)]
    Sessions(sessions::SessionsCommand),
    /// Refund a paid session on a deployment.
    #[command(subcommand)]
    Refunds(refunds::RefundsCommand),
    /// Follow the deployment's event feed.
    #[command(subcommand)]
    Events(events::EventsCommand),
    /// Check QFPay's gateway with your credentials (QFPAY_ENV, QFPAY_APPCODE, QFPAY_KEY) and print the worker settings that fit.
    #[command(subcommand)]
    Gateway(gateway_check::GatewayCommand),
    /// Run the local QFPay gateway simulator.
    #[cfg(feature = "sim")]
    Sim(sim::SimArgs),
    /// Run the local QFPay gateway simulator (this build has no simulator: see the message).
    #[cfg(not(feature = "sim"))]
    #[command(hide = true)]
    Sim {
        /// Whatever was given; refused as a whole.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

/// A command's failure: what to print and how to exit.
pub enum Failure {
    /// Bad arguments or input: exit 2.
    Usage(String),
    /// A check that did not match: exit 1 (the message goes to stdout).
    Mismatch(String),
    /// The worker answered an error, or could not be reached: exit 1 (the message goes to stderr).
    Remote(String),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) if !err.use_stderr() => {
            // --help and --version: clap prints them to stdout.
            let _ = err.print();
            return ExitCode::SUCCESS;
        }
        Err(err) => return usage_error(&first_line(&err.to_string())),
    };
    let result = match cli.command {
        Command::Sign(args) => commands::sign(args),
        Command::Verify(args) => commands::verify(args),
        Command::VerifyNotify(args) => commands::verify_notify(args),
        Command::Explain(args) => tables::explain(args),
        Command::PayTypes(args) => tables::pay_types(args),
        Command::Currencies(args) => tables::currencies(args),
        Command::Sessions(command) => sessions::run(command),
        Command::Refunds(command) => refunds::run(command),
        Command::Events(command) => events::run(command),
        Command::Gateway(command) => gateway_check::run(command),
        #[cfg(feature = "sim")]
        Command::Sim(args) => sim::run(args),
        #[cfg(not(feature = "sim"))]
        Command::Sim { .. } => Err(Failure::Usage(NO_SIM.into())),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Mismatch(msg)) => {
            println!("{msg}");
            ExitCode::from(1)
        }
        Err(Failure::Usage(msg)) => usage_error(&msg),
        Err(Failure::Remote(msg)) => {
            eprintln!("qfpay: {msg}");
            ExitCode::from(1)
        }
    }
}

/// What `qfpay sim` says in a build without the simulator.
#[cfg(not(feature = "sim"))]
const NO_SIM: &str = "this qfpay was built without the simulator (the `sim` feature); \
install it with `cargo install --path crates/qfpay-cli --features sim` or run `cargo run -p qfpay-cli --features sim -- sim`";

fn first_line(text: &str) -> String {
    text.lines().find(|l| !l.trim().is_empty()).unwrap_or("error: invalid arguments").to_owned()
}

fn usage_error(msg: &str) -> ExitCode {
    let msg = msg.strip_prefix("error: ").unwrap_or(msg);
    eprintln!("qfpay: {msg} (see qfpay --help)");
    ExitCode::from(2)
}
