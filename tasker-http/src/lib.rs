#![doc = include_str!("../README.md")]

mod api;
pub mod auth;
pub mod body;
mod client_ip;
mod conditional;
pub mod download;
mod error;
mod extract;
pub mod health;
pub mod idempotency;
pub mod openapi;
mod pipeline;
pub mod rate_limit;
pub mod request_id;
mod response;
mod routes;
mod security_headers;
mod service;
mod settings;
pub mod trace;
pub mod users;

pub use auth::AuthUser;
pub use body::{Body, RequestBody};
pub use client_ip::ClientAddr;
pub use error::{ApiError, ErrorAction, ErrorBody, ErrorContext, FieldErrorBody, Result};
pub use openapi::openapi;
pub use routes::{MatchedRoute, routes};
pub use service::{TaskerApi, TaskerApiBuilder};
pub use settings::{CorsSettings, DownloadSettings, HttpSettings, RateLimitSettings};
