//! Attacks, by OWASP API Security Top 10 (2023) item. Each test tries what an
//! attacker would and checks that it fails and changes nothing. Cases that
//! other modules already cover are not repeated here (see `isolation`,
//! `auth`, `errors`, `layers`, `rate_limit`, `attachments`, `document`).

use std::{
    collections::BTreeSet,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode, header};
use http_body::Frame;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tasker_http::{Body, ClientAddr, HttpSettings, MatchedRoute, body::BoxError};
use time::OffsetDateTime;
use tower::ServiceExt;

use crate::support::{
    App, SECRET, TestResponse, assert_error, cases, error_fields, quiet_settings, request, send_to,
};

cases!(
    api1_foreign_ids_in_paths_and_bodies_are_not_found_and_change_nothing,
    api3_server_owned_and_unknown_fields_are_ignored_and_never_applied,
    api4_a_declared_length_over_the_limit_is_refused_without_reading,
    api4_an_endless_body_is_cut_off_at_the_limit,
    api8_a_storage_failure_answers_only_the_generic_message,
    api8_every_user_data_response_is_private_or_no_store,
);

// ---------------------------------------------------------------------------
// Helpers

fn uuid() -> String {
    uuid::Uuid::now_v7().to_string()
}

fn id(value: &Value) -> String {
    value["id"].as_str().expect("an id").to_owned()
}

