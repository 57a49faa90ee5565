//! The widget as the npm package `@qfpay-edge/checkout`, as a merchant's developer meets it:
//! `cargo xtask pack` makes the tarball; a fresh folder installs it (with the pinned TypeScript,
//! esbuild and React types, from the registry as a user would); `tsc --noEmit` typechecks the
//! docs/widget.md's React and plain snippets (and refuses wrong ones); esbuild bundles the plain page's
//! script; and that bundle, served from a second loopback origin (the shop), mounts the widget
//! against the worker in headless Chromium with a quiet console. The snippets (docs/widget.md) are the
//! files in `packages/checkout/examples/`, quoted verbatim (checked here).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{header, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::Router;
use e2e::browser::Browser;
use e2e::{root, Options, Stack};
use serde_json::json;

const TYPESCRIPT: &str = "typescript@5.9.3";
const ESBUILD: &str = "esbuild@0.28.2";
const REACT_TYPES: &str = "@types/react@19.3.0";
const VITE: &str = "vite@8.4.1";
const W: &str = "document.querySelector('qfpay-checkout')?.shadowRoot";

fn examples() -> PathBuf {
    root().join("packages/checkout/examples")
}

fn example(name: &str) -> String {
    std::fs::read_to_string(examples().join(name)).unwrap_or_else(|e| panic!("examples/{name}: {e}"))
}

#[test]
fn the_readmes_quote_every_example_verbatim() {
    for readme in ["docs/widget.md", "packages/checkout/README.md"] {
        let text = std::fs::read_to_string(root().join(readme)).expect("the README");
        for name in ["Checkout.tsx", "page.html", "checkout.ts"] {
            let snippet = example(name);
            assert!(
                text.contains(snippet.trim_end()),
                "{readme} does not quote packages/checkout/examples/{name} verbatim"
            );
        }
    }
}

/// Runs a command in `dir` with Node on `PATH`; returns its output (success is the caller's call).
fn run_in(dir: &Path, program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("PATH", e2e::path_with_node())
        .output()
        .unwrap_or_else(|e| panic!("{program} runs: {e}"))
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn must(dir: &Path, program: &str, args: &[&str]) -> String {
    let out = run_in(dir, program, args);
    assert!(out.status.success(), "`{program} {}` failed:\n{}", args.join(" "), text(&out));
    text(&out)
}

/// `cargo xtask pack --no-build` (the widget in www/pkg was built by `cargo xtask test`, as the
/// worker's bundle was); returns the tarball its last line names.
fn pack() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = run_in(&root(), &cargo, &["xtask", "pack", "--no-build"]);
    assert!(out.status.success(), "cargo xtask pack failed:\n{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or_default().trim();
    let tarball = PathBuf::from(last);
    assert!(
        tarball.is_absolute() && last.ends_with(".tgz") && tarball.is_file(),
        "the last line is not a tarball: {stdout}"
    );
    assert!(tarball.starts_with(root().join("target/pack")), "{last}");
    tarball
}

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().expect("a folder")).expect("a folder");
    std::fs::write(path, text).expect("a file");
}

fn tsconfig(files: &[&str], types: Option<&[&str]>) -> String {
    let mut options = json!({
        "strict": true, "noEmit": true, "target": "es2022", "module": "esnext",
        "moduleResolution": "bundler", "lib": ["es2022", "dom", "dom.iterable"], "jsx": "react-jsx",
    });
    if let Some(types) = types {
        options["types"] = json!(types);
    }
    json!({"compilerOptions": options, "files": files}).to_string()
}

/// `tsc -p config`, which must fail naming every one of `needles` (a type check that cannot
/// fail proves nothing).
fn tsc_refuses(dir: &Path, config: &str, needles: &[&str]) {
    let out = run_in(dir, "node_modules/.bin/tsc", &["-p", config]);
    let said = text(&out);
    assert!(!out.status.success(), "tsc accepted {config}:\n{said}");
    for needle in needles {
        assert!(said.contains(needle), "tsc's errors for {config} do not name {needle}:\n{said}");
    }
}

