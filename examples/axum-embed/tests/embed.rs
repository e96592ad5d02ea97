//! The host application, started on a free port with a temporary SQLite
//! database: its own routes and auth, tasker under `/tasks` with the
//! application's identity, and the job worker on the application's runtime.

use std::time::{Duration, Instant};

use reqwest::{Client, StatusCode, header};
use serde_json::{Value, json};
use tasker_axum_embed::{Config, UNAUTHORIZED_MESSAGE, start};
use tasker_jobs::{Job, job_stats};
use tokio::net::TcpListener;

const KEYS: &str = "alice-key=alice,bob-key=bob";

fn bearer(key: &str) -> String {
    format!("Bearer {key}")
}

async fn json_body(response: reqwest::Response) -> Value {
    response.json().await.expect("a JSON body")
}

/// Asserts that `response` is the application's own `401`, not tasker's.
async fn assert_app_401(response: reqwest::Response) {
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response
            .headers()
            .get(header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok()),
        Some("Bearer")
    );
    assert_eq!(
        json_body(response).await,
        json!({ "error": UNAUTHORIZED_MESSAGE })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_app_mounts_tasker_with_its_own_auth_and_runs_the_worker() {
    let dir = tempfile::tempdir().expect("temp dir");
    let database_url = format!("sqlite://{}", dir.path().join("app.db").display());
    let mut config = Config::with_data_dir(&database_url, dir.path(), KEYS).expect("config");
    config.jobs.poll_interval_ms = 20;
    // No cron ticks: the only job in the queue is the one this test pushes.
    config.jobs.cron.enabled = false;

    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let running = start(config, listener).await.expect("start");
    let base = format!("http://{}", running.addr());
    let client = Client::new();
    let todos = format!("{base}/tasks/api/v1/todos");

    // The application's own routes.
    let hello = client.get(format!("{base}/")).send().await.expect("GET /");
    assert_eq!(hello.status(), StatusCode::OK);
    assert!(
        hello
            .text()
            .await
            .expect("text")
            .starts_with("hello from the host application")
    );
    let me = client
        .get(format!("{base}/me"))
        .header(header::AUTHORIZATION, bearer("bob-key"))
        .send()
        .await
        .expect("GET /me");
    assert_eq!(me.status(), StatusCode::OK);
    assert_eq!(json_body(me).await, json!({ "userId": "bob" }));
    assert_app_401(
        client
            .get(format!("{base}/me"))
            .send()
            .await
            .expect("GET /me"),
    )
    .await;

    // tasker without the application's credentials: the application's 401.
    assert_app_401(client.get(&todos).send().await.expect("GET todos")).await;
    assert_app_401(
        client
            .get(&todos)
            .header(header::AUTHORIZATION, bearer("wrong-key"))
            .send()
            .await
            .expect("GET todos"),
    )
    .await;
    // Public tasker routes are behind the application's auth too.
    assert_app_401(
        client
            .get(format!("{base}/tasks/status"))
            .send()
            .await
            .expect("GET status"),
    )
    .await;

    // Alice creates a todo and lists it.
    let created = client
        .post(&todos)
        .header(header::AUTHORIZATION, bearer("alice-key"))
        .json(&json!({ "title": "write the embedding example" }))
        .send()
        .await
        .expect("POST todo");
    assert_eq!(created.status(), StatusCode::CREATED);
    let created = json_body(created).await;
    assert_eq!(created["title"], "write the embedding example");
    let id = created["id"].as_str().expect("an id").to_owned();

    let listed = client
        .get(&todos)
        .header(header::AUTHORIZATION, bearer("alice-key"))
        .send()
        .await
        .expect("GET todos");
    assert_eq!(listed.status(), StatusCode::OK);
    let listed = json_body(listed).await;
    assert_eq!(listed["total"], 1);
    assert_eq!(listed["data"][0]["id"], id.as_str());

    let own = client
        .get(format!("{todos}/{id}"))
        .header(header::AUTHORIZATION, bearer("alice-key"))
        .send()
        .await
        .expect("GET todo");
    assert_eq!(own.status(), StatusCode::OK);

    // Bob, another user of the application, sees none of it.
    let bobs = client
        .get(&todos)
        .header(header::AUTHORIZATION, bearer("bob-key"))
        .send()
        .await
        .expect("GET todos");
    assert_eq!(bobs.status(), StatusCode::OK);
    let bobs = json_body(bobs).await;
    assert_eq!(bobs["total"], 0);
    assert_eq!(bobs["data"], json!([]));
    let foreign = client
        .get(format!("{todos}/{id}"))
        .header(header::AUTHORIZATION, bearer("bob-key"))
        .send()
        .await
        .expect("GET todo");
    assert_eq!(foreign.status(), StatusCode::NOT_FOUND);

    // The worker runs on the application's runtime: a pushed job gets done.
    let done = |stats: &tasker_jobs::JobStats| stats.queues.iter().map(|q| q.done).sum::<u64>();
    // The users the application handed to tasker are remembered (their
    // welcome e-mails are enqueued; with no address known, they are skipped).
    let alice = tasker_core::domain::UserId::parse("alice").expect("user id");
    let start = Instant::now();
    while running
        .jobs()
        .jobs()
        .known_user(&alice)
        .await
        .expect("known user")
        .is_none()
    {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "alice was not remembered"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let before = job_stats(running.jobs(), 10).await.expect("stats");
    running
        .jobs()
        .queue()
        .push(Job::Noop)
        .await
        .expect("push a job");
    let start = Instant::now();
    let stats = loop {
        let stats = job_stats(running.jobs(), 10).await.expect("stats");
        let default_done = stats
            .queues
            .iter()
            .find(|q| q.queue == "default")
            .map_or(0, |q| q.done);
        if default_done >= 1 && done(&stats) > done(&before) {
            break stats;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the job was not done in 30 s: {stats:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let default_queue = stats
        .queues
        .iter()
        .find(|q| q.queue == "default")
        .expect("the default queue");
    assert_eq!(default_queue.done, 1, "{stats:?}");
    assert!(stats.failed.is_empty(), "{stats:?}");

    // Graceful shutdown: the server stops, then the worker.
    drop(client);
    tokio::time::timeout(Duration::from_secs(60), running.shutdown())
        .await
        .expect("shutdown in time")
        .expect("clean shutdown");
    let after = Client::new().get(format!("{base}/")).send().await;
    assert!(after.is_err(), "the server still answers: {after:?}");
}
