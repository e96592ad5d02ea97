//! The outer layers: request ids, logs, security headers, CORS.

use std::{
    io::Write,
    sync::{Arc, Mutex},
};

use http::{HeaderValue, Method, StatusCode, header};
use tasker_http::ClientAddr;

use crate::support::{App, quiet_settings, request};

#[tokio::test]
async fn a_request_id_is_generated_propagated_or_replaced_when_unsafe() {
    let app = App::sqlite().await;
    let generated = app.send(request(Method::GET, "/status", None, None)).await;
    let id = generated.headers["x-request-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");

    let mut req = request(Method::GET, "/status", None, None);
    req.headers_mut()
        .insert("x-request-id", "client-id.42".parse().unwrap());
    let propagated = app.send(req).await;
    assert_eq!(propagated.headers["x-request-id"], "client-id.42");

    let mut req = request(Method::GET, "/status", None, None);
    req.headers_mut()
        .insert("x-request-id", "bad id with spaces".parse().unwrap());
    let replaced = app.send(req).await;
    assert_ne!(replaced.headers["x-request-id"], "bad id with spaces");
}

#[tokio::test]
async fn without_standard_layers_the_api_answers_bare_and_still_authenticates() {
    let app = App::sqlite().await;
    let bare = tasker_http::TaskerApi::builder(app.services.clone())
        .settings(quiet_settings())
        .auth_layer(crate::support::auth_layer())
        .without_standard_layers()
        .build();
    let created = crate::support::send_to(
        &bare,
        request(
            Method::POST,
            "/api/v1/todos",
            Some("alice"),
            Some(serde_json::json!({"title": "bare"})),
        ),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.json);
    for name in [
        "x-request-id",
        "x-content-type-options",
        "content-security-policy",
    ] {
        assert!(!created.headers.contains_key(name), "{name} is set");
    }
    let anonymous =
        crate::support::send_to(&bare, request(Method::GET, "/api/v1/todos", None, None)).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    // The full stack over the same store sees the todo and adds its headers.
    let full = app.get("alice", "/api/v1/todos").await;
    assert_eq!(full.json["total"], 1);
    assert!(full.headers.contains_key("x-request-id"));
}

#[tokio::test]
async fn security_headers_are_on_every_response_and_hsts_when_configured() {
    let app = App::sqlite().await;
    for path in ["/status", "/api/v1/nothing"] {
        let response = app.send(request(Method::GET, path, None, None)).await;
        assert_eq!(response.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(response.headers[header::X_FRAME_OPTIONS], "DENY");
        assert_eq!(response.headers[header::REFERRER_POLICY], "no-referrer");
        let csp = response.headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap();
        assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"));
        assert!(
            !response
                .headers
                .contains_key(header::STRICT_TRANSPORT_SECURITY)
        );
    }
    let mut settings = quiet_settings();
    settings.hsts_max_age_seconds = Some(31_536_000);
    let app = app.reconfigure(settings);
    let response = app.send(request(Method::GET, "/status", None, None)).await;
    assert_eq!(
        response.headers[header::STRICT_TRANSPORT_SECURITY],
        "max-age=31536000; includeSubDomains"
    );
}

#[tokio::test]
async fn cors_answers_configured_origins_only() {
    let mut settings = quiet_settings();
    settings.cors.allowed_origins = vec!["https://app.example.com".into()];
    let app = App::sqlite().await.reconfigure(settings);
    let preflight = |origin: &str| {
        let mut req = request(Method::OPTIONS, "/api/v1/todos", None, None);
        let headers = req.headers_mut();
        headers.insert(header::ORIGIN, origin.parse().unwrap());
        headers.insert(
            header::ACCESS_CONTROL_REQUEST_METHOD,
            "POST".parse().unwrap(),
        );
        headers.insert(
            header::ACCESS_CONTROL_REQUEST_HEADERS,
            "authorization,content-type".parse().unwrap(),
        );
        req
    };
    let allowed = app.send(preflight("https://app.example.com")).await;
    assert_eq!(allowed.status, StatusCode::OK);
    assert_eq!(
        allowed.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://app.example.com"
    );
    let refused = app.send(preflight("https://evil.example.com")).await;
    assert!(
        !refused
            .headers
            .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN)
    );

    let mut req = request(Method::GET, "/api/v1/todos", Some("alice"), None);
    req.headers_mut()
        .insert(header::ORIGIN, "https://app.example.com".parse().unwrap());
    let simple = app.send(req).await;
    assert_eq!(simple.status, StatusCode::OK);
    assert_eq!(
        simple.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://app.example.com"
    );
}

