//! Faults: connections cut under load, a file store that cannot be written.
//! Nothing that was answered with a 2xx is lost; nothing half-written stays.

use std::time::{Duration, Instant};

use http::{StatusCode, header};
use serde_json::json;
use tasker_core::store::{APPLICATION_NAME, StoreOptions};

use crate::{
    attachments::upload,
    support::{App, assert_error, cases},
};

cases!(
    an_unwritable_file_store_fails_the_upload_and_leaves_no_row,
    a_full_disk_fails_the_upload_with_507_and_leaves_no_row,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_under_connection_kills_lose_nothing_and_recover() {
    let Some(app) = App::postgres().await else {
        return;
    };
    let database = app
        .test_store
        .database_name()
        .expect("a PostgreSQL store")
        .to_owned();
    let url = std::env::var("TASKER_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&url)
        .await
        .expect("admin connection");
    let load = Duration::from_millis(2500);
    let start = Instant::now();
    // Every 150 ms, cut every connection the API's pool holds (found by its
    // application_name), as a failover or an operator would.
    let killer = async {
        let mut cut = 0i64;
        while start.elapsed() < load {
            tokio::time::sleep(Duration::from_millis(150)).await;
            let (n,): (i64,) = sqlx::query_as(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
                 WHERE application_name = $1 AND datname = $2",
            )
            .bind(APPLICATION_NAME)
            .bind(&database)
            .fetch_one(&mut admin)
            .await
            .expect("terminate");
            cut += n;
        }
        cut
    };
    let writer = |w: usize| {
        let app = &app;
        async move {
            let mut results = Vec::new();
            let mut n = 0;
            while start.elapsed() < load {
                let sent = Instant::now();
                let response = app
                    .post(
                        "alice",
                        "/api/v1/todos",
                        json!({"title": format!("w{w}-{n}")}),
                    )
                    .await;
                results.push((response, sent.elapsed()));
                n += 1;
            }
            results
        }
    };
    let (cut, results) = tokio::join!(killer, futures_util::future::join_all((0..4).map(writer)));
    assert!(cut > 0, "no connection was cut");
    let results: Vec<_> = results.into_iter().flatten().collect();
    let bound = StoreOptions::default().acquire_timeout + Duration::from_secs(2);
    let mut created = Vec::new();
    let mut unavailable = 0;
    for (response, took) in &results {
        assert!(*took < bound, "a request took {took:?}");
        match response.status {
            StatusCode::CREATED => created.push(response.json["id"].as_str().unwrap().to_owned()),
            StatusCode::SERVICE_UNAVAILABLE => {
                assert_error(
                    response,
                    StatusCode::SERVICE_UNAVAILABLE,
                    "SERVICE_UNAVAILABLE",
                );
                assert_eq!(response.headers[header::RETRY_AFTER], "1");
                unavailable += 1;
            }
            other => panic!("{other}: {}", response.json),
        }
    }
    assert!(!created.is_empty(), "no write got through");
    assert!(
        unavailable > 0,
        "no request met a cut connection ({cut} cut)"
    );
    // Recovery, on its own, within 5 s.
    let recovering = Instant::now();
    loop {
        let response = app.get("alice", "/api/v1/todos?limit=1").await;
        if response.status == StatusCode::OK {
            break;
        }
        assert!(
            recovering.elapsed() < Duration::from_secs(5),
            "not recovered: {}",
            response.status
        );
    }
    // Every write answered with 201 is there.
    for id in &created {
        let read = app.get("alice", &format!("/api/v1/todos/{id}")).await;
        assert_eq!(read.status, StatusCode::OK, "lost: {id}");
    }
    let listed = app.get("alice", "/api/v1/todos?limit=1").await;
    assert!(listed.json["total"].as_u64().unwrap() >= created.len() as u64);
    eprintln!(
        "{} writes: {} created, {unavailable} unavailable; {cut} connections cut",
        results.len(),
        created.len()
    );
}

async fn todo_with_no_attachments(app: &App) -> String {
    app.todo("alice", json!({"title": "T"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn attachment_count(app: &App, todo: &str) -> usize {
    let read = app.get("alice", &format!("/api/v1/todos/{todo}")).await;
    read.json["attachments"].as_array().unwrap().len()
}

async fn an_unwritable_file_store_fails_the_upload_and_leaves_no_row(app: App) {
    let todo = todo_with_no_attachments(&app).await;
    // The directory is gone and a plain file sits in its place.
    let dir = app.blob_dir.path();
    std::fs::remove_dir_all(dir).unwrap();
    std::fs::write(dir, b"not a directory").unwrap();
    let response = upload(&app, "alice", &todo, &[("file", "a.txt", b"hello")]).await;
    assert_error(
        &response,
        StatusCode::SERVICE_UNAVAILABLE,
        "FILE_STORAGE_UNAVAILABLE",
    );
    assert_eq!(
        response.json["message"],
        "The file store is unavailable; nothing was saved"
    );
    assert_eq!(attachment_count(&app, &todo).await, 0);
    // Once the directory is back, the same upload works.
    std::fs::remove_file(dir).unwrap();
    std::fs::create_dir(dir).unwrap();
    let response = upload(&app, "alice", &todo, &[("file", "a.txt", b"hello")]).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.json);
    assert_eq!(attachment_count(&app, &todo).await, 1);
}

/// Unmounts the small file system at the end of the case, whatever happens.
struct Mounted(std::path::PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

async fn a_full_disk_fails_the_upload_with_507_and_leaves_no_row(app: App) {
    let todo = todo_with_no_attachments(&app).await;
    let dir = app.blob_dir.path().to_owned();
    // A 64 KiB file system over the attachment directory (needs root).
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tasker-full"])
        .arg(&dir)
        .output()
        .expect("run mount");
    if !mounted.status.success() {
        let root = std::process::Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|out| out.stdout.starts_with(b"0\n"));
        assert!(
            !root,
            "mount failed as root: {}",
            String::from_utf8_lossy(&mounted.stderr)
        );
        eprintln!("skipped: mounting a small file system needs root");
        return;
    }
    let _unmount = Mounted(dir);
    let big = vec![b'x'; 200 * 1024];
    let response = upload(&app, "alice", &todo, &[("file", "big.txt", &big)]).await;
    assert_error(
        &response,
        StatusCode::INSUFFICIENT_STORAGE,
        "INSUFFICIENT_STORAGE",
    );
    assert_eq!(attachment_count(&app, &todo).await, 0);
    // A file that fits is stored.
    let response = upload(&app, "alice", &todo, &[("file", "small.txt", b"fits")]).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.json);
    assert_eq!(attachment_count(&app, &todo).await, 1);
}