/// A multipart body with one part per `(field, file name, bytes)`.
fn multipart(parts: &[(&str, &str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "attack-boundary";
    let mut body = Vec::new();
    for (field, name, content) in parts {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; \
                 filename=\"{name}\"\r\nContent-Type: text/plain\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// An upload request of one file as `user`.
fn upload_request(user: &str, todo: &str, content: &[u8]) -> Request<Body> {
    let (content_type, body) = multipart(&[("file", "f.txt", content)]);
    let mut req = request(
        Method::POST,
        &format!("/api/v1/todos/{todo}/attachments"),
        Some(user),
        None,
    );
    req.headers_mut()
        .insert(header::CONTENT_TYPE, content_type.parse().unwrap());
    req.headers_mut()
        .insert(header::CONTENT_LENGTH, body.len().into());
    *req.body_mut() = tasker_http::body::full(body);
    req
}

/// The path of a download URL (`http://host/api/v1/files/…` → `/api/v1/files/…`).
fn path_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest[rest.find('/').unwrap()..].to_owned()
}

/// Fetches the file of an attachment through a fresh download link.
async fn download(app: &App, user: &str, todo: &str, attachment: &str) -> TestResponse {
    let link = app
        .get(
            user,
            &format!("/api/v1/todos/{todo}/attachments/{attachment}/download"),
        )
        .await;
    assert_eq!(link.status, StatusCode::OK, "{}", link.json);
    let url = link.json["url"].as_str().unwrap();
    app.send(request(Method::GET, &path_of(url), None, None))
        .await
}

/// Calls the API without checking the answer against the document (for
/// probes whose answers are not the point).
async fn raw(app: &App, req: Request<Body>) -> http::Response<Body> {
    app.api.clone().oneshot(req).await.expect("infallible")
}

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

// ---------------------------------------------------------------------------
// API1: broken object level authorization
//
// Already covered by `isolation::another_users_ids_are_404_everywhere_and_change_nothing`:
// every route with one of Alice's ids in the path, Alice's `parentTodoId` and
// `categoryId` in a created todo, and both as list filters. Here: subtask
// ids, ids mixed from two owners, uploads, ids in updates, and whether a
// foreign id can be told apart from one that does not exist.

async fn api1_foreign_ids_in_paths_and_bodies_are_not_found_and_change_nothing(app: App) {
    // Alice's world.
    let category = id(&app.category("alice", "Private").await);
    let todo = id(&app
        .todo("alice", json!({"title": "Secret", "categoryId": category}))
        .await);
    let subtask = id(&app
        .todo("alice", json!({"title": "Sub", "parentTodoId": todo}))
        .await);
    let comment = app
        .post(
            "alice",
            &format!("/api/v1/todos/{todo}/comments"),
            json!({"content": "mine"}),
        )
        .await;
    assert_eq!(comment.status, StatusCode::CREATED);
    let uploaded = app
        .send(upload_request("alice", &todo, b"alice's file"))
        .await;
    assert_eq!(uploaded.status, StatusCode::CREATED, "{}", uploaded.json);
    let attachment = id(&uploaded.json);
    // Bob's.
    let bobs_todo = id(&app.todo("bob", json!({"title": "Bob's"})).await);
    let bobs_upload = app
        .send(upload_request("bob", &bobs_todo, b"bob's file"))
        .await;
    assert_eq!(bobs_upload.status, StatusCode::CREATED);
    let bobs_attachment = id(&bobs_upload.json);

    let alices_views = [
        format!("/api/v1/todos/{todo}"),
        format!("/api/v1/todos/{subtask}"),
        format!("/api/v1/todos/{todo}/comments"),
        format!("/api/v1/categories/{category}"),
        "/api/v1/todos".to_owned(),
        format!("/api/v1/todos?parentTodoId={todo}"),
        "/api/v1/todos/stats".to_owned(),
        "/api/v1/categories".to_owned(),
    ];
    let mut before = Vec::new();
    for path in &alices_views {
        before.push(app.get("alice", path).await.json);
    }

    let cases: Vec<(Method, String, Option<Value>)> = vec![
        // A subtask's id on every todo route.
        (Method::GET, format!("/api/v1/todos/{subtask}"), None),
        (
            Method::PATCH,
            format!("/api/v1/todos/{subtask}"),
            Some(json!({"title": "pwned"})),
        ),
        (Method::DELETE, format!("/api/v1/todos/{subtask}"), None),
        (
            Method::GET,
            format!("/api/v1/todos/{subtask}/comments"),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/todos/{subtask}/comments"),
            Some(json!({"content": "x"})),
        ),
        // Ids of two owners in one path.
        (
            Method::DELETE,
            format!("/api/v1/todos/{bobs_todo}/attachments/{attachment}"),
            None,
        ),
        (
            Method::GET,
            format!("/api/v1/todos/{bobs_todo}/attachments/{attachment}/download"),
            None,
        ),
        (
            Method::DELETE,
            format!("/api/v1/todos/{todo}/attachments/{bobs_attachment}"),
            None,
        ),
        (
            Method::GET,
            format!("/api/v1/todos/{todo}/attachments/{bobs_attachment}/download"),
            None,
        ),
        // Alice's ids inside Bob's updates and creations.
        (
            Method::PATCH,
            format!("/api/v1/todos/{bobs_todo}"),
            Some(json!({"categoryId": category})),
        ),
        (
            Method::PATCH,
            format!("/api/v1/todos/{bobs_todo}"),
            Some(json!({"parentTodoId": todo})),
        ),
        (
            Method::PATCH,
            format!("/api/v1/todos/{bobs_todo}"),
            Some(json!({"parentTodoId": subtask})),
        ),
        (
            Method::POST,
            "/api/v1/todos".into(),
            Some(json!({"title": "x", "parentTodoId": subtask})),
        ),
        (
            Method::POST,
            "/api/v1/todos".into(),
            Some(json!({"title": "x", "parentTodoId": todo, "categoryId": category})),
        ),
    ];
    let alices_ids = [&todo, &subtask, &category, &attachment];
    for (method, path, body) in cases {
        let foreign = app
            .send(request(method.clone(), &path, Some("bob"), body.clone()))
            .await;
        assert_eq!(
            foreign.status,
            StatusCode::NOT_FOUND,
            "{method} {path} {body:?}: {}",
            foreign.json
        );
        // The same request with ids that exist nowhere: the answer must not
        // tell Bob whether Alice's ids exist.
        let mut unknown_path = path.clone();
        let mut unknown_body = body.as_ref().map(Value::to_string);
        for alices in alices_ids {
            let fresh = uuid();
            unknown_path = unknown_path.replace(alices.as_str(), &fresh);
            unknown_body = unknown_body.map(|b| b.replace(alices.as_str(), &fresh));
        }
        let unknown_body = unknown_body.map(|b| serde_json::from_str(&b).unwrap());
        let unknown = app
            .send(request(
                method.clone(),
                &unknown_path,
                Some("bob"),
                unknown_body,
            ))
            .await;
        assert_eq!(
            (
                unknown.status,
                &unknown.json["code"],
                &unknown.json["message"]
            ),
            (
                foreign.status,
                &foreign.json["code"],
                &foreign.json["message"]
            ),
            "{method} {path}: Alice's ids are told apart from unknown ones"
        );
    }
    // Bob uploads to Alice's todo.
    let upload = app
        .send(upload_request("bob", &todo, b"bob's payload"))
        .await;
    assert_error(&upload, StatusCode::NOT_FOUND, "TODO_NOT_FOUND");
    let upload = app
        .send(upload_request("bob", &subtask, b"bob's payload"))
        .await;
    assert_error(&upload, StatusCode::NOT_FOUND, "TODO_NOT_FOUND");

    // Nothing of Alice's changed.
    for (path, before) in alices_views.iter().zip(&before) {
        let after = app.get("alice", path).await;
        assert_eq!(after.status, StatusCode::OK);
        assert_eq!(&after.json, before, "alice's {path} changed");
    }
    let file = download(&app, "alice", &todo, &attachment).await;
    assert_eq!(&file.bytes[..], b"alice's file");
    // Nothing of Bob's got linked to Alice's.
    let bobs = app.get("bob", "/api/v1/todos").await;
    assert_eq!(bobs.json["total"], 1, "{}", bobs.json);
    let mine = app.get("bob", &format!("/api/v1/todos/{bobs_todo}")).await;
    assert_eq!(mine.json["categoryId"], Value::Null);
    assert_eq!(mine.json["parentTodoId"], Value::Null);
    assert_eq!(mine.json["attachments"].as_array().unwrap().len(), 1);
    let file = download(&app, "bob", &bobs_todo, &bobs_attachment).await;
    assert_eq!(&file.bytes[..], b"bob's file");
}

// ---------------------------------------------------------------------------
// API2: broken authentication
//
// The token checks themselves are covered in `auth` (see the report list);
// here: the API as a whole refuses every kind of bad token on every user
// route, and path tricks do not reach a user route without a token.

/// Claims for `alice`, valid for an hour.
fn good_claims() -> Value {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    json!({ "sub": "alice", "iat": now, "exp": now + 3600 })
}

fn hs256(claims: &Value, secret: &[u8]) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .expect("sign")
}

fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

fn without(mut claims: Value, key: &str) -> Value {
    claims.as_object_mut().unwrap().remove(key);
    claims
}

/// Tokens for `alice` that must all be refused.
fn bad_tokens() -> Vec<(&'static str, String)> {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let secret = SECRET.as_bytes();
    let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(good_claims().to_string());
    vec![
        ("alg none", format!("{none_header}.{payload}.")),
        (
            "other secret",
            hs256(&good_claims(), b"not-the-secret-but-long-enough-123"),
        ),
        (
            "expired",
            hs256(&with(good_claims(), "exp", json!(now - 3600)), secret),
        ),
        (
            "not yet valid",
            hs256(&with(good_claims(), "nbf", json!(now + 3600)), secret),
        ),
        (
            "exp as string",
            hs256(
                &with(good_claims(), "exp", json!((now + 3600).to_string())),
                secret,
            ),
        ),
        ("no exp", hs256(&without(good_claims(), "exp"), secret)),
        ("no sub", hs256(&without(good_claims(), "sub"), secret)),
        ("garbage", "not.a.token".to_owned()),
    ]
}

#[tokio::test]
async fn api2_every_user_route_refuses_every_bad_token() {
    let app = App::sqlite().await;
    let todo = id(&app.todo("alice", json!({"title": "T"})).await);
    let before = app
        .get("alice", &format!("/api/v1/todos/{todo}"))
        .await
        .json;
    let document = crate::support::document();
    let mut probed = 0;
    for (template, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if !requires_token(document, operation) {
                continue;
            }
            let path = concrete(template, &todo);
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            for (what, bad) in bad_tokens() {
                let mut req = request(method.clone(), &path, None, Some(json!({"title": "x"})));
                req.headers_mut().insert(
                    header::AUTHORIZATION,
                    format!("Bearer {bad}").parse().unwrap(),
                );
                let response = app.send(req).await;
                assert_error(&response, StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
                assert_eq!(
                    response.headers[header::WWW_AUTHENTICATE],
                    "Bearer",
                    "{method} {path} with {what}"
                );
                probed += 1;
            }
        }
    }
    assert!(probed >= 15 * 8, "only {probed} probes");
    let after = app
        .get("alice", &format!("/api/v1/todos/{todo}"))
        .await
        .json;
    assert_eq!(after, before);
    assert_eq!(app.get("alice", "/api/v1/todos").await.json["total"], 1);
}

#[tokio::test]
async fn api2_path_tricks_do_not_reach_user_routes_without_a_token() {
    let app = App::sqlite().await;
    app.todo("alice", json!({"title": "T"})).await;
    for path in [
        "/api/v1/files/../todos",
        "/api/v1/files/x/../../todos",
        "/api/v1/files/%2e%2e/todos",
        "/docs/../api/v1/todos",
        "/docs/..%2fapi%2fv1%2ftodos",
        "/status/../api/v1/todos",
        "/api/v1/todos/",
        "/api/v1//todos",
        "//api/v1/todos",
        "/API/V1/TODOS",
        "/api/v1/todos%2fstats",
        "/api/v1/todos?next=/docs/",
    ] {
        let response = raw(&app, request(Method::GET, path, None, None)).await;
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        assert!(
            status == StatusCode::UNAUTHORIZED || status == StatusCode::NOT_FOUND,
            "{path}: {status}"
        );
        assert!(
            !String::from_utf8_lossy(&bytes).contains("\"title\""),
            "{path} leaked a todo"
        );
    }
}

// ---------------------------------------------------------------------------
// API3: broken object property level authorization
//
// Server-owned keys (`id`, `userId`, `createdAt`, `todoId`, …) and keys no
// schema names are ignored, as the Go service and its contract did, and are
// never applied: here every create and update body of todos, categories and
// comments, with every server-owned key, succeeds without taking the key.

async fn api3_server_owned_and_unknown_fields_are_ignored_and_never_applied(app: App) {
    let category = id(&app.category("alice", "Home").await);
    let todo = id(&app.todo("alice", json!({"title": "Original"})).await);
    let other_todo = id(&app.todo("alice", json!({"title": "Other"})).await);
    let comment = app
        .post(
            "alice",
            &format!("/api/v1/todos/{todo}/comments"),
            json!({"content": "original"}),
        )
        .await;
    let comment = id(&comment.json);

    // What no request below may change.
    let untouched = [
        format!("/api/v1/todos/{other_todo}"),
        format!("/api/v1/todos/{other_todo}/comments"),
    ];
    let mut before = Vec::new();
    for path in &untouched {
        before.push(app.get("alice", path).await.json);
    }

    let past = "2000-01-01T00:00:00Z";
    let injected: Vec<(&str, Value)> = vec![
        ("id", json!(uuid())),
        ("userId", json!("mallory")),
        ("createdAt", json!(past)),
        ("updatedAt", json!(past)),
        ("completedAt", json!(past)),
        ("todoId", json!(other_todo)),
        ("sortOrder", json!(-1)),
        ("user_id", json!("mallory")),
        ("isAdmin", json!(true)),
        ("status", json!("completed")),
    ];
    let endpoints: Vec<(Method, String, Value)> = vec![
        (
            Method::POST,
            "/api/v1/todos".into(),
            json!({"title": "New"}),
        ),
        (
            Method::PATCH,
            format!("/api/v1/todos/{todo}"),
            json!({"title": "Changed"}),
        ),
        (
            Method::POST,
            "/api/v1/categories".into(),
            json!({"name": "New"}),
        ),
        (
            Method::PATCH,
            format!("/api/v1/categories/{category}"),
            json!({"name": "Changed"}),
        ),
        (
            Method::POST,
            format!("/api/v1/todos/{todo}/comments"),
            json!({"content": "new"}),
        ),
        (
            Method::PATCH,
            format!("/api/v1/comments/{comment}"),
            json!({"content": "changed"}),
        ),
    ];
    for (method, path, base) in &endpoints {
        for (n, (field, value)) in injected.iter().enumerate() {
            // `status` is a real field of a todo update.
            if *field == "status" && *method == Method::PATCH && path.starts_with("/api/v1/todos") {
                continue;
            }
            let mut body = base.clone();
            // Category names are unique per user: one per request.
            if let Some(name) = body.get("name").and_then(Value::as_str) {
                body["name"] = json!(format!("{name} {n}"));
            }
            body[*field] = value.clone();
            let response = app
                .send(request(method.clone(), path, Some("alice"), Some(body)))
                .await;
            let what = format!("{method} {path} with {field}");
            assert!(
                response.status.is_success(),
                "{what}: {} {}",
                response.status,
                response.json
            );
            let got = &response.json;
            assert_eq!(got["userId"], "alice", "{what}");
            assert_ne!(&got[*field], value, "{what}: the key was applied");
            if *field == "createdAt" || *field == "updatedAt" {
                assert!(got[*field].as_str().unwrap() > past, "{what}");
            }
            if *field == "todoId" && path.contains("comments") {
                assert_eq!(got["todoId"], json!(todo), "{what}");
            }
        }
    }
    for (path, before) in untouched.iter().zip(&before) {
        assert_eq!(&app.get("alice", path).await.json, before, "{path} changed");
    }
    for path in ["/api/v1/todos", "/api/v1/categories"] {
        assert_eq!(app.get("mallory", path).await.json["total"], 0);
    }
}

// ---------------------------------------------------------------------------
// API4: unrestricted resource consumption
//
// Already covered: `errors::a_json_body_over_the_limit_is_413` (with and
// without Content-Length), `attachments::an_upload_over_the_limit_is_413`,
// `attachments::an_upload_needs_exactly_one_file_part_and_skips_other_parts`
// (several files are 400), `rate_limit::a_spoofed_forwarded_for_does_not_bypass_the_limit`,
// `rate_limit::an_ipv6_client_cannot_escape_its_limit_by_rotating_addresses`.

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

fn limited(per_second: u32, burst: u32) -> HttpSettings {
    let mut settings = quiet_settings();
    settings.rate_limit.enabled = true;
    settings.rate_limit.per_second = per_second;
    settings.rate_limit.burst = Some(burst);
    settings.rate_limit.per_user_per_second = Some(1000);
    settings.rate_limit.per_user_burst = Some(1000);
    settings
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

// ---------------------------------------------------------------------------
// API8: security misconfiguration
//
// Already covered: `errors::a_panic_becomes_a_500_that_tells_nothing_internal`,
// `errors::a_closed_pool_is_a_503_with_retry_after`,
// `errors::connections_cut_by_postgresql_give_503_then_recover`,
// `layers::cors_answers_configured_origins_only` (a preflight from another
// origin gets no Access-Control-Allow-Origin),
// `layers::security_headers_are_on_every_response_and_hsts_when_configured`.

/// Words of database errors that must never reach a client.
const INTERNAL_WORDS: &[&str] = &[
    "relation",
    "table",
    "column",
    "sqlx",
    "sqlite",
    "postgres",
    "select ",
    "insert ",
    "does not exist",
    "no such",
    "error returned",
    "storage",
    "todos",
    "categories",
];

async fn api8_a_storage_failure_answers_only_the_generic_message(app: App) {
    let todo = id(&app.todo("alice", json!({"title": "T"})).await);
    // Break the schema of this case's own database.
    match app.test_store.store.pool() {
        tasker_core::store::Pool::Postgres(pool) => {
            sqlx::raw_sql("DROP TABLE comments, attachments, todos, categories CASCADE")
                .execute(pool)
                .await
                .expect("drop tables");
        }
        tasker_core::store::Pool::Sqlite(pool) => {
            sqlx::raw_sql(
                "PRAGMA foreign_keys = OFF; DROP TABLE comments; DROP TABLE attachments; \
                 DROP TABLE todos; DROP TABLE categories;",
            )
            .execute(pool)
            .await
            .expect("drop tables");
        }
        _ => panic!("unexpected store {}", app.test_store.store.backend()),
    }
    let cases: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, "/api/v1/todos".into(), None),
        (
            Method::POST,
            "/api/v1/todos".into(),
            Some(json!({"title": "x"})),
        ),
        (Method::GET, format!("/api/v1/todos/{todo}"), None),
        (
            Method::PATCH,
            format!("/api/v1/todos/{todo}"),
            Some(json!({"title": "y"})),
        ),
        (Method::DELETE, format!("/api/v1/todos/{todo}"), None),
        (Method::GET, "/api/v1/todos/stats".into(), None),
        (Method::GET, format!("/api/v1/todos/{todo}/comments"), None),
        (
            Method::POST,
            format!("/api/v1/todos/{todo}/comments"),
            Some(json!({"content": "c"})),
        ),
        (Method::GET, "/api/v1/categories".into(), None),
        (
            Method::POST,
            "/api/v1/categories".into(),
            Some(json!({"name": "n"})),
        ),
        (Method::GET, format!("/api/v1/categories/{}", uuid()), None),
    ];
    for (method, path, body) in cases {
        let response = app
            .send(request(method.clone(), &path, Some("alice"), body))
            .await;
        assert!(
            response.status.is_server_error(),
            "{method} {path}: {} {}",
            response.status,
            response.json
        );
        assert_error(
            &response,
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_SERVER_ERROR",
        );
        assert_eq!(response.json["message"], "Something went wrong on our side");
        assert_eq!(response.json["errors"], Value::Null);
        assert_eq!(response.json["action"], Value::Null);
        assert_no_internal_words(&response.bytes, &format!("{method} {path}"));
    }
    // The public status page says the database is down, and no more.
    let status = app.send(request(Method::GET, "/status", None, None)).await;
    assert_eq!(status.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        status.json["checks"]["database"]["error"],
        "database unreachable"
    );
    assert_no_internal_words(&status.bytes, "/status");
}

#[track_caller]
fn assert_no_internal_words(bytes: &[u8], what: &str) {
    let text = String::from_utf8_lossy(bytes).to_ascii_lowercase();
    for word in INTERNAL_WORDS {
        assert!(!text.contains(word), "{what} tells {word:?}: {text}");
    }
}

#[tokio::test]
async fn api8_cors_allows_no_lookalike_origin_and_is_off_unless_configured() {
    let preflight = |origin: &str| {
        let mut req = request(Method::OPTIONS, "/api/v1/todos", None, None);
        let headers = req.headers_mut();
        headers.insert(header::ORIGIN, origin.parse().unwrap());
        headers.insert(
            header::ACCESS_CONTROL_REQUEST_METHOD,
            "DELETE".parse().unwrap(),
        );
        headers.insert(
            header::ACCESS_CONTROL_REQUEST_HEADERS,
            "authorization".parse().unwrap(),
        );
        req
    };
    let simple = |origin: &str| {
        let mut req = request(Method::GET, "/api/v1/todos", Some("alice"), None);
        req.headers_mut()
            .insert(header::ORIGIN, origin.parse().unwrap());
        req
    };
    // Not configured: no CORS headers for anyone.
    let app = App::sqlite().await;
    for req in [
        preflight("https://app.example.com"),
        simple("https://app.example.com"),
    ] {
        let response = raw(&app, req).await;
        assert!(
            no_cors_grant(response.headers()),
            "{:?}",
            response.headers()
        );
    }
    let mut settings = quiet_settings();
    settings.cors.allowed_origins = vec!["https://app.example.com".into()];
    let app = app.reconfigure(settings);
    for origin in [
        "https://app.example.com.evil.example",
        "https://evil-app.example.com",
        "https://evil.app.example.com",
        "http://app.example.com",
        "https://app.example.com:8443",
        "https://app.example.co",
        "null",
        "https://app.example.com/",
    ] {
        let response = raw(&app, preflight(origin)).await;
        assert!(
            no_cors_grant(response.headers()),
            "preflight from {origin}: {:?}",
            response.headers()
        );
        let response = app.send(simple(origin)).await;
        assert!(
            no_cors_grant(&response.headers),
            "GET from {origin}: {:?}",
            response.headers
        );
    }
    // The configured origin is answered with itself, without credentials.
    let allowed = raw(&app, preflight("https://app.example.com")).await;
    assert_eq!(
        allowed.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://app.example.com"
    );
    assert!(
        !allowed
            .headers()
            .contains_key(header::ACCESS_CONTROL_ALLOW_CREDENTIALS)
    );
}

fn no_cors_grant(headers: &HeaderMap) -> bool {
    !headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN)
        && !headers.contains_key(header::ACCESS_CONTROL_ALLOW_CREDENTIALS)
}

