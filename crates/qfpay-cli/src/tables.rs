//! `explain`, `pay-types` and `currencies`: the guide's tables, for people and for scripts.

use clap::Args;
use qfpay::tables::{PayMode, CURRENCIES, PAY_TYPES};
use qfpay::RespCode;

use crate::Failure;

#[derive(Args, Debug)]
pub struct ExplainArgs {
    /// The four-digit respcd.
    respcd: String,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub struct PayTypesArgs {
    /// Only this mode: mpm, cpm, wap, web, in-app, jsapi, mini-program, card-online, card-offline.
    #[arg(long)]
    mode: Option<String>,
    /// Only types that can be refunded.
    #[arg(long)]
    refundable: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub struct CurrenciesArgs {
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub fn explain(args: ExplainArgs) -> Result<(), Failure> {
    let code = RespCode::new(args.respcd.trim());
    match (code.info(), args.json) {
        (Some(info), true) => print_json(info),
        (Some(info), false) => {
            println!("{} {}", info.code, info.class.name());
            println!("en: {}", info.text_en);
            println!("zh: {}", info.text_zh);
        }
        (None, true) => {
            print_json(&serde_json::json!({ "code": code.code(), "class": code.class().name(), "known": false }))
        }
        (None, false) => {
            println!("{} {}", code.code(), code.class().name());
            println!("en: not in the guide's table; treat it as a final failure and ask QFPay support");
        }
    }
    Ok(())
}

pub fn pay_types(args: PayTypesArgs) -> Result<(), Failure> {
    let mode = args
        .mode
        .as_deref()
        .map(|m| {
            PayMode::parse(m).ok_or_else(|| {
                let names: Vec<_> = PayMode::ALL.iter().map(|m| m.name()).collect();
                Failure::Usage(format!("--mode must be one of {} (got {m:?})", names.join(", ")))
            })
        })
        .transpose()?;
    let rows: Vec<_> = PAY_TYPES
        .iter()
        .filter(|p| mode.is_none_or(|m| p.mode == m))
        .filter(|p| !args.refundable || p.refundable)
        .collect();
    if args.json {
        print_json(&rows);
        return Ok(());
    }
    println!("{:<7} {:<13} {:<18} {:<10} NAME", "CODE", "MODE", "WALLET", "REFUND");
    for p in rows {
        let refund = if p.refundable { "yes" } else { "no" };
        println!(
            "{:<7} {:<13} {:<18} {:<10} {} / {}",
            p.code,
            p.mode.name(),
            p.wallet.display_name(),
            refund,
            p.name_en,
            p.name_zh
        );
    }
    Ok(())
}

pub fn currencies(args: CurrenciesArgs) -> Result<(), Failure> {
    if args.json {
        print_json(&CURRENCIES);
        return Ok(());
    }
    println!("{:<5} {:<9} NAME", "CODE", "EXPONENT");
    for c in CURRENCIES {
        println!("{:<5} {:<9} {} / {}", c.code, c.exponent, c.name_en, c.name_zh);
    }
    Ok(())
}

fn print_json<T: serde::Serialize + ?Sized>(value: &T) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        Err(e) => eprintln!("qfpay: cannot write JSON: {e}"),
    }
}
