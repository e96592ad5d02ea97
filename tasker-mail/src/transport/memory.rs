//! [`MemoryMailer`]: keeps messages in memory, for tests of code that sends e-mail.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex, MutexGuard},
};

use crate::{
    config::TransportKind,
    email::{Email, SendReceipt},
    error::{MailError, Result},
    mailer::Mailer,
};

/// A test double: records every message it is given, and fails on demand.
///
/// Clones share the same record, so a test keeps one clone and hands the
/// other to the code under test.
///
/// ```
/// use tasker_mail::{Email, Mailer, MemoryMailer};
///
/// # tokio_test_block(async {
/// let mailer = MemoryMailer::new();
/// mailer.send(&Email::new("a@example.com", "Hi").with_text("Hello")).await.unwrap();
/// assert_eq!(mailer.sent()[0].subject, "Hi");
/// # });
/// # fn tokio_test_block(f: impl std::future::Future<Output = ()>) {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct MemoryMailer {
    state: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    sent: Vec<Email>,
    failures: VecDeque<MailError>,
}

impl MemoryMailer {
    /// An empty mailer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every message accepted so far, oldest first.
    pub fn sent(&self) -> Vec<Email> {
        self.lock().sent.clone()
    }

    /// Forgets the accepted messages.
    pub fn clear(&self) {
        self.lock().sent.clear();
    }

    /// Makes the next send fail with `error` (queued: call again for more failures).
    pub fn fail_next(&self, error: MailError) {
        self.lock().failures.push_back(error);
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn accept(&self, email: &Email) -> Result<SendReceipt> {
        let mut state = self.lock();
        if let Some(error) = state.failures.pop_front() {
            return Err(error);
        }
        state.sent.push(email.clone());
        Ok(SendReceipt::new(
            TransportKind::Memory,
            format!("memory-{}", state.sent.len()),
        ))
    }
}

impl Mailer for MemoryMailer {
    async fn send(&self, email: &Email) -> Result<SendReceipt> {
        self.accept(email)
    }

    async fn send_batch(&self, emails: &[Email]) -> Result<Vec<SendReceipt>> {
        emails.iter().map(|email| self.accept(email)).collect()
    }
}
