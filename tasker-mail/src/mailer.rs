//! The [`Mailer`] trait and its dyn-compatible twin [`DynMailer`].

use std::{future::Future, pin::Pin, sync::Arc};

use crate::{
    email::{Email, SendReceipt},
    error::Result,
};

/// Something that sends e-mail: Resend, SMTP, the preview folder, or a test double.
///
/// Errors say whether a retry may help ([`MailError::is_retryable`](crate::MailError::is_retryable)).
///
/// # Idempotency
///
/// Only Resend honours [`Email::idempotency_key`]: on [`send`](Self::send)
/// the message's key goes out as the `Idempotency-Key` header, and Resend
/// does not send a message with a key it saw in the last 24 hours again
/// ([`MailError::IdempotencyConflict`](crate::MailError::IdempotencyConflict)
/// when the content differs: treat it as sent). A batch call gets a key
/// derived from the keys of its messages, so only the very same batch is
/// recognised. SMTP and the preview ignore the key for deduplication (SMTP
/// derives the `Message-ID` from it, so duplicates can be recognised
/// downstream); nothing stops them from delivering a message twice.
///
/// So the job queue should send one message per event with [`send`](Self::send),
/// under its own key, and a key must name one exact piece of content,
/// rendered once: render again only under a new key.
pub trait Mailer: Send + Sync {
    /// Sends one message.
    ///
    /// The message is checked first (addresses, body, tags, idempotency key):
    /// an invalid one fails with a permanent error before anything is sent.
    fn send(&self, email: &Email) -> impl Future<Output = Result<SendReceipt>> + Send;

    /// Sends several messages, returning one receipt per message, in order.
    ///
    /// Every message is checked before the first is sent, so an invalid one
    /// fails the whole batch with nothing sent. Transports with a batch API
    /// use it; the others send one by one. On a later error some messages may
    /// already be sent, and only Resend recognises a repeated batch (the very
    /// same messages in the same order, every one with a key); prefer
    /// [`send`](Self::send) per message when exactly-once matters.
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
