//! Test harness: the API over a fresh store per case, a fixed clock, a
//! request helper that checks every JSON response against our own
//! `/openapi.json`.

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tasker_core::{
    blob::BlobStore, clock::ManualClock, service::Services, store::AnyStore, testing::TestStore,
};
use tasker_http::{Body, ClientAddr, HttpSettings, MatchedRoute, TaskerApi, body::full};
use tempfile::TempDir;
use time::{OffsetDateTime, macros::datetime};
use tower::ServiceExt;

/// The instant every case starts at.
pub(crate) const T0: OffsetDateTime = datetime!(2026-11-23 09:00 UTC);

/// The HS256 secret of the test tokens.
pub(crate) const SECRET: &str = "test-secret-of-at-least-thirty-two-bytes!";

/// Generates one test per backend for each listed case; attributes before a
/// case (such as `#[ignore = "…"]`) go on both of its tests.
macro_rules! cases {
    ($($(#[$attr:meta])* $case:ident),* $(,)?) => {
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                $(#[$attr])*
                async fn $case() {
                    if let Some(app) = crate::support::App::postgres().await {
                        super::$case(app).await;
                    }
                }
            )*
        }
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                $(#[$attr])*
                async fn $case() {
                    super::$case(crate::support::App::sqlite().await).await;
                }
            )*
        }
    };
}
pub(crate) use cases;

/// One case's world.
pub(crate) struct App {
    pub api: TaskerApi,
    pub services: Services<AnyStore>,
    pub clock: ManualClock,
    pub blob_dir: TempDir,
    pub test_store: TestStore,
}

impl App {
    pub(crate) async fn sqlite() -> Self {
        Self::with_store(TestStore::sqlite().await, quiet_settings())
    }

    pub(crate) async fn postgres() -> Option<Self> {
        Some(Self::with_store(
            TestStore::postgres().await?,
            quiet_settings(),
        ))
    }

    /// An app over `test_store` with `settings` (rate limits off unless set).
    pub(crate) fn with_store(test_store: TestStore, settings: HttpSettings) -> Self {
        let clock = ManualClock::new(T0);
        let blob_dir = tempfile::tempdir().expect("temp dir");
        let blobs = BlobStore::local(blob_dir.path()).expect("blob dir");
        let services = Services::new(test_store.store.clone(), Arc::new(clock.clone()), blobs);
        let api = build_api(services.clone(), settings);
        Self {
            api,
            services,
            clock,
            blob_dir,
            test_store,
        }
    }

    /// Rebuilds the API with other settings over the same store.
    pub(crate) fn reconfigure(mut self, settings: HttpSettings) -> Self {
        self.api = build_api(self.services.clone(), settings);
        self
    }

    /// Sends `request` and checks the response against the OpenAPI document.
    pub(crate) async fn send(&self, request: Request<Body>) -> TestResponse {
        send_to(&self.api, request).await
    }

    pub(crate) async fn get(&self, user: &str, path: &str) -> TestResponse {
        self.send(request(Method::GET, path, Some(user), None))
            .await
    }

    pub(crate) async fn delete(&self, user: &str, path: &str) -> TestResponse {
        self.send(request(Method::DELETE, path, Some(user), None))
            .await
    }

    pub(crate) async fn post(&self, user: &str, path: &str, body: Value) -> TestResponse {
        self.send(request(Method::POST, path, Some(user), Some(body)))
            .await
    }

    pub(crate) async fn patch(&self, user: &str, path: &str, body: Value) -> TestResponse {
        self.send(request(Method::PATCH, path, Some(user), Some(body)))
            .await
    }

    /// Creates a todo over HTTP and returns its JSON.
    pub(crate) async fn todo(&self, user: &str, body: Value) -> Value {
        let response = self.post(user, "/api/v1/todos", body).await;
        assert_eq!(response.status, StatusCode::CREATED, "{}", response.json);
        response.json
    }

    /// Creates a category over HTTP and returns its JSON.
    pub(crate) async fn category(&self, user: &str, name: &str) -> Value {
        let response = self
            .post(
                user,
                "/api/v1/categories",
                json!({"name": name, "color": "#112233"}),
            )
            .await;
        assert_eq!(response.status, StatusCode::CREATED, "{}", response.json);
        response.json
    }
}

/// The settings tests use unless they say otherwise: no rate limits.
pub(crate) fn quiet_settings() -> HttpSettings {
    let mut settings = HttpSettings::default();
    settings.rate_limit.enabled = false;
    settings
}

pub(crate) fn build_api(services: Services<AnyStore>, settings: HttpSettings) -> TaskerApi {
    TaskerApi::builder(services)
        .settings(settings)
        .auth_layer(crate::support::auth_layer())
        .unsubscribe_links(unsubscribe_links())
        .build()
}

/// The unsubscribe links the test API answers.
pub(crate) fn unsubscribe_links() -> tasker_core::unsubscribe::UnsubscribeLinks {
    tasker_core::unsubscribe::UnsubscribeLinks::new(
        b"the unsubscribe key of the tests!".to_vec(),
        "http://tasker.test",
    )
}

