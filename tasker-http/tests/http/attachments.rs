//! Attachments: multipart upload, sniffing, limits, signed download links.

use http::{Method, Request, StatusCode, header};
use serde_json::json;
use tasker_http::{ClientAddr, body::full};

use crate::support::{App, TestResponse, assert_error, cases, error_fields, quiet_settings, token};

cases!(
    an_upload_is_stored_with_a_sniffed_type_and_a_clean_name,
    a_download_link_serves_the_file_until_it_expires,
    a_tampered_link_is_refused,
    an_upload_over_the_limit_is_413,
    an_upload_needs_exactly_one_file_part_and_skips_other_parts,
    an_upload_that_is_not_multipart_is_415,
    deleting_an_attachment_removes_its_file,
    a_link_stops_working_once_its_attachment_is_deleted,
    behind_a_trusted_proxy_links_use_the_forwarded_scheme_and_host,
    an_upload_to_a_missing_todo_is_404_before_reading,
);

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0";

/// A multipart body with one part per `(field, file name, bytes)`.
fn multipart(parts: &[(&str, &str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "tasker-test-boundary";
    let mut body = Vec::new();
    for (field, name, content) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        body.extend_from_slice(
            format!(
                "Content-Disposition: form-data; name=\"{field}\"; filename=\"{name}\"\r\n\
                 Content-Type: text/plain\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

pub(crate) async fn upload(
    app: &App,
    user: &str,
    todo_id: &str,
    parts: &[(&str, &str, &[u8])],
) -> TestResponse {
    let (content_type, body) = multipart(parts);
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(format!("/api/v1/todos/{todo_id}/attachments"))
        .header(header::AUTHORIZATION, format!("Bearer {}", token(user)))
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CONTENT_LENGTH, body.len())
        .body(full(body))
        .unwrap();
    request
        .extensions_mut()
        .insert(ClientAddr("127.0.0.1:1".parse().unwrap()));
    app.send(request).await
}

async fn todo_id(app: &App) -> String {
    app.todo("alice", json!({"title": "T"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn an_upload_is_stored_with_a_sniffed_type_and_a_clean_name(app: App) {
    let id = todo_id(&app).await;
    let response = upload(&app, "alice", &id, &[("file", "../../e<v>il:.png", PNG)]).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.json);
    assert_eq!(
        response.json["mimeType"], "image/png",
        "sniffed, not the client's text/plain"
    );
    assert_eq!(response.json["name"], "e_v_il_.png");
    assert_eq!(response.json["fileSize"], PNG.len());
    assert_eq!(response.json["uploadedBy"], "alice");
    let todo = app.get("alice", &format!("/api/v1/todos/{id}")).await;
    assert_eq!(todo.json["attachments"][0]["id"], response.json["id"]);
}

/// The path of a download URL (`http://host/api/v1/files/…` → `/api/v1/files/…`).
pub(crate) fn path_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest[rest.find('/').unwrap()..].to_owned()
}

pub(crate) async fn download_url(app: &App, todo: &str, attachment: &str) -> String {
    let response = app
        .get(
            "alice",
            &format!("/api/v1/todos/{todo}/attachments/{attachment}/download"),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.json);
    response.json["url"].as_str().unwrap().to_owned()
}

async fn a_download_link_serves_the_file_until_it_expires(app: App) {
    let id = todo_id(&app).await;
    let uploaded = upload(&app, "alice", &id, &[("file", "notes.txt", b"hello, file")]).await;
    let attachment = uploaded.json["id"].as_str().unwrap();
    let url = download_url(&app, &id, attachment).await;
    assert!(url.starts_with("http://"), "{url}");
    // No bearer token: the link itself is the credential.
    let fetched = app
        .send(crate::support::request(
            Method::GET,
            &path_of(&url),
            None,
            None,
        ))
        .await;
    assert_eq!(fetched.status, StatusCode::OK);
    assert_eq!(&fetched.bytes[..], b"hello, file");
    assert_eq!(fetched.headers[header::CONTENT_TYPE], "text/plain");
    assert!(
        fetched.headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains("notes.txt")
    );
    app.clock.advance(time::Duration::minutes(6));
    let expired = app
        .send(crate::support::request(
            Method::GET,
            &path_of(&url),
            None,
            None,
        ))
        .await;
    assert_error(&expired, StatusCode::NOT_FOUND, "DOWNLOAD_LINK_INVALID");
}

async fn a_tampered_link_is_refused(app: App) {
    let id = todo_id(&app).await;
    let uploaded = upload(&app, "alice", &id, &[("file", "a.txt", b"abc")]).await;
    let url = download_url(&app, &id, uploaded.json["id"].as_str().unwrap()).await;
    let mut path = path_of(&url);
    // Change a character in the middle of the signature (the last one may
    // only carry padding bits).
    let at = path.len() - 10;
    let replacement = if &path[at..=at] == "A" { "B" } else { "A" };
    path.replace_range(at..=at, replacement);
    let response = app
        .send(crate::support::request(Method::GET, &path, None, None))
        .await;
    assert_error(&response, StatusCode::NOT_FOUND, "DOWNLOAD_LINK_INVALID");
}

async fn an_upload_over_the_limit_is_413(app: App) {
    let mut settings = quiet_settings();
    settings.upload_limit = 1024;
    let app = app.reconfigure(settings);
    let id = todo_id(&app).await;
    let big = vec![b'x'; 4096];
    let response = upload(&app, "alice", &id, &[("file", "big.txt", &big)]).await;
    assert_error(
        &response,
        StatusCode::PAYLOAD_TOO_LARGE,
        "PAYLOAD_TOO_LARGE",
    );
    let todo = app.get("alice", &format!("/api/v1/todos/{id}")).await;
    assert_eq!(todo.json["attachments"], json!([]), "nothing half-written");
}

async fn an_upload_needs_exactly_one_file_part_and_skips_other_parts(app: App) {
    let id = todo_id(&app).await;
    let none = upload(&app, "alice", &id, &[]).await;
    assert_error(&none, StatusCode::BAD_REQUEST, "VALIDATION_FAILED");
    assert_eq!(error_fields(&none), vec!["file"]);
    // Only parts named `note`: still no file.
    let only_other = upload(&app, "alice", &id, &[("note", "n.txt", b"n")]).await;
    assert_eq!(error_fields(&only_other), vec!["file"]);
    let two = upload(
        &app,
        "alice",
        &id,
        &[("file", "a.txt", b"a"), ("file", "b.txt", b"b")],
    )
    .await;
    assert_error(&two, StatusCode::BAD_REQUEST, "VALIDATION_FAILED");
    let todo = app.get("alice", &format!("/api/v1/todos/{id}")).await;
    assert_eq!(todo.json["attachments"], json!([]));

    // Like an unknown JSON key, a part with another name is skipped (as the
    // Go service did): the file is stored, the other part is not.
    let other = upload(
        &app,
        "alice",
        &id,
        &[
            ("note", "n.txt", b"n"),
            ("file", "a.txt", b"a"),
            ("todoId", "", b"x"),
        ],
    )
    .await;
    assert_eq!(other.status, StatusCode::CREATED, "{}", other.json);
    assert_eq!(other.json["name"], "a.txt");
    assert_eq!(other.json["fileSize"], 1);
    let todo = app.get("alice", &format!("/api/v1/todos/{id}")).await;
    let names: Vec<_> = todo.json["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].clone())
        .collect();
    assert_eq!(names, [json!("a.txt")]);
}

async fn an_upload_that_is_not_multipart_is_415(app: App) {
    let id = todo_id(&app).await;
    let response = app
        .post(
            "alice",
            &format!("/api/v1/todos/{id}/attachments"),
            json!({"file": "x"}),
        )
        .await;
    assert_error(
        &response,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "UNSUPPORTED_MEDIA_TYPE",
    );
}

async fn deleting_an_attachment_removes_its_file(app: App) {
    let id = todo_id(&app).await;
    let uploaded = upload(&app, "alice", &id, &[("file", "a.txt", b"abc")]).await;
    let key = uploaded.json["downloadKey"].as_str().unwrap().to_owned();
    assert!(app.blob_dir.path().join(&key).exists());
    let attachment = uploaded.json["id"].as_str().unwrap();
    let path = format!("/api/v1/todos/{id}/attachments/{attachment}");
    assert_eq!(
        app.delete("alice", &path).await.status,
        StatusCode::NO_CONTENT
    );
    assert!(!app.blob_dir.path().join(&key).exists());
    assert_error(
        &app.delete("alice", &path).await,
        StatusCode::NOT_FOUND,
        "ATTACHMENT_NOT_FOUND",
    );
}

async fn a_link_stops_working_once_its_attachment_is_deleted(app: App) {
    let id = todo_id(&app).await;
    let uploaded = upload(&app, "alice", &id, &[("file", "a.txt", b"abc")]).await;
    let attachment = uploaded.json["id"].as_str().unwrap();
    let url = download_url(&app, &id, attachment).await;
    let path = format!("/api/v1/todos/{id}/attachments/{attachment}");
    assert_eq!(
        app.delete("alice", &path).await.status,
        StatusCode::NO_CONTENT
    );
    let response = app
        .send(crate::support::request(
            Method::GET,
            &path_of(&url),
            None,
            None,
        ))
        .await;
    assert_error(&response, StatusCode::NOT_FOUND, "ATTACHMENT_NOT_FOUND");
}

async fn behind_a_trusted_proxy_links_use_the_forwarded_scheme_and_host(app: App) {
    let mut settings = quiet_settings();
    settings.rate_limit.trusted_proxies = vec!["10.0.0.1".parse().unwrap()];
    let app = app.reconfigure(settings);
    let id = todo_id(&app).await;
    let uploaded = upload(&app, "alice", &id, &[("file", "a.txt", b"abc")]).await;
    let attachment = uploaded.json["id"].as_str().unwrap();
    let path = format!("/api/v1/todos/{id}/attachments/{attachment}/download");
    let forwarded = |peer: &str| {
        let mut req = crate::support::request(Method::GET, &path, Some("alice"), None);
        req.extensions_mut()
            .insert(ClientAddr(format!("{peer}:443").parse().unwrap()));
        let headers = req.headers_mut();
        headers.insert("x-forwarded-proto", "https".parse().unwrap());
        headers.insert("x-forwarded-host", "files.example.com".parse().unwrap());
        headers.insert(header::HOST, "internal:8080".parse().unwrap());
        req
    };
    let trusted = app.send(forwarded("10.0.0.1")).await;
    let url = trusted.json["url"].as_str().unwrap();
    assert!(
        url.starts_with("https://files.example.com/api/v1/files/"),
        "{url}"
    );
    let untrusted = app.send(forwarded("203.0.113.5")).await;
    let url = untrusted.json["url"].as_str().unwrap();
    assert!(
        url.starts_with("http://internal:8080/api/v1/files/"),
        "{url}"
    );
}

async fn an_upload_to_a_missing_todo_is_404_before_reading(app: App) {
    let response = upload(
        &app,
        "alice",
        "0192f0c1-0000-7000-8000-000000000000",
        &[("file", "a.txt", b"abc")],
    )
    .await;
    assert_error(&response, StatusCode::NOT_FOUND, "TODO_NOT_FOUND");
}
