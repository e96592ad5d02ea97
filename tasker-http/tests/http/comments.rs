//! Comments.

use http::StatusCode;
use serde_json::json;

use crate::support::{App, assert_error, cases, error_fields};

cases!(
    comments_are_added_listed_edited_and_deleted,
    an_empty_comment_names_content,
);

async fn comments_are_added_listed_edited_and_deleted(app: App) {
    let todo = app.todo("alice", json!({"title": "T"})).await;
    let todo_id = todo["id"].as_str().unwrap();
    let added = app
        .post(
            "alice",
            &format!("/api/v1/todos/{todo_id}/comments"),
            json!({"content": "first"}),
        )
        .await;
    assert_eq!(added.status, StatusCode::CREATED);
    assert_eq!(added.json["todoId"], todo_id);
    let id = added.json["id"].as_str().unwrap().to_owned();
    let list = app
        .get("alice", &format!("/api/v1/todos/{todo_id}/comments"))
        .await;
    assert_eq!(list.json.as_array().unwrap().len(), 1);
    let edited = app
        .patch(
            "alice",
            &format!("/api/v1/comments/{id}"),
            json!({"content": "second"}),
        )
        .await;
    assert_eq!(edited.status, StatusCode::OK);
    assert_eq!(edited.json["content"], "second");
    let path = format!("/api/v1/comments/{id}");
    assert_eq!(
        app.delete("alice", &path).await.status,
        StatusCode::NO_CONTENT
    );
    assert_error(
        &app.delete("alice", &path).await,
        StatusCode::NOT_FOUND,
        "COMMENT_NOT_FOUND",
    );
}

async fn an_empty_comment_names_content(app: App) {
    let todo = app.todo("alice", json!({"title": "T"})).await;
    let response = app
        .post(
            "alice",
            &format!("/api/v1/todos/{}/comments", todo["id"].as_str().unwrap()),
            json!({"content": "  "}),
        )
        .await;
    assert_error(&response, StatusCode::BAD_REQUEST, "VALIDATION_FAILED");
    assert_eq!(error_fields(&response), vec!["content"]);
    let missing = app
        .post(
            "alice",
            "/api/v1/todos/0192f0c1-0000-7000-8000-000000000000/comments",
            json!({"content": "x"}),
        )
        .await;
    assert_error(&missing, StatusCode::NOT_FOUND, "TODO_NOT_FOUND");
}
