//! Slow clients: connections dribbling a request head or a body, idle
//! keep-alive connections and more connections than the cap. Each test
//! configures short limits (1–2 s) and asserts with generous slack, for a
//! busy 2-core machine.

use std::time::{Duration, Instant};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::support::{Env, Server};

/// The server's `host:port`.
fn address(server: &Server) -> String {
    server
        .url
        .strip_prefix("http://")
        .expect("an http:// URL")
        .to_owned()
}

/// How a slow connection ended, and when (since it was opened).
#[derive(Debug)]
struct Ended {
    after: Duration,
    /// What the server sent before closing.
    answer: String,
}

/// Opens a connection, writes `fast` at once and then `slow` one byte every
/// `gap`, until the server closes it (or `give_up` passes: then the
/// returned duration is at least `give_up`).
async fn dribble(
    address: String,
    fast: Vec<u8>,
    slow: Vec<u8>,
    gap: Duration,
    give_up: Duration,
) -> Ended {
    let started = Instant::now();
    let mut stream = TcpStream::connect(&address).await.expect("connect");
    stream.write_all(&fast).await.expect("write the fast part");
    let (mut read, mut write) = stream.into_split();
    let mut answer = Vec::new();
    let mut buffer = [0_u8; 4096];
    let mut slow = slow.into_iter();
    let mut tick = tokio::time::interval(gap);
    tick.tick().await;
    loop {
        tokio::select! {
            read = read.read(&mut buffer) => match read {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buffer[..n]),
            },
            _ = tick.tick() => {
                if started.elapsed() > give_up {
                    break;
                }
                if let Some(byte) = slow.next()
                    && write.write_all(&[byte]).await.is_err()
                {
                    // Closed for writing; the read side says when it closed.
                    continue;
                }
            }
        }
    }
    Ended {
        after: started.elapsed(),
        answer: String::from_utf8_lossy(&answer).into_owned(),
    }
}

/// A `GET /healthz` over a fresh connection; its status line and how long it
/// took.
async fn prompt_get(url: &str) -> (u16, Duration) {
    let started = Instant::now();
    let response = reqwest::Client::new()
        .get(format!("{url}/healthz"))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .expect("a normal client is served");
    (response.status().as_u16(), started.elapsed())
}

/// Reads one response with a `Content-Length` body from `stream`.
async fn read_response(stream: &mut TcpStream) -> String {
    let mut bytes = Vec::new();
    let mut buffer = [0_u8; 4096];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer))
            .await
            .expect("a response within 10 s")
            .expect("read");
        assert!(n > 0, "closed before a whole response");
        bytes.extend_from_slice(&buffer[..n]);
        let text = String::from_utf8_lossy(&bytes).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let length: usize = text[..end]
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse().ok())?
                })
                .unwrap_or(0);
            if bytes.len() >= end + 4 + length {
                return text;
            }
        }
    }
}

