//! Idempotency keys: claim, replay, mismatch, release, expiry.

use tasker_core::clock::Clock;
use tasker_core::store::{IDEMPOTENCY_TTL, IdempotencyClaim, IdempotencyStore, StoredResponse};
use time::Duration;

use crate::support::{Ctx, T0, contract, user};

contract!(
    a_key_is_claimed_once_then_replays_its_response,
    keys_belong_to_one_user,
    a_released_key_can_be_claimed_again_but_a_completed_one_stays,
    expired_and_abandoned_claims_are_replaced_and_pruned,
    of_concurrent_claims_of_one_key_exactly_one_wins,
);

fn response() -> StoredResponse {
    StoredResponse {
        status: 201,
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("location".into(), "/api/v1/todos/1".into()),
        ],
        // Not UTF-8, so that the bytes are stored as bytes.
        body: vec![b'{', 0, 0xff, 0xfe, b'}'],
    }
}

async fn claim(ctx: &Ctx, who: &str, key: &str, fingerprint: &str) -> IdempotencyClaim {
    let now = ctx.clock.now();
    ctx.store
        .claim_idempotency_key(
            &user(who),
            key,
            fingerprint,
            now,
            now - IDEMPOTENCY_TTL,
            now - Duration::minutes(5),
        )
        .await
        .unwrap()
}

async fn a_key_is_claimed_once_then_replays_its_response(ctx: Ctx) {
    assert_eq!(
        claim(&ctx, "alice", "k1", "f1").await,
        IdempotencyClaim::Claimed
    );
    assert_eq!(
        claim(&ctx, "alice", "k1", "f1").await,
        IdempotencyClaim::InProgress
    );
    assert_eq!(
        claim(&ctx, "alice", "k1", "f2").await,
        IdempotencyClaim::Mismatch
    );
    ctx.store
        .complete_idempotency_key(&user("alice"), "k1", &response())
        .await
        .unwrap();
    assert_eq!(
        claim(&ctx, "alice", "k1", "f1").await,
        IdempotencyClaim::Completed(response())
    );
    assert_eq!(
        claim(&ctx, "alice", "k1", "f2").await,
        IdempotencyClaim::Mismatch
    );
}

async fn keys_belong_to_one_user(ctx: Ctx) {
    assert_eq!(
        claim(&ctx, "alice", "k", "f").await,
        IdempotencyClaim::Claimed
    );
    assert_eq!(
        claim(&ctx, "bob", "k", "f").await,
        IdempotencyClaim::Claimed
    );
    ctx.store
        .complete_idempotency_key(&user("bob"), "k", &response())
        .await
        .unwrap();
    assert_eq!(
        claim(&ctx, "alice", "k", "f").await,
        IdempotencyClaim::InProgress
    );
}

async fn a_released_key_can_be_claimed_again_but_a_completed_one_stays(ctx: Ctx) {
    let alice = user("alice");
    assert_eq!(
        claim(&ctx, "alice", "k", "f").await,
        IdempotencyClaim::Claimed
    );
    ctx.store
        .release_idempotency_key(&alice, "k")
        .await
        .unwrap();
    assert_eq!(
        claim(&ctx, "alice", "k", "other").await,
        IdempotencyClaim::Claimed
    );
    ctx.store
        .complete_idempotency_key(&alice, "k", &response())
        .await
        .unwrap();
    ctx.store
        .release_idempotency_key(&alice, "k")
        .await
        .unwrap();
    assert!(matches!(
        claim(&ctx, "alice", "k", "other").await,
        IdempotencyClaim::Completed(_)
    ));
}

async fn expired_and_abandoned_claims_are_replaced_and_pruned(ctx: Ctx) {
    let alice = user("alice");
    assert_eq!(
        claim(&ctx, "alice", "done", "f").await,
        IdempotencyClaim::Claimed
    );
    ctx.store
        .complete_idempotency_key(&alice, "done", &response())
        .await
        .unwrap();
    assert_eq!(
        claim(&ctx, "alice", "stuck", "f").await,
        IdempotencyClaim::Claimed
    );
    // Four minutes on, the claim without a response still holds.
    ctx.clock.advance(Duration::minutes(4));
    assert_eq!(
        claim(&ctx, "alice", "stuck", "f").await,
        IdempotencyClaim::InProgress
    );
    // Past five minutes it counts as abandoned; the completed key still replays.
    ctx.clock.advance(Duration::minutes(2));
    assert_eq!(
        claim(&ctx, "alice", "stuck", "f").await,
        IdempotencyClaim::Claimed
    );
    assert!(matches!(
        claim(&ctx, "alice", "done", "f").await,
        IdempotencyClaim::Completed(_)
    ));
    // A day on, the completed key is gone: the same key runs again.
    ctx.clock.advance(IDEMPOTENCY_TTL);
    assert_eq!(
        claim(&ctx, "alice", "done", "f").await,
        IdempotencyClaim::Claimed
    );
    // Pruning removes what is older than the TTL, and nothing younger.
    assert_eq!(
        claim(&ctx, "alice", "fresh", "f").await,
        IdempotencyClaim::Claimed
    );
    ctx.clock.advance(IDEMPOTENCY_TTL - Duration::minutes(1));
    let pruned = ctx.services.jobs.prune_idempotency_keys().await.unwrap();
    assert_eq!(
        pruned, 1,
        "only `stuck` (claimed at T0 + 6 min) is older than a day"
    );
    assert_eq!(ctx.services.jobs.prune_idempotency_keys().await.unwrap(), 0);
    assert_eq!(
        ctx.clock.now(),
        T0 + Duration::hours(48) + Duration::minutes(5)
    );
}

async fn of_concurrent_claims_of_one_key_exactly_one_wins(ctx: Ctx) {
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = ctx.store.clone();
        let now = ctx.clock.now();
        tasks.push(tokio::spawn(async move {
            store
                .claim_idempotency_key(
                    &user("alice"),
                    "race",
                    "f",
                    now,
                    now - IDEMPOTENCY_TTL,
                    now - Duration::minutes(5),
                )
                .await
                .unwrap()
        }));
    }
    let mut claimed = 0;
    for task in tasks {
        match task.await.unwrap() {
            IdempotencyClaim::Claimed => claimed += 1,
            IdempotencyClaim::InProgress => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(claimed, 1);
}
