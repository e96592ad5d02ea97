//! One documented operation per route. These functions are never called:
//! they carry the `#[utoipa::path]` descriptions the route table names, one
//! per operation, and the document is built from.
#![allow(dead_code)]

use super::schemas::*;

/// Lists the user's todos (root todos unless `parentTodoId` is given).
#[utoipa::path(get, path = "/api/v1/todos", tag = "Todo", operation_id = "getTodos",
    params(TodoListQuery),
    responses((status = 200, description = "A page of populated todos", body = TodoPage,
        links(
            ("NextPage" = (operation_id = "getTodos", parameters(("cursor" = "$response.body#/nextCursor"))))
        ))))]
fn get_todos() {}

/// Creates a todo (or a subtask, with `parentTodoId`).
#[utoipa::path(post, path = "/api/v1/todos", tag = "Todo", operation_id = "createTodo",
    request_body = CreateTodoRequest,
    responses((status = 201, description = "The new todo", body = Todo,
        links(
            ("GetTodoById" = (operation_id = "getTodoById", parameters(("id" = "$response.body#/id")))),
            ("UpdateTodo" = (operation_id = "updateTodo", parameters(("id" = "$response.body#/id")))),
            ("DeleteTodo" = (operation_id = "deleteTodo", parameters(("id" = "$response.body#/id")))),
            ("GetCommentsByTodoId" = (operation_id = "getCommentsByTodoId", parameters(("id" = "$response.body#/id")))),
            ("AddComment" = (operation_id = "addComment", parameters(("id" = "$response.body#/id")))),
            ("UploadTodoAttachment" = (operation_id = "uploadTodoAttachment", parameters(("id" = "$response.body#/id")))),
            ("GetSubtasks" = (operation_id = "getTodos", parameters(("parentTodoId" = "$response.body#/id"))))
        ))))]
fn create_todo() {}

/// The caller's settings: time zone and which recurring e-mails they get
/// (what they did not choose comes from the server's defaults).
#[utoipa::path(get, path = "/api/v1/me", tag = "User", operation_id = "getMe",
    responses((status = 200, description = "The settings", body = UserSettings)))]
fn get_me() {}

/// Changes the settings present in the body. An unknown time zone is a `400`
/// naming `timeZone`.
#[utoipa::path(patch, path = "/api/v1/me", tag = "User", operation_id = "updateMe",
    request_body = UpdateMeRequest,
    responses((status = 200, description = "The settings", body = UserSettings)))]
fn update_me() {}

/// Counts the user's todos by status.
#[utoipa::path(get, path = "/api/v1/todos/stats", tag = "Todo", operation_id = "getTodoStats",
    responses((status = 200, description = "Counts", body = TodoStats)))]
fn get_todo_stats() {}

/// One todo with its category, subtasks, comments and attachments.
#[utoipa::path(get, path = "/api/v1/todos/{id}", tag = "Todo", operation_id = "getTodoById",
    params(("id" = Uuid, Path, description = "Todo id")),
    responses((status = 200, description = "The todo", body = PopulatedTodo)))]
fn get_todo_by_id() {}

/// Changes the fields present in the body.
#[utoipa::path(patch, path = "/api/v1/todos/{id}", tag = "Todo", operation_id = "updateTodo",
    params(("id" = Uuid, Path, description = "Todo id")),
    request_body = UpdateTodoRequest,
    responses((status = 200, description = "The changed todo", body = Todo)))]
fn update_todo() {}

/// Deletes a todo with its subtasks, comments and attachments.
#[utoipa::path(delete, path = "/api/v1/todos/{id}", tag = "Todo", operation_id = "deleteTodo",
    params(("id" = Uuid, Path, description = "Todo id")),
    responses((status = 204, description = "Deleted")))]
fn delete_todo() {}

