//! The real `letting serve` process: its signals (a SIGHUP while it starts or just after
//! its port opens reloads the rules and kills nothing; a SIGTERM under load answers every
//! committed call) and its TLS pair (a key that does not match its certificate stops the
//! start before anything is created).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{ServeProcess, rules_dir, seed_at, send_signal, vacancy, wait_child, write_key_file};
use letting_rules::store::{DecisionKind, Store};

/// Rounds of load-then-SIGTERM; the defect showed in 2 of 30 stops, and every round here
/// stops under heavier load than that probe (64 calls in flight on 8 connections).
const ROUNDS: usize = 6;
const CONNECTIONS: usize = 8;
const WORKERS: usize = 64;

/// What one call came to, by its vacancy reference.
#[derive(Debug)]
enum Answer {
    Ok,
    Failed(tonic::Code, String),
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_answers_every_committed_call() {
    let dir = tempfile::tempdir().expect("temp dir");
    let key_file = dir.path().join("keys.toml");
    let keys = write_key_file(&key_file);
    let url = format!("sqlite://{}", dir.path().join("x.db").display());

    let mut answers: HashMap<String, Answer> = HashMap::new();
    let rounds = std::env::var("LETTING_TEST_SHUTDOWN_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(ROUNDS);
    for round in 0..rounds {
        let mut serve = ServeProcess::spawn(&url, &key_file);
        if round == 0 {
            seed_at(serve.addr, &keys.municipality).await;
        }
        let mut clients = Vec::new();
        for _ in 0..CONNECTIONS {
            clients.push(serve.housing(&keys.kab).await);
        }
        let mut workers = Vec::new();
        for w in 0..WORKERS {
            let mut client = clients[w % CONNECTIONS].clone();
            workers.push(tokio::spawn(async move {
                let mut answers = Vec::new();
                for i in 0.. {
                    let key = format!("r{round}-w{w}-{i}");
                    let department = if i % 2 == 0 {
                        "akb-bispeparken"
                    } else {
                        "kab-nordvest-3"
                    };
                    let reference = format!("ref-{key}");
                    match client
                        .register_vacancy(vacancy(&key, department, "2007-03-01"))
                        .await
                    {
                        Ok(_) => answers.push((reference, Answer::Ok)),
                        Err(status) => {
                            // Once the server goes away every further call fails too.
                            answers.push((
                                reference,
                                Answer::Failed(status.code(), status.message().to_owned()),
                            ));
                            break;
                        }
                    }
                }
                answers
            }));
        }
        // Under load for a while, then the signal while calls are in flight.
        tokio::time::sleep(Duration::from_millis(700)).await;
        serve.signal("TERM");
        for worker in workers {
            answers.extend(worker.await.expect("worker"));
        }
        let status = tokio::task::spawn_blocking(move || {
            let status = serve.wait_exit(Duration::from_secs(30));
            (status, serve.stdout(), serve.stderr())
        })
        .await
        .expect("wait");
        match status {
            (Some(s), out, _) if s.success() => {
                assert!(out.contains("stopped cleanly"), "round {round}: {out}")
            }
            (s, out, err) => panic!("round {round}: serve ended with {s:?}:\n{out}\n{err}"),
        }
    }

    let mut kinds: HashMap<String, usize> = HashMap::new();
    for a in answers.values() {
        if let Answer::Failed(code, message) = a {
            *kinds.entry(format!("{code:?} {message}")).or_default() += 1;
        }
    }
    eprintln!("errors: {kinds:#?}");
    let store = Store::open(&url).await.expect("open the database");
    let stored: HashSet<String> = common::decisions_in(&store, &[DecisionKind::ChannelAssignment])
        .await
        .into_iter()
        .filter_map(|d| match letting_rules::log::decode(&d) {
            Ok(letting_rules::log::Body::ChannelAssignment(b)) => Some(b.request.vacancy_ref),
            _ => None,
        })
        .collect();
    store.close().await;

    let ok = answers.values().filter(|a| matches!(a, Answer::Ok)).count();
    assert!(
        ok > rounds * WORKERS,
        "the load was too light to test anything: {ok} calls answered OK"
    );
    // Every call answered OK is stored; every call answered with an error is not (a call
    // refused before it started is neither).
    let mut lost = Vec::new();
    let mut committed_but_failed = Vec::new();
    for (reference, answer) in &answers {
        match answer {
            Answer::Ok if !stored.contains(reference) => lost.push(reference.clone()),
            Answer::Failed(code, message) if stored.contains(reference) => {
                committed_but_failed.push(format!("{reference}: {code:?} {message}"))
            }
            _ => {}
        }
    }
    assert!(lost.is_empty(), "answered OK but not stored: {lost:?}");
    assert!(
        committed_but_failed.is_empty(),
        "committed but answered with an error ({} of {} calls): {committed_but_failed:#?}",
        committed_but_failed.len(),
        answers.len()
    );
    // Nothing was stored that no caller asked for.
    assert!(stored.iter().all(|r| answers.contains_key(r)));
}

/// `letting serve` with `args` in `dir`, its output in `dir/stdout.log` and `dir/stderr.log`.
fn serve_in(dir: &Path, args: &[&str]) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_letting"));
    for (name, _) in std::env::vars() {
        if name.starts_with("LETTING_") {
            command.env_remove(name);
        }
    }
    command
        .arg("serve")
        .args([
            "--listen",
            "127.0.0.1:0",
            "--console-listen",
            "127.0.0.1:0",
            "--rules",
        ])
        .arg(rules_dir())
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(dir.join("stdout.log")).expect("stdout log"))
        .stderr(std::fs::File::create(dir.join("stderr.log")).expect("stderr log"))
        .spawn()
        .expect("spawn letting serve")
}

