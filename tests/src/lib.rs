//! The whole stack on loopback for tests: the QFPay simulator (in-process, on a port chosen at
//! run time), and the worker under `wrangler dev` (workerd) with local D1 and Durable Objects in
//! a fresh temporary folder. Everything started here is ended when the [`Stack`] is dropped,
//! even when a test fails: `wrangler dev` runs in its own process group, ended by id.

pub mod address;
pub mod browser;
pub mod figures;
pub mod program;
pub mod proxy;
pub mod receiver;
pub mod shop;
pub mod shopper;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use qfpay_sim::{Merchant, SimConfig};
use serde_json::Value;

/// The merchant API key the stack's worker is configured with (the worker takes none shorter
/// than 32 characters).
pub const MERCHANT_API_KEY: &str = "sk_test_e2e_merchant_key_0123456789abcdef";
/// The QFPay client key of the simulator's merchant (the secret that must never leak).
pub const CLIENT_KEY: &str = "e2e-client-key-NEVER-LEAK-7f3a9c";
/// Its appcode.
pub const APPCODE: &str = "E2EAPPCODE";

/// What to start.
#[derive(Debug, Clone)]
pub struct Options {
    /// Simulated seconds per real second.
    pub time_scale: f64,
    /// Faults for the simulator (its `--faults` syntax).
    pub faults: String,
    /// Origins allowed to embed the widget.
    pub allowed_origins: String,
    /// The worker's `QUERY_AFTER_SECONDS`.
    pub query_after_seconds: u64,
    /// A setting left out of the worker's configuration (to test what it says then).
    pub omit_setting: Option<&'static str>,
    /// Where the worker delivers webhooks (signed with [`receiver::WEBHOOK_SECRET`]).
    pub webhook_url: Option<String>,
    /// More worker settings, `NAME=value` each; one the stack sets anyway (`QFPAY_ENV`,
    /// `MERCHANT_API_KEY`, `DEMO_SHOP`, ...) is replaced, and `NAME=` leaves it unset.
    pub extra_settings: Vec<String>,
    /// The simulator refuses refunds 23:30-00:30 Hong Kong time on its own clock.
    pub sim_refund_blackout: bool,
    /// The simulator's clock at start (Unix seconds); now when `None`.
    pub sim_start_unix: Option<i64>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            time_scale: 1.0,
            faults: String::new(),
            allowed_origins: "https://shop.example".into(),
            query_after_seconds: 2,
            omit_setting: None,
            webhook_url: None,
            extra_settings: Vec::new(),
            sim_refund_blackout: false,
            sim_start_unix: None,
        }
    }
}

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ sits in the workspace").to_path_buf()
}

/// A free loopback port for a process that must be told its port before it starts (`wrangler
/// dev`, chromedriver, the examples' servers): found free, then released for it to bind.
///
/// It is drawn below the kernel's ephemeral range (Linux: 32768-60999), never from it: every
/// socket bound to port 0 (the simulators) and every outgoing connection takes its port from
/// that range, so a port picked there and released could be taken by one of them before the
/// process binds it. Tests in one process draw in turn from a random start, so they do not pick
/// the same port either.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    const FIRST: u32 = 20_000;
    const COUNT: u32 = 12_000;
    static DRAWN: AtomicU32 = AtomicU32::new(0);
    static START: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    let start = *START.get_or_init(|| {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        std::process::id().wrapping_mul(7_919).wrapping_add(nanos) % COUNT
    });
    for _ in 0..COUNT {
        // A stride coprime with COUNT visits every port of the range once.
        let port = FIRST + (start + DRAWN.fetch_add(1, Ordering::Relaxed).wrapping_mul(4_999)) % COUNT;
        if std::net::TcpListener::bind(("127.0.0.1", port as u16)).is_ok() {
            return port as u16;
        }
    }
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// `PATH` with the Node that `cargo xtask setup` chose first: xtask's own function, so both
/// agree on every platform.
pub fn path_with_node() -> String {
    #[allow(dead_code)]
    #[path = "../../crates/xtask/src/node.rs"]
    mod node;
    node::path_with_node(&root())
}

/// Chrome's and ChromeDriver's paths (`$CHROME`, `$CHROMEDRIVER`, else Debian's): xtask's own
/// definitions, so setup, `cargo xtask test` and these tests look in the same place.
#[allow(dead_code)]
#[path = "../../crates/xtask/src/chrome.rs"]
pub mod chrome;

/// `worker/wrangler.toml` without its `[build]` step, written beside it (git-ignored): the
/// bundle is built once by `cargo xtask test`, so starting a worker needs no rebuild. Written
/// once per test process: tests of one binary start stacks in parallel, and two writers of one
/// temporary file lose a rename.
fn no_build_config() -> PathBuf {
    static CONFIG: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    CONFIG.get_or_init(write_no_build_config).clone()
}

