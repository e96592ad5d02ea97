//! [`JobContext`]: what the jobs need, and what each job does.

use std::{fmt, sync::Arc};

use tasker_core::{
    blob::BlobStore,
    domain::{TodoPriority, UserId},
    model::{NotificationKind, Todo, UserSettings},
    service::JobService,
    store::{IdempotencyStore, JobStore, TodoNotificationKind},
    unsubscribe::UnsubscribeLinks,
};
use tasker_mail::{
    DueReminder, DynMailer, Email, OverdueNotice, Recipient, Templates, TodoLine, WeeklyReport,
    Welcome,
};
use time::{Duration, OffsetDateTime, Weekday};

use crate::{
    config::JobsConfig,
    directory::UserDirectory,
    error::{JobError, QueueError},
    job::{Digest, DigestTodo, Job},
    local_week::{LocalWeek, WEEKLY_REPORT, period_of, report_key},
    queue::{JobQueue, PushOptions},
};

/// The storage the jobs need: tasker-core's job queries and the idempotency
/// keys auto-archive prunes. Every store that has both is one (tasker-core's
/// `AnyStore`, or a host's own).
pub trait JobStorage: JobStore + IdempotencyStore + Clone + Send + Sync + 'static {}

impl<S: JobStore + IdempotencyStore + Clone + Send + Sync + 'static> JobStorage for S {}

/// Everything a job needs: storage, e-mail, the user directory, files, the
/// queue (to fan out digests) and the configuration.
#[derive(Clone)]
pub struct JobContext<S> {
    pub(crate) jobs: JobService<S>,
    pub(crate) mailer: Arc<dyn DynMailer>,
    pub(crate) templates: Arc<Templates>,
    pub(crate) directory: Arc<dyn UserDirectory>,
    pub(crate) blobs: Option<BlobStore>,
    pub(crate) queue: JobQueue,
    pub(crate) config: JobsConfig,
    pub(crate) unsubscribe: Option<UnsubscribeLinks>,
}

impl<S> fmt::Debug for JobContext<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobContext")
            .field("queue", &self.queue)
            .field("directory", &self.directory)
            .field("blobs", &self.blobs)
            .finish_non_exhaustive()
    }
}

impl<S: JobStorage> JobContext<S> {
    /// A context; attachments are not swept unless [`with_blobs`](Self::with_blobs) is set.
    pub fn new(
        jobs: JobService<S>,
        mailer: Arc<dyn DynMailer>,
        templates: Arc<Templates>,
        directory: Arc<dyn UserDirectory>,
        queue: JobQueue,
    ) -> Self {
        let config = queue.config().clone();
        Self {
            jobs,
            mailer,
            templates,
            directory,
            blobs: None,
            queue,
            config,
            unsubscribe: None,
        }
    }

    /// Recurring e-mails (reminders, notices, reports) get `List-Unsubscribe`
    /// and `List-Unsubscribe-Post` (RFC 8058) with a link from `links`,
    /// which the API answers at `/api/v1/unsubscribe/{token}`.
    #[must_use]
    pub fn with_unsubscribe_links(mut self, links: UnsubscribeLinks) -> Self {
        self.unsubscribe = Some(links);
        self
    }

    /// The file store whose orphans [`Job::SweepOrphanBlobs`] removes.
    #[must_use]
    pub fn with_blobs(mut self, blobs: BlobStore) -> Self {
        self.blobs = Some(blobs);
        self
    }

    /// The queue jobs fan out to.
    pub fn queue(&self) -> &JobQueue {
        &self.queue
    }

    /// The job service (storage side of the jobs).
    pub fn jobs(&self) -> &JobService<S> {
        &self.jobs
    }

    /// Runs one attempt of `job`.
    ///
    /// # Errors
    /// A [`JobError`] saying whether a retry may help.
    pub async fn run(&self, job: &Job) -> Result<(), JobError> {
        match job {
            Job::Welcome { user_id } => self.welcome(&user(user_id)?).await,
            Job::DueReminderScan => self.scan(TodoNotificationKind::DueReminder).await,
            Job::OverdueScan => self.scan(TodoNotificationKind::Overdue).await,
            Job::DueReminderDigest(digest) => {
                self.digest(TodoNotificationKind::DueReminder, digest).await
            }
            Job::OverdueDigest(digest) => self.digest(TodoNotificationKind::Overdue, digest).await,
            Job::WeeklyReportScan { .. } => self.weekly_scan().await,
            Job::WeeklyReport {
                user_id,
                week_start,
                week_end,
            } => {
                self.weekly_report(&user(user_id)?, *week_start, *week_end)
                    .await
            }
            Job::AutoArchive => self.auto_archive().await,
            Job::SweepOrphanBlobs => self.sweep_orphans().await,
            Job::Noop => Ok(()),
        }
    }

