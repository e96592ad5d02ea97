//! The head and keep-alive deadlines of a connection, kept apart.
//!
//! hyper's own header-read timeout starts as soon as a connection waits for a
//! request, so on a keep-alive connection it is also the idle timeout. Here
//! the two are separate, as in the Go service: a connection between requests
//! may stay silent for `idle`; once a request's first byte arrives (or the
//! connection is new) its head must be complete within `head`; while a
//! request is being handled neither applies (the body deadline and the
//! request timeout do).
//!
//! The connection's [`Phase`] is shared between its stream
//! ([`PhasedStream`], which sees bytes) and the request hoop
//! ([`Phases::begin`], which sees heads), found by the peer address.

use std::{
    collections::HashMap,
    io::{Error as IoError, ErrorKind},
    net::SocketAddr,
    pin::Pin,
    sync::{Arc, Mutex, PoisonError},
    task::{Context, Poll, Waker},
    time::Duration,
};

use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    time::{Instant, Sleep},
};

/// Where a connection is in its request cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Between requests, since the last byte written.
    Waiting,
    /// Reading a request head, since the connection opened or the head's
    /// first byte arrived.
    Head,
    /// A request is being handled.
    Handling,
}

#[derive(Debug)]
struct State {
    stage: Stage,
    since: Instant,
    /// The stream's read waiting for a deadline that a stage change moves.
    waker: Option<Waker>,
}

/// One connection's stage, shared by its stream and its requests.
#[derive(Debug)]
pub(crate) struct Phase {
    state: Mutex<State>,
}

impl Phase {
    fn new() -> Self {
        Self {
            state: Mutex::new(State {
                stage: Stage::Head,
                since: Instant::now(),
                waker: None,
            }),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// A request head was parsed: no head or idle deadline until it is
    /// answered.
    pub(crate) fn begin_request(&self) {
        self.with(|state| {
            state.stage = Stage::Handling;
            state.since = Instant::now();
        });
    }

    /// The request was answered: the connection waits for the next one.
    pub(crate) fn end_request(&self) {
        let waker = self.with(|state| {
            state.stage = Stage::Waiting;
            state.since = Instant::now();
            state.waker.take()
        });
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    fn on_read(&self) {
        self.with(|state| {
            if state.stage == Stage::Waiting {
                state.stage = Stage::Head;
                state.since = Instant::now();
            }
        });
    }

    fn on_write(&self) {
        self.with(|state| {
            // A write outside a request is an answer hyper gave itself (a
            // malformed head); either way the head is over.
            if state.stage != Stage::Handling {
                state.stage = Stage::Waiting;
                state.since = Instant::now();
            }
        });
    }

    /// The deadline for the next byte, if any; `waker` is woken when a
    /// stage change could move it.
    fn deadline(&self, limits: Timeouts, waker: &Waker) -> Option<(Instant, Stage)> {
        self.with(|state| {
            if !state
                .waker
                .as_ref()
                .is_some_and(|known| known.will_wake(waker))
            {
                state.waker = Some(waker.clone());
            }
            match state.stage {
                Stage::Waiting => Some((state.since + limits.idle, Stage::Waiting)),
                Stage::Head => Some((state.since + limits.head, Stage::Head)),
                Stage::Handling => None,
            }
        })
    }
}

/// The two deadlines a [`PhasedStream`] enforces.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeouts {
    pub(crate) head: Duration,
    pub(crate) idle: Duration,
}

/// Every open connection's [`Phase`], by peer address.
#[derive(Debug, Clone, Default)]
pub(crate) struct Phases {
    open: Arc<Mutex<HashMap<SocketAddr, Arc<Phase>>>>,
}

impl Phases {
    fn register(&self, peer: SocketAddr) -> Arc<Phase> {
        let phase = Arc::new(Phase::new());
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(peer, Arc::clone(&phase));
        phase
    }

    fn forget(&self, peer: SocketAddr, phase: &Arc<Phase>) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        // The address may already belong to a newer connection.
        if open
            .get(&peer)
            .is_some_and(|known| Arc::ptr_eq(known, phase))
        {
            open.remove(&peer);
        }
    }

    /// The phase of the connection from `peer`, if it is open.
    pub(crate) fn get(&self, peer: SocketAddr) -> Option<Arc<Phase>> {
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&peer)
            .cloned()
    }

    /// Wraps the stream of a connection from `peer`.
    pub(crate) fn wrap<S>(
        &self,
        stream: S,
        peer: Option<SocketAddr>,
        limits: Timeouts,
    ) -> PhasedStream<S> {
        PhasedStream {
            inner: stream,
            phase: peer.map(|peer| (peer, self.register(peer))),
            phases: self.clone(),
            limits,
            sleep: Box::pin(tokio::time::sleep(limits.head)),
        }
    }
}

/// A connection's stream that closes it past its head or idle deadline.
pub(crate) struct PhasedStream<S> {
    inner: S,
    /// `None` when the peer address is unknown: then nothing is enforced
    /// here (salvo's transport idle timeout still is).
    phase: Option<(SocketAddr, Arc<Phase>)>,
    phases: Phases,
    limits: Timeouts,
    sleep: Pin<Box<Sleep>>,
}

impl<S> Drop for PhasedStream<S> {
    fn drop(&mut self) {
        if let Some((peer, phase)) = &self.phase {
            self.phases.forget(*peer, phase);
        }
    }
}

fn timed_out(stage: Stage) -> IoError {
    let what = match stage {
        Stage::Head => "request head not received in time",
        _ => "keep-alive connection idle too long",
    };
    tracing::debug!(reason = what, "closing connection");
    IoError::new(ErrorKind::TimedOut, what)
}

impl<S: AsyncRead + Unpin> AsyncRead for PhasedStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        let Some((_, phase)) = &this.phase else {
            return polled;
        };
        match polled {
            Poll::Ready(Ok(())) if buf.filled().len() > before => {
                phase.on_read();
                // A byte arriving after the head deadline does not save it.
                if let Some((deadline, stage)) = phase.deadline(this.limits, cx.waker())
                    && stage == Stage::Head
                    && Instant::now() >= deadline
                {
                    return Poll::Ready(Err(timed_out(stage)));
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending => match phase.deadline(this.limits, cx.waker()) {
                Some((deadline, stage)) => {
                    if this.sleep.deadline() != deadline {
                        this.sleep.as_mut().reset(deadline);
                    }
                    if this.sleep.as_mut().poll(cx).is_ready() {
                        Poll::Ready(Err(timed_out(stage)))
                    } else {
                        Poll::Pending
                    }
                }
                None => Poll::Pending,
            },
            other => other,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for PhasedStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let (Poll::Ready(Ok(n)), Some((_, phase))) = (&polled, &self.phase)
            && *n > 0
        {
            phase.on_write();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if let (Poll::Ready(Ok(n)), Some((_, phase))) = (&polled, &self.phase)
            && *n > 0
        {
            phase.on_write();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