fn write_no_build_config() -> PathBuf {
    let worker = root().join("worker");
    let text = std::fs::read_to_string(worker.join("wrangler.toml")).expect("worker/wrangler.toml");
    let mut kept = Vec::new();
    let mut in_build = false;
    for line in text.lines() {
        if line.starts_with('[') {
            in_build = line.trim() == "[build]";
        }
        if !in_build {
            kept.push(line);
        }
    }
    let path = worker.join(".wrangler-nobuild.toml");
    let text = kept.join("\n") + "\n";
    // Written only when it changes: `wrangler dev` watches its config, and rewriting it would
    // reload every other running stack.
    if std::fs::read_to_string(&path).is_ok_and(|old| old == text) {
        return path;
    }
    let tmp = worker.join(format!(".wrangler-nobuild.{}.tmp", std::process::id()));
    std::fs::write(&tmp, text).expect("the no-build config");
    std::fs::rename(&tmp, &path).expect("the no-build config");
    path
}

/// The project's wrangler on the no-build config's top level (local) configuration: `--env=`
/// names it outright, as xtask's helper does, so a `CLOUDFLARE_ENV` in the shell cannot point
/// a test's worker or migrations at staging or production.
fn wrangler(args: &[&str]) -> Command {
    let mut cmd = Command::new(root().join("worker/node_modules/.bin/wrangler"));
    let config = no_build_config();
    cmd.args(args)
        .arg("--env=")
        .env_remove("CLOUDFLARE_ENV")
        .arg("--config")
        .arg(config)
        .current_dir(root().join("worker"))
        .env("PATH", path_with_node())
        .env("CI", "true")
        .env("WRANGLER_SEND_METRICS", "false")
        .env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
        // wrangler 4's local observability streams a trace of every invocation (each request,
        // each D1 and Durable Object call) to a collector worker in the same workerd processes:
        // under the abuser run's flood, 6.5 ms of workerd CPU a request with it and 4.0 without.
        // A deployed worker carries no such collector; with it, honest shoppers queued behind the
        // collector rather than behind the worker (`cargo xtask chaos --abuser`, RELIABILITY.md).
        .env("X_LOCAL_OBSERVABILITY", "false")
        .env("NO_COLOR", "1");
    cmd
}

/// The running stack.
pub struct Stack {
    /// The simulator's base URL.
    pub sim_url: String,
    /// The worker's base URL.
    pub worker_url: String,
    /// An HTTP client (no TLS; loopback only).
    pub http: reqwest::Client,
    dir: PathBuf,
    port: u16,
    wrangler: Option<Child>,
    sim_stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Stack {
    /// Starts the simulator and the worker; panics with the worker's log if it does not come up.
    pub async fn start(options: Options) -> Stack {
        let bundle = root().join("worker/build/index.js");
        assert!(bundle.exists(), "the worker is not built: run `cargo xtask test` (it builds worker/build/ first)");
        let dir = std::env::temp_dir().join(format!("qfpay-e2e-{}-{}", std::process::id(), free_port()));
        std::fs::create_dir_all(&dir).expect("a temporary folder");
        let port = free_port();
        let worker_url = format!("http://127.0.0.1:{port}");
        // QFPay sends notifications to the one URL registered for the appcode (its
        // documentation), not to a per-request notify_url: the worker's is registered here.
        let (sim_url, sim_stop) = start_sim(&options, &format!("{worker_url}/v1/qfpay/notify")).await;
        let env_file = dir.join("worker.env");
        // The demo shop's route is on, as under `cargo xtask dev` (the browser test uses it).
        let settings = format!(
                "QFPAY_ENV=local\nQFPAY_APPCODE={APPCODE}\nQFPAY_KEY={CLIENT_KEY}\nQFPAY_BASE_URL={sim_url}\nMERCHANT_API_KEY={MERCHANT_API_KEY}\n\
                 PUBLIC_URL={worker_url}\nALLOWED_ORIGINS={}\nQUERY_AFTER_SECONDS={}\nDEMO_SHOP=true\n",
                options.allowed_origins, options.query_after_seconds
            );
        let settings = match &options.webhook_url {
            Some(url) => format!("{settings}WEBHOOK_URL={url}\nWEBHOOK_SECRET={}\n", receiver::WEBHOOK_SECRET),
            None => settings,
        };
        let replaced: Vec<String> = options
            .extra_settings
            .iter()
            .filter_map(|line| line.split_once('=').map(|(name, _)| format!("{name}=")))
            .chain(options.omit_setting.map(|name| format!("{name}=")))
            .collect();
        let settings: String = settings
            .lines()
            .filter(|l| !replaced.iter().any(|r| l.starts_with(r.as_str())))
            .chain(options.extra_settings.iter().map(String::as_str))
            .map(|l| format!("{l}\n"))
            .collect();
        let kept: Vec<&str> = settings.lines().collect();
        std::fs::write(&env_file, kept.join("\n") + "\n").expect("the env file");
        let persist = dir.join("state");
        let persist = persist.to_str().expect("a UTF-8 path");
        let status = wrangler(&["d1", "migrations", "apply", "DB", "--local", "--persist-to", persist])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("wrangler runs");
        assert!(status.success(), "applying the D1 migrations failed");
        let child = spawn_worker(&dir, port);
        let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("a client");
        let stack = Stack { sim_url, worker_url, http, dir, port, wrangler: Some(child), sim_stop: Some(sim_stop) };
        stack.wait_ready().await;
        stack
    }

    /// Changes worker settings (`NAME=value` replaces or adds one, `NAME=` unsets it) and
    /// restarts the worker with them, on the same port and database: a redeploy with new
    /// settings.
    pub async fn reconfigure(&mut self, settings: &[&str]) {
        let env_file = self.dir.join("worker.env");
        let old = std::fs::read_to_string(&env_file).expect("the env file");
        let names: Vec<String> =
            settings.iter().filter_map(|l| l.split_once('=').map(|(name, _)| format!("{name}="))).collect();
        let kept = old.lines().filter(|l| !names.iter().any(|n| l.starts_with(n.as_str())));
        let text: String = kept.chain(settings.iter().copied()).map(|l| format!("{l}\n")).collect();
        std::fs::write(&env_file, text).expect("the env file");
        self.restart_worker().await;
    }

    /// The rows a read-only SQL statement finds in the worker's local D1 (for tests that must
    /// see what the worker stored, such as that no secret is among it).
    pub fn d1(&self, sql: &str) -> Vec<Value> {
        let persist = self.dir.join("state");
        let out = wrangler(&[
            "d1",
            "execute",
            "DB",
            "--local",
            "--persist-to",
            persist.to_str().expect("a UTF-8 path"),
            "--json",
            "--command",
            sql,
        ])
        .stderr(Stdio::null())
        .output()
        .expect("wrangler runs");
        let text = String::from_utf8_lossy(&out.stdout);
        let answer: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("wrangler d1 execute: {text}"));
        answer[0]["results"].as_array().cloned().unwrap_or_default()
    }

