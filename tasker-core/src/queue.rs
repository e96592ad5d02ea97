//! The seam between the API and the job system: [`Enqueue`] and [`JobRequest`].
//!
//! tasker-core knows no queue. The job system (`tasker-jobs`) implements
//! [`Enqueue`] on its queue handle; the API and host applications hold an
//! `Arc<dyn Enqueue>` and ask for work without depending on it.
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use tasker_core::{domain::UserId, queue::{Enqueue, EnqueueFuture, JobRequest}};
//!
//! /// Runs nothing; remembers what was asked (a host's own queue would push it).
//! #[derive(Debug, Default)]
//! struct Recorder(Mutex<Vec<JobRequest>>);
//!
//! impl Enqueue for Recorder {
//!     fn enqueue(&self, request: JobRequest) -> EnqueueFuture<'_> {
//!         self.0.lock().unwrap().push(request);
//!         Box::pin(async { Ok(()) })
//!     }
//! }
//!
//! # async fn run() {
//! let queue: Arc<dyn Enqueue> = Arc::new(Recorder::default());
//! let user = UserId::parse("user_1").unwrap();
//! queue.enqueue(JobRequest::Welcome { user }).await.unwrap();
//! # }
//! ```

use std::{fmt, future::Future, pin::Pin};

use crate::domain::UserId;

/// Work the API or a host application can ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum JobRequest {
    /// Send the welcome e-mail to a user seen for the first time (once per user).
    Welcome {
        /// The new user.
        user: UserId,
    },
    /// Remove stored files that no attachment refers to any more.
    SweepOrphanBlobs,
}

/// The future [`Enqueue::enqueue`] returns.
pub type EnqueueFuture<'a> = Pin<Box<dyn Future<Output = Result<(), EnqueueError>> + Send + 'a>>;

/// Something that accepts [`JobRequest`]s: a queue handle.
///
/// Resolving `Ok` means the request is stored durably and will run at least once.
pub trait Enqueue: Send + Sync + fmt::Debug {
    /// Stores `request` for a worker.
    fn enqueue(&self, request: JobRequest) -> EnqueueFuture<'_>;
}

/// A request could not be stored; nothing was enqueued.
///
/// The queue's own error is the [`source`](std::error::Error::source).
#[derive(Debug, thiserror::Error)]
#[error("the job could not be enqueued")]
pub struct EnqueueError {
    #[source]
    source: Box<dyn std::error::Error + Send + Sync + 'static>,
}

impl EnqueueError {
    /// An error caused by `source` (the queue's error, or a message).
    pub fn new(source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>) -> Self {
        Self {
            source: source.into(),
        }
    }
}
