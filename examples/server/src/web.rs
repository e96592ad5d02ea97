//! The salvo application: the tasker API (through salvo's tower
//! compatibility), health probes, `/metrics` and the admin pages.

use std::{sync::Arc, time::Instant};

use metrics_exporter_prometheus::PrometheusHandle;
use salvo::{
    Depot, FlowCtrl, Handler, Request, Response, Router, async_trait,
    http::{ReqBody, StatusCode},
    prelude::TowerServiceCompat,
    writing::Text,
};
use serde_json::json;
use sha2::Digest;
use tasker_http::{
    AuthUser, ClientAddr, MatchedRoute, TaskerApi,
    auth::{JwtAuthenticator, bearer_token},
};
use tasker_jobs::{Priority, job_stats, job_stats_json};
use tasker_mail::preview;
use tower::ServiceExt;

use crate::{
    app::App,
    commands::{cron_job, template_kind},
    limits::RequestLimits,
};

/// Shared by every handler.
struct Web {
    app: App,
    metrics: Option<PrometheusHandle>,
    /// `None` only for the worker's probes, which have no admin routes.
    authenticator: Option<JwtAuthenticator>,
}

/// The whole router for `serve`; `authenticator` guards `/admin` (the API's
/// JWT layer uses the same one, so both share one key cache).
pub(crate) fn router(
    app: &App,
    api: TaskerApi,
    authenticator: JwtAuthenticator,
    metrics: Option<PrometheusHandle>,
    limits: RequestLimits,
) -> Router {
    let page = pages(app, Some(authenticator), metrics);
    // The API's body error is a boxed error; salvo wants a concrete one.
    let api = ServiceExt::<http::Request<ReqBody>>::map_response(
        api,
        |response: http::Response<tasker_http::Body>| {
            use http_body_util::BodyExt;
            response.map(|body| body.map_err(std::io::Error::other))
        },
    );
    let api = TowerServiceCompat::<ReqBody, _, std::convert::Infallible, _>::compat(api);

    with_probes(Router::new().hoop(limits).hoop(PeerAddr), &page)
        .push(
            Router::with_path("admin")
                .hoop(page(PageKind::RequireAdmin))
                .push(readable(
                    Router::with_path("jobs"),
                    page(PageKind::JobBoard),
                ))
                .push(readable(
                    Router::with_path("jobs/stats"),
                    page(PageKind::JobStats),
                ))
                .push(readable(
                    Router::with_path("emails/{template}"),
                    page(PageKind::EmailPreview),
                ))
                .push(Router::with_path("cron/{job}").post(page(PageKind::RunCron))),
        )
        .push(Router::with_path("{**rest}").goal(api))
}

/// `/healthz`, `/readyz` and `/metrics` alone, for a `worker` process.
pub(crate) fn probes(
    app: &App,
    metrics: Option<PrometheusHandle>,
    limits: RequestLimits,
) -> Router {
    with_probes(Router::new().hoop(limits), &pages(app, None, metrics))
}

/// Makes the handler of each page, all sharing one [`Web`].
fn pages(
    app: &App,
    authenticator: Option<JwtAuthenticator>,
    metrics: Option<PrometheusHandle>,
) -> impl Fn(PageKind) -> Page {
    let web = Arc::new(Web {
        app: app.clone(),
        metrics,
        authenticator,
    });
    move |kind| Page {
        web: Arc::clone(&web),
        kind,
    }
}

/// Request metrics for everything, and the three probe routes.
fn with_probes(router: Router, page: &impl Fn(PageKind) -> Page) -> Router {
    router
        .hoop(RequestMetrics)
        .push(readable(
            Router::with_path("healthz"),
            page(PageKind::Healthz),
        ))
        .push(readable(
            Router::with_path("readyz"),
            page(PageKind::Readyz),
        ))
        .push(readable(
            Router::with_path("metrics"),
            page(PageKind::Metrics),
        ))
}

/// `GET` and `HEAD` of `page` (RFC 9110 §9.3.2: monitors send `HEAD`); hyper
/// sends no body for a `HEAD`, the headers are the `GET`'s.
fn readable(router: Router, page: Page) -> Router {
    router.get(page.clone()).head(page)
}

/// Gives the tasker service the peer address for rate limits and logs.
struct PeerAddr;

