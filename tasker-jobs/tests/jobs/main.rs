//! tasker-jobs integration tests: real Redis and SQLite queues, a real store,
//! a fake Resend/Clerk server on a local port.

mod support;

mod cron;
mod delivery;
mod directory;
mod failures;
mod housekeeping;
mod preferences;
mod priorities;
