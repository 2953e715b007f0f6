//! OpenTelemetry tracing: the layer builds, and the server's spans reach an OTLP/gRPC
//! collector (a stub on 127.0.0.1, in this process) with the call's method and the
//! service's name.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use tokio::sync::mpsc;
use tracing_subscriber::layer::SubscriberExt;

use common::{ServeProcess, TestServer, write_key_file};
use letting_rules::grpc::pb;
use letting_rules::telemetry::{SERVICE_NAME, Telemetry, TelemetryError};

/// A collector that hands every export it receives to the test.
struct Collector(mpsc::UnboundedSender<ExportTraceServiceRequest>);

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let _ = self.0.send(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

/// A span as exported: its name, its string attributes, and its resource's service name.
#[derive(Debug)]
struct Exported {
    name: String,
    trace_id: String,
    parent_span_id: String,
    attributes: Vec<(String, String)>,
    service: Option<String>,
}

fn text(v: &Option<opentelemetry_proto::tonic::common::v1::AnyValue>) -> Option<String> {
    match v.as_ref().and_then(|v| v.value.as_ref()) {
        Some(Value::StringValue(s)) => Some(s.clone()),
        _ => None,
    }
}

fn spans(request: ExportTraceServiceRequest) -> Vec<Exported> {
    let mut out = Vec::new();
    for resource in request.resource_spans {
        let service = resource.resource.as_ref().and_then(|r| {
            r.attributes
                .iter()
                .find(|a| a.key == "service.name")
                .and_then(|a| text(&a.value))
        });
        for scope in resource.scope_spans {
            for span in scope.spans {
                out.push(Exported {
                    name: span.name,
                    trace_id: hex::encode(&span.trace_id),
                    parent_span_id: hex::encode(&span.parent_span_id),
                    attributes: span
                        .attributes
                        .iter()
                        .filter_map(|a| text(&a.value).map(|v| (a.key.clone(), v)))
                        .collect(),
                    service: service.clone(),
                });
            }
        }
    }
    out
}

/// A stub collector on a loopback port; what it receives.
async fn collector() -> (
    std::net::SocketAddr,
    mpsc::UnboundedReceiver<ExportTraceServiceRequest>,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(Collector(tx)))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    (addr, rx)
}

/// Spans received within 5 s, until one named `call` for `method` is among them.
async fn call_span(
    rx: &mut mpsc::UnboundedReceiver<ExportTraceServiceRequest>,
    method: &str,
) -> Exported {
    let mut exported = Vec::new();
    while let Ok(Some(request)) = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await {
        exported.extend(spans(request));
        if let Some(i) = exported.iter().position(|s| {
            s.name == "call"
                && s.attributes
                    .iter()
                    .any(|(k, v)| k == "method" && v == method)
        }) {
            return exported.swap_remove(i);
        }
    }
    panic!("no span of a call to {method} among {exported:?}");
}

const PING: &str = "/letting.v1.HousingOrganisationService/Ping";
/// A caller's trace and span, as hex.
const TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const PARENT: &str = "b7ad6b7169203331";

// One thread: the server's tasks run where the test's subscriber is the default.
#[tokio::test(flavor = "current_thread")]
async fn the_servers_spans_reach_an_otlp_collector() {
    let (collector, mut rx) = collector().await;
    let telemetry = Telemetry::otlp(&format!("http://{collector}")).expect("telemetry");
    let subscriber = tracing_subscriber::registry().with(telemetry.layer());
    let guard = tracing::subscriber::set_default(subscriber);

    let server = TestServer::start().await;
    let mut housing = server.housing(Some(&server.keys.kab)).await;
    // The caller's trace, as a W3C traceparent: the call's span continues it.
    let mut ping = tonic::Request::new(pb::PingRequest {});
    ping.metadata_mut().insert(
        "traceparent",
        format!("00-{TRACE}-{PARENT}-01").parse().expect("ascii"),
    );
    housing.ping(ping).await.expect("Ping");
    drop(guard);

    // Shutting down exports what is batched; it blocks, so off the runtime's thread.
    tokio::task::spawn_blocking(move || telemetry.shutdown())
        .await
        .expect("shutdown task")
        .expect("spans exported");
    let call = call_span(&mut rx, PING).await;
    assert_eq!(call.service.as_deref(), Some(SERVICE_NAME));
    assert_eq!(
        (call.trace_id.as_str(), call.parent_span_id.as_str()),
        (TRACE, PARENT)
    );
    assert!(
        call.attributes
            .iter()
            .any(|(k, v)| k == "request_id" && v.len() == 36),
        "{call:?}"
    );
    server.stop().await;
}

/// `letting serve --otlp-endpoint`: a call's span reaches the collector by the time the
/// process has stopped on SIGTERM.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn letting_serve_exports_its_spans_when_asked() {
    let (collector, mut rx) = collector().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let keys = write_key_file(&dir.path().join("keys.toml"));
    let url = format!("sqlite://{}", dir.path().join("letting.db").display());
    let endpoint = format!("http://{collector}");
    let mut serve = ServeProcess::spawn_with(
        &url,
        &dir.path().join("keys.toml"),
        &["--otlp-endpoint", &endpoint],
    );
    let mut housing = serve.housing(&keys.kab).await;
    housing.ping(pb::PingRequest {}).await.expect("Ping");
    drop(housing);
    serve.signal("TERM");
    let status = tokio::task::spawn_blocking(move || {
        let status = serve.wait_exit(Duration::from_secs(30));
        (status, serve.stderr())
    })
    .await
    .expect("wait task");
    assert!(
        status.0.is_some_and(|s| s.success()),
        "{:?}\n{}",
        status.0,
        status.1
    );
    let call = call_span(&mut rx, PING).await;
    assert_eq!(call.service.as_deref(), Some(SERVICE_NAME));
}

#[tokio::test]
async fn an_endpoint_that_is_not_a_url_is_refused() {
    assert!(matches!(
        Telemetry::otlp("127.0.0.1:4317"),
        Err(TelemetryError::Endpoint(_))
    ));
}