#[tokio::test]
async fn a_star_origin_allows_any_origin() {
    let mut settings = quiet_settings();
    settings.cors.allowed_origins = vec!["*".into()];
    let app = App::sqlite().await.reconfigure(settings);
    let mut req = request(Method::GET, "/status", None, None);
    req.headers_mut()
        .insert(header::ORIGIN, "https://anywhere.example".parse().unwrap());
    let response = app.send(req).await;
    assert_eq!(response.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
}

/// A log sink shared with the test.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The log lines of the whole test binary so far.
///
/// A process-wide subscriber: a thread-local one misses events whose call
/// sites other test threads registered first. Lines of other tests land in
/// the same sink; each test picks its own by request id.
fn captured_logs() -> Captured {
    static CAPTURED: std::sync::OnceLock<Captured> = std::sync::OnceLock::new();
    CAPTURED
        .get_or_init(|| {
            let captured = Captured::default();
            let sink = captured.clone();
            let subscriber = tracing_subscriber::fmt()
                .with_writer(move || sink.clone())
                .with_ansi(false)
                .with_max_level(tracing::Level::DEBUG)
                .finish();
            tracing::subscriber::set_global_default(subscriber).expect("one global subscriber");
            captured
        })
        .clone()
}

/// The completion line of the request with id `request_id`.
fn completion_line(captured: &Captured, request_id: &str) -> String {
    let logs = String::from_utf8_lossy(&captured.0.lock().unwrap()).into_owned();
    logs.lines()
        .find(|line| line.contains(request_id) && line.contains("request completed"))
        .unwrap_or_else(|| panic!("no completion line for {request_id} in:\n{logs}"))
        .to_owned()
}

#[tokio::test]
async fn log_lines_carry_the_request_id_route_and_user_and_a_5xx_its_cause() {
    let captured = captured_logs();

    let app = App::sqlite().await;
    let mut req = request(Method::GET, "/api/v1/todos/stats", Some("alice"), None);
    req.headers_mut()
        .insert("x-request-id", "trace-me-1".parse().unwrap());
    assert_eq!(app.send(req).await.status, StatusCode::OK);

    if let tasker_core::store::Pool::Sqlite(pool) = app.test_store.store.pool() {
        pool.close().await;
    }
    let mut req = request(Method::GET, "/api/v1/todos", Some("alice"), None);
    req.headers_mut()
        .insert("x-request-id", "trace-me-2".parse().unwrap());
    // A closed pool: the database is unavailable (503), logged with its cause.
    assert_eq!(app.send(req).await.status, StatusCode::SERVICE_UNAVAILABLE);

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let completed = logs
        .lines()
        .find(|line| line.contains("trace-me-1") && line.contains("request completed"))
        .unwrap_or_else(|| panic!("no completion line for trace-me-1 in:\n{logs}"));
    assert!(
        completed.contains("route=/api/v1/todos/stats"),
        "{completed}"
    );
    assert!(completed.contains("user_id=alice"), "{completed}");
    assert!(completed.contains("status=200"), "{completed}");
    let failed = logs
        .lines()
        .find(|line| line.contains("trace-me-2") && line.contains("request failed"))
        .unwrap_or_else(|| panic!("no failure line for trace-me-2 in:\n{logs}"));
    assert!(failed.contains("SERVICE_UNAVAILABLE"), "{failed}");
    assert!(
        failed.contains("storage failed"),
        "the cause is logged: {failed}"
    );
}

#[tokio::test]
async fn log_lines_carry_the_client_ip_believing_forwarded_for_only_from_a_trusted_proxy() {
    let captured = captured_logs();
    let mut settings = quiet_settings();
    settings.rate_limit.trusted_proxies = vec!["10.0.0.1".parse().unwrap()];
    let app = App::sqlite().await.reconfigure(settings);
    let send = |id: &'static str, peer: Option<&'static str>, forwarded: Option<&'static str>| {
        let mut req = request(Method::GET, "/api/v1/todos/stats", Some("alice"), None);
        req.headers_mut()
            .insert("x-request-id", id.parse().unwrap());
        if let Some(forwarded) = forwarded {
            req.headers_mut()
                .insert("x-forwarded-for", forwarded.parse().unwrap());
        }
        match peer {
            Some(peer) => req
                .extensions_mut()
                .insert(ClientAddr(peer.parse().unwrap())),
            None => req.extensions_mut().remove::<ClientAddr>(),
        };
        app.send(req)
    };
    assert_eq!(
        send("ip-direct", Some("192.0.2.7:5000"), None).await.status,
        StatusCode::OK
    );
    assert_eq!(
        send("ip-spoofed", Some("192.0.2.7:5000"), Some("203.0.113.9"))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        send(
            "ip-proxied",
            Some("10.0.0.1:5000"),
            Some("203.0.113.9, 10.0.0.1")
        )
        .await
        .status,
        StatusCode::OK
    );
    assert_eq!(send("ip-unknown", None, None).await.status, StatusCode::OK);

    let direct = completion_line(&captured, "ip-direct");
    assert!(direct.contains("client_ip=192.0.2.7 "), "{direct}");
    let spoofed = completion_line(&captured, "ip-spoofed");
    assert!(
        spoofed.contains("client_ip=192.0.2.7 "),
        "an untrusted peer's X-Forwarded-For is not believed: {spoofed}"
    );
    let proxied = completion_line(&captured, "ip-proxied");
    assert!(
        proxied.contains("client_ip=203.0.113.9 "),
        "a trusted proxy's X-Forwarded-For is: {proxied}"
    );
    let unknown = completion_line(&captured, "ip-unknown");
    assert!(unknown.contains("client_ip= "), "{unknown}");
}

