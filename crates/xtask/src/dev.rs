//! `cargo xtask dev`: the simulator, the worker under `wrangler dev` and the demo shop, on
//! loopback, until Ctrl-C, SIGTERM or SIGHUP. The widget may be embedded by the worker's own
//! origin, the origins in `ALLOWED_ORIGINS` and each `--allow-origin URL`. Each child runs in its own process group and is ended by
//! id. With `QFPAY_ENV=sandbox` (and `QFPAY_APPCODE`, `QFPAY_KEY`) it talks to QFPay's sandbox
//! instead and starts no simulator.

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::run::{cargo_build, run, step};
use crate::tools::{path_with_node, worker_dir};
use crate::{build, setup};

#[derive(Debug)]
struct Ports {
    worker: u16,
    sim: u16,
}

/// What the command line asks for: the ports, and the merchant sites allowed to embed the
/// widget (`--allow-origin URL`, repeatable). Anything else is an error naming it.
#[derive(Debug)]
struct DevArgs {
    ports: Ports,
    allow_origins: Vec<String>,
}

fn parse_args(args: &[String]) -> Result<DevArgs, String> {
    let mut parsed = DevArgs { ports: Ports { worker: 8787, sim: 8788 }, allow_origins: Vec::new() };
    let mut rest = args.iter();
    while let Some(name) = rest.next() {
        let value = rest.next().ok_or(format!("{name} needs a value"))?;
        let port = || value.parse::<u16>().map_err(|_| format!("{name} needs a port number"));
        match name.as_str() {
            "--worker-port" => parsed.ports.worker = port()?,
            "--sim-port" => parsed.ports.sim = port()?,
            "--allow-origin" => parsed.allow_origins.push(origin(value)?),
            _ => return Err(format!("unknown argument {name:?}")),
        }
    }
    Ok(parsed)
}

/// An origin as browsers send it (`scheme://host[:port]`, no path, no trailing slash): the
/// worker compares `Origin` headers with these exactly.
fn origin(value: &str) -> Result<String, String> {
    let trimmed = value.trim().trim_end_matches('/');
    let after_scheme = trimmed.strip_prefix("http://").or_else(|| trimmed.strip_prefix("https://"));
    match after_scheme {
        Some(host) if !host.is_empty() && !host.contains(['/', '?', '#', ' ', ',']) => Ok(trimmed.to_owned()),
        _ => Err(format!("--allow-origin {value:?} is not an origin such as http://localhost:3000")),
    }
}

/// The origins the worker allows: its own (the demo shop), then `ALLOWED_ORIGINS` from the
/// environment (comma-separated), then each `--allow-origin`, without repeats.
fn allowed_origins(worker_port: u16, from_env: Option<&str>, from_args: &[String]) -> Result<Vec<String>, String> {
    let mut out = vec![format!("http://127.0.0.1:{worker_port}"), format!("http://localhost:{worker_port}")];
    let env_origins = from_env.unwrap_or_default().split(',').filter(|o| !o.trim().is_empty());
    for o in env_origins.map(|o| origin(o).map_err(|e| e.replace("--allow-origin", "ALLOWED_ORIGINS:"))) {
        out.push(o?);
    }
    out.extend(from_args.iter().cloned());
    let mut seen = std::collections::BTreeSet::new();
    out.retain(|o| seen.insert(o.clone()));
    Ok(out)
}

/// A child in its own process group, ended with its group.
struct Group(Child);

impl Drop for Group {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline && !matches!(self.0.try_wait(), Ok(Some(_))) {
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.0.wait();
    }
}

fn spawn_group(cmd: &mut Command) -> Result<Group, String> {
    std::os::unix::process::CommandExt::process_group(cmd, 0);
    cmd.stdin(Stdio::null()).spawn().map(Group).map_err(|e| format!("cannot start {:?}: {e}", cmd.get_program()))
}

/// The project's wrangler in `worker/`, always on the top level (local) configuration:
/// `--env=` names it outright, so neither a `CLOUDFLARE_ENV` from the shell nor wrangler's own
/// choice can point `dev`, the migrations or the build at staging or production.
pub fn wrangler(args: &[&str]) -> Command {
    let mut cmd = Command::new(worker_dir().join("node_modules/.bin/wrangler"));
    cmd.args(args)
        .arg("--env=")
        .env_remove("CLOUDFLARE_ENV")
        .current_dir(worker_dir())
        .env("PATH", path_with_node())
        .env("WRANGLER_SEND_METRICS", "false")
        .env("CLOUDFLARE_CF_FETCH_ENABLED", "false");
    cmd
}

