//! Behind a PgBouncer in transaction pooling that the test starts: with
//! `database.prepared_statements = false` and the migrations over
//! `database.migration_url` (PostgreSQL itself), the README's flow, eight
//! concurrent clients creating and listing todos, and a restart all
//! succeed; with prepared statements left on, the same load fails.

use std::{
    net::TcpStream,
    os::unix::process::CommandExt,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use reqwest::{Client, StatusCode};
use serde_json::json;
use tasker_core::testing::TestDatabase;

use crate::{
    support::{Env, Server},
    walkthrough,
};

/// Concurrent clients of the load, each its own user.
const CLIENTS: usize = 8;
/// Requests each client sends (a create, then a list, in turns).
const REQUESTS: usize = 30;

/// A PgBouncer in `pool_mode = transaction` in front of the test
/// PostgreSQL, three server connections per database and user; killed
/// when dropped.
struct Pgbouncer {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Pgbouncer {
    /// Starts one, or `None` (SKIPPED) when the `pgbouncer` command is
    /// missing outside CI; in CI a missing or failing one fails the test.
    fn start_or_skip() -> Option<Self> {
        match Self::start() {
            Ok(pgbouncer) => Some(pgbouncer),
            Err(reason) if std::env::var_os("CI").is_some() => {
                panic!("pgbouncer is required in CI: {reason}")
            }
            Err(reason) => {
                eprintln!("SKIPPED: pgbouncer cannot run here: {reason}");
                None
            }
        }
    }

    fn start() -> Result<Self, String> {
        let program = ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"]
            .into_iter()
            .find(|path| std::path::Path::new(path).exists())
            .ok_or("no pgbouncer in /usr/sbin or /usr/bin (apt-get install pgbouncer)")?;
        let dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("free port: {e}"))?
            .port();
        let users = dir.path().join("users.txt");
        std::fs::write(&users, "\"postgres\" \"\"\n").map_err(|e| format!("users: {e}"))?;
        let config = dir.path().join("pgbouncer.ini");
        std::fs::write(
            &config,
            format!(
                "[databases]\n* = host=127.0.0.1 port=5432\n\n[pgbouncer]\n\
                 listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n\
                 auth_type = trust\nauth_file = {users}\npool_mode = transaction\n\
                 default_pool_size = 3\nmax_client_conn = 200\n\
                 ignore_startup_parameters = extra_float_digits\n",
                users = users.display()
            ),
        )
        .map_err(|e| format!("config: {e}"))?;
        let log = std::fs::File::create(dir.path().join("pgbouncer.log"))
            .map_err(|e| format!("log: {e}"))?;
        let mut command = Command::new(program);
        command.arg(&config).stdout(Stdio::null()).stderr(log);
        // PgBouncer refuses to run as root: as root, run it as `postgres`.
        if rustix::process::getuid().is_root() {
            let (uid, gid) = postgres_ids()?;
            set_mode(dir.path(), 0o755)?;
            set_mode(&users, 0o644)?;
            set_mode(&config, 0o644)?;
            command.uid(uid).gid(gid);
        }
        let child = command
            .spawn()
            .map_err(|e| format!("spawn pgbouncer: {e}"))?;
        let mut pgbouncer = Self { child, port, dir };
        pgbouncer.wait_listening()?;
        Ok(pgbouncer)
    }

    fn wait_listening(&mut self) -> Result<(), String> {
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("pgbouncer exited with {status}: {}", self.log()));
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            if started.elapsed() > Duration::from_secs(10) {
                return Err(format!(
                    "pgbouncer not listening after 10 s: {}",
                    self.log()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("pgbouncer.log")).unwrap_or_default()
    }

    /// The URL of `database` through this PgBouncer.
    fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }
}

impl Drop for Pgbouncer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `postgres` user's uid and gid, from `/etc/passwd`.
fn postgres_ids() -> Result<(u32, u32), String> {
    let passwd = std::fs::read_to_string("/etc/passwd").map_err(|e| format!("passwd: {e}"))?;
    passwd
        .lines()
        .map(|line| line.split(':').collect::<Vec<_>>())
        .find(|fields| fields.first() == Some(&"postgres") && fields.len() > 3)
        .and_then(|fields| Some((fields[2].parse().ok()?, fields[3].parse().ok()?)))
        .ok_or_else(|| "no postgres user to run pgbouncer as (it refuses root)".to_owned())
}

fn set_mode(path: &std::path::Path, mode: u32) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| format!("chmod {}: {e}", path.display()))
}

