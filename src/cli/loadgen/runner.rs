//! The timed runs: workers calling the server for a fixed time, and what they measured.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::cpu::{CpuTimes, thread_ticks};
use super::report::{Row, percentile_ms};
use super::setup::{Client, Shared, household, request};
use super::{LoadgenArgs, MAX_CALLS_PER_RUN, Mode, PROPOSAL_DATE, SCREEN_BATCH};
use letting_rules::grpc::pb;

/// What one worker saw.
#[derive(Default)]
struct Worker {
    latencies_ns: Vec<u64>,
    reply_bytes: usize,
    errors: u64,
    first_error: Option<String>,
    ran_out: bool,
}

/// One call of `mode`; Ok(()) if it succeeded with the expected answer.
async fn call(
    mode: Mode,
    worker: usize,
    client: &mut Client,
    context: &Shared,
    ran_out: &mut bool,
    reply_bytes: &mut usize,
) -> Option<Result<Duration, String>> {
    let started;
    let result = match mode {
        Mode::Ping => {
            let key = &context.organisations[worker % context.organisations.len()];
            let r = request(pb::PingRequest {}, key);
            started = Instant::now();
            match client.ping(r).await {
                Ok(reply) => {
                    *reply_bytes = prost::Message::encoded_len(reply.get_ref());
                    Ok(())
                }
                Err(s) => Err(s.to_string()),
            }
        }
        Mode::Evaluate => {
            let n = context.next();
            let vacancy = &context.evaluation[(n as usize) % context.evaluation.len()];
            let r = request(
                pb::EvaluateLettingRequest {
                    vacancy_id: vacancy.id.clone(),
                    household: Some(household(n)),
                    proposal_date: PROPOSAL_DATE.into(),
                    referral_id: String::new(),
                },
                &context.organisations[vacancy.organisation],
            );
            started = Instant::now();
            match client.evaluate_letting(r).await {
                Ok(reply) => {
                    *reply_bytes = prost::Message::encoded_len(reply.get_ref());
                    expect_approved(reply.get_ref().outcome())
                }
                Err(s) => Err(s.to_string()),
            }
        }
        // Screening is a stream, not calls: `run_screen` measures it.
        Mode::Screen => return Some(Err("screen runs as one stream, not as calls".into())),
        Mode::Durable => {
            let Some(vacancy) = context.take_vacancy() else {
                *ran_out = true;
                return None;
            };
            let n = context.next();
            let r = request(
                pb::ProposeLettingRequest {
                    idempotency_key: format!("lg-letting-{n}"),
                    vacancy_id: vacancy.id,
                    household: Some(household(n)),
                    proposal_date: PROPOSAL_DATE.into(),
                    referral_id: String::new(),
                },
                &context.organisations[vacancy.organisation],
            );
            started = Instant::now();
            match client.propose_letting(r).await {
                Ok(reply) => {
                    *reply_bytes = prost::Message::encoded_len(reply.get_ref());
                    expect_approved(reply.get_ref().outcome())
                }
                Err(s) => Err(s.to_string()),
            }
        }
    };
    Some(result.map(|()| started.elapsed()))
}

/// In a neutral area every letting of these households is approved; anything else means
/// the setup is wrong.
fn expect_approved(outcome: pb::LettingOutcome) -> Result<(), String> {
    if outcome == pb::LettingOutcome::Approved {
        Ok(())
    } else {
        Err(format!(
            "expected an approved letting, got {}",
            outcome.as_str_name()
        ))
    }
}

/// Runs `mode` at `concurrency` for `duration` and measures it.
pub(super) async fn timed(
    mode: Mode,
    concurrency: usize,
    level: &[Client],
    args: &LoadgenArgs,
    context: &Arc<Shared>,
    duration: Duration,
) -> Row {
    match mode {
        Mode::Screen => run_screen(concurrency, level, context, duration).await,
        Mode::Ping | Mode::Evaluate | Mode::Durable => {
            run_once(mode, concurrency, level, args, context, duration).await
        }
    }
}

