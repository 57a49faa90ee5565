//! The OpenAPI 3.1 description of the worker's API, built from this crate's own types so it
//! cannot drift: request and answer schemas are derived with `schemars` (JSON Schema 2020-12,
//! which OpenAPI 3.1 uses), the error codes come from [`ErrorCode::ALL`], the webhook events
//! from [`EventType::ALL`]. The worker serves the committed copy (`docs/openapi.json`); the
//! test `tests/openapi.rs` regenerates it and fails when the copy differs.
//!
//! `operations.rs` holds the endpoint table (what each route takes and answers); this module
//! turns it into the document.

mod operations;

use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{json, Map, Value};

use crate::error::{ApiError, ErrorCode};
use crate::events::{DeliveryStatus, DeliveryView, EventDetail, EventList, EventType};
use crate::listing::SessionList;
use crate::session::{ChargeRequest, CreateRefund, CreateSession, PayRequest, ResolveRefund};
use crate::views::{
    CheckoutView, HealthView, PayAnswer, RefundView, SessionView, StatusView, UnmatchedNotificationList,
};

pub use operations::{Auth, Operation, OPERATIONS};

/// The document as the worker serves it and `docs/openapi.json` holds it (pretty, one final
/// newline).
pub fn document_text() -> String {
    let mut text = serde_json::to_string_pretty(&sorted(document())).expect("a JSON value prints");
    text.push('\n');
    text
}

/// `value` with every object's keys in order, so the text is the same whether or not another
/// crate in the build turns on serde_json's `preserve_order`.
fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// The whole document.
pub fn document() -> Value {
    let schemas = schemas();
    let mut paths = Map::new();
    for op in OPERATIONS {
        let item = paths.entry(op.path).or_insert_with(|| json!({}));
        item[op.method.to_ascii_lowercase()] = operation(op);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "QFPay edge checkout",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The merchant server's API (Bearer MERCHANT_API_KEY), the widget's API (Bearer \
                the session's client_secret, CORS for ALLOWED_ORIGINS), the gateway's notifications, and the \
                webhook events the worker sends to WEBHOOK_URL (Standard Webhooks signatures). Every error \
                answers {\"error\": {\"code\", \"message\", \"field\"?}}; ErrorCode lists every code with its \
                HTTP status. Every time is Unix time in seconds (a JSON integer); durations name their unit \
                (`latency_ms`, `expires_in_minutes`); amounts are minor units."
        },
        "servers": [{"url": "/", "description": "The worker's own origin (PUBLIC_URL)"}],
        "tags": [
            {"name": "sessions", "description": "Checkout sessions, refunds and in-store charges (merchant key)"},
            {"name": "events", "description": "The merchant's event feed (merchant key)"},
            {"name": "widget", "description": "What the <qfpay-checkout> widget calls (client secret)"},
            {"name": "gateway", "description": "What QFPay calls"},
            {"name": "service", "description": "Health and this document"}
        ],
        "paths": paths,
        "webhooks": webhooks(&schemas),
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "merchantKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "MERCHANT_API_KEY (or MERCHANT_API_KEY_NEXT while a key is rotated). Only \
                        the merchant's server holds it; wrong keys are counted per client and answer 401, then 429."
                },
                "clientSecret": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The session's client_secret from POST /v1/sessions: it opens that one \
                        session's /v1/checkout/{id} endpoints and nothing else. A wrong secret and an unknown \
                        session answer the same 401."
                }
            }
        }
    })
}

