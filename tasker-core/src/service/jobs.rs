//! [`JobService`]: the batch work background jobs do, paged so a run covers every row.

use std::future::Future;

use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::{
    Result,
    clock::SharedClock,
    domain::{UserId, timestamp},
    model::{Todo, WeeklyStats},
    store::{JobStore, TodoCursor, TodoNotificationKind},
};

/// Queries and ledger writes for reminders, overdue notices, weekly reports
/// and auto-archiving.
///
/// The `for_each_*` methods hand the matching rows to a callback one batch at
/// a time and keep going until no row is left, so a run never stops after the
/// first batch.
#[derive(Debug, Clone)]
pub struct JobService<S> {
    store: S,
    clock: SharedClock,
}

impl<S: JobStore> JobService<S> {
    /// A service over `store`.
    pub fn new(store: S, clock: SharedClock) -> Self {
        Self { store, clock }
    }

    /// The current instant, from the service's clock.
    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// Open todos due within `window` from now that have not been reminded
    /// for their current due date, in batches of `batch` (ordered by user).
    ///
    /// # Errors
    /// The first error of the store or of `f`; batches before it were handled.
    pub async fn for_each_due_soon<F, Fut>(&self, window: Duration, batch: u32, f: F) -> Result<u64>
    where
        F: FnMut(Vec<Todo>) -> Fut,
        Fut: Future<Output = Result<()>>,
    {
        let now = self.clock.now();
        self.for_each_unnotified(
            TodoNotificationKind::DueReminder,
            now,
            now + window,
            batch,
            f,
        )
        .await
    }

    /// Open todos already past their due date that have had no overdue notice
    /// for that due date, in batches of `batch` (ordered by user).
    ///
    /// # Errors
    /// As [`for_each_due_soon`](Self::for_each_due_soon).
    pub async fn for_each_overdue<F, Fut>(&self, batch: u32, f: F) -> Result<u64>
    where
        F: FnMut(Vec<Todo>) -> Fut,
        Fut: Future<Output = Result<()>>,
    {
        let now = self.clock.now();
        // Due dates are never before `EARLIEST`, and `(from, to]` excludes `from`.
        let from = timestamp::EARLIEST - Duration::microseconds(1);
        let to = now - Duration::microseconds(1);
        self.for_each_unnotified(TodoNotificationKind::Overdue, from, to, batch, f)
            .await
    }

    async fn for_each_unnotified<F, Fut>(
        &self,
        kind: TodoNotificationKind,
        from: OffsetDateTime,
        to: OffsetDateTime,
        batch: u32,
        mut f: F,
    ) -> Result<u64>
    where
        F: FnMut(Vec<Todo>) -> Fut,
        Fut: Future<Output = Result<()>>,
    {
        let batch = batch.max(1);
        let mut cursor: Option<TodoCursor> = None;
        let mut seen = 0;
        loop {
            let todos = self
                .store
                .todos_due_unnotified(kind, from, to, cursor.as_ref(), batch)
                .await?;
            let len = todos.len();
            seen += len as u64;
            cursor = todos.last().map(TodoCursor::from);
            if len > 0 {
                f(todos).await?;
            }
            if len < batch as usize {
                return Ok(seen);
            }
        }
    }

    /// Records that `kind` went out for these todos at their current due dates.
    /// Returns those not recorded before: mail only these.
    ///
    /// # Errors
    /// [`Error::Storage`](crate::Error::Storage); nothing is recorded then.
    pub async fn record_todo_notifications(
        &self,
        kind: TodoNotificationKind,
        todos: &[Todo],
    ) -> Result<Vec<Uuid>> {
        let keys: Vec<(Uuid, OffsetDateTime)> = todos
            .iter()
            .filter_map(|t| t.due_date.map(|due| (t.id, due)))
            .collect();
        self.store
            .record_todo_notifications(kind, &keys, self.clock.now())
            .await
    }

    /// Records the weekly report of `user` for the ISO week containing `week_start`;
    /// `false` when it was already recorded.
    ///
    /// # Errors
    /// [`Error::Storage`](crate::Error::Storage).
    pub async fn record_weekly_report(
        &self,
        user: &UserId,
        week_start: OffsetDateTime,
    ) -> Result<bool> {
        let (year, week, _) = week_start.to_iso_week_date();
        let period = format!("{year}-W{week:02}");
        self.store
            .record_user_notification(user, "weekly_report", &period, self.clock.now())
            .await
    }

    /// Every user who owns a todo, in batches of `batch`.
    ///
    /// # Errors
    /// The first error of the store or of `f`.
    pub async fn for_each_user<F, Fut>(&self, batch: u32, mut f: F) -> Result<u64>
    where
        F: FnMut(Vec<UserId>) -> Fut,
        Fut: Future<Output = Result<()>>,
    {
        let batch = batch.max(1);
        let mut after: Option<UserId> = None;
        let mut seen = 0;
        loop {
            let users = self.store.users_with_todos(after.as_ref(), batch).await?;
            let len = users.len();
            seen += len as u64;
            after = users.last().cloned();
            if len > 0 {
                f(users).await?;
            }
            if len < batch as usize {
                return Ok(seen);
            }
        }
    }

    /// The user's statistics for the 7 days starting at `week_start`, listing
    /// up to `list_limit` completed and overdue todos.
    ///
    /// # Errors
    /// [`Error::Storage`](crate::Error::Storage).
    pub async fn weekly_stats(
        &self,
        user: &UserId,
        week_start: OffsetDateTime,
        list_limit: u32,
    ) -> Result<WeeklyStats> {
        let week_end = week_start + Duration::days(7);
        self.store
            .weekly_stats(user, week_start, week_end, self.clock.now(), list_limit)
            .await
    }

    /// Archives every todo completed more than `older_than` ago, `batch` rows
    /// per statement, until none is left. Returns how many were archived.
    ///
    /// # Errors
    /// [`Error::Storage`](crate::Error::Storage); batches before it stay archived.
    pub async fn archive_completed(&self, older_than: Duration, batch: u32) -> Result<u64> {
        let batch = batch.max(1);
        let now = self.clock.now();
        let before = now - older_than;
        let mut total = 0;
        loop {
            let archived = self
                .store
                .archive_completed_batch(before, now, batch)
                .await?;
            total += archived;
            if archived < u64::from(batch) {
                return Ok(total);
            }
        }
    }
}
