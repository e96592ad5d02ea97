//! A server killed with SIGKILL in the middle of an idempotent write: after
//! its statements ran and before the record of its response committed. The
//! retry with the same `Idempotency-Key` writes the todo once.

use std::time::{Duration, Instant};

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use sqlx::Connection;
use tasker_core::testing::TestDatabase;

use crate::support::{Env, Server};

const KEY: &str = "crash-1";

fn env_on(database: &TestDatabase) -> Env {
    Env::defaults()
        .set("TASKER_DATABASE__URL", database.url.clone())
        .set("TASKER_RATE_LIMIT__ENABLED", "false")
        .set(
            "TASKER_AUTH__JWT_SECRET",
            "a-test-secret-that-is-long-enough-0123456789",
        )
}

/// `POST /api/v1/todos` to the server at `url` with the test's key.
async fn create(url: &str, token: &str) -> reqwest::Result<reqwest::Response> {
    Client::new()
        .post(format!("{url}/api/v1/todos"))
        .bearer_auth(token)
        .header("idempotency-key", KEY)
        .json(&json!({"title": "written once"}))
        .send()
        .await
}

async fn count(db: &mut sqlx::PgConnection, sql: &'static str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(sql).fetch_one(db).await.expect(sql);
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_before_its_record_commits_wrote_nothing_and_the_retry_writes_once() {
    let Some(database) = TestDatabase::postgres().await else {
        return;
    };
    let env = env_on(&database);
    let mut server = Server::start(&env, &[]).await;
    let token = env.token(&["--user", "alice", "--email", "alice@example.com"]);
    // The record of a response now waits a minute before it is stored: the
    // moment between the write and its record, held open.
    database
        .run(
            "CREATE FUNCTION hold_record() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN PERFORM pg_sleep(60); RETURN NEW; END $$; \
             CREATE TRIGGER hold_record BEFORE UPDATE ON idempotency_keys FOR EACH ROW \
             WHEN (NEW.response_status IS NOT NULL) EXECUTE FUNCTION hold_record();",
        )
        .await;
    let mut db = sqlx::PgConnection::connect(&database.url)
        .await
        .expect("connect");
    let in_flight = {
        let url = server.url.clone();
        let token = token.clone();
        tokio::spawn(async move { create(&url, &token).await })
    };
    let started = Instant::now();
    while count(
        &mut db,
        "SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep' \
         AND query LIKE 'UPDATE idempotency_keys%'",
    )
    .await
        == 0
    {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the record never started:\n{}",
            server.log_text()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    server.child.kill().expect("SIGKILL");
    server.wait_exit(Duration::from_secs(10)).await;
    assert!(
        in_flight.await.expect("client task").is_err(),
        "no answer from a killed server"
    );
    // What the dead process's connections held is rolled back.
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .execute(&mut db)
    .await
    .expect("end the dead server's sessions");
    database
        .run("DROP TRIGGER hold_record ON idempotency_keys")
        .await;
    assert_eq!(
        count(&mut db, "SELECT COUNT(*) FROM todos").await,
        0,
        "the todo was committed without the record of its response"
    );

    let server = Server::start(&env, &[]).await;
    // The claim is kept until it is abandoned (five minutes): the retry waits.
    let early = create(&server.url, &token).await.expect("retry");
    assert_eq!(early.status(), StatusCode::CONFLICT);
    // Five minutes later, as far as the claim is concerned.
    sqlx::query("UPDATE idempotency_keys SET created_at = created_at - INTERVAL '6 minutes'")
        .execute(&mut db)
        .await
        .expect("age the claim");
    let retried = create(&server.url, &token).await.expect("retry");
    assert_eq!(
        retried.status(),
        StatusCode::CREATED,
        "{}",
        server.log_text()
    );
    let first: Value = retried.json().await.expect("json");
    let replayed = create(&server.url, &token).await.expect("replay");
    assert_eq!(replayed.headers()["idempotent-replayed"], "true");
    let again: Value = replayed.json().await.expect("json");
    assert_eq!(again["id"], first["id"]);
    assert_eq!(count(&mut db, "SELECT COUNT(*) FROM todos").await, 1);
}
