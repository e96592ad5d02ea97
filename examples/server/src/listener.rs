//! A TCP acceptor that closes its socket when the stop token fires, so a
//! stopping server refuses new connections instead of leaving them in the
//! backlog while in-flight requests drain.

use std::{io::Result as IoResult, sync::Arc};

use salvo::conn::{Accepted, Acceptor, Holding, tcp::TcpAcceptor};
use salvo::fuse::ArcFusePolicy;
use tasker_jobs::CancellationToken;
use tokio::sync::Mutex;

pub(crate) struct ClosingAcceptor {
    inner: Arc<Mutex<Option<TcpAcceptor>>>,
    holdings: Vec<Holding>,
    stop: CancellationToken,
}

impl ClosingAcceptor {
    /// Must be called on the runtime: it spawns the task that closes the
    /// socket once `stop` fires (salvo drops a pending `accept` when it stops
    /// but keeps the acceptor until every connection has drained).
    pub(crate) fn new(inner: TcpAcceptor, stop: CancellationToken) -> Self {
        let holdings = inner.holdings().to_vec();
        let inner = Arc::new(Mutex::new(Some(inner)));
        let closer = Arc::clone(&inner);
        let stopped = stop.clone();
        tokio::spawn(async move {
            stopped.cancelled().await;
            closer.lock().await.take();
        });
        Self {
            inner,
            holdings,
            stop,
        }
    }
}

impl Acceptor for ClosingAcceptor {
    type Coupler = <TcpAcceptor as Acceptor>::Coupler;
    type Stream = <TcpAcceptor as Acceptor>::Stream;

    fn holdings(&self) -> &[Holding] {
        &self.holdings
    }

    async fn accept(
        &mut self,
        fuse_policy: Option<ArcFusePolicy>,
    ) -> IoResult<Accepted<Self::Coupler, Self::Stream>> {
        let stop = self.stop.clone();
        let mut guard = Arc::clone(&self.inner).lock_owned().await;
        let accepted = match guard.as_mut() {
            Some(inner) => tokio::select! {
                accepted = inner.accept(fuse_policy) => Some(accepted),
                () = stop.cancelled() => None,
            },
            None => None,
        };
        match accepted {
            Some(accepted) => accepted,
            None => {
                // Closing the socket makes new connections fail at once.
                guard.take();
                drop(guard);
                std::future::pending().await
            }
        }
    }
}
