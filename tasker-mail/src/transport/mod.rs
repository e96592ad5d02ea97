//! The transports: Resend, SMTP, the preview folder, and [`AnyMailer`] to pick one.

mod any;
mod preview;
mod resend;
mod smtp;

pub use any::AnyMailer;
pub use preview::PreviewMailer;
pub use resend::{RESEND_BATCH_LIMIT, ResendMailer};
pub use smtp::SmtpMailer;
