//! The jobs: typed payloads, their priorities and their limits.

use std::{fmt, str::FromStr, time::Duration};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// One unit of background work, as stored in the queue (JSON, tagged by `type`).
///
/// The `*Scan` jobs are what cron enqueues: each finds the users concerned and
/// enqueues one digest job per user, so one user's failing mailbox never holds
/// up the others.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Job {
    /// The welcome e-mail (once per user).
    Welcome {
        /// The new user.
        user_id: String,
    },
    /// Finds open todos due within the reminder window that have had no
    /// reminder for their due date, and enqueues one digest per user.
    DueReminderScan,
    /// One user's due-soon digest.
    DueReminderDigest(Digest),
    /// Finds open todos past their due date with no overdue notice for it,
    /// and enqueues one digest per user.
    OverdueScan,
    /// One user's overdue digest.
    OverdueDigest(Digest),
    /// Enqueues the weekly report of every user with todos whose local
    /// week's report is due and not yet sent ([`crate::LocalWeek`]).
    WeeklyReportScan {
        /// The UTC week before the tick (Monday 00:00 UTC), kept in the
        /// payload for scans queued by earlier versions; the scan itself
        /// works out each user's local week from the clock.
        #[serde(with = "time::serde::rfc3339")]
        week_start: OffsetDateTime,
    },
    /// One user's weekly report (once per user and ISO week of their local week).
    WeeklyReport {
        /// The user.
        user_id: String,
        /// Start of the reported week.
        #[serde(with = "time::serde::rfc3339")]
        week_start: OffsetDateTime,
        /// Its end, when the week is the user's local one (a DST change makes
        /// it 7 days ± 1 hour); `None`: 7 days after the start.
        #[serde(default, with = "time::serde::rfc3339::option")]
        week_end: Option<OffsetDateTime>,
    },
    /// Archives todos completed more than the configured number of days ago,
    /// batch after batch until none is left.
    AutoArchive,
    /// Deletes stored files no attachment refers to (older than an hour).
    SweepOrphanBlobs,
    /// Does nothing: for measuring the queue itself.
    Noop,
}

/// The todos of one user's digest: ids and the due dates they were found with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Digest {
    /// The owner.
    pub user_id: String,
    /// `(todo, due date)` pairs.
    pub todos: Vec<DigestTodo>,
}

/// A todo in a [`Digest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestTodo {
    /// The todo.
    pub id: Uuid,
    /// Its due date when it was found.
    #[serde(with = "time::serde::rfc3339")]
    pub due_date: OffsetDateTime,
}

impl Digest {
    /// The claim key of this digest: the same todos and due dates always give
    /// the same key, so a retried or re-enqueued digest finds its own claim
    /// and the mailer gets the same idempotency key.
    pub fn claim_key(&self, kind: &str) -> String {
        use std::hash::{Hash, Hasher};
        let mut todos: Vec<_> = self
            .todos
            .iter()
            .map(|t| (t.id, t.due_date.unix_timestamp_nanos()))
            .collect();
        todos.sort_unstable();
        // FNV-1a: stable across processes and versions (unlike `DefaultHasher`).
        let mut hasher = Fnv(0xcbf2_9ce4_8422_2325);
        for (id, due) in &todos {
            id.as_bytes().hash(&mut hasher);
            due.hash(&mut hasher);
        }
        format!("{kind}/{}/{:016x}", self.user_id, hasher.finish())
    }
}

struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 ^= u64::from(*byte);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

