//! The Go service's web frontend, replayed: every request its pages and forms
//! send (`apps/frontend` of sriniously/tasker: `src/api/index.ts`, the hooks
//! in `src/api/hooks/`, the ts-rest client without `jsonQuery`), byte for
//! byte as it sends them, on both backends. Each answer must have the status
//! the frontend's hook expects (it treats any other as an error) and match
//! the Go contract's schema for it (`docs/reference/go-tasker-openapi.json`),
//! as well as our own document (checked by `support::send_to`).
//!
//! How the frontend sends, in short: ts-rest drops `undefined` query keys,
//! keeps the rest in object order and encodes values with
//! `encodeURIComponent` (a space is `%20`, never `+`; a colon `%3A`); optional
//! form fields that are empty are left out of JSON bodies; GET and DELETE
//! carry no body and no `Content-Type`; every request has
//! `Authorization: Bearer <Clerk session token>` and axios's `Accept`.

use http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};
use tasker_http::{Body, ClientAddr, body::full};

use crate::support::{App, TestResponse, cases, error_fields, token, validate};

cases!(
    the_dashboard_loads_stats_recent_todos_and_categories,
    the_todos_page_lists_with_each_filter_as_ts_rest_encodes_it,
    the_create_form_posts_a_todo_then_uploads_its_files,
    the_edit_form_and_the_checkbox_patch_a_todo,
    the_comments_dialog_lists_adds_edits_and_deletes,
    the_download_button_follows_the_returned_url,
    the_categories_page_creates_edits_and_deletes,
    the_delete_buttons_answer_204,
    the_no_category_choice_is_refused_as_the_go_service_refused_it,
);

/// A request as the frontend's axios fetcher sends it.
fn frontend_request(method: Method, path: &str, body: Option<Value>) -> Request<Body> {
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header(header::ACCEPT, "application/json, text/plain, */*")
        .header(
            header::AUTHORIZATION,
            format!("Bearer {}", token("user_frontend")),
        );
    let body = match body {
        Some(value) => {
            builder = builder.header(header::CONTENT_TYPE, "application/json");
            // JSON.stringify: compact, keys in the form's order.
            full(serde_json::to_vec(&value).unwrap())
        }
        None => full(Vec::new()),
    };
    let mut request = builder.body(body).unwrap();
    request
        .extensions_mut()
        .insert(ClientAddr("127.0.0.1:40001".parse().unwrap()));
    request
}

/// The Go contract's response schema for `template` (without `/api`), as
/// JSON Schema: OpenAPI 3.0's `nullable` becomes a `null` type.
fn go_schema(method: &Method, template: &str, status: StatusCode) -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/reference/go-tasker-openapi.json"
    );
    let reference: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("reference")).unwrap();
    let schema = reference["paths"][template][method.as_str().to_ascii_lowercase()]["responses"]
        [status.as_str()]["content"]["application/json"]["schema"]
        .clone();
    assert!(
        !schema.is_null(),
        "the Go contract declares no {status} JSON answer for {method} {template}"
    );
    nullable_to_json_schema(schema)
}

fn nullable_to_json_schema(schema: Value) -> Value {
    match schema {
        Value::Object(mut object) => {
            let nullable = object.remove("nullable") == Some(Value::Bool(true));
            for value in object.values_mut() {
                *value = nullable_to_json_schema(value.take());
            }
            if let Some(items) = object.get_mut("enum").and_then(Value::as_array_mut)
                && nullable
            {
                items.push(Value::Null);
            }
            match (nullable, object.get("type").cloned()) {
                (true, Some(Value::String(kind))) => {
                    object.insert("type".into(), json!([kind, "null"]));
                    Value::Object(object)
                }
                (true, _) => json!({"anyOf": [Value::Object(object), {"type": "null"}]}),
                (false, _) => Value::Object(object),
            }
        }
        Value::Array(items) => {
            Value::Array(items.into_iter().map(nullable_to_json_schema).collect())
        }
        other => other,
    }
}

