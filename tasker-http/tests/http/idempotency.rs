//! `Idempotency-Key`: retries replay, other requests with the key are
//! refused, concurrent duplicates never make two todos, and a write whose
//! response could not be recorded is not written either.

use http::{Method, StatusCode};
use serde_json::{Value, json};
use tasker_core::clock::Clock;
use time::Duration;

use tasker_core::store::Pool;

use crate::support::{App, T0, TestResponse, assert_error, cases, error_fields, request};

cases!(
    a_retried_create_replays_the_first_response_byte_for_byte,
    the_same_key_with_another_body_is_422_and_changes_nothing,
    concurrent_duplicates_make_one_todo,
    keys_are_per_user,
    a_refused_request_is_kept_too,
    delete_and_patch_retries_replay,
    a_key_expires_after_24_hours,
    a_bad_key_is_400_naming_the_header,
    an_upload_retry_stores_one_attachment,
    a_create_whose_response_cannot_be_recorded_writes_nothing_and_its_retry_writes_once,
    a_delete_whose_response_cannot_be_recorded_keeps_the_attachment_and_its_file,
);

/// From now on, storing a response under a key fails (as a process that
/// died at that moment would never store it).
async fn refuse_records(app: &App) {
    run_sql(
        app,
        &[
            "CREATE FUNCTION refuse_record() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN RAISE EXCEPTION 'record refused'; END $$",
            "CREATE TRIGGER refuse_record BEFORE UPDATE ON idempotency_keys FOR EACH ROW \
             WHEN (NEW.response_status IS NOT NULL) EXECUTE FUNCTION refuse_record()",
        ],
        &[
            "CREATE TRIGGER refuse_record BEFORE UPDATE ON idempotency_keys \
           WHEN NEW.response_status IS NOT NULL BEGIN SELECT RAISE(ABORT, 'record refused'); END",
        ],
    )
    .await;
}

async fn accept_records(app: &App) {
    run_sql(
        app,
        &["DROP TRIGGER refuse_record ON idempotency_keys"],
        &["DROP TRIGGER refuse_record"],
    )
    .await;
}

/// Runs the statements of the app's backend.
async fn run_sql(app: &App, postgres: &[&'static str], sqlite: &[&'static str]) {
    match app.test_store.store.pool() {
        Pool::Postgres(pool) => {
            for statement in postgres {
                sqlx::query(*statement).execute(pool).await.unwrap();
            }
        }
        Pool::Sqlite(pool) => {
            for statement in sqlite {
                sqlx::query(*statement).execute(pool).await.unwrap();
            }
        }
        _ => unreachable!("the tests run on PostgreSQL and SQLite"),
    }
}

fn keyed(
    method: Method,
    path: &str,
    user: &str,
    key: &str,
    body: Option<Value>,
) -> http::Request<tasker_http::Body> {
    let mut request = request(method, path, Some(user), body);
    request
        .headers_mut()
        .insert("idempotency-key", key.parse().unwrap());
    request
}

/// `POST /api/v1/todos` as `user` with `Idempotency-Key: key`.
async fn create(app: &App, user: &str, key: &str, body: Value) -> TestResponse {
    app.send(keyed(Method::POST, "/api/v1/todos", user, key, Some(body)))
        .await
}

async fn count_todos(app: &App, user: &str) -> u64 {
    let page = app.get(user, "/api/v1/todos?limit=100").await;
    assert_eq!(page.status, StatusCode::OK);
    page.json["total"].as_u64().unwrap()
}

async fn a_retried_create_replays_the_first_response_byte_for_byte(app: App) {
    let body = json!({"title": "pay rent"});
    let first = create(&app, "alice", "k-1", body.clone()).await;
    assert_eq!(first.status, StatusCode::CREATED);
    assert!(first.headers.get("idempotent-replayed").is_none());
    // Later, when a replay could not be told apart by a fresh timestamp.
    app.clock.advance(Duration::minutes(3));
    let again = create(&app, "alice", "k-1", body).await;
    assert_eq!(again.status, StatusCode::CREATED);
    assert_eq!(again.bytes, first.bytes);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(again.headers["content-type"], first.headers["content-type"]);
    assert_eq!(count_todos(&app, "alice").await, 1);
    // A new key is a new request.
    let other = create(&app, "alice", "k-2", json!({"title": "pay rent"})).await;
    assert_eq!(other.status, StatusCode::CREATED);
    assert_ne!(other.json["id"], first.json["id"]);
    assert_eq!(count_todos(&app, "alice").await, 2);
}

