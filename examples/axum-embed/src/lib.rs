//! An "existing" axum application that embeds tasker.
//!
//! The application has its own routes (`GET /`, `GET /me`) and its own
//! authentication: `Authorization: Bearer <api-key>`, checked against a fixed
//! map of API keys to user ids ([`ApiKeys`]) by a small middleware that puts a
//! [`CurrentUser`] into the request extensions. It then
//!
//! - mounts the tasker REST API ([`TaskerApi`]) under `/tasks` with
//!   [`Router::nest_service`], built **without** tasker's JWT layer: a bridge
//!   middleware turns the application's [`CurrentUser`] into the
//!   [`AuthUser`] tasker reads from the request extensions, so tasker trusts
//!   the application's identity and never sees a token;
//! - runs the tasker job [`Worker`] and cron [`Scheduler`] on the
//!   application's own tokio runtime, and stops them after the HTTP server on
//!   shutdown.
//!
//! [`app`] is the router alone; [`build`] opens the store and the queue;
//! [`start`] does everything and returns a [`Running`] handle.

use std::{collections::HashMap, fmt, net::SocketAddr, path::PathBuf, sync::Arc};

use axum::{
    Extension, Json, Router,
    extract::{ConnectInfo, Request, State},
    http::{HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::json;
use tasker_core::{
    blob::BlobStore,
    clock::SystemClock,
    domain::UserId,
    service::Services,
    store::{AnyStore, StoreOptions},
};
use tasker_http::{AuthUser, ClientAddr, HttpSettings, TaskerApi, users::RememberUsersLayer};
use tasker_jobs::{
    CancellationToken, JobContext, JobQueue, JobsConfig, KnownUsers, Scheduler, Worker,
};
use tasker_mail::{AnyMailer, MailConfig, Templates};
use tokio::{net::TcpListener, task::JoinHandle};
use tower::Layer;

/// Any error while configuring, starting or stopping the application.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// The API keys used when `APP_API_KEYS` is not set. For trying the example
/// only: never run with these anywhere reachable.
pub const DEMO_API_KEYS: &str = "key1=alice,key2=bob";

/// The body of the application's own `401` answer.
pub const UNAUTHORIZED_MESSAGE: &str = "missing or unknown API key";

/// The application's API keys: a fixed map of key → user id.
///
/// Parsed from `key1=alice,key2=bob`. Its `Debug` output lists the users,
/// never the keys.
#[derive(Clone)]
pub struct ApiKeys {
    users: Arc<HashMap<String, String>>,
}

impl fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut users: Vec<&str> = self.users.values().map(String::as_str).collect();
        users.sort_unstable();
        f.debug_struct("ApiKeys").field("users", &users).finish()
    }
}

impl ApiKeys {
    /// Parses `key=user` pairs separated by commas (`key1=alice,key2=bob`).
    ///
    /// # Errors
    /// A message when a pair has no `=`, an empty key or user, or a key
    /// appears twice, or when there is no pair at all.
    pub fn parse(spec: &str) -> Result<Self, Error> {
        let mut users = HashMap::new();
        for pair in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((key, user)) = pair.split_once('=') else {
                return Err(format!("API key entry `{pair}` is not `key=user`").into());
            };
            let (key, user) = (key.trim(), user.trim());
            if key.is_empty() || user.is_empty() {
                return Err(format!("API key entry `{pair}` has an empty key or user").into());
            }
            if users.insert(key.to_owned(), user.to_owned()).is_some() {
                return Err(format!("API key for `{user}` is listed twice").into());
            }
        }
        if users.is_empty() {
            return Err("no API keys configured".into());
        }
        Ok(Self {
            users: Arc::new(users),
        })
    }

    /// The user an API key belongs to.
    pub fn user(&self, key: &str) -> Option<&str> {
        self.users.get(key).map(String::as_str)
    }
}