/// Every named schema: the contract's types, derived, plus the few shapes that only exist as
/// JSON built in place (the error wrapper, the health answer).
fn schemas() -> Map<String, Value> {
    let mut schemas = derived::<(
        SessionList,
        SessionView,
        EventList,
        EventDetail,
        CheckoutView,
        UnmatchedNotificationList,
        HealthView,
    )>(false);
    for (name, schema) in derived::<(PayAnswer, StatusView, RefundView, DeliveryView, ApiError)>(false) {
        schemas.insert(name, schema);
    }
    for (name, schema) in
        derived::<(CreateSession, CreateRefund, ResolveRefund, PayRequest, ChargeRequest, DeliveryStatus)>(true)
    {
        schemas.insert(name, schema);
    }
    schemas.insert("ErrorCode".into(), error_codes());
    // The error's `code` is one of the list (the Rust type holds it as a plain string).
    schemas["ApiError"]["properties"]["code"] = json!({"$ref": "#/components/schemas/ErrorCode"});
    schemas.insert(
        "ErrorBody".into(),
        json!({
            "type": "object",
            "description": "Every error answer.",
            "properties": {"error": {"$ref": "#/components/schemas/ApiError"}},
            "required": ["error"]
        }),
    );
    schemas.insert("SessionCreated".into(), session_created(&schemas["SessionView"]));
    schemas.insert("Health".into(), health());
    schemas
}

/// The named schemas of the types in `T` (a tuple) and everything they use. Answers are
/// described as the worker writes them (`for_serialize`: a field left out when empty is not
/// required); requests as the worker reads them.
fn derived<T: JsonSchema>(request: bool) -> Map<String, Value> {
    let settings = schemars::generate::SchemaSettings::draft2020_12().with(|s| {
        s.definitions_path = "/components/schemas".into();
    });
    let settings = if request { settings.for_deserialize() } else { settings.for_serialize() };
    let mut generator = SchemaGenerator::new(settings);
    // A tuple's own schema is not needed, only the definitions it fills in.
    let _ = generator.subschema_for::<T>();
    let mut definitions = generator.take_definitions(true);
    for schema in definitions.values_mut() {
        drop_null_defaults(schema);
    }
    definitions
}

/// Removes `"default": null` (schemars writes it for `#[serde(default)]` options): it says
/// nothing a missing field does not, and client generators read any default as "always
/// present", which would make a merchant send every optional field.
fn drop_null_defaults(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            if map.get("default").is_some_and(Value::is_null) {
                map.remove("default");
            }
            map.values_mut().for_each(drop_null_defaults);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_null_defaults),
        _ => {}
    }
}

/// `ErrorCode`: every code the API can answer, each with its HTTP status and meaning.
fn error_codes() -> Value {
    let variants: Vec<Value> = ErrorCode::ALL
        .iter()
        .map(|e| json!({"const": e.code(), "description": format!("HTTP {}: {}", e.status(), e.meaning())}))
        .collect();
    json!({
        "type": "string",
        "description": "Every error code the API answers, with its HTTP status.",
        "oneOf": variants,
        "x-status": ErrorCode::ALL.iter().map(|e| (e.code().to_owned(), json!(e.status()))).collect::<Map<_, _>>()
    })
}

/// `POST /v1/sessions`' answer: the session with its `client_secret`, or (a replay after the
/// key it was derived under was rotated out) without it and with `client_secret_note`.
fn session_created(session: &Value) -> Value {
    let mut created = session.clone();
    created["description"] = json!(
        "The session as created. `client_secret` is present unless this is an Idempotency-Key replay that \
         can no longer derive it, which says why in `client_secret_note`."
    );
    created["properties"]["client_secret_note"] = json!({
        "type": "string",
        "description": "Only in a replay whose client_secret cannot be given again: why, and what to do."
    });
    created
}

/// `GET /healthz`'s answer.
fn health() -> Value {
    json!({
        "type": "object",
        "description": "Whether the worker is configured. 503 names the first missing or invalid setting (never its value).",
        "properties": {
            "ok": {"type": "boolean"},
            "problem": {
                "type": "object",
                "properties": {"setting": {"type": "string"}, "problem": {"type": "string"}},
                "required": ["setting", "problem"]
            }
        },
        "required": ["ok"]
    })
}

/// A `$ref` to a named schema.
fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// A named schema, or for a body without one: any JSON object, or text.
fn named_or_raw(schema: Option<&str>, media_type: &str) -> Value {
    match schema {
        Some(name) => schema_ref(name),
        None if media_type == "application/json" => json!({"type": "object"}),
        None => json!({"type": "string"}),
    }
}