async fn the_same_key_with_another_body_is_422_and_changes_nothing(app: App) {
    let first = create(&app, "alice", "k", json!({"title": "one"})).await;
    assert_eq!(first.status, StatusCode::CREATED);
    let other = create(&app, "alice", "k", json!({"title": "two"})).await;
    assert_error(
        &other,
        StatusCode::UNPROCESSABLE_ENTITY,
        "IDEMPOTENCY_KEY_REUSED",
    );
    assert_eq!(error_fields(&other), ["Idempotency-Key"]);
    // The key on another route is another request too.
    let category = app
        .send(keyed(
            Method::POST,
            "/api/v1/categories",
            "alice",
            "k",
            Some(json!({"name": "home", "color": "#112233"})),
        ))
        .await;
    assert_error(
        &category,
        StatusCode::UNPROCESSABLE_ENTITY,
        "IDEMPOTENCY_KEY_REUSED",
    );
    assert_eq!(count_todos(&app, "alice").await, 1);
    let categories = app.get("alice", "/api/v1/categories").await;
    assert_eq!(categories.json["total"], 0);
}

async fn concurrent_duplicates_make_one_todo(app: App) {
    // Eight copies in flight at once (each write runs in a task of its own).
    let responses = futures_util::future::join_all(
        (0..8).map(|_| create(&app, "alice", "same", json!({"title": "once"}))),
    )
    .await;
    let mut created = Vec::new();
    let mut busy = 0;
    for response in responses {
        match response.status {
            StatusCode::CREATED => created.push(response),
            StatusCode::CONFLICT => {
                assert_error(&response, StatusCode::CONFLICT, "IDEMPOTENCY_KEY_IN_USE");
                assert_eq!(response.headers["retry-after"], "1");
                busy += 1;
            }
            other => panic!("unexpected {other}: {}", response.json),
        }
    }
    assert!(!created.is_empty());
    assert_eq!(created.len() + busy, 8);
    // Every 201 is the same todo: the first response or its replay.
    assert!(created.iter().all(|r| r.bytes == created[0].bytes));
    assert_eq!(count_todos(&app, "alice").await, 1);
}

async fn keys_are_per_user(app: App) {
    let body = json!({"title": "mine"});
    let alice = create(&app, "alice", "k", body.clone()).await;
    let bob = create(&app, "bob", "k", body).await;
    assert_eq!(alice.status, StatusCode::CREATED);
    assert_eq!(bob.status, StatusCode::CREATED);
    assert!(bob.headers.get("idempotent-replayed").is_none());
    assert_ne!(alice.json["id"], bob.json["id"]);
    assert_eq!(bob.json["userId"], "bob");
    assert_eq!(count_todos(&app, "bob").await, 1);
}

async fn a_refused_request_is_kept_too(app: App) {
    let bad = json!({"title": ""});
    let first = create(&app, "alice", "k", bad.clone()).await;
    assert_error(&first, StatusCode::BAD_REQUEST, "VALIDATION_FAILED");
    let again = create(&app, "alice", "k", bad).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert_eq!(again.bytes, first.bytes);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(count_todos(&app, "alice").await, 0);
}