/// The merchant API key under `cargo xtask dev` unless `MERCHANT_API_KEY` is set: the worker
/// takes no key shorter than 32 characters. Never for a deployment.
const DEV_MERCHANT_API_KEY: &str = "sk_dev_local_key_for_development_only";

fn write_dev_vars(ports: &Ports, origins: &[String], sandbox: bool) -> Result<(), String> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let merchant_key = env("MERCHANT_API_KEY").unwrap_or_else(|| DEV_MERCHANT_API_KEY.into());
    if merchant_key.chars().count() < 32 {
        return Err("MERCHANT_API_KEY must be at least 32 characters (the worker refuses a shorter one)".into());
    }
    let worker = format!("http://127.0.0.1:{}", ports.worker);
    let mut vars = vec![
        format!("MERCHANT_API_KEY={merchant_key}"),
        format!("PUBLIC_URL={worker}"),
        format!("ALLOWED_ORIGINS={}", origins.join(",")),
    ];
    if sandbox {
        let appcode = env("QFPAY_APPCODE").ok_or("QFPAY_ENV=sandbox needs QFPAY_APPCODE")?;
        let key = env("QFPAY_KEY").ok_or("QFPAY_ENV=sandbox needs QFPAY_KEY")?;
        vars.push("QFPAY_ENV=sandbox".into());
        vars.push(format!("QFPAY_APPCODE={appcode}"));
        vars.push(format!("QFPAY_KEY={key}"));
        if let Some(mchid) = env("QFPAY_MCHID") {
            vars.push(format!("QFPAY_MCHID={mchid}"));
        }
    } else {
        vars.push("QFPAY_ENV=local".into());
        // The demo shop's session route (`POST /demo/sessions`); the worker allows it only
        // against the simulator.
        vars.push("DEMO_SHOP=true".into());
        vars.push("QFPAY_APPCODE=DEMOAPPCODE".into());
        vars.push("QFPAY_KEY=DEMOKEY".into());
        vars.push(format!("QFPAY_BASE_URL=http://127.0.0.1:{}", ports.sim));
    }
    if let Some((url, secret)) = webhook() {
        vars.push(format!("WEBHOOK_URL={url}"));
        vars.push(format!("WEBHOOK_SECRET={secret}"));
    }
    let path = worker_dir().join(".dev.vars");
    std::fs::write(&path, vars.join("\n") + "\n").map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    step("dev: wrote worker/.dev.vars (git-ignored)");
    Ok(())
}

/// A local development secret for webhooks, used when `WEBHOOK_URL` is set without
/// `WEBHOOK_SECRET`. Never for a deployment.
const DEV_WEBHOOK_SECRET: &str = "whsec_cWZwYXktbG9jYWwtZGV2LXdlYmhvb2stc2VjcmV0ISE=";

/// `WEBHOOK_URL` and `WEBHOOK_SECRET` from the environment, for the worker.
fn webhook() -> Option<(String, String)> {
    let url = std::env::var("WEBHOOK_URL").ok().filter(|v| !v.is_empty())?;
    let secret = std::env::var("WEBHOOK_SECRET").ok().filter(|v| !v.is_empty());
    Some((url, secret.unwrap_or_else(|| DEV_WEBHOOK_SECRET.to_owned())))
}

