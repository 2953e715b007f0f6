//! `--mode screen`: one ScreenWaitingList stream on one connection, batches of
//! SCREEN_BATCH households with `ahead` of them unanswered at a time. The batches are built
//! and encoded before the timed run and sent as encoded, so the client's share of the
//! machine is reading the answers, as a client screening its own list would.

use std::collections::VecDeque;
use std::time::Instant;

use prost::Message;
use prost::bytes::{BufMut, Bytes};
use tonic::Status;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::transport::Channel;
use tonic_prost::ProstCodec;

use super::setup::{Shared, household, request};
use super::worker::{Worker, nanos};
use super::{MAX_CALLS_PER_RUN, PROPOSAL_DATE, SCREEN_BATCH};
use letting_rules::grpc::pb;

/// Distinct batches sent in turn.
const BATCHES: usize = 8;

const METHOD: &str = "/letting.v1.HousingOrganisationService/ScreenWaitingList";

/// Sends messages encoded beforehand; decodes the answers as the generated client does.
struct PreEncoded;

struct AsEncoded;

impl Encoder for AsEncoded {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

struct Answers(<ProstCodec<pb::ScreenResult, pb::ScreenResult> as Codec>::Decoder);

impl Decoder for Answers {
    type Item = pb::ScreenResult;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<pb::ScreenResult>, Status> {
        self.0.decode(src)
    }
}

impl Codec for PreEncoded {
    type Encode = Bytes;
    type Decode = pb::ScreenResult;
    type Encoder = AsEncoded;
    type Decoder = Answers;

    fn encoder(&mut self) -> AsEncoded {
        AsEncoded
    }

    fn decoder(&mut self) -> Answers {
        Answers(ProstCodec::<pb::ScreenResult, pb::ScreenResult>::default().decoder())
    }
}

fn encoded(message: &pb::ScreenRequest) -> Bytes {
    Bytes::from(message.encode_to_vec())
}

/// Screens on `channel` until `deadline`; what it saw, and the households screened.
pub(super) async fn run_screen(
    ahead: usize,
    channel: &Channel,
    context: &Shared,
    deadline: Instant,
) -> (Worker, u64) {
    let mut seen = Worker::default();
    let mut households = 0;
    if let Err(e) = stream(
        ahead,
        channel,
        context,
        deadline,
        &mut seen,
        &mut households,
    )
    .await
    {
        seen.errors += 1;
        seen.first_error.get_or_insert(e);
    }
    (seen, households)
}

async fn stream(
    ahead: usize,
    channel: &Channel,
    context: &Shared,
    deadline: Instant,
    seen: &mut Worker,
    households: &mut u64,
) -> Result<(), String> {
    let Some(vacancy) = context.evaluation.first() else {
        return Err("no vacancy to screen for".into());
    };
    // Every batch, encoded, with its first household's reference.
    let batches: Vec<(Bytes, String)> = (0..BATCHES)
        .map(|_| {
            let batch: Vec<pb::ApplicantHousehold> = (0..SCREEN_BATCH)
                .map(|_| household(context.next()))
                .collect();
            let first = batch
                .first()
                .map(|h| h.applicant_ref.clone())
                .unwrap_or_default();
            let message = pb::ScreenRequest {
                item: Some(pb::screen_request::Item::Batch(pb::ScreenBatch {
                    households: batch,
                })),
            };
            (encoded(&message), first)
        })
        .collect();
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(ahead + 1);
    let send = |message: Bytes| {
        tx.try_send(message)
            .map_err(|e| format!("the request stream is stuck: {e}"))
    };
    send(encoded(&pb::ScreenRequest {
        item: Some(pb::screen_request::Item::Vacancy(pb::ScreenVacancy {
            vacancy_id: vacancy.id.clone(),
            as_of_date: PROPOSAL_DATE.into(),
        })),
    }))?;
    let mut grpc = tonic::client::Grpc::new(channel.clone());
    grpc.ready()
        .await
        .map_err(|e| format!("the connection is not ready: {e}"))?;
    let mut answers = grpc
        .streaming(
            request(
                tokio_stream::wrappers::ReceiverStream::new(rx),
                &context.organisations[vacancy.organisation],
            ),
            http::uri::PathAndQuery::from_static(METHOD),
            PreEncoded,
        )
        .await
        .map_err(|s| s.to_string())?
        .into_inner();
    // Each batch unanswered: when it was sent, and which it was.
    let mut waiting: VecDeque<(Instant, usize)> = VecDeque::with_capacity(ahead);
    let mut issued = 0u64;
    let mut next = 0usize;
    loop {
        while waiting.len() < ahead.max(1)
            && Instant::now() < deadline
            && issued < MAX_CALLS_PER_RUN
        {
            let (bytes, _) = &batches[next % BATCHES];
            issued += SCREEN_BATCH as u64;
            send(bytes.clone())?;
            waiting.push_back((Instant::now(), next % BATCHES));
            next += 1;
        }
        let Some((sent, which)) = waiting.pop_front() else {
            break;
        };
        let answer = match answers.message().await {
            Ok(Some(answer)) => answer,
            Ok(None) => return Err("the stream ended with batches unanswered".into()),
            Err(s) => return Err(s.to_string()),
        };
        seen.latencies_ns.push(nanos(sent.elapsed()));
        seen.reply_bytes = seen.reply_bytes.max(answer.encoded_len());
        let first = &batches[which].1;
        if answer.households.len() != SCREEN_BATCH
            || answer.households.first().map(|h| &h.applicant_ref) != Some(first)
        {
            return Err(format!(
                "a batch of {SCREEN_BATCH} households starting with {first} was answered with {} starting with {:?}",
                answer.households.len(),
                answer.households.first().map(|h| &h.applicant_ref)
            ));
        }
        if let Some(h) = answer.households.iter().find(|h| !h.error.is_empty()) {
            return Err(format!(
                "{} could not be judged: {}",
                h.applicant_ref, h.error
            ));
        }
        if let Some(h) = answer.households.iter().find(|h| h.rejected) {
            return Err(format!(
                "{} was rejected in a neutral area",
                h.applicant_ref
            ));
        }
        *households += answer.households.len() as u64;
    }
    // The request stream ends; the server then ends its answers.
    drop(tx);
    match answers.message().await {
        Ok(None) => Ok(()),
        Ok(Some(_)) => Err("an answer to no batch".into()),
        Err(s) => Err(s.to_string()),
    }
}
