//! `cargo xtask bench [--quick]`: every figure of issue 7 in one run, printed as a table and
//! written to `target/bench/report.json`, with a row appended to `BENCHMARKS.md`.
//!
//! - signing: criterion's median for a 10-parameter payment, next to the guide's algorithm in
//!   Python (hashlib) timed on the same machine;
//! - the end-to-end figures from `qfpay-bench` (worker overhead, upstream economy against a naive
//!   proxy and again with every gateway notification dropped, widget timings, cold start), plus
//!   the artefacts' sizes;
//! - capacity: the most paid checkouts a minute one merchant sustains against the simulator with
//!   its rate limits on (0 gateway 429s, every payment seen paid), driven at fixed rates.

use std::process::Command;

use serde_json::{json, Map, Value};

use crate::run::{cargo, root, run, step};
use crate::{build, setup, size};

const PYTHON_SIGN: &str = r#"
import hashlib, timeit
params = {"txamt": "1500", "txcurrcd": "HKD", "pay_type": "800201", "out_trade_no": "cs_01HF7Y6ZK3-a1",
          "txdtm": "2023-11-01 10:00:00", "expired_time": "30", "goods_name": "港式奶茶 x2", "udid": "edge-worker",
          "notify_url": "https://pay.example.com/v1/qfpay/notify", "mchid": "ZaMVg12345"}
def generate_signature_sha256(params, key):
    keys = list(params.keys()); keys.sort(); query = []
    for k in keys:
        if k not in ('sign', 'sign_type') and (params[k] or params[k] == 0):
            query.append(f'{k}={params[k]}')
    return hashlib.sha256(('&'.join(query) + key).encode('utf-8')).hexdigest().upper()
n = 50000
best = min(timeit.repeat(lambda: generate_signature_sha256(params, "DEMOKEY"), number=n, repeat=5))
print(best / n * 1e9)
"#;

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cores} cores, {cpu}")
}

