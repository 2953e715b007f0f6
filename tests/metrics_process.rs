//! `letting serve --metrics-listen`: Prometheus scrapes per-call counts and latencies by
//! method and code, the SQLite writer's batches and commit times, and the rule book in
//! force, from the real process over plain HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use common::{ServeProcess, rules_dir, seed_at, vacancy, write_key_file};

/// A loopback port free a moment ago: the exporter binds the address it is given.
fn free_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address")
}

/// `GET /metrics` over HTTP/1.1; the body.
fn scrape(addr: SocketAddr) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect to the metrics address");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("send the request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    body.to_owned()
}

/// The value of the one sample of `name` whose labels include every one of `labels`.
fn sample(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    let found: Vec<f64> = text
        .lines()
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .filter(|l| labels.iter().all(|label| l.contains(label)))
        .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
        .collect();
    assert!(
        found.len() <= 1,
        "more than one {name} {labels:?}: {found:?}"
    );
    found.first().copied()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_calls_by_method_and_code_and_show_commits_and_the_rule_book() {
    let dir = tempfile::tempdir().expect("temp dir");
    let key_file = dir.path().join("keys.toml");
    let keys = write_key_file(&key_file);
    let url = format!("sqlite://{}", dir.path().join("m.db").display());
    let metrics_addr = free_port();
    let serve = ServeProcess::spawn_with(
        &url,
        &key_file,
        &["--metrics-listen", &metrics_addr.to_string()],
    );
    assert!(
        serve
            .stdout()
            .contains(&format!("metrics on http://{metrics_addr}/metrics")),
        "{}",
        serve.stdout()
    );

    seed_at(serve.addr, &keys.municipality).await;
    let mut housing = serve.housing(&keys.kab).await;
    for i in 0..3 {
        housing
            .register_vacancy(vacancy(
                &format!("metrics-{i}"),
                "kab-nordvest-3",
                "2007-03-01",
            ))
            .await
            .expect("register a vacancy");
    }
    // Another organisation's department: refused, and counted under its own code.
    let refused = housing
        .register_vacancy(vacancy("metrics-fsb", "fsb-tingbjerg-1", "2007-03-01"))
        .await
        .expect_err("KAB may not register FSB's vacancy");
    let refused_code = format!("{:?}", refused.code());

    let text = scrape(metrics_addr);
    let method = [
        "grpc_service=\"letting.v1.HousingOrganisationService\"",
        "grpc_method=\"RegisterVacancy\"",
    ];
    let ok = [method[0], method[1], "grpc_code=\"OK\""];
    assert_eq!(
        sample(&text, "grpc_server_handled_total", &ok),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "grpc_server_handling_seconds_count", &ok),
        Some(3.0),
        "{text}"
    );
    assert!(
        sample(
            &text,
            "grpc_server_handling_seconds_bucket",
            &[ok[0], ok[1], ok[2], "le=\"+Inf\""]
        ) == Some(3.0),
        "{text}"
    );
    // The refusal is one call under a code other than OK.
    let refusals: f64 = text
        .lines()
        .filter(|l| {
            l.starts_with("grpc_server_handled_total{")
                && method.iter().all(|m| l.contains(m))
                && !l.contains("grpc_code=\"OK\"")
        })
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum();
    assert_eq!(refusals, 1.0, "one refusal ({refused_code}):\n{text}");

    // Every write went through the SQLite writer: batches, each with its commit time.
    let batches = sample(&text, "letting_sqlite_batch_jobs_count", &[]).expect(&text);
    let jobs = sample(&text, "letting_sqlite_batch_jobs_sum", &[]).expect(&text);
    assert!(batches >= 1.0 && jobs >= batches, "{text}");
    assert!(
        sample(&text, "letting_sqlite_batch_jobs_bucket", &["le=\"1\""]).is_some(),
        "{text}"
    );
    assert_eq!(
        sample(&text, "letting_sqlite_commit_seconds_count", &[]),
        Some(batches),
        "{text}"
    );
    assert!(sample(&text, "letting_sqlite_transaction_seconds_count", &[]) == Some(batches));

    // The rule book in force, by the hash of the files it was loaded from.
    let book = letting_rules::rules::load_dir(&rules_dir())
        .expect("the repository's rules")
        .book;
    let hash = format!("hash=\"{}\"", book.content_hash());
    assert_eq!(
        sample(&text, "letting_rule_book_info", &[&hash]),
        Some(1.0),
        "{text}"
    );
    let loaded = sample(&text, "letting_rule_book_loaded_timestamp_seconds", &[]).expect(&text);
    let now = chrono::Utc::now().timestamp() as f64;
    assert!(
        loaded > now - 600.0 && loaded <= now + 1.0,
        "{loaded} vs {now}"
    );

    // A reload of the same files keeps the same version in force, at a later time.
    serve.signal("HUP");
    let reloaded = (0..100)
        .find_map(|_| {
            std::thread::sleep(Duration::from_millis(50));
            let text = scrape(metrics_addr);
            sample(&text, "letting_rule_book_loaded_timestamp_seconds", &[])
                .filter(|t| *t > loaded)
                .map(|_| text)
        })
        .expect("the reload recorded");
    assert_eq!(
        sample(&reloaded, "letting_rule_book_info", &[&hash]),
        Some(1.0)
    );
}
