//! Configuration: queue capacity, retries, limits, cron schedules and job settings.

use std::{fmt, str::FromStr, time::Duration};

use serde::Deserialize;

use crate::job::Priority;

/// Everything the job system reads from configuration. Every field has a
/// default, so `JobsConfig::default()` is a working setup.
///
/// Deserialises from the `jobs` section of the server's configuration
/// (`TASKER_JOBS__…` variables).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JobsConfig {
    /// Name prefix of the queues (`tasker` gives `tasker:critical`, …).
    pub queue_prefix: String,
    /// Worker slots per queue.
    pub capacity: Capacity,
    /// How often an idle worker looks for new jobs, in milliseconds (default
    /// 50): the wait of a job pushed onto an idle queue.
    pub poll_interval_ms: u64,
    /// Worker heartbeat, in seconds: a worker silent for twice this long is
    /// presumed dead and its jobs go back to the queue.
    pub heartbeat_seconds: u64,
    /// Retries and backoff.
    pub retry: RetryConfig,
    /// Time limit of one attempt, in seconds.
    pub timeout_seconds: u64,
    /// Time limit of one attempt of a weekly report, in seconds.
    pub weekly_report_timeout_seconds: u64,
    /// On stop, how long in-flight jobs may take to finish, in seconds; the
    /// rest go back to the queue.
    pub shutdown_grace_seconds: u64,
    /// Cron schedules.
    pub cron: CronConfig,
    /// What the jobs do.
    pub settings: JobSettings,
}

impl Default for JobsConfig {
    fn default() -> Self {
        Self {
            queue_prefix: "tasker".into(),
            capacity: Capacity::default(),
            poll_interval_ms: 50,
            heartbeat_seconds: 5,
            retry: RetryConfig::default(),
            timeout_seconds: 30,
            weekly_report_timeout_seconds: 60,
            shutdown_grace_seconds: 30,
            cron: CronConfig::default(),
            settings: JobSettings::default(),
        }
    }
}

/// Worker slots per queue: how many jobs of each priority run at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Capacity {
    /// Slots of the `critical` queue (default 6).
    pub critical: usize,
    /// Slots of the `default` queue (default 3).
    pub default: usize,
    /// Slots of the `low` queue (default 1).
    pub low: usize,
}

impl Default for Capacity {
    fn default() -> Self {
        Self {
            critical: 6,
            default: 3,
            low: 1,
        }
    }
}

impl Capacity {
    /// The slots of one queue.
    pub fn of(&self, priority: Priority) -> usize {
        match priority {
            Priority::Critical => self.critical,
            Priority::Default => self.default,
            Priority::Low => self.low,
        }
    }
}

/// Retries: exponential backoff with jitter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryConfig {
    /// Retries after the first attempt (default 3: four attempts in all).
    pub max_retries: u32,
    /// Delay before the first retry, in milliseconds (doubled each time).
    pub base_delay_ms: u64,
    /// Longest delay between attempts, in milliseconds.
    pub max_delay_ms: u64,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_retries: 3,
            base_delay_ms: 1_000,
            max_delay_ms: 60_000,
        }
    }
}

impl RetryConfig {
    /// The delay before retry number `retry` (1-based): `base × 2^(retry-1)`,
    /// capped, then scaled by a random factor in `[0.5, 1.0)` ("equal jitter"),
    /// so workers that failed together do not retry together.
    pub fn backoff(&self, retry: u32) -> Duration {
        let exp = self
            .base_delay_ms
            .saturating_mul(1u64 << retry.saturating_sub(1).min(30))
            .min(self.max_delay_ms);
        let mut bytes = [0u8; 8];
        let unit = match getrandom::fill(&mut bytes) {
            Ok(()) => (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64,
            Err(_) => 0.5,
        };
        Duration::from_millis(exp / 2 + (exp as f64 / 2.0 * unit) as u64)
    }
}

/// Cron schedules (six fields, with seconds: `sec min hour day month weekday`,
/// in UTC). An empty string disables the job.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CronConfig {
    /// Whether this process schedules anything at all.
    pub enabled: bool,
    /// Due-date reminders (default every 15 minutes).
    pub due_reminders: String,
    /// Overdue notices (default daily at 09:00).
    pub overdue_notices: String,
    /// Weekly reports (default every hour: each user's report goes out from
    /// Monday 09:00 in their time zone, see [`crate::LocalWeek`]).
    pub weekly_reports: String,
    /// Auto-archive (default daily at 02:00).
    pub auto_archive: String,
    /// Orphaned file sweep (default daily at 03:30).
    pub orphan_sweep: String,
}

