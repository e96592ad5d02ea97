//! Storage: the traits services are generic over, and the two sqlx backends.
//!
//! | trait | holds |
//! | --- | --- |
//! | [`TodoStore`] | todos, populated reads, lists, statistics |
//! | [`CategoryStore`] | categories |
//! | [`CommentStore`] | comments |
//! | [`AttachmentStore`] | attachment records (blobs live in [`BlobStore`](crate::blob::BlobStore)) |
//! | [`NotificationStore`] | the notification ledger (each e-mail claimed, then delivered, once) |
//! | [`UserStore`] | the users tasker has seen, and their settings |
//! | [`JobRunStore`] | records of job runs |
//! | [`MaintenanceStore`] | the blob sweep's key check, archiving |
//! | [`StatsStore`] | a user's statistics over a week (the weekly report) |
//! | [`IdempotencyStore`] | responses kept for `Idempotency-Key` retries |
//!
//! [`Store`] is all ten; [`JobStore`] is what the background jobs need. [`AnyStore`] implements them once, for PostgreSQL
//! and SQLite alike (the [`Pool`] it wraps decides), with the same statements
//! on both, and passes the same contract suite on both.
//!
//! Every method that touches user data takes the [`UserId`] and scopes its
//! statement by it: another user's row is simply not found.
//!
//! ```no_run
//! # async fn run() -> tasker_core::Result<()> {
//! use tasker_core::store::{AnyStore, StoreOptions};
//!
//! let store = AnyStore::connect("sqlite://data/tasker.db", &StoreOptions::default()).await?;
//! store.migrate().await?;
//! # Ok(()) }
//! ```

use std::future::Future;

use time::OffsetDateTime;
use uuid::Uuid;

use crate::{
    Result,
    domain::{CommentContent, UserId},
    model::{
        Attachment, Category, CategoryPatch, Comment, JobRun, JobRunCounts, KnownUser, Page,
        PopulatedTodo, SettingsChange, StoredSettings, Todo, TodoPatch, TodoStats, WeeklyStats,
    },
    query::{CategoryQuery, TodoQuery},
};

mod any;
mod conn;
mod decode;
mod options;
mod sql;
mod write;

mod attachments;
mod categories;
mod comments;
mod idempotency;
mod idempotent_write;
mod import;
mod job_runs;
mod maintenance;
mod notifications;
mod stats;
mod todos;
mod users;

#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;

pub use any::{AnyStore, Pool};
pub use idempotent_write::IdempotentWrite;
pub(crate) use idempotent_write::after_commit;
pub use options::{PoolStats, StoreOptions};
#[cfg(feature = "postgres")]
pub use postgres::APPLICATION_NAME;
pub use write::{CONFLICT_ATTEMPTS, conflict_pause};

/// A validated todo update with the fields the service derives from it.
#[derive(Debug, Clone, PartialEq)]
pub struct TodoChanges {
    /// The client's changes.
    pub patch: TodoPatch,
    /// The new `completedAt` when the status changes (`Some(None)` clears it).
    pub completed_at: Option<Option<OffsetDateTime>>,
    /// The new `updatedAt`.
    pub updated_at: OffsetDateTime,
    /// When set, the update applies only while the stored `updatedAt` is
    /// still this instant (optimistic concurrency): otherwise no row changes
    /// and the store returns `None`.
    pub expected_updated_at: Option<OffsetDateTime>,
}

/// Where a batch query resumes: after this (user, todo) pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TodoCursor {
    /// The last user of the previous batch.
    pub user_id: UserId,
    /// The last todo of the previous batch.
    pub id: Uuid,
}

impl From<&Todo> for TodoCursor {
    fn from(todo: &Todo) -> Self {
        Self {
            user_id: todo.user_id.clone(),
            id: todo.id,
        }
    }
}

/// Which e-mail a todo notification record stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TodoNotificationKind {
    /// "Due soon" reminder.
    DueReminder,
    /// Overdue notice.
    Overdue,
}

impl TodoNotificationKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DueReminder => "due_reminder",
            Self::Overdue => "overdue",
        }
    }
}

/// Todos.
///
/// # Locks
///
/// Concurrent writes never deadlock on the SQL stores because every
/// transaction that locks rows takes them in one order: several todos in one
/// statement, ordered by id (a move locks the todo and its new parent; a
/// delete the todo and its subtasks; a category delete the category's todos),
/// and todos before the category they point at (a category delete locks its
/// todos, then deletes the category; a todo write locks its row, then the
/// foreign key reads its category). The one exception to the order, a todo
/// moving *into* a category while that category is deleted, cannot close a
/// cycle: the delete only locks todos already in the category. Archiving
/// skips rows another transaction holds. A write the database still rolls
/// back in favour of another ([`Error::is_conflict`](crate::Error::is_conflict))
/// runs again a few times with a short random pause; past that it is
/// returned, and counts as unavailable.
pub trait TodoStore: Send + Sync {
    /// Inserts `todo`; the store assigns `sortOrder` and returns the stored row.
    fn insert_todo(&self, todo: &Todo) -> impl Future<Output = Result<Todo>> + Send;