async fn delete_and_patch_retries_replay(app: App) {
    let todo = app.todo("alice", json!({"title": "draft"})).await;
    let path = format!("/api/v1/todos/{}", todo["id"].as_str().unwrap());
    let patch = json!({"title": "final"});
    let first = app
        .send(keyed(
            Method::PATCH,
            &path,
            "alice",
            "p",
            Some(patch.clone()),
        ))
        .await;
    assert_eq!(first.status, StatusCode::OK);
    app.clock.advance(Duration::minutes(1));
    let again = app
        .send(keyed(Method::PATCH, &path, "alice", "p", Some(patch)))
        .await;
    assert_eq!(
        again.bytes, first.bytes,
        "the same updatedAt: not written twice"
    );
    let deleted = app
        .send(keyed(Method::DELETE, &path, "alice", "d", None))
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let retried = app
        .send(keyed(Method::DELETE, &path, "alice", "d", None))
        .await;
    assert_eq!(retried.status, StatusCode::NO_CONTENT, "not 404: a replay");
    assert_eq!(retried.headers["idempotent-replayed"], "true");
    // Without the key the todo is simply gone.
    let plain = app.delete("alice", &path).await;
    assert_error(&plain, StatusCode::NOT_FOUND, "TODO_NOT_FOUND");
}

async fn a_key_expires_after_24_hours(app: App) {
    let body = json!({"title": "daily"});
    let first = create(&app, "alice", "k", body.clone()).await;
    assert_eq!(first.status, StatusCode::CREATED);
    app.clock.advance(Duration::hours(23));
    let replay = create(&app, "alice", "k", body.clone()).await;
    assert_eq!(replay.headers["idempotent-replayed"], "true");
    app.clock.advance(Duration::hours(1) + Duration::seconds(1));
    let fresh = create(&app, "alice", "k", body).await;
    assert_eq!(fresh.status, StatusCode::CREATED);
    assert!(fresh.headers.get("idempotent-replayed").is_none());
    assert_eq!(count_todos(&app, "alice").await, 2);
    assert_eq!(
        app.clock.now(),
        T0 + Duration::hours(24) + Duration::seconds(1)
    );
}

async fn a_bad_key_is_400_naming_the_header(app: App) {
    for key in ["", &"k".repeat(256), "has space"] {
        let mut request = request(
            Method::POST,
            "/api/v1/todos",
            Some("alice"),
            Some(json!({"title": "x"})),
        );
        request
            .headers_mut()
            .insert("idempotency-key", key.parse().unwrap());
        let response = app.send(request).await;
        assert_error(&response, StatusCode::BAD_REQUEST, "VALIDATION_FAILED");
        assert_eq!(error_fields(&response), ["Idempotency-Key"], "{key:?}");
    }
    assert_eq!(count_todos(&app, "alice").await, 0);
}

/// A multipart upload of `a.txt` to `path`, with `key` when given.
fn upload_request(path: &str, key: Option<&str>) -> http::Request<tasker_http::Body> {
    let boundary = "XBOUNDARYX";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\
         Content-Type: text/plain\r\n\r\nhello\r\n--{boundary}--\r\n"
    );
    let mut request = request(Method::POST, path, Some("alice"), None);
    request.headers_mut().insert(
        "content-type",
        format!("multipart/form-data; boundary={boundary}")
            .parse()
            .unwrap(),
    );
    if let Some(key) = key {
        request
            .headers_mut()
            .insert("idempotency-key", key.parse().unwrap());
    }
    *request.body_mut() = tasker_http::body::full(body);
    request
}

