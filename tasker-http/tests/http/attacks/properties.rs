//! API3, broken object property level authorization: server-owned keys are never applied.
//!
//! Server-owned keys (`id`, `userId`, `createdAt`, `todoId`, …) and keys no
//! schema names are ignored, as the Go service and its contract did, and are
//! never applied: here every create and update body of todos, categories and
//! comments, with every server-owned key, succeeds without taking the key.

use http::Method;
use serde_json::{Value, json};

use super::{id, uuid};
use crate::support::{App, cases, request};

cases!(api3_server_owned_and_unknown_fields_are_ignored_and_never_applied);

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