async fn api8_every_user_data_response_is_private_or_no_store(app: App) {
    let mut seen = Vec::new();
    let mut check = |what: &str, response: &TestResponse| {
        let value = response
            .headers
            .get(header::CACHE_CONTROL)
            .map(|v| v.to_str().unwrap().to_ascii_lowercase());
        let private = value.as_deref().is_some_and(|v| {
            (v.contains("no-store") || v.contains("private")) && !v.contains("public")
        });
        assert!(
            private,
            "{what} ({}): Cache-Control {value:?}",
            response.status
        );
        seen.push(response.status);
    };
    let category = app
        .post("alice", "/api/v1/categories", json!({"name": "C"}))
        .await;
    check("create category", &category);
    let category = id(&category.json);
    let todo = app
        .post(
            "alice",
            "/api/v1/todos",
            json!({"title": "T", "categoryId": category}),
        )
        .await;
    check("create todo", &todo);
    let todo = id(&todo.json);
    let comment = app
        .post(
            "alice",
            &format!("/api/v1/todos/{todo}/comments"),
            json!({"content": "c"}),
        )
        .await;
    check("add comment", &comment);
    let comment = id(&comment.json);
    let upload = app.send(upload_request("alice", &todo, b"data")).await;
    check("upload", &upload);
    let attachment = id(&upload.json);
    for path in [
        "/api/v1/todos".to_owned(),
        "/api/v1/todos/stats".to_owned(),
        format!("/api/v1/todos/{todo}"),
        format!("/api/v1/todos/{todo}/comments"),
        "/api/v1/categories".to_owned(),
        format!("/api/v1/categories/{category}"),
        format!("/api/v1/todos/{todo}/attachments/{attachment}/download"),
    ] {
        check(&path, &app.get("alice", &path).await);
    }
    check(
        "update todo",
        &app.patch(
            "alice",
            &format!("/api/v1/todos/{todo}"),
            json!({"title": "U"}),
        )
        .await,
    );
    check(
        "update category",
        &app.patch(
            "alice",
            &format!("/api/v1/categories/{category}"),
            json!({"name": "D"}),
        )
        .await,
    );
    check(
        "update comment",
        &app.patch(
            "alice",
            &format!("/api/v1/comments/{comment}"),
            json!({"content": "d"}),
        )
        .await,
    );
    check("file", &download(&app, "alice", &todo, &attachment).await);
    // A revalidation that is not modified.
    let current = app.get("alice", &format!("/api/v1/todos/{todo}")).await;
    let mut req = request(
        Method::GET,
        &format!("/api/v1/todos/{todo}"),
        Some("alice"),
        None,
    );
    req.headers_mut()
        .insert(header::IF_NONE_MATCH, current.headers[header::ETAG].clone());
    let not_modified = app.send(req).await;
    assert_eq!(not_modified.status, StatusCode::NOT_MODIFIED);
    check("304", &not_modified);
    // Errors, which may name user data too.
    check(
        "404",
        &app.get("alice", &format!("/api/v1/todos/{}", uuid())).await,
    );
    check(
        "400",
        &app.post("alice", "/api/v1/todos", json!({"title": ""}))
            .await,
    );
    check(
        "409",
        &app.post("alice", "/api/v1/categories", json!({"name": "D"}))
            .await,
    );
    check(
        "401",
        &app.send(request(Method::GET, "/api/v1/todos", None, None))
            .await,
    );
    let limited_api = tasker_http::TaskerApi::builder(app.services.clone())
        .settings(limited(1, 1))
        .auth_layer(crate::support::auth_layer())
        .build();
    let first = request(Method::GET, "/api/v1/todos", Some("alice"), None);
    check("200 under a limit", &send_to(&limited_api, first).await);
    let second = request(Method::GET, "/api/v1/todos", Some("alice"), None);
    let refused = send_to(&limited_api, second).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    check("429", &refused);
    assert!(seen.len() >= 22, "{seen:?}");
}

