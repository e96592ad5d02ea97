//! Integration tests of tasker-http, one module per concern.

mod auth;
