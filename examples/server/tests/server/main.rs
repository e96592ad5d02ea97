//! tasker-server end-to-end tests (filled in next).
