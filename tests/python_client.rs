//! A Python gRPC client (tests/python/client_test.py) against the real `letting serve`.
//! Needs python3 with the packages of tests/python/requirements.txt: skipped with a message
//! when they are missing, except under CI (`CI` set), where that is a failure.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::process::Command;

use common::{ServeProcess, skip, write_key_file};

fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Why the Python client cannot run here, if it cannot.
fn python_missing() -> Option<String> {
    let probe = Command::new("python3")
        .args([
            "-c",
            "import grpc, grpc_tools.protoc, grpc_health.v1.health_pb2, \
             grpc_reflection.v1alpha.reflection_pb2",
        ])
        .output();
    match probe {
        Err(e) => Some(format!("python3 cannot be run: {e}")),
        Ok(out) if !out.status.success() => Some(format!(
            "python3 lacks the gRPC packages ({}); install them with \
             `pip install -r tests/python/requirements.txt`",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Ok(_) => None,
    }
}

#[test]
fn python_client_against_the_real_server() {
    if let Some(why) = python_missing() {
        assert!(
            !under_ci(),
            "CI is set, so the Python client must run: {why}"
        );
        skip("python_client_against_the_real_server", &why);
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let key_file = dir.path().join("keys.toml");
    let keys = write_key_file(&key_file);
    let url = format!("sqlite://{}", dir.path().join("python.db").display());
    let serve = ServeProcess::spawn(&url, &key_file);

    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("python3")
        .arg(repo.join("tests/python/client_test.py"))
        .arg("--address")
        .arg(serve.addr.to_string())
        .arg("--municipality-key")
        .arg(&keys.municipality)
        .arg("--org-key")
        .arg(&keys.kab)
        .current_dir(repo)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("run the Python client");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "the Python client failed ({}):\n{stdout}\n{stderr}\nserver log:\n{}",
        out.status,
        serve.stderr()
    );
    assert!(stdout.contains("checks passed"), "{stdout}");
    serve.kill();
}
