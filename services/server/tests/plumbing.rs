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

/// A dependency that hangs (a database behind a dropped network) makes
/// `/readyz` answer 503 within 2 s, not hang with it.
#[tokio::test]
async fn a_hung_readiness_check_is_not_ready_within_two_seconds() {
    let check: ReadyCheck = Arc::new(|| Box::pin(std::future::pending()));
    let app = with_common_routes(Router::new(), &HttpConfig::default(), check);
    let started = std::time::Instant::now();
    let (s, _, _) = call(&app, Request::get("/readyz").body(Body::empty()).unwrap()).await;
    let took = started.elapsed();
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    assert!(took < std::time::Duration::from_secs(2), "took {took:?}");
    assert!(took >= sigstead_server::READY_TIMEOUT, "waited the whole timeout: {took:?}");
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

#[test]
fn renamed_fields_are_refused_naming_their_replacement() {
    let renamed = [("key_path", "[signing_key.file]"), ("signing_key.path", "[signing_key.file]")];
    let err = sigstead_server::refuse_renamed_fields("key_path = \"k.pem\"\n", &renamed).unwrap_err().to_string();
    assert!(err.contains("`key_path` is no longer accepted: use [signing_key.file]"), "{err}");
    let err =
        sigstead_server::refuse_renamed_fields("[signing_key]\npath = \"k.pem\"\n", &renamed).unwrap_err().to_string();
    assert!(err.contains("`signing_key.path`"), "{err}");
    sigstead_server::refuse_renamed_fields("[signing_key.file]\npath = \"k.pem\"\n", &renamed).unwrap();
    // Text that is not TOML is left to the real parser's message.
    sigstead_server::refuse_renamed_fields("not = [toml", &renamed).unwrap();
}

/// A private CA, and a certificate it issued for `name` (client or server).
fn issued_by_private_ca(name: &str) -> (rcgen::CertifiedIssuer<'static, rcgen::KeyPair>, String, String) {
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, rcgen::KeyPair::generate().unwrap()).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec![name.to_string()]).unwrap().signed_by(&key, &ca).unwrap();
    (ca, cert.pem(), key.serialize_pem())
}

/// Serves one canned HTTP answer per connection over TLS, requiring a client
/// certificate issued by `client_ca`. Returns the port.
async fn mtls_server(
    server_cert: &str,
    server_key: &str,
    client_ca: &rcgen::CertifiedIssuer<'_, rcgen::KeyPair>,
) -> u16 {
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(client_ca.der().clone()).unwrap();
    let verifier =
        rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone()).build().unwrap();
    let certs = vec![rustls::pki_types::CertificateDer::from_pem_slice(server_cert.as_bytes()).unwrap()];
    let key = rustls::pki_types::PrivateKeyDer::from_pem_slice(server_key.as_bytes()).unwrap();
    let cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(mut tls) = acceptor.accept(tcp).await {
                    let mut buf = [0u8; 1024];
                    let _ = tls.read(&mut buf).await;
                    let _ = tls.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok").await;
                    let _ = tls.shutdown().await;
                }
            });
        }
    });
    port
}

/// `OutboundTls`: a server certificate from a private CA is accepted only
/// with that CA in `ca_file`, and a server demanding mutual TLS is reached
/// only with `client_cert_file` / `client_key_file`.
#[tokio::test]
async fn outbound_tls_private_ca_and_client_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (server_ca, server_cert, server_key) = issued_by_private_ca("localhost");
    let (client_ca, client_cert, client_key) = issued_by_private_ca("ci-client");
    std::fs::write(dir.path().join("server-ca.pem"), server_ca.pem()).unwrap();
    std::fs::write(dir.path().join("client.crt"), client_cert).unwrap();
    std::fs::write(dir.path().join("client.key"), client_key).unwrap();
    let port = mtls_server(&server_cert, &server_key, &client_ca).await;
    let url = format!("https://localhost:{port}/");
    let timeout = std::time::Duration::from_secs(10);
    let get = |tls: sigstead_server::OutboundTls| {
        let url = url.clone();
        async move { tls.http_client(timeout).unwrap().get(url).send().await }
    };

    let mut full = sigstead_server::OutboundTls {
        ca_file: Some("server-ca.pem".into()),
        client_cert_file: Some("client.crt".into()),
        client_key_file: Some("client.key".into()),
    };
    full.resolve(dir.path()).unwrap();
    let resp = get(full.clone()).await.expect("private CA and client certificate");
    assert_eq!(resp.text().await.unwrap(), "ok");

    let no_client_cert = sigstead_server::OutboundTls { client_cert_file: None, client_key_file: None, ..full.clone() };
    assert!(get(no_client_cert).await.is_err(), "the server demands a client certificate");
    let system_roots_only = sigstead_server::OutboundTls { ca_file: None, ..full.clone() };
    let err = get(system_roots_only).await.unwrap_err();
    assert!(format!("{err:?}").contains("UnknownIssuer"), "an untrusted server certificate: {err:?}");

    let mut lone = sigstead_server::OutboundTls { client_key_file: None, ..full };
    assert!(lone.resolve(dir.path()).unwrap_err().to_string().contains("must be set together"));
}

