//! The shared plumbing: operational endpoints, JSON limit errors, and HTTPS
//! with graceful shutdown on a real socket.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::post;
use axum::Router;
use http_body_util::BodyExt;
use sigstead_server::{serve, with_common_routes, HttpConfig, ReadyCheck};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;

fn app(ready: Arc<AtomicBool>, max_body: usize) -> Router {
    let check: ReadyCheck = Arc::new(move || {
        let ok = ready.load(Ordering::SeqCst);
        Box::pin(async move {
            if ok {
                Ok(())
            } else {
                Err("database down".into())
            }
        })
    });
    let http = HttpConfig { max_body_bytes: max_body, ..HttpConfig::default() };
    let api = Router::new().route("/echo", post(|body: axum::body::Bytes| async move { body }));
    with_common_routes(api, &http, check)
}

async fn call(app: &Router, req: Request<Body>) -> (StatusCode, String, String) {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let ct = resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    let body = String::from_utf8(resp.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    (status, ct, body)
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let ready = Arc::new(AtomicBool::new(true));
    let app = app(ready.clone(), 1024);
    let (s, _, body) = call(&app, Request::get("/healthz").body(Body::empty()).unwrap()).await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("SERVING"));
    assert_eq!(call(&app, Request::get("/readyz").body(Body::empty()).unwrap()).await.0, StatusCode::OK);
    ready.store(false, Ordering::SeqCst);
    let (s, _, body) = call(&app, Request::get("/readyz").body(Body::empty()).unwrap()).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    assert!(!body.contains("database down"), "the reason is logged, not served");
    call(&app, Request::post("/echo").body(Body::from("hi")).unwrap()).await;
    let (s, _, metrics) = call(&app, Request::get("/metrics").body(Body::empty()).unwrap()).await;
    assert_eq!(s, StatusCode::OK);
    assert!(metrics.contains("http_requests_total"), "{metrics}");
    assert!(metrics.contains("route=\"/echo\""), "{metrics}");
}

#[tokio::test]
async fn oversized_body_is_a_json_413() {
    let app = app(Arc::new(AtomicBool::new(true)), 16);
    let (s, ct, body) = call(&app, Request::post("/echo").body(Body::from(vec![b'x'; 17])).unwrap()).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(ct.starts_with("application/json"), "{ct}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["code"], 413);
    assert!(v["message"].as_str().unwrap().contains("16 bytes"));
    let (s, _, body) = call(&app, Request::post("/echo").body(Body::from(vec![b'y'; 16])).unwrap()).await;
    assert_eq!((s, body.len()), (StatusCode::OK, 16));
}

#[tokio::test]
async fn https_serves_and_shuts_down_gracefully() {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cert.pem"), cert.cert.pem()).unwrap();
    std::fs::write(dir.path().join("key.pem"), cert.signing_key.serialize_pem()).unwrap();
    let mut http = HttpConfig {
        tls_cert_file: Some("cert.pem".into()),
        tls_key_file: Some("key.pem".into()),
        ..HttpConfig::default()
    };
    http.resolve(dir.path()).unwrap();
    let tls = http.tls().unwrap().expect("TLS configured");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(app(Arc::new(AtomicBool::new(true)), 1024), listener, Some(tls), async {
        let _ = stopped.await;
    }));

    let mut roots = tokio_rustls::rustls::RootCertStore::empty();
    roots.add(cert.cert.der().clone()).unwrap();
    let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
    let client = tokio_rustls::rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = tokio_rustls::rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls_stream = connector.connect(name, tcp).await.expect("TLS handshake with the server's certificate");
    tls_stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut resp = Vec::new();
    tls_stream.read_to_end(&mut resp).await.unwrap();
    let resp = String::from_utf8_lossy(&resp);
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(resp.contains("SERVING"));

    // Plain HTTP to the TLS port gets no HTTP answer.
    let mut plain = tokio::net::TcpStream::connect(addr).await.unwrap();
    plain.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), plain.read_to_end(&mut buf)).await;
    assert!(!String::from_utf8_lossy(&buf).contains("SERVING"));

    stop.send(()).unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(10), server).await.expect("server stops").unwrap().unwrap();
}

#[test]
fn tls_files_must_come_in_pairs() {
    let mut http = HttpConfig { tls_cert_file: Some("c.pem".into()), ..HttpConfig::default() };
    assert!(http.resolve(std::path::Path::new("/")).is_err());
}
