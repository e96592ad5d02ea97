//! Spawns the real `tasker-server` binary in a scratch directory on a free
//! port, and a fake Resend for it to send to.

use std::{
    collections::HashMap,
    convert::Infallible,
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Output, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, body::Incoming, service::service_fn};
use hyper_util::rt::TokioIo;

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_tasker-server");

/// A scratch directory with the environment the server gets.
pub(crate) struct Env {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) vars: HashMap<String, String>,
}

impl Env {
    /// Nothing configured: the embedded defaults.
    pub(crate) fn defaults() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
            vars: HashMap::new(),
        }
    }

    /// The production shape: `database` (PostgreSQL), the test Redis with a
    /// queue prefix of its own, an HS256 secret, and e-mail through `resend`.
    pub(crate) fn production(
        database: &tasker_core::testing::TestStore,
        resend: &FakeResend,
    ) -> Self {
        let url = database.url().expect("a PostgreSQL database");
        let redis = std::env::var("TASKER_TEST_REDIS_URL")
            .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
        Self::defaults()
            .set("TASKER_DATABASE__URL", url)
            .set("TASKER_REDIS__URL", redis)
            .set(
                "TASKER_JOBS__QUEUE_PREFIX",
                format!("tasker-server-test-{}", uuid::Uuid::now_v7().simple()),
            )
            .set("TASKER_JOBS__POLL_INTERVAL_MS", "20")
            .set(
                "TASKER_AUTH__JWT_SECRET",
                "a-test-secret-that-is-long-enough-0123456789",
            )
            .set("TASKER_MAIL__TRANSPORT", "resend")
            .set("TASKER_MAIL__FROM", "tasker <tasks@example.com>")
            .set("TASKER_MAIL__RESEND__API_KEY", "re_test_key")
            .set("TASKER_MAIL__RESEND__BASE_URL", resend.url.clone())
    }

    pub(crate) fn set(mut self, key: &str, value: impl Into<String>) -> Self {
        self.vars.insert(key.to_owned(), value.into());
        self
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The command, run in the scratch directory with only `PATH`, `HOME`
    /// and the variables set here.
    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        command
            .args(args)
            .current_dir(self.dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", std::env::var("HOME").unwrap_or_default())
            .envs(&self.vars);
        command
    }

    /// Runs a short command to completion.
    pub(crate) fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run tasker-server")
    }

    /// A token from `tasker-server token`.
    pub(crate) fn token(&self, args: &[&str]) -> String {
        let mut all = vec!["token"];
        all.extend_from_slice(args);
        let output = self.run(&all);
        assert!(
            output.status.success(),
            "token failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout)
            .expect("utf-8")
            .trim()
            .to_owned()
    }
}

/// A running server; killed when dropped.
pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) url: String,
    pub(crate) log: PathBuf,
}

impl Server {
    /// Starts `serve` on a port the system picks (read back from the log)
    /// and waits until `/readyz` answers 200.
    pub(crate) async fn start(env: &Env, args: &[&str]) -> Self {
        Self::spawn(env, &[&["serve"], args].concat(), true).await
    }

    /// Starts a long-running command (`serve` or `worker --listen …`) whose
    /// address comes from `TASKER_SERVER__PORT=0` or its own arguments, and
    /// waits until `/readyz` answers (200 when `ready`, any status otherwise).
    pub(crate) async fn spawn(env: &Env, args: &[&str], ready: bool) -> Self {
        let log = env
            .path()
            .join(format!("{}-{}.log", args[0], uuid::Uuid::now_v7().simple()));
        let file = std::fs::File::create(&log).expect("log file");
        let child = env
            .command(args)
            .env("TASKER_SERVER__PORT", "0")
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("spawn tasker-server");
        let mut server = Self {
            child,
            url: String::new(),
            log,
        };
        server.wait_ready(ready).await;
        server
    }

    async fn wait_ready(&mut self, ready: bool) {
        let client = reqwest::Client::new();
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("the server exited with {status}:\n{}", self.log_text());
            }
            if self.url.is_empty()
                && let Some(url) = listening_url(&self.log_text())
            {
                self.url = url;
            }
            if !self.url.is_empty()
                && let Ok(response) = client.get(format!("{}/readyz", self.url)).send().await
                && (!ready || response.status() == 200)
            {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "not ready after 60 s:\n{}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub(crate) fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends SIGTERM.
    pub(crate) fn terminate(&self) {
        terminate(&self.child);
    }

    /// Waits for the process to exit.
    pub(crate) async fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                started.elapsed() < limit,
                "still running after {limit:?}:\n{}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends SIGTERM to `child`.
pub(crate) fn terminate(child: &Child) {
    let pid = i32::try_from(child.id())
        .ok()
        .and_then(rustix::process::Pid::from_raw)
        .expect("pid");
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).expect("SIGTERM");
}

/// The `http://127.0.0.1:PORT` the process logged it listens on.
fn listening_url(log: &str) -> Option<String> {
    // salvo's "listening [HTTP/1.1] on http://127.0.0.1:PORT".
    let start = log.find(" on http://127.0.0.1:")?;
    let rest = &log[start + " on http://127.0.0.1:".len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let port: u16 = digits.parse().ok().filter(|port| *port != 0)?;
    Some(format!("http://127.0.0.1:{port}"))
}

/// Every file under `dir` (recursively) whose name ends with `suffix`.
pub(crate) fn files_ending(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_ending(&path, suffix));
        } else if path.to_string_lossy().ends_with(suffix) {
            found.push(path);
        }
    }
    found.sort();
    found
}

