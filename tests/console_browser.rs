//! The caseworker console in a real browser: headless Chromium (Debian's `chromium`,
//! installed by .ci/run) driven over the DevTools protocol with `chromiumoxide` against the
//! console on a loopback port, over the demo city. A caseworker signs in, opens the queue and a
//! letting, approves it with considerations, sees the queue shrink and the report count
//! it; rejects another and sees the replacement obligation; a form without its CSRF token
//! is refused; an auditor has no approve form; another organisation's letting is not
//! found. axe-core (vendored, `tests/console_support/axe`) checks every page against WCAG
//! 2.1 A and AA and the test fails on any serious or critical violation. A screenshot of
//! each page is kept under `target/console-screenshots/`.
//!
//! Without Chromium the test says it skipped, unless CI is set: there it fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "console_support/browser.rs"]
mod browser;
mod console_support;

use std::io::Write;
use std::path::PathBuf;

use browser::{Browser, axe_source, chromium};
use console_support::{Fixture, PASSWORD};
use letting_rules::service::Principal;

fn screenshots_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("console-screenshots");
    std::fs::create_dir_all(&dir).expect("screenshots dir");
    dir
}

/// Checks the page with axe-core and keeps its screenshot as `name.png`.
async fn check_page(browser: &mut Browser, axe: &str, name: &str, failures: &mut Vec<String>) {
    browser
        .screenshot(&screenshots_dir().join(format!("{name}.png")))
        .await;
    for (rule, impact, help, targets) in browser.axe(axe).await {
        let line = format!("{name}: {rule} ({impact}): {help} at {targets}");
        if impact == "serious" || impact == "critical" {
            failures.push(line);
        } else {
            let _ = writeln!(std::io::stderr(), "axe (not failing): {line}");
        }
    }
}

async fn sign_in(browser: &mut Browser, base: &str, username: &str) {
    browser.goto(&format!("{base}/signin")).await;
    browser.type_into("#username", username).await;
    browser.type_into("#password", PASSWORD).await;
    browser
        .press("form[action='/signin'] button[type=submit]")
        .await;
}

async fn sign_out(browser: &mut Browser) {
    browser
        .press("form[action='/signout'] button[type=submit]")
        .await;
}

