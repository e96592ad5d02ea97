//! HTTP tests: the API over real PostgreSQL and SQLite, called as a tower
//! service (and over TCP in `mounting`), one module per concern.

mod attachments;
mod attacks;
mod auth;
mod categories;
mod comments;
mod conditional;
mod document;
mod errors;
mod faults;
mod frontend;
mod head;
mod idempotency;
mod isolation;
mod layers;
mod me;
mod mounting;
mod rate_limit;
mod support;
mod todos;
mod unsubscribe;
