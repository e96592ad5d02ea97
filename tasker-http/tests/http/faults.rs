//! Faults: connections cut under load, a file store that cannot be written.
//! Nothing that was answered with a 2xx is lost; nothing half-written stays.

use std::time::{Duration, Instant};

use http::{StatusCode, header};
use serde_json::json;
use tasker_core::store::{APPLICATION_NAME, StoreOptions};

use crate::{
    attachments::upload,
    support::{App, TestResponse, assert_error, cases},
};

cases!(
    an_unwritable_file_store_fails_the_upload_and_leaves_no_row,
    #[ignore = "needs root (mounts a 64 KiB tmpfs): cargo test -p tasker-http --test http -- --ignored"]
    a_full_disk_fails_the_upload_with_507_and_leaves_no_row,
);

/// Panics unless this process runs as root: a case that needs it fails
/// rather than passing without having tested anything. Such cases are
/// `#[ignore]`d by default; `.ci/run` runs them (as root) with `--ignored`.
fn require_root(what: &str) {
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.starts_with(b"0\n"));
    assert!(
        root,
        "{what} needs root: run `cargo test -p tasker-http --test http -- --ignored` as root"
    );
}

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
        match outage_answer(response, *took, bound) {
            Some(id) => created.push(id),
            None => unavailable += 1,
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

/// A write's answer during an outage: `201` (its id), or `503` with
/// `Retry-After` (`None`), within `bound`; anything else fails the case.
#[track_caller]
fn outage_answer(response: &TestResponse, took: Duration, bound: Duration) -> Option<String> {
    assert!(took < bound, "a request took {took:?}");
    match response.status {
        StatusCode::CREATED => Some(response.json["id"].as_str().unwrap().to_owned()),
        StatusCode::SERVICE_UNAVAILABLE => {
            assert_error(
                response,
                StatusCode::SERVICE_UNAVAILABLE,
                "SERVICE_UNAVAILABLE",
            );
            assert_eq!(response.headers[header::RETRY_AFTER], "1");
            None
        }
        other => panic!("{other}: {}", response.json),
    }
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
    require_root("mounting a small file system");
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tasker-full"])
        .arg(&dir)
        .output()
        .expect("run mount");
    assert!(
        mounted.status.success(),
        "mount failed as root: {}",
        String::from_utf8_lossy(&mounted.stderr)
    );
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

/// A PostgreSQL cluster of the test's own (initdb as the `postgres` user,
/// on a free port), so that restarting it disturbs no other test.
struct PrivateCluster {
    bin: std::path::PathBuf,
    data: std::path::PathBuf,
    port: u16,
    _dir: tempfile::TempDir,
}

impl PrivateCluster {
    /// Panics when this machine cannot make one (not root, or no PostgreSQL
    /// server binaries).
    fn create() -> Self {
        require_root("a private PostgreSQL cluster");
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL server binaries under /usr/lib/postgresql")
            .filter_map(|entry| Some(entry.ok()?.path().join("bin")))
            .find(|bin| bin.join("initdb").exists())
            .expect("initdb under /usr/lib/postgresql/*/bin");
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        let status = std::process::Command::new("chown")
            .args(["postgres:postgres"])
            .arg(dir.path())
            .status()
            .expect("chown");
        assert!(status.success());
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        let cluster = Self {
            bin,
            data,
            port,
            _dir: dir,
        };
        let out = cluster
            .as_postgres("initdb")
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
            .arg(&cluster.data)
            .output()
            .expect("initdb");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        cluster.pg_ctl(&["start"]);
        cluster
    }

    fn as_postgres(&self, program: &str) -> std::process::Command {
        let mut command = std::process::Command::new("runuser");
        command
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join(program));
        command
    }

    fn pg_ctl(&self, action: &[&str]) {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {}",
            self.port,
            self.data.parent().expect("parent").display()
        );
        let out = self
            .as_postgres("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-w", "-m", "fast", "-l"])
            .arg(self.data.parent().expect("parent").join("log"))
            .args(["-o", &options])
            .args(action)
            .output()
            .expect("pg_ctl");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        let _ = self
            .as_postgres("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "stop"])
            .output();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root (a private PostgreSQL cluster): cargo test -p tasker-http --test http -- --ignored"]
async fn a_postgresql_restart_is_503_then_recovers_and_loses_nothing() {
    let cluster = PrivateCluster::create();
    let mut options = StoreOptions::default();
    options.acquire_timeout = Duration::from_secs(2);
    let store = tasker_core::store::AnyStore::connect(&cluster.url(), &options)
        .await
        .expect("connect");
    store.migrate().await.expect("migrate");
    let blob_dir = tempfile::tempdir().expect("temp dir");
    let services = tasker_core::service::Services::new(
        store,
        std::sync::Arc::new(tasker_core::clock::SystemClock),
        tasker_core::blob::BlobStore::local(blob_dir.path()).expect("blobs"),
    );
    let api = crate::support::build_api(services, crate::support::quiet_settings());
    let post = |n: usize| {
        crate::support::send_to(
            &api,
            crate::support::request(
                http::Method::POST,
                "/api/v1/todos",
                Some("alice"),
                Some(json!({"title": format!("t{n}")})),
            ),
        )
    };
    assert_eq!(post(0).await.status, StatusCode::CREATED);

    let start = Instant::now();
    // Down for longer than a request waits for a connection, so writes
    // meanwhile must be answered 503.
    let down = options.acquire_timeout + Duration::from_secs(1);
    let load = down + Duration::from_secs(4);
    let cluster = std::sync::Arc::new(cluster);
    let restart = {
        let cluster = std::sync::Arc::clone(&cluster);
        async move {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let began = start.elapsed();
            // On a thread of its own: the writers go on meanwhile.
            tokio::task::spawn_blocking(move || {
                cluster.pg_ctl(&["stop"]);
                std::thread::sleep(down);
                cluster.pg_ctl(&["start"]);
            })
            .await
            .expect("pg_ctl stop, start");
            (began, start.elapsed())
        }
    };
    let writers = futures_util::future::join_all((0..2).map(|w| async move {
        let mut results = Vec::new();
        let mut n = 0;
        while start.elapsed() < load {
            let sent = Instant::now();
            let response = post(1000 * (w + 1) + n).await;
            results.push((response, sent.elapsed(), start.elapsed()));
            n += 1;
        }
        results
    }));
    let ((began, restarted_at), results) = tokio::join!(restart, writers);
    let results: Vec<_> = results.into_iter().flatten().collect();
    let bound = options.acquire_timeout + Duration::from_secs(2);
    let mut created = Vec::new();
    let mut unavailable = 0;
    let mut last_failure = Duration::ZERO;
    for (response, took, at) in &results {
        match outage_answer(response, *took, bound) {
            Some(id) => created.push(id),
            None => {
                unavailable += 1;
                last_failure = *at;
            }
        }
    }
    // Writes were in flight while the server was down: they waited for a
    // connection or got 503, within the bound checked above.
    let during = results
        .iter()
        .filter(|(_, took, at)| at.saturating_sub(*took) < restarted_at && *at > began)
        .count();
    assert!(during > 0, "no write overlapped the restart");
    assert!(
        unavailable > 0,
        "no write was answered 503 while the server was down for {down:?}"
    );
    // Back on its own within 5 s of the server's return.
    assert!(
        last_failure < restarted_at + Duration::from_secs(5),
        "failures until {last_failure:?}, restarted at {restarted_at:?}"
    );
    assert!(
        results
            .iter()
            .any(|(r, _, at)| *at > restarted_at && r.status == StatusCode::CREATED),
        "no write after the restart"
    );
    for id in &created {
        let read = crate::support::send_to(
            &api,
            crate::support::request(
                http::Method::GET,
                &format!("/api/v1/todos/{id}"),
                Some("alice"),
                None,
            ),
        )
        .await;
        assert_eq!(read.status, StatusCode::OK, "lost: {id}");
    }
    eprintln!(
        "{} writes: {} created, {unavailable} unavailable, {during} during the restart \
         ({began:?} to {restarted_at:?})",
        results.len(),
        created.len()
    );
}
