//! `tasker-server`: the tasker REST API on salvo, the job worker, cron and a
//! small CLI. `cargo run -p tasker-server` serves on 127.0.0.1:8080 with
//! everything under `./data`; see the README and `docs/configuration.md`.

/// mimalloc instead of the system allocator: glibc's arenas contend under
/// load on few cores (see docs/performance.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod app;
mod board;
mod commands;
mod config;
mod go_keys;
mod import;
mod limits;
mod listener;
mod secret;
mod serve;
mod storage;
mod telemetry;
mod web;

use std::{path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};

use crate::config::Config;

/// The tasker server.
#[derive(Debug, Parser)]
#[command(name = "tasker-server", version, about, long_about = None)]
struct Cli {
    /// Configuration file (default: ./tasker.toml when it exists).
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API, and run the job worker and cron scheduler (default).
    Serve(serve::Roles),
    /// Run the job worker (and the cron scheduler) without the API.
    Worker {
        /// Leave cron to another process.
        #[arg(long)]
        no_scheduler: bool,
        /// Serve /healthz, /readyz and /metrics on this address (e.g.
        /// 127.0.0.1:9090) for probes and scraping.
        #[arg(long, value_name = "ADDR")]
        listen: Option<std::net::SocketAddr>,
    },
    /// List the cron jobs or run one now.
    Cron {
        #[command(subcommand)]
        command: CronCommand,
    },
    /// Apply the database migrations and exit.
    Migrate,
    /// Copy another system's data into the configured database.
    Import {
        #[command(subcommand)]
        command: ImportCommand,
    },
    /// Print an HS256 token signed with the configured secret.
    Token {
        /// The user id (`sub`).
        #[arg(long)]
        user: String,
        /// The `email` claim (used for reminder e-mails).
        #[arg(long)]
        email: Option<String>,
        /// The `name` claim.
        #[arg(long)]
        name: Option<String>,
        /// The `role` claim (`admin` opens /admin).
        #[arg(long)]
        role: Option<String>,
        /// Lifetime: 30m, 12h, 7d or seconds.
        #[arg(long, default_value = "24h")]
        ttl: String,
    },
    /// E-mail tools.
    Mail {
        #[command(subcommand)]
        command: MailCommand,
    },
}

#[derive(Debug, Subcommand)]
enum CronCommand {
    /// The cron jobs and their schedules.
    List,
    /// Run a job now and wait until it and the jobs it enqueued are done.
    Run {
        /// due-date-reminders, overdue-notices, weekly-reports, auto-archive or orphan-sweep.
        job: String,
        /// Only enqueue it for the running workers.
        #[arg(long)]
        enqueue_only: bool,
        /// Give up waiting after this many seconds.
        #[arg(long, default_value_t = 300)]
        timeout: u64,
    },
}

#[derive(Debug, Subcommand)]
enum ImportCommand {
    /// From the Go service's PostgreSQL database: every user's categories,
    /// todos, comments and attachment records, with their ids (one
    /// transaction per user; a second run changes nothing).
    Go {
        /// The Go database, e.g. postgres://user:password@host:5432/tasker.
        #[arg(long, value_name = "URL")]
        from: String,
    },
}

#[derive(Debug, Subcommand)]
enum MailCommand {
    /// Render the e-mails (or one) with sample data to files.
    Preview {
        /// welcome, due_reminder, overdue_notice or weekly_report.
        template: Option<String>,
        /// Where to write (default: `<mail.preview_dir>/samples`).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    // S3, OTLP and rediss:// use rustls; ring is the crypto provider (a second install
    // attempt is harmless).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref()) {
        Ok(config) => config,
        Err(errors) => {
            eprint!("tasker: {errors}");
            return ExitCode::from(2);
        }
    };
    let command = cli
        .command
        .unwrap_or(Command::Serve(serve::Roles::default()));
    match command {
        Command::Cron {
            command: CronCommand::List,
        } => commands::cron_list(&config),
        Command::Token {
            user,
            email,
            name,
            role,
            ttl,
        } => commands::token(&config, &user, email, name, role, &ttl),
        Command::Mail {
            command: MailCommand::Preview { template, out },
        } => commands::mail_preview(&config, template.as_deref(), out),
        command => run_async(config, command),
    }
}

/// Commands that need logging and a runtime.
fn run_async(mut config: Config, command: Command) -> ExitCode {
    // One-shot commands print their result; their log stays at warnings
    // unless a level was chosen.
    if matches!(
        command,
        Command::Migrate | Command::Cron { .. } | Command::Import { .. }
    ) && config.log.level == config::LogConfig::default().level
    {
        config.log.level = "warn".to_owned();
    }
    let telemetry = match telemetry::init(&config) {
        Ok(telemetry) => telemetry,
        Err(e) => {
            eprintln!("tasker: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("tasker: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match command {
            Command::Serve(roles) => serve::serve(config, roles).await,
            Command::Worker {
                no_scheduler,
                listen,
            } => serve::worker(config, !no_scheduler, listen).await,
            Command::Migrate => commands::migrate(config).await,
            Command::Import {
                command: ImportCommand::Go { from },
            } => import::import_go(config, &from).await,
            Command::Cron {
                command:
                    CronCommand::Run {
                        job,
                        enqueue_only,
                        timeout,
                    },
            } => commands::cron_run(config, &job, enqueue_only, timeout).await,
            Command::Cron { .. } | Command::Token { .. } | Command::Mail { .. } => Ok(()),
        }
    });
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    telemetry.shutdown();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tasker: {e}");
            ExitCode::FAILURE
        }
    }
}