fn stdout_of(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("stdout.log")).unwrap_or_default()
}

/// Waits until stdout holds `needle`; panics if the process exits first.
fn wait_for(dir: &Path, child: &mut Child, needle: &str) -> String {
    let started = Instant::now();
    loop {
        let out = stdout_of(dir);
        if out.contains(needle) {
            return out;
        }
        if let Ok(Some(status)) = child.try_wait() {
            let err = std::fs::read_to_string(dir.join("stderr.log")).unwrap_or_default();
            panic!("letting serve exited with {status} before printing `{needle}`:\n{out}\n{err}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no `{needle}` within 60 s:\n{out}"
        );
        // As soon as it is printed: the signal must land right after.
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Waits until the database file appears: the server is opening its store, well into its
/// start and before it binds the port.
fn wait_for_file(path: &Path, child: &mut Child) {
    let started = Instant::now();
    while !path.exists() {
        assert!(
            child.try_wait().expect("try_wait").is_none(),
            "serve exited before opening its store"
        );
        assert!(started.elapsed() < Duration::from_secs(60), "no database");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Sends SIGHUP every few milliseconds from the moment the store is being opened until a
/// few after the server says it listens. Returns how many were sent, or the exit status if
/// a signal killed the server.
fn hangups_through_the_start(
    child: &mut Child,
    db: &Path,
    stdout: &Path,
) -> Result<usize, std::process::ExitStatus> {
    wait_for_file(db, child);
    let started = Instant::now();
    let (mut sent, mut after_listening) = (0, 0);
    while after_listening < 5 && started.elapsed() < Duration::from_secs(60) {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Err(status);
        }
        send_signal(child.id(), "HUP");
        sent += 1;
        if std::fs::read_to_string(stdout)
            .unwrap_or_default()
            .contains("listening on ")
        {
            after_listening += 1;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    Ok(sent)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighups_while_starting_and_just_after_the_port_opens_kill_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("x.db");
    let url = format!("sqlite://{}", db.display());
    let child = serve_in(dir.path(), &["--database-url", &url]);
    let stdout = dir.path().join("stdout.log");
    let (mut child, sent) = tokio::task::spawn_blocking(move || {
        let mut child = child;
        let sent = hangups_through_the_start(&mut child, &db, &stdout);
        (child, sent)
    })
    .await
    .expect("signals");
    let sent = sent.unwrap_or_else(|status| panic!("serve died of a SIGHUP: {status}"));
    assert!(sent > 5, "only {sent} SIGHUPs were sent");
    let out = wait_for(dir.path(), &mut child, "listening on ");
    let addr: std::net::SocketAddr = out
        .split("listening on ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|a| a.parse().ok())
        .expect("the address serve prints");
    // Still serving: health answers.
    let mut health =
        tonic_health::pb::health_client::HealthClient::new(common::connect(addr).await);
    let answer = health
        .check(tonic_health::pb::HealthCheckRequest::default())
        .await
        .expect("health after the SIGHUPs")
        .into_inner();
    assert_eq!(
        answer.status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );
    drop(health);
    send_signal(child.id(), "TERM");
    let status =
        tokio::task::spawn_blocking(move || wait_child(&mut child, Duration::from_secs(30)))
            .await
            .expect("wait");
    assert!(
        status.is_some_and(|s| s.success()),
        "serve ended with {status:?}"
    );
    assert!(stdout_of(dir.path()).contains("stopped cleanly"));
}

#[test]
fn a_sigterm_while_starting_stops_cleanly_once_started() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("x.db");
    let url = format!("sqlite://{}", db.display());
    let mut child = serve_in(dir.path(), &["--database-url", &url]);
    wait_for_file(&db, &mut child);
    send_signal(child.id(), "TERM");
    let status = wait_child(&mut child, Duration::from_secs(30));
    assert!(
        status.is_some_and(|s| s.success()),
        "serve ended with {status:?} instead of stopping cleanly"
    );
    assert!(stdout_of(dir.path()).contains("stopped cleanly"));
}

/// A certificate and its key, PEM.
fn self_signed() -> (String, String) {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("cert");
    (made.cert.pem(), made.signing_key.serialize_pem())
}

#[test]
fn a_tls_key_that_does_not_match_its_certificate_stops_the_start_with_nothing_created() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (cert, _) = self_signed();
    let (_, other_key) = self_signed();
    std::fs::write(dir.path().join("cert.pem"), cert).expect("write cert");
    std::fs::write(dir.path().join("key.pem"), other_key).expect("write key");
    let db = dir.path().join("data").join("x.db");
    let url = format!("sqlite://{}", db.display());
    let mut child = serve_in(
        dir.path(),
        &[
            "--database-url",
            &url,
            "--tls-cert",
            "cert.pem",
            "--tls-key",
            "key.pem",
        ],
    );
    let status = wait_child(&mut child, Duration::from_secs(60)).unwrap_or_else(|| {
        let _ = child.kill();
        panic!("serve kept running on a mismatched TLS pair")
    });
    let out = stdout_of(dir.path());
    let err = std::fs::read_to_string(dir.path().join("stderr.log")).unwrap_or_default();
    assert!(!status.success(), "exit status {status}");
    assert!(
        err.contains("does not belong to the certificate"),
        "a clear message: {err}"
    );
    assert!(!out.contains("listening"), "{out}");
    assert!(!out.contains("lr_"), "a key was printed: {out}");
    assert!(!db.exists() && !db.with_extension("db-wal").exists());
    assert!(
        !dir.path().join("data").exists(),
        "the database directory was created"
    );
}

#[test]
fn a_matching_tls_pair_serves_tls() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (cert, key) = self_signed();
    std::fs::write(dir.path().join("cert.pem"), cert).expect("write cert");
    std::fs::write(dir.path().join("key.pem"), key).expect("write key");
    let url = format!("sqlite://{}", dir.path().join("x.db").display());
    let mut child = serve_in(
        dir.path(),
        &[
            "--database-url",
            &url,
            "--tls-cert",
            "cert.pem",
            "--tls-key",
            "key.pem",
        ],
    );
    let out = wait_for(dir.path(), &mut child, "listening on ");
    assert!(out.contains(", TLS)"), "{out}");
    send_signal(child.id(), "TERM");
    let status = wait_child(&mut child, Duration::from_secs(30));
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
}
