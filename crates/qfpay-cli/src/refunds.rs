//! `qfpay refunds create`: refund part or all of a paid session.

use clap::{Args, Subcommand};
use serde_json::{json, Value};

use crate::api::idempotency::{fresh_key, Write};
use crate::api::{path_segment, Client};
use crate::sessions::parse_minor_units;
use crate::{output, Failure};

#[derive(Subcommand, Debug)]
pub enum RefundsCommand {
    /// Refund a paid session (POST /v1/sessions/{id}/refunds) with a fresh Idempotency-Key, or
    /// the one given to retry a refund whose outcome was not known.
    Create(CreateArgs),
}

#[derive(Args, Debug)]
pub struct CreateArgs {
    /// The paid session (cs_...).
    pub session: String,
    /// In the session currency's minor units: 1000 is HK$10.00.
    #[arg(long, value_parser = parse_minor_units)]
    pub amount: u64,
    /// Why, kept with the refund.
    #[arg(long)]
    pub reason: Option<String>,
    /// Another payment of the session to refund (pa_..., from `sessions get`): a second
    /// payment or a held one. Default: the payment that paid the session.
    #[arg(long)]
    pub attempt: Option<String>,
    /// The Idempotency-Key to send (default: a fresh one). To retry a refund whose outcome was
    /// not known, give the key the CLI printed: the worker then refunds at most once.
    #[arg(long)]
    pub idempotency_key: Option<String>,
    /// Print the worker's JSON answer unchanged.
    #[arg(long)]
    pub json: bool,
}

pub fn run(command: RefundsCommand) -> Result<(), Failure> {
    let client = Client::from_env()?;
    match command {
        RefundsCommand::Create(args) => create(&client, args),
    }
}

/// The request body.
pub fn body(args: &CreateArgs) -> Value {
    let mut body = json!({"amount": args.amount});
    if let Some(reason) = &args.reason {
        body["reason"] = json!(reason);
    }
    if let Some(attempt) = &args.attempt {
        body["attempt_id"] = json!(attempt.trim());
    }
    body
}

fn create(client: &Client, args: CreateArgs) -> Result<(), Failure> {
    let key = args.idempotency_key.clone().unwrap_or_else(|| fresh_key("refund"));
    let write = Write { key: &key, session: Some(args.session.trim()) };
    let session = path_segment(&args.session);
    let path = format!("/v1/sessions/{session}/refunds");
    let reply = client.post(&path, Some(&body(&args)), Some(&key)).map_err(|f| write.no_answer(f))?;
    let refund = reply.json();
    // 402 answers the refund itself, failed: the gateway refused it and its amount is free again.
    let is_refund = matches!(reply.status, 201 | 402) && refund["id"].is_string();
    if !is_refund {
        return Err(write.refused(&reply, client.error_text(&reply)));
    }
    if reply.resent {
        eprintln!("qfpay: {}", write.resent_note());
    }
    if args.json {
        output::print(&client.target, &reply.text);
    } else {
        // The refund does not carry its currency: the session does (best effort; the refund is made).
        let currency = client
            .get(&format!("/v1/sessions/{session}"))
            .ok()
            .filter(|r| r.status == 200)
            .and_then(|r| r.json()["currency"].as_str().map(str::to_owned))
            .unwrap_or_default();
        output::print(&client.target, &output::table(&[output::refund_row(&refund, &currency)]));
    }
    match refund["status"].as_str() {
        Some("failed") => Err(Failure::Remote(format!(
            "the gateway refused refund {} (respcd {}); its amount can be refunded again",
            refund["id"].as_str().unwrap_or("?"),
            refund["respcd"].as_str().unwrap_or("-")
        ))),
        Some("pending") => {
            eprintln!(
                "qfpay: the refund is pending: the gateway's answer is not known yet and the worker settles it on its own \
                 (refund.succeeded or refund.failed follows; refund.unresolved if the gateway gives no final word in 3 days); check with `qfpay sessions get {}`",
                args.session
            );
            Ok(())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct Cli {
        #[command(subcommand)]
        command: RefundsCommand,
    }

    #[test]
    fn a_refund_takes_a_session_and_minor_units() {
        let RefundsCommand::Create(args) =
            Cli::try_parse_from(["refunds", "create", "cs_1", "--amount", "1000", "--reason", "no bun"])
                .unwrap()
                .command;
        assert_eq!((args.session.as_str(), args.idempotency_key.as_deref()), ("cs_1", None));
        assert_eq!(body(&args), json!({"amount": 1000, "reason": "no bun"}));
        let RefundsCommand::Create(args) =
            Cli::try_parse_from(["refunds", "create", "cs_1", "--amount", "5", "--idempotency-key", "k-1"])
                .unwrap()
                .command;
        assert_eq!(args.idempotency_key.as_deref(), Some("k-1"));
        assert!(Cli::try_parse_from(["refunds", "create", "cs_1"]).is_err(), "--amount is required");
        let err = Cli::try_parse_from(["refunds", "create", "cs_1", "--amount", "10.5"]).unwrap_err().to_string();
        assert!(err.contains("minor units"), "{err}");
    }
}
