//! `GET /openapi.json`: the OpenAPI 3.1 description of this API, the committed
//! `docs/openapi.json` that `checkout_api::openapi` generates (a test fails when they differ).
//! Compiled in, so it always describes the worker that serves it. Public and cacheable: it
//! holds no secret, and any origin may read it (API explorers, client generators).

use worker::Response;

use crate::app::{internal, Answer};

/// The document, as committed.
const DOCUMENT: &str = include_str!("../../docs/openapi.json");

/// The answer.
pub fn serve() -> Answer {
    let mut resp = Response::ok(DOCUMENT).map_err(internal)?;
    let headers = resp.headers_mut();
    for (name, value) in [
        ("Content-Type", "application/json; charset=utf-8"),
        ("Cache-Control", "public, max-age=300"),
        ("Access-Control-Allow-Origin", "*"),
    ] {
        headers.set(name, value).map_err(internal)?;
    }
    Ok(resp)
}
