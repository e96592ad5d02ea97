//! The Clerk user directory against a local fake of Clerk's Backend API.

use std::time::Duration;

use tasker_core::domain::UserId;
use tasker_jobs::{ClerkDirectory, JobError, UserDirectory};

use crate::support::Fake;

#[tokio::test]
async fn clerk_lookups_use_the_primary_address_and_are_cached() {
    let fake = Fake::start().await;
    fake.add_clerk_user(
        "user_1",
        serde_json::json!({
            "first_name": "Ada", "last_name": "Lovelace",
            "primary_email_address_id": "idn_b",
            "email_addresses": [
                {"id": "idn_a", "email_address": "old@example.com"},
                {"id": "idn_b", "email_address": "ada@example.com"}
            ]
        }),
    );
    let clerk = ClerkDirectory::new("sk_test_x")
        .unwrap()
        .with_base_url(fake.url.clone())
        .with_cache_ttl(Duration::from_millis(300));
    let user = UserId::parse("user_1").unwrap();
    let found = clerk.lookup(&user).await.unwrap().unwrap();
    assert_eq!(found.email, "ada@example.com");
    assert_eq!(found.display_name().as_deref(), Some("Ada Lovelace"));
    clerk.lookup(&user).await.unwrap();
    assert_eq!(fake.user_lookups(), 1, "the second lookup is cached");
    tokio::time::sleep(Duration::from_millis(400)).await;
    clerk.lookup(&user).await.unwrap();
    assert_eq!(fake.user_lookups(), 2, "the cache expires");

    let missing = UserId::parse("user_404").unwrap();
    assert!(clerk.lookup(&missing).await.unwrap().is_none());
}

#[tokio::test]
async fn clerk_outages_are_retryable() {
    let clerk = ClerkDirectory::new("sk_test_x")
        .unwrap()
        .with_base_url("http://127.0.0.1:9");
    let error = clerk
        .lookup(&UserId::parse("user_1").unwrap())
        .await
        .unwrap_err();
    assert!(error.is_retryable(), "{error}");
}

#[tokio::test]
async fn a_clerk_answer_past_the_size_limit_is_a_permanent_error_naming_clerk() {
    let fake = Fake::start().await;
    // A real user object, its metadata padded past the 1 MiB limit.
    fake.add_clerk_user(
        "user_big",
        serde_json::json!({
            "first_name": "Ada",
            "primary_email_address_id": "idn_a",
            "email_addresses": [{"id": "idn_a", "email_address": "ada@example.com"}],
            "public_metadata": {"notes": "x".repeat(1024 * 1024)}
        }),
    );
    let clerk = ClerkDirectory::new("sk_test_x")
        .unwrap()
        .with_base_url(fake.url.clone());
    let error = clerk
        .lookup(&UserId::parse("user_big").unwrap())
        .await
        .unwrap_err();
    assert!(
        matches!(
            &error,
            JobError::ClerkResponseTooLarge { url, limit: 1_048_576 }
                if url.ends_with("/v1/users/user_big")
        ),
        "{error:?}"
    );
    assert!(!error.is_retryable(), "{error}");
    assert!(
        error.to_string().starts_with("Clerk user lookup http://"),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .ends_with("answered more than 1048576 bytes"),
        "{error}"
    );
}
