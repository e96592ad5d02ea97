//! `import go --from`: a database with the Go service's tables (ours, in
//! `fixtures/go_tasker.sql`) copied onto SQLite and PostgreSQL, twice; a
//! foreign schema and rows tasker cannot take are refused with nothing written.

use reqwest::Client;
use serde_json::Value;
use tasker_core::testing::{TestDatabase, TestStore};

use crate::support::{Env, Server};

const GO_DATABASE: &str = include_str!("fixtures/go_tasker.sql");

/// A Go service database with the fixture's rows; `None` when PostgreSQL
/// cases are skipped.
async fn go_database() -> Option<TestDatabase> {
    let database = TestDatabase::postgres().await?;
    database.run(GO_DATABASE).await;
    Some(database)
}

fn import(env: &Env, from: &str) -> (bool, String, String) {
    let output = env.run(&["import", "go", "--from", from]);
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Runs the import twice onto `env`'s database: everything the first time,
/// nothing the second.
fn import_twice(env: &Env, from: &str) {
    let (ok, stdout, stderr) = import(env, from);
    assert!(ok, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("user_alice: 2 categories, 3 todos, 2 comments, 1 attachments"),
        "{stdout}"
    );
    assert!(
        stdout.contains("user_bob: 1 categories, 1 todos, 0 comments, 0 attachments"),
        "{stdout}"
    );
    assert!(stdout.contains("imported 2 of 2 users"), "{stdout}");
    let (ok, stdout, stderr) = import(env, from);
    assert!(ok, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("user_alice: 0 categories, 0 todos, 0 comments, 0 attachments")
            && stdout.contains("(everything was already there)"),
        "a second run changes nothing: {stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_go_database_is_imported_onto_sqlite_with_its_ids_twice_without_change() {
    let Some(go) = go_database().await else {
        return;
    };
    // Go stored the sniffed type with its parameters.
    go.run("update todo_attachments set mime_type = 'text/plain; charset=utf-8'")
        .await;
    let env = Env::defaults();
    import_twice(&env, &go.url);

    let server = Server::start(&env, &["--no-worker", "--no-scheduler"]).await;
    let alice = env.token(&["--user", "user_alice"]);
    let client = Client::new();
    let get = |path: &str| {
        let request = client
            .get(format!("{}/api/v1{path}", server.url))
            .bearer_auth(&alice);
        let path = path.to_owned();
        async move {
            let response = request.send().await.expect("request");
            assert!(response.status().is_success(), "{path}: {response:?}");
            response.json::<Value>().await.expect("json")
        }
    };
    let report = get("/todos/aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa").await;
    assert_eq!(report["title"], "Quarterly report");
    assert_eq!(report["status"], "active");
    assert_eq!(report["priority"], "high");
    assert_eq!(report["dueDate"], "2025-09-30T23:00:00Z");
    assert_eq!(report["createdAt"], "2025-08-04T08:00:00.123456Z");
    assert_eq!(
        report["metadata"]["tags"],
        serde_json::json!(["q3", "finance"])
    );
    assert_eq!(report["metadata"]["difficulty"], 7.0);
    assert_eq!(report["category"]["name"], "Work");
    assert_eq!(report["children"][0]["title"], "Collect the figures");
    assert_eq!(report["children"][0]["status"], "completed");
    assert_eq!(report["children"][0]["completedAt"], "2025-08-06T17:00:00Z");
    let comments: Vec<_> = report["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["content"].clone())
        .collect();
    assert_eq!(comments, ["Started on it", "Halfway"]);
    assert_eq!(
        report["attachments"][0]["downloadKey"], "todos/attachments/report.pdf_1754300000",
        "the same key, so the same bucket serves the file"
    );
    assert_eq!(report["attachments"][0]["fileSize"], 48213);
    assert_eq!(report["attachments"][0]["mimeType"], "text/plain");

    // Archived in Go with a completion instant: tasker keeps none.
    let old = get("/todos/cccccccc-cccc-4ccc-8ccc-cccccccccccc").await;
    assert_eq!(old["status"], "archived");
    assert_eq!(old["completedAt"], Value::Null);
    let home = get("/categories/22222222-2222-4222-8222-222222222222").await;
    assert_eq!(home["color"], "#6b7280", "no colour in Go: the default");
    assert_eq!(get("/todos").await["total"], 2, "root todos of Alice");
    let bob = env.token(&["--user", "user_bob"]);
    let bobs: Value = client
        .get(format!("{}/api/v1/categories", server.url))
        .bearer_auth(&bob)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(bobs["data"][0]["color"], "#3b82f680");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_go_database_is_imported_onto_postgresql_twice_without_change() {
    let Some(go) = go_database().await else {
        return;
    };
    let Some(target) = TestStore::postgres().await else {
        return;
    };
    let url = target.url().expect("PostgreSQL");
    let env = Env::defaults().set("TASKER_DATABASE__URL", url);
    import_twice(&env, &go.url);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_without_the_go_schema_is_refused_and_nothing_is_written() {
    let Some(foreign) = TestDatabase::postgres().await else {
        return;
    };
    foreign
        .run("create table todos (id uuid primary key, name text)")
        .await;
    let env = Env::defaults();
    let (ok, stdout, stderr) = import(&env, &foreign.url);
    assert!(!ok, "{stdout}");
    assert!(
        stderr.contains("is not a Go tasker database") && stderr.contains("todo_categories.id"),
        "{stderr}"
    );
    assert!(
        !env.path().join("data").join("tasker.db").exists(),
        "the target database is not even opened"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_tasker_cannot_take_are_named_and_nothing_is_written() {
    let Some(go) = go_database().await else {
        return;
    };
    go.run(
        "update todos set status = 'done' where id = 'dddddddd-dddd-4ddd-8ddd-dddddddddddd'; \
         update todo_categories set color = 'red' where user_id = 'user_alice' and name = 'Work'; \
         insert into todo_categories (id, user_id, name) \
         values ('44444444-4444-4444-8444-444444444444', 'user_bob', 'errands')",
    )
    .await;
    let env = Env::defaults();
    let (ok, stdout, stderr) = import(&env, &go.url);
    assert!(!ok, "{stdout}");
    assert!(stderr.contains("nothing was written"), "{stderr}");
    assert!(
        stderr.contains("todos[dddddddd-dddd-4ddd-8ddd-dddddddddddd].status"),
        "{stderr}"
    );
    assert!(
        stderr.contains("categories[11111111-1111-4111-8111-111111111111].color"),
        "{stderr}"
    );
    assert!(
        stderr.contains("categories[44444444-4444-4444-8444-444444444444].name")
            && stderr.contains("only in case"),
        "{stderr}"
    );
    assert!(!env.path().join("data").join("tasker.db").exists());
}
