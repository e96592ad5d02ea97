//! Handlers, one module per resource. The route table (`routes.rs`) names
//! which one answers each route and method.

pub(crate) mod attachments;
pub(crate) mod categories;
pub(crate) mod comments;
pub(crate) mod me;
pub(crate) mod system;
pub(crate) mod todos;
pub(crate) mod unsubscribe;

use tasker_core::service::Services;

pub(crate) use attachments::MULTIPART_OVERHEAD;
pub(crate) use system::HealthChecks;

use crate::{download::DownloadLinks, settings::HttpSettings};

/// What every handler reads.
#[derive(Debug)]
pub(crate) struct AppState<S> {
    pub(crate) services: Services<S>,
    pub(crate) settings: HttpSettings,
    pub(crate) downloads: DownloadLinks,
    pub(crate) unsubscribe: Option<tasker_core::unsubscribe::UnsubscribeLinks>,
    pub(crate) health: HealthChecks,
    pub(crate) openapi_json: bytes::Bytes,
    pub(crate) uploads: tokio::sync::Semaphore,
}