    async fn welcome(&self, user: &UserId) -> Result<(), JobError> {
        const KIND: &str = "welcome";
        if !self
            .jobs
            .claim_user_notification(user, KIND, "once")
            .await?
        {
            return Ok(());
        }
        let Some((recipient, _)) = self.recipient(user).await? else {
            tracing::info!(
                user = user.as_str(),
                "no e-mail address known; welcome skipped"
            );
            return Ok(());
        };
        let rendered = self.templates.render_welcome(&Welcome {
            recipient: recipient.clone(),
        })?;
        let key = format!("welcome/{}", user.as_str());
        self.send(Email::rendered(recipient.mailbox(), rendered), KIND, &key)
            .await?;
        self.jobs
            .mark_user_notification_delivered(user, KIND, "once")
            .await?;
        Ok(())
    }

    /// Finds the todos to notify and enqueues one digest per user. Rows come
    /// ordered by user, so a user's todos are collected across batches and
    /// the digest goes out when the next user starts (or at the end).
    async fn scan(&self, kind: TodoNotificationKind) -> Result<(), JobError> {
        let settings = self.config.settings;
        let mut scan = match kind {
            TodoNotificationKind::Overdue => self.jobs.overdue(settings.batch_size),
            _ => {
                let window = Duration::hours(i64::from(settings.reminder_window_hours));
                self.jobs.due_soon(window, settings.batch_size)
            }
        };
        let mut pending: Option<Digest> = None;
        while let Some(todos) = scan.next_batch().await? {
            for todo in todos {
                let Some(due_date) = todo.due_date else {
                    continue;
                };
                if let Some(done) = pending.take_if(|d| d.user_id != todo.user_id.as_str()) {
                    enqueue_digest(&self.queue, kind, done).await?;
                }
                pending
                    .get_or_insert_with(|| Digest {
                        user_id: todo.user_id.as_str().to_owned(),
                        todos: Vec::new(),
                    })
                    .todos
                    .push(DigestTodo {
                        id: todo.id,
                        due_date,
                    });
            }
        }
        if let Some(last) = pending {
            enqueue_digest(&self.queue, kind, last).await?;
        }
        tracing::info!(kind = kind.as_str(), todos = scan.seen(), "scan finished");
        Ok(())
    }

    async fn digest(&self, kind: TodoNotificationKind, digest: &Digest) -> Result<(), JobError> {
        let user = user(&digest.user_id)?;
        let claim = digest.claim_key(kind.as_str());
        let pairs: Vec<_> = digest.todos.iter().map(|t| (t.id, t.due_date)).collect();
        let todos = self
            .jobs
            .claim_todo_notifications(kind, &user, &pairs, &claim)
            .await?;
        if todos.is_empty() {
            return Ok(());
        }
        let Some((recipient, settings)) = self.recipient(&user).await? else {
            tracing::info!(
                user = user.as_str(),
                "no e-mail address known; digest skipped"
            );
            self.jobs
                .mark_todo_notifications_delivered(kind, &claim)
                .await?;
            return Ok(());
        };
        let switch = match kind {
            TodoNotificationKind::Overdue => NotificationKind::OverdueNotices,
            _ => NotificationKind::DueReminders,
        };
        if !switch.is_on(&settings) {
            tracing::info!(
                user = user.as_str(),
                kind = kind.as_str(),
                "switched off by the user; digest skipped"
            );
            self.jobs
                .mark_todo_notifications_delivered(kind, &claim)
                .await?;
            return Ok(());
        }
        let limit = self.config.settings.digest_limit as usize;
        let lines: Vec<TodoLine> = todos
            .iter()
            .take(limit)
            .map(|todo| self.line(todo))
            .collect();
        let total = todos.len();
        let rendered = match kind {
            TodoNotificationKind::Overdue => self.templates.render_overdue_notice(&OverdueNotice {
                recipient: recipient.clone(),
                todos: lines,
                total,
            }),
            _ => self.templates.render_due_reminder(&DueReminder {
                recipient: recipient.clone(),
                todos: lines,
                total,
            }),
        }?;
        let email = self.unsubscribable(
            Email::rendered(recipient.mailbox(), rendered),
            &user,
            switch,
        );
        self.send(email, kind.as_str(), &claim).await?;
        self.jobs
            .mark_todo_notifications_delivered(kind, &claim)
            .await?;
        Ok(())
    }

