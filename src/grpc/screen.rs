//! ScreenWaitingList: a stream of household batches screened against one vacancy. The
//! first message opens the screening (the vacancy, its area and the rules are read once);
//! each later message is validated, judged on every core, and answered in order. A
//! malformed message or an error ends the stream with its status; nothing is written.

mod convert;

use std::pin::Pin;
use std::sync::Arc;

use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use super::auth::Needs;
use super::housing::HousingApi;
use super::pb;
use super::{invalid, status};
use crate::service::Screening;
use convert::{batch, result, target};

/// The answers, one per batch.
pub type ScreenStream = Pin<Box<dyn Stream<Item = Result<pb::ScreenResult, Status>> + Send>>;

/// Households screened, counted when their batch is answered.
pub const SCREENED: &str = "letting_screen_households_total";
/// Seconds the engine took over one batch (on every core), from validated to judged.
pub const BATCH_SECONDS: &str = "letting_screen_batch_seconds";

/// Answers waiting to be sent: a client that stops reading holds the screening here.
const AHEAD: usize = 4;

pub async fn screen_waiting_list(
    api: &HousingApi,
    request: Request<Streaming<pb::ScreenRequest>>,
) -> Result<Response<ScreenStream>, Status> {
    let principal = api.auth.caller(&request, Needs::Writer).await?;
    let mut incoming = request.into_inner();
    let Some(first) = incoming.message().await? else {
        let mut e = super::convert::Invalid::default();
        e.push(
            "vacancy",
            "is required: the stream ended before its first message",
        );
        return Err(invalid(e));
    };
    let target = target(first)?;
    let screening = Arc::new(
        api.ledger
            .open_screening(&principal, target)
            .await
            .map_err(status)?,
    );
    let (tx, rx) = tokio::sync::mpsc::channel(AHEAD);
    tokio::spawn(async move {
        loop {
            let answer = match incoming.message().await {
                Ok(Some(message)) => screen(&screening, message).await,
                Ok(None) => break,
                Err(e) => Err(e),
            };
            let failed = answer.is_err();
            if tx.send(answer).await.is_err() || failed {
                break;
            }
        }
    });
    Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
}

/// One batch: validated, judged, answered in the order sent.
async fn screen(
    screening: &Arc<Screening>,
    message: pb::ScreenRequest,
) -> Result<pb::ScreenResult, Status> {
    let households = batch(message)?;
    let refs = households.iter().map(|h| h.applicant_ref.clone()).collect();
    let began = std::time::Instant::now();
    let screened = screening.judge(households).await.map_err(status)?;
    metrics::histogram!(BATCH_SECONDS).record(began.elapsed().as_secs_f64());
    metrics::counter!(SCREENED).increment(screened.len() as u64);
    Ok(result(refs, screened))
}
