//! Assembling and running the gRPC server: the five services, health checking,
//! reflection (v1 and v1alpha), TLS, deadlines, a concurrency limit, request ids in the
//! logs, call metrics, and graceful shutdown.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio_stream::Stream;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Identity, Server, ServerTlsConfig};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use super::auth::Authenticator;
use super::convert::limits::MAX_REQUEST_BYTES;
use super::metrics::CallMetricsLayer;
use super::pb::{
    self, audit_service_server::AuditServiceServer,
    housing_organisation_service_server::HousingOrganisationServiceServer,
    key_service_server::KeyServiceServer, municipality_service_server::MunicipalityServiceServer,
    registry_service_server::RegistryServiceServer, report_service_server::ReportServiceServer,
};
use super::{AuditApi, HousingApi, KeyApi, MunicipalityApi, RegistryApi, ReportApi};
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

/// Why a TLS certificate and key cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("the certificate file holds no PEM certificate")]
    NoCertificate,
    #[error("the certificate file is not a PEM certificate chain: {0}")]
    Certificate(#[source] rustls::pki_types::pem::Error),
    #[error("the key file holds no PEM private key (PKCS#8, PKCS#1 or SEC1): {0}")]
    Key(#[source] rustls::pki_types::pem::Error),
    #[error(
        "the private key does not belong to the certificate: its public key is not the certificate's"
    )]
    Mismatch,
    #[error("the certificate and key cannot be used: {0}")]
    Unusable(#[source] rustls::Error),
}

/// Checks that `key_pem` is the private key of the first certificate of `cert_pem`, as
/// tonic's rustls will read them; tonic itself only finds out when it starts serving.
pub fn check_tls_pair(cert_pem: &[u8], key_pem: &[u8]) -> Result<(), TlsError> {
    let chain = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(TlsError::Certificate)?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate);
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(TlsError::Key)?;
    let provider = rustls::crypto::ring::default_provider();
    let signing_key = provider
        .key_provider
        .load_private_key(key)
        .map_err(TlsError::Unusable)?;
    // `keys_match` compares the key's public half with the certificate's; a key whose
    // public half ring cannot tell is refused too rather than trusted.
    match rustls::sign::CertifiedKey::new(chain, signing_key).keys_match() {
        Ok(()) => Ok(()),
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => {
            Err(TlsError::Mismatch)
        }
        Err(e) => Err(TlsError::Unusable(e)),
    }
}

/// Why the server could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("TLS certificate and key: {0}")]
    TlsPair(#[from] TlsError),
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
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    if let Some((cert, key)) = &options.tls {
        check_tls_pair(cert, key)?;
    }
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
    let keys = KeyApi {
        ledger: ledger.clone(),
        auth: auth.clone(),
    };
    let report = ReportApi {
        ledger: ledger.clone(),
        auth: auth.clone(),
    };
    let audit = AuditApi { ledger, auth };

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
    health_reporter
        .set_serving::<KeyServiceServer<KeyApi>>()
        .await;
    health_reporter
        .set_serving::<AuditServiceServer<AuditApi>>()
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
        // Outside the concurrency limit, so a call's latency includes its wait for a slot.
        .layer(CallMetricsLayer::new(options.request_timeout))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(
            TraceLayer::new_for_grpc().make_span_with(|request: &http::Request<_>| {
                let id = request
                    .headers()
                    .get(X_REQUEST_ID)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                let span =
                    tracing::info_span!("call", method = %request.uri().path(), request_id = %id);
                // With OpenTelemetry export on, the call continues the caller's trace.
                if let Some(parent) = crate::telemetry::remote_parent(request.headers()) {
                    use tracing_opentelemetry::OpenTelemetrySpanExt;
                    // Without the layer (logs only) there is nothing to attach it to.
                    let _ = span.set_parent(parent);
                }
                span
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
        .add_service(KeyServiceServer::new(keys).max_decoding_message_size(MAX_REQUEST_BYTES))
        .add_service(AuditServiceServer::new(audit).max_decoding_message_size(MAX_REQUEST_BYTES))
        // TCP_NODELAY on every accepted connection: tonic's own setting does not reach a
        // listener passed in, and without it a response of more than one segment waits
        // ~40 ms for the client's delayed ACK (Nagle).
        //
        // When `shutdown` completes the listener closes and the accepted connections drain:
        // tonic sends each a GOAWAY, answers every call it had taken, and returns only when
        // the last connection has closed, so the store is closed after every answer.
        .serve_with_incoming_shutdown(
            UntilShutdown {
                incoming: Some(TcpIncoming::from(listener).with_nodelay(Some(true))),
                shutdown: Box::pin(shutdown),
            },
            std::future::pending::<()>(),
        )
        .await
        .map_err(ServeError::Transport)
}

/// The accepted connections until shutdown begins; then the end of the stream, with the
/// listener closed at once. tonic drains the connections when the stream ends; a client
/// that connects during the drain is refused, so it can go to another server, instead of
/// waiting in the accept queue until the process exits and being reset then.
struct UntilShutdown<S> {
    incoming: Option<S>,
    shutdown: Pin<Box<dyn Future<Output = ()> + Send>>,
}

impl<S: Stream + Unpin> Stream for UntilShutdown<S> {
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        if self.incoming.is_some() && self.shutdown.as_mut().poll(cx).is_ready() {
            tracing::info!("shutdown: the listener is closed; finishing the calls in flight");
            self.incoming = None;
        }
        match self.incoming.as_mut() {
            Some(incoming) => Pin::new(incoming).poll_next(cx),
            None => Poll::Ready(None),
        }
    }
}
