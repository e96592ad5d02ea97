//! Attachment rules: file and record together, never one left without the other.

use std::sync::Arc;

use bytes::Bytes;
use tasker_core::{
    Resource, Result,
    domain::{AttachmentName, UserId},
    model::{Attachment, NewAttachment, Page, PopulatedTodo, Todo, TodoStats},
    query::TodoQuery,
    service::AttachmentService,
    store::{AnyStore, AttachmentStore, TodoChanges, TodoStore},
};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::support::{Ctx, assert_not_found, contract, user};

contract!(
    an_upload_stores_the_file_and_its_record,
    deleting_an_attachment_removes_the_file,
    a_file_whose_record_fails_is_removed_again,
    attachments_of_other_users_are_not_found,
    deleting_a_todo_while_uploading_leaves_no_file_behind,
);

fn file(name: &str, content: &'static [u8]) -> NewAttachment {
    NewAttachment {
        name: AttachmentName::from_upload(name).unwrap(),
        mime_type: Some("application/pdf".into()),
        content: Bytes::from_static(content),
    }
}

/// Number of files under the blob directory.
fn files_on_disk(ctx: &Ctx) -> usize {
    fn walk(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| {
                        if e.path().is_dir() {
                            walk(&e.path())
                        } else {
                            1
                        }
                    })
                    .sum()
            })
            .unwrap_or(0)
    }
    walk(ctx.blob_dir.path())
}

async fn an_upload_stores_the_file_and_its_record(ctx: Ctx) {
    let alice = user("alice");
    let todo = ctx.todo(&alice, "With file").await;
    let stored = ctx
        .services
        .attachments
        .upload(&alice, todo.id, file("/home/alice/report.pdf", b"%PDF-1.7"))
        .await
        .unwrap();
    assert_eq!(stored.name, "report.pdf");
    assert_eq!(stored.file_size, Some(8));
    assert_eq!(stored.mime_type.as_deref(), Some("application/pdf"));
    assert_eq!(stored.uploaded_by, alice);
    assert_eq!(stored.todo_id, todo.id);
    let (record, bytes) = ctx
        .services
        .attachments
        .download(&alice, todo.id, stored.id)
        .await
        .unwrap();
    assert_eq!(record, stored);
    assert_eq!(bytes.as_ref(), b"%PDF-1.7");
    assert_eq!(files_on_disk(&ctx), 1);
}

async fn deleting_an_attachment_removes_the_file(ctx: Ctx) {
    let alice = user("alice");
    let todo = ctx.todo(&alice, "With file").await;
    let stored = ctx
        .services
        .attachments
        .upload(&alice, todo.id, file("a.pdf", b"abc"))
        .await
        .unwrap();
    ctx.services
        .attachments
        .delete(&alice, todo.id, stored.id)
        .await
        .unwrap();
    assert_not_found(
        ctx.services
            .attachments
            .get(&alice, todo.id, stored.id)
            .await,
        Resource::Attachment,
    );
    assert!(ctx.blobs.get(&stored.download_key).await.is_err());
    assert_eq!(files_on_disk(&ctx), 0);
    assert_not_found(
        ctx.services
            .attachments
            .delete(&alice, todo.id, stored.id)
            .await,
        Resource::Attachment,
    );
}

/// A real store in which the todo is deleted (by "another request") just
/// before the attachment record is written, so the insert really fails.
#[derive(Clone)]
struct TodoVanishes(AnyStore);

impl TodoStore for TodoVanishes {
    async fn insert_todo(&self, todo: &Todo) -> Result<Todo> {
        self.0.insert_todo(todo).await
    }
    async fn get_todo(&self, user: &UserId, id: Uuid) -> Result<Option<Todo>> {
        self.0.get_todo(user, id).await
    }
    async fn get_populated_todo(&self, user: &UserId, id: Uuid) -> Result<Option<PopulatedTodo>> {
        self.0.get_populated_todo(user, id).await
    }
    async fn count_children(&self, user: &UserId, id: Uuid) -> Result<u64> {
        self.0.count_children(user, id).await
    }
    async fn update_todo(
        &self,
        user: &UserId,
        id: Uuid,
        changes: &TodoChanges,
    ) -> Result<Option<Todo>> {
        self.0.update_todo(user, id, changes).await
    }
    async fn delete_todo(
        &self,
        user: &UserId,
        id: Uuid,
        expected_updated_at: Option<OffsetDateTime>,
    ) -> Result<Option<Vec<String>>> {
        self.0.delete_todo(user, id, expected_updated_at).await
    }
    async fn list_todos(
        &self,
        user: &UserId,
        query: &TodoQuery,
        now: OffsetDateTime,
    ) -> Result<Page<PopulatedTodo>> {
        self.0.list_todos(user, query, now).await
    }
    async fn todo_stats(&self, user: &UserId, now: OffsetDateTime) -> Result<TodoStats> {
        self.0.todo_stats(user, now).await
    }
}

