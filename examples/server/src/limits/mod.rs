//! Slow-client limits: how long a request head, an idle keep-alive
//! connection and a request body may take, and how many connections are
//! served at once.
//!
//! - The head and keep-alive deadlines are [`phase`]'s: kept apart, where
//!   hyper's own header-read timeout would also be the idle timeout (it is
//!   turned off).
//! - salvo's transport idle timeout (no byte read or written) backs them up,
//!   with the keep-alive timeout: it also ends a connection whose client
//!   stopped reading the answer.
//! - The body limit is a deadline on the whole body ([`Limits::hoop`]), not
//!   salvo's gap between two frames, so a client sending a byte a second
//!   cannot stretch it.
//! - The connection cap is salvo's accept-loop semaphore: past it,
//!   connections wait in the listen backlog.

mod phase;

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
    conn::{Accepted, Acceptor, Holding, tcp::TcpCoupler},
    fuse::{ArcFusePolicy, FuseConfig},
    http::{ReqBody, StatusCode, header},
    writing::Text,
};
use serde_json::json;
use tokio::{
    io::{AsyncRead, AsyncWrite},
    time::Instant,
};

use crate::config::ServerConfig;
use phase::{PhasedStream, Phases, Timeouts};

/// The slow-client limits of one server: its acceptor, its server settings
/// and its request hoop share the connections' phases.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    timeouts: Timeouts,
    body: Duration,
    max_connections: usize,
    phases: Phases,
}

impl Limits {
    /// The limits `config` sets, with no connection open yet.
    pub(crate) fn new(config: &ServerConfig) -> Self {
        Self {
            timeouts: Timeouts {
                head: Duration::from_secs(config.header_read_timeout_seconds),
                idle: Duration::from_secs(config.idle_timeout_seconds),
            },
            body: Duration::from_secs(config.body_read_timeout_seconds),
            max_connections: config.max_connections,
            phases: Phases::default(),
        }
    }

    /// `inner`, with each connection's stream under the head and keep-alive
    /// deadlines.
    pub(crate) fn acceptor<A>(&self, inner: A) -> PhasedAcceptor<A>
    where
        A: Acceptor + Send,
        A::Stream: AsyncRead + AsyncWrite,
    {
        PhasedAcceptor {
            inner,
            limits: self.clone(),
        }
    }

    /// A server on `acceptor` with the transport idle timeout and the
    /// connection cap (hyper's own header timeout off: the phases do it).
    pub(crate) fn server<A>(&self, acceptor: PhasedAcceptor<A>) -> Server<PhasedAcceptor<A>>
    where
        A: Acceptor + Send,
        A::Stream: AsyncRead + AsyncWrite,
    {
        let fuse = FuseConfig::default()
            .with_http1_header_timeout(None)
            .with_connection_idle_timeout(self.timeouts.idle);
        let mut server = Server::new(acceptor)
            .fuse_config(fuse)
            .max_connections(self.max_connections);
        server.http1_mut().header_read_timeout(None);
        server
    }

    /// The hoop every request passes: it marks the connection as handling a
    /// request, and puts the deadline on the body.
    pub(crate) fn hoop(&self) -> RequestLimits {
        RequestLimits {
            timeout: self.body,
            phases: self.phases.clone(),
        }
    }
}

/// An acceptor whose connections keep the head and keep-alive deadlines.
/// For plain TCP acceptors: the inner coupler is replaced by salvo's TCP one.
pub(crate) struct PhasedAcceptor<A> {
    inner: A,
    limits: Limits,
}

impl<A> Acceptor for PhasedAcceptor<A>
where
    A: Acceptor + Send,
    A::Stream: AsyncRead + AsyncWrite,
{
    type Coupler = TcpCoupler<PhasedStream<A::Stream>>;
    type Stream = PhasedStream<A::Stream>;

    fn holdings(&self) -> &[Holding] {
        self.inner.holdings()
    }

    async fn accept(
        &mut self,
        fuse_policy: Option<ArcFusePolicy>,
    ) -> std::io::Result<Accepted<Self::Coupler, Self::Stream>> {
        let accepted = self.inner.accept(fuse_policy).await?;
        let peer = accepted.remote_addr.clone().into_std();
        let stream = self
            .limits
            .phases
            .wrap(accepted.stream, peer, self.limits.timeouts);
        Ok(Accepted {
            coupler: TcpCoupler::new(),
            stream,
            fuse_config: accepted.fuse_config,
            conn_ctrl: accepted.conn_ctrl,
            local_addr: accepted.local_addr,
            remote_addr: accepted.remote_addr,
            http_scheme: accepted.http_scheme,
        })
    }
}

/// Marks the connection as handling a request until it is answered, and
/// cuts a request body that has not fully arrived `timeout` after the head:
/// the body fails for the handler, and the answer becomes `408` with
/// `Connection: close`.
pub(crate) struct RequestLimits {
    timeout: Duration,
    phases: Phases,
}

#[async_trait]
impl Handler for RequestLimits {
    async fn handle(
        &self,
        req: &mut Request,
        depot: &mut Depot,
        res: &mut Response,
        ctrl: &mut FlowCtrl,
    ) {
        let phase = req
            .remote_addr()
            .clone()
            .into_std()
            .and_then(|peer| self.phases.get(peer));
        if let Some(phase) = &phase {
            phase.begin_request();
        }
        self.limit_body(req, depot, res, ctrl).await;
        if let Some(phase) = &phase {
            phase.end_request();
        }
    }
}

impl RequestLimits {
    async fn limit_body(
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
        let expired = match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(None) => {
                self.ended = true;
                return Poll::Ready(None);
            }
            // A frame arriving after the deadline does not stretch it.
            Poll::Ready(Some(_)) if Instant::now() >= self.sleep.deadline() => true,
            Poll::Ready(Some(frame)) => return Poll::Ready(Some(frame.map_err(Into::into))),
            // The timer is only registered when the body makes the handler
            // wait.
            Poll::Pending => self.sleep.as_mut().poll(cx).is_ready(),
        };
        if !expired {
            return Poll::Pending;
        }
        self.expired.store(true, Ordering::Release);
        Poll::Ready(Some(Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "request body timeout",
        )
        .into())))
    }

    fn is_end_stream(&self) -> bool {
        self.ended || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
