//! Health checks reported by `GET /status`.

use std::{fmt, future::Future, pin::Pin, sync::Arc};

/// A boxed, sendable future.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// A dependency check for `/status`: `Ok(())` when the dependency answers,
/// otherwise a short error that is safe to show.
///
/// Closures returning a future implement it:
///
/// ```
/// use tasker_http::health::HealthCheck;
///
/// fn takes(check: impl HealthCheck) {}
/// takes(|| async { Ok::<(), String>(()) });
/// ```
pub trait HealthCheck: Send + Sync + 'static {
    /// Runs the check once.
    fn check(&self) -> BoxFuture<Result<(), String>>;
}

impl<F, Fut> HealthCheck for F
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    fn check(&self) -> BoxFuture<Result<(), String>> {
        Box::pin(self())
    }
}

/// Named checks, in the order they were added.
#[derive(Clone, Default)]
pub(crate) struct HealthChecks {
    pub(crate) checks: Vec<(String, Arc<dyn HealthCheck>)>,
}

impl fmt::Debug for HealthChecks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.checks.iter().map(|(name, _)| name))
            .finish()
    }
}