/// The application's own notion of the caller, inserted by its
/// authentication middleware. It knows nothing about tasker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentUser {
    /// The user id the API key maps to.
    pub id: String,
}

/// Everything the application is configured with.
#[derive(Debug, Clone)]
pub struct Config {
    /// The tasker database (`DATABASE_URL`, default
    /// `sqlite://./data/axum-embed.db`; `postgres://…` works too).
    pub database_url: String,
    /// The job queue in Redis (`REDIS_URL`); a SQLite file in `data_dir`
    /// when unset.
    pub redis_url: Option<String>,
    /// Where attachments (`attachments/`), the SQLite job queue
    /// (`axum-embed-jobs.db`) and previewed e-mails (`mail-preview/`) live
    /// (`APP_DATA_DIR`, default `./data`).
    pub data_dir: PathBuf,
    /// The accepted API keys (`APP_API_KEYS`, default [`DEMO_API_KEYS`]).
    pub api_keys: ApiKeys,
    /// The address clients reach the application at, used for attachment
    /// download links (`APP_PUBLIC_URL`, default `http://<bound address>`).
    pub public_url: Option<String>,
    /// The job system: queues, retries, cron.
    pub jobs: JobsConfig,
    /// E-mail: by default written as files to `data_dir/mail-preview`.
    pub mail: MailConfig,
}

impl Config {
    /// The defaults with `DATABASE_URL`, `REDIS_URL`, `APP_DATA_DIR`,
    /// `APP_API_KEYS` and `APP_PUBLIC_URL` applied when set.
    ///
    /// # Errors
    /// When `APP_API_KEYS` does not parse (see [`ApiKeys::parse`]).
    pub fn from_env() -> Result<Self, Error> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let data_dir = var("APP_DATA_DIR").unwrap_or_else(|| "./data".to_owned());
        let database_url = var("DATABASE_URL").unwrap_or_else(|| {
            format!("sqlite://{}/axum-embed.db", data_dir.trim_end_matches('/'))
        });
        let keys = var("APP_API_KEYS");
        if keys.is_none() {
            tracing::warn!("APP_API_KEYS is not set: using the demo keys {DEMO_API_KEYS}");
        }
        let mut config = Self::with_data_dir(
            &database_url,
            data_dir,
            keys.as_deref().unwrap_or(DEMO_API_KEYS),
        )?;
        config.redis_url = var("REDIS_URL");
        config.public_url = var("APP_PUBLIC_URL");
        Ok(config)
    }

    /// A configuration with everything under `data_dir`, the database at
    /// `database_url` and the API keys of `api_keys` (see [`ApiKeys::parse`]).
    ///
    /// # Errors
    /// When `api_keys` does not parse.
    pub fn with_data_dir(
        database_url: &str,
        data_dir: impl Into<PathBuf>,
        api_keys: &str,
    ) -> Result<Self, Error> {
        let data_dir = data_dir.into();
        let mut mail = MailConfig::default();
        mail.preview_dir = data_dir.join("mail-preview");
        Ok(Self {
            database_url: database_url.to_owned(),
            redis_url: None,
            api_keys: ApiKeys::parse(api_keys)?,
            public_url: None,
            jobs: JobsConfig::default(),
            mail,
            data_dir,
        })
    }
}

/// The application's router: its own routes, its own auth, and tasker under
/// `/tasks`.
///
/// - `GET /`: public hello.
/// - `GET /me`: the caller, as the application sees it.
/// - `/tasks/…`: the tasker API (`/tasks/api/v1/todos`, …), for callers
///   with a valid API key only.
///
/// `api` must be built without an auth layer (`TaskerApi::builder(..).build()`):
/// the identity comes from the application.
pub fn app(api: TaskerApi, users: RememberUsersLayer<AnyStore>, keys: ApiKeys) -> Router {
    // The bridge runs in front of tasker only: CurrentUser → AuthUser, then
    // the user is remembered.
    let tasker = middleware::from_fn(tasker_identity).layer(users.layer(api));
    Router::new()
        .route("/me", get(me))
        .nest_service("/tasks", tasker)
        // Everything above needs an API key; unmatched paths stay 404.
        .route_layer(middleware::from_fn_with_state(keys, require_api_key))
        .route("/", get(hello))
}

