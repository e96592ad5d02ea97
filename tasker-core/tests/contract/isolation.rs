//! Owner isolation: every operation on another user's data is "not found",
//! and leaves that data unchanged.

use bytes::Bytes;
use tasker_core::{
    Resource,
    domain::{AttachmentName, CategoryName, CommentContent, TodoStatus},
    model::{CategoryPatch, NewAttachment, TodoPatch},
    query::{CategoryQuery, TodoListParams, TodoQuery},
};

use crate::support::{Ctx, assert_not_found, contract, user};

contract!(every_operation_on_another_users_data_is_not_found);

async fn every_operation_on_another_users_data_is_not_found(ctx: Ctx) {
    let (alice, mallory) = (user("alice"), user("mallory"));
    let category = ctx.category(&alice, "Private").await;
    let todo = ctx
        .todo_with(&alice, "Secret", |n| n.category_id = Some(category.id))
        .await;
    let child = ctx.subtask(&alice, &todo, "Secret child").await;
    let comment = ctx.comment(&alice, &todo, "secret note").await;
    let file = NewAttachment {
        name: AttachmentName::parse("s.txt").unwrap(),
        mime_type: None,
        content: Bytes::from_static(b"s"),
    };
    let attachment = ctx
        .services
        .attachments
        .upload(&alice, todo.id, file.clone())
        .await
        .unwrap();
    let before = ctx.services.todos.get(&alice, todo.id).await.unwrap();
    let category_before = ctx
        .services
        .categories
        .get(&alice, category.id)
        .await
        .unwrap();

    let s = &ctx.services;
    let patch = TodoPatch {
        status: Some(TodoStatus::Completed),
        ..Default::default()
    };
    assert_not_found(s.todos.get(&mallory, todo.id).await, Resource::Todo);
    assert_not_found(s.todos.get(&mallory, child.id).await, Resource::Todo);
    assert_not_found(
        s.todos.update(&mallory, todo.id, patch.clone()).await,
        Resource::Todo,
    );
    assert_not_found(s.todos.delete(&mallory, todo.id).await, Resource::Todo);
    assert_not_found(s.todos.delete(&mallory, child.id).await, Resource::Todo);
    let children_of = TodoQuery::try_from(TodoListParams {
        parent_todo_id: Some(todo.id.to_string()),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(s.todos.list(&mallory, &children_of).await.unwrap().total, 0);
    assert_eq!(
        s.todos
            .list(&mallory, &TodoQuery::default())
            .await
            .unwrap()
            .total,
        0
    );
    let by_category = TodoQuery {
        category_id: Some(category.id),
        ..Default::default()
    };
    assert_eq!(s.todos.list(&mallory, &by_category).await.unwrap().total, 0);
    assert_eq!(s.todos.stats(&mallory).await.unwrap().total, 0);

    assert_not_found(
        s.categories.get(&mallory, category.id).await,
        Resource::Category,
    );
    let rename = CategoryPatch {
        name: Some(CategoryName::parse("Mine now").unwrap()),
        ..Default::default()
    };
    assert_not_found(
        s.categories.update(&mallory, category.id, rename).await,
        Resource::Category,
    );
    assert_not_found(
        s.categories.delete(&mallory, category.id).await,
        Resource::Category,
    );
    assert_eq!(
        s.categories
            .list(&mallory, &CategoryQuery::default())
            .await
            .unwrap()
            .total,
        0
    );

    let content = CommentContent::parse("pwned").unwrap();
    assert_not_found(s.comments.list(&mallory, todo.id).await, Resource::Todo);
    assert_not_found(
        s.comments.add(&mallory, todo.id, content.clone()).await,
        Resource::Todo,
    );
    assert_not_found(
        s.comments.update(&mallory, comment.id, content).await,
        Resource::Comment,
    );
    assert_not_found(
        s.comments.delete(&mallory, comment.id).await,
        Resource::Comment,
    );

    assert_not_found(
        s.attachments.get(&mallory, todo.id, attachment.id).await,
        Resource::Attachment,
    );
    assert_not_found(
        s.attachments
            .download(&mallory, todo.id, attachment.id)
            .await,
        Resource::Attachment,
    );
    assert_not_found(
        s.attachments.delete(&mallory, todo.id, attachment.id).await,
        Resource::Attachment,
    );
    assert_not_found(
        s.attachments.upload(&mallory, todo.id, file).await,
        Resource::Todo,
    );

    // Mallory's own todo cannot reach into Alice's tree either.
    let mine = ctx.todo(&mallory, "Mallory's").await;
    let adopt = TodoPatch {
        parent_todo_id: Some(Some(todo.id)),
        category_id: Some(Some(category.id)),
        ..Default::default()
    };
    assert_not_found(
        s.todos.update(&mallory, mine.id, adopt).await,
        Resource::ParentTodo,
    );

    assert_eq!(
        s.todos.get(&alice, todo.id).await.unwrap(),
        before,
        "Alice's todo is unchanged"
    );
    assert_eq!(
        s.categories.get(&alice, category.id).await.unwrap(),
        category_before
    );
}
