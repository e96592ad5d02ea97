//! The short-lived commands: `cron list|run`, `migrate`, `token`, `mail preview`.

use std::{
    path::PathBuf,
    process::ExitCode,
    str::FromStr,
    time::{Duration, Instant},
};

use tasker_jobs::{CancellationToken, CronJob, JobError, JobStats, Priority, Worker, job_stats};
use tasker_mail::{TemplateKind, Templates, preview};

use crate::{
    app::{self, StartError},
    config::Config,
    secret,
};

/// The cron job called `name`, or a message listing the names.
pub(crate) fn cron_job(name: &str) -> Result<CronJob, String> {
    CronJob::from_str(name).map_err(|_| {
        format!(
            "no cron job {name:?}; known jobs: {}",
            CronJob::ALL.map(CronJob::name).join(", ")
        )
    })
}

/// The e-mail template called `name` (`due_reminder` or `due-reminder`), or
/// a message listing the names.
pub(crate) fn template_kind(name: &str) -> Result<TemplateKind, String> {
    let wanted = name.replace('-', "_");
    TemplateKind::ALL
        .into_iter()
        .find(|kind| kind.as_str() == wanted)
        .ok_or_else(|| {
            let known: Vec<_> = TemplateKind::ALL.iter().map(|k| k.as_str()).collect();
            format!(
                "no e-mail template {name:?}; known templates: {}",
                known.join(", ")
            )
        })
}

/// `cron list`: every job with its schedule.
pub(crate) fn cron_list(config: &Config) -> ExitCode {
    println!(
        "{:<20} SCHEDULE (sec min hour day month weekday, UTC)",
        "JOB"
    );
    for job in CronJob::ALL {
        let schedule = job.schedule(&config.jobs).unwrap_or("disabled");
        match job.go_name() {
            Some(go) => println!("{:<20} {schedule}  (Go name: {go})", job.name()),
            None => println!("{:<20} {schedule}", job.name()),
        }
    }
    ExitCode::SUCCESS
}

/// `cron run <job>`: enqueue it, and unless `enqueue_only`, work the queue
/// here until it and every job it fanned out to are finished.
pub(crate) async fn cron_run(
    config: Config,
    name: &str,
    enqueue_only: bool,
    timeout: u64,
) -> Result<(), StartError> {
    let job = cron_job(name).map_err(StartError::Config)?;
    let migrate = config.database.migrate_on_start;
    let app = app::build(config, migrate).await?;
    let before = stats(&app.context).await?;
    job.run_now(&app.queue, time::OffsetDateTime::now_utc())
        .await
        .map_err(|e| StartError::dependency("job queue", JobError::from(e).chain()))?;
    if enqueue_only {
        println!("{}: enqueued", job.name());
        app.close().await;
        return Ok(());
    }
    let stop = CancellationToken::new();
    let worker = Worker::start(app.context.clone(), stop.clone());
    let started = Instant::now();
    let limit = Duration::from_secs(timeout);
    let mut idle_polls = 0;
    let outcome = loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = stats(&app.context).await?;
        // Job records can be pruned (auto-archive) while this runs.
        let done = finished(&now, |q| q.done).saturating_sub(finished(&before, |q| q.done));
        let failed = finished(&now, |q| q.failed).saturating_sub(finished(&before, |q| q.failed));
        let mut busy: u64 = now
            .queues
            .iter()
            .map(|q| q.pending + q.running + q.retrying)
            .sum();
        // Jobs a worker took but has not recorded yet.
        for priority in [Priority::Critical, Priority::Default, Priority::Low] {
            if let Ok(backlog) = app.queue.backlog(priority).await {
                busy += backlog.running;
            }
        }
        // Idle twice in a row after something finished: the job and what it
        // fanned out to are done.
        idle_polls = if busy == 0 && done + failed > 0 {
            idle_polls + 1
        } else {
            0
        };
        if idle_polls >= 2 {
            break Ok((done, failed));
        }
        if started.elapsed() > limit {
            break Err(StartError::dependency(
                "cron run",
                format!(
                    "{} still has {busy} job(s) unfinished after {timeout} s",
                    job.name()
                ),
            ));
        }
    };
    stop.cancel();
    worker.wait().await;
    app.close().await;
    let (done, failed) = outcome?;
    println!(
        "{}: {done} job(s) done, {failed} failed ({:.1} s)",
        job.name(),
        started.elapsed().as_secs_f64()
    );
    if failed > 0 {
        return Err(StartError::dependency(
            "cron run",
            "some jobs failed; see the log and /admin/jobs",
        ));
    }
    Ok(())
}

