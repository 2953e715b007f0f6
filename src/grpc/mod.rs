//! The gRPC layer: the only module that knows protobuf types. It authenticates the
//! caller, converts and validates requests once (`convert`), calls the service, and maps
//! service errors to gRPC statuses.

mod audit;
pub mod auth;
pub mod convert;
mod housing;
mod keys;
pub mod metrics;
mod municipality;
mod registry;
mod report;
pub mod screen;
pub mod server;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::service::ServiceError;
use convert::{Invalid, quote, redact};

/// The generated protobuf types and services.
#[allow(clippy::all, missing_docs)]
pub mod pb {
    tonic::include_proto!("letting.v1");

    /// The encoded descriptor set, served by gRPC reflection.
    pub const DESCRIPTOR: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/letting_descriptor.bin"));
}

pub use audit::AuditApi;
pub use housing::HousingApi;
pub use keys::KeyApi;
pub use municipality::MunicipalityApi;
pub use registry::RegistryApi;
pub use report::ReportApi;

/// INVALID_ARGUMENT with a BadRequest detail per field listed.
pub fn invalid(errors: Invalid) -> Status {
    let mut details = ErrorDetails::new();
    for e in errors.errors() {
        details.add_bad_request_violation(e.field.clone(), e.reason.clone());
    }
    let mut summary: Vec<String> = errors
        .errors()
        .iter()
        .map(|e| format!("`{}` {}", e.field, e.reason))
        .collect();
    if errors.more() > 0 {
        summary.push(format!("and {} more", errors.more()));
    }
    Status::with_error_details(
        Code::InvalidArgument,
        format!("invalid request: {}", summary.join("; ")),
        details,
    )
}

/// The gRPC status for a service error. Its message may quote what the caller sent, so a
/// value is shown as `convert::quote` shows it, and no CPR-shaped run is ever shown.
pub fn status(error: ServiceError) -> Status {
    match error {
        ServiceError::InvalidArgument { field, reason } => {
            let mut e = Invalid::default();
            e.push(field, reason);
            invalid(e)
        }
        ServiceError::NotFound { what, id } => {
            Status::not_found(format!("{what} {} was not found", quote(&id)))
        }
        ServiceError::IdempotencyConflict(key) => Status::already_exists(format!(
            "idempotency key {} was already used for a different request; use a new key for a new request",
            quote(&key)
        )),
        ServiceError::PermissionDenied(_) => Status::permission_denied(redact(&error.to_string())),
        ServiceError::FailedPrecondition(_) | ServiceError::Engine(_) => {
            Status::failed_precondition(redact(&error.to_string()))
        }
        ServiceError::Store(e) => {
            tracing::error!(error = %e, "store failure");
            Status::unavailable(format!(
                "the database could not complete the call: {e}; retry with the same idempotency key"
            ))
        }
        ServiceError::Corrupt(e) => {
            tracing::error!(error = %e, "corrupt stored record");
            Status::internal(format!("a stored record could not be read: {e}"))
        }
    }
}
