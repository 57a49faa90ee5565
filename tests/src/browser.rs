//! Headless Chromium driven over WebDriver: chromedriver started on a free port in its own
//! process group, ended by id when the [`Browser`] is dropped.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};
use serde_json::{json, Value};

use crate::free_port;

/// A browser session and the chromedriver behind it.
pub struct Browser {
    /// The WebDriver client.
    pub client: Client,
    driver: Child,
    profile: std::path::PathBuf,
    port: u16,
}

/// What the browser pretends to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    /// A desktop window, 1100 x 900, with a mouse.
    Desktop,
    /// A phone, 390 px wide, with a touch screen (a coarse pointer).
    Phone,
}

/// One line of the page's console, as Chromium logged it.
#[derive(Debug, Clone)]
pub struct ConsoleLine {
    /// `SEVERE`, `WARNING`, `INFO`, ...
    pub level: String,
    /// `console-api`, `javascript`, `network`, ...
    pub source: String,
    /// The text.
    pub message: String,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium with a fresh profile, as a desktop.
    pub async fn start() -> Browser {
        Browser::start_as(Device::Desktop).await
    }

    /// Starts chromedriver and a headless Chromium with a fresh profile, as `device`. The page's
    /// console is logged, for [`Browser::console`].
    pub async fn start_as(device: Device) -> Browser {
        let port = free_port();
        let mut cmd = Command::new(crate::chrome::chromedriver());
        cmd.arg(format!("--port={port}")).stdout(Stdio::null()).stderr(Stdio::null()).stdin(Stdio::null());
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let driver = cmd.spawn().expect("chromedriver starts (cargo xtask setup installs it)");
        let profile = std::env::temp_dir().join(format!("qfpay-e2e-chrome-{}-{port}", std::process::id()));
        let mut options = json!({
            "binary": crate::chrome::chrome(),
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                     "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--window-size=1100,900", format!("--user-data-dir={}", profile.display())],
        });
        if device == Device::Phone {
            options["mobileEmulation"] = json!({
                "deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 3.0, "touch": true, "mobile": true},
                "userAgent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Mobile Safari/537.36",
            });
        }
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": options,
            "goog:loggingPrefs": {"browser": "ALL"},
        });
        let Value::Object(caps) = caps else { unreachable!("an object literal") };
        let started = Instant::now();
        loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(caps.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(client) => return Browser { client, driver, profile, port },
                Err(e) if started.elapsed() > Duration::from_secs(30) => panic!("no WebDriver session: {e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }

    /// Runs a script in the page and returns its value.
    pub async fn js(&self, script: &str) -> Value {
        self.client.execute(script, vec![]).await.unwrap_or(Value::Null)
    }

    /// Waits until `script` returns a truthy value; returns it, or panics naming `what`.
    pub async fn wait_js(&self, script: &str, what: &str, timeout: Duration) -> Value {
        let started = Instant::now();
        loop {
            let v = self.js(script).await;
            let truthy = !matches!(v, Value::Null | Value::Bool(false)) && v != json!("") && v != json!(0);
            if truthy {
                return v;
            }
            if started.elapsed() > timeout {
                let html = self.js("return document.documentElement.outerHTML + '\\n--- widget ---\\n' + (document.querySelector('qfpay-checkout')?.shadowRoot?.innerHTML ?? '')").await;
                panic!("timed out waiting for {what}; page:\n{}", html.as_str().unwrap_or(""));
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    /// The page's console lines logged since the last call (chromedriver's log endpoint).
    /// Panics when the log cannot be read: a console check must never pass by not looking.
    pub async fn console(&self) -> Vec<ConsoleLine> {
        let session = self.client.session_id().await.expect("a WebDriver session").expect("a session id");
        let url = format!("http://127.0.0.1:{}/session/{session}/se/log", self.port);
        let resp = reqwest::Client::new().post(url).json(&json!({"type": "browser"})).send().await;
        let value: Value = resp.expect("chromedriver answers").json().await.expect("chromedriver's log as JSON");
        let lines = value["value"].as_array().unwrap_or_else(|| panic!("no console log in {value}"));
        let text = |e: &Value, k: &str| e[k].as_str().unwrap_or_default().to_owned();
        lines
            .iter()
            .map(|e| ConsoleLine { level: text(e, "level"), source: text(e, "source"), message: text(e, "message") })
            .collect()
    }

    /// Panics when the page logged an error or a warning from a script (the widget, the
    /// loader, wasm): the console must stay quiet. Network lines (a missing favicon) are not
    /// the widget's and are left out.
    pub async fn assert_quiet_console(&self, when: &str) {
        let loud: Vec<ConsoleLine> = self
            .console()
            .await
            .into_iter()
            .filter(|l| matches!(l.level.as_str(), "SEVERE" | "WARNING") && l.source != "network")
            .collect();
        assert!(loud.is_empty(), "the console is not quiet {when}: {loud:#?}");
    }

    /// Runs a Chrome DevTools Protocol command (chromedriver's `goog/cdp/execute`), such as
    /// `Network.emulateNetworkConditions`; returns its result. Panics when it fails: a figure
    /// measured without the conditions asked for must not be reported as if it had them.
    pub async fn cdp(&self, cmd: &str, params: Value) -> Value {
        let session = self.client.session_id().await.expect("a WebDriver session").expect("a session id");
        let url = format!("http://127.0.0.1:{}/session/{session}/goog/cdp/execute", self.port);
        let resp = reqwest::Client::new().post(url).json(&json!({"cmd": cmd, "params": params})).send().await;
        let value: Value = resp.expect("chromedriver answers").json().await.expect("a JSON answer");
        assert!(value["value"].get("error").is_none(), "{cmd} failed: {value}");
        value["value"].clone()
    }

    /// Saves a PNG screenshot.
    pub async fn screenshot(&self, path: &std::path::Path) {
        if let Ok(png) = self.client.screenshot().await {
            if let Some(dir) = path.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            let _ = std::fs::write(path, png);
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        std::thread::sleep(Duration::from_millis(300));
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
