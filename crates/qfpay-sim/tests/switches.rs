//! `GET`/`POST /sim/switches`: every switch in one JSON object, changed by name at run time,
//! all or nothing, with errors that name the field and what it takes; loopback callers only.

mod common;

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use common::*;
use serde_json::json;

#[tokio::test]
async fn get_shows_the_documented_defaults() {
    let (status, switches) = control(&demo(), "GET", "/sim/switches", None).await;
    assert_eq!(status.as_u16(), 200);
    assert_eq!(
        switches,
        json!({
            "answer_signature": "sorted-data",
            "query_list_max": 100,
            "end_order": {},
            "refund_blackout": true,
            "refund_promotion": false,
            "refund_low_volume": false,
            "refund_no_partial_currency": false,
            "refund_no_partial": false,
            "per_request_notify_url": false,
            "notify_url": null,
        })
    );
}

#[tokio::test]
async fn post_changes_what_it_names_and_answers_all() {
    let app = demo();
    let now = set_switches(&app, json!({"refund_promotion": true, "end_order": {"805801": "close"}})).await;
    assert_eq!((now["refund_promotion"].as_bool(), now["end_order"]["805801"].as_str()), (Some(true), Some("close")));
    assert_eq!(now["refund_blackout"], true, "the others stay");
    let (_, again) = control(&app, "GET", "/sim/switches", None).await;
    assert_eq!(again, now);
}

#[tokio::test]
async fn unknown_names_and_bad_values_are_refused_naming_the_field() {
    let app = demo();
    let before = control(&app, "GET", "/sim/switches", None).await.1;
    for (body, named, allowed) in [
        (json!({"refund_promotion": true, "refund_window": true}), "refund_window", "refund_blackout"),
        (json!({"answer_signature": "md5"}), "answer_signature", "raw-body"),
        (json!({"query_list_max": -1}), "query_list_max", "whole number"),
        (json!({"end_order": {"805801": "cancel"}}), "end_order", "reversal, close or none"),
        (json!({"end_order": {"123456": "close"}}), "end_order", "pay type"),
        (json!({"per_request_notify_url": "yes"}), "per_request_notify_url", "true or false"),
        (json!({"notify_url": "mailto:ops@shop.example"}), "notify_url", "http://"),
        (json!(["refund_blackout"]), "JSON object", "switch names"),
    ] {
        let (status, answer) = control(&app, "POST", "/sim/switches", Some(body.clone())).await;
        let error = answer["error"].as_str().unwrap_or_default();
        assert_eq!(status.as_u16(), 400, "{body}: {answer}");
        assert!(error.contains(named) && error.contains(allowed), "{body}: {error}");
    }
    assert_eq!(
        control(&app, "GET", "/sim/switches", None).await.1,
        before,
        "nothing changed, not even refund_promotion"
    );
}

#[tokio::test]
async fn switches_answer_this_machine_only() {
    let app = demo();
    for method in ["GET", "POST"] {
        let mut req = Request::builder()
            .method(method)
            .uri("/sim/switches")
            .header("Content-Type", "application/json")
            .body(Body::from("{\"refund_blackout\": false}"))
            .unwrap();
        req.extensions_mut().insert(ConnectInfo("192.0.2.7:5000".parse::<SocketAddr>().unwrap()));
        let (status, _, _) = send(&app, req).await;
        assert_eq!(status.as_u16(), 403, "{method}");
    }
    assert_eq!(control(&app, "GET", "/sim/switches", None).await.1["refund_blackout"], true);
}
