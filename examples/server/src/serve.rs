//! `serve` and `worker`: the long-running roles, and their graceful stop.

use std::net::SocketAddr;

use salvo::conn::tcp::TcpAcceptor;
use tasker_jobs::{CancellationToken, JobError, Scheduler, Worker};

use crate::{
    app::{self, App, StartError},
    config::Config,
    limits::Limits,
    listener::ClosingAcceptor,
    telemetry, web,
};

/// Which roles `serve` runs beside the API.
#[derive(Debug, Default, Clone, Copy, clap::Args)]
pub(crate) struct Roles {
    /// Do not run the job worker in this process.
    #[arg(long)]
    no_worker: bool,
    /// Do not run the cron scheduler in this process.
    #[arg(long)]
    no_scheduler: bool,
}

/// The API, plus the worker and scheduler unless turned off, until SIGINT or
/// SIGTERM.
pub(crate) async fn serve(config: Config, roles: Roles) -> Result<(), StartError> {
    let metrics = if config.metrics.enabled {
        Some(telemetry::metrics().map_err(StartError::Config)?)
    } else {
        None
    };
    let addr = SocketAddr::new(config.server.host, config.server.port);
    let migrate = config.database.migrate_on_start;
    let app = app::build(config, migrate).await?;
    let limits = Limits::new(&app.config.server);
    let authenticator = app.authenticator()?;
    let router = web::router(
        &app,
        app.api(authenticator.clone())?,
        authenticator,
        metrics,
        limits.hoop(),
    );

    let (acceptor, local) = bind(addr).await?;

    let stop = CancellationToken::new();
    let background = Background::start(&app, !roles.no_worker, !roles.no_scheduler, &stop)?;
    announce(&app, &format!("http://{local}"), &background);

    let server = limits.server(limits.acceptor(ClosingAcceptor::new(acceptor, stop.clone())));
    let handle = server.handle();
    let grace = app.config.shutdown_grace();
    let signal_stop = stop.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!(
            grace_seconds = grace.as_secs(),
            "stopping: no new connections; finishing requests in flight"
        );
        signal_stop.cancel();
        handle.stop_graceful(Some(grace));
        force_on_second_signal().await;
    });
    server.serve(router).await;
    stop.cancel();
    background.wait().await;
    app.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// The worker (and scheduler) without the API; with `listen`, the probes
/// and `/metrics` on that address.
pub(crate) async fn worker(
    config: Config,
    scheduler: bool,
    listen: Option<SocketAddr>,
) -> Result<(), StartError> {
    let metrics = if config.metrics.enabled {
        Some(telemetry::metrics().map_err(StartError::Config)?)
    } else {
        None
    };
    let migrate = config.database.migrate_on_start;
    let app = app::build(config, migrate).await?;
    let probes = match listen {
        Some(addr) => Some(bind(addr).await?),
        None => None,
    };
    let stop = CancellationToken::new();
    let background = Background::start(&app, true, scheduler, &stop)?;
    // The probes keep answering until the jobs in flight are finished.
    let probes = match probes {
        Some((acceptor, local)) => {
            announce(&app, &format!("probes on http://{local}"), &background);
            let limits = Limits::new(&app.config.server);
            let server = limits.server(limits.acceptor(acceptor));
            let handle = server.handle();
            let serving = tokio::spawn(server.serve(web::probes(&app, metrics, limits.hoop())));
            Some((handle, serving))
        }
        None => {
            announce(&app, "no API", &background);
            None
        }
    };
    shutdown_signal().await;
    tracing::info!("stopping: no new jobs; finishing jobs in flight");
    stop.cancel();
    tokio::spawn(force_on_second_signal());
    background.wait().await;
    if let Some((handle, serving)) = probes {
        handle.stop_graceful(Some(app.config.shutdown_grace()));
        let _ = serving.await;
    }
    app.close().await;
    tracing::info!("stopped");
    Ok(())
}

async fn bind(addr: SocketAddr) -> Result<(TcpAcceptor, SocketAddr), StartError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| StartError::dependency("listen", format!("{addr}: {e}")))?;
    let local = listener.local_addr().unwrap_or(addr);
    let acceptor = TcpAcceptor::try_from(listener)
        .map_err(|e| StartError::dependency("listen", format!("{addr}: {e}")))?;
    Ok((acceptor, local))
}

struct Background {
    worker: Option<Worker>,
    scheduler: Option<Scheduler>,
}

impl Background {
    fn start(
        app: &App,
        worker: bool,
        scheduler: bool,
        stop: &CancellationToken,
    ) -> Result<Self, StartError> {
        let worker = worker.then(|| Worker::start(app.context.clone(), stop.clone()));
        let scheduler = if scheduler {
            Some(
                Scheduler::start(app.queue.clone(), stop.clone()).map_err(|e| {
                    StartError::dependency("cron scheduler", JobError::from(e).chain())
                })?,
            )
        } else {
            None
        };
        Ok(Self { worker, scheduler })
    }

    async fn wait(self) {
        if let Some(worker) = self.worker {
            worker.wait().await;
        }
        if let Some(scheduler) = self.scheduler {
            scheduler.wait().await;
        }
    }
}

fn announce(app: &App, listening: &str, background: &Background) {
    let config = &app.config;
    tracing::info!(
        listening,
        database = app.store.backend(),
        queue = app.queue.backend_name(),
        mail = %config.mail.transport,
        worker = background.worker.is_some(),
        scheduler = background.scheduler.is_some(),
        "tasker is running"
    );
    if config.recipients_unknowable() {
        tracing::warn!(
            mail = %config.mail.transport,
            "e-mail is on, but no recipient address can be known: tokens come from a JWKS \
             issuer, and Clerk's session tokens carry no `email` claim (unless a session token \
             template adds one), while no Clerk secret key is set to look addresses up. \
             Reminders, overdue notices and weekly reports will reach nobody. Set \
             TASKER_CLERK__SECRET_KEY (clerk.secret_key), or add `email` to the session token"
        );
    }
}

/// After the first signal: a second one stops the process at once.
async fn force_on_second_signal() {
    shutdown_signal().await;
    eprintln!("tasker: second signal: stopping now, without waiting for work in flight");
    std::process::exit(130);
}

/// SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