async fn stats(
    context: &tasker_jobs::JobContext<tasker_core::store::AnyStore>,
) -> Result<JobStats, StartError> {
    job_stats(context, 0)
        .await
        .map_err(|e| StartError::dependency("job queue", e.chain()))
}

fn finished(stats: &JobStats, field: impl Fn(&tasker_jobs::QueueStats) -> u64) -> u64 {
    stats.queues.iter().map(field).sum()
}

/// `migrate`: apply migrations and exit.
pub(crate) async fn migrate(config: Config) -> Result<(), StartError> {
    let store = app::connect_store(&config).await?;
    let pending = store
        .pending_migrations()
        .await
        .map_err(|e| StartError::dependency("database", e))?;
    app::apply_migrations(&config, &store).await?;
    println!(
        "{}: {pending} migration(s) applied; the schema is current",
        store.backend()
    );
    store.close().await;
    Ok(())
}

/// `token`: an HS256 token for the configured (or development) secret.
pub(crate) fn token(
    config: &Config,
    user: &str,
    email: Option<String>,
    name: Option<String>,
    role: Option<String>,
    ttl: &str,
) -> ExitCode {
    let result = (|| {
        let ttl = secret::parse_ttl(ttl)?;
        tasker_core::domain::UserId::parse(user).map_err(|e| format!("--user: {e}"))?;
        let secret = match &config.auth.jwt_secret {
            Some(secret) => secret.expose().to_owned(),
            None if config.auth.jwks_url.is_some() => {
                return Err(
                    "auth.jwks_url is set and auth.jwt_secret is not: tokens come from \
                            your identity provider"
                        .to_owned(),
                );
            }
            None => {
                secret::development_secret(&config.server.data_dir).map_err(|e| e.to_string())?
            }
        };
        secret::mint(
            &secret,
            &secret::TokenRequest {
                user,
                email: email.as_deref(),
                name: name.as_deref(),
                role: role.as_deref(),
                ttl,
                issuer: config.auth.issuer.as_deref(),
                audience: config.auth.audience.first().map(String::as_str),
            },
        )
    })();
    match result {
        Ok(token) => {
            println!("{token}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("tasker: {e}");
            ExitCode::from(2)
        }
    }
}

/// `mail preview [template]`: sample e-mails as files.
pub(crate) fn mail_preview(
    config: &Config,
    template: Option<&str>,
    out: Option<PathBuf>,
) -> ExitCode {
    let result = (|| {
        let templates = Templates::from_config(&config.mail).map_err(|e| e.to_string())?;
        let dir = out.unwrap_or_else(|| config.mail.preview_dir.join("samples"));
        let kinds: Vec<TemplateKind> = match template {
            None => TemplateKind::ALL.to_vec(),
            Some(name) => vec![template_kind(name)?],
        };
        for kind in kinds {
            let files = preview::write_sample(&templates, kind, &dir).map_err(|e| e.to_string())?;
            println!("{:<15} {}", files.kind.as_str(), files.html.display());
            println!("{:<15} {}", "", files.text.display());
            println!("{:<15} {}", "", files.eml.display());
        }
        Ok::<_, String>(())
    })();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tasker: {e}");
            ExitCode::FAILURE
        }
    }
}
