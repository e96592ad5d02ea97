//! The service mounted in plain hyper and inside an axum router under a prefix.

use std::net::SocketAddr;

use http::{Request, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper_util::{
    client::legacy::Client,
    rt::{TokioExecutor, TokioIo},
    server::conn::auto,
};
use serde_json::{Value, json};
use tasker_http::ClientAddr;
use tokio::net::TcpListener;
use tower::{Service, ServiceExt};

use crate::support::{App, token};

#[tokio::test]
async fn the_service_runs_inside_a_plain_hyper_server() {
    let app = App::sqlite().await;
    let api = app.api.clone();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, peer)) = listener.accept().await else {
                return;
            };
            let api = api.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(
                    move |mut request: Request<hyper::body::Incoming>| {
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
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<bytes::Bytes>>();
    let created = client
        .request(
            Request::post(format!("http://{addr}/api/v1/todos"))
                .header(header::AUTHORIZATION, format!("Bearer {}", token("alice")))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Full::from(json!({"title": "over TCP"}).to_string()))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    assert!(created.headers().contains_key("x-request-id"));
    let body: Value =
        serde_json::from_slice(&created.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(body["title"], "over TCP");
    let _: SocketAddr = addr;
}

#[tokio::test]
async fn the_service_mounts_in_axum_under_a_prefix() {
    let app = App::sqlite().await;
    let mut router = axum::Router::new()
        .route("/", axum::routing::get(|| async { "host app" }))
        .nest_service("/tasks", app.api.clone());
    let request = Request::get("/tasks/api/v1/todos")
        .header(header::AUTHORIZATION, format!("Bearer {}", token("alice")))
        .body(axum::body::Body::empty())
        .unwrap();
    let response = router.call(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value =
        serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(body["total"], 0);
    let home = router
        .call(Request::get("/").body(axum::body::Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(home.status(), StatusCode::OK);
    let unknown = router
        .call(
            Request::get("/tasks/nope")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}
