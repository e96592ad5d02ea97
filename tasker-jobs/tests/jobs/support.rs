//! Test harness: a fresh store and queue per test, a fake Resend (and Clerk)
//! server on a local port, and helpers to wait for outcomes.

use std::{
    collections::{HashMap, VecDeque},
    convert::Infallible,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, StatusCode, body::Incoming, service::service_fn};
use hyper_util::rt::TokioIo;
use tasker_core::{
    clock::ManualClock,
    domain::UserId,
    model::{CreateTodo, NewTodo},
    service::{JobService, Services},
    store::AnyStore,
    testing::TestStore,
};
use tasker_jobs::{JobContext, JobQueue, JobsConfig, KnownUsers};
use tasker_mail::{ResendConfig, ResendMailer, Templates};
use time::{OffsetDateTime, macros::datetime};

/// The fixed "now" of every test.
pub(crate) const T0: OffsetDateTime = datetime!(2026-11-25 12:00 UTC);

/// Which queue backend a case runs on, and with it the store, as deployed:
/// Redis with PostgreSQL, the embedded SQLite queue with SQLite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    Redis,
    Sqlite,
}

/// Runs an async case once per queue backend.
macro_rules! both {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn redis() {
                    super::$name(crate::support::Backend::Redis).await;
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name(crate::support::Backend::Sqlite).await;
                }
            }
        )*
    };
}
pub(crate) use both;

/// One e-mail as the fake Resend received it.
#[derive(Debug, Clone)]
pub(crate) struct Delivery {
    pub(crate) key: Option<String>,
    pub(crate) to: String,
    pub(crate) text: String,
    /// The `headers` object of the request (Resend's extra header fields).
    pub(crate) headers: serde_json::Value,
}

/// What the fake answers next.
#[derive(Debug, Default)]
pub(crate) struct Script {
    /// Statuses to answer, one per request, before answering 200.
    pub(crate) fail_with: VecDeque<u16>,
    /// Delay before answering each request.
    pub(crate) delay: Duration,
    /// Never answer the next N requests (the delivery still counts, as with
    /// a provider that accepted the message but whose answer was lost).
    pub(crate) hang: usize,
}

#[derive(Debug, Default)]
struct FakeState {
    script: Script,
    /// Requests received (every attempt), with their times.
    requests: Vec<(Option<String>, Instant)>,
    /// Messages delivered: one per idempotency key, as Resend does.
    deliveries: Vec<Delivery>,
    by_key: HashMap<String, String>,
    users: HashMap<String, serde_json::Value>,
    user_lookups: usize,
}

/// A fake of Resend's `POST /emails` (with its idempotency semantics) and
/// Clerk's `GET /v1/users/{id}`.
#[derive(Debug, Clone)]
pub(crate) struct Fake {
    pub(crate) url: String,
    state: Arc<Mutex<FakeState>>,
}

impl Fake {
    pub(crate) async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(FakeState::default()));
        let shared = state.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let state = shared.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| answer(state.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            url: format!("http://{addr}"),
            state,
        }
    }

    pub(crate) fn script(&self, f: impl FnOnce(&mut Script)) {
        f(&mut self.state.lock().unwrap().script);
    }

    pub(crate) fn deliveries(&self) -> Vec<Delivery> {
        self.state.lock().unwrap().deliveries.clone()
    }

    pub(crate) fn requests(&self) -> Vec<(Option<String>, Instant)> {
        self.state.lock().unwrap().requests.clone()
    }

    pub(crate) fn add_clerk_user(&self, id: &str, user: serde_json::Value) {
        self.state.lock().unwrap().users.insert(id.to_owned(), user);
    }

    pub(crate) fn user_lookups(&self) -> usize {
        self.state.lock().unwrap().user_lookups
    }
}

