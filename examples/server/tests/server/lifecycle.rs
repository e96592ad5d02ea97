//! Graceful stop, admin routes, metrics and the other commands.

use std::time::Duration;

use reqwest::{Client, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{Env, Server, files_ending};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_a_request_in_flight_finish() {
    let env = Env::defaults();
    let mut server = Server::start(&env, &[]).await;
    let token = env.token(&["--user", "slow"]);
    let body = br##"{"name":"Finished after SIGTERM","color":"#112233"}"##;
    let addr = server.url.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    let head = format!(
        "POST /api/v1/categories HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    // `100 Continue` comes once the handler reads the body: the request is
    // in flight.
    let mut interim = [0u8; 25];
    stream.read_exact(&mut interim).await.expect("100 Continue");
    assert!(
        interim.starts_with(b"HTTP/1.1 100 Continue\r\n\r\n"),
        "{:?}",
        String::from_utf8_lossy(&interim)
    );
    stream.write_all(&body[..10]).await.expect("first half");
    stream.flush().await.expect("flush");

    server.terminate();
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(
        server.child.try_wait().expect("wait").is_none(),
        "the server must wait for the request in flight"
    );
    // New connections are refused at once.
    let refused = Client::new()
        .get(format!("{}/healthz", server.url))
        .timeout(Duration::from_secs(5))
        .send()
        .await;
    assert!(
        refused.as_ref().is_err_and(reqwest::Error::is_connect),
        "a new connection was not refused: {refused:?}"
    );

    stream.write_all(&body[10..]).await.expect("second half");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .await
        .expect("response");
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
    assert!(response.contains("Finished after SIGTERM"), "{response}");

    let status = server.wait_exit(Duration::from_secs(30)).await;
    assert!(status.success(), "exit {status}:\n{}", server.log_text());
    assert!(
        server.log_text().contains("stopped"),
        "{}",
        server.log_text()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_on_the_probes_and_admin_pages_has_the_get_status_and_type_and_no_body() {
    let env = Env::defaults();
    let server = Server::start(&env, &["--no-scheduler"]).await;
    let user = env.token(&["--user", "bob"]);
    let admin = env.token(&["--user", "root", "--role", "admin"]);
    let client = Client::new();
    for (path, token) in [
        ("/healthz", None),
        ("/readyz", None),
        ("/metrics", None),
        ("/admin/jobs/stats", Some(&admin)),
        ("/admin/jobs/stats", Some(&user)),
        ("/api/v1/todos", Some(&user)),
    ] {
        let send = |method: reqwest::Method| {
            let request = client.request(method, format!("{}{path}", server.url));
            let request = match token {
                Some(token) => request.bearer_auth(token),
                None => request,
            };
            async move { request.send().await.expect("request") }
        };
        let get = send(reqwest::Method::GET).await;
        let head = send(reqwest::Method::HEAD).await;
        assert_eq!(head.status(), get.status(), "HEAD {path}");
        assert_ne!(head.status(), StatusCode::NOT_FOUND, "HEAD {path}");
        assert_eq!(
            head.headers().get("content-type"),
            get.headers().get("content-type"),
            "HEAD {path}"
        );
        let body = head.bytes().await.expect("body");
        assert!(body.is_empty(), "HEAD {path} sent a body: {body:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_routes_need_the_admin_role() {
    let env = Env::defaults();
    let server = Server::start(&env, &["--no-scheduler"]).await;
    let user = env.token(&["--user", "bob"]);
    let admin = env.token(&["--user", "root", "--role", "admin"]);
    let client = Client::new();
    let url = |path: &str| format!("{}{path}", server.url);
    let call = |method: reqwest::Method, path: &str, token: Option<&str>| {
        let request = client.request(method, url(path));
        let request = match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        };
        async move { request.send().await.expect("request") }
    };
    use reqwest::Method as M;

    let anonymous = call(M::GET, "/admin/jobs", None).await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let body: serde_json::Value = anonymous.json().await.expect("json");
    assert_eq!(body["code"], "UNAUTHORIZED");
    assert_eq!(body["status"], 401);
    let forbidden = call(M::GET, "/admin/jobs/stats", Some(&user)).await;
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);

    let clerk_admin = env.token(&["--user", "org-owner", "--role", "org:admin"]);
    let allowed = call(M::GET, "/admin/jobs/stats", Some(&clerk_admin)).await;
    assert_eq!(allowed.status(), StatusCode::OK);

    let ran = call(M::POST, "/admin/cron/auto-archive", Some(&admin)).await;
    assert_eq!(ran.status(), StatusCode::ACCEPTED);
    let unknown = call(M::POST, "/admin/cron/everything", Some(&admin)).await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);

    // The enqueued archive run shows up on the board once the worker did it.
    let stats = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let stats: serde_json::Value = call(M::GET, "/admin/jobs/stats", Some(&admin))
                .await
                .json()
                .await
                .expect("json");
            let done: u64 = stats["queues"]
                .as_array()
                .expect("queues")
                .iter()
                .map(|q| q["done"].as_u64().unwrap_or(0))
                .sum();
            if done >= 1 {
                return stats;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("the auto-archive job ran");
    assert_eq!(stats["backend"], "sqlite");

    let board = call(M::GET, "/admin/jobs", Some(&admin)).await;
    assert_eq!(board.status(), StatusCode::OK);
    let html = board.text().await.expect("html");
    assert!(html.contains("<td>critical</td>"), "{html}");

    let preview = call(
        M::GET,
        "/admin/emails/due-reminder?format=text",
        Some(&admin),
    )
    .await;
    assert_eq!(preview.status(), StatusCode::OK);
    assert!(
        preview.headers()["x-email-subject"]
            .to_str()
            .expect("ascii")
            .starts_with("Reminder:")
    );
    let missing = call(M::GET, "/admin/emails/newsletter", Some(&admin)).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    // Requests are counted by route template, never by raw path.
    let metrics = call(M::GET, "/metrics", None)
        .await
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains(
            r#"tasker_http_requests_total{method="POST",route="/admin/cron/{job}",status="202"} 1"#
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains("tasker_db_pool_connections{state=\"max\"} 10"),
        "{metrics}"
    );
    assert!(
        metrics.contains("tasker_jobs_processed_total{"),
        "{metrics}"
    );
    assert!(
        !metrics.contains("everything"),
        "raw paths leak into labels"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_applies_the_schema_once() {
    let env = Env::defaults().set("TASKER_DATABASE__MIGRATE_ON_START", "false");
    let output = env.run(&["migrate"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("sqlite:"), "{stdout}");
    assert!(stdout.contains("the schema is current"), "{stdout}");
    let again = env.run(&["migrate"]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("0 migration(s) applied"));

    let server = Server::start(&env, &[]).await;
    let ready: serde_json::Value = Client::new()
        .get(format!("{}/readyz", server.url))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(ready["status"], "ready");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unmigrated_database_is_not_ready() {
    let env = Env::defaults().set("TASKER_DATABASE__MIGRATE_ON_START", "false");
    let server = Server::spawn(&env, &["serve"], false).await;
    let client = Client::new();
    let answer = client
        .get(format!("{}/readyz", server.url))
        .send()
        .await
        .expect("readyz");
    assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = answer.json().await.expect("json");
    assert!(
        body["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("not applied"),
        "{body}"
    );
    let live = client
        .get(format!("{}/healthz", server.url))
        .send()
        .await
        .expect("healthz");
    assert_eq!(live.status(), StatusCode::OK);
}

#[test]
fn mail_preview_writes_the_samples() {
    let env = Env::defaults();
    let one = env.run(&["mail", "preview", "weekly_report", "--out", "samples"]);
    assert!(
        one.status.success(),
        "{}",
        String::from_utf8_lossy(&one.stderr)
    );
    let written = files_ending(&env.path().join("samples"), "");
    assert_eq!(written.len(), 3, "{written:?}");
    let all = env.run(&["mail", "preview"]);
    assert!(all.status.success());
    let html = files_ending(&env.path().join("data/mail-preview/samples"), ".html");
    assert_eq!(html.len(), 4, "{html:?}");
    let unknown = env.run(&["mail", "preview", "newsletter"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("known templates: welcome"));
}

#[test]
fn token_validates_its_input() {
    let env = Env::defaults();
    let bad_ttl = env.run(&["token", "--user", "alice", "--ttl", "forever"]);
    assert!(!bad_ttl.status.success());
    assert!(String::from_utf8_lossy(&bad_ttl.stderr).contains("--ttl"));
    let jwks_only = Env::defaults()
        .set("TASKER_AUTH__JWKS_URL", "https://example.com/jwks.json")
        .run(&["token", "--user", "alice"]);
    assert!(!jwks_only.status.success());
    assert!(String::from_utf8_lossy(&jwks_only.stderr).contains("identity provider"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traces_are_exported_over_otlp_and_flushed_at_shutdown() {
    let collector = crate::support::Collector::start().await;
    let env = Env::defaults()
        .set("TASKER_TELEMETRY__OTLP_ENDPOINT", collector.url.clone())
        .set(
            "TASKER_TELEMETRY__OTLP_HEADERS",
            "api-key=secret-license-key",
        )
        .set("TASKER_TELEMETRY__SERVICE_NAME", "tasker-under-test");
    let mut server = Server::start(&env, &["--no-worker", "--no-scheduler"]).await;
    let token = env.token(&["--user", "traced"]);
    let response = Client::new()
        .get(format!("{}/api/v1/todos", server.url))
        .bearer_auth(&token)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    server.terminate();
    let status = server.wait_exit(Duration::from_secs(30)).await;
    assert!(status.success(), "exit {status}:\n{}", server.log_text());

    let exports: Vec<_> = collector
        .received()
        .into_iter()
        .filter(|r| r.path == "/v1/traces")
        .collect();
    assert!(
        !exports.is_empty(),
        "no trace export:\n{}",
        server.log_text()
    );
    assert!(
        exports
            .iter()
            .all(|r| r.content_type == "application/x-protobuf")
    );
    assert!(
        exports.iter().all(|r| r
            .headers
            .get("api-key")
            .is_some_and(|v| v == "secret-license-key")),
        "the configured headers are sent"
    );
    let contains = |needle: &[u8]| {
        exports
            .iter()
            .any(|r| r.body.windows(needle.len()).any(|w| w == needle))
    };
    assert!(
        contains(b"tasker-under-test"),
        "the service name is exported"
    );
    assert!(contains(b"/api/v1/todos"), "the request span is exported");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_signal_stops_at_once() {
    let env = Env::defaults();
    let mut server = Server::start(&env, &[]).await;
    let token = env.token(&["--user", "impatient"]);
    let addr = server.url.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    let head = format!(
        "POST /api/v1/categories HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    let mut interim = [0u8; 25];
    stream.read_exact(&mut interim).await.expect("100 Continue");

    server.terminate();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        server.child.try_wait().expect("wait").is_none(),
        "still draining"
    );
    server.terminate();
    let status = server.wait_exit(Duration::from_secs(5)).await;
    assert_eq!(status.code(), Some(130), "{}", server.log_text());
}

#[test]
fn statements_past_the_threshold_are_logged_as_slow() {
    let slow = Env::defaults()
        .set("TASKER_DATABASE__SLOW_QUERY_MS", "1")
        .set("TASKER_LOG__LEVEL", "warn")
        .run(&["migrate"]);
    assert!(slow.status.success());
    // The migration scripts take longer than a millisecond.
    let stderr = String::from_utf8_lossy(&slow.stderr);
    assert!(stderr.contains("slow statement"), "{stderr}");
    assert!(stderr.contains("slow_threshold"), "{stderr}");

    let off = Env::defaults()
        .set("TASKER_DATABASE__SLOW_QUERY_MS", "0")
        .set("TASKER_LOG__LEVEL", "warn")
        .run(&["migrate"]);
    assert!(off.status.success());
    assert!(!String::from_utf8_lossy(&off.stderr).contains("slow statement"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_can_require_a_token() {
    let env = Env::defaults().set("TASKER_METRICS__TOKEN", "scrape-7f3a9c2e41d8b605");
    let server = Server::start(&env, &["--no-worker", "--no-scheduler"]).await;
    let client = Client::new();
    let url = format!("{}/metrics", server.url);
    let open = client.get(&url).send().await.expect("request");
    assert_eq!(open.status(), StatusCode::UNAUTHORIZED);
    let wrong = client
        .get(&url)
        .bearer_auth("scrape-7f3a9c2e41d8b606")
        .send()
        .await
        .expect("request");
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let right = client
        .get(&url)
        .bearer_auth("scrape-7f3a9c2e41d8b605")
        .send()
        .await
        .expect("request");
    assert_eq!(right.status(), StatusCode::OK);
    assert!(
        right
            .text()
            .await
            .expect("text")
            .contains("tasker_http_requests_total")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_fails_no_request_and_loses_no_write() {
    let env = Env::defaults().set("TASKER_RATE_LIMIT__ENABLED", "false");
    let mut server = Server::start(&env, &[]).await;
    let token = env.token(&["--user", "load"]);
    // Eight clients write as fast as they can, each request on a new
    // connection, until the server stops taking connections. A request in
    // flight at the signal must get its answer; one on a connection the
    // server had not taken yet may fail, but then must have written nothing.
    let clients: Vec<_> = (0..8)
        .map(|c| {
            let (url, token) = (server.url.clone(), token.clone());
            tokio::spawn(async move {
                let client = Client::builder()
                    .pool_max_idle_per_host(0)
                    .timeout(Duration::from_secs(30))
                    .build()
                    .expect("client");
                let mut answers = Vec::new();
                for n in 0..100_000 {
                    let sent = client
                        .post(format!("{url}/api/v1/todos"))
                        .bearer_auth(&token)
                        .json(&serde_json::json!({"title": format!("c{c}-{n}")}))
                        .send()
                        .await;
                    match sent {
                        Ok(response) => {
                            let status = response.status();
                            let body: serde_json::Value = response.json().await.unwrap_or_default();
                            answers.push((status, body["id"].as_str().map(str::to_owned)));
                        }
                        // Refused or reset before the server took the request.
                        Err(error) if error.is_connect() || error.is_request() => {
                            eprintln!("client {c} stopped: {error:?}");
                            break;
                        }
                        Err(error) => panic!("a request failed mid-way: {error:?}"),
                    }
                }
                answers
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(700)).await;
    server.terminate();
    let mut created = Vec::new();
    for client in clients {
        for (status, id) in client.await.expect("client task") {
            assert_eq!(status, StatusCode::CREATED, "an answer during shutdown");
            created.push(id.expect("the new todo's id"));
        }
    }
    let status = server.wait_exit(Duration::from_secs(30)).await;
    assert!(status.success(), "exit {status}:\n{}", server.log_text());
    assert!(created.len() > 8, "too little load: {}", created.len());
    eprintln!("{} writes answered 201 before the stop", created.len());

    // Every write answered 201 is there after the restart.
    let server = Server::start(&env, &[]).await;
    let page: serde_json::Value = Client::new()
        .get(format!("{}/api/v1/todos?limit=1", server.url))
        .bearer_auth(&token)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    // Exactly those: a request the client saw fail (refused, or closed
    // before the server took it) wrote nothing, so it is safe to retry.
    assert_eq!(
        page["total"].as_u64().expect("total"),
        created.len() as u64,
        "writes made without their answer reaching the client"
    );
    for id in created.iter().step_by(created.len().div_ceil(20)) {
        let read = Client::new()
            .get(format!("{}/api/v1/todos/{id}", server.url))
            .bearer_auth(&token)
            .send()
            .await
            .expect("get");
        assert_eq!(read.status(), StatusCode::OK, "lost: {id}");
    }
    server.terminate();
}

/// A Clerk version 2 session token (`"v": 2`, organisation under `o`, the role
/// without its `org:` prefix), signed with `secret`.
fn clerk_v2_token(secret: &str, user: &str, role: &str) -> String {
    let exp = time::OffsetDateTime::now_utc().unix_timestamp() + 600;
    let claims = serde_json::json!({
        "sub": user, "exp": exp, "v": 2, "fea": "o:tasks",
        "o": {"id": "org_2abc", "rol": role, "slg": "acme", "per": "read,manage", "fpm": "3"}
    });
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("sign")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clerk_v2_admin_reaches_the_admin_routes_and_a_member_gets_403() {
    let secret = "a-test-secret-that-is-long-enough-0123456789";
    let env = Env::defaults().set("TASKER_AUTH__JWT_SECRET", secret);
    let server = Server::start(&env, &["--no-scheduler", "--no-worker"]).await;
    let client = Client::new();
    let stats = |token: String| {
        let request = client
            .get(format!("{}/admin/jobs/stats", server.url))
            .bearer_auth(token);
        async move { request.send().await.expect("request").status() }
    };
    let admin = stats(clerk_v2_token(secret, "user_admin", "admin")).await;
    assert_eq!(admin, StatusCode::OK, "{}", server.log_text());
    let member = stats(clerk_v2_token(secret, "user_member", "member")).await;
    assert_eq!(member, StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_up_warns_when_no_recipient_address_can_be_known() {
    let env = Env::defaults()
        .set(
            "TASKER_AUTH__JWKS_URL",
            "http://127.0.0.1:9/.well-known/jwks.json",
        )
        .set("TASKER_SERVER__SHUTDOWN_GRACE_SECONDS", "1");
    let server = Server::start(&env, &["--no-scheduler", "--no-worker"]).await;
    let warning = "no recipient address can be known";
    let log = server.log_text();
    assert!(
        log.contains(warning) && log.contains("TASKER_CLERK__SECRET_KEY"),
        "{log}"
    );
    server.terminate();

    let with_key = env.set("TASKER_CLERK__SECRET_KEY", "sk_test_0123456789abcdef");
    let server = Server::start(&with_key, &["--no-scheduler", "--no-worker"]).await;
    assert!(
        !server.log_text().contains(warning),
        "{}",
        server.log_text()
    );
}