/// Waits until the server closes `stream`; how long that took.
async fn closed_after(stream: &mut TcpStream, limit: Duration) -> Duration {
    let started = Instant::now();
    let mut buffer = [0_u8; 1024];
    loop {
        match tokio::time::timeout(limit, stream.read(&mut buffer)).await {
            Ok(Ok(0) | Err(_)) => return started.elapsed(),
            Ok(Ok(_)) => {}
            Err(_) => panic!("still open after {limit:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_headers_are_cut_after_the_header_timeout_while_others_are_served() {
    let env = Env::defaults()
        .set("TASKER_SERVER__HEADER_READ_TIMEOUT_SECONDS", "2")
        .set("TASKER_SERVER__IDLE_TIMEOUT_SECONDS", "30");
    let server = Server::start(&env, &["--no-worker", "--no-scheduler"]).await;
    let address = address(&server);
    let head = b"GET /healthz HTTP/1.1\r\nHost: tasker\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    let slow: Vec<_> = (0..200)
        .map(|_| {
            tokio::spawn(dribble(
                address.clone(),
                Vec::new(),
                head.to_vec(),
                Duration::from_millis(250),
                Duration::from_secs(20),
            ))
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (status, took) = prompt_get(&server.url).await;
    assert_eq!(status, 200);
    assert!(
        took < Duration::from_secs(2),
        "a normal request beside 200 slow ones took {took:?}"
    );
    for task in slow {
        let ended = task.await.expect("dribbling task");
        assert!(
            ended.after >= Duration::from_millis(1500) && ended.after < Duration::from_secs(8),
            "a dribbled head (2 s limit) ended after {:?}",
            ended.after
        );
        assert!(
            !ended.answer.contains(" 200 "),
            "a head that never ended was answered: {}",
            ended.answer
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_bodies_get_408_after_the_body_timeout_while_others_are_served() {
    let env = Env::defaults()
        .set("TASKER_SERVER__BODY_READ_TIMEOUT_SECONDS", "2")
        .set("TASKER_RATE_LIMIT__ENABLED", "false");
    let server = Server::start(&env, &["--no-worker", "--no-scheduler"]).await;
    let token = env.token(&["--user", "slow-body"]);
    let address = address(&server);
    let body =
        br#"{"title": "a todo whose body takes far too long to arrive, one byte at a time"}"#;
    let head = format!(
        "POST /api/v1/todos HTTP/1.1\r\nHost: tasker\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let slow: Vec<_> = (0..50)
        .map(|_| {
            tokio::spawn(dribble(
                address.clone(),
                head.clone().into_bytes(),
                body.to_vec(),
                Duration::from_millis(250),
                Duration::from_secs(20),
            ))
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (status, took) = prompt_get(&server.url).await;
    assert_eq!(status, 200);
    assert!(
        took < Duration::from_secs(2),
        "a normal request beside 50 slow bodies took {took:?}"
    );
    for task in slow {
        let ended = task.await.expect("dribbling task");
        assert!(
            ended.after >= Duration::from_millis(1500) && ended.after < Duration::from_secs(8),
            "a dribbled body (2 s limit) ended after {:?}",
            ended.after
        );
        assert!(
            ended.answer.starts_with("HTTP/1.1 408 "),
            "a dribbled body was answered: {}",
            ended.answer
        );
        assert!(
            ended.answer.contains(r#""code":"REQUEST_TIMEOUT""#),
            "{}",
            ended.answer
        );
    }
    // Nothing was created from the bodies that were cut.
    let listed = reqwest::Client::new()
        .get(format!("{}/api/v1/todos", server.url))
        .bearer_auth(&token)
        .send()
        .await
        .expect("list")
        .text()
        .await
        .expect("list body");
    assert!(!listed.contains("far too long"), "{listed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_timeout_also_bounds_a_slow_body_with_503() {
    let env = Env::defaults()
        .set("TASKER_HTTP__REQUEST_TIMEOUT_SECONDS", "1")
        .set("TASKER_SERVER__BODY_READ_TIMEOUT_SECONDS", "30");
    let server = Server::start(&env, &["--no-worker", "--no-scheduler"]).await;
    let token = env.token(&["--user", "slow-body"]);
    let body = br#"{"title": "slow enough to outlast the request timeout"}"#;
    let head = format!(
        "POST /api/v1/todos HTTP/1.1\r\nHost: tasker\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let ended = dribble(
        address(&server),
        head.into_bytes(),
        body.to_vec(),
        Duration::from_millis(250),
        Duration::from_secs(20),
    )
    .await;
    assert!(
        ended.answer.starts_with("HTTP/1.1 503 "),
        "a body slower than the request timeout was answered: {}",
        ended.answer
    );
    assert!(
        ended.answer.contains(r#""code":"TIMEOUT""#),
        "{}",
        ended.answer
    );
    assert!(
        ended.after < Duration::from_secs(8),
        "answered after {:?}",
        ended.after
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout_not_the_header_timeout() {
    let env = Env::defaults()
        .set("TASKER_SERVER__HEADER_READ_TIMEOUT_SECONDS", "1")
        .set("TASKER_SERVER__IDLE_TIMEOUT_SECONDS", "4");
    let server = Server::start(&env, &["--no-worker", "--no-scheduler"]).await;
    let mut stream = TcpStream::connect(address(&server)).await.expect("connect");
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: tasker\r\n\r\n")
        .await
        .expect("write");
    let response = read_response(&mut stream).await;
    assert!(response.starts_with("HTTP/1.1 200 "), "{response}");
    // Waiting for the next request is idleness, not a slow head: past the
    // header timeout, the connection is still served.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: tasker\r\n\r\n")
        .await
        .expect("write");
    let response = read_response(&mut stream).await;
    assert!(response.starts_with("HTTP/1.1 200 "), "{response}");
    let after = closed_after(&mut stream, Duration::from_secs(15)).await;
    assert!(
        after >= Duration::from_millis(3000) && after < Duration::from_secs(10),
        "an idle connection (4 s limit) was closed after {after:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_second_head_on_a_keep_alive_connection_is_cut_after_the_header_timeout() {
    let env = Env::defaults()
        .set("TASKER_SERVER__HEADER_READ_TIMEOUT_SECONDS", "2")
        .set("TASKER_SERVER__IDLE_TIMEOUT_SECONDS", "30");
    let server = Server::start(&env, &["--no-worker", "--no-scheduler"]).await;
    let mut stream = TcpStream::connect(address(&server)).await.expect("connect");
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: tasker\r\n\r\n")
        .await
        .expect("write");
    let response = read_response(&mut stream).await;
    assert!(response.starts_with("HTTP/1.1 200 "), "{response}");
    let started = Instant::now();
    let mut closed = false;
    for byte in b"GET /healthz HTTP/1.1\r\nHost: tasker\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n" {
        if stream.write_all(&[*byte]).await.is_err() {
            closed = true;
            break;
        }
        let mut buffer = [0_u8; 256];
        match tokio::time::timeout(Duration::from_millis(250), stream.read(&mut buffer)).await {
            Ok(Ok(0) | Err(_)) => {
                closed = true;
                break;
            }
            Ok(Ok(n)) => panic!(
                "a head dribbled past the limit was answered: {}",
                String::from_utf8_lossy(&buffer[..n])
            ),
            Err(_) => {}
        }
    }
    let after = started.elapsed();
    assert!(closed, "the dribbled head was never cut");
    assert!(
        after >= Duration::from_millis(1500) && after < Duration::from_secs(8),
        "a dribbled second head (2 s limit) was cut after {after:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_past_the_cap_waits_until_one_closes() {
    let env = Env::defaults()
        .set("TASKER_SERVER__MAX_CONNECTIONS", "3")
        .set("TASKER_SERVER__HEADER_READ_TIMEOUT_SECONDS", "60")
        .set("TASKER_SERVER__IDLE_TIMEOUT_SECONDS", "60");
    let server = Server::start(&env, &["--no-worker", "--no-scheduler"]).await;
    let address = address(&server);
    // Let the readiness check's connection go.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut stream = TcpStream::connect(&address).await.expect("connect");
        // Served: each of the three is answered.
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: tasker\r\n\r\n")
            .await
            .expect("write");
        let response = read_response(&mut stream).await;
        assert!(response.starts_with("HTTP/1.1 200 "), "{response}");
        held.push(stream);
    }
    let mut fourth = TcpStream::connect(&address)
        .await
        .expect("the backlog takes the fourth");
    fourth
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: tasker\r\n\r\n")
        .await
        .expect("write");
    let mut buffer = [0_u8; 64];
    let early = tokio::time::timeout(Duration::from_millis(1500), fourth.read(&mut buffer)).await;
    assert!(
        early.is_err(),
        "the fourth connection was served while three were open: {early:?}"
    );
    drop(held.pop());
    let started = Instant::now();
    let response = read_response(&mut fourth).await;
    assert!(response.starts_with("HTTP/1.1 200 "), "{response}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "served {:?} after a connection closed",
        started.elapsed()
    );
}
