//! `docs/openapi.json` is the document `checkout_api::openapi` builds from the contract's
//! types, byte for byte (the worker serves that file). After changing a type or an endpoint:
//! `UPDATE_OPENAPI=1 cargo test -p checkout-api --features schema --test openapi`.
//! Also checks what the document promises beyond its shape: every error code is documented on
//! some endpoint with its own status, every event type is a webhook, the list's parameters are
//! the ones the worker reads.

use std::path::{Path, PathBuf};

use checkout_api::events::EventType;
use checkout_api::listing::SESSION_PARAMETERS;
use checkout_api::openapi::{document, document_text};
use checkout_api::ErrorCode;
use serde_json::Value;

fn committed_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json")
}

#[test]
fn the_committed_document_is_the_generated_one() {
    let fresh = document_text();
    let path = committed_path();
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &fresh).expect("docs/openapi.json is writable");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != fresh {
        let line = committed.lines().zip(fresh.lines()).position(|(a, b)| a != b).map_or(0, |i| i + 1);
        panic!(
            "docs/openapi.json differs from what checkout-api's types generate (first at line {line}).\n\
             Update it with: UPDATE_OPENAPI=1 cargo test -p checkout-api --features schema --test openapi"
        );
    }
}

fn operations(doc: &Value) -> Vec<(&str, &Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (_method, op) in item.as_object().expect("a path item") {
            out.push((path.as_str(), op));
        }
    }
    out
}

#[test]
fn every_error_code_is_answered_somewhere_under_its_own_status() {
    let doc = document();
    for e in ErrorCode::ALL {
        let somewhere = operations(&doc).iter().any(|(_, op)| {
            let answer = &op["responses"][e.status().to_string()];
            answer["x-error-codes"].as_array().is_some_and(|codes| codes.iter().any(|c| c == e.code()))
        });
        assert!(somewhere, "no endpoint documents {} under {}", e.code(), e.status());
    }
    let listed: Vec<&str> = doc["components"]["schemas"]["ErrorCode"]["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v["const"].as_str())
        .collect();
    let all: Vec<&str> = ErrorCode::ALL.iter().map(|e| e.code()).collect();
    assert_eq!(listed, all, "the ErrorCode schema lists every code");
}

#[test]
fn every_event_type_is_a_webhook_with_its_own_description() {
    let doc = document();
    let hooks = doc["webhooks"].as_object().expect("webhooks");
    assert_eq!(hooks.len(), EventType::ALL.len());
    for kind in EventType::ALL {
        let post = &hooks[kind.as_str()]["post"];
        let text = post["description"].as_str().unwrap_or_default();
        assert!(text.len() > 200, "{}: the event type's documentation is carried over: {text}", kind.as_str());
        assert_eq!(
            post["requestBody"]["content"]["application/json"]["schema"]["properties"]["type"]["const"],
            kind.as_str()
        );
    }
}

#[test]
fn the_list_documents_exactly_the_parameters_the_worker_reads() {
    let doc = document();
    let params: Vec<&str> = doc["paths"]["/v1/sessions"]["get"]["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .filter(|p| p["in"] == "query")
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(params, SESSION_PARAMETERS);
}

#[test]
fn answers_and_requests_come_from_the_types() {
    let doc = document();
    let schemas = &doc["components"]["schemas"];
    // A request refuses unknown fields (`deny_unknown_fields`), and a required field is required.
    assert_eq!(schemas["CreateSession"]["additionalProperties"], false);
    let required: Vec<&str> =
        schemas["CreateSession"]["required"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert_eq!(required, ["amount", "currency", "goods_name", "reference"]);
    // An answer's optional field (left out when empty) is not required; the status is the enum.
    let session_required = schemas["SessionView"]["required"].as_array().unwrap();
    assert!(!session_required.iter().any(|f| f == "client_secret" || f == "paid_at"));
    assert!(session_required.iter().any(|f| f == "attempts"));
    assert_eq!(schemas["SessionView"]["properties"]["status"]["$ref"], "#/components/schemas/SessionStatus");
    assert!(schemas["SessionCreated"]["properties"]["client_secret_note"].is_object());
    assert_eq!(schemas["ApiError"]["properties"]["code"]["$ref"], "#/components/schemas/ErrorCode");
    // Every reference names a schema that exists.
    let text = serde_json::to_string(&doc).unwrap();
    for piece in text.split("\"#/components/schemas/").skip(1) {
        let name = piece.split('"').next().unwrap();
        assert!(schemas.get(name).is_some(), "a $ref to a missing schema: {name}");
    }
}