    /// Stops `wrangler dev` and starts it again on the same port and database (a deploy or a
    /// crash, as far as clients can tell).
    pub async fn restart_worker(&mut self) {
        if let Some(child) = self.wrangler.take() {
            stop_group(child);
        }
        self.wrangler = Some(spawn_worker(&self.dir, self.port));
        self.wait_ready().await;
    }

    async fn wait_ready(&self) {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(240) {
            // Any answer from the worker means it is up (a misconfigured one answers 503).
            if let Ok(resp) = self.http.get(format!("{}/healthz", self.worker_url)).send().await {
                if resp.status().is_success() || resp.status().as_u16() == 503 {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        panic!("wrangler dev did not become ready; its log:\n{}", self.worker_log());
    }

    /// Everything the worker printed so far (its one-line-per-request log included).
    pub fn worker_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("wrangler.log")).unwrap_or_default()
    }

    /// A merchant-API call with the merchant key.
    pub async fn merchant(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        idempotency_key: Option<&str>,
    ) -> (u16, Value, String) {
        let mut req = self
            .http
            .request(method.parse().expect("a method"), format!("{}{path}", self.worker_url))
            .bearer_auth(MERCHANT_API_KEY);
        if let Some(key) = idempotency_key {
            req = req.header("Idempotency-Key", key);
        }
        if let Some(b) = body {
            req = req.header("Content-Type", "application/json").body(b.to_string());
        }
        read(req.send().await.expect("the worker answers")).await
    }

    /// A merchant-API call with another key than the stack's (a rotation, a wrong key).
    pub async fn merchant_with(&self, key: &str, method: &str, path: &str) -> (u16, Value, String) {
        let req =
            self.http.request(method.parse().expect("a method"), format!("{}{path}", self.worker_url)).bearer_auth(key);
        read(req.send().await.expect("the worker answers")).await
    }

    /// A widget-API call with a session's client secret.
    pub async fn widget(&self, method: &str, path: &str, secret: &str, body: Option<Value>) -> (u16, Value, String) {
        let mut req = self
            .http
            .request(method.parse().expect("a method"), format!("{}{path}", self.worker_url))
            .bearer_auth(secret);
        if let Some(b) = body {
            req = req.header("Content-Type", "application/json").body(b.to_string());
        }
        read(req.send().await.expect("the worker answers")).await
    }

    /// A simulator control-API call.
    pub async fn sim(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http
            .request(method.parse().expect("a method"), format!("{}{path}", self.sim_url))
            .header("Accept", "application/json");
        if let Some(b) = body {
            req = req.header("Content-Type", "application/json").body(b.to_string());
        }
        let (status, value, _) = read(req.send().await.expect("the simulator answers")).await;
        (status, value)
    }

    /// Creates a session and returns (id, client_secret).
    pub async fn session(&self, body: Value) -> (String, String) {
        let (status, s, text) = self.merchant("POST", "/v1/sessions", Some(body), None).await;
        assert_eq!(status, 201, "session created: {text}");
        (s["id"].as_str().expect("id").to_owned(), s["client_secret"].as_str().expect("secret").to_owned())
    }

    /// Reads a session from the merchant API until `pred` holds or `timeout` passes; returns
    /// the last answer.
    pub async fn wait_session(&self, id: &str, timeout: Duration, pred: impl Fn(&Value) -> bool) -> Value {
        let started = Instant::now();
        loop {
            let (_, session, _) = self.merchant("GET", &format!("/v1/sessions/{id}"), None, None).await;
            if pred(&session) || started.elapsed() > timeout {
                return session;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Polls the status endpoint until `pred` holds or `timeout` passes; returns the last answer.
    pub async fn wait_status(&self, id: &str, secret: &str, timeout: Duration, pred: impl Fn(&Value) -> bool) -> Value {
        let started = Instant::now();
        loop {
            let (_, v, _) = self.widget("GET", &format!("/v1/checkout/{id}/status"), secret, None).await;
            if pred(&v) || started.elapsed() > timeout {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

/// Starts `wrangler dev` for the stack in `dir`, in its own process group, logging to a file.
fn spawn_worker(dir: &Path, port: u16) -> Child {
    let log = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("wrangler.log")).expect("a log file");
    let persist = dir.join("state");
    let env_file = dir.join("worker.env");
    let port_text = port.to_string();
    let inspector = free_port().to_string();
    let mut cmd = wrangler(&[
        "dev",
        "--ip",
        "127.0.0.1",
        "--port",
        &port_text,
        "--inspector-port",
        &inspector,
        "--persist-to",
        persist.to_str().expect("a UTF-8 path"),
        "--env-file",
        env_file.to_str().expect("a UTF-8 path"),
        "--show-interactive-dev-session=false",
        "--log-level",
        "log",
    ]);
    cmd.stdout(log.try_clone().expect("log handle")).stderr(log).stdin(Stdio::null());
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    cmd.spawn().expect("wrangler dev starts")
}

/// Ends a child's whole process group: TERM, a grace period, then KILL.
fn stop_group(mut child: Child) {
    let group = format!("-{}", child.id());
    let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
    let _ = child.wait();
}

async fn read(resp: reqwest::Response) -> (u16, Value, String) {
    let status = resp.status().as_u16();
    let headers: Vec<String> =
        resp.headers().iter().map(|(k, v)| format!("{k}: {}", v.to_str().unwrap_or(""))).collect();
    let text = resp.text().await.unwrap_or_default();
    let value = serde_json::from_str(&text).unwrap_or(Value::Null);
    (status, value, format!("{}\n{text}", headers.join("\n")))
}

async fn start_sim(options: &Options, notify_url: &str) -> (String, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let url = format!("http://{}", listener.local_addr().expect("an address"));
    let merchant = Merchant {
        appcode: APPCODE.into(),
        key: qfpay::ClientKey::new(CLIENT_KEY),
        mchid: None,
        name: "E2E Shop".into(),
    };
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    let mut config = SimConfig::new(vec![merchant], options.sim_start_unix.unwrap_or(now));
    config.switches.refund_blackout = options.sim_refund_blackout;
    config.switches.notify_url = Some(notify_url.to_owned());
    config.public_url = url.clone();
    config.time_scale = options.time_scale;
    config.faults = qfpay_sim::Faults::parse(&options.faults).expect("valid faults");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(qfpay_sim::serve(listener, config, async move {
        let _ = stopped.await;
    }));
    (url, stop)
}

impl Drop for Stack {
    fn drop(&mut self) {
        if let Some(stop) = self.sim_stop.take() {
            let _ = stop.send(());
        }
        if let Some(child) = self.wrangler.take() {
            stop_group(child);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn free_ports_are_distinct_and_outside_the_ephemeral_range() {
        let ports: Vec<u16> = (0..50).map(|_| super::free_port()).collect();
        let distinct: std::collections::BTreeSet<u16> = ports.iter().copied().collect();
        assert_eq!(distinct.len(), ports.len(), "{ports:?}");
        assert!(ports.iter().all(|p| (20_000..32_000).contains(p)), "{ports:?}");
    }
}
