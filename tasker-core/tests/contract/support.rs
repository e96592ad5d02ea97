//! Test harness: a fresh store per case, a fixed clock, helpers.

use std::sync::Arc;

use tasker_core::{
    blob::BlobStore,
    clock::ManualClock,
    domain::{CategoryName, CommentContent, TodoTitle, UserId},
    model::{Category, Comment, NewCategory, NewTodo, Todo},
    service::Services,
    store::AnyStore,
    testing::TestStore,
};
use tempfile::TempDir;
use time::{OffsetDateTime, macros::datetime};

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
    _db: TestStore,
}

impl Ctx {
    /// A case on a fresh SQLite file.
    pub async fn sqlite() -> Self {
        Self::build(TestStore::sqlite().await)
    }

    /// A case on a fresh PostgreSQL database, or `None` when skipped.
    pub async fn postgres() -> Option<Self> {
        Some(Self::build(TestStore::postgres().await?))
    }

    /// A case on a fresh PostgreSQL database through a store of its own
    /// made with `options`, or `None` when skipped.
    pub async fn postgres_with(options: &tasker_core::store::StoreOptions) -> Option<Self> {
        let db = TestStore::postgres().await?;
        let url = db.url().expect("a PostgreSQL database");
        let store = AnyStore::connect(&url, options)
            .await
            .expect("connect to test database");
        Some(Self::build_on(db, store))
    }

    fn build(db: TestStore) -> Self {
        let store = db.store.clone();
        Self::build_on(db, store)
    }

    fn build_on(db: TestStore, store: AnyStore) -> Self {
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
