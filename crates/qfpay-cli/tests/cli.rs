//! The `qfpay` command's interface, which other tools rely on, run as a real process.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn qfpay(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_qfpay")).args(args).output().expect("qfpay runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

const SEED: [&str; 3] = ["mchid=ZaMVg12345", "txamt=100", "txcurrcd=HKD"];

#[test]
fn sign_prints_only_the_signature() {
    let o = qfpay(&["sign", "--key", "abcd1234", "--", SEED[0], SEED[1], SEED[2]]);
    assert!(o.status.success());
    assert_eq!(stdout(&o), "99D9F7174823928B74C74B1C7A7E1538DF733774DD21C9606A202CB8BB3D74E8\n");
    let o = qfpay(&["sign", "--key", "abcd1234", "--sign-type", "md5", SEED[0], SEED[1], SEED[2]]);
    assert_eq!(stdout(&o), "3CB3AA9C21D818AB4CAFAA8FA3FEACF4\n");
}

#[test]
fn sign_splits_at_the_first_equals_and_keeps_empty_values_out() {
    // Vector "values with reserved URL characters are signed raw" (MD5).
    let o = qfpay(&[
        "sign",
        "--key",
        "key&=",
        "--sign-type",
        "MD5",
        "goods_name=a&b=c d+e%20f",
        "notify_url=https://shop.example/notify?x=1&y=2",
        "txamt=888",
        "out_trade_no=R&1",
        "udid=",
    ]);
    assert_eq!(stdout(&o), "F9A7A24C863F2FE45C8CC0D8938512DB\n");
}

#[test]
fn verify_exit_codes() {
    let ok = qfpay(&[
        "verify",
        "--key",
        "abcd1234",
        "--signature",
        "3cb3aa9c21d818ab4cafaa8fa3feacf4",
        SEED[0],
        SEED[1],
        SEED[2],
    ]);
    assert_eq!(ok.status.code(), Some(0));
    assert!(stdout(&ok).contains("matches"));
    let bad = qfpay(&[
        "verify",
        "--key",
        "abcd1234",
        "--signature",
        "3CB3AA9C21D818AB4CAFAA8FA3FEACF5",
        SEED[0],
        SEED[1],
        SEED[2],
    ]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(stdout(&bad).contains("MISMATCH"));
    assert!(!stdout(&bad).contains("abcd1234"), "the key is never printed");
}

#[test]
fn verify_notify_reads_stdin_and_files() {
    let body = br#"{"notify_type": "payment", "syssn": "S1"}"#;
    let sig = qfpay::sign::sign_notification(body, &qfpay::ClientKey::new("k"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_qfpay"))
        .args(["verify-notify", "--key", "k", "--signature", &sig, "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(body).unwrap();
    assert!(child.wait_with_output().unwrap().status.success());
    let path = std::env::temp_dir().join(format!("qfpay-cli-notify-{}.json", std::process::id()));
    std::fs::write(&path, b"tampered").unwrap();
    let o = qfpay(&["verify-notify", "--key", "k", "--signature", &sig, path.to_str().unwrap()]);
    std::fs::remove_file(&path).unwrap();
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn usage_errors_exit_2_with_one_line() {
    for args in [
        &["sign", "--key", "k", "novalue"][..],
        &["sign", "--key", "k", "--sign-type", "sha1", "a=1"],
        &["frobnicate"],
        &["sign"],
    ] {
        let o = qfpay(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
    }
}

#[test]
fn tables_print_and_filter() {
    let o = qfpay(&["explain", "1143"]);
    assert!(stdout(&o).starts_with("1143 pending-ask-again"));
    let o = qfpay(&["explain", "9999"]);
    assert!(o.status.success() && stdout(&o).contains("9999"));
    let o = qfpay(&["pay-types", "--mode", "mpm", "--refundable", "--json"]);
    let rows: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let codes: Vec<_> = rows.as_array().unwrap().iter().map(|r| r["code"].as_str().unwrap().to_owned()).collect();
    assert_eq!(codes.len(), 6, "7 MPM types less FPS: {codes:?}");
    assert!(!codes.contains(&"802001".to_owned()));
    let o = qfpay(&["currencies", "--json"]);
    let rows: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 13);
    assert_eq!(qfpay(&["pay-types", "--mode", "carrier-pigeon"]).status.code(), Some(2));
}

#[cfg(not(feature = "sim"))]
#[test]
fn a_light_build_says_how_to_get_the_simulator() {
    let o = qfpay(&["sim", "--listen", "127.0.0.1:0"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("built without the simulator") && err.contains("--features sim"), "{err}");
}

#[test]
fn merchant_commands_refuse_an_unsafe_or_missing_configuration() {
    let run = |url: &str| {
        Command::new(env!("CARGO_BIN_EXE_qfpay"))
            .args(["sessions", "get", "cs_x"])
            .env("QFPAY_WORKER_URL", url)
            .env("MERCHANT_API_KEY", "sk_secret_never_printed_0123456789abcdef")
            .output()
            .expect("qfpay runs")
    };
    let o = run("http://10.1.2.3:8787");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("unencrypted") && !err.contains("sk_secret"), "{err}");
    let o = run("");
    assert!(String::from_utf8_lossy(&o.stderr).contains("QFPAY_WORKER_URL is not set"));
}