/// Type-checks in the fresh folder: the plain snippet before React's types are installed,
/// then the React snippet; each beside a wrong consumer that must be refused.
fn typecheck(dir: &Path) {
    std::fs::copy(examples().join("checkout.ts"), dir.join("checkout.ts")).expect("copy");
    std::fs::copy(examples().join("Checkout.tsx"), dir.join("Checkout.tsx")).expect("copy");
    // The element map gives querySelector the element's own type (only it has `texts`).
    write(
        dir,
        "typed.ts",
        "import { mount, type CheckoutHandle, type CheckoutTextKey } from \"@qfpay-edge/checkout\";\n\
         export const texts: string | object | undefined = document.querySelector(\"qfpay-checkout\")?.texts;\n\
         export const handle: Promise<CheckoutHandle> = mount(document.body, { endpoint: \"https://pay.example.com\", session: \"cs_1\", secret: \"s\", wasmUrl: \"/w.wasm\" });\n\
         export const key: CheckoutTextKey | undefined = undefined;\n\
         document.addEventListener(\"qfpay:error\", (e) => console.log(e.detail.code, e.detail.message, e.detail.session));\n\
         window.addEventListener(\"qfpay:paid\", (e) => console.log(e.detail.session));\n",
    );
    write(
        dir,
        "bad.ts",
        "import { mount } from \"@qfpay-edge/checkout\";\n\
         mount(document.body, { endpoint: \"https://pay.example.com\", session: \"cs_1\" });\n\
         document.querySelector(\"qfpay-checkout\")?.addEventListener(\"qfpay:paid\", (e) => e.detail.sesion);\n\
         document.addEventListener(\"qfpay:error\", (e) => e.detail.cod);\n",
    );
    write(dir, "tsconfig.plain.json", &tsconfig(&["checkout.ts", "typed.ts"], Some(&[])));
    write(dir, "tsconfig.bad.json", &tsconfig(&["bad.ts"], Some(&[])));
    assert!(!dir.join("node_modules/@types/react").exists(), "the plain check must run without React's types");
    must(dir, "node_modules/.bin/tsc", &["-p", "tsconfig.plain.json"]);
    tsc_refuses(dir, "tsconfig.bad.json", &["bad.ts", "'secret'", "'sesion'", "'cod'"]);

    must(dir, "npm", &["install", "--no-audit", "--no-fund", "--prefer-offline", REACT_TYPES]);
    write(
        dir,
        "bad.tsx",
        "import \"@qfpay-edge/checkout/react\";\n\
         export const a = <qfpay-checkout sesion=\"cs_1\" session=\"cs_1\" secret=\"s\" endpoint=\"https://pay.example.com\" />;\n\
         export const b = <qfpay-checkout session=\"cs_1\" endpoint=\"https://pay.example.com\" />;\n",
    );
    write(dir, "tsconfig.react.json", &tsconfig(&["Checkout.tsx"], None));
    write(dir, "tsconfig.badreact.json", &tsconfig(&["bad.tsx"], None));
    must(dir, "node_modules/.bin/tsc", &["-p", "tsconfig.react.json"]);
    tsc_refuses(dir, "tsconfig.badreact.json", &["bad.tsx", "'sesion'", "'secret'"]);
}

/// Server-side rendering imports the page's modules in Node, where there is no DOM: both entries
/// must import without defining anything, and `mount` must refuse with an error that says why.
fn imports_without_a_dom(dir: &Path) {
    let script = r#"
        for (const entry of ["@qfpay-edge/checkout", "@qfpay-edge/checkout/react"]) {
          const module = await import(entry);
          if (typeof module.mount !== "function") throw new Error(entry + ": no mount export");
          const refused = await module.mount({}, {}).then(() => null, (error) => error);
          if (!/server-side rendering/.test(refused?.message ?? "")) throw new Error(entry + ": mount without a DOM: " + refused);
        }
        console.log("imported without a DOM");
    "#;
    let said = must(dir, "node", &["--input-type=module", "-e", script]);
    assert!(said.contains("imported without a DOM"), "{said}");
}

