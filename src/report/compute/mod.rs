//! Computing the report: one read transaction gathers what the period needs from the
//! decision log (and the registry's lists of areas and departments); the rest is pure.

mod build;
mod checks;
mod classes;
mod combined;
mod counts;
mod detail;
mod events;
mod gather;
mod grants;
mod history;
mod indicators;
mod referrals;

use super::model::*;
use super::{Period, ReportError};
use crate::model::RuleBook;
use crate::store::{Store, Tx};
use build::build;
use gather::gather;

/// The compliance report of `municipality` for `period`, with every decision id
/// ([`Detail::Full`]; see [`Report::with_detail`]). Reads in one read transaction.
pub async fn compute(
    store: &Store,
    book: &RuleBook,
    municipality: &str,
    period: Period,
) -> Result<Report, ReportError> {
    let (m, p) = (municipality.to_owned(), period.clone());
    let gathered = store
        .read(move |tx| {
            let (m, p) = (m.clone(), p.clone());
            Box::pin(async move { gather(tx, &m, &p).await })
        })
        .await?;
    Ok(build(book, municipality, &period, gathered))
}

/// [`compute`] inside a transaction the caller holds.
pub async fn compute_in(
    tx: &mut dyn Tx,
    book: &RuleBook,
    municipality: &str,
    period: &Period,
) -> Result<Report, ReportError> {
    let gathered = gather(tx, municipality, period).await?;
    Ok(build(book, municipality, period, gathered))
}