impl Default for CronConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            due_reminders: "0 */15 * * * *".into(),
            overdue_notices: "0 0 9 * * *".into(),
            weekly_reports: "0 0 * * * *".into(),
            auto_archive: "0 0 2 * * *".into(),
            orphan_sweep: "0 30 3 * * *".into(),
        }
    }
}

/// What the jobs do: the Go service's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JobSettings {
    /// Completed todos older than this many days are archived (default 30).
    pub archive_after_days: u32,
    /// Rows per batch for scans and archiving (default 100; every batch runs).
    pub batch_size: u32,
    /// Todos due within this many hours get a reminder (default 24).
    pub reminder_window_hours: u32,
    /// Todos listed per digest e-mail (default 10; the e-mail says how many more).
    pub digest_limit: u32,
    /// Stored files younger than this many minutes are never swept (an upload
    /// writes its file before its row).
    pub orphan_grace_minutes: u32,
    /// Records of finished jobs are kept this many days.
    pub keep_job_records_days: u32,
}

impl Default for JobSettings {
    fn default() -> Self {
        Self {
            archive_after_days: 30,
            batch_size: 100,
            reminder_window_hours: 24,
            digest_limit: 10,
            orphan_grace_minutes: 60,
            keep_job_records_days: 7,
        }
    }
}

/// Per-attempt time limits, from [`JobsConfig`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobLimits {
    /// Limit of one attempt.
    pub timeout: Duration,
    /// Limit of one attempt of a weekly report.
    pub long_timeout: Duration,
}

/// A configuration value that cannot work, named by its key.
#[derive(Debug)]
pub struct ConfigError {
    /// The key, under `jobs.` (`cron.due_reminders`).
    pub key: &'static str,
    /// What is wrong.
    pub problem: ConfigProblem,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "jobs.{}: {}", self.key, self.problem)
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.problem.source()
    }
}

/// What is wrong with a [`ConfigError`]'s value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigProblem {
    /// The value breaks a rule (`must be at least 1`).
    #[error("{0}")]
    Invalid(&'static str),
    /// A schedule is not a six-field cron expression.
    #[error("`{expr}` is not a cron expression (sec min hour day month weekday)")]
    NotCron {
        /// The expression as configured.
        expr: String,
        /// The cron parser's error.
        #[source]
        source: cron::error::Error,
    },
}

impl JobsConfig {
    /// Checks every value; the first problem names its key.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let err = |key, rule| {
            Err(ConfigError {
                key,
                problem: ConfigProblem::Invalid(rule),
            })
        };
        if self.queue_prefix.trim().is_empty() {
            return err("queue_prefix", "must not be empty");
        }
        if self.capacity.critical == 0 || self.capacity.default == 0 || self.capacity.low == 0 {
            return err("capacity", "every queue needs at least one slot");
        }
        if self.timeout_seconds == 0 || self.weekly_report_timeout_seconds == 0 {
            return err("timeout_seconds", "must be at least 1");
        }
        if self.heartbeat_seconds == 0 {
            return err("heartbeat_seconds", "must be at least 1");
        }
        if self.retry.base_delay_ms > self.retry.max_delay_ms {
            return err("retry.base_delay_ms", "must not exceed retry.max_delay_ms");
        }
        if self.settings.batch_size == 0 {
            return err("settings.batch_size", "must be at least 1");
        }
        if self.settings.digest_limit == 0 {
            return err("settings.digest_limit", "must be at least 1");
        }
        for (key, schedule) in self.cron.schedules() {
            if let Some(expr) = schedule {
                cron_schedule(expr).map_err(|problem| ConfigError { key, problem })?;
            }
        }
        Ok(())
    }

    /// The time limits of one attempt.
    pub fn limits(&self) -> JobLimits {
        JobLimits {
            timeout: Duration::from_secs(self.timeout_seconds),
            long_timeout: Duration::from_secs(self.weekly_report_timeout_seconds),
        }
    }
}

