//! The console's test fixture: the demo city of 2007 (seeded once per test binary into a
//! template database, copied for each test) under a clock fixed at 2008-01-15, with
//! console users for the municipality, an auditor and two housing organisations, and a
//! municipality API key; and a small cookie-keeping client over the console's router.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::{DateTime, Utc};
use tokio::sync::OnceCell;
use tower::ServiceExt;

use letting_rules::console::{self, ConsoleOptions};
use letting_rules::demo::{self, DemoOptions};
use letting_rules::grpc::auth::create_key;
use letting_rules::rules;
use letting_rules::service::{Clock, Ledger, Principal};
use letting_rules::store::Store;

pub const PASSWORD: &str = "correct horse battery";
/// The day the console's caseworkers work on: after the demo's year.
pub const TODAY: &str = "2008-01-15T10:00:00Z";

pub fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(TODAY)
        .unwrap()
        .with_timezone(&Utc)
}

fn book() -> letting_rules::model::RuleBook {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("rules");
    rules::load_dir(&dir).expect("the rules load").book
}

static TEMPLATE: OnceCell<PathBuf> = OnceCell::const_new();

/// The seeded template database's directory (made once per test binary).
async fn template() -> &'static Path {
    TEMPLATE
        .get_or_init(|| async {
            let dir = tempfile::tempdir().expect("temp dir").keep();
            let url = format!("sqlite://{}", dir.join("demo.db").display());
            let store = Arc::new(Store::open(&url).await.expect("open store"));
            let ledger = Ledger::new(store.clone(), book(), Clock::fixed(now()));
            demo::seed(&ledger, &DemoOptions::default())
                .await
                .expect("the demo seeds");
            for (user, principal) in users() {
                ledger
                    .add_user(user, &principal, PASSWORD)
                    .await
                    .expect("user");
            }
            store.close().await;
            dir
        })
        .await
}

fn users() -> Vec<(&'static str, Principal)> {
    let m = || "0101".to_owned();
    vec![
        ("kirsten", Principal::Municipality { municipality: m() }),
        ("revisor", Principal::Auditor { municipality: m() }),
        (
            "kab-sagsbehandler",
            Principal::Organisation {
                organisation: "kab".into(),
                municipality: m(),
            },
        ),
        (
            "fsb-sagsbehandler",
            Principal::Organisation {
                organisation: "fsb".into(),
                municipality: m(),
            },
        ),
        (
            "akb-sagsbehandler",
            Principal::Organisation {
                organisation: "akb".into(),
                municipality: m(),
            },
        ),
    ]
}

/// A console over a fresh copy of the demo city.
pub struct Fixture {
    pub ledger: Ledger,
    pub store: Arc<Store>,
    pub router: Router,
    /// A municipality API key.
    pub key: String,
    _dir: tempfile::TempDir,
}

impl Fixture {
    pub async fn new() -> Fixture {
        let template = template().await;
        let dir = tempfile::tempdir().expect("temp dir");
        for entry in std::fs::read_dir(template).expect("template") {
            let entry = entry.expect("entry");
            std::fs::copy(entry.path(), dir.path().join(entry.file_name())).expect("copy");
        }
        let url = format!("sqlite://{}", dir.path().join("demo.db").display());
        let store = Arc::new(Store::open(&url).await.expect("open store"));
        let (_, key) = create_key(
            &store,
            &Principal::Municipality {
                municipality: "0101".into(),
            },
            "console test",
        )
        .await
        .expect("key");
        let ledger = Ledger::new(store.clone(), book(), Clock::fixed(now()));
        let router = console::router(ledger.clone(), ConsoleOptions::default());
        Fixture {
            ledger,
            store,
            router,
            key,
            _dir: dir,
        }
    }

    pub fn client(&self) -> Client {
        Client {
            router: self.router.clone(),
            cookies: Vec::new(),
        }
    }
}

/// A response as the tests read it.
pub struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub set_cookies: Vec<String>,
    pub body: String,
}

impl Page {
    /// The CSRF token of the page's first form.
    pub fn csrf(&self) -> String {
        attr_after(&self.body, "name=\"csrf\" value=\"").expect("a csrf field")
    }

    /// The idempotency key of the form posting to `action`.
    pub fn form_key(&self, action: &str) -> String {
        let at = self
            .body
            .find(&format!("action=\"{action}\""))
            .unwrap_or_else(|| panic!("no form posting to {action}"));
        attr_after(&self.body[at..], "name=\"key\" value=\"").expect("a key field")
    }
}

/// The first option's value of the select named `name`.
pub fn first_option(body: &str, name: &str) -> String {
    let at = body
        .find(&format!("name=\"{name}\""))
        .unwrap_or_else(|| panic!("no select {name}"));
    attr_after(&body[at..], "<option value=\"").expect("an option")
}

fn attr_after(text: &str, marker: &str) -> Option<String> {
    let start = text.find(marker)? + marker.len();
    let end = text[start..].find('"')?;
    Some(text[start..start + end].to_owned())
}

/// The queue's count (`data-count` of `#queue-count`).
pub fn queue_count(body: &str) -> usize {
    let at = body.find("id=\"queue-count\"").expect("the queue's count");
    attr_after(&body[at..], "data-count=\"")
        .expect("data-count")
        .parse()
        .expect("a number")
}

/// The count of a report figure by its row id.
pub fn figure(body: &str, id: &str) -> u64 {
    let at = body
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no figure {id}"));
    attr_after(&body[at..], "data-count=\"")
        .expect("data-count")
        .parse()
        .expect("a number")
}

/// The letting ids the queue links to, in its order.
pub fn queue_lettings(body: &str) -> Vec<String> {
    body.split("href=\"/lettings/")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .map(str::to_owned)
        .collect()
}

/// Form fields, URL-encoded.
pub fn form(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b' ' => "+".into(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A browser-like client: it keeps the cookies it is given.
pub struct Client {
    router: Router,
    cookies: Vec<(String, String)>,
}

impl Client {
    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send(&mut self, request: Request<Body>) -> Page {
        let response = self.router.clone().oneshot(request).await.expect("answer");
        let status = response.status();
        let location = response
            .headers()
            .get(header::LOCATION)
            .map(|v| v.to_str().unwrap().to_owned());
        let set_cookies: Vec<String> = response
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        for c in &set_cookies {
            let pair = c.split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            self.cookies.retain(|(name, _)| name != k);
            if !c.contains("Max-Age=0") {
                self.cookies.push((k.to_owned(), v.to_owned()));
            }
        }
        let bytes = axum::body::to_bytes(response.into_body(), 16 * 1024 * 1024)
            .await
            .expect("body");
        Page {
            status,
            location,
            set_cookies,
            body: String::from_utf8(bytes.to_vec()).expect("utf-8"),
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let request = Request::get(path)
            .header(header::COOKIE, self.cookie_header())
            .body(Body::empty())
            .unwrap();
        self.send(request).await
    }

    pub async fn post(&mut self, path: &str, body: String) -> Page {
        let request = Request::post(path)
            .header(header::COOKIE, self.cookie_header())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        self.send(request).await
    }

    /// Signs in with a username and the fixture's password; panics unless it works.
    pub async fn sign_in(&mut self, username: &str) {
        let page = self.get("/signin").await;
        assert_eq!(page.status, StatusCode::OK);
        let csrf = page.csrf();
        let done = self
            .post(
                "/signin",
                form(&[
                    ("csrf", &csrf),
                    ("username", username),
                    ("password", PASSWORD),
                ]),
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{username} signs in");
    }
}