/// When a run started, and the CPU counters then.
struct Started {
    at: Instant,
    cpu: Option<CpuTimes>,
    threads: std::collections::BTreeMap<String, u64>,
}

impl Started {
    fn now() -> Started {
        Started {
            cpu: CpuTimes::now(),
            threads: thread_ticks(),
            at: Instant::now(),
        }
    }

    /// The row of a run that saw `seen` and did `calls` units of work (calls, or
    /// households screened) since it started.
    fn row(
        self,
        mode: Mode,
        concurrency: usize,
        connections: usize,
        seen: Worker,
        calls: u64,
    ) -> Row {
        let seconds = self.at.elapsed().as_secs_f64();
        let cpu = self
            .cpu
            .zip(CpuTimes::now())
            .map(|(a, b)| a.shares_until(&b));
        let mut latencies = seen.latencies_ns;
        latencies.sort_unstable();
        let mut by_thread = std::collections::BTreeMap::new();
        for (name, ticks) in thread_ticks() {
            let spent = ticks.saturating_sub(self.threads.get(&name).copied().unwrap_or(0));
            if spent > 0 && calls > 0 {
                // USER_HZ is 100 on Linux: a tick is 10 ms.
                by_thread.insert(name, spent as f64 * 10_000.0 / calls as f64);
            }
        }
        Row {
            mode,
            concurrency,
            connections,
            calls,
            errors: seen.errors,
            seconds,
            calls_per_second: if seconds > 0.0 {
                calls as f64 / seconds
            } else {
                0.0
            },
            p50_ms: percentile_ms(&latencies, 50.0),
            p99_ms: percentile_ms(&latencies, 99.0),
            vs_ping: None,
            vacancies_ran_out: seen.ran_out,
            cpu_this_process: cpu.map(|c| c.0),
            cpu_other_processes: cpu.map(|c| c.1),
            reply_bytes: seen.reply_bytes,
            cpu_us_per_call_by_thread: by_thread,
            first_error: seen.first_error,
        }
    }
}