/// Sends `request` and checks the status the frontend's hook expects and the
/// Go contract's schema for that answer (`template` is the Go path).
async fn replay(
    app: &App,
    request: Request<Body>,
    template: &str,
    expected: StatusCode,
) -> TestResponse {
    let method = request.method().clone();
    let uri = request.uri().to_string();
    let response = app.send(request).await;
    assert_eq!(
        response.status, expected,
        "{method} {uri}: {}",
        response.json
    );
    if expected != StatusCode::NO_CONTENT {
        let schema = go_schema(&method, template, expected);
        validate(
            &schema,
            &response.json,
            &format!("Go contract: {method} {uri}"),
        );
    }
    response
}

async fn get(app: &App, path: &str, template: &str) -> TestResponse {
    let request = frontend_request(Method::GET, path, None);
    replay(app, request, template, StatusCode::OK).await
}

/// A todo made through the create form, with a category and a comment.
async fn seeded(app: &App) -> (String, String) {
    let category = app
        .send(frontend_request(
            Method::POST,
            "/api/v1/categories",
            Some(json!({"name": "Work", "description": "Office stuff", "color": "#ef4444"})),
        ))
        .await;
    let category = category.json["id"].as_str().unwrap().to_owned();
    let todo = app
        .send(frontend_request(
            Method::POST,
            "/api/v1/todos",
            Some(json!({
                "title": "Buy milk", "description": "2 litres", "priority": "medium",
                "categoryId": category, "dueDate": "2026-11-29T23:00:00.000Z"
            })),
        ))
        .await;
    let todo = todo.json["id"].as_str().unwrap().to_owned();
    let comment = frontend_request(
        Method::POST,
        &format!("/api/v1/todos/{todo}/comments"),
        Some(json!({"todoId": todo, "content": "Looks good"})),
    );
    assert_eq!(app.send(comment).await.status, StatusCode::CREATED);
    (todo, category)
}

async fn the_dashboard_loads_stats_recent_todos_and_categories(app: App) {
    // An empty account first: the dashboard's empty state.
    for round in 0..2 {
        if round == 1 {
            seeded(&app).await;
        }
        let stats = get(&app, "/api/v1/todos/stats", "/v1/todos/stats").await;
        assert_eq!(stats.json["total"], round);
        let recent = "/api/v1/todos?page=1&limit=5&sort=updated_at&order=desc";
        get(&app, recent, "/v1/todos").await;
        get(&app, "/api/v1/categories?page=1&limit=10", "/v1/categories").await;
        get(
            &app,
            "/api/v1/categories?page=1&limit=100",
            "/v1/categories",
        )
        .await;
    }
}

async fn the_todos_page_lists_with_each_filter_as_ts_rest_encodes_it(app: App) {
    let (_, category) = seeded(&app).await;
    let cases = [
        ("page=1&limit=20&sort=updated_at&order=desc".to_owned(), 1),
        (
            "page=1&limit=20&search=%20milk&sort=updated_at&order=desc".to_owned(),
            1,
        ),
        (
            "page=1&limit=20&search=%20%20%20&sort=updated_at&order=desc".to_owned(),
            1,
        ),
        (
            "page=1&limit=20&search=buy%20milk&sort=title&order=asc".to_owned(),
            1,
        ),
        (
            "page=1&limit=20&status=draft&sort=priority&order=desc".to_owned(),
            1,
        ),
        (
            "page=1&limit=20&status=completed&sort=title&order=asc".to_owned(),
            0,
        ),
        (
            format!(
                "page=2&limit=20&categoryId={category}&priority=medium&sort=due_date&order=asc"
            ),
            1,
        ),
        (
            "page=1&limit=20&priority=high&sort=updated_at&order=asc".to_owned(),
            0,
        ),
    ];
    for (query, total) in cases {
        let page = get(&app, &format!("/api/v1/todos?{query}"), "/v1/todos").await;
        assert_eq!(page.json["total"], total, "{query}");
    }
}