/// The authentication the tests run with: HS256 tokens signed with [`SECRET`].
pub(crate) fn auth_layer() -> tasker_http::auth::AuthLayer<tasker_http::auth::JwtAuthenticator> {
    let config: tasker_http::auth::JwtConfig =
        serde_json::from_value(json!({ "jwt_secret": SECRET })).expect("auth config");
    tasker_http::auth::AuthLayer::new(
        tasker_http::auth::JwtAuthenticator::new(config).expect("authenticator"),
    )
}

/// A valid HS256 token for `user`, valid for an hour from now (wall clock).
pub(crate) fn token(user: &str) -> String {
    let exp = OffsetDateTime::now_utc().unix_timestamp() + 3600;
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &json!({ "sub": user, "exp": exp, "email": format!("{user}@example.com") }),
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .expect("sign token")
}

/// A request with an optional JSON body, as `user` (a bearer token) when given,
/// from 127.0.0.1.
pub(crate) fn request(
    method: Method,
    path: &str,
    user: Option<&str>,
    body: Option<Value>,
) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(path);
    if let Some(user) = user {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {}", token(user)));
    }
    let body = match body {
        Some(value) => {
            builder = builder.header(header::CONTENT_TYPE, "application/json");
            full(serde_json::to_vec(&value).expect("json"))
        }
        None => full(Bytes::new()),
    };
    let mut request = builder.body(body).expect("request");
    request
        .extensions_mut()
        .insert(ClientAddr("127.0.0.1:40000".parse().unwrap()));
    request
}

/// What a test looks at.
#[derive(Debug)]
pub(crate) struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub bytes: Bytes,
    pub json: Value,
    pub route: Option<&'static str>,
}

/// Calls `api` and validates the response body against the document.
pub(crate) async fn send_to(api: &TaskerApi, request: Request<Body>) -> TestResponse {
    let method = request.method().clone();
    let response = api.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let route = response.extensions().get::<MatchedRoute>().map(|m| m.0);
    let headers = response.headers().clone();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if method == Method::HEAD {
        // The GET's headers, never a body; nothing to check against the document.
        assert!(bytes.is_empty(), "a HEAD response has a body: {bytes:?}");
        return TestResponse {
            status,
            headers,
            bytes,
            json: Value::Null,
            route,
        };
    }
    let json = if is_json && !bytes.is_empty() {
        serde_json::from_slice(&bytes).expect("response is JSON")
    } else {
        Value::Null
    };
    if is_json && status.as_u16() >= 200 {
        check_against_document(route, &method, status, &json);
    }
    TestResponse {
        status,
        headers,
        bytes,
        json,
        route,
    }
}

/// Our own `/openapi.json`, as JSON.
pub(crate) fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| serde_json::to_value(tasker_http::openapi()).expect("document"))
}

/// The schema the document declares for this response, with the
/// components alongside so that `$ref`s resolve.
pub(crate) fn response_schema(route: &str, method: &Method, status: StatusCode) -> Option<Value> {
    let doc = document();
    let operation = doc.pointer(&format!(
        "/paths/{}/{}",
        route.replace('~', "~0").replace('/', "~1"),
        method.as_str().to_ascii_lowercase()
    ))?;
    let schema = operation
        .pointer(&format!(
            "/responses/{}/content/application~1json/schema",
            status.as_u16()
        ))?
        .clone();
    let mut root = json!({ "components": doc["components"].clone() });
    root.as_object_mut()
        .unwrap()
        .insert("allOf".into(), json!([schema]));
    Some(root)
}

#[track_caller]
fn check_against_document(route: Option<&str>, method: &Method, status: StatusCode, body: &Value) {
    let Some(route) = route else {
        // Unrouted (404 before matching) or rejected by a layer: the error body.
        let schema = json!({
            "components": document()["components"].clone(),
            "$ref": "#/components/schemas/ErrorBody"
        });
        validate(&schema, body, "unrouted error");
        return;
    };
    let declared_method = document()["paths"][route]
        .get(method.as_str().to_ascii_lowercase())
        .is_some();
    let schema = match response_schema(route, method, status) {
        Some(schema) => schema,
        // A method the route does not have (405): the error body.
        None if !declared_method && status == StatusCode::METHOD_NOT_ALLOWED => json!({
            "components": document()["components"].clone(),
            "$ref": "#/components/schemas/ErrorBody"
        }),
        None => panic!("{method} {route} answered {status}, which the document does not declare"),
    };
    validate(&schema, body, &format!("{method} {route} {status}"));
}

#[track_caller]
pub(crate) fn validate(schema: &Value, body: &Value, what: &str) {
    let validator = jsonschema::validator_for(schema).expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what}: body does not match the document:\n{}\nbody: {body}",
        errors.join("\n")
    );
}

/// Asserts an error response's status and code.
#[track_caller]
pub(crate) fn assert_error(response: &TestResponse, status: StatusCode, code: &str) {
    assert_eq!(response.status, status, "body: {}", response.json);
    assert_eq!(response.json["code"], code, "body: {}", response.json);
    assert_eq!(response.json["status"], status.as_u16());
}

/// The `field`s listed in an error body.
pub(crate) fn error_fields(response: &TestResponse) -> Vec<String> {
    response.json["errors"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|e| e["field"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}
