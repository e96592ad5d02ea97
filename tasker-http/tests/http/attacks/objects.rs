//! API1, broken object level authorization: foreign ids are not found and change nothing.
//!
//! Already covered by `isolation::another_users_ids_are_404_everywhere_and_change_nothing`:
//! every route with one of Alice's ids in the path, Alice's `parentTodoId` and
//! `categoryId` in a created todo, and both as list filters. Here: subtask
//! ids, ids mixed from two owners, uploads, ids in updates, and whether a
//! foreign id can be told apart from one that does not exist.

use http::{Method, StatusCode};
use serde_json::{Value, json};

use super::{download, id, upload_request, uuid};
use crate::support::{App, assert_error, cases, request};

cases!(api1_foreign_ids_in_paths_and_bodies_are_not_found_and_change_nothing);

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
