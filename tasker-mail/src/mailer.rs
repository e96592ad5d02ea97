//! The [`Mailer`] trait and its dyn-compatible twin [`DynMailer`].

use std::{future::Future, pin::Pin, sync::Arc};

use crate::{
    email::{Email, SendReceipt},
    error::Result,
};

/// Something that sends e-mail: Resend, SMTP, the preview folder, or a test double.
///
/// Errors say whether a retry may help ([`MailError::is_retryable`](crate::MailError::is_retryable)).
pub trait Mailer: Send + Sync {
    /// Sends one message.
    fn send(&self, email: &Email) -> impl Future<Output = Result<SendReceipt>> + Send;

    /// Sends several messages, returning one receipt per message, in order.
    ///
    /// Transports with a batch API use it; the others send one by one. On an
    /// error some messages may already be sent: give each message an
    /// idempotency key so that sending the whole batch again is safe.
    fn send_batch(&self, emails: &[Email])
    -> impl Future<Output = Result<Vec<SendReceipt>>> + Send;
}

/// A boxed, `Send` future, as returned by [`DynMailer`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The dyn-compatible form of [`Mailer`], for `Arc<dyn DynMailer>`.
///
/// Every [`Mailer`] is a `DynMailer`, and `dyn DynMailer` is a [`Mailer`] again.
pub trait DynMailer: Send + Sync {
    /// Sends one message (see [`Mailer::send`]).
    fn send_dyn<'a>(&'a self, email: &'a Email) -> BoxFuture<'a, Result<SendReceipt>>;

    /// Sends several messages (see [`Mailer::send_batch`]).
    fn send_batch_dyn<'a>(&'a self, emails: &'a [Email])
    -> BoxFuture<'a, Result<Vec<SendReceipt>>>;
}

impl<M: Mailer> DynMailer for M {
    fn send_dyn<'a>(&'a self, email: &'a Email) -> BoxFuture<'a, Result<SendReceipt>> {
        Box::pin(self.send(email))
    }

    fn send_batch_dyn<'a>(
        &'a self,
        emails: &'a [Email],
    ) -> BoxFuture<'a, Result<Vec<SendReceipt>>> {
        Box::pin(self.send_batch(emails))
    }
}

impl Mailer for dyn DynMailer {
    async fn send(&self, email: &Email) -> Result<SendReceipt> {
        self.send_dyn(email).await
    }

    async fn send_batch(&self, emails: &[Email]) -> Result<Vec<SendReceipt>> {
        self.send_batch_dyn(emails).await
    }
}

impl<M: Mailer + ?Sized> Mailer for Arc<M> {
    fn send(&self, email: &Email) -> impl Future<Output = Result<SendReceipt>> + Send {
        (**self).send(email)
    }

    fn send_batch(
        &self,
        emails: &[Email],
    ) -> impl Future<Output = Result<Vec<SendReceipt>>> + Send {
        (**self).send_batch(emails)
    }
}

impl<M: Mailer + ?Sized> Mailer for &M {
    fn send(&self, email: &Email) -> impl Future<Output = Result<SendReceipt>> + Send {
        (**self).send(email)
    }

    fn send_batch(
        &self,
        emails: &[Email],
    ) -> impl Future<Output = Result<Vec<SendReceipt>>> + Send {
        (**self).send_batch(emails)
    }
}
