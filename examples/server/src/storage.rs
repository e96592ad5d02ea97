//! Attachment storage: a local directory, or any S3-compatible bucket.

use std::{sync::Arc, time::Duration};

use object_store::{
    aws::{AmazonS3, AmazonS3Builder},
    path::Path as ObjectPath,
    signer::{SignedUrlOptions, Signer},
};
use tasker_core::blob::BlobStore;
use tasker_http::{
    body::BoxError,
    download::{DownloadHeaders, Presign},
    health::BoxFuture,
};

use crate::{
    app::StartError,
    config::{Config, StorageBackend},
};

/// The blob store `storage.backend` names.
pub(crate) fn blob_store(config: &Config) -> Result<BlobStore, StartError> {
    match config.storage.backend {
        StorageBackend::Local => BlobStore::local(config.attachments_dir())
            .map_err(|e| StartError::dependency("attachment storage", e)),
        StorageBackend::S3 => Ok(BlobStore::new(s3(config)?)),
    }
}

/// A presigner for S3 download URLs, when S3 is used with `presign` on.
pub(crate) fn presigner(config: &Config) -> Result<Option<Arc<dyn Presign>>, StartError> {
    if config.storage.backend != StorageBackend::S3 || !config.storage.s3.presign {
        return Ok(None);
    }
    Ok(Some(Arc::new(S3Presigner(s3(config)?))))
}

fn s3(config: &Config) -> Result<Arc<AmazonS3>, StartError> {
    let s3 = &config.storage.s3;
    // AWS_* variables (credentials, session token, …) are honoured; explicit
    // settings win.
    let mut builder = AmazonS3Builder::from_env()
        .with_bucket_name(s3.bucket.clone().unwrap_or_default())
        .with_region(s3.region.clone());
    if let Some(endpoint) = &s3.endpoint {
        builder = builder.with_endpoint(endpoint.clone());
    }
    if let Some(key) = &s3.access_key_id {
        builder = builder.with_access_key_id(key.clone());
    }
    if let Some(secret) = &s3.secret_access_key {
        builder = builder.with_secret_access_key(secret.expose());
    }
    if s3.allow_http {
        builder = builder
            .with_allow_http(true)
            .with_virtual_hosted_style_request(false);
    }
    builder
        .build()
        .map(Arc::new)
        .map_err(|e| StartError::Config(format!("storage.s3: {e}")))
}

/// Presigned `GET` URLs from the bucket's credentials.
#[derive(Debug)]
struct S3Presigner(Arc<AmazonS3>);

impl Presign for S3Presigner {
    fn presign(
        &self,
        key: &str,
        ttl: Duration,
        headers: &DownloadHeaders,
    ) -> BoxFuture<Result<String, BoxError>> {
        let store = Arc::clone(&self.0);
        let path = ObjectPath::parse(key);
        // S3 answers a presigned GET with these response headers; they are
        // part of the signature, so the link cannot be altered to others.
        let options = SignedUrlOptions::default().with_query([
            ("response-content-type", headers.content_type()),
            (
                "response-content-disposition",
                headers.content_disposition(),
            ),
        ]);
        Box::pin(async move {
            let path = path?;
            let url = store
                .signed_url_opts(http::Method::GET, &path, ttl, &options)
                .await?;
            Ok(url.to_string())
        })
    }
}