#[async_trait]
impl Handler for PeerAddr {
    async fn handle(
        &self,
        req: &mut Request,
        _depot: &mut Depot,
        _res: &mut Response,
        _ctrl: &mut FlowCtrl,
    ) {
        if let Some(addr) = req.remote_addr().clone().into_std() {
            req.extensions_mut().insert(ClientAddr(addr));
        }
    }
}

/// `tasker_http_requests_total`, `tasker_http_request_duration_seconds` and
/// `tasker_rate_limit_rejections_total`, labelled by route template.
struct RequestMetrics;

#[async_trait]
impl Handler for RequestMetrics {
    async fn handle(
        &self,
        req: &mut Request,
        depot: &mut Depot,
        res: &mut Response,
        ctrl: &mut FlowCtrl,
    ) {
        let started = Instant::now();
        let method = req.method().as_str().to_owned();
        ctrl.call_next(req, depot, res).await;
        let status = res.status_code.unwrap_or(StatusCode::OK);
        let route = res
            .extensions
            .get::<MatchedRoute>()
            .map_or("unmatched", |route| route.0);
        let elapsed = started.elapsed().as_secs_f64();
        metrics::counter!(
            "tasker_http_requests_total",
            "method" => method.clone(),
            "route" => route,
            "status" => status.as_u16().to_string()
        )
        .increment(1);
        metrics::histogram!(
            "tasker_http_request_duration_seconds",
            "method" => method,
            "route" => route
        )
        .record(elapsed);
        if status == StatusCode::TOO_MANY_REQUESTS {
            metrics::counter!("tasker_rate_limit_rejections_total", "route" => route).increment(1);
        }
    }
}

#[derive(Clone, Copy)]
enum PageKind {
    Healthz,
    Readyz,
    Metrics,
    RequireAdmin,
    JobBoard,
    JobStats,
    EmailPreview,
    RunCron,
}

impl PageKind {
    fn route(self) -> &'static str {
        match self {
            Self::Healthz => "/healthz",
            Self::Readyz => "/readyz",
            Self::Metrics => "/metrics",
            Self::RequireAdmin => "/admin",
            Self::JobBoard => "/admin/jobs",
            Self::JobStats => "/admin/jobs/stats",
            Self::EmailPreview => "/admin/emails/{template}",
            Self::RunCron => "/admin/cron/{job}",
        }
    }
}

#[derive(Clone)]
struct Page {
    web: Arc<Web>,
    kind: PageKind,
}