    /// Pushes the weekly report of every user with todos whose local week's
    /// report is due ([`LocalWeek::due_at`], from the clock) and not yet
    /// delivered. The tick's own week is not used: each user's week is
    /// their local one.
    async fn weekly_scan(&self) -> Result<(), JobError> {
        let now = self.jobs.now();
        let mut scan = self.jobs.users(self.config.settings.batch_size);
        while let Some(users) = scan.next_batch().await? {
            for user in users {
                let settings = self.jobs.user_settings(&user).await?;
                let Some(week) = LocalWeek::due_at(now, &settings.time_zone) else {
                    continue;
                };
                if !self
                    .jobs
                    .claim_user_notification(&user, WEEKLY_REPORT, &week.period)
                    .await?
                {
                    continue;
                }
                let key = report_key(user.as_str(), &week.period);
                let job = Job::WeeklyReport {
                    user_id: user.as_str().to_owned(),
                    week_start: week.start,
                    week_end: Some(week.end),
                };
                push_keyed(&self.queue, job, key).await?;
            }
        }
        Ok(())
    }

    async fn weekly_report(
        &self,
        user: &UserId,
        week_start: OffsetDateTime,
        week_end: Option<OffsetDateTime>,
    ) -> Result<(), JobError> {
        const KIND: &str = WEEKLY_REPORT;
        let period = period_of(week_start);
        let week_end = week_end.unwrap_or(week_start + Duration::days(7));
        if !self
            .jobs
            .claim_user_notification(user, KIND, &period)
            .await?
        {
            return Ok(());
        }
        let skip = || {
            self.jobs
                .mark_user_notification_delivered(user, KIND, &period)
        };
        let Some((recipient, settings)) = self.recipient(user).await? else {
            skip().await?;
            return Ok(());
        };
        if !NotificationKind::WeeklyReport.is_on(&settings) {
            tracing::info!(
                user = user.as_str(),
                "switched off by the user; weekly report skipped"
            );
            skip().await?;
            return Ok(());
        }
        let stats = self
            .jobs
            .weekly_stats_between(
                user,
                week_start,
                week_end,
                self.config.settings.digest_limit,
            )
            .await?;
        let empty = stats.created == 0 && stats.completed == 0 && stats.overdue == 0;
        if empty && !settings.notifications.weekly_report_when_empty {
            tracing::info!(
                user = user.as_str(),
                "nothing to report; weekly report skipped"
            );
            skip().await?;
            return Ok(());
        }
        let report = WeeklyReport {
            recipient: recipient.clone(),
            week_start: stats.from,
            week_end: stats.to,
            created: stats.created,
            completed: stats.completed,
            overdue: stats.overdue,
            completed_todos: stats
                .completed_todos
                .iter()
                .map(|todo| self.linked(todo, completed_line(todo)))
                .collect(),
            overdue_todos: stats.overdue_todos.iter().map(|t| self.line(t)).collect(),
        };
        let rendered = self.templates.render_weekly_report(&report)?;
        let key = report_key(user.as_str(), &period);
        let email = Email::rendered(recipient.mailbox(), rendered);
        let email = self.unsubscribable(email, user, NotificationKind::WeeklyReport);
        self.send(email, KIND, &key).await?;
        self.jobs
            .mark_user_notification_delivered(user, KIND, &period)
            .await?;
        Ok(())
    }

    async fn auto_archive(&self) -> Result<(), JobError> {
        let settings = self.config.settings;
        let archived = self
            .jobs
            .archive_completed(
                Duration::days(i64::from(settings.archive_after_days)),
                settings.batch_size,
            )
            .await?;
        let pruned = self
            .jobs
            .prune_job_runs(Duration::days(i64::from(settings.keep_job_records_days)))
            .await?;
        let expired_keys = self.jobs.prune_idempotency_keys().await?;
        tracing::info!(
            archived,
            pruned_job_records = pruned,
            pruned_idempotency_keys = expired_keys,
            "auto-archive finished"
        );
        Ok(())
    }

