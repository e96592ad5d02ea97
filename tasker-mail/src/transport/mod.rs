//! The transports: Resend, SMTP, the preview folder, memory, and [`AnyMailer`] to pick one.

mod any;
mod memory;
mod preview;
mod resend;
mod smtp;

pub use any::AnyMailer;
pub use memory::MemoryMailer;
pub use preview::PreviewMailer;
pub use resend::{RESEND_BATCH_LIMIT, ResendMailer};
pub use smtp::SmtpMailer;
