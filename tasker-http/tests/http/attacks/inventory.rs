//! API9, improper inventory management: the router against the served document.
//!
//! Already covered by `document::every_route_is_documented_and_every_documented_route_exists`
//! (the route table against the in-memory document). Here: the router is
//! probed with every method on every path of the *served* document, security
//! requirements are checked against what the server really demands, and
//! undocumented paths are 404.

use std::collections::BTreeSet;

use http::{Method, StatusCode, header};
use serde_json::json;
use tasker_http::MatchedRoute;

use super::{concrete, id, raw, requires_token};
use crate::support::{App, assert_error, request};

const METHODS: &[&str] = &[
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE",
];

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
        // Answered without being operations of the document: HEAD wherever
        // GET is (the GET without its body), OPTIONS everywhere (204 + Allow).
        let mut implicit: BTreeSet<String> = BTreeSet::from(["OPTIONS".to_owned()]);
        if listed.contains("GET") {
            implicit.insert("HEAD".to_owned());
        }
        let answered: BTreeSet<String> = listed.union(&implicit).cloned().collect();
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
            } else if implicit.contains(*method) {
                assert_ne!(
                    response.status(),
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {template} is not answered"
                );
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
                assert_eq!(allow, answered, "Allow of {template}");
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
