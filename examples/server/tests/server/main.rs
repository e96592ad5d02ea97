//! End-to-end tests of the `tasker-server` binary: spawned on a free port,
//! driven over HTTP and through its commands.

mod attacks;
mod chaos;
mod config;
mod crash;
mod faults;
mod import;
mod lifecycle;
mod pgbouncer;
mod slow_clients;
mod storage;
mod support;
mod telemetry;
mod tls_redis;
mod walkthrough;
