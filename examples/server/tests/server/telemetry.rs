//! Trace context: an incoming W3C `traceparent` continued in the exported spans,
//! and the ids of the exported request span on its log lines.

use std::time::Duration;

use reqwest::{Client, StatusCode};

use crate::support::{Collector, Env, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incoming_traceparent_is_continued_by_the_exported_request_span() {
    let collector = Collector::start().await;
    let env = Env::defaults()
        .set("TASKER_TELEMETRY__OTLP_ENDPOINT", collector.url.clone())
        .set("TASKER_LOG__FORMAT", "json");
    let mut server = Server::start(&env, &["--no-worker", "--no-scheduler"]).await;
    let token = env.token(&["--user", "continued"]);
    let response = Client::new()
        .get(format!("{}/api/v1/todos", server.url))
        .bearer_auth(&token)
        .header(
            "traceparent",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        )
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    server.terminate();
    let status = server.wait_exit(Duration::from_secs(30)).await;
    assert!(status.success(), "exit {status}:\n{}", server.log_text());

    let contains = |needle: &[u8]| collector.traces_contain(needle);
    assert!(contains(b"/api/v1/todos"), "the request span is exported");
    let trace_id = [
        0x0a, 0xf7, 0x65, 0x19, 0x16, 0xcd, 0x43, 0xdd, 0x84, 0x48, 0xeb, 0x21, 0x1c, 0x80, 0x31,
        0x9c,
    ];
    assert!(contains(&trace_id), "the caller's trace id is kept");
    let parent_span_id = [0xb7, 0xad, 0x6b, 0x71, 0x69, 0x20, 0x33, 0x31];
    assert!(contains(&parent_span_id), "the caller's span is the parent");

    // The request's log line names the trace and the exported span.
    let log = server.log_text();
    let line: serde_json::Value = log
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|line| line["message"] == "request completed")
        .unwrap_or_else(|| panic!("no log line for the request:\n{log}"));
    let span = &line["span"];
    assert_eq!(
        span["trace_id"], "0af7651916cd43dd8448eb211c80319c",
        "{line}"
    );
    let span_id = span["span_id"]
        .as_str()
        .filter(|id| id.len() == 16)
        .unwrap_or_else(|| panic!("no span_id: {line}"));
    let bytes: Vec<u8> = (0..8)
        .map(|i| u8::from_str_radix(&span_id[2 * i..2 * i + 2], 16).expect("hex span id"))
        .collect();
    assert_ne!(
        bytes, parent_span_id,
        "the request's own span, not the caller's"
    );
    assert!(
        contains(&bytes),
        "the logged span id is the exported span's: {line}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statements_and_redis_calls_are_exported_as_spans_without_their_arguments() {
    let collector = Collector::start().await;
    let redis = std::env::var("TASKER_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let prefix = format!("tasker-server-test-{}", uuid::Uuid::now_v7().simple());
    let env = Env::defaults()
        .set("TASKER_TELEMETRY__OTLP_ENDPOINT", collector.url.clone())
        .set("TASKER_REDIS__URL", redis.clone())
        .set("TASKER_JOBS__QUEUE_PREFIX", prefix.clone());
    let mut server = Server::start(&env, &["--no-worker", "--no-scheduler"]).await;
    let token = env.token(&["--user", "spans"]);
    let title = "a title that is an argument, never a span attribute";
    let response = Client::new()
        .post(format!("{}/api/v1/todos", server.url))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "title": title }))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::CREATED);
    // The new user's welcome e-mail is enqueued after the answer: wait for
    // its job in Redis, so that its span is over before the server stops.
    let mut conn = redis::Client::open(redis)
        .expect("redis url")
        .get_multiplexed_async_connection()
        .await
        .expect("redis");
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let keys: Vec<String> = redis::cmd("KEYS")
                .arg(format!("{prefix}:*"))
                .query_async(&mut conn)
                .await
                .expect("KEYS");
            if keys.iter().any(|key| !key.contains(":ratelimit")) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the welcome e-mail was enqueued");
    // The push's span closes when its reply is read, just after the key exists.
    tokio::time::sleep(Duration::from_millis(200)).await;
    server.terminate();
    let status = server.wait_exit(Duration::from_secs(30)).await;
    assert!(status.success(), "exit {status}:\n{}", server.log_text());

    let contains = |needle: &[u8]| collector.traces_contain(needle);
    // The insert, the rate-limit script and the welcome e-mail's enqueue.
    assert!(contains(b"db.statement"), "no statement span exported");
    assert!(
        contains(b"INSERT"),
        "the insert's operation is not exported"
    );
    assert!(
        contains(b"sqlite"),
        "the statement's db.system is not exported"
    );
    assert!(contains(b"redis.command"), "no Redis span exported");
    assert!(
        contains(b"EVALSHA"),
        "the rate-limit script's span is not exported"
    );
    assert!(
        contains(b"push a job"),
        "the enqueue's span is not exported"
    );
    assert!(!contains(title.as_bytes()), "a bound argument was exported");
}
