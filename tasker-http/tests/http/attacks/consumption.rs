//! API4, unrestricted resource consumption: body size limits and rate-limit buckets.
//!
//! Already covered: `errors::a_json_body_over_the_limit_is_413` (with and
//! without Content-Length), `attachments::an_upload_over_the_limit_is_413`,
//! `attachments::an_upload_needs_exactly_one_file_part_and_skips_other_parts`
//! (several files are 400), `rate_limit::a_spoofed_forwarded_for_does_not_bypass_the_limit`,
//! `rate_limit::an_ipv6_client_cannot_escape_its_limit_by_rotating_addresses`.

use std::{
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use bytes::Bytes;
use http::{Method, Request, StatusCode, header};
use http_body::Frame;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tasker_http::{Body, ClientAddr, body::BoxError};

use super::{id, limited};
use crate::support::{App, assert_error, cases, error_fields, quiet_settings, request};

cases!(
    api4_a_declared_length_over_the_limit_is_refused_without_reading,
    api4_an_endless_body_is_cut_off_at_the_limit,
);

/// A body that records being polled and never yields: reading it hangs.
struct Untouchable(Arc<AtomicBool>);

impl http_body::Body for Untouchable {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.0.store(true, Ordering::SeqCst);
        Poll::Pending
    }
}

/// A body that never ends, counting the bytes handed out.
struct Endless(Arc<AtomicUsize>);

const ENDLESS_CHUNK: usize = 8 * 1024;

impl http_body::Body for Endless {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.0.fetch_add(ENDLESS_CHUNK, Ordering::SeqCst);
        Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(
            &[b'x'; ENDLESS_CHUNK],
        )))))
    }
}

async fn api4_a_declared_length_over_the_limit_is_refused_without_reading(app: App) {
    let mut settings = quiet_settings();
    settings.json_body_limit = 1024;
    settings.upload_limit = 1024;
    let app = app.reconfigure(settings);
    let category = id(&app.category("alice", "C").await);
    let todo = id(&app.todo("alice", json!({"title": "T"})).await);
    let comment = id(&app
        .post(
            "alice",
            &format!("/api/v1/todos/{todo}/comments"),
            json!({"content": "c"}),
        )
        .await
        .json);
    let json_type = "application/json";
    let multipart_type = "multipart/form-data; boundary=x";
    let cases = [
        (Method::POST, "/api/v1/todos".to_owned(), json_type),
        (Method::PATCH, format!("/api/v1/todos/{todo}"), json_type),
        (Method::POST, "/api/v1/categories".to_owned(), json_type),
        (
            Method::PATCH,
            format!("/api/v1/categories/{category}"),
            json_type,
        ),
        (
            Method::POST,
            format!("/api/v1/todos/{todo}/comments"),
            json_type,
        ),
        (
            Method::PATCH,
            format!("/api/v1/comments/{comment}"),
            json_type,
        ),
        (
            Method::POST,
            format!("/api/v1/todos/{todo}/attachments"),
            multipart_type,
        ),
    ];
    for (method, path, content_type) in cases {
        let polled = Arc::new(AtomicBool::new(false));
        let mut req = request(method.clone(), &path, Some("alice"), None);
        req.headers_mut()
            .insert(header::CONTENT_TYPE, content_type.parse().unwrap());
        req.headers_mut()
            .insert(header::CONTENT_LENGTH, (1024 * 1024 * 1024u64).into());
        *req.body_mut() = Untouchable(Arc::clone(&polled)).boxed();
        let response = tokio::time::timeout(Duration::from_secs(5), app.send(req))
            .await
            .unwrap_or_else(|_| panic!("{method} {path} waited for the body"));
        assert_error(
            &response,
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
        );
        assert!(
            !polled.load(Ordering::SeqCst),
            "{method} {path} read the body"
        );
    }
    let todos = app.get("alice", "/api/v1/todos").await;
    assert_eq!(todos.json["total"], 1);
    assert_eq!(todos.json["data"][0]["attachments"], json!([]));
}

async fn api4_an_endless_body_is_cut_off_at_the_limit(app: App) {
    let mut settings = quiet_settings();
    settings.json_body_limit = 1024;
    settings.upload_limit = 1024;
    let app = app.reconfigure(settings);
    let todo = id(&app.todo("alice", json!({"title": "T"})).await);
    let cases = [
        ("/api/v1/todos".to_owned(), "application/json", 1024),
        (
            format!("/api/v1/todos/{todo}/attachments"),
            "multipart/form-data; boundary=x",
            // The file limit plus room for part headers.
            1024 + 64 * 1024,
        ),
    ];
    for (path, content_type, limit) in cases {
        let pulled = Arc::new(AtomicUsize::new(0));
        let mut req = request(Method::POST, &path, Some("alice"), None);
        req.headers_mut()
            .insert(header::CONTENT_TYPE, content_type.parse().unwrap());
        req.headers_mut().remove(header::CONTENT_LENGTH);
        *req.body_mut() = Endless(Arc::clone(&pulled)).boxed();
        let response = tokio::time::timeout(Duration::from_secs(10), app.send(req))
            .await
            .unwrap_or_else(|_| panic!("{path} kept reading"));
        assert_error(
            &response,
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
        );
        let pulled = pulled.load(Ordering::SeqCst);
        assert!(
            pulled <= limit + 2 * ENDLESS_CHUNK,
            "{path} read {pulled} bytes for a limit of {limit}"
        );
    }
    let todos = app.get("alice", "/api/v1/todos").await;
    assert_eq!(todos.json["total"], 1);
}

