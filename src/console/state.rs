//! What every handler of the console is given.

use crate::service::Ledger;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub ledger: Ledger,
}
