//! `HEAD` on every `GET` route (the `GET`'s status and headers, no body) and
//! `OPTIONS` answered by the router (`204` with `Allow`) when CORS is off.
//! `send` asserts that every `HEAD` response it sees has an empty body.

use http::{HeaderMap, Method, StatusCode, header};
use serde_json::json;
use tasker_http::{ClientAddr, TaskerApi};

use crate::{
    attachments::{download_url, path_of, upload},
    support::{App, TestResponse, cases, quiet_settings, request, send_to},
};

cases!(
    a_head_of_a_todo_has_the_gets_status_and_headers_and_no_body,
    a_head_of_a_list_has_the_gets_etag_and_length,
    a_head_with_the_current_etag_is_304,
    a_head_without_a_token_is_401_without_a_body,
    the_public_routes_answer_head_like_get,
    a_head_of_a_download_link_states_the_files_type_and_length,
    a_405_lists_head_and_options_where_get_is_listed,
    a_head_on_a_route_without_get_is_405_without_a_body,
    options_is_204_with_the_routes_methods_and_needs_no_token,
    options_of_an_unknown_path_is_404,
);

/// The headers a `HEAD` must repeat from its `GET`.
const REPEATED: &[header::HeaderName] = &[
    header::CONTENT_TYPE,
    header::ETAG,
    header::CACHE_CONTROL,
    header::CONTENT_DISPOSITION,
    header::WWW_AUTHENTICATE,
    header::LOCATION,
];

/// Sends `method` to `path` as `user` (when given).
async fn call(app: &App, method: Method, path: &str, user: Option<&str>) -> TestResponse {
    app.send(request(method, path, user, None)).await
}

/// Asserts that `head` answers what `get` did, without the body.
#[track_caller]
fn assert_same_but_the_body(get: &TestResponse, head: &TestResponse) {
    assert_eq!(head.status, get.status);
    assert!(head.bytes.is_empty(), "HEAD body: {:?}", head.bytes);
    for name in REPEATED {
        assert_eq!(head.headers.get(name), get.headers.get(name), "{name}");
    }
    assert_eq!(head.route, get.route);
}

/// The `Content-Length` a response states.
fn length(headers: &HeaderMap) -> Option<usize> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

