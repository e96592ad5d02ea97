//! Reading a third-party response body with a size limit.
//!
//! `Response::json`, `bytes` and `text` read whatever the peer sends; a body
//! is read here chunk by chunk instead, refused as soon as it passes the
//! limit (or at once, when its `Content-Length` already does).
//!
//! The same file is in tasker-http, tasker-mail and tasker-jobs: tasker-mail
//! depends on no other tasker crate, so none of them can share it without
//! a new dependency. Keep the copies alike.

/// Why a response body could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReadError {
    /// The body is larger than the limit.
    #[error("{from} answered more than {limit} bytes")]
    TooLarge {
        /// Who answered (the provider, and the URL when it is safe to show).
        from: String,
        /// The limit, in bytes.
        limit: usize,
    },
    /// The connection failed while the body was read.
    #[error("reading the answer of {from} failed")]
    Http {
        /// Who answered.
        from: String,
        /// The cause.
        #[source]
        source: reqwest::Error,
    },
}

/// The body of `response`, at most `limit` bytes; `from` names who answered.
pub(crate) async fn read_limited(
    mut response: reqwest::Response,
    limit: usize,
    from: &str,
) -> Result<Vec<u8>, ReadError> {
    let too_large = || ReadError::TooLarge {
        from: from.to_owned(),
        limit,
    };
    if response
        .content_length()
        .is_some_and(|length| length > limit as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|source| ReadError::Http {
        from: from.to_owned(),
        source: source.without_url(),
    })? {
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
