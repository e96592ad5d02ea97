//! Logs (console or JSON), OpenTelemetry trace export and the Prometheus
//! recorder.

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::{EnvFilter, Layer, layer::SubscriberExt, util::SubscriberInitExt};

use crate::config::{Config, LogFormat};

/// Keeps the trace exporter alive; [`Telemetry::shutdown`] flushes it.
pub(crate) struct Telemetry {
    #[cfg(feature = "otlp")]
    tracer: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl Telemetry {
    /// Sends the spans still buffered and stops the exporter.
    pub(crate) fn shutdown(self) {
        #[cfg(feature = "otlp")]
        if let Some(provider) = self.tracer
            && let Err(e) = provider.shutdown()
        {
            eprintln!("trace export: could not flush the last spans: {e}");
        }
    }
}

/// Installs the global subscriber. Call before the runtime starts (the OTLP
/// exporter runs on its own thread).
pub(crate) fn init(config: &Config) -> Result<Telemetry, String> {
    let filter = EnvFilter::try_new(&config.log.level).map_err(|e| format!("log.level: {e}"))?;
    let fmt = match config.log.format {
        LogFormat::Console => tracing_subscriber::fmt::layer()
            .with_target(true)
            .with_writer(std::io::stderr)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(std::io::stderr)
            .boxed(),
    };
    #[cfg(feature = "otlp")]
    {
        let (otel, tracer) = match &config.telemetry.otlp_endpoint {
            Some(endpoint) => {
                let provider = otlp::provider(config, endpoint)?;
                let tracer = opentelemetry::trace::TracerProvider::tracer(&provider, "tasker");
                // The same filter as the log: no exporter or dependency noise.
                let spans =
                    EnvFilter::try_new(&config.log.level).map_err(|e| format!("log.level: {e}"))?;
                (
                    Some(
                        tracing_opentelemetry::layer()
                            .with_tracer(tracer)
                            .with_filter(spans),
                    ),
                    Some(provider),
                )
            }
            None => (None, None),
        };
        tracing_subscriber::registry()
            .with(fmt.with_filter(filter))
            .with(otel)
            .try_init()
            .map_err(|e| format!("logging: {e}"))?;
        Ok(Telemetry { tracer })
    }
    #[cfg(not(feature = "otlp"))]
    {
        if config.telemetry.otlp_endpoint.is_some() {
            return Err(
                "telemetry.otlp_endpoint: this build has no OTLP support (feature `otlp`)".into(),
            );
        }
        tracing_subscriber::registry()
            .with(fmt.with_filter(filter))
            .try_init()
            .map_err(|e| format!("logging: {e}"))?;
        Ok(Telemetry {})
    }
}

#[cfg(feature = "otlp")]
mod otlp {
    use std::collections::HashMap;

    use opentelemetry_otlp::{SpanExporter, WithExportConfig, WithHttpConfig};
    use opentelemetry_sdk::{
        Resource,
        trace::{Sampler, SdkTracerProvider},
    };

    use crate::config::{Config, parse_headers};

    pub(super) fn provider(config: &Config, endpoint: &str) -> Result<SdkTracerProvider, String> {
        let headers: HashMap<String, String> = config
            .telemetry
            .otlp_headers
            .as_ref()
            .and_then(|headers| parse_headers(headers.expose()))
            .unwrap_or_default()
            .into_iter()
            .collect();
        let exporter = SpanExporter::builder()
            .with_http()
            .with_endpoint(format!("{}/v1/traces", endpoint.trim_end_matches('/')))
            .with_headers(headers)
            .build()
            .map_err(|e| format!("telemetry.otlp_endpoint: {e}"))?;
        let sampler = Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
            config.telemetry.sample_ratio,
        )));
        Ok(SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_sampler(sampler)
            .with_resource(
                Resource::builder()
                    .with_service_name(config.telemetry.service_name.clone())
                    .build(),
            )
            .build())
    }
}

/// Makes `span` (a request span, not entered yet) continue the trace of an
/// incoming W3C `traceparent` header: the exported span gets that trace id
/// and the caller's span as its parent. A missing or malformed header leaves
/// the span a new root. Then records the exported span's ids in the span's
/// `trace_id` and `span_id` fields, so that every log line of the request
/// names the trace to look up. A process without the OpenTelemetry layer
/// changes nothing.
#[cfg(feature = "otlp")]
pub(crate) fn continue_trace(span: &tracing::Span, headers: &http::HeaderMap) {
    use opentelemetry::{propagation::TextMapPropagator, trace::TraceContextExt};
    use tracing_opentelemetry::OpenTelemetrySpanExt;

    if headers.contains_key("traceparent") {
        let parent = opentelemetry_sdk::propagation::TraceContextPropagator::new()
            .extract(&HeaderExtractor(headers));
        if parent.span().span_context().is_valid() {
            // Err only when no OpenTelemetry layer is installed: nothing to continue.
            let _ = span.set_parent(parent);
        }
    }
    let context = span.context();
    let ids = context.span().span_context().clone();
    if ids.is_valid() {
        span.record("trace_id", tracing::field::display(ids.trace_id()));
        span.record("span_id", tracing::field::display(ids.span_id()));
    }
}

/// Request headers as an OpenTelemetry propagation carrier.
#[cfg(feature = "otlp")]
struct HeaderExtractor<'a>(&'a http::HeaderMap);

#[cfg(feature = "otlp")]
impl opentelemetry::propagation::Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

/// Histogram buckets for request and job durations, in seconds.
const DURATION_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Installs the global Prometheus recorder; the handle renders `/metrics`.
pub(crate) fn metrics() -> Result<PrometheusHandle, String> {
    let recorder = PrometheusBuilder::new()
        .set_buckets(DURATION_BUCKETS)
        .map_err(|e| format!("metrics: {e}"))?
        .build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).map_err(|e| format!("metrics: {e}"))?;
    describe();
    Ok(handle)
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "tasker_http_requests_total",
        "HTTP requests by method, route template and status"
    );
    describe_histogram!(
        "tasker_http_request_duration_seconds",
        Unit::Seconds,
        "HTTP request latency by method and route template"
    );
    describe_counter!(
        "tasker_rate_limit_rejections_total",
        "Requests refused with 429 by the rate limiter"
    );
    describe_gauge!(
        "tasker_db_pool_connections",
        "Database pool connections by state (in_use, idle, max)"
    );
    describe_gauge!("tasker_jobs_pending", "Jobs waiting in each queue");
    describe_counter!(
        "tasker_jobs_enqueued_total",
        "Jobs enqueued by queue and kind"
    );
    describe_counter!(
        "tasker_jobs_processed_total",
        "Job attempts finished by queue, kind and outcome"
    );
    describe_counter!(
        "tasker_jobs_retried_total",
        "Job attempts that will be retried"
    );
    describe_histogram!(
        "tasker_job_duration_seconds",
        Unit::Seconds,
        "Job attempt duration by queue and kind"
    );
    describe_counter!(
        "tasker_emails_sent_total",
        "E-mails handed to the transport by kind"
    );
}