fn sign_ns() -> Result<f64, String> {
    step("bench: signing (criterion)");
    run(cargo().args([
        "bench",
        "-p",
        "qfpay",
        "--bench",
        "sign",
        "--",
        "--warm-up-time",
        "1",
        "--measurement-time",
        "3",
        "sign_payment_10_params_sha256",
    ]))?;
    let path = root().join("target/criterion/sign_payment_10_params_sha256/new/estimates.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let v: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    v["median"]["point_estimate"].as_f64().ok_or("no median in criterion's estimates".into())
}

fn python_sign_ns() -> Result<f64, String> {
    step("bench: the guide's signing in Python (hashlib)");
    let out = Command::new("python3").args(["-c", PYTHON_SIGN]).output().map_err(|e| format!("python3: {e}"))?;
    String::from_utf8_lossy(&out.stdout).trim().parse().map_err(|_| "python3 printed no figure".into())
}

/// Runs everything and reports.
pub fn all(quick: bool) -> Result<(), String> {
    setup::all()?;
    size::ensure_brotli()?;
    build::widget()?;
    build::worker()?;
    let mut report = Map::new();
    report.insert("machine".into(), json!(machine()));
    report.insert("quick".into(), json!(quick));
    let sign = sign_ns()?;
    let python = python_sign_ns()?;
    report.insert("sign_ns".into(), json!(sign));
    report.insert("sign_python_ns".into(), json!(python));
    report.insert("sign_python_ratio".into(), json!(python / sign));
    step("bench: end to end (qfpay-bench)");
    let mut e2e = cargo();
    e2e.args(["run", "--release", "-q", "-p", "e2e", "--bin", "qfpay-bench", "--"]);
    if quick {
        e2e.arg("--quick");
    }
    run(&mut e2e)?;
    let text = std::fs::read_to_string(root().join("target/bench/e2e.json"))
        .map_err(|e| format!("target/bench/e2e.json: {e}"))?;
    if let Value::Object(m) = serde_json::from_str(&text).map_err(|e| e.to_string())? {
        report.extend(m);
    }
    let (widget, worker) = size::artefacts()?;
    let (wr, wg, wb) = size::measure(&widget.iter().map(|p| p.as_path()).collect::<Vec<_>>())?;
    let (kr, kg, _) = size::measure(&[&worker])?;
    report.insert("widget_raw_bytes".into(), json!(wr));
    report.insert("widget_gzip_bytes".into(), json!(wg));
    report.insert("widget_brotli_bytes".into(), json!(wb));
    report.insert("worker_raw_bytes".into(), json!(kr));
    report.insert("worker_gzip_bytes".into(), json!(kg));
    let f = |k: &str| report.get(k).and_then(Value::as_f64).unwrap_or(f64::NAN);
    let ratio = |a: &str, b: &str| f(a) / f(b);
    println!();
    println!("machine: {}", machine());
    println!("{:<48} {:>14} {:>14} {:>8}", "figure", "ours", "compared", "ratio");
    println!(
        "{:<48} {:>14.0} {:>14.0} {:>7.1}x",
        "sign a payment, ns (vs Python hashlib)",
        f("sign_ns"),
        f("sign_python_ns"),
        ratio("sign_python_ns", "sign_ns")
    );
    println!(
        "{:<48} {:>14.2} {:>14.2} {:>7.1}x",
        "status p50 ms via worker (vs direct query)",
        f("status_p50_ms"),
        f("direct_query_p50_ms"),
        ratio("status_p50_ms", "direct_query_p50_ms")
    );
    println!("{:<48} {:>14.2} {:>14} {:>8}", "status p99 ms via worker", f("status_p99_ms"), "", "");
    println!("{:<48} {:>14.0} {:>14} {:>8}", "status requests/s via worker", f("status_rps"), "", "");
    println!(
        "{:<48} {:>14.0} {:>14} {:>8}",
        "status answers 429 (limits; must be 0)",
        f("status_rate_limited"),
        "",
        ""
    );
    println!(
        "{:<48} {:>14.2} {:>14.2} {:>7.1}x",
        "pay p50 ms via worker (vs direct payment)",
        f("pay_p50_ms"),
        f("direct_payment_p50_ms"),
        ratio("pay_p50_ms", "direct_payment_p50_ms")
    );
    println!(
        "{:<48} {:>14.2} {:>14.2} {:>7.1}x",
        "gateway calls per checkout (vs naive proxy)",
        f("upstream_calls_per_checkout"),
        f("baseline_upstream_calls_per_checkout"),
        ratio("baseline_upstream_calls_per_checkout", "upstream_calls_per_checkout")
    );
    println!(
        "{:<48} {:>14.2} {:>14} {:>8}",
        "gateway calls per checkout, notifications dropped",
        f("upstream_calls_per_checkout_notify_dropped"),
        "",
        ""
    );
    println!(
        "{:<48} {:>14.0} {:>14.0} {:>8}",
        "gateway peak calls/min; 429s (ours, naive)",
        f("upstream_peak_per_minute"),
        f("baseline_upstream_429"),
        ""
    );
    println!(
        "{:<48} {:>14.0} {:>14.0} {:>8}",
        "checkouts paid; seen paid by the worker",
        f("checkouts_paid"),
        f("checkouts_seen_paid"),
        ""
    );
    println!(
        "{:<48} {:>14.0} {:>14.0} {:>8}",
        "the same, notifications dropped",
        f("checkouts_paid_notify_dropped"),
        f("checkouts_seen_paid_notify_dropped"),
        ""
    );
    println!(
        "{:<48} {:>14.0} {:>14.0} {:>8}",
        "widget bytes gzip; brotli",
        f("widget_gzip_bytes"),
        f("widget_brotli_bytes"),
        ""
    );
    println!("{:<48} {:>14.0} {:>14} {:>8}", "worker wasm bytes gzip", f("worker_gzip_bytes"), "", "");
    println!(
        "{:<48} {:>14.0} {:>14.0} {:>8}",
        "widget ms: navigation->interactive; click->QR",
        f("widget_interactive_ms"),
        f("qr_shown_ms"),
        ""
    );
    println!(
        "{:<48} {:>14.0} {:>14} {:>8}",
        "wrangler dev cold start to first answer, ms",
        f("worker_cold_start_ms"),
        "",
        ""
    );
    // The shopper's seconds (tests/src/bench/shopper_seconds.rs).
    for (what, key) in [
        ("paid to screen ms, p50 (wallet's Pay -> paid shown)", "paid_to_screen_ms_p50"),
        ("paid to screen ms, p95", "paid_to_screen_ms_p95"),
        ("widget requests per paid checkout", "widget_requests_per_checkout"),
        ("ms to the wallets, phone at 150 ms RTT 1.6 Mbps", "ms_to_choices_mobile"),
        ("D1 round trips per payment notification", "d1_queries_per_notification"),
    ] {
        println!("{:<48} {:>14.1} {:>14} {:>8}", what, f(key), "", "");
    }
    print_capacity(&report);
    let dir = root().join("target/bench");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    std::fs::write(
        dir.join("report.json"),
        serde_json::to_string_pretty(&Value::Object(report.clone())).unwrap_or_default(),
    )
    .map_err(|e| e.to_string())?;
    let row = format!(
        "| {} | {} | {:.0} | {:.0} | {:.2} | {:.2} | {:.2} | {:.0} | {:.2} | {:.2} | {:.2} | {:.0} | {:.0}/{:.0} | {:.0} | {:.0} | {:.0} | {:.0} | {} |\n",
        if quick { "quick" } else { "full" },
        machine(),
        f("sign_ns"),
        f("sign_python_ns"),
        f("status_p50_ms"),
        f("status_p99_ms"),
        f("direct_query_p50_ms"),
        f("status_rps"),
        f("upstream_calls_per_checkout"),
        f("baseline_upstream_calls_per_checkout"),
        f("upstream_calls_per_checkout_notify_dropped"),
        f("upstream_peak_per_minute"),
        f("checkouts_seen_paid"),
        f("checkouts_paid"),
        f("widget_gzip_bytes"),
        f("worker_gzip_bytes"),
        f("widget_interactive_ms"),
        f("qr_shown_ms"),
        capacity_cell(&report),
    );
    let path = root().join("BENCHMARKS.md");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    std::fs::write(&path, with_row(&text, row.trim_end())).map_err(|e| e.to_string())?;
    step("bench: wrote target/bench/report.json and a BENCHMARKS.md row");
    Ok(())
}

/// Prints each capacity trial and the figure: the most paid checkouts a minute that held
/// every bar.
fn print_capacity(report: &Map<String, Value>) {
    let window = report.get("capacity_window_seconds").and_then(Value::as_u64).unwrap_or(0);
    for t in report.get("capacity_trials").and_then(Value::as_array).into_iter().flatten() {
        println!(
            "{:<48} {:>14.1} {:>14} {:>8}",
            format!("capacity at {}/min over {window} s: paid+seen/min; 429s", t["rate_per_minute"]),
            t["paid_seen_per_minute"].as_f64().unwrap_or(f64::NAN),
            t["gateway_429"],
            if t["holds"] == true { "holds" } else { "broken" },
        );
    }
    println!("{:<48} {:>14} {:>14} {:>8}", "capacity: paid checkouts/min sustained", capacity_cell(report), "", "");
}

/// The table's capacity cell: paid checkouts a minute sustained (window seconds), or `none`
/// when no rate tried held every bar.
fn capacity_cell(report: &Map<String, Value>) -> String {
    let window = report.get("capacity_window_seconds").and_then(Value::as_u64).unwrap_or(0);
    match report.get("capacity_paid_per_minute").and_then(Value::as_f64) {
        Some(per_minute) => format!("{per_minute:.0} ({window} s)"),
        None => "none".into(),
    }
}

/// `text` with `row` added after the last row of its table of runs (the one whose header
/// starts `| run |`), so notes and other tables below it stay where they are.
fn with_row(text: &str, row: &str) -> String {
    let mut lines: Vec<&str> = text.lines().collect();
    let at = match lines.iter().position(|l| l.starts_with("| run |")) {
        Some(header) => header + lines[header..].iter().take_while(|l| l.starts_with('|')).count(),
        None => lines.len(),
    };
    lines.insert(at, row);
    lines.join("\n") + "\n"
}

#[cfg(test)]
mod tests {
    use super::with_row;

    #[test]
    fn a_row_goes_under_the_runs_table_only() {
        let text = "# B\n\n| run | x |\n|---|---|\n| a | 1 |\n\nnotes\n\n| rate | y |\n|---|---|\n| 1 | 2 |\n";
        let out = with_row(text, "| b | 2 |");
        assert!(out.contains("| a | 1 |\n| b | 2 |\n\nnotes"), "{out}");
        assert!(out.ends_with("| 1 | 2 |\n"));
    }
}
