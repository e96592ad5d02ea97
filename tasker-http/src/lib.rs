#![doc = include_str!("../README.md")]

pub mod auth;
pub mod body;
mod error;

pub use auth::AuthUser;
pub use body::Body;
pub use error::{ApiError, ErrorAction, ErrorBody, ErrorContext, FieldErrorBody, Result};