/// One e-mail the fake Resend accepted.
#[derive(Debug, Clone)]
pub(crate) struct Sent {
    pub(crate) to: String,
    pub(crate) subject: String,
    pub(crate) text: String,
    pub(crate) key: Option<String>,
}

/// A fake of Resend's `POST /emails`, answering like Resend (one message per
/// idempotency key).
#[derive(Clone)]
pub(crate) struct FakeResend {
    pub(crate) url: String,
    sent: Arc<Mutex<Vec<Sent>>>,
    attempts: Arc<Mutex<Vec<Option<String>>>>,
}

impl FakeResend {
    pub(crate) async fn start() -> Self {
        Self::start_with(false).await
    }

    /// A fake that never answers the first request (its sender hangs, as
    /// when the provider stalls), and answers the rest.
    pub(crate) async fn start_holding_first() -> Self {
        Self::start_with(true).await
    }

    async fn start_with(hold_first: bool) -> Self {
        let sent = Arc::new(Mutex::new(Vec::new()));
        let attempts = Arc::new(Mutex::new(Vec::new()));
        let (shared, tries) = (Arc::clone(&sent), Arc::clone(&attempts));
        let url = fake_server(move |req: Request<Incoming>| {
            let (sent, tries) = (Arc::clone(&shared), Arc::clone(&tries));
            async move {
                let key = req
                    .headers()
                    .get("idempotency-key")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                let first = {
                    let mut tries = tries.lock().expect("lock");
                    tries.push(key);
                    tries.len() == 1
                };
                if hold_first && first {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                }
                answer(sent, req).await
            }
        })
        .await;
        Self {
            url,
            sent,
            attempts,
        }
    }

    /// The messages accepted, one per idempotency key.
    pub(crate) fn sent(&self) -> Vec<Sent> {
        self.sent.lock().expect("lock").clone()
    }

    /// The idempotency key of every request received, repeats included.
    pub(crate) fn attempts(&self) -> Vec<Option<String>> {
        self.attempts.lock().expect("lock").clone()
    }
}

async fn answer(sent: Arc<Mutex<Vec<Sent>>>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let authorized = req
        .headers()
        .get("authorization")
        .is_some_and(|v| v == "Bearer re_test_key");
    let key = req
        .headers()
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let path = req.uri().path().to_owned();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    if !authorized || path != "/emails" {
        return Response::builder()
            .status(401)
            .body(Full::new(Bytes::from_static(
                br#"{"name":"missing_api_key"}"#,
            )))
            .expect("response");
    }
    let email: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let mut sent = sent.lock().expect("lock");
    if key.is_none() || !sent.iter().any(|s| s.key == key) {
        let to = match &email["to"] {
            serde_json::Value::Array(list) => list
                .first()
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned(),
            other => other.as_str().unwrap_or_default().to_owned(),
        };
        sent.push(Sent {
            to,
            subject: email["subject"].as_str().unwrap_or_default().to_owned(),
            text: email["text"].as_str().unwrap_or_default().to_owned(),
            key,
        });
    }
    let id = format!("email_{}", sent.len());
    Response::builder()
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(format!(r#"{{"id":"{id}"}}"#))))
        .expect("response")
}

/// One request a [`Collector`] received.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) path: String,
    pub(crate) content_type: String,
    pub(crate) headers: hyper::HeaderMap,
    pub(crate) body: Bytes,
}

/// Accepts anything with `200` and an empty body, and keeps what it got (an
/// OTLP/HTTP collector, for instance).
#[derive(Clone)]
pub(crate) struct Collector {
    pub(crate) url: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Collector {
    pub(crate) async fn start() -> Self {
        let received = Arc::new(Mutex::new(Vec::new()));
        let shared = Arc::clone(&received);
        let url = fake_server(move |req: Request<Incoming>| {
            let received = Arc::clone(&shared);
            async move {
                let path = req.uri().path().to_owned();
                let headers = req.headers().clone();
                let content_type = headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                let body = req
                    .into_body()
                    .collect()
                    .await
                    .map(|b| b.to_bytes())
                    .unwrap_or_default();
                received.lock().expect("lock").push(Received {
                    path,
                    content_type,
                    headers,
                    body,
                });
                Response::builder()
                    .header("content-type", "application/x-protobuf")
                    .body(Full::new(Bytes::new()))
                    .expect("response")
            }
        })
        .await;
        Self { url, received }
    }

    pub(crate) fn received(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }

    /// Whether any trace export received holds `needle` (the protobuf
    /// carries names and attributes as text, trace and span ids as raw bytes).
    pub(crate) fn traces_contain(&self, needle: &[u8]) -> bool {
        self.received()
            .iter()
            .filter(|r| r.path == "/v1/traces")
            .any(|r| r.body.windows(needle.len()).any(|w| w == needle))
    }
}

/// Serves `answer` on a local port (a fake of a third-party HTTP API);
/// returns its base URL.
pub(crate) async fn fake_server<F, Fut>(answer: F) -> String
where
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr: SocketAddr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let answer = answer.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| {
                    let answer = answer.clone();
                    async move { Ok::<_, Infallible>(answer(req).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    format!("http://{addr}")
}
