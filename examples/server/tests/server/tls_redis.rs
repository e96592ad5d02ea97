//! `rediss://`: a Redis of the test's own that only speaks TLS, with a CA and
//! a server certificate made for the test. The job queue, the shared rate
//! limits and the `/status` check all go through it when its CA is trusted
//! (`redis.ca_file`); a certificate the server does not trust stops start-up
//! with an error that says so.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use reqwest::{Client, StatusCode};
use serde_json::Value;

use crate::support::{Env, Server, files_ending};

/// A CA and a certificate for `127.0.0.1`/`localhost` signed by it, made with
/// the `openssl` command.
struct Certificates {
    dir: tempfile::TempDir,
}

impl Certificates {
    /// The reason when the `openssl` command is missing or fails.
    fn generate() -> Result<Self, String> {
        let dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
        let path = dir.path();
        std::fs::write(
            path.join("server.ext"),
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n\
             keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
        )
        .map_err(|e| format!("write server.ext: {e}"))?;
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
        let steps: [Vec<&str>; 4] = [
            [&["req", "-x509", "-nodes", "-days", "2"][..], &ec[..]].concat(),
            [&["req", "-nodes"][..], &ec[..]].concat(),
            vec![
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                "server.ext",
                "-out",
                "server.pem",
            ],
            [&["req", "-x509", "-nodes", "-days", "2"][..], &ec[..]].concat(),
        ];
        let outputs: [&[&str]; 4] = [
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-subj",
                "/CN=tasker test CA",
            ],
            &[
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
                "-subj",
                "/CN=localhost",
            ],
            &[],
            &[
                "-keyout",
                "other-ca.key",
                "-out",
                "other-ca.pem",
                "-subj",
                "/CN=another CA",
            ],
        ];
        for (step, out) in steps.iter().zip(outputs) {
            let output = Command::new("openssl")
                .args(step)
                .args(out)
                .current_dir(path)
                .output()
                .map_err(|e| format!("run openssl: {e}"))?;
            if !output.status.success() {
                return Err(format!(
                    "openssl {}: {}",
                    step.join(" "),
                    String::from_utf8_lossy(&output.stderr)
                ));
            }
        }
        Ok(Self { dir })
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// `redis-server` with TLS only (`--port 0`), on a free port.
struct TlsRedis {
    port: u16,
    child: Child,
    certificates: Certificates,
}

impl TlsRedis {
    /// Starts it, or says why it could not start. In CI (`CI` set) a machine
    /// that cannot run it is a failure, never a silent pass.
    async fn start_or_skip() -> Option<Self> {
        match Self::start().await {
            Ok(redis) => Some(redis),
            Err(reason) if std::env::var_os("CI").is_some() => {
                panic!("redis-server with TLS is required in CI: {reason}")
            }
            Err(reason) => {
                eprintln!("SKIPPED: redis-server with TLS cannot run here: {reason}");
                None
            }
        }
    }

