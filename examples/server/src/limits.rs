//! Slow-client limits: how long a request head, a request body and a silent
//! connection may take, and how many connections are served at once.
//!
//! The head and silence limits are salvo's connection fuse (hyper's HTTP/1
//! header-read timeout and a transport idle timeout); the connection cap is
//! salvo's accept-loop semaphore. The body limit is [`BodyDeadline`], a
//! deadline on the whole body rather than salvo's gap between two frames, so
//! a client sending a byte a second cannot stretch it.

use std::{
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use salvo::{
    Depot, FlowCtrl, Handler, Request, Response, Server, async_trait,
    conn::Acceptor,
    fuse::FuseConfig,
    http::{ReqBody, StatusCode, header},
    writing::Text,
};
use serde_json::json;

use crate::config::ServerConfig;

/// `server` with the limits of `config`: the fuse timeouts and the
/// connection cap.
pub(crate) fn apply<A: Acceptor + Send>(server: Server<A>, config: &ServerConfig) -> Server<A> {
    let fuse = FuseConfig::default()
        .with_http1_header_timeout(Duration::from_secs(config.header_read_timeout_seconds))
        .with_connection_idle_timeout(Duration::from_secs(config.idle_timeout_seconds));
    server
        .fuse_config(fuse)
        .max_connections(config.max_connections)
}

/// Cuts a request body that has not fully arrived `timeout` after the head:
/// the body fails for the handler, and the answer becomes `408` with
/// `Connection: close`.
pub(crate) struct BodyDeadline {
    timeout: Duration,
}

impl BodyDeadline {
    pub(crate) fn new(config: &ServerConfig) -> Self {
        Self {
            timeout: Duration::from_secs(config.body_read_timeout_seconds),
        }
    }
}

#[async_trait]
impl Handler for BodyDeadline {
    async fn handle(
        &self,
        req: &mut Request,
        depot: &mut Depot,
        res: &mut Response,
        ctrl: &mut FlowCtrl,
    ) {
        let body = req.take_body();
        if body.is_none() || body.is_end_stream() {
            req.replace_body(body);
            ctrl.call_next(req, depot, res).await;
            return;
        }
        let expired = Arc::new(AtomicBool::new(false));
        let timed = TimedBody {
            inner: body,
            sleep: Box::pin(tokio::time::sleep(self.timeout)),
            expired: Arc::clone(&expired),
            ended: false,
        };
        req.replace_body(ReqBody::Boxed {
            inner: Box::pin(timed),
            fuse_config: None,
        });
        ctrl.call_next(req, depot, res).await;
        if expired.load(Ordering::Acquire) {
            tracing::info!(
                timeout_seconds = self.timeout.as_secs(),
                "request body not received in time; answering 408 and closing the connection"
            );
            *res = Response::new();
            res.status_code(StatusCode::REQUEST_TIMEOUT);
            res.headers_mut().insert(
                header::CONNECTION,
                header::HeaderValue::from_static("close"),
            );
            res.render(Text::Json(
                json!({
                    "code": "REQUEST_TIMEOUT",
                    "message": format!(
                        "The request body did not arrive within {} s",
                        self.timeout.as_secs()
                    ),
                    "status": StatusCode::REQUEST_TIMEOUT.as_u16(),
                    "override": false,
                    "errors": null,
                    "action": null,
                })
                .to_string(),
            ));
        }
    }
}

/// A request body that fails once its deadline passes.
struct TimedBody {
    inner: ReqBody,
    sleep: Pin<Box<tokio::time::Sleep>>,
    expired: Arc<AtomicBool>,
    /// The whole body arrived: the deadline no longer applies.
    ended: bool,
}

impl Body for TimedBody {
    type Data = Bytes;
    type Error = salvo::BoxedError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.ended {
            return Poll::Ready(None);
        }
        // Checked first, so a frame arriving just after the deadline does
        // not stretch it.
        if self.sleep.as_mut().poll(cx).is_ready() {
            self.expired.store(true, Ordering::Release);
            return Poll::Ready(Some(Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "request body timeout",
            )
            .into())));
        }
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None)) {
            self.ended = true;
        }
        polled.map(|frame| frame.map(|frame| frame.map_err(Into::into)))
    }

    fn is_end_stream(&self) -> bool {
        self.ended || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
