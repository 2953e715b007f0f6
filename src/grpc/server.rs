//! Assembling and running the gRPC server: the four services, health checking,
//! reflection (v1 and v1alpha), TLS, deadlines, a concurrency limit, request ids in the
//! logs, and graceful shutdown.

use std::future::Future;
use std::time::Duration;

use tokio::net::TcpListener;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Identity, Server, ServerTlsConfig};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use super::auth::Authenticator;
use super::convert::limits::MAX_REQUEST_BYTES;
use super::pb::{
    self, housing_organisation_service_server::HousingOrganisationServiceServer,
    municipality_service_server::MunicipalityServiceServer,
    registry_service_server::RegistryServiceServer, report_service_server::ReportServiceServer,
};
use super::{HousingApi, MunicipalityApi, RegistryApi, ReportApi};
use crate::service::Ledger;

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// PEM certificate chain and key; plain text when absent.
    pub tls: Option<(Vec<u8>, Vec<u8>)>,
    /// Calls running longer are cancelled with DEADLINE_EXCEEDED.
    pub request_timeout: Duration,
    /// Calls in flight at once, across connections; more wait.
    pub concurrency_limit: usize,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            tls: None,
            request_timeout: Duration::from_secs(30),
            concurrency_limit: 1024,
        }
    }
}

/// Why the server could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("TLS configuration: {0}")]
    Tls(#[source] tonic::transport::Error),
    #[error("reflection service: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("server: {0}")]
    Transport(#[source] tonic::transport::Error),
}

const X_REQUEST_ID: &str = "x-request-id";

/// Serves on `listener` until `shutdown` completes; calls in flight then finish.
pub async fn serve(
    ledger: Ledger,
    options: ServerOptions,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    let auth = Authenticator::new(ledger.store().clone());
    let housing = HousingApi {
        ledger: ledger.clone(),
        auth: auth.clone(),
    };
    let municipality = MunicipalityApi {
        ledger: ledger.clone(),
        auth: auth.clone(),
    };
    let registry = RegistryApi {
        ledger: ledger.clone(),
        auth: auth.clone(),
    };
    let report = ReportApi { ledger, auth };

    let (health_reporter, health) = tonic_health::server::health_reporter();
    health_reporter
        .set_serving::<HousingOrganisationServiceServer<HousingApi>>()
        .await;
    health_reporter
        .set_serving::<MunicipalityServiceServer<MunicipalityApi>>()
        .await;
    health_reporter
        .set_serving::<RegistryServiceServer<RegistryApi>>()
        .await;
    health_reporter
        .set_serving::<ReportServiceServer<ReportApi>>()
        .await;

    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::DESCRIPTOR)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::DESCRIPTOR)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;

    let mut builder = Server::builder();
    if let Some((cert, key)) = &options.tls {
        builder = builder
            .tls_config(ServerTlsConfig::new().identity(Identity::from_pem(cert, key)))
            .map_err(ServeError::Tls)?;
    }
    let layers = tower::ServiceBuilder::new()
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(
            TraceLayer::new_for_grpc().make_span_with(|request: &http::Request<_>| {
                let id = request
                    .headers()
                    .get(X_REQUEST_ID)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!("call", method = %request.uri().path(), request_id = %id)
            }),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(tower::limit::GlobalConcurrencyLimitLayer::new(
            options.concurrency_limit,
        ));
    builder
        .timeout(options.request_timeout)
        .layer(layers)
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(
            HousingOrganisationServiceServer::new(housing)
                .max_decoding_message_size(MAX_REQUEST_BYTES),
        )
        .add_service(
            MunicipalityServiceServer::new(municipality)
                .max_decoding_message_size(MAX_REQUEST_BYTES),
        )
        .add_service(
            RegistryServiceServer::new(registry).max_decoding_message_size(MAX_REQUEST_BYTES),
        )
        .add_service(ReportServiceServer::new(report).max_decoding_message_size(MAX_REQUEST_BYTES))
        // TCP_NODELAY on every accepted connection: tonic's own setting does not reach a
        // listener passed in, and without it a response of more than one segment waits
        // ~40 ms for the client's delayed ACK (Nagle).
        .serve_with_incoming_shutdown(
            TcpIncoming::from(listener).with_nodelay(Some(true)),
            shutdown,
        )
        .await
        .map_err(ServeError::Transport)
}
