//! ScreenWaitingList: a stream of household batches screened against one vacancy. The
//! first message opens the screening (the vacancy, its area and the rules are read once);
//! each later message is validated, judged on every core, and answered in order. A
//! malformed message ends the stream with its status; a household the rules cannot judge
//! has its error in its result. Nothing is written.

mod convert;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;
use futures::stream::FuturesOrdered;
use rayon::prelude::*;

use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use super::auth::{Authenticator, Needs};
use super::pb;
use super::{invalid, status};
use crate::service::{Ledger, Screening};
use convert::{batch, households, screened, target};

/// The answers, one per batch.
pub type ScreenStream = Pin<Box<dyn Stream<Item = Result<pb::ScreenResult, Status>> + Send>>;

/// Households screened, counted when their batch is answered.
pub const SCREENED: &str = "letting_screen_households_total";
/// Seconds one batch took on rayon's threads (every core): validated and judged.
pub const BATCH_SECONDS: &str = "letting_screen_batch_seconds";

/// Answers waiting to be sent: a client that stops reading holds the screening here.
const AHEAD: usize = 4;
/// Batches being validated and judged at once: one on rayon's threads while the next is
/// decoded.
const IN_FLIGHT: usize = 2;

/// A batch's answer, being worked out.
type Answer = Pin<Box<dyn Future<Output = Result<pb::ScreenResult, Status>> + Send>>;

pub async fn screen_waiting_list(
    auth: &Authenticator,
    ledger: &Ledger,
    request: Request<Streaming<pb::ScreenRequest>>,
) -> Result<Response<ScreenStream>, Status> {
    let principal = auth.caller(&request, Needs::Writer).await?;
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
        ledger
            .open_screening(&principal, target)
            .await
            .map_err(status)?,
    );
    let (tx, rx) = tokio::sync::mpsc::channel(AHEAD);
    tokio::spawn(async move {
        // Answers in the order the batches came; the next batch is read and decoded while
        // the one before is judged. After a message that is not a batch of 1 to BATCH
        // households, or a failed read, nothing more is read.
        let mut working: FuturesOrdered<Answer> = FuturesOrdered::new();
        let mut reading = true;
        loop {
            tokio::select! {
                biased;
                Some(answer) = working.next(), if !working.is_empty() => {
                    let failed = answer.is_err();
                    if tx.send(answer).await.is_err() || failed {
                        break;
                    }
                }
                message = incoming.message(), if reading && working.len() < IN_FLIGHT => {
                    match message {
                        Ok(Some(message)) => match batch(message) {
                            Ok(sent) => working.push_back(screen(&screening, sent)),
                            Err(e) => {
                                reading = false;
                                working.push_back(Box::pin(std::future::ready(Err(e))));
                            }
                        },
                        Ok(None) => reading = false,
                        Err(e) => {
                            reading = false;
                            working.push_back(Box::pin(std::future::ready(Err(e))));
                        }
                    }
                }
                else => break,
            }
        }
    });
    Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
}

/// One batch, on rayon's threads: its households validated and judged, and its answer
/// built, in the order sent.
fn screen(screening: &Arc<Screening>, sent: Vec<pb::ApplicantHousehold>) -> Answer {
    let screening = screening.clone();
    let (done, answer) = tokio::sync::oneshot::channel();
    rayon::spawn(move || {
        let began = Instant::now();
        let result = households(&sent).map(|households| {
            let judged = screening.screen_all(&households);
            metrics::histogram!(BATCH_SECONDS).record(began.elapsed().as_secs_f64());
            metrics::counter!(SCREENED).increment(judged.len() as u64);
            pb::ScreenResult {
                households: households
                    .into_par_iter()
                    .zip(judged)
                    .map(|(h, s)| screened(h.applicant_ref, s))
                    .collect(),
            }
        });
        // The receiver is gone only if the stream was dropped; nothing is owed then.
        let _ = done.send(result);
    });
    Box::pin(async move {
        answer
            .await
            .map_err(|_| Status::internal("the screening of a batch was abandoned"))?
    })
}
