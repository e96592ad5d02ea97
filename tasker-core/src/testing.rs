//! Test support for crates built on tasker-core (feature `testing`): a fresh,
//! migrated store per test, on PostgreSQL or SQLite.
//!
//! PostgreSQL cases create a database named `tasker_test_<uuid>` on the server
//! at `TASKER_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`) and drop it afterwards.
//! Setting `TASKER_TEST_SKIP_POSTGRES=1` skips them with a visible notice.
//!
//! ```no_run
//! # async fn example() {
//! use tasker_core::testing::TestStore;
//!
//! let sqlite = TestStore::sqlite().await;
//! if let Some(postgres) = TestStore::postgres().await {
//!     assert_eq!(postgres.store.backend(), "postgres");
//! }
//! # }
//! ```

use std::{io::Write as _, str::FromStr, sync::Once};

use sqlx::{Connection, Executor, postgres::PgConnectOptions};
use tempfile::TempDir;
use uuid::Uuid;

use crate::store::{AnyStore, StoreOptions};

/// A fresh, migrated store that removes its database when dropped.
#[derive(Debug)]
pub struct TestStore {
    /// The store.
    pub store: AnyStore,
    guard: Guard,
}

#[derive(Debug)]
enum Guard {
    Sqlite(#[allow(dead_code)] TempDir),
    Postgres {
        admin: Box<PgConnectOptions>,
        name: String,
    },
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Self::Postgres { admin, name } = self {
            let (admin, name) = (admin.as_ref().clone(), name.clone());
            // Drop runs outside any async context we could use; a short-lived
            // runtime on its own thread removes the database.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .ok()?;
                rt.block_on(async {
                    let mut conn = sqlx::PgConnection::connect_with(&admin).await.ok()?;
                    conn.execute(sqlx::AssertSqlSafe(format!(
                        r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#
                    )))
                    .await
                    .ok()
                })
            })
            .join();
        }
    }
}

fn say_skipped() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Written past the test harness's capture so the skip is seen.
        let _ = writeln!(
            std::io::stderr(),
            "\n*** PostgreSQL cases SKIPPED: TASKER_TEST_SKIP_POSTGRES=1 ***\n"
        );
    });
}

/// The test server's address (`TASKER_TEST_DATABASE_URL`).
fn postgres_url() -> String {
    std::env::var("TASKER_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// The URL of database `name` on the test server.
fn database_url(name: &str) -> String {
    let base = postgres_url();
    let server = base
        .rsplit_once('/')
        .map_or(base.as_str(), |(server, _)| server);
    format!("{server}/{name}")
}

/// Creates `<prefix>_<uuid>` on the test server; its admin options and name.
async fn create_postgres_database(prefix: &str) -> (PgConnectOptions, String) {
    let url = postgres_url();
    let admin =
        PgConnectOptions::from_str(&url).expect("TASKER_TEST_DATABASE_URL is not a PostgreSQL URL");
    let mut conn = match sqlx::PgConnection::connect_with(&admin).await {
        Ok(conn) => conn,
        Err(e) => panic!(
            "cannot reach PostgreSQL at {url}: {e}\n\
             Start it (e.g. `pg_ctlcluster 15 main start`, or run `.ci/run` which installs and starts it), \
             point TASKER_TEST_DATABASE_URL at a server, or set TASKER_TEST_SKIP_POSTGRES=1 to skip these cases."
        ),
    };
    let name = format!("{prefix}_{}", Uuid::now_v7().simple());
    conn.execute(sqlx::AssertSqlSafe(format!(r#"CREATE DATABASE "{name}""#)))
        .await
        .expect("create test database");
    (admin, name)
}

/// An empty PostgreSQL database (no tables at all), dropped with the value:
/// for tests that bring a schema of their own, such as the Go service's.
#[derive(Debug)]
pub struct TestDatabase {
    /// Its connection URL.
    pub url: String,
    admin: PgConnectOptions,
    name: String,
    _guard: Guard,
}

impl TestDatabase {
    /// A fresh empty database on the test server; `None` (with a notice)
    /// under `TASKER_TEST_SKIP_POSTGRES=1`.
    ///
    /// # Panics
    /// When the server cannot be reached, with a message saying how to start one.
    pub async fn postgres() -> Option<Self> {
        if std::env::var("TASKER_TEST_SKIP_POSTGRES").as_deref() == Ok("1") {
            say_skipped();
            return None;
        }
        let (admin, name) = create_postgres_database("tasker_test_raw").await;
        Some(Self {
            url: database_url(&name),
            admin: admin.clone(),
            name: name.clone(),
            _guard: Guard::Postgres {
                admin: Box::new(admin),
                name,
            },
        })
    }

    /// Runs `script` (several statements) in the database.
    ///
    /// # Panics
    /// When a statement fails.
    pub async fn run(&self, script: &str) {
        let mut conn = sqlx::PgConnection::connect_with(&self.admin.clone().database(&self.name))
            .await
            .expect("connect to test database");
        sqlx::raw_sql(sqlx::AssertSqlSafe(script.to_owned()))
            .execute(&mut conn)
            .await
            .expect("run script");
    }
}

impl TestStore {
    /// A store on a fresh SQLite file in a temporary directory.
    ///
    /// # Panics
    /// When the file cannot be created or migrated (a broken test machine).
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("tasker.db").display());
        let store = AnyStore::connect(&url, &StoreOptions::default())
            .await
            .expect("open SQLite");
        store.migrate().await.expect("migrate SQLite");
        Self {
            store,
            guard: Guard::Sqlite(dir),
        }
    }

    /// A store on a fresh PostgreSQL database, or `None` when
    /// `TASKER_TEST_SKIP_POSTGRES=1`.
    ///
    /// # Panics
    /// When the server cannot be reached, with a message saying how to start one.
    pub async fn postgres() -> Option<Self> {
        if std::env::var("TASKER_TEST_SKIP_POSTGRES").as_deref() == Ok("1") {
            say_skipped();
            return None;
        }
        let (admin, name) = create_postgres_database("tasker_test").await;
        let guard = Guard::Postgres {
            admin: Box::new(admin.clone()),
            name: name.clone(),
        };
        // The pool the stores make (pings only after idle), smaller.
        let pool = crate::store::StoreOptions::default()
            .pool::<sqlx::Postgres>()
            .max_connections(5)
            .connect_with(
                admin
                    .clone()
                    .database(&name)
                    .application_name(crate::store::APPLICATION_NAME),
            )
            .await
            .expect("connect to test database");
        let store = AnyStore::from_pool(pool);
        store.migrate().await.expect("migrate PostgreSQL");
        Some(Self { store, guard })
    }

    /// The PostgreSQL database's URL, when on PostgreSQL (for a process of
    /// its own, such as the server binary).
    pub fn url(&self) -> Option<String> {
        self.database_name().map(database_url)
    }

    /// The PostgreSQL database name, when on PostgreSQL.
    pub fn database_name(&self) -> Option<&str> {
        match &self.guard {
            Guard::Postgres { name, .. } => Some(name),
            Guard::Sqlite(_) => None,
        }
    }
}
