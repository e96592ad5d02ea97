//! Who gets the e-mail: [`UserDirectory`], with a Clerk implementation and one
//! backed by the users tasker has seen.

use std::{
    collections::HashMap,
    fmt,
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use http_body_util::{BodyExt, Limited};
use serde::Deserialize;
use tasker_core::{domain::UserId, service::JobService, store::JobStore};
use tasker_mail::Recipient;

use crate::error::JobError;

/// The largest Clerk answer read, in bytes. A user object is a few
/// kilobytes; the limit keeps a broken or hostile endpoint (a misconfigured
/// `clerk.api_url`) from making a worker buffer an endless body.
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// The future a [`UserDirectory`] returns.
pub type LookupFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Option<Recipient>, JobError>> + Send + 'a>>;

/// Finds a user's e-mail address (and name) by user id.
///
/// `Ok(None)` means the user has no address: the e-mail is skipped, not retried.
pub trait UserDirectory: Send + Sync + fmt::Debug {
    /// Looks `user` up.
    fn lookup<'a>(&'a self, user: &'a UserId) -> LookupFuture<'a>;
}

/// The users tasker has seen, with the e-mail their tokens carried
/// (see [`JobService::remember_user`]).
#[derive(Clone)]
pub struct KnownUsers<S> {
    jobs: JobService<S>,
}

impl<S> fmt::Debug for KnownUsers<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KnownUsers").finish_non_exhaustive()
    }
}

impl<S: JobStore> KnownUsers<S> {
    /// A directory over the `known_users` table.
    pub fn new(jobs: JobService<S>) -> Self {
        Self { jobs }
    }
}

impl<S: JobStore> UserDirectory for KnownUsers<S> {
    fn lookup<'a>(&'a self, user: &'a UserId) -> LookupFuture<'a> {
        Box::pin(async move {
            let Some(known) = self.jobs.known_user(user).await? else {
                return Ok(None);
            };
            Ok(known.email.map(|email| {
                let recipient = Recipient::new(email);
                match known.name {
                    Some(name) => recipient.with_name(name),
                    None => recipient,
                }
            }))
        })
    }
}

/// Clerk's Backend API: `GET {base_url}/v1/users/{id}` with the secret key;
/// the primary e-mail address first, else the first one. Answers are cached
/// for `cache_ttl` (a missing user too), so a digest run asks once per user.
pub struct ClerkDirectory {
    client: reqwest::Client,
    base_url: String,
    secret_key: String,
    cache_ttl: Duration,
    cache: Mutex<HashMap<UserId, (Instant, Option<Recipient>)>>,
}

impl fmt::Debug for ClerkDirectory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClerkDirectory")
            .field("base_url", &self.base_url)
            .field("secret_key", &"[redacted]")
            .field("cache_ttl", &self.cache_ttl)
            .finish_non_exhaustive()
    }
}

/// Clerk's production API address.
pub const CLERK_API_URL: &str = "https://api.clerk.com";