async fn a_head_of_a_todo_has_the_gets_status_and_headers_and_no_body(app: App) {
    let todo = app.todo("alice", json!({"title": "T"})).await;
    let path = format!("/api/v1/todos/{}", todo["id"].as_str().unwrap());
    let get = call(&app, Method::GET, &path, Some("alice")).await;
    let head = call(&app, Method::HEAD, &path, Some("alice")).await;
    assert_eq!(head.status, StatusCode::OK);
    assert!(head.headers.contains_key(header::ETAG));
    assert_same_but_the_body(&get, &head);
    assert_eq!(head.headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(length(&head.headers), Some(get.bytes.len()));
    assert_eq!(head.route, Some("/api/v1/todos/{id}"));
    // Another user's todo is the same 404 for HEAD as for GET.
    let foreign = call(&app, Method::HEAD, &path, Some("bob")).await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
}

async fn a_head_of_a_list_has_the_gets_etag_and_length(app: App) {
    app.todo("alice", json!({"title": "T"})).await;
    let path = "/api/v1/todos?limit=5";
    let get = call(&app, Method::GET, path, Some("alice")).await;
    let head = call(&app, Method::HEAD, path, Some("alice")).await;
    assert_eq!(head.status, StatusCode::OK);
    assert_same_but_the_body(&get, &head);
    assert_eq!(length(&head.headers), Some(get.bytes.len()));
    // The tag follows the list, as for GET.
    app.todo("alice", json!({"title": "U"})).await;
    let after = call(&app, Method::HEAD, path, Some("alice")).await;
    assert_ne!(after.headers[header::ETAG], head.headers[header::ETAG]);
}

async fn a_head_with_the_current_etag_is_304(app: App) {
    let todo = app.todo("alice", json!({"title": "T"})).await;
    let path = format!("/api/v1/todos/{}", todo["id"].as_str().unwrap());
    let etag = call(&app, Method::HEAD, &path, Some("alice")).await.headers[header::ETAG].clone();
    let mut req = request(Method::HEAD, &path, Some("alice"), None);
    req.headers_mut()
        .insert(header::IF_NONE_MATCH, etag.clone());
    let head = app.send(req).await;
    assert_eq!(head.status, StatusCode::NOT_MODIFIED);
    assert_eq!(head.headers[header::ETAG], etag);
    assert!(head.bytes.is_empty());
    assert_eq!(length(&head.headers), None, "a 304 states no length");
    let mut req = request(Method::HEAD, &path, Some("alice"), None);
    req.headers_mut()
        .insert(header::IF_NONE_MATCH, "\"other\"".parse().unwrap());
    assert_eq!(app.send(req).await.status, StatusCode::OK);
}

async fn a_head_without_a_token_is_401_without_a_body(app: App) {
    let get = call(&app, Method::GET, "/api/v1/todos", None).await;
    let head = call(&app, Method::HEAD, "/api/v1/todos", None).await;
    assert_eq!(head.status, StatusCode::UNAUTHORIZED);
    assert_same_but_the_body(&get, &head);
    assert_eq!(head.headers[header::WWW_AUTHENTICATE], "Bearer");
    assert_eq!(length(&head.headers), Some(get.bytes.len()));
}

async fn the_public_routes_answer_head_like_get(app: App) {
    for path in ["/status", "/api/status", "/openapi.json", "/docs", "/docs/"] {
        let get = call(&app, Method::GET, path, None).await;
        let head = call(&app, Method::HEAD, path, None).await;
        assert_same_but_the_body(&get, &head);
        if path.ends_with("status") {
            // The body names each check's response time, whose length varies.
            assert!(length(&head.headers).is_some(), "{path}");
        } else if get.status == StatusCode::OK {
            assert_eq!(length(&head.headers), Some(get.bytes.len()), "{path}");
        }
    }
    let docs = call(&app, Method::HEAD, "/docs", None).await;
    assert_eq!(docs.status, StatusCode::PERMANENT_REDIRECT);
    let status = call(&app, Method::HEAD, "/status", Some("alice")).await;
    assert_eq!(status.status, StatusCode::OK);
}

async fn a_head_of_a_download_link_states_the_files_type_and_length(app: App) {
    let todo = app.todo("alice", json!({"title": "T"})).await;
    let id = todo["id"].as_str().unwrap();
    let uploaded = upload(&app, "alice", id, &[("file", "notes.txt", b"hello, file")]).await;
    let url = download_url(&app, id, uploaded.json["id"].as_str().unwrap()).await;
    let head = call(&app, Method::HEAD, &path_of(&url), None).await;
    assert_eq!(head.status, StatusCode::OK);
    assert!(head.bytes.is_empty());
    assert_eq!(head.headers[header::CONTENT_TYPE], "text/plain");
    assert_eq!(length(&head.headers), Some(b"hello, file".len()));
    assert!(
        head.headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains("notes.txt")
    );
    // The link still serves the file afterwards.
    let get = call(&app, Method::GET, &path_of(&url), None).await;
    assert_eq!(&get.bytes[..], b"hello, file");
    assert_same_but_the_body(&get, &head);
}

async fn a_405_lists_head_and_options_where_get_is_listed(app: App) {
    let todos = call(&app, Method::PUT, "/api/v1/todos", Some("alice")).await;
    assert_eq!(todos.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(todos.headers[header::ALLOW], "GET, HEAD, POST, OPTIONS");
    let comment = call(&app, Method::GET, "/api/v1/comments/x", Some("alice")).await;
    assert_eq!(comment.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(comment.headers[header::ALLOW], "PATCH, DELETE, OPTIONS");
}

async fn a_head_on_a_route_without_get_is_405_without_a_body(app: App) {
    let path = "/api/v1/todos/x/attachments";
    let head = call(&app, Method::HEAD, path, Some("alice")).await;
    assert_eq!(head.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(head.bytes.is_empty());
    assert_eq!(head.headers[header::ALLOW], "POST, OPTIONS");
    let get = call(&app, Method::GET, path, Some("alice")).await;
    assert_eq!(length(&head.headers), Some(get.bytes.len()));
}

async fn options_is_204_with_the_routes_methods_and_needs_no_token(app: App) {
    let todo = app.todo("alice", json!({"title": "T"})).await;
    let path = format!("/api/v1/todos/{}", todo["id"].as_str().unwrap());
    let options = call(&app, Method::OPTIONS, &path, None).await;
    assert_eq!(options.status, StatusCode::NO_CONTENT);
    assert_eq!(
        options.headers[header::ALLOW],
        "GET, HEAD, PATCH, DELETE, OPTIONS"
    );
    assert!(options.bytes.is_empty());
    assert_eq!(options.route, Some("/api/v1/todos/{id}"));
    let upload = call(&app, Method::OPTIONS, &format!("{path}/attachments"), None).await;
    assert_eq!(upload.status, StatusCode::NO_CONTENT);
    assert_eq!(upload.headers[header::ALLOW], "POST, OPTIONS");
    let status = call(&app, Method::OPTIONS, "/status", Some("alice")).await;
    assert_eq!(status.status, StatusCode::NO_CONTENT);
    assert_eq!(status.headers[header::ALLOW], "GET, HEAD, OPTIONS");
}

async fn options_of_an_unknown_path_is_404(app: App) {
    for method in [Method::OPTIONS, Method::HEAD] {
        let response = call(&app, method.clone(), "/api/v1/nothing", None).await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{method}");
        assert!(!response.headers.contains_key(header::ALLOW), "{method}");
    }
}

/// `OPTIONS /status` from `ip`.
fn options_from(ip: &str) -> http::Request<tasker_http::Body> {
    let mut req = request(Method::OPTIONS, "/status", None, None);
    req.extensions_mut()
        .insert(ClientAddr(format!("{ip}:5000").parse().unwrap()));
    req
}

#[tokio::test]
async fn options_counts_in_the_clients_rate_limit_bucket() {
    let mut settings = quiet_settings();
    settings.rate_limit.enabled = true;
    settings.rate_limit.per_second = 1;
    settings.rate_limit.burst = Some(2);
    let app = App::sqlite().await.reconfigure(settings);
    for remaining in ["1", "0"] {
        let ok = app.send(options_from("10.9.9.9")).await;
        assert_eq!(ok.status, StatusCode::NO_CONTENT);
        assert_eq!(ok.headers["ratelimit-remaining"], remaining);
    }
    let refused = app.send(options_from("10.9.9.9")).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers.contains_key(header::RETRY_AFTER));
    // A HEAD counts in the same bucket and carries the same headers as a GET.
    let mut head = request(Method::HEAD, "/status", None, None);
    head.extensions_mut()
        .insert(ClientAddr("10.9.9.8:5000".parse().unwrap()));
    let head = app.send(head).await;
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(head.headers["ratelimit-remaining"], "1");
}

#[tokio::test]
async fn without_the_standard_layers_a_head_still_has_no_body() {
    let app = App::sqlite().await;
    let api: TaskerApi = TaskerApi::builder(app.services.clone())
        .settings(quiet_settings())
        .auth_layer(crate::support::auth_layer())
        .without_standard_layers()
        .build();
    let get = send_to(&api, request(Method::GET, "/openapi.json", None, None)).await;
    let head = send_to(&api, request(Method::HEAD, "/openapi.json", None, None)).await;
    assert_eq!(head.status, StatusCode::OK);
    assert!(head.bytes.is_empty());
    assert_eq!(length(&head.headers), Some(get.bytes.len()));
    let unauthorized = send_to(&api, request(Method::HEAD, "/api/v1/todos", None, None)).await;
    assert_eq!(unauthorized.status, StatusCode::UNAUTHORIZED);
    assert!(unauthorized.bytes.is_empty());
}

#[tokio::test]
async fn with_cors_on_an_options_preflight_is_the_cors_layers() {
    let mut settings = quiet_settings();
    settings.cors.allowed_origins = vec!["https://app.example.com".into()];
    let app = App::sqlite().await.reconfigure(settings);
    let mut req = request(Method::OPTIONS, "/api/v1/todos", None, None);
    req.headers_mut()
        .insert(header::ORIGIN, "https://app.example.com".parse().unwrap());
    req.headers_mut().insert(
        header::ACCESS_CONTROL_REQUEST_METHOD,
        "POST".parse().unwrap(),
    );
    let preflight = app.send(req).await;
    assert_eq!(preflight.status, StatusCode::OK);
    assert!(
        preflight
            .headers
            .contains_key(header::ACCESS_CONTROL_ALLOW_METHODS)
    );
    assert!(!preflight.headers.contains_key(header::ALLOW));
}

#[tokio::test]
async fn over_tcp_a_head_states_the_gets_length_and_sends_no_body() {
    use http_body_util::{BodyExt, Empty};
    use hyper_util::{
        client::legacy::Client,
        rt::{TokioExecutor, TokioIo},
        server::conn::auto,
    };
    use tower::ServiceExt;

    let app = App::sqlite().await;
    let api = app.api.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, peer)) = listener.accept().await {
            let api = api.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(
                    move |mut request: http::Request<hyper::body::Incoming>| {
                        request.extensions_mut().insert(ClientAddr(peer));
                        api.clone().oneshot(request)
                    },
                );
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<bytes::Bytes>>();
    let send = |method: Method| {
        client.request(
            http::Request::builder()
                .method(method)
                .uri(format!("http://{addr}/openapi.json"))
                .body(Empty::new())
                .unwrap(),
        )
    };
    let get = send(Method::GET).await.unwrap();
    let get_length = length(get.headers());
    let get_body = get.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(get_length, Some(get_body.len()));
    let head = send(Method::HEAD).await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(length(head.headers()), Some(get_body.len()));
    assert!(
        head.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .is_empty()
    );
}
