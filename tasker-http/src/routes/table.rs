//! The entries of the route table.

use http::{Method, request::Parts};
use tasker_core::store::Store;

use super::{Access, BodyLimit, Handler, Operation, PathParams, Route, RouteMatch};
use crate::{
    api::{attachments, categories, comments, me, system, todos, unsubscribe},
    openapi::{self, Operation as Doc, paths},
};

/// A read (`GET`): no body, no idempotency.
fn read<S>(handler: Handler<S>, doc: Doc) -> Operation<S> {
    Operation {
        method: Method::GET,
        handler,
        body: BodyLimit::Empty,
        idempotent: false,
        doc,
    }
}

/// A write: `Idempotency-Key` applies.
fn write<S>(method: Method, body: BodyLimit, handler: Handler<S>, doc: Doc) -> Operation<S> {
    Operation {
        method,
        handler,
        body,
        idempotent: true,
        doc,
    }
}

/// The path parameters of the matched route.
fn params(parts: &Parts) -> &PathParams {
    static NONE: PathParams = PathParams { pairs: Vec::new() };
    parts
        .extensions
        .get::<RouteMatch>()
        .map_or(&NONE, |matched| &matched.params)
}

/// Every route. A new route is one entry here (and its handler and
/// `#[utoipa::path]` function).
pub(crate) fn table<S: Store + 'static>() -> Vec<Route<S>> {
    use Access::{Authenticated, Public, SignedLink};
    use BodyLimit::{Empty, Json, Upload};
    use Method as M;
    use openapi::operation as doc;
    let route = |template, access, operations| Route {
        template,
        access,
        operations,
    };
    vec![
        route(
            "/api/v1/todos",
            Authenticated,
            vec![
                read(
                    |s, r| Box::pin(async move { todos::list(&s, &r.into_parts().0).await }),
                    doc::<paths::__path_get_todos>,
                ),
                write(
                    M::POST,
                    Json,
                    |s, r| {
                        Box::pin(async move {
                            let (p, b) = r.into_parts();
                            todos::create(&s, &p, b).await
                        })
                    },
                    doc::<paths::__path_create_todo>,
                ),
            ],
        ),
        route(
            "/api/v1/me",
            Authenticated,
            vec![
                read(
                    |s, r| Box::pin(async move { me::get(&s, &r.into_parts().0).await }),
                    doc::<paths::__path_get_me>,
                ),
                write(
                    M::PATCH,
                    Json,
                    |s, r| {
                        Box::pin(async move {
                            let (p, b) = r.into_parts();
                            me::update(&s, &p, b).await
                        })
                    },
                    doc::<paths::__path_update_me>,
                ),
            ],
        ),
        route(
            "/api/v1/todos/stats",
            Authenticated,
            vec![read(
                |s, r| Box::pin(async move { todos::stats(&s, &r.into_parts().0).await }),
                doc::<paths::__path_get_todo_stats>,
            )],
        ),
        route(
            "/api/v1/todos/{id}",
            Authenticated,
            vec![
                read(
                    |s, r| {
                        Box::pin(async move {
                            let p = r.into_parts().0;
                            todos::get(&s, &p, params(&p)).await
                        })
                    },
                    doc::<paths::__path_get_todo_by_id>,
                ),
                write(
                    M::PATCH,
                    Json,
                    |s, r| {
                        Box::pin(async move {
                            let (p, b) = r.into_parts();
                            todos::update(&s, &p, params(&p), b).await
                        })
                    },
                    doc::<paths::__path_update_todo>,
                ),
                write(
                    M::DELETE,
                    Empty,
                    |s, r| {
                        Box::pin(async move {
                            let p = r.into_parts().0;
                            todos::delete(&s, &p, params(&p)).await
                        })
                    },
                    doc::<paths::__path_delete_todo>,
                ),
            ],
        ),
        route(
            "/api/v1/todos/{id}/comments",
            Authenticated,
            vec![
                read(
                    |s, r| {
                        Box::pin(async move {
                            let p = r.into_parts().0;
                            comments::list(&s, &p, params(&p)).await
                        })
                    },
                    doc::<paths::__path_get_comments_by_todo_id>,
                ),
                write(
                    M::POST,
                    Json,
                    |s, r| {
                        Box::pin(async move {
                            let (p, b) = r.into_parts();
                            comments::add(&s, &p, params(&p), b).await
                        })
                    },
                    doc::<paths::__path_add_comment>,
                ),
            ],
        ),
        route(
            "/api/v1/todos/{id}/attachments",
            Authenticated,
            vec![write(
                M::POST,
                Upload,
                |s, r| {
                    Box::pin(async move {
                        let (p, b) = r.into_parts();
                        attachments::upload(&s, &p, params(&p), b).await
                    })
                },
                doc::<paths::__path_upload_todo_attachment>,
            )],
        ),
        route(
            "/api/v1/todos/{id}/attachments/{attachmentId}",
            Authenticated,
            vec![write(
                M::DELETE,
                Empty,
                |s, r| {
                    Box::pin(async move {
                        let p = r.into_parts().0;
                        attachments::delete(&s, &p, params(&p)).await
                    })
                },
                doc::<paths::__path_delete_todo_attachment>,
            )],
        ),
        route(
            "/api/v1/todos/{id}/attachments/{attachmentId}/download",
            Authenticated,
            vec![read(
                |s, r| {
                    Box::pin(async move {
                        let p = r.into_parts().0;
                        attachments::link(&s, &p, params(&p)).await
                    })
                },
                doc::<paths::__path_get_attachment_presigned_url>,
            )],
        ),
        route(
            "/api/v1/comments/{id}",
            Authenticated,
            vec![
                write(
                    M::PATCH,
                    Json,
                    |s, r| {
                        Box::pin(async move {
                            let (p, b) = r.into_parts();
                            comments::update(&s, &p, params(&p), b).await
                        })
                    },
                    doc::<paths::__path_update_comment>,
                ),
                write(
                    M::DELETE,
                    Empty,
                    |s, r| {
                        Box::pin(async move {
                            let p = r.into_parts().0;
                            comments::delete(&s, &p, params(&p)).await
                        })
                    },
                    doc::<paths::__path_delete_comment>,
                ),
            ],
        ),
        route(
            "/api/v1/categories",
            Authenticated,
            vec![
                read(
                    |s, r| Box::pin(async move { categories::list(&s, &r.into_parts().0).await }),
                    doc::<paths::__path_get_categories>,
                ),
                write(
                    M::POST,
                    Json,
                    |s, r| {
                        Box::pin(async move {
                            let (p, b) = r.into_parts();
                            categories::create(&s, &p, b).await
                        })
                    },
                    doc::<paths::__path_create_category>,
                ),
            ],
        ),
        route(
            "/api/v1/categories/{id}",
            Authenticated,
            vec![
                read(
                    |s, r| {
                        Box::pin(async move {
                            let p = r.into_parts().0;
                            categories::get(&s, &p, params(&p)).await
                        })
                    },
                    doc::<paths::__path_get_category_by_id>,
                ),
                write(
                    M::PATCH,
                    Json,
                    |s, r| {
                        Box::pin(async move {
                            let (p, b) = r.into_parts();
                            categories::update(&s, &p, params(&p), b).await
                        })
                    },
                    doc::<paths::__path_update_category>,
                ),
                write(
                    M::DELETE,
                    Empty,
                    |s, r| {
                        Box::pin(async move {
                            let p = r.into_parts().0;
                            categories::delete(&s, &p, params(&p)).await
                        })
                    },
                    doc::<paths::__path_delete_category>,
                ),
            ],
        ),
        route(
            "/api/v1/unsubscribe/{token}",
            SignedLink,
            vec![
                read(
                    |s, r| {
                        Box::pin(async move {
                            let p = r.into_parts().0;
                            unsubscribe::ask(&s, params(&p)).await
                        })
                    },
                    doc::<paths::__path_ask_to_unsubscribe>,
                ),
                // The one-click POST of RFC 8058: its body is not read, and a
                // repeat switches off what is already off.
                Operation {
                    method: M::POST,
                    handler: |s, r| {
                        Box::pin(async move {
                            let p = r.into_parts().0;
                            unsubscribe::confirm(&s, params(&p)).await
                        })
                    },
                    body: Empty,
                    idempotent: false,
                    doc: doc::<paths::__path_unsubscribe>,
                },
            ],
        ),
        route(
            "/api/v1/files/{token}",
            SignedLink,
            vec![read(
                |s, r| {
                    Box::pin(async move {
                        let p = r.into_parts().0;
                        attachments::serve_file(&s, params(&p)).await
                    })
                },
                doc::<paths::__path_download_file>,
            )],
        ),
        route(
            "/status",
            Public,
            vec![read(
                |s, _| Box::pin(async move { system::status(&s).await }),
                doc::<paths::__path_get_status>,
            )],
        ),
        route(
            "/api/status",
            Public,
            vec![read(
                |s, _| Box::pin(async move { system::status(&s).await }),
                doc::<paths::__path_get_health>,
            )],
        ),
        route(
            "/openapi.json",
            Public,
            vec![read(
                |s, _| Box::pin(async move { Ok(system::openapi(&s)) }),
                doc::<paths::__path_get_openapi>,
            )],
        ),
        route(
            "/docs",
            Public,
            vec![read(
                |_, r| Box::pin(async move { system::docs("", &r.into_parts().0) }),
                doc::<paths::__path_get_docs>,
            )],
        ),
        route(
            "/docs/",
            Public,
            vec![read(
                |_, r| Box::pin(async move { system::docs("index.html", &r.into_parts().0) }),
                doc::<paths::__path_get_docs_index>,
            )],
        ),
        route(
            "/docs/{asset}",
            Public,
            vec![read(
                |_, r| {
                    Box::pin(async move {
                        let p = r.into_parts().0;
                        system::docs(params(&p).get("asset"), &p)
                    })
                },
                doc::<paths::__path_get_docs_asset>,
            )],
        ),
    ]
}
