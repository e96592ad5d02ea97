//! Comment rules: oldest first, author-only edits on the author's todos.

use tasker_core::{Resource, domain::CommentContent};
use time::Duration;

use crate::support::{Ctx, T0, assert_not_found, contract, user};

contract!(
    comments_are_listed_oldest_first,
    only_the_author_edits_or_deletes_a_comment,
    comments_need_an_existing_todo_of_the_user,
);

fn text(s: &str) -> CommentContent {
    CommentContent::parse(s).unwrap()
}

async fn comments_are_listed_oldest_first(ctx: Ctx) {
    let alice = user("alice");
    let todo = ctx.todo(&alice, "Discuss").await;
    let mut written = Vec::new();
    for i in 0..4 {
        written.push(ctx.comment(&alice, &todo, &format!("#{i}")).await);
        ctx.clock.advance(Duration::seconds(1));
    }
    assert_eq!(
        ctx.services.comments.list(&alice, todo.id).await.unwrap(),
        written
    );

    let edited = ctx
        .services
        .comments
        .update(&alice, written[1].id, text("edited"))
        .await
        .unwrap();
    assert_eq!(edited.content, "edited");
    assert_eq!(edited.created_at, T0 + Duration::seconds(1));
    assert_eq!(edited.updated_at, T0 + Duration::seconds(4));
    let listed = ctx.services.comments.list(&alice, todo.id).await.unwrap();
    assert_eq!(listed[1], edited, "editing keeps the order");

    ctx.services
        .comments
        .delete(&alice, written[0].id)
        .await
        .unwrap();
    assert_eq!(
        ctx.services
            .comments
            .list(&alice, todo.id)
            .await
            .unwrap()
            .len(),
        3
    );
}

async fn only_the_author_edits_or_deletes_a_comment(ctx: Ctx) {
    let (alice, bob) = (user("alice"), user("bob"));
    let todo = ctx.todo(&alice, "Alice's").await;
    let comment = ctx.comment(&alice, &todo, "mine").await;
    assert_not_found(
        ctx.services
            .comments
            .update(&bob, comment.id, text("hijack"))
            .await,
        Resource::Comment,
    );
    assert_not_found(
        ctx.services.comments.delete(&bob, comment.id).await,
        Resource::Comment,
    );
    assert_not_found(
        ctx.services
            .comments
            .add(&bob, todo.id, text("drive-by"))
            .await,
        Resource::Todo,
    );
    assert_not_found(
        ctx.services.comments.list(&bob, todo.id).await,
        Resource::Todo,
    );
    assert_eq!(
        ctx.services.comments.list(&alice, todo.id).await.unwrap(),
        vec![comment]
    );
}

async fn comments_need_an_existing_todo_of_the_user(ctx: Ctx) {
    let alice = user("alice");
    let missing = uuid::Uuid::now_v7();
    assert_not_found(
        ctx.services
            .comments
            .add(&alice, missing, text("hello"))
            .await,
        Resource::Todo,
    );
    assert_not_found(
        ctx.services
            .comments
            .update(&alice, missing, text("x"))
            .await,
        Resource::Comment,
    );
    assert_not_found(
        ctx.services.comments.delete(&alice, missing).await,
        Resource::Comment,
    );
}