/// One operation of `paths`.
fn operation(op: &Operation) -> Value {
    let mut out = json!({
        "operationId": op.id,
        "tags": [op.tag],
        "summary": op.summary,
        "responses": responses(op),
    });
    if !op.description.is_empty() {
        out["description"] = json!(op.description);
    }
    match op.auth {
        Auth::Merchant => out["security"] = json!([{"merchantKey": []}]),
        Auth::ClientSecret => out["security"] = json!([{"clientSecret": []}]),
        Auth::Gateway | Auth::Public => out["security"] = json!([]),
    }
    let mut parameters: Vec<Value> = Vec::new();
    if op.path.contains("{id}") {
        parameters.push(json!({
            "name": "id", "in": "path", "required": true,
            "description": op.id_description,
            "schema": {"type": "string"}
        }));
    }
    for p in op.query {
        parameters.push(json!({
            "name": p.name, "in": "query", "required": false,
            "description": p.description,
            "schema": (p.schema)()
        }));
    }
    for p in op.headers {
        parameters.push(json!({
            "name": p.name, "in": "header", "required": false,
            "description": p.description,
            "schema": (p.schema)()
        }));
    }
    if op.idempotent {
        parameters.push(json!({
            "name": "Idempotency-Key", "in": "header", "required": false,
            "description": "Makes the request safe to retry for 24 hours: the same key with the same body \
                answers the stored answer; with another body, 409 idempotency_conflict.",
            "schema": {"type": "string", "minLength": 1, "maxLength": 255}
        }));
    }
    if op.auth == Auth::Gateway {
        parameters.push(json!({
            "name": "X-QF-SIGN", "in": "header", "required": true,
            "description": "MD5 of the raw body followed by the client key, checked in constant time.",
            "schema": {"type": "string"}
        }));
    }
    if !parameters.is_empty() {
        out["parameters"] = Value::Array(parameters);
    }
    if let Some(body) = op.body {
        out["requestBody"] = json!({
            "required": true,
            "content": {body.media_type: {"schema": named_or_raw(body.schema, body.media_type)}}
        });
    }
    out
}

/// The answers of an operation: its successes, then each error status with the codes it can
/// carry (`x-error-codes`, and the meanings in the description).
fn responses(op: &Operation) -> Value {
    let mut out = Map::new();
    for ok in op.ok {
        let mut answer = json!({"description": ok.description});
        answer["content"] = json!({ok.media_type: {"schema": named_or_raw(ok.schema, ok.media_type)}});
        out.insert(ok.status.to_string(), answer);
    }
    let mut statuses: Vec<u16> = op.errors().iter().map(|e| e.status()).collect();
    statuses.sort_unstable();
    statuses.dedup();
    for status in statuses {
        let codes: Vec<ErrorCode> = op.errors().into_iter().filter(|e| e.status() == status).collect();
        let lines: Vec<String> = codes.iter().map(|e| format!("`{}`: {}", e.code(), e.meaning())).collect();
        let mut answer = json!({
            "description": lines.join("\n\n"),
            "x-error-codes": codes.iter().map(|e| e.code()).collect::<Vec<_>>(),
            "content": {"application/json": {"schema": schema_ref("ErrorBody")}}
        });
        if status == 429 || status == 503 {
            answer["headers"] = json!({"Retry-After": {
                "description": "Seconds to wait before trying again, when known.",
                "schema": {"type": "integer", "minimum": 1}
            }});
        }
        out.insert(status.to_string(), answer);
    }
    Value::Object(out)
}

