//! [`JobRunStore`] for [`AnyStore`]: records of job runs.

use time::OffsetDateTime;

use super::{
    JobRunStore,
    any::{AnyStore, count, decode_all},
    sql::Arg,
};
use crate::{
    Error, Result,
    model::{JobRun, JobRunCounts},
};

impl JobRunStore for AnyStore {
    async fn record_job_run(&self, run: &JobRun) -> Result<()> {
        const OP: &str = "record a job run";
        let mut sql = self.sql(
            "INSERT INTO job_runs (job_id, queue, kind, status, attempts, last_error, started_at, \
             finished_at) VALUES (",
        );
        sql.bind(Arg::Text(run.job_id.clone())).push(", ");
        sql.bind(Arg::Text(run.queue.clone())).push(", ");
        sql.bind(Arg::Text(run.kind.clone())).push(", ");
        sql.bind(Arg::Text(run.status.as_str().to_owned()))
            .push(", ");
        sql.bind(Arg::I64(i64::from(run.attempts))).push(", ");
        sql.bind(Arg::OptText(run.last_error.clone())).push(", ");
        sql.bind(Arg::Time(run.started_at)).push(", ");
        sql.bind(Arg::OptTime(run.finished_at));
        sql.push(
            ") ON CONFLICT (job_id) DO UPDATE SET status = excluded.status, \
             attempts = excluded.attempts, \
             last_error = COALESCE(excluded.last_error, job_runs.last_error), \
             finished_at = excluded.finished_at",
        );
        self.execute(sql, OP).await?;
        Ok(())
    }

    async fn job_run_counts(&self) -> Result<Vec<JobRunCounts>> {
        const OP: &str = "count job runs";
        let sql = self.sql(
            "SELECT queue, \
             COUNT(*) FILTER (WHERE status = 'running') AS running, \
             COUNT(*) FILTER (WHERE status = 'retrying') AS retrying, \
             COUNT(*) FILTER (WHERE status = 'done') AS done, \
             COUNT(*) FILTER (WHERE status = 'failed') AS failed, \
             COUNT(*) FILTER (WHERE attempts > 1) AS retried \
             FROM job_runs GROUP BY queue ORDER BY queue",
        );
        let rows = self.fetch_all(sql, OP).await?;
        rows.iter()
            .map(|r| {
                Ok(JobRunCounts {
                    queue: r.text("queue").map_err(|e| Error::storage(OP, e))?,
                    running: count(OP, r, "running")?,
                    retrying: count(OP, r, "retrying")?,
                    done: count(OP, r, "done")?,
                    failed: count(OP, r, "failed")?,
                    retried: count(OP, r, "retried")?,
                })
            })
            .collect()
    }

    async fn failed_job_runs(&self, limit: u32) -> Result<Vec<JobRun>> {
        const OP: &str = "list failed job runs";
        let mut sql = self.sql(
            "SELECT job_id, queue, kind, status, attempts, last_error, started_at, finished_at \
             FROM job_runs WHERE status = 'failed' ORDER BY finished_at DESC, job_id LIMIT ",
        );
        sql.bind(Arg::I64(i64::from(limit)));
        let rows = self.fetch_all(sql, OP).await?;
        decode_all(OP, &rows, |r| {
            let status = r.text("status")?;
            Ok(JobRun {
                job_id: r.text("job_id")?,
                queue: r.text("queue")?,
                kind: r.text("kind")?,
                status: crate::model::JobRunStatus::parse(&status).ok_or_else(|| {
                    sqlx::Error::Decode(format!("job run status {status}").into())
                })?,
                attempts: u32::try_from(r.i64("attempts")?).unwrap_or(0),
                last_error: r.opt_text("last_error")?,
                started_at: r.time("started_at")?,
                finished_at: r.opt_time("finished_at")?,
            })
        })
    }

    async fn prune_job_runs(&self, before: OffsetDateTime) -> Result<u64> {
        const OP: &str = "prune job runs";
        let mut sql =
            self.sql("DELETE FROM job_runs WHERE status IN ('done', 'failed') AND finished_at < ");
        sql.bind(Arg::Time(before));
        self.execute(sql, OP).await
    }
}