async fn an_upload_retry_stores_one_attachment(app: App) {
    let todo = app.todo("alice", json!({"title": "with file"})).await;
    let path = format!("/api/v1/todos/{}/attachments", todo["id"].as_str().unwrap());
    let first = app.send(upload_request(&path, Some("upload-1"))).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.json);
    let again = app.send(upload_request(&path, Some("upload-1"))).await;
    assert_eq!(again.bytes, first.bytes);
    let read = app
        .get(
            "alice",
            &format!("/api/v1/todos/{}", todo["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(read.json["attachments"].as_array().unwrap().len(), 1);
}

async fn a_create_whose_response_cannot_be_recorded_writes_nothing_and_its_retry_writes_once(
    app: App,
) {
    refuse_records(&app).await;
    let body = json!({"title": "exactly once"});
    let failed = create(&app, "alice", "k", body.clone()).await;
    assert!(failed.status.is_server_error(), "{}", failed.status);
    // The todo went with the record it could not be kept without.
    assert_eq!(count_todos(&app, "alice").await, 0);
    accept_records(&app).await;
    // The claim stays (whether the commit happened can be unknown) until abandoned.
    let early = create(&app, "alice", "k", body.clone()).await;
    assert_error(&early, StatusCode::CONFLICT, "IDEMPOTENCY_KEY_IN_USE");
    app.clock.advance(Duration::minutes(6));
    let retried = create(&app, "alice", "k", body.clone()).await;
    assert_eq!(retried.status, StatusCode::CREATED);
    let replayed = create(&app, "alice", "k", body).await;
    assert_eq!(replayed.headers["idempotent-replayed"], "true");
    assert_eq!(replayed.bytes, retried.bytes);
    assert_eq!(count_todos(&app, "alice").await, 1);
}

async fn a_delete_whose_response_cannot_be_recorded_keeps_the_attachment_and_its_file(app: App) {
    let todo = app.todo("alice", json!({"title": "with file"})).await;
    let todo_path = format!("/api/v1/todos/{}", todo["id"].as_str().unwrap());
    let uploaded = app
        .send(upload_request(&format!("{todo_path}/attachments"), None))
        .await;
    assert_eq!(uploaded.status, StatusCode::CREATED, "{}", uploaded.json);
    let file = app
        .blob_dir
        .path()
        .join(uploaded.json["downloadKey"].as_str().unwrap());
    assert!(file.exists());
    let path = format!(
        "{todo_path}/attachments/{}",
        uploaded.json["id"].as_str().unwrap()
    );
    refuse_records(&app).await;
    let failed = app
        .send(keyed(Method::DELETE, &path, "alice", "d", None))
        .await;
    assert!(failed.status.is_server_error(), "{}", failed.status);
    // The record stays, and so does its file: it is removed only after a commit.
    let read = app.get("alice", &todo_path).await;
    assert_eq!(read.json["attachments"].as_array().unwrap().len(), 1);
    assert!(
        file.exists(),
        "the file of a delete that did not commit was removed"
    );
    accept_records(&app).await;
    app.clock.advance(Duration::minutes(6));
    let deleted = app
        .send(keyed(Method::DELETE, &path, "alice", "d", None))
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert!(!file.exists());
}

#[tokio::test]
async fn an_idempotent_write_that_loses_deadlocks_runs_again_as_a_whole() {
    let Some(app) = App::postgres().await else {
        return;
    };
    let todo = app.todo("alice", json!({"title": "contended"})).await;
    let path = format!("/api/v1/todos/{}", todo["id"].as_str().unwrap());
    // The first two updates lose a deadlock, as the server reports it; the
    // sequence counts the attempts (a rollback does not undo `nextval`).
    run_sql(
        &app,
        &[
            "CREATE SEQUENCE update_attempts",
            "CREATE FUNCTION lose_twice() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
             IF nextval('update_attempts') <= 2 THEN \
             RAISE EXCEPTION 'deadlock detected' USING ERRCODE = '40P01'; END IF; \
             RETURN NEW; END $$",
            "CREATE TRIGGER lose_twice BEFORE UPDATE ON todos FOR EACH ROW \
             EXECUTE FUNCTION lose_twice()",
        ],
        &[],
    )
    .await;
    let patch = json!({"title": "won"});
    let response = app
        .send(keyed(
            Method::PATCH,
            &path,
            "alice",
            "p",
            Some(patch.clone()),
        ))
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.json);
    assert_eq!(response.json["title"], "won");
    let Pool::Postgres(pool) = app.test_store.store.pool() else {
        unreachable!("App::postgres runs on PostgreSQL");
    };
    let (attempts,): (i64,) = sqlx::query_as("SELECT last_value FROM update_attempts")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(attempts, 3, "two lost runs, then the one that committed");
    let again = app
        .send(keyed(Method::PATCH, &path, "alice", "p", Some(patch)))
        .await;
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(again.bytes, response.bytes);
}