/// Uploads one file (multipart field `file`) to a todo.
#[utoipa::path(post, path = "/api/v1/todos/{id}/attachments", tag = "Todo",
    operation_id = "uploadTodoAttachment",
    params(("id" = Uuid, Path, description = "Todo id")),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 201, description = "The attachment", body = Attachment,
        links(
            ("GetAttachmentPresignedURL" = (operation_id = "getAttachmentPresignedURL",
                parameters(("id" = "$response.body#/todoId"), ("attachmentId" = "$response.body#/id")))),
            ("DeleteTodoAttachment" = (operation_id = "deleteTodoAttachment",
                parameters(("id" = "$response.body#/todoId"), ("attachmentId" = "$response.body#/id"))))
        ))))]
fn upload_todo_attachment() {}

/// Deletes an attachment and its file.
#[utoipa::path(delete, path = "/api/v1/todos/{id}/attachments/{attachmentId}", tag = "Todo",
    operation_id = "deleteTodoAttachment",
    params(("id" = Uuid, Path, description = "Todo id"),
           ("attachmentId" = Uuid, Path, description = "Attachment id")),
    responses((status = 204, description = "Deleted")))]
fn delete_todo_attachment() {}

/// A time-limited URL to download an attachment.
#[utoipa::path(get, path = "/api/v1/todos/{id}/attachments/{attachmentId}/download", tag = "Todo",
    operation_id = "getAttachmentPresignedURL",
    params(("id" = Uuid, Path, description = "Todo id"),
           ("attachmentId" = Uuid, Path, description = "Attachment id")),
    responses((status = 200, description = "The URL", body = DownloadUrl)))]
fn get_attachment_presigned_url() {}

/// The page of a one-click unsubscribe link (RFC 8058) from a recurring
/// e-mail: a button that switches that kind of e-mail off. Changes nothing
/// by itself (no bearer token needed).
#[utoipa::path(get, path = "/api/v1/unsubscribe/{token}", tag = "User",
    operation_id = "askToUnsubscribe",
    params(("token" = String, Path, description = "The signed token of the link")),
    responses((status = 200, description = "The page", content_type = "text/html", body = String)),
    security(()))]
fn ask_to_unsubscribe() {}

/// One-click unsubscribe (RFC 8058): switches the link's kind of e-mail off
/// for its user. Mail clients send the body `List-Unsubscribe=One-Click`,
/// which is not read (no bearer token needed).
#[utoipa::path(post, path = "/api/v1/unsubscribe/{token}", tag = "User", operation_id = "unsubscribe",
    params(("token" = String, Path, description = "The signed token of the link")),
    responses((status = 200, description = "Unsubscribed: a confirmation page", content_type = "text/html", body = String)),
    security(()))]
fn unsubscribe() {}

/// Fetches a file through a signed link (no bearer token needed).
#[utoipa::path(get, path = "/api/v1/files/{token}", tag = "Todo", operation_id = "downloadFile",
    params(("token" = String, Path, description = "The signed token of a download link")),
    responses((status = 200, description = "The file, with the type sniffed at upload", content_type = "*/*", body = Vec<u8>)),
    security(()))]
fn download_file() {}

/// Adds a comment to a todo.
#[utoipa::path(post, path = "/api/v1/todos/{id}/comments", tag = "Comment",
    operation_id = "addComment",
    params(("id" = Uuid, Path, description = "Todo id")),
    request_body = CommentRequest,
    responses((status = 201, description = "The comment", body = Comment,
        links(
            ("UpdateComment" = (operation_id = "updateComment", parameters(("id" = "$response.body#/id")))),
            ("DeleteComment" = (operation_id = "deleteComment", parameters(("id" = "$response.body#/id"))))
        ))))]
fn add_comment() {}

/// The comments of a todo, oldest first.
#[utoipa::path(get, path = "/api/v1/todos/{id}/comments", tag = "Comment",
    operation_id = "getCommentsByTodoId",
    params(("id" = Uuid, Path, description = "Todo id")),
    responses((status = 200, description = "The comments", body = Vec<Comment>)))]
fn get_comments_by_todo_id() {}

/// Edits a comment.
#[utoipa::path(patch, path = "/api/v1/comments/{id}", tag = "Comment", operation_id = "updateComment",
    params(("id" = Uuid, Path, description = "Comment id")),
    request_body = CommentRequest,
    responses((status = 200, description = "The comment", body = Comment)))]