/// OpenAPI 3.1's top-level `webhooks`: one POST per event type to the merchant's
/// `WEBHOOK_URL`, described by the type's own documentation.
fn webhooks(schemas: &Map<String, Value>) -> Value {
    let variant_docs = schemas.get("EventType").and_then(|t| t["oneOf"].as_array()).cloned().unwrap_or_default();
    let mut out = Map::new();
    for kind in EventType::ALL {
        let doc = variant_docs
            .iter()
            .find(|v| v["const"] == kind.as_str())
            .and_then(|v| v["description"].as_str())
            .unwrap_or_default();
        let refund = if kind.as_str().starts_with("refund.") || kind == EventType::DuplicateRefunded {
            " `data.refund` holds the refund."
        } else {
            ""
        };
        out.insert(
            kind.as_str().to_owned(),
            json!({"post": {
                "operationId": format!("webhook_{}", kind.as_str().replace('.', "_")),
                "summary": kind.as_str(),
                "description": format!("{doc}{refund} Signed with Standard Webhooks (webhook-id, webhook-timestamp, \
                    webhook-signature over the raw body with WEBHOOK_SECRET); de-duplicate on webhook-id, which \
                    equals the event's id. Retried with back-off for 3 days until a 2xx answer."),
                "parameters": [
                    {"name": "webhook-id", "in": "header", "required": true, "schema": {"type": "string"}},
                    {"name": "webhook-timestamp", "in": "header", "required": true,
                     "description": "Unix seconds", "schema": {"type": "string"}},
                    {"name": "webhook-signature", "in": "header", "required": true,
                     "description": "`v1,<base64 HMAC-SHA256>`", "schema": {"type": "string"}}
                ],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {
                    "allOf": [schema_ref("EventView")],
                    "properties": {"type": {"const": kind.as_str()}}
                }}}},
                "responses": {"2XX": {"description": "Received; no more tries."}}
            }}),
        );
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listing::{EVENT_PARAMETERS, SESSION_PARAMETERS};
    use crate::session::*;
    use crate::views::MAX_UNIX_SECONDS;

    fn query_names(doc: &Value, path: &str) -> Vec<String> {
        let params = doc["paths"][path]["get"]["parameters"].as_array().expect("parameters");
        params.iter().filter(|p| p["in"] == "query").filter_map(|p| p["name"].as_str().map(str::to_owned)).collect()
    }

    #[test]
    fn both_lists_document_exactly_the_parameters_the_worker_reads() {
        let doc = document();
        assert_eq!(query_names(&doc, "/v1/sessions"), SESSION_PARAMETERS);
        assert_eq!(query_names(&doc, "/v1/events"), EVENT_PARAMETERS);
        let params = doc["paths"]["/v1/sessions"]["get"]["parameters"].as_array().unwrap();
        let created_lt = params.iter().find(|p| p["name"] == "created_lt").unwrap();
        assert_eq!(created_lt["schema"]["maximum"], MAX_UNIX_SECONDS);
        assert_eq!(created_lt["schema"]["description"], "Unix time in seconds");
    }

    /// Every time the API answers or takes is documented in Unix seconds, and nothing in the
    /// document is in milliseconds but a duration that names its unit (`latency_ms`).
    #[test]
    fn every_time_is_unix_seconds() {
        fn walk(value: &Value, path: &str, times: &mut Vec<String>) {
            match value {
                Value::Object(map) => {
                    for (key, item) in map {
                        let here = format!("{path}/{key}");
                        if let (Some(description), true) = (item["description"].as_str(), key != "latency_ms") {
                            assert!(
                                !description.contains("Unix ms") && !description.contains("milliseconds)"),
                                "{here}: {description}"
                            );
                        }
                        if path.ends_with("/properties") && (key.ends_with("_at") || key == "created" || key == "at") {
                            let description = item["description"].as_str().unwrap_or_default();
                            assert!(description.contains("Unix time in seconds"), "{here}: {description}");
                            times.push(here.clone());
                        }
                        walk(item, &here, times);
                    }
                }
                Value::Array(items) => items.iter().for_each(|item| walk(item, path, times)),
                _ => {}
            }
        }
        let mut times = Vec::new();
        walk(&document(), "", &mut times);
        for time in
            ["/SessionView/properties/expires_at", "/AttemptView/properties/paid_at", "/DeliveryView/properties/at"]
        {
            assert!(times.iter().any(|t| t.ends_with(time)), "{time} among {times:?}");
        }
        let oldest = &document()["components"]["schemas"]["HealthOldest"]["properties"];
        for kind in ["session", "event", "notification", "idempotency_record"] {
            assert!(oldest[kind]["description"].as_str().unwrap().contains("Unix time in seconds"), "{kind}");
        }
    }

    #[test]
    fn request_schemas_carry_the_validation_rules() {
        let doc = document();
        let s = &doc["components"]["schemas"];
        let create = &s["CreateSession"]["properties"];
        assert_eq!(
            (create["amount"]["minimum"].as_u64(), create["amount"]["maximum"].as_u64()),
            (Some(1), Some(MAX_AMOUNT))
        );
        assert_eq!(create["goods_name"]["maxLength"], GOODS_NAME_MAX_CHARS);
        assert_eq!(
            (create["reference"]["minLength"].as_u64(), create["reference"]["maxLength"].as_u64()),
            (Some(1), Some(REFERENCE_MAX_BYTES as u64))
        );
        assert_eq!(create["metadata"]["maxProperties"], METADATA_MAX_KEYS);
        assert_eq!(create["metadata"]["propertyNames"]["maxLength"], METADATA_KEY_MAX_BYTES);
        assert_eq!(create["metadata"]["additionalProperties"]["maxLength"], METADATA_VALUE_MAX_BYTES);
        assert_eq!(create["expires_in_minutes"]["minimum"], MIN_EXPIRY_MINUTES);
        assert_eq!(create["expires_in_minutes"]["maximum"], MAX_EXPIRY_MINUTES);
        assert_eq!(create["pay_types"]["maxItems"], MAX_PAY_TYPES);
        let refund = &s["CreateRefund"]["properties"];
        assert_eq!(refund["amount"]["minimum"], 1);
        assert_eq!(refund["reason"]["maxLength"], REFUND_REASON_MAX_BYTES);
    }

    #[test]
    fn the_schemas_limits_are_the_ones_validation_enforces() {
        // The schema says 20 keys at most: the 21st is what validation refuses.
        let base = CreateSession {
            amount: 1,
            currency: "HKD".into(),
            goods_name: "g".repeat(GOODS_NAME_MAX_CHARS),
            reference: "r".repeat(REFERENCE_MAX_BYTES),
            pay_types: None,
            expires_in_minutes: Some(MAX_EXPIRY_MINUTES),
            expires_in_seconds: None,
            return_url: None,
            metadata: Some(
                (0..METADATA_MAX_KEYS).map(|i| (format!("k{i}"), "v".repeat(METADATA_VALUE_MAX_BYTES))).collect(),
            ),
        };
        assert!(base.clone().validate(30).is_ok());
        let mut more = base.clone();
        more.metadata.as_mut().unwrap().insert("one-more".into(), "v".into());
        assert_eq!(more.validate(30).unwrap_err().field.as_deref(), Some("metadata"));
        let long = CreateSession { goods_name: "g".repeat(GOODS_NAME_MAX_CHARS + 1), ..base.clone() };
        assert_eq!(long.validate(30).unwrap_err().field.as_deref(), Some("goods_name"));
        let long = CreateSession { reference: "r".repeat(REFERENCE_MAX_BYTES + 1), ..base.clone() };
        assert_eq!(long.validate(30).unwrap_err().field.as_deref(), Some("reference"));
        let late = CreateSession { expires_in_minutes: Some(MAX_EXPIRY_MINUTES + 1), ..base };
        assert_eq!(late.validate(30).unwrap_err().field.as_deref(), Some("expires_in_minutes"));
        let reason = Some("x".repeat(REFUND_REASON_MAX_BYTES + 1));
        assert_eq!(
            CreateRefund { amount: 1, reason, attempt_id: None }.validate(1).unwrap_err().field.as_deref(),
            Some("reason")
        );
    }
}
