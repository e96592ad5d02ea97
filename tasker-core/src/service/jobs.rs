//! [`JobService`]: the batch work background jobs do, paged so a run covers every row.

use std::sync::Arc;

use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::{
    Result,
    clock::SharedClock,
    domain::{UserId, timestamp},
    model::{JobRun, JobRunCounts, KnownUser, SettingsDefaults, Todo, UserSettings, WeeklyStats},
    store::{JobStore, TodoCursor, TodoNotificationKind},
};

/// Queries and ledger writes for reminders, overdue notices, weekly reports
/// and auto-archiving.
///
/// The scans ([`due_soon`](Self::due_soon), [`overdue`](Self::overdue),
/// [`users`](Self::users)) return the matching rows one batch at a time
/// until no row is left, so a run never stops after the first batch.
#[derive(Debug, Clone)]
pub struct JobService<S> {
    store: S,
    clock: SharedClock,
    defaults: Arc<SettingsDefaults>,
}

impl<S: JobStore> JobService<S> {
    /// A service over `store`.
    pub fn new(store: S, clock: SharedClock) -> Self {
        Self {
            store,
            clock,
            defaults: Arc::new(SettingsDefaults::default()),
        }
    }

    /// The same service with `defaults` for the settings users did not choose.
    #[must_use]
    pub fn with_settings_defaults(mut self, defaults: Arc<SettingsDefaults>) -> Self {
        self.defaults = defaults;
        self
    }

    /// The user's settings in effect (time zone, which e-mails).
    ///
    /// # Errors
    /// [`crate::Error::Storage`].
    pub async fn user_settings(&self, user: &UserId) -> Result<UserSettings> {
        let stored = self.store.user_settings(user).await?;
        Ok(stored.resolve(user.clone(), &self.defaults))
    }