async fn answer(
    state: Arc<Mutex<FakeState>>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_owned();
    if let Some(id) = path.strip_prefix("/v1/users/") {
        let mut s = state.lock().unwrap();
        s.user_lookups += 1;
        return Ok(match s.users.get(id) {
            Some(user) => json(StatusCode::OK, user.to_string()),
            None => json(StatusCode::NOT_FOUND, r#"{"errors":[]}"#.into()),
        });
    }
    let key = req
        .headers()
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let email: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let (status, delay, hang) = {
        let mut s = state.lock().unwrap();
        s.requests.push((key.clone(), Instant::now()));
        let status = s.script.fail_with.pop_front().unwrap_or(200);
        let hang = if s.script.hang > 0 {
            s.script.hang -= 1;
            true
        } else {
            false
        };
        (status, s.script.delay, hang)
    };
    if status != 200 {
        return Ok(json(
            StatusCode::from_u16(status).unwrap(),
            format!(r#"{{"statusCode":{status},"name":"scripted","message":"scripted failure"}}"#),
        ));
    }
    let id = {
        let mut s = state.lock().unwrap();
        let existing = key.as_ref().and_then(|k| s.by_key.get(k).cloned());
        match existing {
            Some(id) => id,
            None => {
                let id = format!("email_{}", s.deliveries.len() + 1);
                let to = match &email["to"] {
                    serde_json::Value::Array(list) => list
                        .first()
                        .and_then(|v| v.as_str())
                        .unwrap_or_default()
                        .to_owned(),
                    other => other.as_str().unwrap_or_default().to_owned(),
                };
                s.deliveries.push(Delivery {
                    key: key.clone(),
                    to,
                    text: email["text"].as_str().unwrap_or_default().to_owned(),
                    headers: email["headers"].clone(),
                });
                if let Some(k) = &key {
                    s.by_key.insert(k.clone(), id.clone());
                }
                id
            }
        }
    };
    if hang {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    Ok(json(StatusCode::OK, format!(r#"{{"id":"{id}"}}"#)))
}

fn json(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

/// A test world: store, clock, queue, fake mail provider, job context.
pub(crate) struct World {
    backend: Backend,
    _store: TestStore,
    pub(crate) clock: ManualClock,
    pub(crate) services: Services<AnyStore>,
    pub(crate) queue: JobQueue,
    pub(crate) config: JobsConfig,
    pub(crate) fake: Fake,
    pub(crate) context: JobContext<AnyStore>,
    pub(crate) blobs: tasker_core::blob::BlobStore,
    _dir: tempfile::TempDir,
}

/// A configuration for fast tests: short heartbeats, backoff and polls.
pub(crate) fn test_config() -> JobsConfig {
    let mut config = JobsConfig {
        queue_prefix: format!("tasker-test-{}", uuid::Uuid::now_v7().simple()),
        poll_interval_ms: 20,
        heartbeat_seconds: 1,
        ..JobsConfig::default()
    };
    config.retry.base_delay_ms = 200;
    config.retry.max_delay_ms = 2_000;
    config.timeout_seconds = 5;
    config.shutdown_grace_seconds = 5;
    config.cron.enabled = false;
    config
}

pub(crate) async fn queue_for(
    backend: Backend,
    config: &JobsConfig,
    dir: &std::path::Path,
) -> JobQueue {
    match backend {
        Backend::Redis => {
            let url = std::env::var("TASKER_TEST_REDIS_URL")
                .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
            JobQueue::redis(&url, config)
                .await
                .unwrap_or_else(|e| panic!("Redis is needed for the job tests: {e}"))
        }
        Backend::Sqlite => JobQueue::sqlite(dir.join("jobs.db"), config).await.unwrap(),
    }
}

impl World {
    pub(crate) async fn new(backend: Backend) -> Self {
        Self::with_config(backend, test_config()).await
    }

    pub(crate) async fn with_config(backend: Backend, config: JobsConfig) -> Self {
        let store = match backend {
            // Under TASKER_TEST_SKIP_POSTGRES (announced by TestStore), SQLite.
            Backend::Redis => match TestStore::postgres().await {
                Some(store) => store,
                None => TestStore::sqlite().await,
            },
            Backend::Sqlite => TestStore::sqlite().await,
        };
        let clock = ManualClock::new(T0);
        let dir = tempfile::tempdir().unwrap();
        let blobs = tasker_core::blob::BlobStore::local(dir.path().join("files")).unwrap();
        let services = Services::new(store.store.clone(), Arc::new(clock.clone()), blobs.clone());
        let queue = queue_for(backend, &config, dir.path()).await;
        let fake = Fake::start().await;
        let context = context_for(&services.jobs, &queue, &fake).with_blobs(blobs.clone());
        Self {
            backend,
            blobs,
            _store: store,
            clock,
            services,
            queue,
            config,
            fake,
            context,
            _dir: dir,
        }
    }

    /// A context over the same database and queue with connections of its
    /// own, as another worker process has: a worker killed in a test takes
    /// its connections with it, as a killed process does, and leaves the
    /// test's intact.
    pub(crate) async fn separate_context(&self) -> JobContext<AnyStore> {
        let url = match (self._store.url(), self._store.store.pool()) {
            (Some(url), _) => url,
            (None, tasker_core::store::Pool::Sqlite(pool)) => format!(
                "sqlite://{}",
                pool.connect_options().get_filename().display()
            ),
            (None, _) => unreachable!("a test store is PostgreSQL or SQLite"),
        };
        let store = AnyStore::connect(&url, &tasker_core::store::StoreOptions::default())
            .await
            .expect("a second pool");
        let jobs = JobService::new(store, Arc::new(self.clock.clone()));
        let queue = queue_for(self.backend, &self.config, self._dir.path()).await;
        context_for(&jobs, &queue, &self.fake).with_blobs(self.blobs.clone())
    }

    /// A user with a known e-mail address.
    pub(crate) async fn user(&self, name: &str) -> UserId {
        let user = UserId::parse(name).unwrap();
        self.services
            .jobs
            .remember_user(&user, Some(&format!("{name}@example.com")), Some(name))
            .await
            .unwrap();
        user
    }

    pub(crate) async fn todo_due(
        &self,
        user: &UserId,
        title: &str,
        due: OffsetDateTime,
    ) -> uuid::Uuid {
        let raw: CreateTodo = serde_json::from_value(serde_json::json!({
            "title": title,
            "dueDate": due.format(&time::format_description::well_known::Rfc3339).unwrap(),
        }))
        .unwrap();
        let new = NewTodo::try_from(raw).unwrap();
        self.services.todos.create(user, new).await.unwrap().id
    }
}

pub(crate) fn context_for(
    jobs: &JobService<AnyStore>,
    queue: &JobQueue,
    fake: &Fake,
) -> JobContext<AnyStore> {
    let resend = ResendConfig::new("re_test_key")
        .with_base_url(fake.url.clone())
        .with_timeout(Duration::from_secs(10));
    let mailer = ResendMailer::new(&resend, "tasker <noreply@example.com>", None).unwrap();
    JobContext::new(
        jobs.clone(),
        Arc::new(mailer),
        Arc::new(Templates::embedded().with_app_url("https://tasker.example.com")),
        Arc::new(KnownUsers::new(jobs.clone())),
        queue.clone(),
    )
    .with_unsubscribe_links(unsubscribe_links())
}

/// The unsubscribe links of the test worlds.
pub(crate) fn unsubscribe_links() -> tasker_core::unsubscribe::UnsubscribeLinks {
    tasker_core::unsubscribe::UnsubscribeLinks::new(
        b"the unsubscribe key of the tests!".to_vec(),
        "https://api.tasker.example.com",
    )
}

/// Polls `check` every 20 ms until it returns `Some`, or panics after `limit`.
pub(crate) async fn eventually<T, F, Fut>(limit: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
