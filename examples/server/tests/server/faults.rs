//! Redis stopped and started again under a running server: CRUD goes on,
//! `/status` says Redis is down, and the welcome e-mail a new user triggered
//! during the outage is sent once Redis is back.

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use tasker_core::testing::TestStore;

use crate::support::{Env, FakeResend, Server, files_ending};

/// A Redis server of the test's own, on its own port, so that stopping it
/// disturbs no other test.
struct PrivateRedis {
    port: u16,
    child: Option<Child>,
}

impl PrivateRedis {
    fn free_port() -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    }

    async fn start(port: u16) -> Self {
        let dir = std::env::temp_dir();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server (from Debian's redis-server package)");
        let started = Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "Redis did not start"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self {
            port,
            child: Some(child),
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

fn welcomes_to(env: &Env, address: &str) -> usize {
    files_ending(&env.path().join("data/mail-preview"), ".eml")
        .into_iter()
        .filter(|path| path.to_string_lossy().contains("welcome"))
        .filter(|path| {
            std::fs::read_to_string(path)
                .unwrap_or_default()
                .contains(&format!("To: {address}"))
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_outage_keeps_crud_working_and_loses_no_welcome() {
    let mut redis = PrivateRedis::start(PrivateRedis::free_port()).await;
    let env = Env::defaults()
        .set(
            "TASKER_REDIS__URL",
            format!("redis://127.0.0.1:{}", redis.port),
        )
        .set("TASKER_JOBS__POLL_INTERVAL_MS", "20");
    let mut server = Server::start(&env, &[]).await;
    let client = Client::new();
    let alice = env.token(&["--user", "alice", "--email", "alice@example.com"]);
    let ok = client
        .get(format!("{}/api/v1/todos", server.url))
        .bearer_auth(&alice)
        .send()
        .await
        .expect("list");
    assert_eq!(ok.status(), StatusCode::OK);

    redis.stop();
    // A new user during the outage: the API answers as usual.
    let bob = env.token(&["--user", "bob", "--email", "bob@example.com"]);
    let created = client
        .post(format!("{}/api/v1/todos", server.url))
        .bearer_auth(&bob)
        .json(&json!({"title": "written while Redis is down"}))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .expect("create");
    assert_eq!(created.status(), StatusCode::CREATED);
    let listed: Value = client
        .get(format!("{}/api/v1/todos", server.url))
        .bearer_auth(&bob)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    assert_eq!(listed["total"], 1, "{listed}");
    let status: Value = client
        .get(format!("{}/status", server.url))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .expect("status")
        .json()
        .await
        .expect("json");
    assert_ne!(status["checks"]["redis"]["status"], "healthy", "{status}");
    assert_eq!(
        status["checks"]["database"]["status"], "healthy",
        "{status}"
    );
    // Let the background record of bob meet the dead queue.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(welcomes_to(&env, "bob@example.com"), 0);

    let _redis = PrivateRedis::start(redis.port).await;
    // Bob's next requests enqueue the welcome again, and the worker,
    // reconnected, sends it: once.
    let deadline = Instant::now() + Duration::from_secs(30);
    while welcomes_to(&env, "bob@example.com") == 0 {
        assert!(
            Instant::now() < deadline,
            "no welcome for bob after Redis returned:\n{}",
            server.log_text()
        );
        let _ = client
            .get(format!("{}/api/v1/todos", server.url))
            .bearer_auth(&bob)
            .timeout(Duration::from_secs(5))
            .send()
            .await;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(welcomes_to(&env, "bob@example.com"), 1);
    let healthy: Value = client
        .get(format!("{}/status", server.url))
        .send()
        .await
        .expect("status")
        .json()
        .await
        .expect("json");
    assert_eq!(healthy["checks"]["redis"]["status"], "healthy", "{healthy}");

    server.terminate();
    let exit = server.wait_exit(Duration::from_secs(30)).await;
    assert!(exit.success(), "exit {exit}:\n{}", server.log_text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_send_is_replaced_and_the_email_goes_out_once() {
    let Some(database) = TestStore::postgres().await else {
        return;
    };
    let resend = FakeResend::start_holding_first().await;
    // Orphaned jobs are found after two missed heartbeats: 2 s.
    let env = Env::production(&database, &resend).set("TASKER_JOBS__HEARTBEAT_SECONDS", "1");
    let mut api = Server::start(&env, &["--no-worker", "--no-scheduler"]).await;
    let mut first = Server::spawn(
        &env,
        &["worker", "--no-scheduler", "--listen", "127.0.0.1:0"],
        true,
    )
    .await;

    // A new user: the API enqueues the welcome, the first worker takes it
    // and hangs in the provider's call.
    let token = env.token(&["--user", "carol", "--email", "carol@example.com"]);
    let ok = Client::new()
        .get(format!("{}/api/v1/todos", api.url))
        .bearer_auth(&token)
        .send()
        .await
        .expect("list");
    assert_eq!(ok.status(), StatusCode::OK);
    let deadline = Instant::now() + Duration::from_secs(20);
    while resend.attempts().is_empty() {
        assert!(
            Instant::now() < deadline,
            "the welcome was never sent:\n{}",
            first.log_text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Killed mid-send; another worker (another name) takes over.
    first.child.kill().expect("SIGKILL");
    let _ = first.child.wait();
    let mut second = Server::spawn(
        &env,
        &["worker", "--no-scheduler", "--listen", "127.0.0.1:0"],
        true,
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while resend.sent().is_empty() {
        assert!(
            Instant::now() < deadline,
            "the job did not run again; attempts {:?}\n{}",
            resend.attempts(),
            second.log_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let attempts = resend.attempts();
    assert!(attempts.len() >= 2, "{attempts:?}");
    assert!(attempts[0].is_some(), "sent with an idempotency key");
    assert!(
        attempts.iter().all(|key| *key == attempts[0]),
        "the retry used another key: {attempts:?}"
    );
    let sent = resend.sent();
    assert_eq!(sent.len(), 1, "one e-mail: {sent:?}");
    assert_eq!(sent[0].to, "carol@example.com");

    second.terminate();
    assert!(second.wait_exit(Duration::from_secs(30)).await.success());
    api.terminate();
    assert!(api.wait_exit(Duration::from_secs(30)).await.success());
}
