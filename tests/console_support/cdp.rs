//! Headless Chromium driven over the DevTools protocol (a WebSocket of JSON commands,
//! `tokio-tungstenite`): start the browser, open a page, type into fields, press buttons,
//! wait for the next page, run axe-core on it and take its screenshot.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

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
    child: Child,
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    session: String,
    next_id: u64,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Browser {
    /// Starts headless Chromium and opens one page (1280 × 900).
    pub async fn start(chromium: &Path) -> Browser {
        let profile = tempfile::tempdir().expect("profile dir");
        let mut child = Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--hide-scrollbars",
                "--remote-debugging-port=0",
                "--window-size=1280,900",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start chromium");
        // "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/ID" on stderr.
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if !sent && let Some(at) = line.find("ws://") {
                    let _ = tx.send(line[at..].trim().to_owned());
                    sent = true;
                }
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("chromium printed its DevTools address within 60 s");
        let (ws, _) = tokio_tungstenite::connect_async(url.as_str())
            .await
            .expect("connect to DevTools");
        let mut browser = Browser {
            child,
            ws,
            session: String::new(),
            next_id: 0,
            _profile: profile,
        };
        let target = browser
            .call("Target.createTarget", json!({"url": "about:blank"}))
            .await;
        let target_id = target["targetId"].as_str().expect("target id").to_owned();
        let attached = browser
            .call(
                "Target.attachToTarget",
                json!({"targetId": target_id, "flatten": true}),
            )
            .await;
        browser.session = attached["sessionId"].as_str().expect("session").to_owned();
        browser.call("Page.enable", json!({})).await;
        browser.call("Runtime.enable", json!({})).await;
        browser
            .call(
                "Emulation.setDeviceMetricsOverride",
                json!({"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": false}),
            )
            .await;
        browser
    }

    /// Sends one command (to the page once attached) and waits for its result.
    pub async fn call(&mut self, method: &str, params: Value) -> Value {
        match self.try_call(method, params).await {
            Ok(v) => v,
            Err(error) => panic!("{method} failed: {error}"),
        }
    }

    /// As [`Browser::call`], with the protocol's error returned.
    pub async fn try_call(&mut self, method: &str, params: Value) -> Result<Value, String> {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({"id": id, "method": method, "params": params});
        if !self.session.is_empty() {
            message["sessionId"] = json!(self.session);
        }
        self.ws
            .send(Message::text(message.to_string()))
            .await
            .expect("send to DevTools");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let next = tokio::time::timeout(left, self.ws.next())
                .await
                .unwrap_or_else(|_| panic!("{method}: no answer within 60 s"));
            let Some(Ok(Message::Text(text))) = next else {
                continue;
            };
            let value: Value = serde_json::from_str(&text).expect("DevTools JSON");
            if value["id"].as_u64() == Some(id) {
                if let Some(error) = value.get("error") {
                    return Err(error.to_string());
                }
                return Ok(value["result"].clone());
            }
        }
    }

    /// Evaluates `expression` in the page; its value (promises awaited).
    pub async fn eval(&mut self, expression: &str) -> Value {
        let result = self
            .call(
                "Runtime.evaluate",
                json!({"expression": expression, "awaitPromise": true, "returnByValue": true}),
            )
            .await;
        if let Some(e) = result.get("exceptionDetails") {
            panic!(
                "script failed: {e}\n{}",
                &expression[..expression.len().min(300)]
            );
        }
        result["result"]["value"].clone()
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
            let ready = self
                .try_call(
                    "Runtime.evaluate",
                    json!({"expression": "typeof window.__consoleTestOld === 'undefined' && document.readyState === 'complete'", "returnByValue": true}),
                )
                .await
                .map(|r| r["result"]["value"].clone());
            if ready == Ok(json!(true)) {
                return;
            }
            assert!(Instant::now() < deadline, "no new page within 30 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn goto(&mut self, url: &str) {
        self.mark().await;
        self.call("Page.navigate", json!({"url": url})).await;
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
        self.call("Input.insertText", json!({"text": text})).await;
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
        let shot = self
            .call(
                "Page.captureScreenshot",
                json!({"format": "png", "captureBeyondViewport": true}),
            )
            .await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().expect("png data"))
            .expect("base64");
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
