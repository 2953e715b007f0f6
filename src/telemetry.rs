//! OpenTelemetry tracing, off unless asked for (`letting serve --otlp-endpoint URL`, or
//! `OTEL_EXPORTER_OTLP_ENDPOINT`): the `tracing` spans the server makes (one per call, with
//! its method and request id, and those inside it) are exported over OTLP/gRPC to a
//! collector, in batches from a background thread, as the service `letting`. Without an
//! endpoint nothing here runs and the logs are as they were.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_otlp::{SpanExporter, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use tracing_opentelemetry::OpenTelemetryLayer;

/// The service name spans are exported under.
pub const SERVICE_NAME: &str = "letting";

/// How long an export may take before it is given up.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// Whether spans are being exported: only then is a caller's trace context read.
static EXPORTING: AtomicBool = AtomicBool::new(false);

/// Why tracing could not be set up or flushed.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("the OTLP endpoint `{0}` is not an http:// or https:// URL")]
    Endpoint(String),
    #[error("the OTLP exporter cannot be built: {0}")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
    #[error("the spans could not be exported at shutdown: {0}")]
    Shutdown(#[from] opentelemetry_sdk::error::OTelSdkError),
}

/// Spans exported to an OTLP collector. Keep it for the process's life and call
/// [`Telemetry::shutdown`] at the end, which exports the spans still batched.
#[derive(Debug)]
pub struct Telemetry {
    provider: SdkTracerProvider,
}

impl Telemetry {
    /// Spans to the OTLP/gRPC collector at `endpoint` (such as `http://127.0.0.1:4317`).
    /// Must be called inside a Tokio runtime: the gRPC channel's worker runs on it. The
    /// collector is connected to lazily, so a collector that is down costs dropped spans
    /// (and a warning), never a failed start or a slower call.
    pub fn otlp(endpoint: &str) -> Result<Telemetry, TelemetryError> {
        if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
            return Err(TelemetryError::Endpoint(endpoint.to_owned()));
        }
        let exporter = SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint)
            .with_timeout(EXPORT_TIMEOUT)
            .build()?;
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(Resource::builder().with_service_name(SERVICE_NAME).build())
            .build();
        EXPORTING.store(true, Ordering::Relaxed);
        Ok(Telemetry { provider })
    }

    /// The `tracing` layer that turns spans into OpenTelemetry spans.
    pub fn layer<S>(&self) -> OpenTelemetryLayer<S, SdkTracer>
    where
        S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
    {
        tracing_opentelemetry::layer().with_tracer(self.provider.tracer(SERVICE_NAME))
    }

    /// Exports the spans still batched and stops the exporter. Blocks: call it outside the
    /// async runtime's threads (or from `spawn_blocking`).
    pub fn shutdown(self) -> Result<(), TelemetryError> {
        EXPORTING.store(false, Ordering::Relaxed);
        self.provider.shutdown()?;
        Ok(())
    }
}

/// The caller's trace, from a W3C `traceparent` header (and `tracestate`), so that a call's
/// span continues the client's trace; None when spans are not exported (nothing is read
/// then) or the call carries no valid trace context.
pub fn remote_parent(headers: &http::HeaderMap) -> Option<opentelemetry::Context> {
    if !EXPORTING.load(Ordering::Relaxed) || !headers.contains_key("traceparent") {
        return None;
    }
    let context = TraceContextPropagator::new().extract(&Headers(headers));
    context.span().span_context().is_valid().then_some(context)
}

/// Request headers as the propagator reads them.
struct Headers<'a>(&'a http::HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}