    /// One of the user's todos.
    fn get_todo(
        &self,
        user: &UserId,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<Todo>>> + Send;

    /// One of the user's todos with category, subtasks, comments and attachments
    /// (a fixed number of statements).
    fn get_populated_todo(
        &self,
        user: &UserId,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<PopulatedTodo>>> + Send;

    /// How many subtasks the user's todo `id` has.
    fn count_children(&self, user: &UserId, id: Uuid) -> impl Future<Output = Result<u64>> + Send;

    /// Applies `changes` to the user's todo; `None` when it does not exist.
    fn update_todo(
        &self,
        user: &UserId,
        id: Uuid,
        changes: &TodoChanges,
    ) -> impl Future<Output = Result<Option<Todo>>> + Send;

    /// Deletes the user's todo with its subtasks, comments and attachment records
    /// in one transaction. Returns the blob keys of the removed attachments, or
    /// `None` when the todo does not exist. With `expected_updated_at`, nothing
    /// is deleted unless the todo's `updatedAt` is still that instant
    /// ([`Error::Stale`](crate::Error::Stale) otherwise).
    fn delete_todo(
        &self,
        user: &UserId,
        id: Uuid,
        expected_updated_at: Option<OffsetDateTime>,
    ) -> impl Future<Output = Result<Option<Vec<String>>>> + Send;

    /// One page of the user's todos, populated, in a fixed number of statements
    /// whatever the page size. `now` decides what is overdue.
    fn list_todos(
        &self,
        user: &UserId,
        query: &TodoQuery,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<Page<PopulatedTodo>>> + Send;

    /// Counts of the user's todos by status, and overdue at `now`.
    fn todo_stats(
        &self,
        user: &UserId,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<TodoStats>> + Send;
}

/// Categories.
pub trait CategoryStore: Send + Sync {
    /// Inserts a category; [`Error::CategoryNameTaken`](crate::Error::CategoryNameTaken)
    /// when the user has one of that name (any case).
    fn insert_category(&self, category: &Category)
    -> impl Future<Output = Result<Category>> + Send;

    /// One of the user's categories.
    fn get_category(
        &self,
        user: &UserId,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<Category>>> + Send;

    /// Applies `patch`; `None` when the category does not exist.
    fn update_category(
        &self,
        user: &UserId,
        id: Uuid,
        patch: &CategoryPatch,
        now: OffsetDateTime,
        expected_updated_at: Option<OffsetDateTime>,
    ) -> impl Future<Output = Result<Option<Category>>> + Send;

    /// Deletes the category and clears the `categoryId` of its todos, in one
    /// transaction; `false` when nothing was deleted: it does not exist, or
    /// `expected_updated_at` is given and its `updatedAt` is another instant.
    fn delete_category(
        &self,
        user: &UserId,
        id: Uuid,
        expected_updated_at: Option<OffsetDateTime>,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// One page of the user's categories.
    fn list_categories(
        &self,
        user: &UserId,
        query: &CategoryQuery,
    ) -> impl Future<Output = Result<Page<Category>>> + Send;
}

/// Comments.
pub trait CommentStore: Send + Sync {
    /// Inserts a comment.
    fn insert_comment(&self, comment: &Comment) -> impl Future<Output = Result<Comment>> + Send;

    /// Edits a comment the user wrote on one of the user's todos.
    fn update_comment(
        &self,
        user: &UserId,
        id: Uuid,
        content: &CommentContent,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<Option<Comment>>> + Send;

    /// Deletes a comment the user wrote on one of the user's todos.
    fn delete_comment(&self, user: &UserId, id: Uuid) -> impl Future<Output = Result<bool>> + Send;

    /// The comments on the user's todo, oldest first.
    fn list_comments(
        &self,
        user: &UserId,
        todo_id: Uuid,
    ) -> impl Future<Output = Result<Vec<Comment>>> + Send;
}

/// Attachment records.
pub trait AttachmentStore: Send + Sync {
    /// Inserts an attachment record.
    fn insert_attachment(
        &self,
        attachment: &Attachment,
    ) -> impl Future<Output = Result<Attachment>> + Send;

    /// An attachment of the user's todo.
    fn get_attachment(
        &self,
        user: &UserId,
        todo_id: Uuid,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<Attachment>>> + Send;

    /// Deletes an attachment record of the user's todo and returns it.
    fn delete_attachment(
        &self,
        user: &UserId,
        todo_id: Uuid,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<Attachment>>> + Send;
}

/// The notification ledger: which todo and user e-mails were claimed and
/// delivered, so that each is sent once however often a job runs.
///
/// Batch queries are keyset-paged: pass the last row of one batch as the
/// cursor of the next, until a batch comes back shorter than `limit`.
pub trait NotificationStore: Send + Sync {
    /// Open todos (any user) due in `(from, to]` with no `kind` notification
    /// recorded for their current due date, ordered by user then id.
    fn todos_due_unnotified(
        &self,
        kind: TodoNotificationKind,
        from: OffsetDateTime,
        to: OffsetDateTime,
        after: Option<&TodoCursor>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<Todo>>> + Send;

    /// Claims `kind` for each `(todo, due date)` under `claim`, in one
    /// transaction: a ledger row is written where none exists (a todo deleted
    /// or re-dated meanwhile is skipped). Returns the user's open todos whose
    /// row carries `claim` and is not yet delivered, by due date: the ones
    /// the caller mails. Calling it again with the same `claim` returns the
    /// same todos until [`mark_todo_notifications_delivered`](Self::mark_todo_notifications_delivered).
    fn claim_todo_notifications(
        &self,
        kind: TodoNotificationKind,
        user: &UserId,
        todos: &[(Uuid, OffsetDateTime)],
        claim: &str,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<Vec<Todo>>> + Send;

    /// Marks the undelivered ledger rows of `claim` delivered; returns how many.
    fn mark_todo_notifications_delivered(
        &self,
        kind: TodoNotificationKind,
        claim: &str,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<u64>> + Send;

    /// Claims a per-user notification (`kind`, `period`, e.g. an ISO week):
    /// `true` while it is not delivered (first claim or a retry), `false` once
    /// it was.
    fn claim_user_notification(
        &self,
        user: &UserId,
        kind: &str,
        period: &str,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// Marks a per-user notification delivered.
    fn mark_user_notification_delivered(
        &self,
        user: &UserId,
        kind: &str,
        period: &str,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<()>> + Send;
}

/// The users tasker has seen (the user directory the e-mails read).
pub trait UserStore: Send + Sync {
    /// Records that `user` was seen, keeping the latest non-empty e-mail and
    /// name; `true` the first time.
    fn remember_user(
        &self,
        user: &UserId,
        email: Option<&str>,
        name: Option<&str>,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// Forgets a user recorded by [`remember_user`](Self::remember_user),
    /// so that the next sighting counts as the first again (used when the
    /// welcome e-mail of a first sighting could not be enqueued).
    fn forget_user(&self, user: &UserId) -> impl Future<Output = Result<()>> + Send;

    /// A user recorded by [`remember_user`](Self::remember_user).
    fn known_user(&self, user: &UserId) -> impl Future<Output = Result<Option<KnownUser>>> + Send;

    /// What the user chose in their settings (nothing stored: all `None`).
    fn user_settings(&self, user: &UserId) -> impl Future<Output = Result<StoredSettings>> + Send;

    /// Stores the values `change` has, keeps the others; the settings after.
    fn update_user_settings(
        &self,
        user: &UserId,
        change: &SettingsChange,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<StoredSettings>> + Send;

    /// Users who own at least one todo, in id order, after `after`.
    fn users_with_todos(
        &self,
        after: Option<&UserId>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<UserId>>> + Send;
}

/// Records of job runs, for the admin pages and metrics.
pub trait JobRunStore: Send + Sync {
    /// Inserts or replaces the record of one job run.
    fn record_job_run(&self, run: &JobRun) -> impl Future<Output = Result<()>> + Send;

    /// Job runs counted by queue and status.
    fn job_run_counts(&self) -> impl Future<Output = Result<Vec<JobRunCounts>>> + Send;

    /// The most recently finished failed job runs, newest first.
    fn failed_job_runs(&self, limit: u32) -> impl Future<Output = Result<Vec<JobRun>>> + Send;

    /// Deletes finished job runs (done or failed) that finished before `before`.
    fn prune_job_runs(&self, before: OffsetDateTime) -> impl Future<Output = Result<u64>> + Send;
}

/// Housekeeping: attachment keys still referred to (the blob sweep) and
/// archiving of old completed todos.
pub trait MaintenanceStore: Send + Sync {
    /// The keys among `keys` that an attachment row still refers to.
    fn existing_download_keys(
        &self,
        keys: &[String],
    ) -> impl Future<Output = Result<Vec<String>>> + Send;

    /// Archives up to `limit` todos completed before `before`; returns how many.
    fn archive_completed_batch(
        &self,
        before: OffsetDateTime,
        now: OffsetDateTime,
        limit: u32,
    ) -> impl Future<Output = Result<u64>> + Send;
}

/// A user's statistics over a period (the weekly report).
pub trait StatsStore: Send + Sync {
    /// The user's week `[from, to)`: counts, and up to `list_limit` completed and overdue todos.
    fn weekly_stats(
        &self,
        user: &UserId,
        from: OffsetDateTime,
        to: OffsetDateTime,
        now: OffsetDateTime,
        list_limit: u32,
    ) -> impl Future<Output = Result<WeeklyStats>> + Send;
}

/// Everything the background jobs need from storage: the ledger, the user
/// directory, job records, maintenance and the weekly statistics.
pub trait JobStore:
    NotificationStore + UserStore + JobRunStore + MaintenanceStore + StatsStore
{
}

impl<S> JobStore for S where
    S: NotificationStore + UserStore + JobRunStore + MaintenanceStore + StatsStore
{
}

/// How long a response is kept for `Idempotency-Key` retries: 24 hours.
pub const IDEMPOTENCY_TTL: time::Duration = time::Duration::hours(24);

/// A response kept for an idempotency key, replayed byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    /// The HTTP status.
    pub status: u16,
    /// The headers that belong to the representation (`content-type`,
    /// `location`, `etag`, ...), in order.
    pub headers: Vec<(String, String)>,
    /// The body, as sent.
    pub body: Vec<u8>,
}

/// What [`IdempotencyStore::claim_idempotency_key`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdempotencyClaim {
    /// The key is new (or its earlier use expired or was abandoned): the
    /// caller runs the request, then completes or releases the key.
    Claimed,
    /// A request with this key and the same fingerprint is still running.
    InProgress,
    /// The key was used with a different request (another fingerprint).
    Mismatch,
    /// The key's request finished: here is its response.
    Completed(StoredResponse),
}

/// Responses kept for `Idempotency-Key` retries, per user and key.
pub trait IdempotencyStore: Send + Sync {
    /// Claims `key` for the user's request with `fingerprint` at `now`, in
    /// one transaction. A row created before `expired_before`, or a claim
    /// without a response made before `abandoned_before`, no longer counts:
    /// it is replaced. Two concurrent claims of one key: exactly one gets
    /// [`IdempotencyClaim::Claimed`].
    fn claim_idempotency_key(
        &self,
        user: &UserId,
        key: &str,
        fingerprint: &str,
        now: OffsetDateTime,
        expired_before: OffsetDateTime,
        abandoned_before: OffsetDateTime,
    ) -> impl Future<Output = Result<IdempotencyClaim>> + Send;

    /// Stores the response of the user's claimed `key`.
    fn complete_idempotency_key(
        &self,
        user: &UserId,
        key: &str,
        response: &StoredResponse,
    ) -> impl Future<Output = Result<()>> + Send;

    /// The transaction in which the request that claimed `key` at
    /// `claimed_at` runs, and which records its response
    /// ([`IdempotentWrite::commit`]): its writes and that record commit
    /// together or not at all.
    fn idempotent_write(
        &self,
        user: &UserId,
        key: &str,
        claimed_at: OffsetDateTime,
    ) -> IdempotentWrite;

    /// Forgets the user's claimed `key` (the request failed in a way a
    /// retry should repeat); a completed key is left alone.
    fn release_idempotency_key(
        &self,
        user: &UserId,
        key: &str,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Deletes keys created before `before`; returns how many.
    fn prune_idempotency_keys(
        &self,
        before: OffsetDateTime,
    ) -> impl Future<Output = Result<u64>> + Send;
}

/// Everything a tasker service needs from storage.
pub trait Store:
    TodoStore
    + CategoryStore
    + CommentStore
    + AttachmentStore
    + NotificationStore
    + UserStore
    + JobRunStore
    + MaintenanceStore
    + StatsStore
    + IdempotencyStore
    + Clone
    + Send
    + Sync
    + 'static
{
}

impl<S> Store for S where
    S: TodoStore
        + CategoryStore
        + CommentStore
        + AttachmentStore
        + NotificationStore
        + UserStore
        + JobRunStore
        + MaintenanceStore
        + StatsStore
        + IdempotencyStore
        + Clone
        + Send
        + Sync
        + 'static
{
}
