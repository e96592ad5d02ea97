//! The whole API over a temporary SQLite database, shared by the targets
//! that send requests through `tasker_http::TaskerApi`.
//!
//! No authentication layer: every request carries a fixed `AuthUser` in its
//! extensions, as a host application that authenticates by itself would do.
//! Rate limits are off so that the fuzzer's request rate is never refused.

#![allow(dead_code)]

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use http::{Method, Request, Response};
use http_body_util::{BodyExt, Full};
use tasker_core::{
    blob::BlobStore,
    clock::SystemClock,
    domain::UserId,
    service::Services,
    store::{AnyStore, StoreOptions},
};
use tasker_http::{AuthUser, HttpSettings, TaskerApi};
use tower::ServiceExt;

/// The user every request is made as.
pub const USER: &str = "user_fuzz";

/// A runtime, the API and the directory holding its database.
pub struct Harness {
    runtime: tokio::runtime::Runtime,
    api: TaskerApi,
    /// Kept so that the database outlives every request (removed when the
    /// process ends normally; libFuzzer exits without unwinding, so a run
    /// leaves one small directory under the temp dir).
    _dir: tempfile::TempDir,
}

/// A finished response: status and body bytes.
pub struct Answer {
    pub status: http::StatusCode,
    pub body: Bytes,
}

impl Harness {
    /// The process-wide harness, built on first use.
    pub fn get() -> &'static Harness {
        static HARNESS: OnceLock<Harness> = OnceLock::new();
        HARNESS.get_or_init(Harness::new)
    }

    fn new() -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime");
        let dir = tempfile::Builder::new()
            .prefix("tasker-fuzz-")
            .tempdir()
            .expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("tasker.db").display());
        let api = runtime.block_on(async {
            let store = AnyStore::connect(&url, &StoreOptions::default())
                .await
                .expect("open SQLite");
            store.migrate().await.expect("migrate");
            let blobs = BlobStore::local(dir.path().join("files")).expect("blob dir");
            let services = Services::new(store, Arc::new(SystemClock), blobs);
            let mut settings = HttpSettings::default();
            settings.rate_limit.enabled = false;
            TaskerApi::builder(services).settings(settings).build()
        });
        let harness = Self {
            runtime,
            api,
            _dir: dir,
        };
        harness.seed();
        harness
    }

    /// A few todos, subtasks and categories, so that lists have rows to
    /// sort, filter and page through.
    fn seed(&self) {
        let category = self.send_json(
            Method::POST,
            "/api/v1/categories",
            br##"{"name":"Work","color":"#336699"}"##,
        );
        assert_eq!(category.status, 201, "seed category");
        let category: serde_json::Value = serde_json::from_slice(&category.body).unwrap();
        let category_id = category["id"].as_str().unwrap().to_owned();
        for (i, (priority, due)) in [
            ("high", "2026-01-01"),
            ("low", "2030-06-30T12:00:00Z"),
            ("medium", "1999-12-31T23:59:59+14:00"),
        ]
        .into_iter()
        .enumerate()
        {
            let body = serde_json::json!({
                "title": format!("Todo {i} ü"),
                "description": "seeded",
                "priority": priority,
                "dueDate": due,
                "categoryId": category_id,
            });
            let todo = self.send_json(Method::POST, "/api/v1/todos", body.to_string().as_bytes());
            assert_eq!(todo.status, 201, "seed todo");
            let todo: serde_json::Value = serde_json::from_slice(&todo.body).unwrap();
            let child = serde_json::json!({"title": "Subtask", "parentTodoId": todo["id"]});
            let child = self.send_json(Method::POST, "/api/v1/todos", child.to_string().as_bytes());
            assert_eq!(child.status, 201, "seed subtask");
        }
    }

    /// Sends `request` as [`USER`] and reads the whole response.
    pub fn send(&self, mut request: Request<Full<Bytes>>) -> Answer {
        request
            .extensions_mut()
            .insert(AuthUser::new(UserId::parse(USER).unwrap()));
        self.runtime.block_on(async {
            let response: Response<_> = self.api.clone().oneshot(request).await.unwrap();
            let status = response.status();
            let body = response
                .into_body()
                .collect()
                .await
                .expect("response body")
                .to_bytes();
            Answer { status, body }
        })
    }

    /// Sends a JSON body.
    pub fn send_json(&self, method: Method, path: &str, body: &[u8]) -> Answer {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::copy_from_slice(body)))
            .unwrap();
        self.send(request)
    }
}

/// Checks the reference error body of a `400`: the code, the status repeated,
/// and for `VALIDATION_FAILED` at least one error, each naming its field.
pub fn assert_error_body(answer: &Answer, context: &str) {
    let body: serde_json::Value = serde_json::from_slice(&answer.body)
        .unwrap_or_else(|e| panic!("{context}: error body is not JSON ({e})"));
    assert_eq!(
        body["status"].as_u64(),
        Some(u64::from(answer.status.as_u16())),
        "{context}: {body}"
    );
    let code = body["code"].as_str().unwrap_or_default();
    assert!(!code.is_empty(), "{context}: no code in {body}");
    if code == "VALIDATION_FAILED" {
        let errors = body["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("{context}: no errors in {body}"));
        assert!(!errors.is_empty(), "{context}: empty errors in {body}");
        for error in errors {
            assert!(
                error["field"].as_str().is_some_and(|f| !f.is_empty()),
                "{context}: unnamed field in {body}"
            );
        }
    }
}