    /// The current instant, from the service's clock.
    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// Open todos due within `window` from now that have not been reminded
    /// for their current due date, in batches of `batch` (ordered by user).
    /// The window is fixed when the scan starts.
    pub fn due_soon(&self, window: Duration, batch: u32) -> TodoScan<'_, S> {
        let now = self.clock.now();
        TodoScan::new(
            &self.store,
            TodoNotificationKind::DueReminder,
            (now, now + window),
            batch,
        )
    }

    /// Open todos already past their due date that have had no overdue notice
    /// for that due date, in batches of `batch` (ordered by user).
    pub fn overdue(&self, batch: u32) -> TodoScan<'_, S> {
        let now = self.clock.now();
        // Due dates are never before `EARLIEST`, and `(from, to]` excludes `from`.
        let from = timestamp::EARLIEST - Duration::microseconds(1);
        let to = now - Duration::microseconds(1);
        TodoScan::new(
            &self.store,
            TodoNotificationKind::Overdue,
            (from, to),
            batch,
        )
    }

    /// Every user who owns a todo, in batches of `batch` (ordered by id).
    pub fn users(&self, batch: u32) -> UserScan<'_, S> {
        UserScan {
            store: &self.store,
            after: None,
            paging: Paging::new(batch),
        }
    }

    /// Claims `kind` for `todos` (all the user's) under `claim` and returns
    /// the user's open todos that `claim` holds undelivered, by due date: the
    /// ones to mail. A retry with the same `claim` gets the same todos until
    /// [`mark_todo_notifications_delivered`](Self::mark_todo_notifications_delivered);
    /// a todo claimed by another claim is never returned.
    ///
    /// # Errors
    /// [`Error::Storage`](crate::Error::Storage); nothing is claimed then.
    pub async fn claim_todo_notifications(
        &self,
        kind: TodoNotificationKind,
        user: &UserId,
        todos: &[(Uuid, OffsetDateTime)],
        claim: &str,
    ) -> Result<Vec<Todo>> {
        self.store
            .claim_todo_notifications(kind, user, todos, claim, self.clock.now())
            .await
    }

    /// Marks what `claim` holds as delivered; returns how many ledger rows changed.
    ///
    /// # Errors
    /// [`Error::Storage`](crate::Error::Storage).
    pub async fn mark_todo_notifications_delivered(
        &self,
        kind: TodoNotificationKind,
        claim: &str,
    ) -> Result<u64> {
        self.store
            .mark_todo_notifications_delivered(kind, claim, self.clock.now())
            .await
    }

    /// The ledger period of the ISO week containing `week_start` (`2026-W48`).
    pub fn week_period(week_start: OffsetDateTime) -> String {
        let (year, week, _) = week_start.to_iso_week_date();
        format!("{year}-W{week:02}")
    }

    /// Claims a per-user notification for `period`: `true` while it has not
    /// been delivered (mail it), `false` once it was.
    ///
    /// # Errors
    /// [`Error::Storage`](crate::Error::Storage).
    pub async fn claim_user_notification(
        &self,
        user: &UserId,
        kind: &str,
        period: &str,
    ) -> Result<bool> {
        self.store
            .claim_user_notification(user, kind, period, self.clock.now())
            .await
    }

    /// Marks a per-user notification delivered.
    ///
    /// # Errors
    /// [`Error::Storage`](crate::Error::Storage).
    pub async fn mark_user_notification_delivered(
        &self,
        user: &UserId,
        kind: &str,
        period: &str,
    ) -> Result<()> {
        self.store
            .mark_user_notification_delivered(user, kind, period, self.clock.now())
            .await
    }

    /// Forgets a recorded user: the next [`remember_user`](Self::remember_user)
    /// is the first again.
    ///
    /// # Errors
    /// [`Error::Storage`](crate::Error::Storage).
    pub async fn forget_user(&self, user: &UserId) -> Result<()> {
        self.store.forget_user(user).await
    }

    /// Records that `user` was seen (with the e-mail and name their token
    /// carried, when it did); `true` the first time.
    ///
    /// # Errors
    /// [`Error::Storage`](crate::Error::Storage).
    pub async fn remember_user(
        &self,
        user: &UserId,
        email: Option<&str>,
        name: Option<&str>,
    ) -> Result<bool> {
        let email = email
            .map(str::trim)
            .filter(|e| !e.is_empty() && e.len() <= 320);
        let name = name
            .map(str::trim)
            .filter(|n| !n.is_empty() && n.len() <= 255);
        self.store
            .remember_user(user, email, name, self.clock.now())
            .await
    }

    /// A user recorded by [`remember_user`](Self::remember_user).
    ///
    /// # Errors
    /// [`Error::Storage`](crate::Error::Storage).
    pub async fn known_user(&self, user: &UserId) -> Result<Option<KnownUser>> {
        self.store.known_user(user).await
    }

    /// Inserts or replaces the record of a job run.
    ///
    /// # Errors
    /// [`Error::Storage`](crate::Error::Storage).
    pub async fn record_job_run(&self, run: &JobRun) -> Result<()> {
        self.store.record_job_run(run).await
    }

    /// Job runs counted by queue and status.
    ///
    /// # Errors
    /// [`Error::Storage`](crate::Error::Storage).
    pub async fn job_run_counts(&self) -> Result<Vec<JobRunCounts>> {
        self.store.job_run_counts().await
    }

    /// The latest failed job runs with their last error, newest first.
    ///
    /// # Errors
    /// [`Error::Storage`](crate::Error::Storage).
    pub async fn failed_job_runs(&self, limit: u32) -> Result<Vec<JobRun>> {
        self.store.failed_job_runs(limit).await
    }

    /// Deletes records of job runs that finished more than `older_than` ago.
    ///
    /// # Errors
    /// [`Error::Storage`](crate::Error::Storage).
    pub async fn prune_job_runs(&self, older_than: Duration) -> Result<u64> {
        self.store
            .prune_job_runs(self.clock.now() - older_than)
            .await
    }

    /// Deletes the responses kept for `Idempotency-Key` retries once they
    /// are older than [`IDEMPOTENCY_TTL`](crate::store::IDEMPOTENCY_TTL).
    ///
    /// # Errors
    /// [`Error::Storage`](crate::Error::Storage).
    pub async fn prune_idempotency_keys(&self) -> Result<u64>
    where
        S: crate::store::IdempotencyStore,
    {
        self.store
            .prune_idempotency_keys(self.clock.now() - crate::store::IDEMPOTENCY_TTL)
            .await
    }

    /// The keys among `keys` that an attachment still refers to.
    ///
    /// # Errors
    /// [`Error::Storage`](crate::Error::Storage).
    pub async fn existing_download_keys(&self, keys: &[String]) -> Result<Vec<String>> {
        self.store.existing_download_keys(keys).await
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
        self.weekly_stats_between(user, week_start, week_start + Duration::days(7), list_limit)
            .await
    }

    /// [`weekly_stats`](Self::weekly_stats) of the week `[week_start,
    /// week_end)`, for a local week that a DST change makes an hour shorter
    /// or longer than seven days.
    ///
    /// # Errors
    /// [`Error::Storage`](crate::Error::Storage).
    pub async fn weekly_stats_between(
        &self,
        user: &UserId,
        week_start: OffsetDateTime,
        week_end: OffsetDateTime,
        list_limit: u32,
    ) -> Result<WeeklyStats> {
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

/// A scan of the todos a notification is due for ([`JobService::due_soon`],
/// [`JobService::overdue`]): [`next_batch`](Self::next_batch) until `None`.
#[derive(Debug)]
pub struct TodoScan<'a, S> {
    store: &'a S,
    kind: TodoNotificationKind,
    /// Due dates in `(from, to]`.
    range: (OffsetDateTime, OffsetDateTime),
    cursor: Option<TodoCursor>,
    paging: Paging,
}

