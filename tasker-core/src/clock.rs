//! [`Clock`]: the only source of "now" for rules that depend on time.
//!
//! Overdue checks, `completedAt`, reminders, archiving and weekly reports all
//! ask a clock, so tests can pin them to fixed instants with [`ManualClock`].

use std::{
    fmt,
    sync::{Arc, Mutex},
};

use time::{Duration, OffsetDateTime};

use crate::domain::timestamp::normalize;

/// A source of the current instant (UTC, microsecond precision).
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// The current instant.
    fn now(&self) -> OffsetDateTime;
}

/// A clock shared between services.
pub type SharedClock = Arc<dyn Clock>;

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        normalize(OffsetDateTime::now_utc())
    }
}

/// A clock that only moves when told to; clones share the same instant.
///
/// ```
/// use time::{Duration, macros::datetime};
/// use tasker_core::clock::{Clock, ManualClock};
///
/// let clock = ManualClock::new(datetime!(2026-11-25 9:00 UTC));
/// clock.advance(Duration::hours(2));
/// assert_eq!(clock.now(), datetime!(2026-11-25 11:00 UTC));
/// ```
#[derive(Clone)]
pub struct ManualClock(Arc<Mutex<OffsetDateTime>>);

impl ManualClock {
    /// A clock stopped at `now`.
    pub fn new(now: OffsetDateTime) -> Self {
        Self(Arc::new(Mutex::new(normalize(now))))
    }

    /// Moves the clock to `now`.
    pub fn set(&self, now: OffsetDateTime) {
        *self.lock() = normalize(now);
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut now = self.lock();
        *now = normalize(*now + by);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, OffsetDateTime> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.lock()
    }
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ManualClock").field(&self.now()).finish()
    }
}
