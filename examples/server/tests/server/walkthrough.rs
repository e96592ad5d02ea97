//! The README's walk-through against the real binary: on the embedded
//! defaults (SQLite, preview e-mail), and on PostgreSQL + Redis with e-mail
//! sent to a fake Resend, the API and the worker in separate processes.

use std::time::Duration;

use reqwest::{Client, StatusCode, multipart};
use serde_json::{Value, json};
use tasker_core::testing::TestStore;

use crate::support::{Env, FakeResend, Server, files_ending};

const TITLE: &str = "Write the quarterly report";

/// The calls of the README, in order; returns the todo id.
pub(crate) async fn walk(server: &Server, token: &str) -> String {
    let client = Client::new();
    let api = |path: &str| format!("{}/api/v1{path}", server.url);
    let send = |request: reqwest::RequestBuilder| async move {
        let response = request.bearer_auth(token).send().await.expect("request");
        let status = response.status();
        let body: Value = if status == StatusCode::NO_CONTENT {
            Value::Null
        } else {
            response.json().await.expect("json body")
        };
        (status, body)
    };

    let (status, category) = send(
        client
            .post(api("/categories"))
            .json(&json!({"name": "Work", "color": "#3b82f6"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{category}");
    let category_id = category["id"].as_str().expect("category id").to_owned();

    let due = time::OffsetDateTime::now_utc() + time::Duration::hours(2);
    let due = due
        .format(&time::format_description::well_known::Rfc3339)
        .expect("format");
    let (status, todo) = send(client.post(api("/todos")).json(&json!({
        "title": TITLE,
        "priority": "high",
        "dueDate": due,
        "categoryId": category_id,
    })))
    .await;
    assert_eq!(status, StatusCode::CREATED, "{todo}");
    let todo_id = todo["id"].as_str().expect("todo id").to_owned();

    let (status, subtask) = send(client.post(api("/todos")).json(&json!({
        "title": "Collect the numbers",
        "parentTodoId": todo_id,
    })))
    .await;
    assert_eq!(status, StatusCode::CREATED, "{subtask}");
    assert_eq!(subtask["parentTodoId"], json!(todo_id));

    let (status, list) = send(client.get(api("/todos"))).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let listed = list["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|t| t["id"] == json!(todo_id))
        .expect("the todo is listed")
        .clone();
    assert_eq!(listed["category"]["name"], "Work");
    assert_eq!(listed["children"][0]["title"], "Collect the numbers");

    let (status, stats) = send(client.get(api("/todos/stats"))).await;
    assert_eq!(status, StatusCode::OK, "{stats}");
    assert_eq!(stats["total"], 2, "{stats}");

    let (status, me) = send(
        client
            .patch(api("/me"))
            .json(&serde_json::json!({"timeZone": "Europe/Berlin"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["timeZone"], "Europe/Berlin", "{me}");

    let form = multipart::Form::new().part(
        "file",
        multipart::Part::bytes(b"%PDF-1.4\nnumbers\n".to_vec())
            .file_name("numbers.pdf")
            .mime_str("application/pdf")
            .expect("mime"),
    );
    let (status, attachment) = send(
        client
            .post(api(&format!("/todos/{todo_id}/attachments")))
            .multipart(form),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{attachment}");
    let attachment_id = attachment["id"].as_str().expect("attachment id");
    let (status, link) = send(client.get(api(&format!(
        "/todos/{todo_id}/attachments/{attachment_id}/download"
    ))))
    .await;
    assert_eq!(status, StatusCode::OK, "{link}");
    let url = link["url"].as_str().expect("download url");
    let file = client.get(url).send().await.expect("download");
    assert_eq!(file.status(), StatusCode::OK);
    assert_eq!(
        file.bytes().await.expect("bytes").as_ref(),
        b"%PDF-1.4\nnumbers\n"
    );
    todo_id
}

fn cron_run(env: &Env, other_logs: &dyn Fn() -> String) -> String {
    let output = env.run(&["cron", "run", "due-date-reminders", "--timeout", "60"]);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "cron run failed: {stdout}\n{}\nother processes:\n{}",
        String::from_utf8_lossy(&output.stderr),
        other_logs()
    );
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readme_flow_on_the_embedded_defaults() {
    let env = Env::defaults();
    let mut server = Server::start(&env, &[]).await;
    let token = env.token(&["--user", "alice", "--email", "alice@example.com"]);
    assert!(
        env.path().join("data/jwt-secret").exists(),
        "the development secret is kept under ./data"
    );
    walk(&server, &token).await;

    let out = cron_run(&env, &|| server.log_text());
    assert!(out.starts_with("due-date-reminders: "), "{out}");
    let previews = env.path().join("data/mail-preview");
    let reminders: Vec<_> = files_ending(&previews, ".txt")
        .into_iter()
        .filter(|path| {
            std::fs::read_to_string(path)
                .unwrap_or_default()
                .contains(TITLE)
        })
        .collect();
    assert_eq!(reminders.len(), 1, "one reminder in {}", previews.display());
    let eml = reminders[0].with_extension("eml");
    let message = std::fs::read_to_string(&eml).expect("eml");
    assert!(message.contains("To: alice@example.com"), "{message}");
    assert!(message.contains("Subject: Reminder:"), "{message}");
    let text = std::fs::read_to_string(&reminders[0]).expect("text");
    assert!(
        text.contains("Europe/Berlin"),
        "times in alice's zone: {text}"
    );

    // A second run finds nothing new to send.
    cron_run(&env, &|| server.log_text());
    let count = files_ending(&previews, ".txt")
        .into_iter()
        .filter(|path| {
            std::fs::read_to_string(path)
                .unwrap_or_default()
                .contains(TITLE)
        })
        .count();
    assert_eq!(count, 1);

    // The first request of a new user sent the welcome e-mail (the server's
    // own worker).
    let welcome = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let found = files_ending(&previews, ".eml")
                .into_iter()
                .any(|p| p.to_string_lossy().contains("welcome"));
            if found {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert!(
        welcome.is_ok(),
        "no welcome e-mail in {}",
        previews.display()
    );

    server.terminate();
    let status = server.wait_exit(Duration::from_secs(30)).await;
    assert!(status.success(), "exit {status}:\n{}", server.log_text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readme_flow_on_postgres_and_redis_with_resend() {
    let Some(database) = TestStore::postgres().await else {
        return;
    };
    let resend = FakeResend::start().await;
    let env = Env::production(&database, &resend);

    // The API alone; a separate worker process does the jobs.
    let mut api = Server::start(&env, &["--no-worker", "--no-scheduler"]).await;
    let mut worker = Server::spawn(
        &env,
        &["worker", "--no-scheduler", "--listen", "127.0.0.1:0"],
        true,
    )
    .await;
    let probes = worker.url.clone();
    let worker_text = || worker.log_text();

    let token = env.token(&["--user", "alice", "--email", "alice@example.com"]);
    walk(&api, &token).await;
    let status: Value = Client::new()
        .get(format!("{}/status", api.url))
        .send()
        .await
        .expect("status")
        .json()
        .await
        .expect("json");
    assert_eq!(status["status"], "healthy", "{status}");
    assert_eq!(
        status["checks"]["database"]["status"], "healthy",
        "{status}"
    );
    assert_eq!(status["checks"]["redis"]["status"], "healthy", "{status}");

    // Only enqueued here, so that the worker process (not this command's own
    // worker) sends the reminder, and its metrics count it.
    let output = env.run(&["cron", "run", "due-date-reminders", "--enqueue-only"]);
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{out}
{}",
        worker_text()
    );
    assert_eq!(out.trim(), "due-date-reminders: enqueued");
    let arrived = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let sent = resend.sent();
            let reminder = sent.iter().any(|s| s.subject.starts_with("Reminder:"));
            let welcome = sent
                .iter()
                .any(|s| s.subject.to_lowercase().contains("welcome"));
            if reminder && welcome {
                return sent;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("e-mails missing: {:?}", resend.sent()));
    let reminders: Vec<_> = arrived
        .iter()
        .filter(|s| s.subject.starts_with("Reminder:"))
        .collect();
    assert_eq!(reminders.len(), 1, "{arrived:?}");
    assert_eq!(reminders[0].to, "alice@example.com");
    assert!(reminders[0].text.contains(TITLE), "{}", reminders[0].text);
    assert!(reminders[0].key.is_some(), "sent with an idempotency key");

    // The worker's own probes and metrics.
    // The counter moves just after the provider answers: poll for it.
    let mut metrics = String::new();
    for _ in 0..100 {
        metrics = Client::new()
            .get(format!("{probes}/metrics"))
            .send()
            .await
            .expect("worker metrics")
            .text()
            .await
            .expect("text");
        if metrics.contains(r#"tasker_emails_sent_total{kind="due_reminder"} 1"#) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        metrics.contains(r#"tasker_emails_sent_total{kind="due_reminder"} 1"#),
        "{metrics}"
    );
    let ready = Client::new()
        .get(format!("{probes}/readyz"))
        .send()
        .await
        .expect("worker readyz");
    assert_eq!(ready.status(), StatusCode::OK);

    cron_run(&env, &worker_text);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let again = resend
        .sent()
        .iter()
        .filter(|s| s.subject.starts_with("Reminder:"))
        .count();
    assert_eq!(again, 1, "no second reminder for the same due date");

    api.terminate();
    let status = api.wait_exit(Duration::from_secs(30)).await;
    assert!(status.success(), "exit {status}:\n{}", api.log_text());
    worker.terminate();
    let status = worker.wait_exit(Duration::from_secs(30)).await;
    assert!(
        status.success(),
        "worker exit {status}:\n{}",
        worker.log_text()
    );
}
