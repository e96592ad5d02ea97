//! Every failure has the reference error body.

use std::{convert::Infallible, time::Duration};

use http::{Method, Request, Response, StatusCode, header};
use serde_json::json;
use tasker_http::{Body, TaskerApi, body::full, trace::TraceLayer};
use tower::{ServiceBuilder, ServiceExt, service_fn};

use crate::support::{App, assert_error, cases, quiet_settings, request, send_to};

cases!(
    an_unknown_route_is_404_route_not_found,
    a_wrong_method_is_405_with_allow,
    a_body_that_is_not_json_is_415,
    malformed_json_is_400_invalid_json,
    a_json_body_over_the_limit_is_413,
    no_token_is_401_on_api_routes_but_status_is_public,
    a_slow_request_times_out_with_503,
);

async fn an_unknown_route_is_404_route_not_found(app: App) {
    let response = app.get("alice", "/api/v1/nothing").await;
    assert_error(&response, StatusCode::NOT_FOUND, "ROUTE_NOT_FOUND");
    assert_eq!(response.json["override"], false);
    assert_eq!(response.json["errors"], json!(null));
    assert_eq!(response.json["action"], json!(null));
}

async fn a_wrong_method_is_405_with_allow(app: App) {
    let response = app
        .send(request(Method::PUT, "/api/v1/todos", Some("alice"), None))
        .await;
    assert_error(
        &response,
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
    );
    assert_eq!(response.headers[header::ALLOW], "GET, HEAD, POST, OPTIONS");
}

async fn a_body_that_is_not_json_is_415(app: App) {
    let mut req = request(Method::POST, "/api/v1/todos", Some("alice"), None);
    *req.body_mut() = full("title=x");
    req.headers_mut().insert(
        header::CONTENT_TYPE,
        "application/x-www-form-urlencoded".parse().unwrap(),
    );
    let response = app.send(req).await;
    assert_error(
        &response,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "UNSUPPORTED_MEDIA_TYPE",
    );
}

async fn malformed_json_is_400_invalid_json(app: App) {
    let mut req = request(
        Method::POST,
        "/api/v1/todos",
        Some("alice"),
        Some(json!({})),
    );
    *req.body_mut() = full("{\"title\": ");
    let response = app.send(req).await;
    assert_error(&response, StatusCode::BAD_REQUEST, "INVALID_JSON");
    assert_eq!(response.json["errors"][0]["field"], "body");
}

async fn a_json_body_over_the_limit_is_413(app: App) {
    let mut settings = quiet_settings();
    settings.json_body_limit = 64;
    let app = app.reconfigure(settings);
    let response = app
        .post("alice", "/api/v1/todos", json!({"title": "x".repeat(200)}))
        .await;
    assert_error(
        &response,
        StatusCode::PAYLOAD_TOO_LARGE,
        "PAYLOAD_TOO_LARGE",
    );
    // Without Content-Length the limit still holds while reading.
    let mut req = request(
        Method::POST,
        "/api/v1/todos",
        Some("alice"),
        Some(json!({"title": "x".repeat(200)})),
    );
    req.headers_mut().remove(header::CONTENT_LENGTH);
    assert_error(
        &app.send(req).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "PAYLOAD_TOO_LARGE",
    );
}