impl<'a, S: JobStore> TodoScan<'a, S> {
    fn new(
        store: &'a S,
        kind: TodoNotificationKind,
        range: (OffsetDateTime, OffsetDateTime),
        batch: u32,
    ) -> Self {
        Self {
            store,
            kind,
            range,
            cursor: None,
            paging: Paging::new(batch),
        }
    }

    /// The next batch (ordered by user, then due date), `None` once every
    /// matching todo was returned.
    ///
    /// # Errors
    /// [`Error::Storage`](crate::Error::Storage); the scan can be tried again
    /// from the same batch.
    pub async fn next_batch(&mut self) -> Result<Option<Vec<Todo>>> {
        if self.paging.done {
            return Ok(None);
        }
        let (from, to) = self.range;
        let todos = self
            .store
            .todos_due_unnotified(self.kind, from, to, self.cursor.as_ref(), self.paging.batch)
            .await?;
        if let Some(last) = todos.last() {
            self.cursor = Some(TodoCursor::from(last));
        }
        Ok(self.paging.take(todos))
    }

    /// How many todos the batches so far held.
    pub fn seen(&self) -> u64 {
        self.paging.seen
    }
}

/// A scan of the users who own a todo ([`JobService::users`]):
/// [`next_batch`](Self::next_batch) until `None`.
#[derive(Debug)]
pub struct UserScan<'a, S> {
    store: &'a S,
    after: Option<UserId>,
    paging: Paging,
}

impl<S: JobStore> UserScan<'_, S> {
    /// The next batch (ordered by id), `None` once every user was returned.
    ///
    /// # Errors
    /// [`Error::Storage`](crate::Error::Storage); the scan can be tried again
    /// from the same batch.
    pub async fn next_batch(&mut self) -> Result<Option<Vec<UserId>>> {
        if self.paging.done {
            return Ok(None);
        }
        let users = self
            .store
            .users_with_todos(self.after.as_ref(), self.paging.batch)
            .await?;
        if let Some(last) = users.last() {
            self.after = Some(last.clone());
        }
        Ok(self.paging.take(users))
    }

    /// How many users the batches so far held.
    pub fn seen(&self) -> u64 {
        self.paging.seen
    }
}

/// Where a scan is: a batch shorter than asked for is the last one.
#[derive(Debug)]
struct Paging {
    batch: u32,
    done: bool,
    seen: u64,
}

impl Paging {
    fn new(batch: u32) -> Self {
        Self {
            batch: batch.max(1),
            done: false,
            seen: 0,
        }
    }

    /// Counts `rows` and ends the scan after a short batch; an empty batch is `None`.
    fn take<T>(&mut self, rows: Vec<T>) -> Option<Vec<T>> {
        self.seen += rows.len() as u64;
        self.done = rows.len() < self.batch as usize;
        Some(rows).filter(|rows| !rows.is_empty())
    }
}
