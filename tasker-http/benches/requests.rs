//! Requests per second through the whole layer stack (request id, trace,
//! security headers, rate limiter, JWT auth, routing, handlers, store),
//! called in-process as a tower service: no sockets, so the figure is the
//! service's own cost plus the database's.
//!
//! Run with: `cargo bench -p tasker-http --bench requests`
//! (PostgreSQL at `TASKER_TEST_DATABASE_URL`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`; `TASKER_BENCH_SECONDS`
//! sets the time per scenario, default 5; `TASKER_BENCH_CONCURRENCY` the
//! number of concurrent clients, default 16).

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use http::{Request, StatusCode, header};
use serde_json::json;
use tasker_core::{
    blob::BlobStore,
    clock::SystemClock,
    domain::{TodoTitle, UserId},
    model::NewTodo,
    service::Services,
    store::AnyStore,
    testing::TestStore,
};
use tasker_http::{
    ClientAddr, HttpSettings, TaskerApi,
    auth::{AuthLayer, JwtAuthenticator, JwtConfig},
};
use tower::ServiceExt;

const SECRET: &str = "bench-secret-of-at-least-thirty-two-bytes";

struct Scenario {
    name: &'static str,
    path: String,
}

struct Figures {
    requests: u64,
    elapsed: Duration,
    p50: Duration,
    p99: Duration,
}

fn token(user: &str) -> String {
    let exp = time::OffsetDateTime::now_utc().unix_timestamp() + 3600;
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &json!({ "sub": user, "exp": exp }),
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .expect("sign")
}

async fn seed(services: &Services<AnyStore>, user: &UserId, todos: usize) -> uuid::Uuid {
    let mut first = None;
    for n in 0..todos {
        let todo = services
            .todos
            .create(
                user,
                NewTodo::new(TodoTitle::parse(&format!("todo {n}")).unwrap()),
            )
            .await
            .expect("seed");
        first.get_or_insert(todo.id);
    }
    let root = first.expect("at least one todo");
    // A populated todo: two subtasks and a comment.
    for n in 0..2 {
        let mut child = NewTodo::new(TodoTitle::parse(&format!("child {n}")).unwrap());
        child.parent_todo_id = Some(root);
        services.todos.create(user, child).await.expect("child");
    }
    services
        .comments
        .add(
            user,
            root,
            tasker_core::domain::CommentContent::parse("note").unwrap(),
        )
        .await
        .expect("comment");
    root
}

async fn run(
    api: &TaskerApi,
    scenario: &Scenario,
    bearer: &str,
    seconds: u64,
    clients: usize,
) -> Figures {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for client in 0..clients {
        let api = api.clone();
        let path = scenario.path.clone();
        let bearer = bearer.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let mut request = Request::get(&path)
                    .header(header::AUTHORIZATION, &bearer)
                    .body(http_body_util::Full::new(bytes::Bytes::new()))
                    .unwrap();
                request.extensions_mut().insert(ClientAddr(
                    format!("10.0.{}.{}:1", client / 250, client % 250)
                        .parse()
                        .unwrap(),
                ));
                let sent = Instant::now();
                let response = api.clone().oneshot(request).await.unwrap();
                assert_eq!(
                    response.status(),
                    StatusCode::OK,
                    "a non-2xx response makes the run invalid"
                );
                let mut body = response.into_body();
                while let Some(frame) = http_body_util::BodyExt::frame(&mut body).await {
                    frame.expect("body frame");
                }
                latencies.push(sent.elapsed());
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    let elapsed = started.elapsed();
    all.sort();
    let at = |q: f64| all[((all.len() as f64 * q) as usize).min(all.len() - 1)];
    Figures {
        requests: all.len() as u64,
        elapsed,
        p50: at(0.50),
        p99: at(0.99),
    }
}

fn main() {
    let seconds: u64 = std::env::var("TASKER_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let clients: usize = std::env::var("TASKER_BENCH_CONCURRENCY")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(16);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let Some(test_store) = TestStore::postgres().await else {
            eprintln!("PostgreSQL skipped: nothing to measure");
            return;
        };
        let blob_dir = tempfile::tempdir().unwrap();
        let services = Services::new(
            test_store.store.clone(),
            Arc::new(SystemClock),
            BlobStore::local(blob_dir.path()).unwrap(),
        );
        let user = UserId::parse("bench-user").unwrap();
        let root = seed(&services, &user, 1_000).await;
        let mut settings = HttpSettings::default();
        // A limit the benchmark never reaches, so the limiter's cost is measured, not its refusals.
        settings.rate_limit.per_second = 1_000_000;
        settings.rate_limit.burst = Some(1_000_000);
        let api = TaskerApi::builder(services)
            .settings(settings)
            .auth_layer(AuthLayer::new(
                JwtAuthenticator::new(JwtConfig::with_secret(SECRET)).unwrap(),
            ))
            .build();
        let bearer = format!("Bearer {}", token("bench-user"));
        let scenarios = [
            Scenario {
                name: "GET /api/v1/todos/{id} (populated)",
                path: format!("/api/v1/todos/{root}"),
            },
            Scenario {
                name: "GET /api/v1/todos?limit=20",
                path: "/api/v1/todos?limit=20".into(),
            },
        ];
        println!("| scenario | requests | req/s | p50 | p99 |");
        println!("| --- | ---: | ---: | ---: | ---: |");
        for scenario in &scenarios {
            // Warm the pool and caches.
            run(&api, scenario, &bearer, 1, clients).await;
            let f = run(&api, scenario, &bearer, seconds, clients).await;
            println!(
                "| {} | {} | {:.0} | {:.2} ms | {:.2} ms |",
                scenario.name,
                f.requests,
                f.requests as f64 / f.elapsed.as_secs_f64(),
                f.p50.as_secs_f64() * 1000.0,
                f.p99.as_secs_f64() * 1000.0
            );
        }
    });
}