impl Job {
    /// The job type's name, as in logs, metrics and job records.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Welcome { .. } => "welcome",
            Self::DueReminderScan => "due_reminder_scan",
            Self::DueReminderDigest(_) => "due_reminder_digest",
            Self::OverdueScan => "overdue_scan",
            Self::OverdueDigest(_) => "overdue_digest",
            Self::WeeklyReportScan { .. } => "weekly_report_scan",
            Self::WeeklyReport { .. } => "weekly_report",
            Self::AutoArchive => "auto_archive",
            Self::SweepOrphanBlobs => "sweep_orphan_blobs",
            Self::Noop => "noop",
        }
    }

    /// The queue a job of this type goes to unless the caller says otherwise.
    ///
    /// E-mail a user is waiting for is critical; digests are default;
    /// scans and housekeeping are low.
    pub fn default_priority(&self) -> Priority {
        match self {
            Self::Welcome { .. } => Priority::Critical,
            Self::DueReminderDigest(_)
            | Self::OverdueDigest(_)
            | Self::WeeklyReport { .. }
            | Self::Noop => Priority::Default,
            Self::DueReminderScan
            | Self::OverdueScan
            | Self::WeeklyReportScan { .. }
            | Self::AutoArchive
            | Self::SweepOrphanBlobs => Priority::Low,
        }
    }

    /// The user the job is about, when it is about one.
    pub fn user_id(&self) -> Option<&str> {
        match self {
            Self::Welcome { user_id } | Self::WeeklyReport { user_id, .. } => Some(user_id),
            Self::DueReminderDigest(d) | Self::OverdueDigest(d) => Some(&d.user_id),
            _ => None,
        }
    }

    /// How long one attempt may run, from the limits.
    pub fn timeout(&self, limits: &crate::JobLimits) -> Duration {
        match self {
            Self::WeeklyReport { .. } | Self::WeeklyReportScan { .. } => limits.long_timeout,
            _ => limits.timeout,
        }
    }
}

/// The three queues. Workers share capacity between them (6:3:1 by default),
/// so a flood of low-priority jobs never delays critical ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    /// User-facing e-mail (welcome).
    Critical,
    /// Digests and reports.
    Default,
    /// Scans and housekeeping.
    Low,
}

impl Priority {
    /// All priorities, highest first.
    pub const ALL: [Self; 3] = [Self::Critical, Self::Default, Self::Low];

    /// The name (`critical`, `default`, `low`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Critical => "critical",
            Self::Default => "default",
            Self::Low => "low",
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Priority {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "critical" => Ok(Self::Critical),
            "default" => Ok(Self::Default),
            "low" => Ok(Self::Low),
            other => Err(format!(
                "unknown priority `{other}` (expected critical, default or low)"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_digest_key_ignores_order_and_changes_with_due_dates() {
        let a = DigestTodo {
            id: Uuid::from_u128(1),
            due_date: datetime!(2026-11-25 10:00 UTC),
        };
        let b = DigestTodo {
            id: Uuid::from_u128(2),
            due_date: datetime!(2026-11-25 11:00 UTC),
        };
        let digest = |todos: Vec<DigestTodo>| Digest {
            user_id: "u1".into(),
            todos,
        };
        let key = digest(vec![a.clone(), b.clone()]).claim_key("due_reminder");
        assert_eq!(
            key,
            digest(vec![b.clone(), a.clone()]).claim_key("due_reminder")
        );
        assert!(key.starts_with("due_reminder/u1/"), "{key}");
        let moved = DigestTodo {
            due_date: datetime!(2026-11-26 10:00 UTC),
            ..a
        };
        assert_ne!(key, digest(vec![moved, b]).claim_key("due_reminder"));
    }

    #[test]
    fn jobs_round_trip_as_tagged_json() {
        let job = Job::WeeklyReport {
            user_id: "u1".into(),
            week_start: datetime!(2026-11-22 15:00 UTC),
            week_end: Some(datetime!(2026-11-29 15:00 UTC)),
        };
        let json = serde_json::to_value(&job).unwrap();
        assert_eq!(json["type"], "weekly_report");
        assert_eq!(json["week_start"], "2026-11-22T15:00:00Z");
        assert_eq!(serde_json::from_value::<Job>(json).unwrap(), job);
        // A job queued before local weeks has no end: seven days.
        let old: Job = serde_json::from_str(
            r#"{"type":"weekly_report","user_id":"u1","week_start":"2026-11-23T00:00:00Z"}"#,
        )
        .unwrap();
        assert!(matches!(old, Job::WeeklyReport { week_end: None, .. }));
        assert_eq!(
            serde_json::from_str::<Job>(r#"{"type":"noop"}"#).unwrap(),
            Job::Noop
        );
    }
}