fn wait_for(url: &str, what: &str, stop: &AtomicBool) -> Result<(), String> {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(240) {
        if stop.load(Ordering::SeqCst) {
            return Err("stopped".into());
        }
        let ok = Command::new("curl")
            .args(["-fsS", "-o", "/dev/null", url])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    Err(format!("{what} did not answer at {url} within 4 minutes"))
}

/// Runs the local stack until interrupted.
pub fn run_dev(args: &[String]) -> Result<(), String> {
    let DevArgs { ports, allow_origins } = parse_args(args)?;
    let env_origins = std::env::var("ALLOWED_ORIGINS").ok();
    let origins = allowed_origins(ports.worker, env_origins.as_deref(), &allow_origins)?;
    let sandbox = std::env::var("QFPAY_ENV").is_ok_and(|e| e == "sandbox");
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst)).map_err(|e| format!("cannot handle Ctrl-C: {e}"))?;
    // A signal during the installs and builds (which take minutes on a fresh machine) stops
    // before anything is started, rather than starting the stack only to stop it.
    let stopped =
        || if stop.load(Ordering::SeqCst) { Err("stopped before the stack started".to_owned()) } else { Ok(()) };
    setup::dev()?;
    stopped()?;
    build::widget()?;
    stopped()?;
    build::worker()?;
    stopped()?;
    step("dev: building the qfpay command (its simulator is the gateway here)");
    let qfpay = cargo_build(&["-p", "qfpay-cli", "--features", "sim"], "qfpay", "bin")?
        .executable
        .ok_or("cargo reported no qfpay executable")?;
    write_dev_vars(&ports, &origins, sandbox)?;
    step("dev: applying the D1 migrations to the local database");
    run(wrangler(&["d1", "migrations", "apply", "DB", "--local"]).env("CI", "true"))?;
    let _sim = if sandbox {
        None
    } else {
        step(&format!("dev: starting the QFPay simulator on 127.0.0.1:{}", ports.sim));
        let mut cmd = Command::new(&qfpay);
        // QFPay sends notifications to the one URL registered for the appcode (by e-mail, in
        // real life): the simulator is told the worker's at start.
        let notify_url = format!("http://127.0.0.1:{}/v1/qfpay/notify", ports.worker);
        cmd.args(["sim", "--listen", &format!("127.0.0.1:{}", ports.sim), "--notify-url", &notify_url]);
        Some(spawn_group(&mut cmd)?)
    };
    step(&format!("dev: starting the worker (wrangler dev) on 127.0.0.1:{}", ports.worker));
    let port = ports.worker.to_string();
    let _worker = spawn_group(&mut wrangler(&[
        "dev",
        "--ip",
        "127.0.0.1",
        "--port",
        &port,
        "--show-interactive-dev-session=false",
    ]))?;
    wait_for(&format!("http://127.0.0.1:{}/healthz", ports.worker), "the worker", &stop)?;
    println!();
    println!("  Demo shop:          http://127.0.0.1:{}/", ports.worker);
    println!("  Strict-CSP page:    http://127.0.0.1:{}/csp.html", ports.worker);
    if !sandbox {
        println!("  Simulator wallets:  http://127.0.0.1:{}/sim/wallet/<token>  (ledger: /sim/orders)", ports.sim);
    }
    println!("  Merchant API key:   {DEV_MERCHANT_API_KEY} (or $MERCHANT_API_KEY)");
    println!("  Allowed origins:    {}", origins.join(" "));
    println!("                      (more: --allow-origin http://localhost:3000, or ALLOWED_ORIGINS=a,b)");
    match webhook() {
        Some((url, secret)) => {
            println!("  Webhooks:           {url}");
            println!("  Webhook secret:     {secret}");
        }
        None => println!(
            "  Webhooks:           off; WEBHOOK_URL=http://127.0.0.1:9000/hooks cargo xtask dev, or GET /v1/events"
        ),
    }
    println!("  QFPay's sandbox:    QFPAY_ENV=sandbox QFPAY_APPCODE=... QFPAY_KEY=... cargo xtask dev");
    println!("  Stop:               Ctrl-C");
    println!();
    while !stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(200));
    }
    step("dev: stopping the worker and the simulator");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn origins_come_from_the_worker_the_environment_and_the_flags() {
        let parsed = parse_args(&args(&["--allow-origin", "http://localhost:3000/", "--worker-port", "9000"])).unwrap();
        assert_eq!(parsed.ports.worker, 9000);
        let all = allowed_origins(9000, Some("https://shop.example, http://localhost:3000"), &parsed.allow_origins);
        assert_eq!(
            all.unwrap(),
            ["http://127.0.0.1:9000", "http://localhost:9000", "https://shop.example", "http://localhost:3000"]
        );
        assert_eq!(allowed_origins(8787, None, &[]).unwrap().len(), 2);
    }

    #[test]
    fn what_is_not_an_origin_is_refused_by_name() {
        assert!(parse_args(&args(&["--allow-origin", "localhost:3000"])).is_err());
        assert!(parse_args(&args(&["--allow-origin", "http://shop.example/path"])).is_err());
        assert!(parse_args(&args(&["--allow-origin"])).unwrap_err().contains("--allow-origin"));
        assert!(parse_args(&args(&["--allow"])).is_err());
        assert!(allowed_origins(8787, Some("shop.example"), &[]).unwrap_err().contains("ALLOWED_ORIGINS"));
    }
}
