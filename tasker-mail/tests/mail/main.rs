//! Integration tests of tasker-mail: transports against local fakes, templates, previews.

mod config;
mod preview;
mod resend;
mod smtp;
mod support;
mod templates;