impl ClerkDirectory {
    /// A directory for the Clerk instance of `secret_key` (`sk_…`), at
    /// [`CLERK_API_URL`], caching answers for five minutes.
    ///
    /// # Errors
    /// The HTTP client cannot be built (no TLS roots).
    pub fn new(secret_key: impl Into<String>) -> Result<Self, JobError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(JobError::ClerkClient)?;
        Ok(Self {
            client,
            base_url: CLERK_API_URL.into(),
            secret_key: secret_key.into(),
            cache_ttl: Duration::from_secs(300),
            cache: Mutex::default(),
        })
    }

    /// Another API address (a proxy, or a local fake in tests).
    #[must_use]
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into().trim_end_matches('/').to_owned();
        self
    }

    /// How long an answer is reused.
    #[must_use]
    pub fn with_cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache_ttl = ttl;
        self
    }

    fn cached(&self, user: &UserId) -> Option<Option<Recipient>> {
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .get(user)
            .filter(|(at, _)| at.elapsed() < self.cache_ttl)
            .map(|(_, recipient)| recipient.clone())
    }

    async fn fetch(&self, user: &UserId) -> Result<Option<Recipient>, JobError> {
        let url = format!("{}/v1/users/{}", self.base_url, user.as_str());
        let response = self
            .client
            .get(&url)
            .bearer_auth(&self.secret_key)
            .send()
            .await
            .map_err(JobError::ClerkRequest)?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(JobError::ClerkStatus { status });
        }
        let body = Limited::new(reqwest::Body::from(response), MAX_RESPONSE_BYTES)
            .collect()
            .await
            .map_err(|error| match error.downcast::<reqwest::Error>() {
                Ok(source) => JobError::ClerkRequest(source.without_url()),
                // The other error `Limited` gives is its `LengthLimitError`.
                Err(_) => JobError::ClerkResponseTooLarge {
                    url,
                    limit: MAX_RESPONSE_BYTES,
                },
            })?
            .to_bytes();
        let body: ClerkUser = serde_json::from_slice(&body).map_err(JobError::ClerkDecode)?;
        Ok(body.recipient())
    }
}

impl UserDirectory for ClerkDirectory {
    fn lookup<'a>(&'a self, user: &'a UserId) -> LookupFuture<'a> {
        Box::pin(async move {
            if let Some(hit) = self.cached(user) {
                return Ok(hit);
            }
            let found = self.fetch(user).await?;
            let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            if cache.len() > 10_000 {
                cache.retain(|_, (at, _)| at.elapsed() < self.cache_ttl);
            }
            cache.insert(user.clone(), (Instant::now(), found.clone()));
            Ok(found)
        })
    }
}

/// The part of Clerk's user object tasker reads.
#[derive(Debug, Deserialize)]
struct ClerkUser {
    first_name: Option<String>,
    last_name: Option<String>,
    primary_email_address_id: Option<String>,
    #[serde(default)]
    email_addresses: Vec<ClerkEmail>,
}

#[derive(Debug, Deserialize)]
struct ClerkEmail {
    id: String,
    email_address: String,
}

impl ClerkUser {
    fn recipient(self) -> Option<Recipient> {
        let primary = self.primary_email_address_id.as_deref();
        let email = self
            .email_addresses
            .iter()
            .find(|e| Some(e.id.as_str()) == primary)
            .or_else(|| self.email_addresses.first())?;
        let recipient = Recipient::new(email.email_address.clone());
        let name = [self.first_name, self.last_name]
            .into_iter()
            .flatten()
            .filter(|n| !n.trim().is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        Some(if name.is_empty() {
            recipient
        } else {
            recipient.with_name(name)
        })
    }
}

/// Asks each directory in turn; the first address wins (Clerk, then the
/// addresses seen in tokens, say).
#[derive(Debug, Clone)]
pub struct Chain(pub Vec<Arc<dyn UserDirectory>>);

impl UserDirectory for Chain {
    fn lookup<'a>(&'a self, user: &'a UserId) -> LookupFuture<'a> {
        Box::pin(async move {
            for directory in &self.0 {
                if let Some(found) = directory.lookup(user).await? {
                    return Ok(Some(found));
                }
            }
            Ok(None)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_primary_address_comes_first() {
        let user: ClerkUser = serde_json::from_str(
            r#"{"first_name":"Ada","last_name":null,"primary_email_address_id":"idn_2",
                "email_addresses":[{"id":"idn_1","email_address":"old@example.com"},
                                   {"id":"idn_2","email_address":"ada@example.com"}]}"#,
        )
        .unwrap();
        let recipient = user.recipient().unwrap();
        assert_eq!(recipient.email, "ada@example.com");
        assert_eq!(recipient.display_name().as_deref(), Some("Ada"));
        let none: ClerkUser = serde_json::from_str(
            r#"{"first_name":null,"last_name":null,"primary_email_address_id":null}"#,
        )
        .unwrap();
        assert!(none.recipient().is_none());
    }
}
