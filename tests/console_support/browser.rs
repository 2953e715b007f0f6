//! Headless Chromium driven over the DevTools protocol with `chromiumoxide`, launched from
//! the system's Chromium (nothing is downloaded): open a page, type into fields, press
//! buttons, wait for the next page, run axe-core on it and take its screenshot.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chromiumoxide::browser::{Browser as Chromium, BrowserConfig};
use chromiumoxide::cdp::browser_protocol::emulation::SetDeviceMetricsOverrideParams;
use chromiumoxide::cdp::browser_protocol::input::InsertTextParams;
use chromiumoxide::cdp::browser_protocol::page::{CaptureScreenshotFormat, NavigateParams};
use chromiumoxide::cdp::js_protocol::runtime::EvaluateParams;
use chromiumoxide::page::{Page, ScreenshotParams};
use futures::StreamExt;
use serde_json::{Value, json};

/// Where Chromium is: `LETTING_CHROMIUM`, else Debian's and the usual paths.
pub fn chromium() -> Option<PathBuf> {
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

/// The vendored axe-core (`scripts/vendor-console-assets.sh`).
pub fn axe_source() -> Option<String> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/console_support/axe/axe.min.js");
    std::fs::read_to_string(path).ok()
}

pub struct Browser {
    chromium: Chromium,
    page: Page,
    handler: tokio::task::JoinHandle<()>,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        // chromiumoxide kills the browser process when its handle is dropped.
        self.handler.abort();
    }
}

impl Browser {
    /// Starts headless Chromium and opens one page (1280 × 900).
    pub async fn start(chromium: &Path) -> Browser {
        let profile = tempfile::tempdir().expect("profile dir");
        let config = BrowserConfig::builder()
            .chrome_executable(chromium)
            .no_sandbox()
            .window_size(1280, 900)
            .viewport(None)
            .user_data_dir(profile.path())
            .launch_timeout(Duration::from_secs(60))
            .request_timeout(Duration::from_secs(60))
            .args([
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--hide-scrollbars",
            ])
            .build()
            .expect("a browser configuration");
        let (chromium, mut events) = Chromium::launch(config).await.expect("start chromium");
        // The connection's event loop: it must run for any command to be answered.
        let handler = tokio::spawn(async move { while events.next().await.is_some() {} });
        let page = chromium.new_page("about:blank").await.expect("open a page");
        page.execute(SetDeviceMetricsOverrideParams::new(1280, 900, 1.0, false))
            .await
            .expect("set the viewport");
        Browser {
            chromium,
            page,
            handler,
            _profile: profile,
        }
    }

    /// Evaluates `expression` in the page, the protocol's error returned.
    async fn try_eval(&mut self, expression: &str) -> Result<Value, String> {
        let params = EvaluateParams::builder()
            .expression(expression)
            .await_promise(true)
            .return_by_value(true)
            .build()
            .map_err(|e| e.to_string())?;
        let result = self
            .page
            .evaluate_expression(params)
            .await
            .map_err(|e| e.to_string())?;
        Ok(result.value().cloned().unwrap_or(Value::Null))
    }

    /// Evaluates `expression` in the page; its value (promises awaited).
    pub async fn eval(&mut self, expression: &str) -> Value {
        match tokio::time::timeout(Duration::from_secs(60), self.try_eval(expression)).await {
            Ok(Ok(value)) => value,
            Ok(Err(e)) => panic!(
                "script failed: {e}\n{}",
                &expression[..expression.len().min(300)]
            ),
            Err(_) => panic!("script: no answer within 60 s"),
        }
    }

    /// Marks the current document, so that the next one can be told from it.
    async fn mark(&mut self) {
        self.eval("window.__consoleTestOld = true").await;
    }

