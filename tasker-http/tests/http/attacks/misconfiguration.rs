//! API8, security misconfiguration: internal errors, CORS and caching of user data.
//!
//! Already covered: `errors::a_panic_becomes_a_500_that_tells_nothing_internal`,
//! `errors::a_closed_pool_is_a_503_with_retry_after`,
//! `errors::connections_cut_by_postgresql_give_503_then_recover`,
//! `layers::cors_answers_configured_origins_only` (a preflight from another
//! origin gets no Access-Control-Allow-Origin),
//! `layers::security_headers_are_on_every_response_and_hsts_when_configured`.

use http::{HeaderMap, Method, StatusCode, header};
use serde_json::{Value, json};

use super::{download, id, limited, raw, upload_request, uuid};
use crate::support::{App, TestResponse, assert_error, cases, quiet_settings, request, send_to};

cases!(
    api8_a_storage_failure_answers_only_the_generic_message,
    api8_every_user_data_response_is_private_or_no_store,
);

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
