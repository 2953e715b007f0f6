//! The console as `letting serve` runs it: `letting users add` makes a user whose
//! password signs in; `serve` prints the console's address, serves it and stops it with
//! the gRPC server; with a TLS pair the console speaks HTTPS with a Secure cookie.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod console_support;

use console_support::{Fixture, PASSWORD};

/// `letting users add` stores a user whose password signs in; `letting serve` prints the
/// console's address and serves it, and stops it with the gRPC server on SIGTERM.
#[tokio::test(flavor = "multi_thread")]
async fn letting_serve_serves_the_console_and_users_add_makes_a_user() {
    use std::io::{Read, Write as _};
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("letting.db").display());
    let bin = env!("CARGO_BIN_EXE_letting");
    let mut add = Command::new(bin)
        .args([
            "users",
            "add",
            "--username",
            "kirsten",
            "--role",
            "municipality",
        ])
        .args(["--database-url", &url])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    add.stdin
        .take()
        .unwrap()
        .write_all(format!("{PASSWORD}\n").as_bytes())
        .unwrap();
    let out = add.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("added console user `kirsten`"));
    let again = Command::new(bin)
        .args(["users", "add", "--username", "kirsten", "--role", "auditor"])
        .args(["--database-url", &url])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        !again.status.success(),
        "a short (empty) password or a taken name is refused"
    );

    {
        let store = std::sync::Arc::new(letting_rules::store::Store::open(&url).await.unwrap());
        let book = letting_rules::rules::load_sources(&letting_rules::rules::embedded::files())
            .unwrap()
            .book;
        let ledger = letting_rules::service::Ledger::new(
            store.clone(),
            book,
            letting_rules::service::Clock::system(),
        );
        let signed = ledger.sign_in_password("kirsten", PASSWORD).await.unwrap();
        assert_eq!(signed.caseworker, "kirsten");
        assert!(
            ledger
                .sign_in_password("kirsten", "wrong password")
                .await
                .is_err()
        );
        store.close().await;
    }

    let mut serve = Command::new(bin)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--console-listen",
            "127.0.0.1:0",
        ])
        .args(["--database-url", &url])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(dir.path().join("stdout.log")).unwrap())
        .stderr(std::fs::File::create(dir.path().join("stderr.log")).unwrap())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let addr = loop {
        let out = std::fs::read_to_string(dir.path().join("stdout.log")).unwrap_or_default();
        if let Some(rest) = out.split("caseworker console on http://").nth(1)
            && let Some(addr) = rest.split('/').next()
        {
            break addr.to_owned();
        }
        assert!(serve.try_wait().unwrap().is_none(), "serve exited: {out}");
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no console address: {out}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let mut tcp = std::net::TcpStream::connect(&addr).unwrap();
    tcp.write_all(
        format!("GET /signin HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .unwrap();
    let mut answer = String::new();
    tcp.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("/assets/dkfds/css/dkfds.min.css"));
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("content-security-policy")
    );

    let killed = Command::new("kill")
        .args(["-TERM", &serve.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = serve.wait().unwrap();
    let out = std::fs::read_to_string(dir.path().join("stdout.log")).unwrap_or_default();
    assert!(status.success(), "{out}");
    assert!(out.contains("stopped cleanly"));
}

/// With a TLS pair the console speaks HTTPS and its session cookie is Secure.
#[tokio::test(flavor = "multi_thread")]
async fn over_tls_the_console_answers_https_with_a_secure_cookie() {
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert_pem, key_pem) = (made.cert.pem(), made.signing_key.serialize_pem());
    let fx = Fixture::new().await;
    let router = letting_rules::console::router(
        fx.ledger.clone(),
        letting_rules::console::ConsoleOptions {
            secure_cookies: true,
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (c, k) = (cert_pem.clone(), key_pem.clone());
    let server = tokio::spawn(async move {
        letting_rules::console::serve_tls(listener, router, c.as_bytes(), k.as_bytes(), async {
            let _ = stopped.await;
        })
        .await
    });

    let mut roots = rustls::RootCertStore::empty();
    roots.add(made.cert.der().clone()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = connector.connect(name, tcp).await.expect("a TLS handshake");
    tls.write_all(b"GET /signin HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let _ = tls.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let cookie = answer
        .lines()
        .find(|l| {
            l.to_ascii_lowercase()
                .starts_with("set-cookie: letting_session=")
        })
        .expect("a session cookie");
    assert!(cookie.contains("; Secure"), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));

    let _ = stop.send(());
    server.await.unwrap().expect("served over TLS");
}