impl CronConfig {
    /// `(key, schedule)` of every cron job; `None` when disabled.
    pub(crate) fn schedules(&self) -> [(&'static str, Option<&str>); 5] {
        fn on(s: &str) -> Option<&str> {
            Some(s.trim()).filter(|s| !s.is_empty())
        }
        [
            ("cron.due_reminders", on(&self.due_reminders)),
            ("cron.overdue_notices", on(&self.overdue_notices)),
            ("cron.weekly_reports", on(&self.weekly_reports)),
            ("cron.auto_archive", on(&self.auto_archive)),
            ("cron.orphan_sweep", on(&self.orphan_sweep)),
        ]
    }
}

/// Parses a six-field cron expression.
pub(crate) fn cron_schedule(expr: &str) -> Result<cron::Schedule, ConfigProblem> {
    cron::Schedule::from_str(expr).map_err(|source| ConfigProblem::NotCron {
        expr: expr.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_match_the_go_service() {
        let config = JobsConfig::default();
        config.validate().unwrap();
        assert_eq!(config.settings.archive_after_days, 30);
        assert_eq!(config.settings.batch_size, 100);
        assert_eq!(config.settings.reminder_window_hours, 24);
        assert_eq!(config.settings.digest_limit, 10);
        assert_eq!(
            (
                config.capacity.critical,
                config.capacity.default,
                config.capacity.low
            ),
            (6, 3, 1)
        );
    }

    #[test]
    fn a_bad_schedule_names_its_key() {
        let mut config = JobsConfig::default();
        config.cron.weekly_reports = "every monday".into();
        let error = config.validate().unwrap_err();
        assert_eq!(error.key, "cron.weekly_reports");
        assert!(
            error
                .to_string()
                .starts_with("jobs.cron.weekly_reports: `every monday`")
        );
        config.cron.weekly_reports = String::new();
        config.validate().unwrap();
    }

    #[test]
    fn unknown_keys_are_refused() {
        let error = serde_json::from_str::<JobsConfig>(r#"{"capacty": {}}"#).unwrap_err();
        assert!(error.to_string().contains("capacty"), "{error}");
        let config: JobsConfig =
            serde_json::from_str(r#"{"capacity": {"low": 2}, "retry": {"max_retries": 5}}"#)
                .unwrap();
        assert_eq!(config.capacity.low, 2);
        assert_eq!(config.capacity.critical, 6);
        assert_eq!(config.retry.max_retries, 5);
    }

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let retry = RetryConfig {
            max_retries: 3,
            base_delay_ms: 100,
            max_delay_ms: 1_000,
        };
        for _ in 0..50 {
            let first = retry.backoff(1).as_millis();
            assert!((50..100).contains(&first), "{first}");
            let third = retry.backoff(3).as_millis();
            assert!((200..400).contains(&third), "{third}");
            let capped = retry.backoff(20).as_millis();
            assert!((500..1_000).contains(&capped), "{capped}");
        }
        let spread: std::collections::HashSet<_> = (0..20).map(|_| retry.backoff(2)).collect();
        assert!(spread.len() > 1, "jitter varies the delay");
    }
}
