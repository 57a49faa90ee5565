//! `qfpay`: a merchant developer's tool for debugging a QFPay integration.
//!
//! Exit codes: 0 success, 1 a check that did not match, 2 a usage error (one line on stderr).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod commands;
mod sim;
mod tables;

/// Sign and verify QFPay requests and notifications, explain status codes, list the tables.
#[derive(Parser, Debug)]
#[command(name = "qfpay", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

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
    /// Run the local QFPay gateway simulator.
    Sim(sim::SimArgs),
}

/// A command's failure: what to print and how to exit.
pub enum Failure {
    /// Bad arguments or input: exit 2.
    Usage(String),
    /// A check that did not match: exit 1 (the message goes to stdout).
    Mismatch(String),
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
        Command::Sim(args) => sim::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Mismatch(msg)) => {
            println!("{msg}");
            ExitCode::from(1)
        }
        Err(Failure::Usage(msg)) => usage_error(&msg),
    }
}

fn first_line(text: &str) -> String {
    text.lines().find(|l| !l.trim().is_empty()).unwrap_or("error: invalid arguments").to_owned()
}

fn usage_error(msg: &str) -> ExitCode {
    let msg = msg.strip_prefix("error: ").unwrap_or(msg);
    eprintln!("qfpay: {msg} (see qfpay --help)");
    ExitCode::from(2)
}
