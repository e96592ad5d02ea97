//! Background-job bookkeeping: known users and job runs.

use serde::Serialize;
use time::OffsetDateTime;

use crate::domain::UserId;

/// A user the API or the jobs have seen, with the contact details their token
/// carried (when it carried any).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KnownUser {
    /// The user id (`sub` of the token).
    pub user_id: UserId,
    /// E-mail address, when known.
    pub email: Option<String>,
    /// Display name, when known.
    pub name: Option<String>,
    /// First time the user was seen.
    #[serde(with = "time::serde::rfc3339")]
    pub first_seen_at: OffsetDateTime,
}

/// Where a job run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobRunStatus {
    /// An attempt is running.
    Running,
    /// An attempt failed; another one is due.
    Retrying,
    /// Finished successfully.
    Done,
    /// Failed for good (attempts exhausted or a permanent error).
    Failed,
}

impl JobRunStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Retrying => "retrying",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "running" => Self::Running,
            "retrying" => Self::Retrying,
            "done" => Self::Done,
            "failed" => Self::Failed,
            _ => return None,
        })
    }
}

/// One job as the worker last recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobRun {
    /// The queue's id for the job.
    pub job_id: String,
    /// The queue it came from (`critical`, `default`, `low`).
    pub queue: String,
    /// The job type (`due_reminder_digest`, …).
    pub kind: String,
    /// Where it stands.
    pub status: JobRunStatus,
    /// Attempts made so far.
    pub attempts: u32,
    /// The error of the last failed attempt.
    pub last_error: Option<String>,
    /// When the first attempt started.
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// When it finished (done or failed).
    #[serde(with = "time::serde::rfc3339::option")]
    pub finished_at: Option<OffsetDateTime>,
}

/// Job runs of one queue, counted by status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobRunCounts {
    /// The queue.
    pub queue: String,
    /// Runs with an attempt in progress.
    pub running: u64,
    /// Runs waiting for their next attempt.
    pub retrying: u64,
    /// Finished runs.
    pub done: u64,
    /// Failed runs.
    pub failed: u64,
    /// Runs that needed more than one attempt (whatever their status).
    pub retried: u64,
}