fn update_comment() {}

/// Deletes a comment.
#[utoipa::path(delete, path = "/api/v1/comments/{id}", tag = "Comment", operation_id = "deleteComment",
    params(("id" = Uuid, Path, description = "Comment id")),
    responses((status = 204, description = "Deleted")))]
fn delete_comment() {}

/// Lists the user's categories.
#[utoipa::path(get, path = "/api/v1/categories", tag = "Category", operation_id = "getCategories",
    params(CategoryListQuery),
    responses((status = 200, description = "A page of categories", body = CategoryPage)))]
fn get_categories() {}

/// Creates a category.
#[utoipa::path(post, path = "/api/v1/categories", tag = "Category", operation_id = "createCategory",
    request_body = CreateCategoryRequest,
    responses((status = 201, description = "The category", body = Category,
        links(
            ("GetCategoryById" = (operation_id = "getCategoryById", parameters(("id" = "$response.body#/id")))),
            ("UpdateCategory" = (operation_id = "updateCategory", parameters(("id" = "$response.body#/id")))),
            ("DeleteCategory" = (operation_id = "deleteCategory", parameters(("id" = "$response.body#/id")))),
            ("GetTodosOfCategory" = (operation_id = "getTodos", parameters(("categoryId" = "$response.body#/id"))))
        ))))]
fn create_category() {}

/// One category.
#[utoipa::path(get, path = "/api/v1/categories/{id}", tag = "Category",
    operation_id = "getCategoryById",
    params(("id" = Uuid, Path, description = "Category id")),
    responses((status = 200, description = "The category", body = Category)))]
fn get_category_by_id() {}

/// Changes the fields present in the body.
#[utoipa::path(patch, path = "/api/v1/categories/{id}", tag = "Category",
    operation_id = "updateCategory",
    params(("id" = Uuid, Path, description = "Category id")),
    request_body = UpdateCategoryRequest,
    responses((status = 200, description = "The category", body = Category)))]
fn update_category() {}

/// Deletes a category; its todos keep existing without one.
#[utoipa::path(delete, path = "/api/v1/categories/{id}", tag = "Category",
    operation_id = "deleteCategory",
    params(("id" = Uuid, Path, description = "Category id")),
    responses((status = 204, description = "Deleted")))]
fn delete_category() {}

/// Health of the service and its dependencies (`503` when a check fails).
#[utoipa::path(get, path = "/api/status", tag = "Health", operation_id = "getHealth",
    responses((status = 200, description = "Healthy", body = HealthStatus),
              (status = 503, description = "A check failed", body = HealthStatus)),
    security(()))]
fn get_health() {}

/// The same as `/api/status`, at the root (for load balancers and probes).
#[utoipa::path(get, path = "/status", tag = "Health", operation_id = "getStatus",
    responses((status = 200, description = "Healthy", body = HealthStatus),
              (status = 503, description = "A check failed", body = HealthStatus)),
    security(()))]
fn get_status() {}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "Health", operation_id = "getOpenApi",
    responses((status = 200, description = "The OpenAPI document", body = Object)),
    security(()))]
fn get_openapi() {}

/// The interactive API explorer (redirects to `/docs/`).
#[utoipa::path(get, path = "/docs", tag = "Health", operation_id = "getDocs",
    responses((status = 308, description = "Redirect to `/docs/`")),
    security(()))]
fn get_docs() {}

/// The interactive API explorer.
#[utoipa::path(get, path = "/docs/", tag = "Health", operation_id = "getDocsIndex",
    responses((status = 200, description = "The explorer page", content_type = "text/html", body = String)),
    security(()))]
fn get_docs_index() {}

/// The explorer's bundled assets.
#[utoipa::path(get, path = "/docs/{asset}", tag = "Health", operation_id = "getDocsAsset",
    params(("asset" = String, Path, description = "Asset file name")),
    responses((status = 200, description = "The asset", content_type = "*/*", body = Vec<u8>)),
    security(()))]
fn get_docs_asset() {}