async fn no_token_is_401_on_api_routes_but_status_is_public(app: App) {
    let response = app
        .send(request(Method::GET, "/api/v1/todos", None, None))
        .await;
    assert_error(&response, StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
    assert_eq!(response.headers[header::WWW_AUTHENTICATE], "Bearer");
    let status = app.send(request(Method::GET, "/status", None, None)).await;
    assert_eq!(status.status, StatusCode::OK, "{}", status.json);
    assert_eq!(status.json["status"], "healthy");
    assert_eq!(status.json["checks"]["database"]["status"], "healthy");
    assert_eq!(status.json["environment"], "development");
    let contract_path = app
        .send(request(Method::GET, "/api/status", None, None))
        .await;
    assert_eq!(contract_path.status, StatusCode::OK);
    assert_eq!(contract_path.json["status"], "healthy");
}

async fn a_slow_request_times_out_with_503(app: App) {
    let mut settings = quiet_settings();
    settings.request_timeout_seconds = 1;
    let api = TaskerApi::builder(app.services.clone())
        .settings(settings)
        .health_check("redis", || async {
            tokio::time::sleep(Duration::from_secs(3)).await;
            Ok(())
        })
        .build();
    let started = std::time::Instant::now();
    let response = send_to(&api, request(Method::GET, "/status", None, None)).await;
    assert_error(&response, StatusCode::SERVICE_UNAVAILABLE, "TIMEOUT");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn a_panic_becomes_a_500_that_tells_nothing_internal() {
    let service = ServiceBuilder::new()
        .layer(TraceLayer::default())
        .service(service_fn(|_request: Request<Body>| async move {
            if true {
                panic!("secret database password is hunter2");
            }
            Ok::<Response<Body>, Infallible>(Response::new(full("")))
        }));
    let response = service.oneshot(Request::new(full(""))).await.unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(body["code"], "INTERNAL_SERVER_ERROR");
    assert!(!String::from_utf8_lossy(&bytes).contains("hunter2"));
}

#[tokio::test]
async fn a_closed_pool_is_a_503_with_retry_after() {
    let app = App::sqlite().await;
    // Close the pool underneath the service: every query now fails.
    if let tasker_core::store::Pool::Sqlite(pool) = app.test_store.store.pool() {
        pool.close().await;
    }
    let response = app.get("alice", "/api/v1/todos").await;
    assert_error(
        &response,
        StatusCode::SERVICE_UNAVAILABLE,
        "SERVICE_UNAVAILABLE",
    );
    assert_eq!(response.headers[header::RETRY_AFTER], "1");
    assert!(!response.bytes.windows(6).any(|w| w == b"sqlite"));
    let status = app.send(request(Method::GET, "/status", None, None)).await;
    assert_eq!(status.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(status.json["status"], "unhealthy");
}

#[tokio::test]
async fn connections_cut_by_postgresql_give_503_then_recover() {
    let Some(app) = App::postgres().await else {
        return;
    };
    let warm = app.get("alice", "/api/v1/todos").await;
    assert_eq!(warm.status, StatusCode::OK);
    // Cut every connection of the test database, as a restart would.
    let url = std::env::var("TASKER_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&url)
        .await
        .expect("admin connection");
    let cut: Vec<(bool,)> =
        sqlx::query_as("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1")
            .bind(app.test_store.database_name().expect("a PostgreSQL store"))
            .fetch_all(&mut admin)
            .await
            .expect("terminate");
    assert!(!cut.is_empty(), "the pool had connections to cut");
    let failed = app.get("alice", "/api/v1/todos").await;
    assert_error(
        &failed,
        StatusCode::SERVICE_UNAVAILABLE,
        "SERVICE_UNAVAILABLE",
    );
    assert_eq!(failed.headers[header::RETRY_AFTER], "1");
    // The pool drops the broken connections and opens new ones.
    let mut answers = Vec::new();
    for _ in 0..10 {
        let response = app.get("alice", "/api/v1/todos").await;
        answers.push(response.status);
        if response.status == StatusCode::OK {
            return;
        }
    }
    panic!("never recovered: {answers:?}");
}

#[tokio::test]
async fn a_write_that_keeps_deadlocking_is_tried_four_times_then_503_with_retry_after() {
    let Some(app) = App::postgres().await else {
        return;
    };
    let todo = app
        .post("alice", "/api/v1/todos", json!({"title": "contended"}))
        .await;
    assert_eq!(todo.status, StatusCode::CREATED);
    let id = todo.json["id"].as_str().unwrap().to_owned();
    let tasker_core::store::Pool::Postgres(pool) = app.test_store.store.pool() else {
        unreachable!("App::postgres runs on PostgreSQL");
    };
    // Every update of a todo now loses a deadlock, as the server reports it;
    // the sequence counts the attempts (a rollback does not undo `nextval`).
    for statement in [
        "CREATE SEQUENCE update_attempts",
        "CREATE FUNCTION lose_deadlock() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
         PERFORM nextval('update_attempts'); \
         RAISE EXCEPTION 'deadlock detected' USING ERRCODE = '40P01'; END $$",
        "CREATE TRIGGER lose_deadlock BEFORE UPDATE ON todos FOR EACH ROW \
         EXECUTE FUNCTION lose_deadlock()",
    ] {
        sqlx::query(statement).execute(pool).await.unwrap();
    }
    let response = app
        .patch(
            "alice",
            &format!("/api/v1/todos/{id}"),
            json!({"title": "mine"}),
        )
        .await;
    assert_error(
        &response,
        StatusCode::SERVICE_UNAVAILABLE,
        "SERVICE_UNAVAILABLE",
    );
    assert_eq!(response.headers[header::RETRY_AFTER], "1");
    let (attempts,): (i64,) = sqlx::query_as("SELECT last_value FROM update_attempts")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(attempts, 4, "one attempt and three retries");
    let unchanged = app.get("alice", &format!("/api/v1/todos/{id}")).await;
    assert_eq!(unchanged.json["title"], "contended");
}