// ---------------------------------------------------------------------------
// API9: improper inventory management
//
// Already covered by `document::every_route_is_documented_and_every_documented_route_exists`
// (the route table against the in-memory document). Here: the router is
// probed with every method on every path of the *served* document, security
// requirements are checked against what the server really demands, and
// undocumented paths are 404.

const METHODS: &[&str] = &[
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE",
];

/// A request path for a document template (`{id}` → a todo id).
fn concrete(template: &str, todo: &str) -> String {
    template
        .replace("{id}", todo)
        .replace("{attachmentId}", &uuid::Uuid::nil().to_string())
        .replace("{token}", "not-a-token")
        .replace("{asset}", "swagger-initializer.js")
}

/// Whether the document says the operation needs a bearer token.
fn requires_token(document: &Value, operation: &Value) -> bool {
    let security = operation
        .get("security")
        .unwrap_or(&document["security"])
        .as_array()
        .cloned()
        .unwrap_or_default();
    !security.is_empty()
        && !security
            .iter()
            .any(|s| s.as_object().is_some_and(|o| o.is_empty()))
}

#[tokio::test]
async fn api9_the_router_answers_exactly_what_the_served_document_lists() {
    let app = App::sqlite().await;
    let served = app
        .send(request(Method::GET, "/openapi.json", None, None))
        .await;
    assert_eq!(served.status, StatusCode::OK);
    let document = served.json;
    let todo = id(&app.todo("alice", json!({"title": "T"})).await);

    let mut documented = BTreeSet::new();
    for (template, item) in document["paths"].as_object().unwrap() {
        let path = concrete(template, &todo);
        let listed: BTreeSet<String> = item
            .as_object()
            .unwrap()
            .keys()
            .map(|m| m.to_uppercase())
            .filter(|m| METHODS.contains(&m.as_str()))
            .collect();
        for method in METHODS {
            let req = request(
                Method::from_bytes(method.as_bytes()).unwrap(),
                &path,
                Some("alice"),
                None,
            );
            let response = raw(&app, req).await;
            let route = response.extensions().get::<MatchedRoute>().map(|r| r.0);
            assert_eq!(route, Some(template.as_str()), "{method} {path}");
            if listed.contains(*method) {
                assert_ne!(
                    response.status(),
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {template} is documented but not answered"
                );
                documented.insert(((*method).to_owned(), template.clone()));
            } else {
                assert_eq!(
                    response.status(),
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {template} is answered but not documented"
                );
                let allow: BTreeSet<String> = response.headers()[header::ALLOW]
                    .to_str()
                    .unwrap()
                    .split(',')
                    .map(|m| m.trim().to_owned())
                    .collect();
                assert_eq!(allow, listed, "Allow of {template}");
            }
        }
        // What the document says about tokens is what the server demands.
        for method in &listed {
            let operation = &item[method.to_lowercase()];
            let req = request(
                Method::from_bytes(method.as_bytes()).unwrap(),
                &path,
                None,
                None,
            );
            let status = raw(&app, req).await.status();
            assert_eq!(
                status == StatusCode::UNAUTHORIZED,
                requires_token(&document, operation),
                "{method} {template} without a token: {status}"
            );
        }
    }
    let routed: BTreeSet<(String, String)> = tasker_http::routes()
        .map(|(method, path)| (method.to_string(), path.to_owned()))
        .collect();
    assert_eq!(documented, routed);

    for path in [
        "/",
        "/admin",
        "/admin/jobs",
        "/metrics",
        "/debug",
        "/.env",
        "/.git/config",
        "/api",
        "/api/v1",
        "/api/v2/todos",
        "/api/v0/todos",
        "/api/v1/users",
        "/api/v1/users/alice",
        "/api/v1/comments",
        "/api/v1/attachments",
        "/api/v1/files",
        "/api/v1/files/",
        "/api/v1/todos/stats/all",
        "/api/v1/todos/x/y/z",
        "/api/v1/todos/x/comments/y",
        "/api/v1/todos/x/attachments/y/z",
        "/api/v1/categories/x/todos",
        "/api/todos",
        "/openapi.yaml",
        "/swagger.json",
        "/api/v1/openapi.json",
    ] {
        for method in ["GET", "POST", "DELETE"] {
            let req = request(
                Method::from_bytes(method.as_bytes()).unwrap(),
                path,
                Some("alice"),
                None,
            );
            let response = app.send(req).await;
            assert_error(&response, StatusCode::NOT_FOUND, "ROUTE_NOT_FOUND");
            assert_eq!(response.route, None, "{method} {path}");
        }
    }
}