fn count_of(text: &str) -> u64 {
    text.split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in `{text}`"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_caseworker_works_the_queue_in_chromium() {
    let (Some(chromium), Some(axe)) = (chromium(), axe_source()) else {
        let why = "chromium (apt-get install chromium, or set LETTING_CHROMIUM) or tests/console_support/axe/axe.min.js is missing";
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the console's browser test: {why}"
        );
        let _ = writeln!(
            std::io::stderr(),
            "a_caseworker_works_the_queue_in_chromium: skipped: {why}"
        );
        return;
    };
    let fx = Fixture::new().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(letting_rules::console::serve(
        listener,
        fx.router.clone(),
        async {
            let _ = stopped.await;
        },
    ));
    let municipality = Principal::Municipality {
        municipality: "0101".into(),
    };
    let queue = fx
        .ledger
        .approval_queue(&municipality, Default::default())
        .await
        .unwrap();
    let exposed: Vec<_> = queue
        .iter()
        .filter(|i| i.state.area_class == "exposed")
        .collect();
    assert!(
        exposed.len() >= 3,
        "three pending lettings in exposed areas"
    );

    let mut browser = Browser::start(&chromium).await;
    let mut failures = Vec::new();

    // Sign in.
    browser.goto(&format!("{base}/signin")).await;
    check_page(&mut browser, &axe, "01-signin", &mut failures).await;
    sign_in(&mut browser, &base, "kirsten").await;
    assert_eq!(browser.path().await, "/queue");

    // The queue, and the report before.
    check_page(&mut browser, &axe, "02-queue", &mut failures).await;
    let before = count_of(&browser.text("#queue-count").await);
    assert_eq!(before, queue.len() as u64);
    browser.goto(&format!("{base}/report?quarter=2007Q4")).await;
    let approvals_before = count_of(&browser.text("#fig-approvals td").await);

    // Open a letting from the queue and approve it with considerations.
    browser.goto(&format!("{base}/queue")).await;
    let first = &exposed[0].letting_id;
    browser.press(&format!("a[href='/lettings/{first}']")).await;
    assert_eq!(browser.path().await, format!("/lettings/{first}"));
    check_page(&mut browser, &axe, "03-letting", &mut failures).await;
    browser
        .type_into(
            "#approve-reason",
            "Husstanden har fast arbejde; udlejningen styrker området.",
        )
        .await;
    browser.set_value("#approve-date", "2007-12-31").await;
    browser.press("#approve-form button[type=submit]").await;
    assert_eq!(browser.status().await, 200);
    assert_eq!(
        browser
            .eval("document.querySelector('#letting-status').dataset.status")
            .await,
        serde_json::json!("approved")
    );
    check_page(&mut browser, &axe, "04-approved", &mut failures).await;

    // The printable decision.
    browser.press("main a[href^='/decisions/']").await;
    assert_eq!(browser.text("#decision-caseworker").await, "kirsten");
    check_page(&mut browser, &axe, "05-decision", &mut failures).await;

    // The queue shrank; the report counts the approval.
    browser.goto(&format!("{base}/queue")).await;
    assert_eq!(count_of(&browser.text("#queue-count").await), before - 1);
    browser.goto(&format!("{base}/report?quarter=2007Q4")).await;
    assert_eq!(
        count_of(&browser.text("#fig-approvals td").await),
        approvals_before + 1
    );
    check_page(&mut browser, &axe, "06-report", &mut failures).await;

    // Reject another: the replacement obligation shows, with the offer form.
    let second = &exposed[1].letting_id;
    browser.goto(&format!("{base}/lettings/{second}")).await;
    browser
        .type_into(
            "#reject-reason",
            "Husstanden modtager kontanthjælp; området er udsat.",
        )
        .await;
    browser.set_value("#reject-date", "2007-12-31").await;
    browser.press("#reject-form button[type=submit]").await;
    assert_eq!(browser.status().await, 200);
    assert!(browser.exists("#replacement-obligation").await);
    assert!(browser.exists("#offer-form").await, "an offer can be made");
    check_page(&mut browser, &axe, "07-rejected", &mut failures).await;

    // A form without its CSRF token is refused.
    let third = &exposed[2].letting_id;
    browser.goto(&format!("{base}/lettings/{third}")).await;
    browser
        .eval("document.querySelector('#approve-form input[name=csrf]').remove()")
        .await;
    browser
        .type_into("#approve-reason", "Uden sikkerhedsnøgle.")
        .await;
    browser.press("#approve-form button[type=submit]").await;
    assert_eq!(browser.status().await, 403);
    assert!(browser.text("main").await.contains("sikkerhedsnøgle"));
    check_page(&mut browser, &axe, "08-csrf-refused", &mut failures).await;
    browser.goto(&format!("{base}/lettings/{third}")).await;
    assert_eq!(
        browser
            .eval("document.querySelector('#letting-status').dataset.status")
            .await,
        serde_json::json!("pending_municipal_approval"),
        "nothing was approved"
    );

    // The other pages, in Danish and one in English.
    for (path, name) in [
        ("/referrals", "09-referrals"),
        ("/grants", "10-grants"),
        ("/areas?year=2007", "11-areas"),
        ("/decisions", "12-find-decision"),
        ("/queue?lang=en", "13-queue-en"),
        ("/report/full?quarter=2007Q4", "16-report-full"),
    ] {
        browser.goto(&format!("{base}{path}")).await;
        assert_eq!(browser.status().await, 200, "{path}");
        check_page(&mut browser, &axe, name, &mut failures).await;
    }
    browser.goto(&format!("{base}/queue?lang=da")).await;
    sign_out(&mut browser).await;

    // An auditor reads the letting but has no form to approve it.
    sign_in(&mut browser, &base, "revisor").await;
    browser.goto(&format!("{base}/lettings/{third}")).await;
    assert_eq!(browser.status().await, 200);
    assert!(!browser.exists("#approve-form").await);
    check_page(&mut browser, &axe, "14-auditor-letting", &mut failures).await;
    sign_out(&mut browser).await;

    // Another organisation does not find the letting.
    let owner = exposed[2].organisation.clone().unwrap_or_default();
    let stranger = ["kab", "fsb", "akb"]
        .into_iter()
        .find(|o| *o != owner)
        .unwrap();
    sign_in(&mut browser, &base, &format!("{stranger}-sagsbehandler")).await;
    browser.goto(&format!("{base}/lettings/{third}")).await;
    assert_eq!(browser.status().await, 404);
    check_page(
        &mut browser,
        &axe,
        "15-organisation-not-found",
        &mut failures,
    )
    .await;

    drop(browser);
    let _ = stop.send(());
    server.await.expect("console task").expect("console served");
    assert!(
        failures.is_empty(),
        "serious or critical accessibility violations:\n{}",
        failures.join("\n")
    );
}