impl AttachmentStore for TodoVanishes {
    async fn insert_attachment(&self, attachment: &Attachment) -> Result<Attachment> {
        self.0
            .delete_todo(&attachment.uploaded_by, attachment.todo_id, None)
            .await?;
        self.0.insert_attachment(attachment).await
    }
    async fn get_attachment(
        &self,
        user: &UserId,
        todo_id: Uuid,
        id: Uuid,
    ) -> Result<Option<Attachment>> {
        self.0.get_attachment(user, todo_id, id).await
    }
    async fn delete_attachment(
        &self,
        user: &UserId,
        todo_id: Uuid,
        id: Uuid,
    ) -> Result<Option<Attachment>> {
        self.0.delete_attachment(user, todo_id, id).await
    }
}

async fn a_file_whose_record_fails_is_removed_again(ctx: Ctx) {
    let alice = user("alice");
    let todo = ctx.todo(&alice, "Short-lived").await;
    let service = AttachmentService::new(
        TodoVanishes(ctx.store.clone()),
        Arc::new(ctx.clock.clone()),
        ctx.blobs.clone(),
    );
    let result = service
        .upload(&alice, todo.id, file("late.pdf", b"late"))
        .await;
    assert_not_found(result, Resource::Todo);
    assert_eq!(files_on_disk(&ctx), 0, "the orphaned file was removed");
}

async fn attachments_of_other_users_are_not_found(ctx: Ctx) {
    let (alice, bob) = (user("alice"), user("bob"));
    let todo = ctx.todo(&alice, "Alice's").await;
    let stored = ctx
        .services
        .attachments
        .upload(&alice, todo.id, file("a.pdf", b"secret"))
        .await
        .unwrap();
    let a = &ctx.services.attachments;
    assert_not_found(a.get(&bob, todo.id, stored.id).await, Resource::Attachment);
    assert_not_found(
        a.download(&bob, todo.id, stored.id).await,
        Resource::Attachment,
    );
    assert_not_found(
        a.delete(&bob, todo.id, stored.id).await,
        Resource::Attachment,
    );
    assert_not_found(
        a.upload(&bob, todo.id, file("b.pdf", b"x")).await,
        Resource::Todo,
    );
    // The right attachment id under the wrong todo is not found either.
    let other = ctx.todo(&alice, "Other").await;
    assert_not_found(
        a.get(&alice, other.id, stored.id).await,
        Resource::Attachment,
    );
    assert_eq!(
        a.download(&alice, todo.id, stored.id)
            .await
            .unwrap()
            .1
            .as_ref(),
        b"secret"
    );
    assert_eq!(files_on_disk(&ctx), 1);
}

async fn deleting_a_todo_while_uploading_leaves_no_file_behind(ctx: Ctx) {
    let alice = user("alice");
    for round in 0..20 {
        let todo = ctx.todo(&alice, &format!("racing {round}")).await;
        let upload = {
            let attachments = ctx.services.attachments.clone();
            let alice = alice.clone();
            tokio::spawn(async move {
                attachments
                    .upload(&alice, todo.id, file("race.pdf", b"race"))
                    .await
            })
        };
        let delete = {
            let todos = ctx.services.todos.clone();
            let alice = alice.clone();
            tokio::spawn(async move { todos.delete(&alice, todo.id).await })
        };
        let (upload, delete) = (upload.await.unwrap(), delete.await.unwrap());
        delete.expect("the delete always succeeds");
        if let Err(e) = upload {
            assert!(
                matches!(e, tasker_core::Error::NotFound(Resource::Todo)),
                "round {round}: {e:?}"
            );
        }
        assert_eq!(
            files_on_disk(&ctx),
            0,
            "round {round}: a file outlived its todo"
        );
    }
}