#[tokio::test]
async fn log_lines_carry_the_user_agent_cut_to_256_bytes_and_lossily_decoded() {
    let captured = captured_logs();
    let app = App::sqlite().await;
    let long = "a".repeat(300);
    let agents: [(&str, Option<HeaderValue>); 4] = [
        (
            "ua-plain",
            Some(HeaderValue::from_static("tasker-test/1.0 (log check)")),
        ),
        ("ua-long", Some(HeaderValue::from_str(&long).unwrap())),
        (
            "ua-binary",
            Some(HeaderValue::from_bytes(b"bot\xff/1").unwrap()),
        ),
        ("ua-absent", None),
    ];
    for (id, agent) in agents {
        let mut req = request(Method::GET, "/api/v1/todos/stats", Some("alice"), None);
        req.headers_mut()
            .insert("x-request-id", id.parse().unwrap());
        if let Some(agent) = agent {
            req.headers_mut().insert(header::USER_AGENT, agent);
        }
        assert_eq!(app.send(req).await.status, StatusCode::OK, "{id}");
    }

    let plain = completion_line(&captured, "ua-plain");
    assert!(
        plain.contains(r#"user_agent="tasker-test/1.0 (log check)""#),
        "{plain}"
    );
    let cut = completion_line(&captured, "ua-long");
    assert!(
        cut.contains(&format!("user_agent=\"{}\"", "a".repeat(256))),
        "{cut}"
    );
    let binary = completion_line(&captured, "ua-binary");
    assert!(binary.contains("user_agent=\"bot\u{FFFD}/1\""), "{binary}");
    let absent = completion_line(&captured, "ua-absent");
    assert!(absent.contains(r#"user_agent="""#), "{absent}");
}

#[tokio::test]
async fn the_request_span_hook_sees_each_span_and_its_headers_before_the_span_runs() {
    // A subscriber, so the span is enabled and has metadata.
    let _captured = captured_logs();
    let app = App::sqlite().await;
    // Per call: the span's name, whether it was already entered, its traceparent.
    type Seen = (Option<&'static str>, bool, String);
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let record = Arc::clone(&seen);
    let api = tasker_http::TaskerApi::builder(app.services.clone())
        .settings(quiet_settings())
        .auth_layer(crate::support::auth_layer())
        .on_request_span(move |span, headers| {
            let traceparent = headers
                .get("traceparent")
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            // Not entered yet: nothing has run inside it.
            let entered = tracing::Span::current() == *span;
            let name = span.metadata().map(|meta| meta.name());
            record.lock().unwrap().push((name, entered, traceparent));
        })
        .build();
    let traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    let mut req = request(Method::GET, "/api/v1/todos", Some("alice"), None);
    req.headers_mut()
        .insert("traceparent", traceparent.parse().unwrap());
    let response = crate::support::send_to(&api, req).await;
    assert_eq!(response.status, StatusCode::OK);
    let anonymous =
        crate::support::send_to(&api, request(Method::GET, "/api/v1/todos", None, None)).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);

    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        vec![
            (Some("request"), false, traceparent.to_owned()),
            (Some("request"), false, String::new()),
        ]
    );
}
