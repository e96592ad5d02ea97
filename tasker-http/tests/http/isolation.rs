//! Owner isolation: another user's ids are 404 on every route, and nothing
//! of theirs changes.

use http::{Method, StatusCode};
use serde_json::json;

use crate::support::{App, cases, request};

cases!(another_users_ids_are_404_everywhere_and_change_nothing);

async fn another_users_ids_are_404_everywhere_and_change_nothing(app: App) {
    let category = app.category("alice", "Work").await;
    let todo = app
        .todo(
            "alice",
            json!({"title": "Secret", "categoryId": category["id"]}),
        )
        .await;
    let todo_id = todo["id"].as_str().unwrap();
    let category_id = category["id"].as_str().unwrap();
    let comment = app
        .post(
            "alice",
            &format!("/api/v1/todos/{todo_id}/comments"),
            json!({"content": "c"}),
        )
        .await
        .json;
    let comment_id = comment["id"].as_str().unwrap();
    let attachment =
        crate::attachments::upload(&app, "alice", todo_id, &[("file", "a.txt", b"abc")])
            .await
            .json;
    let attachment_id = attachment["id"].as_str().unwrap();

    let cases: Vec<(Method, String, Option<serde_json::Value>)> = vec![
        (Method::GET, format!("/api/v1/todos/{todo_id}"), None),
        (
            Method::PATCH,
            format!("/api/v1/todos/{todo_id}"),
            Some(json!({"title": "pwned"})),
        ),
        (Method::DELETE, format!("/api/v1/todos/{todo_id}"), None),
        (
            Method::GET,
            format!("/api/v1/todos/{todo_id}/comments"),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/todos/{todo_id}/comments"),
            Some(json!({"content": "x"})),
        ),
        (
            Method::PATCH,
            format!("/api/v1/comments/{comment_id}"),
            Some(json!({"content": "pwned"})),
        ),
        (
            Method::DELETE,
            format!("/api/v1/comments/{comment_id}"),
            None,
        ),
        (
            Method::GET,
            format!("/api/v1/categories/{category_id}"),
            None,
        ),
        (
            Method::PATCH,
            format!("/api/v1/categories/{category_id}"),
            Some(json!({"name": "pwned"})),
        ),
        (
            Method::DELETE,
            format!("/api/v1/categories/{category_id}"),
            None,
        ),
        (
            Method::DELETE,
            format!("/api/v1/todos/{todo_id}/attachments/{attachment_id}"),
            None,
        ),
        (
            Method::GET,
            format!("/api/v1/todos/{todo_id}/attachments/{attachment_id}/download"),
            None,
        ),
        // Alice's ids inside Bob's bodies.
        (
            Method::POST,
            "/api/v1/todos".into(),
            Some(json!({"title": "x", "parentTodoId": todo_id})),
        ),
        (
            Method::POST,
            "/api/v1/todos".into(),
            Some(json!({"title": "x", "categoryId": category_id})),
        ),
    ];
    for (method, path, body) in cases {
        let response = app
            .send(request(method.clone(), &path, Some("bob"), body))
            .await;
        assert_eq!(
            response.status,
            StatusCode::NOT_FOUND,
            "{method} {path}: {}",
            response.json
        );
    }
    // Bob's queries by Alice's ids see nothing.
    let list = app
        .get("bob", &format!("/api/v1/todos?parentTodoId={todo_id}"))
        .await;
    assert_eq!(list.json["total"], 0);
    let list = app
        .get("bob", &format!("/api/v1/todos?categoryId={category_id}"))
        .await;
    assert_eq!(list.json["total"], 0);
    // Alice's data is unchanged.
    let after = app.get("alice", &format!("/api/v1/todos/{todo_id}")).await;
    assert_eq!(after.json["title"], "Secret");
    assert_eq!(after.json["comments"][0]["content"], "c");
    assert_eq!(after.json["attachments"][0]["id"], attachment["id"]);
    assert_eq!(after.json["category"]["name"], "Work");
}