#[async_trait]
impl Handler for Page {
    async fn handle(
        &self,
        req: &mut Request,
        _depot: &mut Depot,
        res: &mut Response,
        ctrl: &mut FlowCtrl,
    ) {
        res.extensions.insert(MatchedRoute(self.kind.route()));
        res.add_header("cache-control", "no-store", true).ok();
        let web = &self.web;
        match self.kind {
            PageKind::Healthz => res.render(Text::Json(r#"{"status":"ok"}"#)),
            PageKind::Readyz => match web.app.ready().await {
                Ok(latency) => res.render(Text::Json(
                    json!({"status": "ready", "databaseLatencyMs": latency.as_secs_f64() * 1000.0})
                        .to_string(),
                )),
                Err(reason) => {
                    res.status_code(StatusCode::SERVICE_UNAVAILABLE);
                    res.render(Text::Json(
                        json!({"status": "not ready", "reason": reason}).to_string(),
                    ));
                }
            },
            PageKind::Metrics => metrics_page(web, req, res).await,
            PageKind::RequireAdmin => {
                if let Err((status, code, message)) = require_admin(web, req).await {
                    error(res, status, code, message);
                    ctrl.skip_rest();
                }
            }
            PageKind::JobBoard => match job_stats(&web.app.context, 20).await {
                Ok(stats) => match crate::board::render(&stats) {
                    Ok(html) => res.render(Text::Html(html)),
                    Err(e) => internal(res, &e),
                },
                Err(e) => internal(res, &e.chain()),
            },
            PageKind::JobStats => match job_stats_json(&web.app.context, 50).await {
                Ok(stats) => res.render(Text::Json(stats)),
                Err(e) => internal(res, &e.chain()),
            },
            PageKind::EmailPreview => email_preview(web, req, res),
            PageKind::RunCron => {
                let name = req.param::<String>("job").unwrap_or_default();
                match cron_job(&name) {
                    Ok(job) => {
                        match job
                            .run_now(&web.app.queue, time::OffsetDateTime::now_utc())
                            .await
                        {
                            Ok(()) => {
                                res.status_code(StatusCode::ACCEPTED);
                                res.render(Text::Json(
                                    json!({"job": job.name(), "status": "enqueued"}).to_string(),
                                ));
                            }
                            Err(e) => internal(res, &e),
                        }
                    }
                    Err(message) => error(res, StatusCode::NOT_FOUND, "NOT_FOUND", message),
                }
            }
        }
    }
}

async fn metrics_page(web: &Web, req: &Request, res: &mut Response) {
    let Some(handle) = &web.metrics else {
        error(
            res,
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "metrics are turned off",
        );
        return;
    };
    if let Some(expected) = &web.app.config.metrics.token {
        // Compared as digests, so the time taken says nothing about the token.
        let digest = |token: &str| sha2::Sha256::digest(token.as_bytes());
        let given = bearer_token(req.headers()).ok().flatten();
        if given.map(digest) != Some(digest(expected.expose())) {
            error(
                res,
                StatusCode::UNAUTHORIZED,
                "UNAUTHORIZED",
                "metrics need the configured bearer token",
            );
            return;
        }
    }
    let pool = web.app.store.pool_stats();
    for (state, value) in [
        ("in_use", pool.in_use()),
        ("idle", pool.idle),
        ("max", pool.max),
    ] {
        metrics::gauge!("tasker_db_pool_connections", "state" => state).set(f64::from(value));
    }
    for priority in [Priority::Critical, Priority::Default, Priority::Low] {
        if let Ok(backlog) = web.app.queue.backlog(priority).await {
            metrics::gauge!("tasker_jobs_pending", "queue" => priority.as_str())
                .set(backlog.pending as f64);
        }
    }
    res.render(Text::Plain(handle.render()));
    res.add_header(
        "content-type",
        "text/plain; version=0.0.4; charset=utf-8",
        true,
    )
    .ok();
}

async fn require_admin(
    web: &Web,
    req: &mut Request,
) -> Result<(), (StatusCode, &'static str, String)> {
    let unauthorized =
        |message: &str| (StatusCode::UNAUTHORIZED, "UNAUTHORIZED", message.to_owned());
    let token = bearer_token(req.headers())
        .map_err(|e| unauthorized(&e.to_string()))?
        .ok_or_else(|| unauthorized("a bearer token is required"))?;
    let authenticator = web
        .authenticator
        .as_ref()
        .ok_or_else(|| unauthorized("no authentication is configured here"))?;
    let user: AuthUser = authenticator
        .verify(token)
        .await
        .map_err(|e| unauthorized(&e.to_string()))?;
    // `org:admin` is Clerk's organisation administrator.
    if !(user.has_role("admin") || user.has_role("org:admin")) {
        return Err((
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
            "the admin role is required".to_owned(),
        ));
    }
    req.extensions_mut().insert(user);
    Ok(())
}

fn email_preview(web: &Web, req: &Request, res: &mut Response) {
    let name = req.param::<String>("template").unwrap_or_default();
    let kind = match template_kind(&name) {
        Ok(kind) => kind,
        Err(message) => return error(res, StatusCode::NOT_FOUND, "NOT_FOUND", message),
    };
    match preview::render_sample(&web.app.templates, kind) {
        Ok(email) => {
            res.add_header("x-email-subject", header_safe(&email.subject), true)
                .ok();
            if req.query::<String>("format").as_deref() == Some("text") {
                res.render(Text::Plain(email.text));
            } else {
                res.render(Text::Html(email.html));
            }
        }
        Err(e) => internal(res, &e),
    }
}

/// A subject as a header value: non-ASCII characters become `?`.
fn header_safe(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() {
                c
            } else {
                '?'
            }
        })
        .collect()
}

/// The reference error body.
fn error(res: &mut Response, status: StatusCode, code: &str, message: impl Into<String>) {
    res.status_code(status);
    res.render(Text::Json(
        json!({
            "code": code,
            "message": message.into(),
            "status": status.as_u16(),
            "override": false,
            "errors": null,
            "action": null,
        })
        .to_string(),
    ));
}

fn internal(res: &mut Response, cause: &dyn std::fmt::Display) {
    tracing::error!(error = %cause, "admin request failed");
    error(
        res,
        StatusCode::INTERNAL_SERVER_ERROR,
        "INTERNAL_SERVER_ERROR",
        "something went wrong",
    );
}
