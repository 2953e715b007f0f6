//! Per-call metrics for every service, in one tower layer: a count of calls and a latency
//! histogram by gRPC service, method and status code. Recorded through the `metrics`
//! facade; without an installed recorder (no `--metrics-listen`) each record is a no-op.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use tonic::Code;
use tower::{Layer, Service};

/// Calls answered, by `grpc_service`, `grpc_method` and `grpc_code`.
pub const CALLS: &str = "grpc_server_handled_total";
/// Seconds from the request's arrival to the end of its response (trailers), same labels.
pub const CALL_SECONDS: &str = "grpc_server_handling_seconds";

/// Adds call metrics to every service behind it.
#[derive(Debug, Clone, Copy)]
pub struct CallMetricsLayer {
    /// The server's own deadline: a call dropped unanswered after this long timed out
    /// (the timeout layer outside this one answers it), else its caller went away.
    timeout: Duration,
}

impl CallMetricsLayer {
    pub fn new(timeout: Duration) -> Self {
        CallMetricsLayer { timeout }
    }
}

impl<S> Layer<S> for CallMetricsLayer {
    type Service = CallMetrics<S>;

    fn layer(&self, inner: S) -> CallMetrics<S> {
        CallMetrics {
            inner,
            timeout: self.timeout,
        }
    }
}

#[derive(Debug, Clone)]
pub struct CallMetrics<S> {
    inner: S,
    timeout: Duration,
}

/// One call being measured; recorded once, when its code is known.
#[derive(Debug)]
struct Call {
    path: String,
    started: Instant,
    timeout: Duration,
}

impl Call {
    fn finish(self, code: Code) {
        // An unknown path is answered UNIMPLEMENTED; its text is the caller's, so it is not
        // made a label (any client could otherwise create series without bound).
        let (service, method) = match code {
            Code::Unimplemented => ("unknown".to_owned(), "unknown".to_owned()),
            _ => split_path(&self.path),
        };
        let labels = [
            ("grpc_service", service),
            ("grpc_method", method),
            ("grpc_code", code_name(code).to_owned()),
        ];
        metrics::counter!(CALLS, &labels).increment(1);
        metrics::histogram!(CALL_SECONDS, &labels).record(self.started.elapsed().as_secs_f64());
    }

    /// Dropped before its end: the server's deadline passed, or the caller cancelled.
    fn abandon(self) {
        let code = if self.started.elapsed() >= self.timeout {
            Code::DeadlineExceeded
        } else {
            Code::Cancelled
        };
        self.finish(code);
    }
}

/// `/pkg.Service/Method` into its service and method.
fn split_path(path: &str) -> (String, String) {
    let trimmed = path.strip_prefix('/').unwrap_or(path);
    match trimmed.split_once('/') {
        Some((service, method)) => (service.to_owned(), method.to_owned()),
        None => (trimmed.to_owned(), String::new()),
    }
}

/// The code's canonical name, as gRPC's own tooling and dashboards label it.
fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// The `grpc-status` of a header or trailer map, if it has one.
fn status_in(headers: &http::HeaderMap) -> Option<Code> {
    headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok())
        .map(Code::from_i32)
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for CallMetrics<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
{
    type Response = http::Response<MeteredBody<ResBody>>;
    type Error = S::Error;
    type Future = CallFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let call = Call {
            path: request.uri().path().to_owned(),
            started: Instant::now(),
            timeout: self.timeout,
        };
        CallFuture {
            inner: self.inner.call(request),
            call: Some(call),
        }
    }
}

pin_project! {
    /// The inner call, until its response headers.
    pub struct CallFuture<F> {
        #[pin]
        inner: F,
        call: Option<Call>,
    }

    impl<F> PinnedDrop for CallFuture<F> {
        fn drop(this: Pin<&mut Self>) {
            if let Some(call) = this.project().call.take() {
                call.abandon();
            }
        }
    }
}

impl<F, ResBody, E> Future for CallFuture<F>
where
    F: Future<Output = Result<http::Response<ResBody>, E>>,
{
    type Output = Result<http::Response<MeteredBody<ResBody>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(cx));
        let call = this.call.take();
        Poll::Ready(match result {
            Ok(response) => {
                // A trailers-only response (every error tonic answers before a message)
                // carries its status in the headers; otherwise it comes in the trailers.
                let call = match (call, status_in(response.headers())) {
                    (Some(call), Some(code)) => {
                        call.finish(code);
                        None
                    }
                    (call, _) => call,
                };
                Ok(response.map(|inner| MeteredBody { inner, call }))
            }
            Err(e) => {
                if let Some(call) = call {
                    call.finish(Code::Unknown);
                }
                Err(e)
            }
        })
    }
}

pin_project! {
    /// The response body, until its trailers.
    pub struct MeteredBody<B> {
        #[pin]
        inner: B,
        call: Option<Call>,
    }

    impl<B> PinnedDrop for MeteredBody<B> {
        fn drop(this: Pin<&mut Self>) {
            if let Some(call) = this.project().call.take() {
                call.abandon();
            }
        }
    }
}

impl<B: Body> Body for MeteredBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let frame = ready!(this.inner.poll_frame(cx));
        match &frame {
            Some(Ok(frame)) => {
                if let Some(code) = frame.trailers_ref().and_then(status_in)
                    && let Some(call) = this.call.take()
                {
                    call.finish(code);
                }
            }
            Some(Err(_)) => {
                if let Some(call) = this.call.take() {
                    call.finish(Code::Unknown);
                }
            }
            None => {
                // Ended without a status: gRPC reads that as an error of the stream.
                if let Some(call) = this.call.take() {
                    call.finish(Code::Unknown);
                }
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_into_service_and_method() {
        assert_eq!(
            split_path("/letting.v1.KeyService/ListKeys"),
            ("letting.v1.KeyService".to_owned(), "ListKeys".to_owned())
        );
        assert_eq!(split_path("/odd"), ("odd".to_owned(), String::new()));
    }
}