/// `CLIENTS` users at once, each sending `REQUESTS` requests (a create, then
/// a list of their todos, in turns); every status seen, in no order.
async fn load(server: &Server, env: &Env) -> Vec<StatusCode> {
    let mut clients = Vec::new();
    for n in 0..CLIENTS {
        let user = format!("loader-{n}");
        let email = format!("{user}@example.com");
        let token = env.token(&["--user", &user, "--email", &email]);
        let url = format!("{}/api/v1/todos", server.url);
        clients.push(tokio::spawn(async move {
            let client = Client::new();
            let mut statuses = Vec::new();
            for i in 0..REQUESTS {
                let request = if i % 2 == 0 {
                    client
                        .post(&url)
                        .json(&json!({ "title": format!("todo {i} of client {n}") }))
                } else {
                    client.get(&url)
                };
                let status = match request.bearer_auth(&token).send().await {
                    Ok(response) => response.status(),
                    Err(_) => StatusCode::BAD_GATEWAY,
                };
                statuses.push(status);
            }
            statuses
        }));
    }
    let mut all = Vec::new();
    for client in clients {
        all.extend(client.await.expect("client task"));
    }
    all
}

/// The environment of a server whose pool goes through `pgbouncer` and
/// whose migrations go straight to PostgreSQL.
fn env_behind(pgbouncer: &Pgbouncer, database: &TestDatabase, prepared: bool) -> Env {
    let name = database
        .url
        .rsplit('/')
        .next()
        .expect("a database name")
        .to_owned();
    Env::defaults()
        .set("TASKER_DATABASE__URL", pgbouncer.url(&name))
        .set("TASKER_DATABASE__MIGRATION_URL", database.url.clone())
        .set("TASKER_DATABASE__PREPARED_STATEMENTS", prepared.to_string())
        .set("TASKER_RATE_LIMIT__ENABLED", "false")
        .set(
            "TASKER_AUTH__JWT_SECRET",
            "a-test-secret-that-is-long-enough-0123456789",
        )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unprepared_statements_survive_a_transaction_pooling_pgbouncer() {
    let Some(database) = TestDatabase::postgres().await else {
        return;
    };
    let Some(pgbouncer) = Pgbouncer::start_or_skip() else {
        return;
    };
    let env = env_behind(&pgbouncer, &database, false);

    // First start: the schema is created over the direct connection.
    let server = Server::start(&env, &[]).await;
    let token = env.token(&["--user", "alice", "--email", "alice@example.com"]);
    walkthrough::walk(&server, &token).await;
    let statuses = load(&server, &env).await;
    assert_eq!(statuses.len(), CLIENTS * REQUESTS);
    let failed: Vec<_> = statuses.iter().filter(|s| !s.is_success()).collect();
    assert!(
        failed.is_empty(),
        "{} of {} requests failed ({failed:?}):\n{}\npgbouncer:\n{}",
        failed.len(),
        statuses.len(),
        server.log_text(),
        pgbouncer.log()
    );
    drop(server);

    // A restart finds the migrations applied and serves again.
    let server = Server::start(&env, &[]).await;
    let response = Client::new()
        .get(format!("{}/api/v1/todos", server.url))
        .bearer_auth(&token)
        .send()
        .await
        .expect("list after restart");
    assert_eq!(response.status(), StatusCode::OK, "{}", server.log_text());
    drop(server);

    // The same load with prepared statements left on fails: named
    // statements prepared on one server connection are missing on another.
    let env = env_behind(&pgbouncer, &database, true);
    let server = Server::spawn(&env, &["serve"], false).await;
    let statuses = load(&server, &env).await;
    let errors = statuses.iter().filter(|s| s.is_server_error()).count();
    assert!(
        errors > 0,
        "with prepared statements on, every one of {} requests through a \
         transaction-pooling PgBouncer succeeded: the test above proves nothing",
        statuses.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_migration_url_stops_migrate_naming_it() {
    let Some(database) = TestDatabase::postgres().await else {
        return;
    };
    let output = Env::defaults()
        .set("TASKER_DATABASE__URL", database.url.clone())
        .set(
            "TASKER_DATABASE__MIGRATION_URL",
            "postgres://postgres@127.0.0.1:1/tasker",
        )
        .set("TASKER_DATABASE__ACQUIRE_TIMEOUT_SECONDS", "2")
        .run(&["migrate"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("database migrations (migration_url)"),
        "{stderr}"
    );
}