    /// Waits until a new document has loaded.
    async fn wait_for_new_page(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            // While the page changes, the old document may vanish under the question.
            let ready = tokio::time::timeout(
                Duration::from_secs(5),
                self.try_eval(
                    "typeof window.__consoleTestOld === 'undefined' && document.readyState === 'complete'",
                ),
            )
            .await;
            if matches!(ready, Ok(Ok(Value::Bool(true)))) {
                return;
            }
            assert!(Instant::now() < deadline, "no new page within 30 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn goto(&mut self, url: &str) {
        self.mark().await;
        self.page
            .execute(NavigateParams::new(url))
            .await
            .unwrap_or_else(|e| panic!("navigate to {url}: {e}"));
        self.wait_for_new_page().await;
    }

    /// The HTTP status of the current document.
    pub async fn status(&mut self) -> u64 {
        self.eval("performance.getEntriesByType('navigation')[0].responseStatus")
            .await
            .as_u64()
            .expect("a status")
    }

    pub async fn path(&mut self) -> String {
        self.eval("location.pathname + location.search")
            .await
            .as_str()
            .expect("a path")
            .to_owned()
    }

    /// Types `text` into the field `selector`, as a keyboard would (focus, then text).
    pub async fn type_into(&mut self, selector: &str, text: &str) {
        let found = self
            .eval(&format!(
                "(() => {{ const e = document.querySelector({}); if (!e) return false; e.focus(); if (e.select) e.select(); return true; }})()",
                json!(selector)
            ))
            .await;
        assert_eq!(found, json!(true), "no field {selector}");
        self.page
            .execute(InsertTextParams::new(text))
            .await
            .expect("type the text");
    }

    /// Sets a field's value directly (a date field, whose keyboard entry is by segment).
    pub async fn set_value(&mut self, selector: &str, value: &str) {
        let found = self
            .eval(&format!(
                "(() => {{ const e = document.querySelector({}); if (!e) return false; e.value = {}; return e.value === {}; }})()",
                json!(selector),
                json!(value),
                json!(value)
            ))
            .await;
        assert_eq!(found, json!(true), "cannot set {selector} to {value}");
    }

    /// Presses a button (or follows a link) and waits for the page it leads to.
    pub async fn press(&mut self, selector: &str) {
        self.mark().await;
        let found = self
            .eval(&format!(
                "(() => {{ const e = document.querySelector({}); if (!e) return false; e.focus(); e.click(); return true; }})()",
                json!(selector)
            ))
            .await;
        assert_eq!(found, json!(true), "nothing to press at {selector}");
        self.wait_for_new_page().await;
    }

    pub async fn exists(&mut self, selector: &str) -> bool {
        self.eval(&format!(
            "document.querySelector({}) !== null",
            json!(selector)
        ))
        .await
            == json!(true)
    }

    pub async fn text(&mut self, selector: &str) -> String {
        self.eval(&format!(
            "(document.querySelector({}) || {{}}).textContent || ''",
            json!(selector)
        ))
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    /// Saves a PNG of the whole page.
    pub async fn screenshot(&mut self, path: &Path) {
        let params = ScreenshotParams::builder()
            .format(CaptureScreenshotFormat::Png)
            .capture_beyond_viewport(true)
            .build();
        let bytes = self.page.screenshot(params).await.expect("a screenshot");
        assert!(bytes.starts_with(b"\x89PNG"));
        std::fs::write(path, bytes).expect("write the screenshot");
    }

    /// Runs axe-core (WCAG 2.0/2.1 A and AA rules) on the page; the violations as
    /// `(rule, impact, help, first targets)`.
    pub async fn axe(&mut self, axe: &str) -> Vec<(String, String, String, String)> {
        if self.eval("typeof window.axe === 'undefined'").await == json!(true) {
            self.eval(axe).await;
        }
        let found = self
            .eval(
                "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})\
                 .then(r => ({passes: r.passes.length, violations: r.violations.map(v => [v.id, v.impact || '', v.help, JSON.stringify(v.nodes.slice(0, 3).map(n => n.target))])}))",
            )
            .await;
        let passes = found["passes"].as_u64().unwrap_or(0);
        assert!(passes > 10, "axe-core ran its rules ({passes} passed)");
        found["violations"]
            .as_array()
            .expect("violations")
            .iter()
            .map(|v| {
                let s = |i: usize| v[i].as_str().unwrap_or_default().to_owned();
                (s(0), s(1), s(2), s(3))
            })
            .collect()
    }
}
