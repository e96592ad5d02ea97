//! The storage contract suite: every case runs against PostgreSQL and SQLite.
//!
//! Cases are plain `async fn(Ctx)`; `contract!` turns each into one test per
//! backend (`<module>::postgres::<case>` and `<module>::sqlite::<case>`).
//! PostgreSQL cases each get a fresh database on the server at
//! `TASKER_TEST_DATABASE_URL`; SQLite cases a fresh file.

#![allow(missing_docs, unreachable_pub)]

mod support;

mod attachments;
mod categories;
mod comments;
mod idempotency;
mod isolation;
mod jobs;
mod json_shape;
mod listing;
mod races;
mod schema;
mod settings;
mod statements;
mod todos;
mod versions;
