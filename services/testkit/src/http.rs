//! Driving a service's `app()` in process (tower `oneshot`), the way every
//! HTTP test does.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// Sends `req` to `app`; the status and the body as JSON (`Null` if it is not JSON).
pub async fn call(app: &axum::Router, req: Request<Body>) -> (StatusCode, Value) {
    let resp = app.clone().oneshot(req).await.expect("infallible");
    let status = resp.status();
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// `GET path`.
pub async fn get(app: &axum::Router, path: &str) -> (StatusCode, Value) {
    call(app, Request::get(path).body(Body::empty()).expect("request")).await
}

/// `POST path` with a JSON body.
pub async fn post_json(app: &axum::Router, path: &str, body: &impl serde::Serialize) -> (StatusCode, Value) {
    let body = serde_json::to_vec(body).expect("json");
    call(app, Request::post(path).header("content-type", "application/json").body(Body::from(body)).expect("request"))
        .await
}

/// Percent-encodes the base64 characters a query value cannot carry.
pub fn urlencode(s: &str) -> String {
    s.replace('+', "%2B").replace('/', "%2F").replace('=', "%3D")
}
