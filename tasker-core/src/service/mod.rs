//! Services: where the business rules live, generic over the storage traits.
//!
//! [`Services`] bundles one of each over a shared store, clock and blob store;
//! it is what tasker-http and tasker-jobs are built from.

mod attachment;
mod category;
mod comment;
mod jobs;
mod settings;
mod todo;

pub use attachment::AttachmentService;
pub use category::CategoryService;
pub use comment::CommentService;
pub use jobs::{JobService, TodoScan, UserScan};
pub use settings::SettingsService;
pub use todo::TodoService;

use std::sync::Arc;

use crate::{blob::BlobStore, clock::SharedClock, model::SettingsDefaults, store::Store};

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
    /// Users' settings.
    pub settings: SettingsService<S>,
    /// Background-job queries.
    pub jobs: JobService<S>,
    store: S,
    clock: SharedClock,
}

impl<S: Store> Services<S> {
    /// Builds every service over `store`, with the default settings of
    /// [`SettingsDefaults::default`].
    pub fn new(store: S, clock: SharedClock, blobs: BlobStore) -> Self {
        let defaults = Arc::new(SettingsDefaults::default());
        Self {
            settings: SettingsService::new(store.clone(), clock.clone(), Arc::clone(&defaults)),
            todos: TodoService::new(store.clone(), clock.clone(), blobs.clone()),
            categories: CategoryService::new(store.clone(), clock.clone()),
            comments: CommentService::new(store.clone(), clock.clone()),
            attachments: AttachmentService::new(store.clone(), clock.clone(), blobs),
            jobs: JobService::new(store.clone(), clock.clone()),
            store,
            clock,
        }
    }

    /// The same services with `defaults` for the settings users did not
    /// choose (the configuration's).
    #[must_use]
    pub fn with_settings_defaults(mut self, defaults: SettingsDefaults) -> Self {
        let defaults = Arc::new(defaults);
        self.settings = SettingsService::new(
            self.store.clone(),
            self.clock.clone(),
            Arc::clone(&defaults),
        );
        self.jobs = self.jobs.with_settings_defaults(defaults);
        self
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
