//! Services: where the business rules live, generic over the storage traits.
//!
//! [`Services`] bundles one of each over a shared store, clock and blob store;
//! it is what tasker-http and tasker-jobs are built from.

mod attachment;
mod category;
mod comment;
mod jobs;
mod todo;

pub use attachment::AttachmentService;
pub use category::CategoryService;
pub use comment::CommentService;
pub use jobs::{JobService, TodoScan, UserScan};
pub use todo::TodoService;

use crate::{blob::BlobStore, clock::SharedClock, store::Store};

/// Every service over one store.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> tasker_core::Result<()> {
/// use std::sync::Arc;
/// use tasker_core::{
///     blob::BlobStore, clock::SystemClock, domain::{TodoTitle, UserId}, model::NewTodo,
///     service::Services, store::{AnyStore, StoreOptions},
/// };
///
/// let dir = tempfile::tempdir().unwrap();
/// let url = format!("sqlite://{}", dir.path().join("tasker.db").display());
/// let store = AnyStore::connect(&url, &StoreOptions::default()).await?;
/// store.migrate().await?;
/// let services = Services::new(store, Arc::new(SystemClock), BlobStore::local(dir.path().join("files"))?);
///
/// let user = UserId::parse("user_1").unwrap();
/// let todo = services.todos.create(&user, NewTodo::new(TodoTitle::parse("Try tasker").unwrap())).await?;
/// assert_eq!(services.todos.get(&user, todo.id).await?.todo.title, "Try tasker");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Services<S> {
    /// Todos.
    pub todos: TodoService<S>,
    /// Categories.
    pub categories: CategoryService<S>,
    /// Comments.
    pub comments: CommentService<S>,
    /// Attachments.
    pub attachments: AttachmentService<S>,
    /// Background-job queries.
    pub jobs: JobService<S>,
    store: S,
    clock: SharedClock,
}

impl<S: Store> Services<S> {
    /// Builds every service over `store`.
    pub fn new(store: S, clock: SharedClock, blobs: BlobStore) -> Self {
        Self {
            todos: TodoService::new(store.clone(), clock.clone(), blobs.clone()),
            categories: CategoryService::new(store.clone(), clock.clone()),
            comments: CommentService::new(store.clone(), clock.clone()),
            attachments: AttachmentService::new(store.clone(), clock.clone(), blobs),
            jobs: JobService::new(store.clone(), clock.clone()),
            store,
            clock,
        }
    }

    /// The store the services share.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The clock the services share.
    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }
}