/// `GET /`.
async fn hello() -> &'static str {
    "hello from the host application; tasker lives under /tasks\n"
}

/// `GET /me`.
async fn me(Extension(user): Extension<CurrentUser>) -> Json<serde_json::Value> {
    Json(json!({ "userId": user.id }))
}

/// The application's authentication: `Authorization: Bearer <api-key>`, else
/// `401` from the application itself.
async fn require_api_key(
    State(keys): State<ApiKeys>,
    mut request: Request,
    next: Next,
) -> Response {
    let user = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .and_then(|key| keys.user(key.trim()))
        .map(|id| CurrentUser { id: id.to_owned() });
    match user {
        Some(user) => {
            request.extensions_mut().insert(user);
            next.run(request).await
        }
        None => {
            let mut response = (
                StatusCode::UNAUTHORIZED,
                Json(json!({ "error": UNAUTHORIZED_MESSAGE })),
            )
                .into_response();
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            response
        }
    }
}

/// The bridge in front of tasker: the application's [`CurrentUser`] becomes
/// tasker's [`AuthUser`], and the peer address tasker's [`ClientAddr`] (for
/// its per-IP rate limits).
async fn tasker_identity(mut request: Request, next: Next) -> Response {
    if let Some(ConnectInfo(peer)) = request.extensions().get::<ConnectInfo<SocketAddr>>() {
        let peer = ClientAddr(*peer);
        request.extensions_mut().insert(peer);
    }
    if let Some(user) = request.extensions().get::<CurrentUser>() {
        match UserId::parse(&user.id) {
            Ok(user_id) => {
                request.extensions_mut().insert(AuthUser::new(user_id));
            }
            Err(error) => {
                let body = json!({ "error": format!("this account cannot use tasks: {error}") });
                return (StatusCode::FORBIDDEN, Json(body)).into_response();
            }
        }
    }
    // Without a CurrentUser, tasker answers 401 itself (it cannot happen
    // behind `require_api_key`).
    next.run(request).await
}

/// The tasker parts the application holds on to.
#[derive(Debug, Clone)]
pub struct Tasker {
    /// The REST API, without an auth layer.
    pub api: TaskerApi,
    /// Records the users the application hands to tasker (for the worker's
    /// user directory) and enqueues their welcome e-mail.
    pub users: RememberUsersLayer<AnyStore>,
    /// What the worker runs with; its queue enqueues jobs.
    pub jobs: JobContext<AnyStore>,
}

/// Opens and migrates the tasker store, the job queue and the mailer, and
/// builds the API. `public_url` is where clients reach the application
/// (download links point to `{public_url}/tasks/api/v1/files/…`).
///
/// # Errors
/// When the database, the blob directory, the queue, the mailer or the
/// templates cannot be set up, or the job configuration is invalid.
pub async fn build(config: &Config, public_url: &str) -> Result<Tasker, Error> {
    config.jobs.validate()?;
    let store = AnyStore::connect(&config.database_url, &StoreOptions::default()).await?;
    store.migrate().await?;
    let blobs = BlobStore::local(config.data_dir.join("attachments"))?;
    let services = Services::new(store, Arc::new(SystemClock), blobs.clone());

    let queue = JobQueue::connect(
        config.redis_url.as_deref(),
        config.data_dir.join("axum-embed-jobs.db"),
        &config.jobs,
    )
    .await?;
    let jobs = JobContext::new(
        services.jobs.clone(),
        Arc::new(AnyMailer::from_config(&config.mail)?),
        Arc::new(Templates::from_config(&config.mail)?),
        Arc::new(KnownUsers::new(services.jobs.clone())),
        queue,
    )
    .with_blobs(blobs);

    let mut settings = HttpSettings::default();
    settings.downloads.public_base_url =
        Some(format!("{}/tasks", public_url.trim_end_matches('/')));
    // No `.auth_layer(..)`: tasker reads the AuthUser our bridge inserts.
    let users = RememberUsersLayer::new(services.jobs.clone(), Arc::new(jobs.queue().clone()));
    let api = TaskerApi::builder(services).settings(settings).build();
    Ok(Tasker { api, users, jobs })
}

