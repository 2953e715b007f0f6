//! The measurements' records and their printing: one row per (mode, concurrency), the
//! report as JSON or a Markdown table.

use std::io::Write;

use serde::Serialize;

use super::{Mode, REGISTER_CONCURRENCY};

/// One timed run's result.
#[derive(Debug, Clone, Serialize)]
pub(super) struct Row {
    pub(super) mode: Mode,
    pub(super) concurrency: usize,
    pub(super) connections: usize,
    /// Calls that succeeded.
    pub(super) calls: u64,
    pub(super) errors: u64,
    pub(super) seconds: f64,
    pub(super) calls_per_second: f64,
    pub(super) p50_ms: f64,
    pub(super) p99_ms: f64,
    /// Throughput relative to Ping at the same concurrency, when Ping was measured.
    pub(super) vs_ping: Option<f64>,
    /// The durable run used up its pre-registered vacancies before its time was up.
    pub(super) vacancies_ran_out: bool,
    /// Share of the machine's CPU time this process (client and server) used during the
    /// run, and the share other processes used (Linux only).
    pub(super) cpu_this_process: Option<f64>,
    pub(super) cpu_other_processes: Option<f64>,
    /// Encoded size of one reply, in bytes (an evaluation or a letting carries its
    /// explanation; Ping's reply is empty).
    pub(super) reply_bytes: usize,
    /// CPU microseconds per successful call, by thread name (the SQLite writer,
    /// tokio's workers, ...), from /proc (Linux only; 10 ms ticks).
    pub(super) cpu_us_per_call_by_thread: std::collections::BTreeMap<String, f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) first_error: Option<String>,
}

/// Untimed setup that was itself durable load.
#[derive(Debug, Clone, Serialize)]
pub(super) struct Registration {
    pub(super) vacancies: usize,
    pub(super) seconds: f64,
    pub(super) per_second: f64,
}

#[derive(Debug, Serialize)]
pub(super) struct Report {
    pub(super) backend: &'static str,
    pub(super) database: String,
    pub(super) cpus: usize,
    pub(super) duration_secs: u64,
    pub(super) warmup_secs: u64,
    pub(super) calls_per_connection: usize,
    pub(super) departments: usize,
    pub(super) build: &'static str,
    pub(super) runs: Vec<Row>,
    pub(super) registrations: Vec<Registration>,
}

/// The nearest-rank percentile of sorted latencies, in milliseconds.
pub(super) fn percentile_ms(sorted_ns: &[u64], p: f64) -> f64 {
    if sorted_ns.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted_ns.len() as f64).ceil() as usize;
    let index = rank.clamp(1, sorted_ns.len()) - 1;
    sorted_ns[index] as f64 / 1e6
}

pub(super) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub(super) fn print_table(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(
        out,
        "| mode | concurrency | connections | calls | errors | calls/s | p50 ms | p99 ms | vs Ping | CPU: loadgen / others |"
    )?;
    writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")?;
    for r in &report.runs {
        writeln!(
            out,
            "| {}{} | {} | {} | {} | {} | {} | {:.3} | {:.3} | {} | {} |",
            r.mode.as_str(),
            if r.vacancies_ran_out { " †" } else { "" },
            r.concurrency,
            r.connections,
            thousands(r.calls),
            r.errors,
            thousands(r.calls_per_second.round() as u64),
            r.p50_ms,
            r.p99_ms,
            r.vs_ping
                .map_or("–".to_owned(), |v| format!("{:.0} %", v * 100.0)),
            match (r.cpu_this_process, r.cpu_other_processes) {
                (Some(own), Some(others)) =>
                    format!("{:.0} % / {:.0} %", own * 100.0, others * 100.0),
                _ => "–".to_owned(),
            },
        )?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "{} backend ({}), {} build, {} s per run after {} s of warm-up, {} calls per HTTP/2 \
         connection, {} departments; client and server share this {}-CPU machine (the last \
         column: the share of all its CPU time that this process and that other processes \
         used during the run).",
        report.backend,
        report.database,
        report.build,
        report.duration_secs,
        report.warmup_secs,
        report.calls_per_connection,
        report.departments,
        report.cpus
    )?;
    if !report.registrations.is_empty() {
        let count: usize = report.registrations.iter().map(|r| r.vacancies).sum();
        let seconds: f64 = report.registrations.iter().map(|r| r.seconds).sum();
        writeln!(
            out,
            "Untimed setup: {} vacancies registered (RegisterVacancy, durable) in {seconds:.1} s, \
             {}/s at concurrency {REGISTER_CONCURRENCY}.",
            thousands(count as u64),
            thousands((count as f64 / seconds.max(1e-9)).round() as u64),
        )?;
    }
    if report.runs.iter().any(|r| r.mode == Mode::Screen) {
        writeln!(
            out,
            "screen: ScreenWaitingList over one connection and one stream, in batches of {} \
             households (built and encoded before the run, sent as encoded); its calls are \
             households and its calls/s households per second, its \
             p50 and p99 a batch's, from its sending to its answer, and its concurrency the \
             batches unanswered at once. Its ratio is households/s to Ping's calls/s.",
            super::SCREEN_BATCH
        )?;
    }
    if report.runs.iter().any(|r| r.vacancies_ran_out) {
        writeln!(
            out,
            "† used up its pre-registered vacancies before its time was up; the rate is over \
             the time it ran."
        )?;
    }
    for r in report.runs.iter().filter(|r| r.errors > 0) {
        writeln!(
            out,
            "{} at concurrency {}: {} errors, the first: {}",
            r.mode.as_str(),
            r.concurrency,
            r.errors,
            r.first_error.as_deref().unwrap_or("?")
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u64> = (1..=100).map(|i| i * 1_000_000).collect();
        assert_eq!(percentile_ms(&v, 50.0), 50.0);
        assert_eq!(percentile_ms(&v, 99.0), 99.0);
        assert_eq!(percentile_ms(&[7_000_000], 99.0), 7.0);
        assert_eq!(percentile_ms(&[], 50.0), 0.0);
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(65_432_100), "65,432,100");
    }
}
