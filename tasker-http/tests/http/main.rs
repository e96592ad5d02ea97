//! HTTP tests: the API over real PostgreSQL and SQLite, called as a tower
//! service (and over TCP in `mounting`).

mod attachments;
mod categories;
mod comments;
mod conditional;
mod document;
mod errors;
mod isolation;
mod mounting;
mod rate_limit;
mod support;
mod todos;