/// The running application: the HTTP server, the job worker and the cron
/// scheduler, all on the current tokio runtime.
#[derive(Debug)]
pub struct Running {
    addr: SocketAddr,
    jobs: JobContext<AnyStore>,
    stop_http: CancellationToken,
    stop_jobs: CancellationToken,
    server: JoinHandle<std::io::Result<()>>,
    worker: Worker,
    scheduler: Scheduler,
}

impl Running {
    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The job context (its queue enqueues jobs; see `tasker_jobs::job_stats`).
    pub fn jobs(&self) -> &JobContext<AnyStore> {
        &self.jobs
    }

    /// Stops gracefully: the HTTP server first (requests in flight finish),
    /// then the scheduler and the worker (jobs in flight get their grace
    /// period).
    ///
    /// # Errors
    /// When the server failed or its task panicked.
    pub async fn shutdown(self) -> Result<(), Error> {
        self.stop_http.cancel();
        let served = self.server.await;
        self.stop_jobs.cancel();
        self.scheduler.wait().await;
        self.worker.wait().await;
        self.jobs.queue().close().await;
        served??;
        Ok(())
    }
}

/// Builds everything ([`build`], [`app`]), starts the worker and the
/// scheduler, and serves on `listener` until [`Running::shutdown`].
///
/// # Errors
/// See [`build`]; also when the listener has no local address or a cron
/// schedule is invalid.
pub async fn start(config: Config, listener: TcpListener) -> Result<Running, Error> {
    let addr = listener.local_addr()?;
    let public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    let Tasker { api, users, jobs } = build(&config, &public_url).await?;

    let stop_jobs = CancellationToken::new();
    let worker = Worker::start(jobs.clone(), stop_jobs.clone());
    let scheduler = match Scheduler::start(jobs.queue().clone(), stop_jobs.clone()) {
        Ok(scheduler) => scheduler,
        Err(message) => {
            stop_jobs.cancel();
            worker.wait().await;
            return Err(message.into());
        }
    };

    let router = app(api, users, config.api_keys);
    let stop_http = CancellationToken::new();
    let serve = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(stop_http.clone().cancelled_owned());
    let server = tokio::spawn(async move { serve.await });
    tracing::info!(%addr, "serving; tasker under /tasks");
    Ok(Running {
        addr,
        jobs,
        stop_http,
        stop_jobs,
        server,
        worker,
        scheduler,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_keys_parse_pairs_and_hide_the_keys() {
        let keys = ApiKeys::parse(" key1=alice, key2 = bob ,").expect("valid");
        assert_eq!(keys.user("key1"), Some("alice"));
        assert_eq!(keys.user("key2"), Some("bob"));
        assert_eq!(keys.user("alice"), None);
        let debug = format!("{keys:?}");
        assert!(
            debug.contains("alice") && !debug.contains("key1"),
            "{debug}"
        );
    }

    #[test]
    fn api_keys_reject_malformed_specs() {
        for spec in ["", " , ", "key1", "=alice", "key1=", "k=alice,k=bob"] {
            assert!(ApiKeys::parse(spec).is_err(), "{spec:?} was accepted");
        }
    }
}

/// The Rust snippets of the repository README, compiled as doctests here
/// (this crate has every dependency they use).
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;
