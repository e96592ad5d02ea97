#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod blob;
pub mod clock;
pub mod domain;
mod error;
pub mod model;
pub mod query;
pub mod service;
pub mod store;

pub use error::{BoxError, Error, Resource, Result};
