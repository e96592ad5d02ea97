//! The chaos run: an API process and a worker process on PostgreSQL and
//! Redis, killed with SIGKILL at random moments under a load of idempotent
//! writes, replays and due-date reminder e-mails. Afterwards every
//! acknowledged write is stored exactly once, every write a kill left
//! unanswered is stored exactly once after its retry, and every todo is in
//! exactly one reminder e-mail.
//!
//! Long, so ignored by default: `bench/chaos` runs it (`TASKER_CHAOS_SECONDS`,
//! default 60; `TASKER_CHAOS_CLIENTS`, default 4) and prints the figures
//! recorded in `docs/security.md`.

use std::{
    collections::{HashMap, hash_map::RandomState},
    hash::{BuildHasher, Hasher},
    sync::{
        Arc, RwLock,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use tasker_core::{store::Pool, testing::TestStore};

use crate::support::{Env, FakeResend, Server};

/// Enough users, and a reminder scan every second, that no digest names more
/// than the 10 todos an e-mail lists (`MAX_DIGEST_TODOS`): then every todo
/// reminded is named in its e-mail.
const USERS: usize = 24;

/// A random number in `0..n`.
fn random(n: u64) -> u64 {
    RandomState::new().build_hasher().finish() % n
}

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One write a client made: its key, its user's token, its title, and the
/// id of the todo once answered `201`.
#[derive(Clone)]
struct Write {
    key: String,
    token: String,
    title: String,
    id: Option<String>,
}

/// Posts `write` until it is answered `201` (connection errors, `5xx` and
/// `409` while a killed request holds the key are retried) or `limit`
/// passes; the todo's id.
async fn answered(
    http: &Client,
    api: &RwLock<String>,
    write: &Write,
    limit: Duration,
) -> Option<String> {
    let deadline = Instant::now() + limit;
    loop {
        let url = api.read().expect("lock").clone();
        let sent = http
            .post(format!("{url}/api/v1/todos"))
            .bearer_auth(&write.token)
            .header("idempotency-key", &write.key)
            .json(&json!({"title": write.title, "dueDate": due_date()}))
            .send()
            .await;
        match sent {
            Ok(response) if response.status() == StatusCode::CREATED => {
                if let Ok(body) = response.json::<Value>().await {
                    return body["id"].as_str().map(str::to_owned);
                }
            }
            Ok(response) => assert!(
                response.status().is_server_error() || response.status() == StatusCode::CONFLICT,
                "unexpected {}",
                response.status()
            ),
            Err(_) => {}
        }
        if Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Two hours from now: inside the reminder window, the same for every
/// attempt of a write within the run.
fn due_date() -> String {
    static DUE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUE.get_or_init(|| {
        (time::OffsetDateTime::now_utc() + time::Duration::hours(2))
            .replace_nanosecond(0)
            .expect("whole second")
            .format(&time::format_description::well_known::Rfc3339)
            .expect("RFC 3339")
    })
    .clone()
}

/// How many of the e-mails sent name each todo title.
fn reminded(resend: &FakeResend) -> HashMap<String, usize> {
    let mut seen = HashMap::new();
    for sent in resend.sent() {
        for (at, _) in sent.text.match_indices("chaos-") {
            if let Some(title) = sent.text.get(at..at + "chaos-".len() + 32) {
                *seen.entry(title.to_owned()).or_default() += 1;
            }
        }
    }
    seen
}

#[derive(Default)]
struct Counts {
    replays: AtomicU64,
}

/// Writes until `stop`, each with a key of its own; one in four is sent
/// again once answered and must replay the same todo.
async fn client(
    api: Arc<RwLock<String>>,
    tokens: Arc<Vec<String>>,
    stop: Arc<AtomicBool>,
    counts: Arc<Counts>,
) -> Vec<Write> {
    let http = Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let mut writes = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let key = uuid::Uuid::now_v7().simple().to_string();
        let mut write = Write {
            title: format!("chaos-{key}"),
            key,
            token: tokens[writes.len() % tokens.len()].clone(),
            id: None,
        };
        // A killed request holds its key for 5 minutes: give up after 5 s,
        // and retry it at the end.
        write.id = answered(&http, &api, &write, Duration::from_secs(5)).await;
        if let Some(id) = &write.id
            && writes.len() % 4 == 0
            && let Some(again) = answered(&http, &api, &write, Duration::from_secs(5)).await
        {
            assert_eq!(&again, id, "a replay answered another todo");
            counts.replays.fetch_add(1, Ordering::Relaxed);
        }
        writes.push(write);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    writes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "long: run by bench/chaos"]
async fn sigkills_of_api_and_worker_lose_no_write_and_send_no_email_twice() {
    let seconds = setting("TASKER_CHAOS_SECONDS", 60);
    let clients = setting("TASKER_CHAOS_CLIENTS", 4);
    let database = TestStore::postgres()
        .await
        .expect("the chaos run needs PostgreSQL");
    let Pool::Postgres(pool) = database.store.pool() else {
        unreachable!("TestStore::postgres is on PostgreSQL");
    };
    let resend = FakeResend::start().await;
    let env = Env::production(&database, &resend)
        .set("TASKER_RATE_LIMIT__ENABLED", "false")
        .set("TASKER_JOBS__HEARTBEAT_SECONDS", "1")
        .set("TASKER_JOBS__CRON__DUE_REMINDERS", "* * * * * *")
        .set("TASKER_JOBS__CRON__OVERDUE_NOTICES", "")
        .set("TASKER_JOBS__CRON__WEEKLY_REPORTS", "")
        .set("TASKER_JOBS__CRON__AUTO_ARCHIVE", "")
        .set("TASKER_JOBS__CRON__ORPHAN_SWEEP", "")
        .set("TASKER_JOBS__SETTINGS__DIGEST_LIMIT", "100000");
    let api_args = ["--no-worker", "--no-scheduler"];
    let worker_args = ["worker", "--listen", "127.0.0.1:0"];
    let tokens: Vec<String> = (0..USERS)
        .map(|i| {
            let user = format!("chaos{i}");
            env.token(&["--user", &user, "--email", &format!("{user}@example.com")])
        })
        .collect();
    let tokens = Arc::new(tokens);
    let mut api = Server::start(&env, &api_args).await;
    let mut worker = Server::spawn(&env, &worker_args, true).await;
    let url = Arc::new(RwLock::new(api.url.clone()));
    let stop = Arc::new(AtomicBool::new(false));
    let counts = Arc::new(Counts::default());
    let load: Vec<_> = (0..clients)
        .map(|_| {
            tokio::spawn(client(
                Arc::clone(&url),
                Arc::clone(&tokens),
                Arc::clone(&stop),
                Arc::clone(&counts),
            ))
        })
        .collect();

    // Kill one of the two every 0.5–2.5 s, and start it again at once.
    let end = Instant::now() + Duration::from_secs(seconds);
    let (mut api_kills, mut worker_kills) = (0u32, 0u32);
    let mut api_recovery = Vec::new();
    while Instant::now() < end {
        tokio::time::sleep(Duration::from_millis(500 + random(2000))).await;
        let killed = Instant::now();
        if random(5) < 3 {
            api.child.kill().expect("SIGKILL the API");
            let _ = api.child.wait();
            api = Server::start(&env, &api_args).await;
            *url.write().expect("lock") = api.url.clone();
            api_recovery.push(killed.elapsed());
            api_kills += 1;
        } else {
            worker.child.kill().expect("SIGKILL the worker");
            let _ = worker.child.wait();
            worker = Server::spawn(&env, &worker_args, true).await;
            worker_kills += 1;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let mut writes = Vec::new();
    for task in load {
        writes.extend(task.await.expect("client"));
    }
    let acknowledged = writes.iter().filter(|w| w.id.is_some()).count();

    // Writes a kill left unanswered: their claims are aged past the 5
    // minutes after which they count as abandoned, and retried.
    let abandoned = sqlx::query(
        "UPDATE idempotency_keys SET created_at = created_at - INTERVAL '6 minutes' \
         WHERE response_status IS NULL",
    )
    .execute(pool)
    .await
    .expect("age claims")
    .rows_affected();
    let http = Client::new();
    let mut retried = 0;
    for write in writes.iter_mut().filter(|w| w.id.is_none()) {
        write.id = answered(&http, &url, write, Duration::from_secs(30)).await;
        assert!(write.id.is_some(), "{} never answered", write.key);
        retried += 1;
    }

    // Every write is stored exactly once, under the id it was answered with.
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT title, id::text FROM todos WHERE title LIKE 'chaos-%'")
            .fetch_all(pool)
            .await
            .expect("todos");
    let mut stored: HashMap<String, Vec<String>> = HashMap::new();
    for (title, id) in rows {
        stored.entry(title).or_default().push(id);
    }
    let mut lost = 0;
    let mut doubled = 0;
    for write in &writes {
        match stored.get(&write.title).map(Vec::as_slice) {
            Some([id]) => assert_eq!(Some(id), write.id.as_ref(), "{}", write.key),
            Some(_) => doubled += 1,
            None => lost += 1,
        }
    }
    assert_eq!(stored.len(), writes.len(), "todos that no client wrote");

    // Every todo is in exactly one reminder e-mail, once the worker caught up.
    let started = Instant::now();
    while writes
        .iter()
        .any(|w| !reminded(&resend).contains_key(&w.title))
    {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "reminders missing after 120 s:\n{}",
            worker.log_text()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let caught_up = started.elapsed();
    // Two more scans, which must find nothing new to send.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let twice = reminded(&resend).values().filter(|&&n| n > 1).count();
    let welcomes = resend
        .sent()
        .iter()
        .filter(|sent| {
            sent.key
                .as_deref()
                .is_some_and(|k| k.starts_with("welcome/"))
        })
        .count();

    api_recovery.sort();
    let ms = |d: Option<&Duration>| d.map_or(0, Duration::as_millis);
    println!(
        "chaos: {seconds} s, {clients} clients; kills: {api_kills} API, {worker_kills} worker; \
         writes acknowledged under fire: {acknowledged}, left unanswered by a kill and retried: \
         {retried} ({abandoned} claims abandoned); replays checked: {}; writes lost: {lost}, \
         written twice: {doubled}; reminder e-mails: {}, provider calls: {}, todos in two \
         e-mails: {twice}; welcome e-mails: {welcomes} for {USERS} users; API kill to ready: \
         median {} ms, max {} ms; e-mails caught up {} ms after the load",
        counts.replays.load(Ordering::Relaxed),
        resend.sent().len() - welcomes,
        resend.attempts().len(),
        ms(api_recovery.get(api_recovery.len() / 2)),
        ms(api_recovery.last()),
        caught_up.as_millis(),
    );
    assert_eq!(lost, 0, "acknowledged or retried writes lost");
    assert_eq!(doubled, 0, "writes stored twice");
    assert_eq!(twice, 0, "todos reminded twice");
    assert!(api_kills + worker_kills > 0, "nothing was killed");
    assert_eq!(welcomes, USERS, "one welcome per user");
}
