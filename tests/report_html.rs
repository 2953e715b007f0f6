//! The HTML report in a real browser: headless Chromium (Debian's `chromium`, installed by
//! .ci/run) loads the demo city's 2007Q2 report, the page's own check finds every chart
//! drawn and no script error, and a phone-sized screenshot is taken. Where Chromium is
//! absent the test says it skipped, unless CI is set, where it fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod report_support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use letting_rules::demo::{self, DemoOptions};
use letting_rules::report::render::{Format, render};
use letting_rules::report::{self, Period};
use letting_rules::service::Ledger;
use letting_rules::store::Store;
use report_support::book;

fn chromium() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("LETTING_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/snap/bin/chromium",
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

/// Runs Chromium headless on `page` with `args`; its standard output, or a failure.
fn run_chromium(chromium: &Path, profile: &Path, args: &[String], page: &Path) -> String {
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chromium");
    // Read its output while it runs: a full pipe would stop it.
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stdout, &mut text);
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stderr, &mut text);
        text
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for chromium") {
            break status;
        }
        if started.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let stdout = out.join().expect("stdout reader");
    let stderr = err.join().expect("stderr reader");
    assert!(
        status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&stderr)
    );
    String::from_utf8_lossy(&stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_html_report_loads_in_chromium_and_shows_its_charts() {
    let Some(chromium) = chromium() else {
        let why = "chromium is not installed (apt-get install chromium, or set LETTING_CHROMIUM)";
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the browser test: {why}"
        );
        let _ = writeln!(
            std::io::stderr(),
            "the_html_report_loads_in_chromium_and_shows_its_charts: skipped: {why}"
        );
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("demo.db").display());
    let store = Arc::new(Store::open(&url).await.expect("open store"));
    let book = book();
    demo::seed(
        &Ledger::new(
            store.clone(),
            book.clone(),
            letting_rules::service::Clock::system(),
        ),
        &DemoOptions::default(),
    )
    .await
    .expect("the demo seeds");
    let mut report = report::compute(
        &store,
        &book,
        "0101",
        Period::parse_quarter("2007Q2").expect("quarter"),
    )
    .await
    .expect("report");
    store.close().await;
    report.generated_at = Some(chrono::Utc::now());
    let html = render(&report, Format::Html).expect("html");
    let page = dir.path().join("report-2007Q2.html");
    std::fs::write(&page, &html).expect("write the page");
    let charts_in_source = html.matches("<svg class=\"chart\"").count();
    assert!(
        charts_in_source >= 9,
        "flexible shares, classes, pool, six indicators"
    );

    let dom = run_chromium(
        &chromium,
        &dir.path().join("profile-dom"),
        &["--dump-dom".to_owned()],
        &page,
    );
    assert!(
        dom.contains("data-render-check=\"ok\""),
        "the page's own check did not pass: {}",
        dom.split("data-render-check=")
            .nth(1)
            .and_then(|s| s.split('"').nth(1))
            .unwrap_or("no marker at all")
    );
    assert!(dom.contains(&format!("data-charts=\"{charts_in_source}\"")));
    for id in [
        "chart-flexible",
        "chart-classes",
        "chart-pool",
        "chart-indicator-1",
        "chart-indicator-6",
    ] {
        assert!(
            dom.contains(&format!("id=\"{id}\"")),
            "chart {id} in the page"
        );
    }
    assert!(dom.contains("Compliance report 2007Q2"));

    // On a phone's width, printed to PNG.
    let shot = dir.path().join("phone.png");
    run_chromium(
        &chromium,
        &dir.path().join("profile-shot"),
        &[
            "--window-size=390,2400".to_owned(),
            format!("--screenshot={}", shot.display()),
        ],
        &page,
    );
    let png = std::fs::read(&shot).expect("the screenshot");
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    assert!(png.len() > 10_000, "the screenshot shows something");
}