/// The create form, then one upload per chosen file (`FormData` with one
/// part, `file`; the browser sets the boundary and the part's type).
async fn the_create_form_posts_a_todo_then_uploads_its_files(app: App) {
    let minimal = frontend_request(
        Method::POST,
        "/api/v1/todos",
        Some(json!({"title": "x", "priority": "medium"})),
    );
    replay(&app, minimal, "/v1/todos", StatusCode::CREATED).await;
    let full_form = frontend_request(
        Method::POST,
        "/api/v1/todos",
        Some(json!({
            "title": "Report", "description": "Q4", "priority": "high",
            "dueDate": "2026-11-29T23:00:00.000Z"
        })),
    );
    let created = replay(&app, full_form, "/v1/todos", StatusCode::CREATED).await;
    assert_eq!(created.json["dueDate"], "2026-11-29T23:00:00Z");
    let id = created.json["id"].as_str().unwrap();

    let pdf = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n";
    let boundary = "----WebKitFormBoundaryAbC123xyz";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"report.pdf\"\r\n\
         Content-Type: application/pdf\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(pdf);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let mut upload = Request::builder()
        .method(Method::POST)
        .uri(format!("/api/v1/todos/{id}/attachments"))
        .header(header::ACCEPT, "application/json, text/plain, */*")
        .header(
            header::AUTHORIZATION,
            format!("Bearer {}", token("user_frontend")),
        )
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(full(body))
        .unwrap();
    upload
        .extensions_mut()
        .insert(ClientAddr("127.0.0.1:40001".parse().unwrap()));
    let uploaded = replay(
        &app,
        upload,
        "/v1/todos/{id}/attachments",
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(uploaded.json["name"], "report.pdf");
    assert_eq!(uploaded.json["mimeType"], "application/pdf");
    // The card shows `mimeType.split("/")[1]`: it must have a slash.
    assert!(uploaded.json["mimeType"].as_str().unwrap().contains('/'));
    let list = get(
        &app,
        "/api/v1/todos?page=1&limit=20&sort=updated_at&order=desc",
        "/v1/todos",
    )
    .await;
    let card = list.json["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id)
        .unwrap()
        .clone();
    assert_eq!(card["attachments"].as_array().unwrap().len(), 1);
}

/// The edit form re-sends title, status and priority always, and the due
/// date as JavaScript re-serialises the server's value; the checkbox sends
/// only the status.
async fn the_edit_form_and_the_checkbox_patch_a_todo(app: App) {
    let (todo, category) = seeded(&app).await;
    let path = format!("/api/v1/todos/{todo}");
    let edit = frontend_request(
        Method::PATCH,
        &path,
        Some(json!({
            "title": "Buy milk", "description": "3 litres", "status": "active",
            "priority": "high", "categoryId": category, "dueDate": "2026-11-29T23:00:00.000Z"
        })),
    );
    let edited = replay(&app, edit, "/v1/todos/{id}", StatusCode::OK).await;
    assert_eq!(edited.json["description"], "3 litres");
    assert_eq!(edited.json["priority"], "high");
    for status in ["completed", "active", "completed"] {
        let toggle = frontend_request(Method::PATCH, &path, Some(json!({"status": status})));
        let toggled = replay(&app, toggle, "/v1/todos/{id}", StatusCode::OK).await;
        assert_eq!(toggled.json["status"], status);
        assert_eq!(toggled.json["completedAt"].is_null(), status != "completed");
    }
    get(&app, &path, "/v1/todos/{id}").await;
}

async fn the_comments_dialog_lists_adds_edits_and_deletes(app: App) {
    let (todo, _) = seeded(&app).await;
    let list_path = format!("/api/v1/todos/{todo}/comments");
    let list = get(&app, &list_path, "/v1/todos/{id}/comments").await;
    let first = &list.json[0];
    // "edited •" shows when the two strings differ.
    assert_eq!(first["createdAt"], first["updatedAt"]);
    let add = frontend_request(
        Method::POST,
        &list_path,
        Some(json!({"todoId": todo, "content": "Second"})),
    );
    let added = replay(&app, add, "/v1/todos/{id}/comments", StatusCode::CREATED).await;
    assert_eq!(added.json["userId"], "user_frontend");
    let comment = added.json["id"].as_str().unwrap();
    let edit = frontend_request(
        Method::PATCH,
        &format!("/api/v1/comments/{comment}"),
        Some(json!({"content": "Edited text"})),
    );
    let edited = replay(&app, edit, "/v1/comments/{id}", StatusCode::OK).await;
    // The hook invalidates queries by the answer's `todoId`.
    assert_eq!(edited.json["todoId"], json!(todo));
    let delete = frontend_request(Method::DELETE, &format!("/api/v1/comments/{comment}"), None);
    replay(&app, delete, "/v1/comments/{id}", StatusCode::NO_CONTENT).await;
    let list = get(&app, &list_path, "/v1/todos/{id}/comments").await;
    assert_eq!(list.json.as_array().unwrap().len(), 1);
}

/// `GET …/download` answers `{"url"}`; the browser then opens the URL in a
/// new tab, without the bearer token.
async fn the_download_button_follows_the_returned_url(app: App) {
    let (todo, _) = seeded(&app).await;
    let uploaded = crate::attachments::upload(
        &app,
        "user_frontend",
        &todo,
        &[("file", "notes.txt", b"hi")],
    )
    .await;
    assert_eq!(uploaded.status, StatusCode::CREATED);
    let attachment = uploaded.json["id"].as_str().unwrap();
    let link = get(
        &app,
        &format!("/api/v1/todos/{todo}/attachments/{attachment}/download"),
        "/v1/todos/{id}/attachments/{attachmentId}/download",
    )
    .await;
    let url = link.json["url"].as_str().unwrap();
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = &rest[rest.find('/').unwrap()..];
    let mut open = Request::builder()
        .uri(path)
        .header(header::ACCEPT, "text/html,*/*")
        .body(full(Vec::new()))
        .unwrap();
    open.extensions_mut()
        .insert(ClientAddr("127.0.0.1:40001".parse().unwrap()));
    let file = app.send(open).await;
    assert_eq!(file.status, StatusCode::OK);
    assert_eq!(&file.bytes[..], b"hi");
    let disposition = file.headers[header::CONTENT_DISPOSITION].to_str().unwrap();
    assert!(
        disposition.starts_with("attachment") && disposition.contains("notes.txt"),
        "{disposition}"
    );
}

async fn the_categories_page_creates_edits_and_deletes(app: App) {
    get(
        &app,
        "/api/v1/categories?page=1&limit=20&sort=name&order=asc",
        "/v1/categories",
    )
    .await;
    let create = frontend_request(
        Method::POST,
        "/api/v1/categories",
        Some(json!({"name": "Home", "color": "#ef4444"})),
    );
    let created = replay(&app, create, "/v1/categories", StatusCode::CREATED).await;
    let id = created.json["id"].as_str().unwrap();
    // `<input type="color">` gives lowercase `#rrggbb`.
    let edit = frontend_request(
        Method::PATCH,
        &format!("/api/v1/categories/{id}"),
        Some(json!({"name": "House", "description": "Chores", "color": "#3b82f6"})),
    );
    let edited = replay(&app, edit, "/v1/categories/{id}", StatusCode::OK).await;
    assert_eq!(edited.json["color"], "#3b82f6");
    let search = get(
        &app,
        "/api/v1/categories?page=1&limit=20&search=hou&sort=name&order=asc",
        "/v1/categories",
    )
    .await;
    assert_eq!(search.json["total"], 1);
}

async fn the_delete_buttons_answer_204(app: App) {
    let (todo, category) = seeded(&app).await;
    let uploaded =
        crate::attachments::upload(&app, "user_frontend", &todo, &[("file", "a.txt", b"a")]).await;
    let attachment = uploaded.json["id"].as_str().unwrap();
    for path in [
        format!("/api/v1/todos/{todo}/attachments/{attachment}"),
        format!("/api/v1/categories/{category}"),
        format!("/api/v1/todos/{todo}"),
    ] {
        let request = frontend_request(Method::DELETE, &path, None);
        replay(&app, request, "", StatusCode::NO_CONTENT).await;
    }
    let stats = get(&app, "/api/v1/todos/stats", "/v1/todos/stats").await;
    assert_eq!(stats.json["total"], 0);
}

/// The form's "No Category" item has the value `none`, which the form sends
/// as `categoryId`. The Go service answered 400 ("invalid UUID length: 4");
/// so does tasker, naming the field, and nothing is written.
async fn the_no_category_choice_is_refused_as_the_go_service_refused_it(app: App) {
    let request = frontend_request(
        Method::POST,
        "/api/v1/todos",
        Some(json!({"title": "x", "priority": "medium", "categoryId": "none"})),
    );
    let response = app.send(request).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(error_fields(&response), vec!["categoryId"]);
    let stats = get(&app, "/api/v1/todos/stats", "/v1/todos/stats").await;
    assert_eq!(stats.json["total"], 0);
}