    async fn sweep_orphans(&self) -> Result<(), JobError> {
        let Some(blobs) = &self.blobs else {
            return Ok(());
        };
        let grace = Duration::minutes(i64::from(self.config.settings.orphan_grace_minutes));
        let keys = blobs.keys_modified_before(self.jobs.now() - grace).await?;
        let mut removed = 0u64;
        for chunk in keys.chunks(500) {
            let used = self.jobs.existing_download_keys(chunk).await?;
            for key in chunk.iter().filter(|k| !used.contains(k)) {
                blobs.delete(key).await?;
                removed += 1;
            }
        }
        tracing::info!(checked = keys.len(), removed, "orphan sweep finished");
        Ok(())
    }

    /// The user's address, with times shown in their zone, and their
    /// settings; `None` when no address is known.
    async fn recipient(
        &self,
        user: &UserId,
    ) -> Result<Option<(Recipient, UserSettings)>, JobError> {
        let Some(recipient) = self.directory.lookup(user).await? else {
            return Ok(None);
        };
        let settings = self.jobs.user_settings(user).await?;
        let recipient = recipient.with_time_zone(settings.time_zone.clone());
        Ok(Some((recipient, settings)))
    }

    /// The e-mail line of a todo due (or overdue), linked to it in the app.
    fn line(&self, todo: &Todo) -> TodoLine {
        self.linked(todo, line(todo))
    }

    /// `line` with the link to `todo` in the app, when its URL is configured.
    fn linked(&self, todo: &Todo, line: TodoLine) -> TodoLine {
        match self.templates.todo_url(todo.id) {
            Some(url) => line.with_url(url),
            None => line,
        }
    }

    /// `email` with the one-click unsubscribe headers for `user` and `kind`,
    /// when unsubscribe links are configured.
    fn unsubscribable(&self, email: Email, user: &UserId, kind: NotificationKind) -> Email {
        match &self.unsubscribe {
            Some(links) => email
                .with_header("List-Unsubscribe", format!("<{}>", links.url(user, kind)))
                .with_header("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
            None => email,
        }
    }

    async fn send(&self, email: Email, kind: &str, key: &str) -> Result<(), JobError> {
        let email = email.with_tag("kind", kind).with_idempotency_key(key);
        let receipt = self.mailer.send_dyn(&email).await?;
        metrics::counter!("tasker_emails_sent_total", "kind" => kind.to_owned()).increment(1);
        tracing::info!(kind, id = %receipt.id, "e-mail sent");
        Ok(())
    }
}

/// The start of the week before the one containing `at` (Monday 00:00 UTC):
/// the week a report sent at `at` covers.
pub fn previous_week_start(at: OffsetDateTime) -> OffsetDateTime {
    let at = at.to_offset(time::UtcOffset::UTC);
    let days_since_monday = i64::from(at.weekday().number_days_from_monday());
    let this_monday = at.date() - Duration::days(days_since_monday);
    debug_assert_eq!(this_monday.weekday(), Weekday::Monday);
    (this_monday - Duration::days(7)).midnight().assume_utc()
}

fn user(id: &str) -> Result<UserId, JobError> {
    UserId::parse(id).map_err(JobError::InvalidUserId)
}

fn line(todo: &Todo) -> TodoLine {
    let due = todo.due_date.unwrap_or(todo.updated_at);
    TodoLine::new(todo.title.clone(), due).with_priority(priority(todo.priority))
}

fn completed_line(todo: &Todo) -> TodoLine {
    let when = todo
        .completed_at
        .or(todo.due_date)
        .unwrap_or(todo.updated_at);
    TodoLine::new(todo.title.clone(), when).with_priority(priority(todo.priority))
}

fn priority(p: TodoPriority) -> tasker_mail::Priority {
    match p {
        TodoPriority::Low => tasker_mail::Priority::Low,
        TodoPriority::High => tasker_mail::Priority::High,
        _ => tasker_mail::Priority::Medium,
    }
}

async fn enqueue_digest(
    queue: &JobQueue,
    kind: TodoNotificationKind,
    digest: Digest,
) -> Result<(), QueueError> {
    let key = digest.claim_key(kind.as_str());
    let job = match kind {
        TodoNotificationKind::Overdue => Job::OverdueDigest(digest),
        _ => Job::DueReminderDigest(digest),
    };
    push_keyed(queue, job, key).await
}

async fn push_keyed(queue: &JobQueue, job: Job, key: String) -> Result<(), QueueError> {
    let options = PushOptions {
        idempotency_key: Some(key),
        ..PushOptions::default()
    };
    queue.push_with(job, options).await
}
