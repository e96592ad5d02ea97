//! ETag, If-None-Match → 304, If-Match → 412.

use http::{Method, StatusCode, header};
use serde_json::json;

use crate::support::{App, assert_error, cases, request};

cases!(
    a_get_with_the_current_etag_is_304,
    a_list_etag_changes_when_the_list_changes,
    a_stale_if_match_is_412_and_changes_nothing,
    of_two_patches_with_the_same_tag_exactly_one_wins,
);

async fn a_get_with_the_current_etag_is_304(app: App) {
    let todo = app.todo("alice", json!({"title": "T"})).await;
    let path = format!("/api/v1/todos/{}", todo["id"].as_str().unwrap());
    let first = app.get("alice", &path).await;
    let etag = first.headers[header::ETAG].clone();
    let mut req = request(Method::GET, &path, Some("alice"), None);
    req.headers_mut()
        .insert(header::IF_NONE_MATCH, etag.clone());
    let second = app.send(req).await;
    assert_eq!(second.status, StatusCode::NOT_MODIFIED);
    assert!(second.bytes.is_empty());
    assert_eq!(second.headers[header::ETAG], etag);
    // A comment changes the populated representation, so the tag no longer matches.
    app.post(
        "alice",
        &format!("{path}/comments"),
        json!({"content": "c"}),
    )
    .await;
    let mut req = request(Method::GET, &path, Some("alice"), None);
    req.headers_mut().insert(header::IF_NONE_MATCH, etag);
    assert_eq!(app.send(req).await.status, StatusCode::OK);
}

async fn a_list_etag_changes_when_the_list_changes(app: App) {
    let before = app.get("alice", "/api/v1/todos").await.headers[header::ETAG].clone();
    app.todo("alice", json!({"title": "T"})).await;
    let after = app.get("alice", "/api/v1/todos").await.headers[header::ETAG].clone();
    assert_ne!(before, after);
}

async fn a_stale_if_match_is_412_and_changes_nothing(app: App) {
    let todo = app.todo("alice", json!({"title": "T"})).await;
    let path = format!("/api/v1/todos/{}", todo["id"].as_str().unwrap());
    let etag = app.get("alice", &path).await.headers[header::ETAG].clone();
    let mut fresh = request(
        Method::PATCH,
        &path,
        Some("alice"),
        Some(json!({"title": "U"})),
    );
    fresh.headers_mut().insert(header::IF_MATCH, etag.clone());
    assert_eq!(app.send(fresh).await.status, StatusCode::OK);
    // The same tag is now stale.
    let mut stale = request(
        Method::PATCH,
        &path,
        Some("alice"),
        Some(json!({"title": "V"})),
    );
    stale.headers_mut().insert(header::IF_MATCH, etag.clone());
    assert_error(
        &app.send(stale).await,
        StatusCode::PRECONDITION_FAILED,
        "PRECONDITION_FAILED",
    );
    let mut delete = request(Method::DELETE, &path, Some("alice"), None);
    delete.headers_mut().insert(header::IF_MATCH, etag);
    assert_error(
        &app.send(delete).await,
        StatusCode::PRECONDITION_FAILED,
        "PRECONDITION_FAILED",
    );
    assert_eq!(app.get("alice", &path).await.json["title"], "U");
}

async fn of_two_patches_with_the_same_tag_exactly_one_wins(app: App) {
    for round in 0..3 {
        let todo = app
            .todo("alice", json!({"title": format!("T{round}")}))
            .await;
        let path = format!("/api/v1/todos/{}", todo["id"].as_str().unwrap());
        let etag = app.get("alice", &path).await.headers[header::ETAG].clone();
        let patch = |title: &str| {
            let mut req = request(
                Method::PATCH,
                &path,
                Some("alice"),
                Some(json!({"title": title})),
            );
            req.headers_mut().insert(header::IF_MATCH, etag.clone());
            req
        };
        let (a, b) = tokio::join!(app.send(patch("A")), app.send(patch("B")));
        let statuses = [a.status, b.status];
        assert!(
            statuses.contains(&StatusCode::OK)
                && statuses.contains(&StatusCode::PRECONDITION_FAILED),
            "round {round}: {statuses:?}"
        );
    }
}
