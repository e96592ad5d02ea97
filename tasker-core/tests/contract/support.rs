//! Test harness: a fresh store per case, a fixed clock, helpers.

use std::{
    io::Write as _,
    str::FromStr,
    sync::{Arc, Once},
};

use sqlx::{Connection, Executor, postgres::PgConnectOptions};
use tasker_core::{
    blob::BlobStore,
    clock::ManualClock,
    domain::{CategoryName, CommentContent, TodoTitle, UserId},
    model::{Category, Comment, NewCategory, NewTodo, Todo},
    service::Services,
    store::{AnyStore, PgStore, SqliteStore, StoreOptions},
};
use tempfile::TempDir;
use time::{OffsetDateTime, macros::datetime};
use uuid::Uuid;

/// The instant every case starts at.
pub const T0: OffsetDateTime = datetime!(2026-11-23 09:00 UTC);

/// Generates one `#[tokio::test]` per backend for each listed case.
macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    if let Some(ctx) = crate::support::Ctx::postgres().await {
                        super::$case(ctx).await;
                    }
                }
            )*
        }
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(crate::support::Ctx::sqlite().await).await;
                }
            )*
        }
    };
}
pub(crate) use contract;

/// One case's world: services over a fresh store, a manual clock, a blob directory.
pub struct Ctx {
    pub services: Services<AnyStore>,
    pub store: AnyStore,
    pub clock: ManualClock,
    pub blobs: BlobStore,
    pub blob_dir: TempDir,
    _db: DbGuard,
}

enum DbGuard {
    Sqlite(#[allow(dead_code)] TempDir),
    Postgres {
        admin: Box<PgConnectOptions>,
        name: String,
    },
}

impl Drop for DbGuard {
    fn drop(&mut self) {
        if let Self::Postgres { admin, name } = self {
            let (admin, name) = (admin.as_ref().clone(), name.clone());
            // Dropping runs outside any async context we could use; a short-lived
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

fn postgres_admin_url() -> String {
    std::env::var("TASKER_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

fn say_skipped() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Written past the test harness's capture so the skip is seen.
        let _ = writeln!(
            std::io::stderr(),
            "\n*** PostgreSQL contract cases SKIPPED: TASKER_TEST_SKIP_POSTGRES=1 ***\n"
        );
    });
}

impl Ctx {
    /// A case on a fresh SQLite file.
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("tasker.db").display());
        let store = SqliteStore::connect(&url, &StoreOptions::default())
            .await
            .expect("open SQLite");
        store.migrate().await.expect("migrate SQLite");
        Self::build(AnyStore::Sqlite(store), DbGuard::Sqlite(dir))
    }

    /// A case on a fresh PostgreSQL database, or `None` when skipped.
    pub async fn postgres() -> Option<Self> {
        if std::env::var("TASKER_TEST_SKIP_POSTGRES").as_deref() == Ok("1") {
            say_skipped();
            return None;
        }
        let url = postgres_admin_url();
        let admin = PgConnectOptions::from_str(&url)
            .expect("TASKER_TEST_DATABASE_URL is not a PostgreSQL URL");
        let mut conn = match sqlx::PgConnection::connect_with(&admin).await {
            Ok(conn) => conn,
            Err(e) => panic!(
                "cannot reach PostgreSQL at {url}: {e}\n\
                 Start it (e.g. `pg_ctlcluster 15 main start`, or run `.ci/run` which installs and starts it), \
                 point TASKER_TEST_DATABASE_URL at a server, or set TASKER_TEST_SKIP_POSTGRES=1 to skip these cases."
            ),
        };
        let name = format!("tasker_test_{}", Uuid::now_v7().simple());
        conn.execute(sqlx::AssertSqlSafe(format!(r#"CREATE DATABASE "{name}""#)))
            .await
            .expect("create test database");
        let guard = DbGuard::Postgres {
            admin: Box::new(admin.clone()),
            name: name.clone(),
        };
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(5)
            .connect_with(admin.database(&name))
            .await
            .expect("connect to test database");
        let store = PgStore::from_pool(pool);
        store.migrate().await.expect("migrate PostgreSQL");
        Some(Self::build(AnyStore::Postgres(store), guard))
    }

    fn build(store: AnyStore, db: DbGuard) -> Self {
        let clock = ManualClock::new(T0);
        let blob_dir = tempfile::tempdir().expect("temp dir");
        let blobs = BlobStore::local(blob_dir.path()).expect("blob dir");
        let services = Services::new(store.clone(), Arc::new(clock.clone()), blobs.clone());
        Self {
            services,
            store,
            clock,
            blobs,
            blob_dir,
            _db: db,
        }
    }

    /// Creates a root todo with `title`.
    pub async fn todo(&self, user: &UserId, title: &str) -> Todo {
        self.services
            .todos
            .create(user, NewTodo::new(TodoTitle::parse(title).unwrap()))
            .await
            .expect("create todo")
    }

    /// Creates a todo from a tweaked `NewTodo`.
    pub async fn todo_with(
        &self,
        user: &UserId,
        title: &str,
        f: impl FnOnce(&mut NewTodo),
    ) -> Todo {
        let mut new = NewTodo::new(TodoTitle::parse(title).unwrap());
        f(&mut new);
        self.services
            .todos
            .create(user, new)
            .await
            .expect("create todo")
    }

    /// Creates a subtask of `parent`.
    pub async fn subtask(&self, user: &UserId, parent: &Todo, title: &str) -> Todo {
        self.todo_with(user, title, |n| n.parent_todo_id = Some(parent.id))
            .await
    }

    /// Creates a category named `name`.
    pub async fn category(&self, user: &UserId, name: &str) -> Category {
        let new = NewCategory {
            name: CategoryName::parse(name).unwrap(),
            color: Default::default(),
            description: None,
        };
        self.services
            .categories
            .create(user, new)
            .await
            .expect("create category")
    }

    /// Adds a comment.
    pub async fn comment(&self, user: &UserId, todo: &Todo, text: &str) -> Comment {
        self.services
            .comments
            .add(user, todo.id, CommentContent::parse(text).unwrap())
            .await
            .expect("add comment")
    }
}

/// A user id.
pub fn user(id: &str) -> UserId {
    UserId::parse(id).unwrap()
}

/// Asserts a result is `Error::NotFound(resource)`.
#[track_caller]
pub fn assert_not_found<T: std::fmt::Debug>(
    result: tasker_core::Result<T>,
    resource: tasker_core::Resource,
) {
    match result {
        Err(tasker_core::Error::NotFound(r)) if r == resource => {}
        other => panic!("expected NotFound({resource:?}), got {other:?}"),
    }
}

/// Asserts a result is a validation error naming `field`.
#[track_caller]
pub fn assert_invalid<T: std::fmt::Debug>(result: tasker_core::Result<T>, field: &str) {
    match result {
        Err(tasker_core::Error::Validation(errors)) if errors.has(field) => {}
        other => panic!("expected a validation error on {field}, got {other:?}"),
    }
}
