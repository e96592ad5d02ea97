//! Health checks reported by `GET /status`.

use std::{borrow::Cow, error::Error as StdError, fmt, future::Future, pin::Pin, sync::Arc};

/// A boxed, sendable future.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// A dependency check for `/status`: `Ok(())` when the dependency answers,
/// otherwise a [`HealthError`].
///
/// Closures returning a future implement it:
///
/// ```
/// use tasker_http::health::{HealthCheck, HealthError};
///
/// fn takes(check: impl HealthCheck) {}
/// takes(|| async { Ok::<(), HealthError>(()) });
/// ```
pub trait HealthCheck: Send + Sync + 'static {
    /// Runs the check once.
    fn check(&self) -> BoxFuture<Result<(), HealthError>>;
}

impl<F, Fut> HealthCheck for F
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), HealthError>> + Send + 'static,
{
    fn check(&self) -> BoxFuture<Result<(), HealthError>> {
        Box::pin(self())
    }
}

/// A failed [`HealthCheck`]: a short message that is safe to show on
/// `/status` (`unreachable`), and the dependency's own error as the
/// [`source`](std::error::Error::source), for the log only.
///
/// ```
/// use tasker_http::health::HealthError;
///
/// let error = HealthError::new("unreachable").with_source(std::io::Error::other("refused"));
/// assert_eq!(error.to_string(), "unreachable");
/// assert!(std::error::Error::source(&error).is_some());
/// ```
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct HealthError {
    message: Cow<'static, str>,
    #[source]
    source: Option<Box<dyn StdError + Send + Sync + 'static>>,
}

impl HealthError {
    /// A failure shown as `message`.
    pub fn new(message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            message: message.into(),
            source: None,
        }
    }

    /// The same failure, caused by `source`.
    #[must_use]
    pub fn with_source(
        mut self,
        source: impl Into<Box<dyn StdError + Send + Sync + 'static>>,
    ) -> Self {
        self.source = Some(source.into());
        self
    }

    /// The message shown on `/status`.
    pub fn message(&self) -> &str {
        &self.message
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
