//! Protobuf ↔ domain. Requests are validated here, once: what passes is a well-formed
//! domain command; what fails names the field and the reason (sent as BadRequest details).

mod cpr;
mod invalid;
pub mod limits;
mod reader;
mod reply;

pub use cpr::{looks_like_cpr, quote, redact};
pub use invalid::{FieldError, Invalid};
pub use reader::{Reader, parse_decimal};
pub use reply::{channel, counterfactuals, decision, eligibility, explanation, outcome};
