//! `/api/v1/unsubscribe/{token}`: one-click unsubscribe (RFC 8058) from the
//! links in the `List-Unsubscribe` header of recurring e-mails.
//!
//! `POST` (what mail clients send, with the body
//! `List-Unsubscribe=One-Click`, which is not read) switches the link's kind
//! off; `GET` (a person following the link) shows a page whose button sends
//! that `POST`, and changes nothing, so a link scanner that opens every URL
//! in a message does not unsubscribe anyone.

use http::{Response, StatusCode, header};
use tasker_core::{
    domain::UserId,
    model::{NotificationKind, SettingsChange},
    store::Store,
};

use super::AppState;
use crate::{
    body::{Body, full},
    error::ApiError,
    routes::PathParams,
};

/// The user and kind of the link's token.
fn verified<S>(
    state: &AppState<S>,
    params: &PathParams,
) -> Result<(UserId, NotificationKind), ApiError> {
    let links = state
        .unsubscribe
        .as_ref()
        .ok_or(ApiError::InvalidUnsubscribeLink)?;
    links
        .verify(params.get("token"))
        .ok_or(ApiError::InvalidUnsubscribeLink)
}

/// What the e-mails of `kind` are called on the page.
fn label(kind: NotificationKind) -> &'static str {
    match kind {
        NotificationKind::DueReminders => "reminders of todos due soon",
        NotificationKind::OverdueNotices => "notices of overdue todos",
        _ => "the weekly report",
    }
}

fn page(status: StatusCode, body: &str) -> Response<Body> {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\"><title>tasker</title></head>\
         <body style=\"font-family:sans-serif;max-width:32rem;margin:3rem auto\">{body}</body></html>"
    );
    let mut response = Response::new(full(html));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    response
}

/// `GET`: a page with the button that unsubscribes.
pub(crate) async fn ask<S: Store>(
    state: &AppState<S>,
    params: &PathParams,
) -> Result<Response<Body>, ApiError> {
    let (_, kind) = verified(state, params)?;
    Ok(page(
        StatusCode::OK,
        &format!(
            "<p>Stop getting {} by e-mail?</p>\
             <form method=\"post\"><button type=\"submit\">Unsubscribe</button></form>",
            label(kind)
        ),
    ))
}

/// `POST`: switches the kind off.
pub(crate) async fn confirm<S: Store>(
    state: &AppState<S>,
    params: &PathParams,
) -> Result<Response<Body>, ApiError> {
    let (user, kind) = verified(state, params)?;
    state
        .services
        .settings
        .update(&user, &SettingsChange::switch_off(kind))
        .await?;
    tracing::info!(user = user.as_str(), kind = kind.as_str(), "unsubscribed");
    Ok(page(
        StatusCode::OK,
        &format!(
            "<p>Done: you will get no more {} by e-mail. You can switch them on again in your \
             settings.</p>",
            label(kind)
        ),
    ))
}