/// A shop's static files from `dir` on a loopback listener; records the paths asked for.
async fn serve(listener: tokio::net::TcpListener, dir: PathBuf) -> Arc<Mutex<Vec<String>>> {
    let asked = Arc::new(Mutex::new(Vec::new()));
    let log = asked.clone();
    let app = Router::new().fallback(move |uri: Uri| {
        let (dir, log) = (dir.clone(), log.clone());
        async move {
            let path = uri.path().to_owned();
            log.lock().expect("the log").push(path.clone());
            let name = if path == "/" { "index.html" } else { path.trim_start_matches('/') };
            // Loopback and a test's own folder, but a path out of it is still refused.
            if name.split('/').any(|part| part == ".." || part.is_empty()) {
                return StatusCode::NOT_FOUND.into_response();
            }
            let kind = match name.rsplit('.').next() {
                Some("html") => "text/html; charset=utf-8",
                Some("js") => "text/javascript; charset=utf-8",
                Some("wasm") => "application/wasm",
                _ => "application/octet-stream",
            };
            match std::fs::read(dir.join(name)) {
                Ok(bytes) => ([(header::CONTENT_TYPE, kind)], bytes).into_response(),
                Err(_) => StatusCode::NOT_FOUND.into_response(),
            }
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await.expect("the shop serves") });
    asked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_package_typechecks_bundles_and_mounts_the_widget_on_a_shop_origin() {
    let tarball = pack();
    let listing = must(&root(), "tar", &["tzf", tarball.to_str().expect("a UTF-8 path")]);
    for file in [
        "package/package.json",
        "package/README.md",
        "package/qfpay-checkout.js",
        "package/qfpay-checkout.d.ts",
        "package/qfpay-checkout-texts.d.ts",
        "package/react.js",
        "package/react.d.ts",
        "package/pkg/qfpay_checkout.js",
        "package/pkg/qfpay_checkout_bg.wasm",
    ] {
        assert!(listing.lines().any(|l| l == file), "the tarball lacks {file}:\n{listing}");
    }
    assert!(!listing.contains("examples/"), "examples are not part of the package:\n{listing}");

    // A fresh folder, resolving the package from its own node_modules as a user's would.
    let dir = std::env::temp_dir().join(format!("qfpay-e2e-package-{}-{}", std::process::id(), e2e::free_port()));
    std::fs::create_dir_all(&dir).expect("a folder");
    write(&dir, "package.json", "{\"name\": \"shop\", \"private\": true, \"type\": \"module\"}\n");
    let tarball_arg = tarball.to_str().expect("a UTF-8 path");
    must(&dir, "npm", &["install", "--no-audit", "--no-fund", "--prefer-offline", tarball_arg, TYPESCRIPT, ESBUILD]);
    let installed: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("node_modules/@qfpay-edge/checkout/package.json")).expect("installed"),
    )
    .expect("JSON");
    assert_ne!(installed["version"], "0.0.0", "the staged version is the widget crate's");
    imports_without_a_dom(&dir);
    typecheck(&dir);

    // The plain page: its script bundled by esbuild, the wasm copied beside it (the documented step).
    let public = dir.join("public");
    must(
        &dir,
        "node_modules/.bin/esbuild",
        &["checkout.ts", "--bundle", "--format=esm", "--outfile=public/checkout.js", "--log-level=warning"],
    );
    std::fs::copy(
        dir.join("node_modules/@qfpay-edge/checkout/pkg/qfpay_checkout_bg.wasm"),
        public.join("qfpay_checkout_bg.wasm"),
    )
    .expect("copy the wasm");

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let shop = format!("http://{}", listener.local_addr().expect("an address"));
    let stack = Stack::start(Options { allowed_origins: shop.clone(), ..Options::default() }).await;
    let (id, secret) =
        stack.session(json!({"amount": 3800, "currency": "HKD", "goods_name": "Tea", "reference": "package"})).await;
    let snippet = example("page.html")
        .replace("https://pay.example.com", &stack.worker_url)
        .replace("\"cs_secret_...\"", &format!("\"{secret}\""))
        .replace("\"cs_...\"", &format!("\"{id}\""));
    assert!(snippet.contains(&id) && snippet.contains(&secret), "the snippet's placeholders changed:\n{snippet}");
    write(
        &public,
        "index.html",
        &format!("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Shop</title></head>\n<body>\n{snippet}</body></html>\n"),
    );
    let asked = serve(listener, public.clone()).await;

    let b = Browser::start().await;
    b.client.goto(&format!("{shop}/")).await.expect("the shop loads");
    let wallets = b
        .wait_js(
            &format!("return {W}?.querySelectorAll('[part=method]').length"),
            "the wallets",
            Duration::from_secs(30),
        )
        .await;
    assert!(wallets.as_u64().unwrap_or(0) >= 2, "wallets: {wallets}");
    b.assert_quiet_console("after mounting the bundled widget").await;
    let asked_for = asked.lock().expect("the log").clone();
    assert!(asked_for.iter().any(|p| p == "/qfpay_checkout_bg.wasm"), "the wasm came from the shop: {asked_for:?}");
    assert!(
        !asked_for.iter().any(|p| p.starts_with("/v1/")),
        "the widget asked the shop, not the worker: {asked_for:?}"
    );

    // Bad input is a console error naming the attribute, never a crash: no endpoint (a bundled
    // script cannot default it), no secret, and `texts` that is not JSON (the widget still mounts).
    let made = b
        .js(&format!(
            "for (const attrs of [{{session: '{id}', secret: '{secret}'}}, {{session: '{id}', endpoint: '{0}'}}, \
             {{session: '{id}', secret: '{secret}', endpoint: '{0}', texts: '{{not json'}}]) {{ \
               const el = document.createElement('qfpay-checkout'); \
               for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v); \
               el.className = 'extra'; document.body.append(el); }} return true",
            stack.worker_url
        ))
        .await;
    assert_eq!(made, json!(true));
    b.wait_js(
        "return document.querySelectorAll('qfpay-checkout.extra')[2]?.shadowRoot?.querySelectorAll('[part=method]').length",
        "the widget with unreadable texts, mounted anyway",
        Duration::from_secs(30),
    )
    .await;
    let errors: Vec<String> =
        b.console().await.into_iter().filter(|l| l.level == "SEVERE").map(|l| l.message).collect();
    for attribute in ["`endpoint`", "`secret`", "`texts`"] {
        assert!(errors.iter().any(|m| m.contains(attribute)), "no console error names {attribute}: {errors:#?}");
    }
    assert_eq!(errors.len(), 3, "one error per bad element, nothing else: {errors:#?}");
    let empty = b
        .js("return [...document.querySelectorAll('qfpay-checkout.extra')].slice(0, 2).every((e) => !e.shadowRoot)")
        .await;
    assert_eq!(empty, json!(true), "an element missing an attribute shows nothing");

    the_element_keeps_its_widget(&b, &stack).await;
    vite_builds_a_page_that_mounts(&b, &stack, &dir, &shop, &asked).await;
    drop(b);
    drop(stack);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The page's script as a Vite user writes it: the documented `?url` import of the wasm for one
/// element, and none for another (a production build emits the wasm the loader finds beside
/// itself by `import.meta.url`).
const VITE_MAIN: &str = r#"import "@qfpay-edge/checkout";
import wasm from "@qfpay-edge/checkout/qfpay_checkout_bg.wasm?url";

for (const [id, url] of [["by-url", wasm], ["by-default", ""]]) {
  const el = document.createElement("qfpay-checkout");
  el.id = id;
  el.setAttribute("endpoint", "WORKER");
  el.setAttribute("session", "SESSION");
  el.setAttribute("secret", "SECRET");
  if (url) el.setAttribute("wasm", url);
  document.body.append(el);
}
"#;

/// The package through Vite's production build, served under the shop's origin at `/vite/`:
/// both elements mount, with a quiet console.
async fn vite_builds_a_page_that_mounts(
    b: &Browser,
    stack: &Stack,
    dir: &Path,
    shop: &str,
    asked: &Mutex<Vec<String>>,
) {
    must(dir, "npm", &["install", "--no-audit", "--no-fund", "--prefer-offline", VITE]);
    let (id, secret) = stack
        .session(json!({"amount": 3800, "currency": "HKD", "goods_name": "Tea", "reference": "package-vite"}))
        .await;
    let app = dir.join("vite-app");
    write(&app, "index.html", "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Vite shop</title>\n<script type=\"module\" src=\"./main.js\"></script></head><body></body></html>\n");
    let main = VITE_MAIN.replace("WORKER", &stack.worker_url).replace("SESSION", &id).replace("SECRET", &secret);
    write(&app, "main.js", &main);
    let out = dir.join("public/vite");
    let out_arg = out.to_str().expect("a UTF-8 path");
    must(
        dir,
        "node_modules/.bin/vite",
        &["build", "vite-app", "--base", "/vite/", "--outDir", out_arg, "--emptyOutDir", "--logLevel", "warn"],
    );
    b.client.goto(&format!("{shop}/vite/index.html")).await.expect("the Vite page loads");
    for id in ["by-url", "by-default"] {
        let wallets = b
            .wait_js(
                &format!(
                    "return document.getElementById('{id}')?.shadowRoot?.querySelectorAll('[part=method]').length"
                ),
                &format!("the wallets of the Vite page's {id} element"),
                LONG,
            )
            .await;
        assert!(wallets.as_u64().unwrap_or(0) >= 2, "{id}: {wallets}");
    }
    b.assert_quiet_console("on the page Vite built").await;
    let asked_for = asked.lock().expect("the log").clone();
    assert!(
        asked_for.iter().any(|p| p.starts_with("/vite/") && p.ends_with(".wasm")),
        "the wasm Vite emitted was served: {asked_for:?}"
    );
}

/// The script behind `L`: the loader test's element's shadow root.
const L: &str = "document.getElementById('loader').shadowRoot";

/// The `<qfpay-checkout>` element in the bundled page, against the real worker: a `texts`
/// attribute and the `texts` property are applied; an attribute set to the value it has, or an
/// equal `texts` object (React 19 sets one on each render), does not restart the widget; a move
/// keeps the QR code on screen; a real change restarts it onto the same QR code; and after the
/// payment, a restart does not tell the page `qfpay:paid` again.
async fn the_element_keeps_its_widget(b: &Browser, stack: &Stack) {
    let (id, secret) = stack
        .session(json!({"amount": 4200, "currency": "HKD", "goods_name": "Tea", "reference": "package-loader"}))
        .await;
    let script = r#"
        document.querySelectorAll('qfpay-checkout').forEach((e) => e.remove());
        window.__events = { ready: 0, paid: 0 };
        const el = document.createElement('qfpay-checkout');
        el.id = 'loader';
        const attrs = { endpoint: 'WORKER', session: 'SESSION', secret: 'SECRET', locale: 'en',
          texts: JSON.stringify({ choose_method: 'Pick a wallet' }) };
        for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
        el.addEventListener('qfpay:ready', () => window.__events.ready++);
        el.addEventListener('qfpay:paid', () => window.__events.paid++);
        document.body.append(el);
        return true"#
        .replace("WORKER", &stack.worker_url)
        .replace("SESSION", &id)
        .replace("SECRET", &secret);
    assert_eq!(b.js(&script).await, json!(true));
    let heading = |words: &str| format!("return {L}?.querySelector('h2')?.textContent === '{words}' || null");
    b.wait_js(&heading("Pick a wallet"), "the `texts` attribute's heading", Duration::from_secs(30)).await;
    b.js("document.getElementById('loader').texts = { choose_method: 'Choose, by property' }; return true").await;
    b.wait_js(&heading("Choose, by property"), "the `texts` property's heading", Duration::from_secs(30)).await;

    // The same values again: nothing restarts (the container and the ready count stay).
    let unchanged = b
        .js(&format!(
            "const el = document.getElementById('loader'); window.__container = {L}.querySelector('.qf'); \
             window.__ready = window.__events.ready; \
             for (const name of ['locale', 'session', 'endpoint', 'texts']) el.setAttribute(name, el.getAttribute(name) ?? ''); \
             el.texts = {{ choose_method: 'Choose, by property' }}; \
             return new Promise((done) => setTimeout(() => done({L}.querySelector('.qf') === window.__container \
               && window.__events.ready === window.__ready), 1000))"
        ))
        .await;
    assert_eq!(unchanged, json!(true), "an unchanged value restarted the widget");

    // A QR code, then a move to another parent: the same QR code stays, nothing restarts.
    b.js(&format!("{L}.querySelector('[part=method]').click(); return true")).await;
    let qrcode = b
        .wait_js(&format!("return {L}?.querySelector('svg[data-qrcode]')?.getAttribute('data-qrcode')"), "the QR", LONG)
        .await;
    let qrcode = qrcode.as_str().expect("the QR code's text").to_owned();
    let moved = b
        .js(&format!(
            "window.__svg = {L}.querySelector('svg[data-qrcode]'); const box = document.createElement('div'); \
             document.body.append(box); box.append(document.getElementById('loader')); \
             return new Promise((done) => setTimeout(() => done({L}.querySelector('svg[data-qrcode]') === window.__svg), 1000))"
        ))
        .await;
    assert_eq!(moved, json!(true), "a move kept the QR code on screen");

    // A real change restarts the widget: back on the same QR code, not the wallet list.
    b.js(&format!("window.__svg = {L}.querySelector('svg'); document.getElementById('loader').setAttribute('locale', 'zh-HK'); return true")).await;
    let resumed = b
        .wait_js(
            &format!(
                "const svg = {L}?.querySelector('svg[data-qrcode]'); \
                 return svg && svg !== window.__svg ? svg.getAttribute('data-qrcode') : null"
            ),
            "the QR code after a restart",
            LONG,
        )
        .await;
    assert_eq!(resumed, json!(qrcode), "the restart resumed the open QR code");
    let list = b.js(&format!("return {L}.querySelectorAll('[part=method]').length")).await;
    assert_eq!(list, json!(0), "not the wallet list");

    // Paid, then restarted: the page hears `qfpay:paid` once.
    scan(b, &qrcode).await;
    b.wait_js("return window.__events.paid === 1 || null", "qfpay:paid", LONG).await;
    b.js(&format!("window.__container = {L}.querySelector('.qf'); document.getElementById('loader').setAttribute('locale', 'en'); return true")).await;
    b.wait_js(
        &format!("return {L}.querySelector('.qf') !== window.__container && {L}.querySelector('[data-outcome=paid]') ? true : null"),
        "the paid outcome after a restart",
        LONG,
    )
    .await;
    let paid = b.js("return new Promise((done) => setTimeout(() => done(window.__events.paid), 1500))").await;
    assert_eq!(paid, json!(1), "qfpay:paid once per element and session");
    b.assert_quiet_console("after the loader's restarts and move").await;
}

const LONG: Duration = Duration::from_secs(30);

/// "Scans" the QR code: opens its URL (the simulator's wallet page) in a second window and pays.
async fn scan(b: &Browser, qrcode: &str) {
    let main = b.client.window().await.expect("a window");
    let second = b.client.new_window(false).await.expect("a second window");
    b.client.switch_to_window(second.handle).await.expect("switch");
    b.client.goto(qrcode).await.expect("the wallet page loads");
    b.wait_js("return document.getElementById('pay')", "the wallet's pay button", LONG).await;
    b.js("document.getElementById('pay').click(); return true").await;
    b.wait_js("return document.getElementById('result')", "the wallet's result", LONG).await;
    b.client.close_window().await.expect("close");
    b.client.switch_to_window(main).await.expect("switch back");
}