#[test]
fn server_errors_answer_the_generic_text_client_errors_their_own() {
    use axum::http::StatusCode;
    let detail = "connection to db-7.internal:5432 refused (password authentication failed for user sigstead)";
    let m = sigstead_server::public_message(StatusCode::INTERNAL_SERVER_ERROR, &detail, "internal server error", "t");
    assert_eq!(m, "internal server error");
    let m = sigstead_server::public_message(StatusCode::SERVICE_UNAVAILABLE, &detail, "retry later", "t");
    assert_eq!(m, "retry later");
    let m = sigstead_server::public_message(StatusCode::BAD_REQUEST, &"tree size 9 is beyond 3", "generic", "t");
    assert_eq!(m, "tree size 9 is beyond 3");
}

/// A plain-HTTP server on a free port with the given limits and config.
async fn limited_server(http: HttpConfig) -> std::net::SocketAddr {
    let ready: ReadyCheck = Arc::new(|| Box::pin(async { Ok(()) }));
    let router = Router::new().route("/api/echo", axum::routing::get(|| async { "ok" }));
    let app = with_common_routes(router, &http, ready);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(sigstead_server::serve_with(app, listener, None, http.connection_limits(), std::future::pending()));
    addr
}

/// One `GET path` on a new connection; the status code, or `None` if the
/// server closed the connection without answering.
async fn get_status(addr: std::net::SocketAddr, path: &str) -> (Option<u16>, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).await.is_err() {
        return (None, String::new());
    }
    let mut out = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), s.read_to_end(&mut out)).await;
    let text = String::from_utf8_lossy(&out).to_string();
    (text.split(' ').nth(1).and_then(|c| c.parse().ok()), text)
}

/// `slow-header`: a client that never finishes its headers is cut off after
/// `header_read_timeout_secs`, while other clients are served meanwhile.
#[tokio::test]
async fn slow_header_client_is_cut_off_while_others_are_served() {
    let http = HttpConfig { header_read_timeout_secs: 1, ..HttpConfig::default() };
    let addr = limited_server(http).await;
    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /api/echo HTTP/1.1\r\nHost: x\r\nX-Slow: ").await.unwrap();
    let started = std::time::Instant::now();
    assert_eq!(get_status(addr, "/api/echo").await.0, Some(200), "a normal client is served meanwhile");
    let mut buf = [0u8; 256];
    let n = tokio::time::timeout(std::time::Duration::from_secs(5), slow.read(&mut buf))
        .await
        .expect("the server closes the slow connection well within 5 s")
        .unwrap_or(0);
    let answered = String::from_utf8_lossy(&buf[..n]).to_string();
    assert!(n == 0 || answered.starts_with("HTTP/1.1 408"), "closed (or 408), not served: {answered:?}");
    let took = started.elapsed();
    assert!(took >= std::time::Duration::from_millis(900) && took < std::time::Duration::from_secs(4), "{took:?}");
}

/// `connection-flood`: beyond `max_connections`, a new connection is closed
/// at once; when a slot frees, service resumes.
#[tokio::test]
async fn connections_beyond_the_cap_are_closed_at_once() {
    let http = HttpConfig { max_connections: 2, header_read_timeout_secs: 30, ..HttpConfig::default() };
    let addr = limited_server(http).await;
    let idle_a = tokio::net::TcpStream::connect(addr).await.unwrap();
    let idle_b = tokio::net::TcpStream::connect(addr).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let (status, text) = get_status(addr, "/api/echo").await;
    assert_eq!(status, None, "the third connection is closed unanswered: {text:?}");
    drop(idle_a);
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert_eq!(get_status(addr, "/api/echo").await.0, Some(200), "a freed slot serves again");
    drop(idle_b);
}

/// `request-flood`: a client over its rate gets 429 with Retry-After and the
/// JSON error body; health endpoints are never limited.
#[tokio::test]
async fn a_client_over_its_rate_gets_429_with_retry_after() {
    let http = HttpConfig {
        rate_limit: sigstead_server::RateLimitConfig { per_second: 1, burst: Some(3) },
        ..HttpConfig::default()
    };
    let addr = limited_server(http).await;
    for i in 0..3 {
        assert_eq!(get_status(addr, "/api/echo").await.0, Some(200), "request {i} within the burst");
    }
    let (status, text) = get_status(addr, "/api/echo").await;
    assert_eq!(status, Some(429), "{text}");
    let lower = text.to_ascii_lowercase();
    assert!(lower.contains("retry-after: 1"), "Retry-After of about a second: {text}");
    assert!(text.contains(r#""code":429"#) && text.contains("rate limit exceeded"), "{text}");
    assert_eq!(get_status(addr, "/healthz").await.0, Some(200), "health is never limited");
    assert_eq!(get_status(addr, "/readyz").await.0, Some(200));
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(get_status(addr, "/api/echo").await.0, Some(200), "the bucket refills at the configured rate");
}