#[tokio::test]
async fn api4_a_body_of_many_unknown_keys_is_ignored_with_a_bounded_answer() {
    let app = App::sqlite().await;
    let todo = id(&app.todo("alice", json!({"title": "T"})).await);
    // Just under the default 1 MiB JSON limit: 60,000 keys.
    let many = |base: Value| {
        let mut body = base.as_object().unwrap().clone();
        for n in 0..60_000 {
            body.insert(format!("k{n}"), json!(0));
        }
        Value::Object(body)
    };
    let mut metadata = serde_json::Map::new();
    for n in 0..60_000 {
        metadata.insert(format!("k{n}"), json!(0));
    }
    let cases = [
        (
            Method::POST,
            "/api/v1/todos".to_owned(),
            many(json!({"title": ""})),
            "title",
        ),
        (
            Method::PATCH,
            format!("/api/v1/todos/{todo}"),
            many(json!({"title": ""})),
            "title",
        ),
        (
            Method::POST,
            "/api/v1/todos".to_owned(),
            json!({"title": "", "metadata": metadata}),
            "title",
        ),
        (
            Method::POST,
            "/api/v1/categories".to_owned(),
            many(json!({"name": ""})),
            "name",
        ),
        (
            Method::POST,
            format!("/api/v1/todos/{todo}/comments"),
            many(json!({"content": ""})),
            "content",
        ),
    ];
    for (method, path, body, first) in cases {
        let size = body.to_string().len();
        assert!(size < 1024 * 1024, "{size}");
        let response = app
            .send(request(method.clone(), &path, Some("alice"), Some(body)))
            .await;
        assert_error(&response, StatusCode::BAD_REQUEST, "VALIDATION_FAILED");
        // The unknown keys are ignored: only the real field's error is told.
        assert_eq!(error_fields(&response), vec![first], "{method} {path}");
        assert!(
            response.bytes.len() < 16 * 1024,
            "{method} {path}: {size} bytes answered with {}",
            response.bytes.len()
        );
    }
    assert_eq!(app.get("alice", "/api/v1/todos").await.json["total"], 1);

    // A valid body with as many unknown keys is stored without them.
    let body = many(json!({"title": "Many keys", "metadata": {"mood": 1}}));
    let response = app
        .send(request(
            Method::POST,
            "/api/v1/todos",
            Some("alice"),
            Some(body),
        ))
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.json);
    assert_eq!(response.json["metadata"], json!({}));
    assert!(response.bytes.len() < 16 * 1024, "{}", response.bytes.len());
}

fn from_peer(peer: &str, headers: &[(&str, String)]) -> Request<Body> {
    let mut req = request(Method::GET, "/status", None, None);
    req.extensions_mut()
        .insert(ClientAddr(peer.parse().unwrap()));
    for (name, value) in headers {
        req.headers_mut().append(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    req
}

#[tokio::test]
async fn api4_no_forwarding_header_moves_a_client_to_another_bucket() {
    let app = App::sqlite().await.reconfigure(limited(1, 2));
    let spoofs = |n: usize| -> Vec<(&'static str, String)> {
        vec![
            ("x-forwarded-for", format!("198.51.100.{n}")),
            ("x-real-ip", format!("198.51.100.{n}")),
            ("forwarded", format!("for=198.51.100.{n}")),
            ("true-client-ip", format!("198.51.100.{n}")),
            ("cf-connecting-ip", format!("198.51.100.{n}")),
            ("x-client-ip", format!("198.51.100.{n}")),
        ]
    };
    for n in 0..2 {
        let ok = app.send(from_peer("10.20.0.1:1000", &spoofs(n))).await;
        assert_eq!(ok.status, StatusCode::OK);
    }
    for n in 2..6 {
        let refused = app.send(from_peer("10.20.0.1:1000", &spoofs(n))).await;
        assert_error(&refused, StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED");
    }
    // The same client over an IPv4-mapped IPv6 socket is the same client.
    let mapped = app.send(from_peer("[::ffff:10.20.0.1]:1000", &[])).await;
    assert_eq!(mapped.status, StatusCode::TOO_MANY_REQUESTS);

    // Behind a trusted proxy, addresses the client prepends to
    // X-Forwarded-For are not the client: the proxy's last entry is.
    let mut settings = limited(1, 2);
    settings.rate_limit.trusted_proxies = vec!["10.0.0.1".parse().unwrap()];
    let app = app.reconfigure(settings);
    let via_proxy = |spoofed: &str, client: &str| {
        from_peer(
            "10.0.0.1:443",
            &[("x-forwarded-for", format!("{spoofed}, {client}"))],
        )
    };
    for n in 0..2 {
        let ok = app
            .send(via_proxy(&format!("192.0.2.{n}"), "203.0.113.7"))
            .await;
        assert_eq!(ok.status, StatusCode::OK);
    }
    for n in 2..5 {
        let refused = app
            .send(via_proxy(&format!("192.0.2.{n}"), "203.0.113.7"))
            .await;
        assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    }
    // Another client behind the same proxy has its own bucket.
    let other = app.send(via_proxy("192.0.2.1", "203.0.113.8")).await;
    assert_eq!(other.status, StatusCode::OK);
}
