#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(not(any(feature = "postgres", feature = "sqlite")))]
compile_error!(
    "tasker-core needs at least one storage backend: enable the `postgres` or `sqlite` feature"
);

pub mod blob;
pub mod clock;
pub mod domain;
mod error;
pub mod import;
pub mod model;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod query;
pub mod queue;
pub mod service;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;
pub mod unsubscribe;

pub use error::{BoxError, Error, Resource, Result};
