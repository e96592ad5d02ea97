//! Attacks, by OWASP API Security Top 10 (2023) item. Each test tries what an
//! attacker would and checks that it fails and changes nothing. Cases that
//! other modules already cover are not repeated here (see `isolation`,
//! `auth`, `errors`, `layers`, `rate_limit`, `attachments`, `document`).

mod authentication;
mod consumption;
mod inventory;
mod misconfiguration;
mod objects;
mod properties;

use http::{Method, Request, StatusCode, header};
use serde_json::Value;
use tasker_http::{Body, HttpSettings};
use tower::ServiceExt;

use crate::support::{App, TestResponse, quiet_settings, request};

// ---------------------------------------------------------------------------
// Helpers

fn uuid() -> String {
    uuid::Uuid::now_v7().to_string()
}

fn id(value: &Value) -> String {
    value["id"].as_str().expect("an id").to_owned()
}

/// A multipart body with one part per `(field, file name, bytes)`.
fn multipart(parts: &[(&str, &str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "attack-boundary";
    let mut body = Vec::new();
    for (field, name, content) in parts {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; \
                 filename=\"{name}\"\r\nContent-Type: text/plain\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// An upload request of one file as `user`.
fn upload_request(user: &str, todo: &str, content: &[u8]) -> Request<Body> {
    let (content_type, body) = multipart(&[("file", "f.txt", content)]);
    let mut req = request(
        Method::POST,
        &format!("/api/v1/todos/{todo}/attachments"),
        Some(user),
        None,
    );
    req.headers_mut()
        .insert(header::CONTENT_TYPE, content_type.parse().unwrap());
    req.headers_mut()
        .insert(header::CONTENT_LENGTH, body.len().into());
    *req.body_mut() = tasker_http::body::full(body);
    req
}

/// The path of a download URL (`http://host/api/v1/files/…` → `/api/v1/files/…`).
fn path_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest[rest.find('/').unwrap()..].to_owned()
}

/// Fetches the file of an attachment through a fresh download link.
async fn download(app: &App, user: &str, todo: &str, attachment: &str) -> TestResponse {
    let link = app
        .get(
            user,
            &format!("/api/v1/todos/{todo}/attachments/{attachment}/download"),
        )
        .await;
    assert_eq!(link.status, StatusCode::OK, "{}", link.json);
    let url = link.json["url"].as_str().unwrap();
    app.send(request(Method::GET, &path_of(url), None, None))
        .await
}

/// Calls the API without checking the answer against the document (for
/// probes whose answers are not the point).
async fn raw(app: &App, req: Request<Body>) -> http::Response<Body> {
    app.api.clone().oneshot(req).await.expect("infallible")
}

fn limited(per_second: u32, burst: u32) -> HttpSettings {
    let mut settings = quiet_settings();
    settings.rate_limit.enabled = true;
    settings.rate_limit.per_second = per_second;
    settings.rate_limit.burst = Some(burst);
    settings.rate_limit.per_user_per_second = Some(1000);
    settings.rate_limit.per_user_burst = Some(1000);
    settings
}

/// A request path for a document template (`{id}` → a todo id).
fn concrete(template: &str, todo: &str) -> String {
    template
        .replace("{id}", todo)
        .replace("{attachmentId}", &uuid::Uuid::nil().to_string())
        .replace("{token}", "not-a-token")
        .replace("{asset}", "swagger-initializer.js")
}

/// Whether the document says the operation needs a bearer token.
fn requires_token(document: &Value, operation: &Value) -> bool {
    let security = operation
        .get("security")
        .unwrap_or(&document["security"])
        .as_array()
        .cloned()
        .unwrap_or_default();
    !security.is_empty()
        && !security
            .iter()
            .any(|s| s.as_object().is_some_and(|o| o.is_empty()))
}
