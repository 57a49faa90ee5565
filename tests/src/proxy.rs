//! A reverse proxy on loopback that cuts long requests, as some corporate proxies and load
//! balancers do: every request is passed to the worker, and one whose answer takes longer than
//! `cut_after` is answered `504` instead (and counted), so the widget's long wait for a status
//! change fails and its fallback (polling) is what the test sees working.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, StatusCode};
use axum::response::Response;
use tokio::net::TcpListener;

/// A running proxy; stopped when dropped.
pub struct CuttingProxy {
    /// Its base URL (`http://127.0.0.1:<port>`).
    pub url: String,
    cut: Arc<AtomicU64>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

#[derive(Clone)]
struct Shared {
    upstream: String,
    cut_after: Duration,
    cut: Arc<AtomicU64>,
    http: reqwest::Client,
}

/// Headers that belong to one connection, not to the request or answer passed on.
fn hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection" | "keep-alive" | "transfer-encoding" | "content-length" | "host" | "accept-encoding"
    )
}

impl CuttingProxy {
    /// Binds a port chosen now (so a stack can be started with its origin) without serving yet.
    pub async fn bind() -> (TcpListener, String) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
        let url = format!("http://{}", listener.local_addr().expect("an address"));
        (listener, url)
    }

    /// Serves on `listener`, passing requests to `upstream` and cutting those longer than
    /// `cut_after`.
    pub fn serve(listener: TcpListener, upstream: &str, cut_after: Duration) -> CuttingProxy {
        let url = format!("http://{}", listener.local_addr().expect("an address"));
        let cut = Arc::new(AtomicU64::new(0));
        let shared = Shared {
            upstream: upstream.trim_end_matches('/').to_owned(),
            cut_after,
            cut: cut.clone(),
            http: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("a client"),
        };
        let app = axum::Router::new().fallback(pass).with_state(shared);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        CuttingProxy { url, cut, stop: Some(stop) }
    }

    /// How many requests it has cut so far.
    pub fn cut(&self) -> u64 {
        self.cut.load(Ordering::SeqCst)
    }
}

impl Drop for CuttingProxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn pass(State(shared): State<Shared>, req: Request) -> Response {
    let path = req.uri().path_and_query().map_or("/", |p| p.as_str()).to_owned();
    let method = reqwest::Method::from_bytes(req.method().as_str().as_bytes()).unwrap_or(reqwest::Method::GET);
    let mut headers = reqwest::header::HeaderMap::new();
    for (name, value) in req.headers().iter().filter(|(n, _)| !hop_by_hop(n)) {
        if let (Ok(n), Ok(v)) = (
            reqwest::header::HeaderName::from_bytes(name.as_str().as_bytes()),
            reqwest::header::HeaderValue::from_bytes(value.as_bytes()),
        ) {
            headers.append(n, v);
        }
    }
    let body = axum::body::to_bytes(req.into_body(), 1 << 20).await.unwrap_or_default();
    let forward = async {
        let answer = shared
            .http
            .request(method, format!("{}{path}", shared.upstream))
            .headers(headers)
            .body(body)
            .send()
            .await?;
        let status = answer.status().as_u16();
        let headers = answer.headers().clone();
        let bytes = answer.bytes().await?;
        Ok::<_, reqwest::Error>((status, headers, bytes))
    };
    let (status, headers, bytes) = match tokio::time::timeout(shared.cut_after, forward).await {
        Ok(Ok(answer)) => answer,
        Ok(Err(_)) => return plain(StatusCode::BAD_GATEWAY, "the worker did not answer"),
        Err(_) => {
            shared.cut.fetch_add(1, Ordering::SeqCst);
            return plain(StatusCode::GATEWAY_TIMEOUT, "the proxy cut a long request");
        }
    };
    let mut out = Response::builder().status(status);
    for (name, value) in headers.iter() {
        if !matches!(name.as_str(), "connection" | "keep-alive" | "transfer-encoding" | "content-length") {
            out = out.header(name.as_str(), value.as_bytes());
        }
    }
    out.body(Body::from(bytes)).unwrap_or_else(|_| plain(StatusCode::BAD_GATEWAY, "an unreadable answer"))
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    let mut response = Response::new(Body::from(text));
    *response.status_mut() = status;
    response
}
