//! [`EveryInterval`]: how an idle worker looks for new jobs.

use std::{
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use apalis::prelude::{PollSnapshot, PollStrategy};
use tokio::time::{Instant, Sleep};

/// Wakes a worker every `interval` to look for jobs.
///
/// apalis's own interval strategy arms the next delay without polling it, so
/// no waker is registered for that tick. When the fetch that follows finishes
/// on its first poll (an idle SQLite database answers that fast), nothing wakes
/// the worker again until its heartbeat, seconds later. Here the next delay is
/// polled as soon as it is armed, so a tick is always on its way.
pub(crate) struct EveryInterval {
    interval: Duration,
    sleep: Pin<Box<Sleep>>,
}

impl EveryInterval {
    pub(crate) fn new(interval: Duration) -> Self {
        Self {
            interval,
            sleep: Box::pin(tokio::time::sleep(interval)),
        }
    }
}

impl Clone for EveryInterval {
    fn clone(&self) -> Self {
        Self::new(self.interval)
    }
}

impl std::fmt::Debug for EveryInterval {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EveryInterval")
            .field("interval", &self.interval)
            .finish()
    }
}

impl PollStrategy for EveryInterval {
    fn poll_drive(&mut self, cx: &mut Context<'_>, _: &PollSnapshot) -> Poll<Option<()>> {
        if self.sleep.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        self.sleep.as_mut().reset(Instant::now() + self.interval);
        // Registers `cx`'s waker for the next tick (it cannot be ready yet).
        let _ = self.sleep.as_mut().poll(cx);
        Poll::Ready(Some(()))
    }
}

#[cfg(test)]
mod tests {
    use std::{
        sync::{
            Arc,
            atomic::{AtomicUsize, Ordering},
        },
        task::Wake,
    };

    use super::*;

    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[tokio::test]
    async fn after_a_tick_the_next_tick_is_already_armed() {
        let wakes = Arc::new(Count(AtomicUsize::new(0)));
        let waker = std::task::Waker::from(Arc::clone(&wakes));
        let mut cx = Context::from_waker(&waker);
        let snapshot = PollSnapshot::default();
        let mut strategy = EveryInterval::new(Duration::from_millis(20));
        assert!(strategy.poll_drive(&mut cx, &snapshot).is_pending());
        tokio::time::sleep(Duration::from_millis(40)).await;
        assert_eq!(
            strategy.poll_drive(&mut cx, &snapshot),
            Poll::Ready(Some(()))
        );
        // Nobody polls it again; the next tick must still wake the task (with
        // apalis's interval strategy it never does).
        let before = wakes.0.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(
            wakes.0.load(Ordering::SeqCst) > before,
            "the tick after a ready one wakes the worker by itself"
        );
    }
}