    async fn start() -> Result<Self, String> {
        let certificates = Certificates::generate()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("free port: {e}"))?
            .port();
        let mut child = Command::new("redis-server")
            .args(["--port", "0", "--tls-port", &port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--tls-cert-file")
            .arg(certificates.file("server.pem"))
            .arg("--tls-key-file")
            .arg(certificates.file("server.key"))
            .arg("--tls-ca-cert-file")
            .arg(certificates.file("ca.pem"))
            .args(["--tls-auth-clients", "no"])
            .arg("--dir")
            .arg(certificates.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("start redis-server: {e}"))?;
        let started = Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            if let Ok(Some(status)) = child.try_wait() {
                let mut stderr = String::new();
                if let Some(mut pipe) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
                }
                return Err(format!("redis-server exited ({status}): {stderr}"));
            }
            if started.elapsed() > Duration::from_secs(10) {
                let _ = child.kill();
                let _ = child.wait();
                return Err("redis-server did not listen on its TLS port".to_owned());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(Self {
            port,
            child,
            certificates,
        })
    }

    fn url(&self) -> String {
        format!("rediss://127.0.0.1:{}", self.port)
    }

    /// A connection of the test's own, trusting the test CA.
    async fn connection(&self) -> redis::aio::MultiplexedConnection {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let tls = redis::TlsCertificates {
            client_tls: None,
            root_cert: Some(std::fs::read(self.certificates.file("ca.pem")).expect("ca.pem")),
        };
        redis::Client::build_with_tls(self.url(), tls)
            .expect("client")
            .get_multiplexed_async_connection()
            .await
            .expect("connect over TLS")
    }
}

impl Drop for TlsRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn welcomes(dir: &Path) -> usize {
    files_ending(&dir.join("data/mail-preview"), ".eml")
        .into_iter()
        .filter(|path| path.to_string_lossy().contains("welcome"))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rediss_carries_the_job_queue_the_rate_limits_and_the_redis_check() {
    let Some(redis) = TlsRedis::start_or_skip().await else {
        return;
    };
    let prefix = format!("tasker-tls-{}", uuid::Uuid::now_v7().simple());
    let env = Env::defaults()
        .set("TASKER_REDIS__URL", redis.url())
        .set(
            "TASKER_REDIS__CA_FILE",
            redis.certificates.file("ca.pem").display().to_string(),
        )
        .set("TASKER_JOBS__QUEUE_PREFIX", prefix.clone())
        .set("TASKER_JOBS__POLL_INTERVAL_MS", "20")
        .set("TASKER_RATE_LIMIT__PER_USER_PER_SECOND", "1")
        .set("TASKER_RATE_LIMIT__PER_USER_BURST", "5");
    let mut server = Server::start(&env, &[]).await;
    let client = Client::new();

    let status: Value = client
        .get(format!("{}/status", server.url))
        .send()
        .await
        .expect("status")
        .json()
        .await
        .expect("json");
    assert_eq!(status["checks"]["redis"]["status"], "healthy", "{status}");

    // A new user's first request enqueues the welcome e-mail in Redis; a
    // worker of the same process takes it from there and sends it.
    let alice = env.token(&["--user", "alice", "--email", "alice@example.com"]);
    let mut answers = Vec::new();
    for _ in 0..12 {
        let answer = client
            .get(format!("{}/api/v1/todos", server.url))
            .bearer_auth(&alice)
            .send()
            .await
            .expect("list");
        answers.push(answer.status());
    }
    assert_eq!(answers[0], StatusCode::OK);
    // Burst 5 at 1 a second: twelve quick requests run out of it, which only
    // a bucket kept in Redis can tell (a failing Redis lets requests through).
    assert!(
        answers.contains(&StatusCode::TOO_MANY_REQUESTS),
        "no 429 in {answers:?}:\n{}",
        server.log_text()
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while welcomes(env.path()) == 0 {
        assert!(
            Instant::now() < deadline,
            "no welcome e-mail over rediss://:\n{}",
            server.log_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let mut conn = redis.connection().await;
    let limits: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}:ratelimit*"))
        .query_async(&mut conn)
        .await
        .expect("KEYS ratelimit");
    assert!(!limits.is_empty(), "no rate-limit bucket in Redis");
    let queues: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}:*"))
        .query_async(&mut conn)
        .await
        .expect("KEYS queue");
    assert!(
        queues.iter().any(|key| !key.contains(":ratelimit")),
        "no queue key under {prefix}: {queues:?}"
    );

    server.terminate();
    let exit = server.wait_exit(Duration::from_secs(30)).await;
    assert!(exit.success(), "exit {exit}:\n{}", server.log_text());
}

/// `serve` against the TLS Redis: it must stop, not start half-connected.
fn refused_start(env: Env) -> String {
    let output = env.set("TASKER_SERVER__PORT", "0").run(&["serve"]);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        !output.status.success(),
        "serve started with an untrusted Redis certificate:\n{stdout}{stderr}"
    );
    format!("{stdout}{stderr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_certificate_the_server_does_not_trust_stops_start_up() {
    let Some(redis) = TlsRedis::start_or_skip().await else {
        return;
    };
    // The webpki roots (no redis.ca_file) do not include the test CA.
    let env = Env::defaults().set("TASKER_REDIS__URL", redis.url());
    let log = refused_start(env);
    assert!(
        log.contains("job queue (redis): could not connect"),
        "{log}"
    );
    assert!(
        log.contains("invalid peer certificate: UnknownIssuer"),
        "{log}"
    );
    assert!(
        log.contains("for a private CA set redis.ca_file (TASKER_REDIS__CA_FILE)"),
        "{log}"
    );

    // A CA file, but of another CA.
    let env = Env::defaults().set("TASKER_REDIS__URL", redis.url()).set(
        "TASKER_REDIS__CA_FILE",
        redis
            .certificates
            .file("other-ca.pem")
            .display()
            .to_string(),
    );
    let log = refused_start(env);
    assert!(
        log.contains("invalid peer certificate: UnknownIssuer"),
        "{log}"
    );
    assert!(log.contains("the CA(s) in redis.ca_file ("), "{log}");
    assert!(log.contains("other-ca.pem)"), "{log}");
}
