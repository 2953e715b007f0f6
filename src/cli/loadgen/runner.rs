//! The timed runs: workers calling the server for a fixed time, and what they measured.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::cpu::{CpuTimes, thread_ticks};
use super::report::{Row, percentile_ms};
use super::screen::run_screen;
use super::setup::{Client, Shared, household, request};
use super::worker::{Worker, nanos};
use super::{LoadgenArgs, MAX_CALLS_PER_RUN, Mode, PROPOSAL_DATE};
use letting_rules::grpc::pb;
use tonic::transport::Channel;

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
    level: &Level,
    args: &LoadgenArgs,
    context: &Arc<Shared>,
    duration: Duration,
) -> Row {
    let level_clients = &level.clients;
    match mode {
        Mode::Screen => {
            let started = Started::now();
            let (seen, households) =
                run_screen(concurrency, &level.screen, context, started.at + duration).await;
            started.row(Mode::Screen, concurrency, 1, seen, households)
        }
        Mode::Ping | Mode::Evaluate | Mode::Durable => {
            run_once(mode, concurrency, level_clients, args, context, duration).await
        }
    }
}

/// The connections of one concurrency level: the clients the calls share, and the one
/// connection a screening stream runs on.
pub(super) struct Level {
    pub(super) clients: Vec<Client>,
    pub(super) screen: Channel,
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
