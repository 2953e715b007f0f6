//! The console over TLS, with the certificate and key the gRPC server is given: rustls
//! (ring) accepts each connection and hyper serves HTTP/1.1 on it. On shutdown the
//! listener closes and the connections taken finish their requests.

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// Why the console's TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleTlsError {
    #[error("the certificate chain: {0}")]
    Certificate(rustls::pki_types::pem::Error),
    #[error("the private key: {0}")]
    Key(rustls::pki_types::pem::Error),
    #[error("TLS configuration: {0}")]
    Config(#[from] rustls::Error),
}

fn acceptor(cert_pem: &[u8], key_pem: &[u8]) -> Result<TlsAcceptor, ConsoleTlsError> {
    let chain = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(ConsoleTlsError::Certificate)?;
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(ConsoleTlsError::Key)?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_no_client_auth()
    .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Serves `router` over TLS on `listener` until `shutdown` completes.
pub async fn serve_tls(
    listener: TcpListener,
    router: Router,
    cert_pem: &[u8],
    key_pem: &[u8],
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ConsoleTlsError> {
    let acceptor = acceptor(cert_pem, key_pem)?;
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "console: a connection could not be accepted");
                    continue;
                }
            },
        };
        let acceptor = acceptor.clone();
        let service = TowerToHyperService::new(router.clone());
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let tls = match acceptor.accept(tcp).await {
                Ok(tls) => tls,
                Err(e) => {
                    tracing::debug!(%peer, error = %e, "console: TLS handshake failed");
                    return;
                }
            };
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .serve_connection(TokioIo::new(tls), service);
            if let Err(e) = watcher.watch(connection).await {
                tracing::debug!(%peer, error = %e, "console: connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}
