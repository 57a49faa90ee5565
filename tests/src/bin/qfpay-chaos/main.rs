//! `cargo xtask chaos [--quick] [--strict] [--abuser]`: two bounded runs against the whole stack
//! on loopback (the simulator with its rate limits on, the worker under `wrangler dev`), each
//! writing a report under `target/chaos/` and exiting non-zero when a promise is broken.
//!
//! - The fault run ([`fault`]): the simulator injects 503s, transient codes, lost answers,
//!   latency spikes, dropped, repeated and reordered notifications; the worker dies on purpose
//!   after named writes and is restarted in the middle; shoppers pay, decline, abandon, get
//!   refunds and pay twice, concurrently, and a webhook receiver fails every other delivery.
//!   Then the settler gets a bounded time to finish on its own, and everything is reconciled
//!   ([`fault::reconcile`], [`fault::events`]). Writes `target/chaos/report.json`.
//! - The abuser run ([`abuse`], `--abuser`): honest shoppers check out alone, then again beside
//!   abusers, and what the abusers cost the gateway is counted. Writes
//!   `target/chaos/abuse.json`.
//!
//! What breaks each run is in [`report`]; the flags are in [`args`].

mod abuse;
mod args;
mod fault;
mod report;

#[tokio::main]
async fn main() {
    let args = match args::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("qfpay-chaos: {e}\n{}", args::USAGE);
            std::process::exit(2);
        }
    };
    if args.abuser {
        abuse::run(args.quick).await;
    } else {
        fault::run(args.quick, args.strict).await;
    }
}