/// Runs `mode` at `concurrency` for `duration`, one call at a time per worker.
async fn run_once(
    mode: Mode,
    concurrency: usize,
    level: &[Client],
    args: &LoadgenArgs,
    context: &Arc<Shared>,
    duration: Duration,
) -> Row {
    let issued = Arc::new(AtomicU64::new(0));
    let started = Started::now();
    let deadline = started.at + duration;
    let mut tasks = Vec::with_capacity(concurrency);
    for w in 0..concurrency {
        let mut client = level[(w / args.calls_per_connection) % level.len()].clone();
        let context = context.clone();
        let issued = issued.clone();
        tasks.push(tokio::spawn(async move {
            let mut seen = Worker {
                latencies_ns: Vec::with_capacity(16_384),
                ..Worker::default()
            };
            while Instant::now() < deadline
                && issued.fetch_add(1, Ordering::Relaxed) < MAX_CALLS_PER_RUN
            {
                match call(
                    mode,
                    w,
                    &mut client,
                    &context,
                    &mut seen.ran_out,
                    &mut seen.reply_bytes,
                )
                .await
                {
                    None => break,
                    Some(Ok(latency)) => seen.latencies_ns.push(nanos(latency)),
                    Some(Err(e)) => {
                        seen.errors += 1;
                        seen.first_error.get_or_insert(e);
                    }
                }
            }
            seen
        }));
    }
    let mut all = Worker::default();
    for task in tasks {
        match task.await {
            Ok(seen) => {
                all.reply_bytes = all.reply_bytes.max(seen.reply_bytes);
                all.latencies_ns.extend(seen.latencies_ns);
                all.errors += seen.errors;
                all.ran_out |= seen.ran_out;
                if all.first_error.is_none() {
                    all.first_error = seen.first_error;
                }
            }
            Err(e) => {
                all.errors += 1;
                all.first_error
                    .get_or_insert(format!("a worker failed: {e}"));
            }
        }
    }
    let calls = all.latencies_ns.len() as u64;
    started.row(mode, concurrency, level.len(), all, calls)
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Screens the waiting list for one vacancy over one stream on the first connection for
/// `duration`: batches of SCREEN_BATCH households, `ahead` of them unanswered at a time.
/// A batch's latency is from its sending to its answer; the rate is in households.
async fn run_screen(
    ahead: usize,
    level: &[Client],
    context: &Arc<Shared>,
    duration: Duration,
) -> Row {
    let started = Started::now();
    let deadline = started.at + duration;
    let mut seen = Worker::default();
    let mut households = 0u64;
    let result = screen_stream(ahead, level, context, deadline, &mut seen, &mut households).await;
    if let Err(e) = result {
        seen.errors += 1;
        seen.first_error.get_or_insert(e);
    }
    started.row(Mode::Screen, ahead, 1, seen, households)
}

async fn screen_stream(
    ahead: usize,
    level: &[Client],
    context: &Shared,
    deadline: Instant,
    seen: &mut Worker,
    households: &mut u64,
) -> Result<(), String> {
    let (Some(client), Some(vacancy)) = (level.first(), context.evaluation.first()) else {
        return Err("no connection or no vacancy to screen for".into());
    };
    let mut client = client.clone();
    let (tx, rx) = tokio::sync::mpsc::channel::<pb::ScreenRequest>(ahead + 1);
    let send = |message: pb::ScreenRequest| {
        tx.try_send(message)
            .map_err(|e| format!("the request stream is stuck: {e}"))
    };
    send(pb::ScreenRequest {
        item: Some(pb::screen_request::Item::Vacancy(pb::ScreenVacancy {
            vacancy_id: vacancy.id.clone(),
            as_of_date: PROPOSAL_DATE.into(),
        })),
    })?;
    let mut answers = client
        .screen_waiting_list(request(
            tokio_stream::wrappers::ReceiverStream::new(rx),
            &context.organisations[vacancy.organisation],
        ))
        .await
        .map_err(|s| s.to_string())?
        .into_inner();
    // Each batch unanswered: when it was sent, and its first household's reference.
    let mut waiting: VecDeque<(Instant, String)> = VecDeque::with_capacity(ahead);
    let mut issued = 0u64;
    loop {
        while waiting.len() < ahead.max(1)
            && Instant::now() < deadline
            && issued < MAX_CALLS_PER_RUN
        {
            let batch: Vec<pb::ApplicantHousehold> = (0..SCREEN_BATCH)
                .map(|_| household(context.next()))
                .collect();
            let first = batch
                .first()
                .map(|h| h.applicant_ref.clone())
                .unwrap_or_default();
            issued += batch.len() as u64;
            send(pb::ScreenRequest {
                item: Some(pb::screen_request::Item::Batch(pb::ScreenBatch {
                    households: batch,
                })),
            })?;
            waiting.push_back((Instant::now(), first));
        }
        let Some((sent, first)) = waiting.pop_front() else {
            break;
        };
        let answer = match answers.message().await {
            Ok(Some(answer)) => answer,
            Ok(None) => return Err("the stream ended with batches unanswered".into()),
            Err(s) => return Err(s.to_string()),
        };
        seen.latencies_ns.push(nanos(sent.elapsed()));
        seen.reply_bytes = seen.reply_bytes.max(prost::Message::encoded_len(&answer));
        if answer.households.len() != SCREEN_BATCH
            || answer.households.first().map(|h| &h.applicant_ref) != Some(&first)
        {
            return Err(format!(
                "a batch of {SCREEN_BATCH} households starting with {first} was answered with {} starting with {:?}",
                answer.households.len(),
                answer.households.first().map(|h| &h.applicant_ref)
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
