//! Replay and what-if over a log at national volume: 1,000,000 judged decisions.
//!
//!     cargo bench --bench replay
//!     LETTING_BENCH_DECISIONS=200000 cargo bench --bench replay   # a smaller log
//!     LETTING_BENCH_MODES=replay cargo bench --bench replay        # replay alone
//!
//! The log is made once and kept under target/replay-bench/: `letting demo`'s Copenhagen
//! of 2007 is seeded through the service (every decision judged by the engine, its facts
//! and rule book kept), then its judged decisions and their facts are copied under new
//! ids until the log holds the number asked for. Every copy is a real decision with real
//! facts, so replaying one is the engine's full work; the copies only repeat the demo's
//! mix of kinds. Then, in a process of its own each, alternately: `replay` over 2007, and
//! `what-if` with § 51 b's 6 months raised to 9. Prints each run's wall time and peak
//! resident memory (VmHWM), and the min / median / max of each.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use chrono::NaiveDate;

use letting_rules::demo::{self, DemoOptions};
use letting_rules::replay;
use letting_rules::rules;
use letting_rules::service::{Clock, Ledger};
use letting_rules::store::Store;

type Result<T> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

const RUNS: usize = 3;

fn day(text: &str) -> Result<NaiveDate> {
    Ok(text.parse()?)
}

fn rules_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("rules")
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

