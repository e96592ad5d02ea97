//! `/api/v1/categories`.

use http::StatusCode;
use serde_json::json;

use crate::support::{App, assert_error, cases, error_fields};

cases!(
    a_category_is_created_listed_fetched_updated_and_deleted,
    a_duplicate_name_is_409_naming_the_field,
    category_validation_names_each_field,
    deleting_a_category_keeps_its_todos,
    a_todo_in_an_unknown_category_is_404_category,
    colours_take_the_four_forms_go_accepted,
);

async fn a_category_is_created_listed_fetched_updated_and_deleted(app: App) {
    let created = app.category("alice", "Work").await;
    assert_eq!(created["color"], "#112233");
    assert_eq!(created["description"], json!(null));
    let id = created["id"].as_str().unwrap();
    let list = app.get("alice", "/api/v1/categories").await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.json["total"], 1);
    assert_eq!(list.json["limit"], 50);
    let path = format!("/api/v1/categories/{id}");
    assert_eq!(app.get("alice", &path).await.json["name"], "Work");
    let updated = app
        .patch(
            "alice",
            &path,
            json!({"name": "Office", "description": "9 to 5"}),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK);
    assert_eq!(updated.json["name"], "Office");
    assert_eq!(updated.json["description"], "9 to 5");
    assert_eq!(
        app.delete("alice", &path).await.status,
        StatusCode::NO_CONTENT
    );
    assert_error(
        &app.get("alice", &path).await,
        StatusCode::NOT_FOUND,
        "CATEGORY_NOT_FOUND",
    );
}

async fn a_duplicate_name_is_409_naming_the_field(app: App) {
    app.category("alice", "Work").await;
    let response = app
        .post(
            "alice",
            "/api/v1/categories",
            json!({"name": "WORK", "color": "#000000"}),
        )
        .await;
    assert_error(&response, StatusCode::CONFLICT, "CATEGORY_NAME_TAKEN");
    assert_eq!(error_fields(&response), vec!["name"]);
}

async fn category_validation_names_each_field(app: App) {
    let response = app
        .post(
            "alice",
            "/api/v1/categories",
            json!({"name": "", "color": "blue"}),
        )
        .await;
    assert_error(&response, StatusCode::BAD_REQUEST, "VALIDATION_FAILED");
    let fields = error_fields(&response);
    assert!(fields.contains(&"name".to_owned()) && fields.contains(&"color".to_owned()));
}

async fn deleting_a_category_keeps_its_todos(app: App) {
    let category = app.category("alice", "Work").await;
    let todo = app
        .todo("alice", json!({"title": "T", "categoryId": category["id"]}))
        .await;
    let path = format!("/api/v1/categories/{}", category["id"].as_str().unwrap());
    assert_eq!(
        app.delete("alice", &path).await.status,
        StatusCode::NO_CONTENT
    );
    let todo = app
        .get(
            "alice",
            &format!("/api/v1/todos/{}", todo["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(todo.status, StatusCode::OK);
    assert_eq!(todo.json["categoryId"], json!(null));
}

async fn a_todo_in_an_unknown_category_is_404_category(app: App) {
    let response = app
        .post(
            "alice",
            "/api/v1/todos",
            json!({"title": "T", "categoryId": "0192f0c1-0000-7000-8000-000000000000"}),
        )
        .await;
    assert_error(&response, StatusCode::NOT_FOUND, "CATEGORY_NOT_FOUND");
}

/// `#RGB`, `#RGBA`, `#RRGGBB`, `#RRGGBBAA`, as Go's `hexcolor` rule took them:
/// stored (the schema's check agrees on both backends) and returned as sent.
async fn colours_take_the_four_forms_go_accepted(app: App) {
    for (n, color) in ["#abc", "#abcd", "#A1B2C3", "#a1b2c3d4"].iter().enumerate() {
        let response = app
            .post(
                "alice",
                "/api/v1/categories",
                json!({"name": format!("c{n}"), "color": color}),
            )
            .await;
        assert_eq!(
            response.status,
            StatusCode::CREATED,
            "{color}: {}",
            response.json
        );
        assert_eq!(response.json["color"], *color);
        let id = response.json["id"].as_str().unwrap();
        let path = format!("/api/v1/categories/{id}");
        let patched = app
            .patch("alice", &path, json!({"color": "#0000ff80"}))
            .await;
        assert_eq!(patched.json["color"], "#0000ff80", "{}", patched.json);
    }
    for color in ["#abcde", "#1234567", "#123456789", "blue"] {
        let response = app
            .post(
                "alice",
                "/api/v1/categories",
                json!({"name": "x", "color": color}),
            )
            .await;
        assert_eq!(error_fields(&response), vec!["color"], "{color}");
    }
}