/// The log: the demo seeded, then its judged decisions copied to `wanted`.
async fn make_log(path: &Path, wanted: u64) -> Result<()> {
    let url = format!("sqlite://{}", path.display());
    let store = Arc::new(Store::open(&url).await?);
    let book = rules::load_dir(&rules_dir())?.book;
    let ledger = Ledger::new(store.clone(), book, Clock::system());
    demo::seed(&ledger, &DemoOptions::default()).await?;
    store.close().await;

    let conn = rusqlite::Connection::open(path)?;
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")?;
    let judged: u64 = conn.query_row(
        "SELECT count(*) FROM decisions d JOIN decision_inputs i ON i.decision_id = d.id",
        [],
        |row| row.get(0),
    )?;
    let copies = wanted.div_ceil(judged.max(1)).saturating_sub(1);
    let columns = "kind, municipality, organisation, department, area, subject, event_date, \
                   recorded_at, outcome, channel, area_class, amount_ore, rule_set_id, \
                   rule_set_hash, principal, body, schema_version";
    for copy in 1..=copies {
        let tx = conn.unchecked_transaction()?;
        tx.execute(
            &format!(
                "INSERT INTO decisions (id, {columns}) SELECT d.id || '~' || ?1, {} \
                 FROM decisions d JOIN decision_inputs i ON i.decision_id = d.id \
                 WHERE instr(d.id, '~') = 0",
                columns
                    .split(", ")
                    .map(|c| format!("d.{}", c.trim()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            [copy],
        )?;
        tx.execute(
            "INSERT INTO decision_inputs (decision_id, inputs) \
             SELECT decision_id || '~' || ?1, inputs FROM decision_inputs \
             WHERE instr(decision_id, '~') = 0",
            [copy],
        )?;
        tx.commit()?;
        if copy % 50 == 0 {
            eprintln!("  {} of {copies} copies", copy);
        }
    }
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
    Ok(())
}

fn judged_in(path: &Path) -> Result<u64> {
    let conn = rusqlite::Connection::open(path)?;
    Ok(conn.query_row("SELECT count(*) FROM decision_inputs", [], |row| row.get(0))?)
}

/// One run, in this process: prints `RESULT seconds peak-MiB decisions outcome`.
async fn measure(path: &Path, mode: &str, proposed: &Path) -> Result<()> {
    let store = Store::open(&format!("sqlite://{}", path.display())).await?;
    let (from, to) = (day("2007-01-01")?, day("2007-12-31")?);
    let started = Instant::now();
    let (decisions, outcome) = if mode == "replay" {
        let s = replay::replay(&store, "0101", from, to, |_| {}).await?;
        (
            s.decisions,
            format!("identical={} differing={}", s.identical, s.differing),
        )
    } else {
        let current = rules::load_dir(&rules_dir())?.book;
        let proposed = Arc::new(rules::load_dir(proposed)?.book);
        let w = replay::what_if(&store, &current, proposed, "0101", from, to).await?;
        (
            w.decisions,
            format!("flips={} figures={}", w.flips.len(), w.figures.len()),
        )
    };
    let seconds = started.elapsed().as_secs_f64();
    store.close().await;
    println!(
        "RESULT {seconds:.2} {:.0} {decisions} {outcome}",
        peak_rss_mib()
    );
    Ok(())
}

/// The rules with § 51 b's months raised to 9, under `dir`.
fn proposed_rules(dir: &Path) -> Result<()> {
    for entry in walkdir::WalkDir::new(rules_dir()) {
        let entry = entry?;
        let target = dir.join(entry.path().strip_prefix(rules_dir())?);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    let layer = dir.join("sets/dk-2005.toml");
    let text = std::fs::read_to_string(&layer)?;
    std::fs::write(
        layer,
        text.replace(
            "consecutive_calendar_months = 6,",
            "consecutive_calendar_months = 9,",
        ),
    )?;
    Ok(())
}

fn stats(label: &str, runs: &[(f64, f64)]) {
    let mut secs: Vec<f64> = runs.iter().map(|r| r.0).collect();
    let mut mib: Vec<f64> = runs.iter().map(|r| r.1).collect();
    secs.sort_by(f64::total_cmp);
    mib.sort_by(f64::total_cmp);
    let mid = |v: &[f64]| v.get(v.len() / 2).copied().unwrap_or(0.0);
    println!(
        "{label:<8} seconds min {:.2} median {:.2} max {:.2}   peak RSS MiB min {:.0} median {:.0} max {:.0}",
        secs.first().copied().unwrap_or(0.0),
        mid(&secs),
        secs.last().copied().unwrap_or(0.0),
        mib.first().copied().unwrap_or(0.0),
        mid(&mib),
        mib.last().copied().unwrap_or(0.0),
    );
}

async fn run() -> Result<()> {
    let wanted: u64 = std::env::var("LETTING_BENCH_DECISIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/replay-bench");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("log-{wanted}.db"));
    if !path.exists() || judged_in(&path)? < wanted {
        let _ = std::fs::remove_file(&path);
        eprintln!(
            "making a log of {wanted} judged decisions at {}",
            path.display()
        );
        let started = Instant::now();
        make_log(&path, wanted).await?;
        eprintln!("  made in {:.0} s", started.elapsed().as_secs_f64());
    }
    let proposed = dir.join("proposed-rules");
    if !proposed.exists() {
        proposed_rules(&proposed)?;
    }
    println!(
        "log: {} judged decisions ({} MiB on disk)",
        judged_in(&path)?,
        std::fs::metadata(&path)?.len() / (1024 * 1024)
    );
    let exe = std::env::current_exe()?;
    let mut results: [(&str, Vec<(f64, f64)>); 2] =
        [("replay", Vec::new()), ("what-if", Vec::new())];
    let modes = std::env::var("LETTING_BENCH_MODES").unwrap_or_else(|_| "replay,what-if".into());
    for run in 0..RUNS {
        for (mode, runs) in results.iter_mut() {
            if !modes.split(',').any(|m| m == *mode) {
                continue;
            }
            let out = Command::new(&exe)
                .args(["--bench", "--measure"])
                .arg(&path)
                .arg(*mode)
                .arg(&proposed)
                .output()?;
            let text = String::from_utf8_lossy(&out.stdout);
            let line = text
                .lines()
                .find_map(|l| l.strip_prefix("RESULT "))
                .ok_or_else(|| {
                    format!(
                        "{mode} printed no result: {}",
                        String::from_utf8_lossy(&out.stderr)
                    )
                })?;
            println!("run {} {mode:<8} {line}", run + 1);
            let fields: Vec<&str> = line.split(' ').collect();
            let secs: f64 = fields.first().and_then(|s| s.parse().ok()).unwrap_or(0.0);
            let mib: f64 = fields.get(1).and_then(|s| s.parse().ok()).unwrap_or(0.0);
            runs.push((secs, mib));
        }
    }
    for (mode, runs) in results.iter().filter(|(_, runs)| !runs.is_empty()) {
        stats(mode, runs);
    }
    Ok(())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    // `cargo test --benches` runs benches without --bench: do nothing then.
    if !args.iter().any(|a| a == "--bench") {
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    if let Some(i) = args.iter().position(|a| a == "--measure") {
        let path = PathBuf::from(args.get(i + 1).ok_or("--measure PATH MODE RULES")?);
        let mode = args.get(i + 2).ok_or("--measure PATH MODE RULES")?;
        let proposed = PathBuf::from(args.get(i + 3).ok_or("--measure PATH MODE RULES")?);
        return runtime.block_on(measure(&path, mode, &proposed));
    }
    runtime.block_on(run())
}
