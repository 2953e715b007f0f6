//! `letting rules check` on broken rule files: every error with file:line:column and a
//! hint, nothing loaded, exit code 1. Fixtures are the shipped rules with one mistake
//! written in, so each test names the exact line it broke.
#![allow(clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A copy of the shipped rules with `from` replaced by `to` in the Copenhagen set.
fn broken(from: &str, to: &str) -> (tempfile::TempDir, PathBuf, usize) {
    let dir = tempfile::tempdir().expect("temp dir");
    let sets = dir.path().join("sets");
    std::fs::create_dir_all(&sets).expect("mkdir");
    let text =
        std::fs::read_to_string(repo().join("rules/sets/copenhagen-2007.toml")).expect("read");
    let line = text
        .lines()
        .position(|l| l.contains(from))
        .expect("fixture line")
        + 1;
    let file = sets.join("copenhagen-2007.toml");
    std::fs::write(&file, text.replacen(from, to, 1)).expect("write");
    (dir, file, line)
}

fn check(dir: &Path, json: bool) -> (i32, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_letting"));
    cmd.args(["rules", "check"])
        .arg(dir)
        .args(["--as-of", "2007-06-01"]);
    if json {
        cmd.args(["--format", "json"]);
    }
    let out = cmd.output().expect("run letting");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn shipped_rules_check_clean() {
    let (code, out) = check(&repo().join("rules"), false);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("0 error(s)"), "{out}");
}

#[test]
fn misspelt_key_is_reported_with_line_column_and_hint() {
    let (dir, file, line) = broken("effective_from = 2007-01-01", "efective_from = 2007-01-01");
    let (code, out) = check(dir.path(), false);
    assert_eq!(code, 1, "{out}");
    let at = format!(
        "{}:{line}:1: error: unknown key `efective_from`",
        file.display()
    );
    assert!(out.contains(&at), "expected `{at}` in:\n{out}");
    assert!(out.contains("did you mean `effective_from`?"), "{out}");
    assert!(out.contains("no rule set is used"), "{out}");
}

#[test]
fn decimal_written_as_float_is_reported_at_its_value() {
    let (dir, file, line) = broken(
        r#"op = ">=", value = "0.40" }"#,
        r#"op = ">=", value = 0.40 }"#,
    );
    let (code, out) = check(dir.path(), true);
    assert_eq!(code, 1, "{out}");
    let doc: serde_json::Value = serde_json::from_str(&out).expect("json output");
    let diags = doc["diagnostics"].as_array().expect("diagnostics");
    let d = diags
        .iter()
        .find(|d| {
            d["message"]
                .as_str()
                .is_some_and(|m| m.contains("written as a float"))
        })
        .expect("float error");
    assert_eq!(d["file"], file.display().to_string());
    assert_eq!(d["line"], line);
    assert!(d["column"].as_u64().expect("column") > 1);
    assert!(d["hint"].as_str().expect("hint").contains("as a string"));
    assert_eq!(doc["ok"], false);
}

#[test]
fn several_errors_in_one_file_are_all_reported() {
    let (dir, _, _) = broken(r#"share = "0.44""#, r#"share = "0.4.4""#);
    let text_path = dir.path().join("sets/copenhagen-2007.toml");
    let text = std::fs::read_to_string(&text_path).expect("read");
    let text = text
        .replacen(
            "such as {area} must be approved",
            "such as {areaa} must be approved",
            1,
        )
        .replacen(
            r#"source = { ref = "abl-59" }"#,
            r#"source = { ref = "abl-95" }"#,
            1,
        );
    std::fs::write(&text_path, text).expect("write");
    let (code, out) = check(dir.path(), false);
    assert_eq!(code, 1);
    assert!(out.contains("`0.4.4` is not a share"), "{out}");
    assert!(
        out.contains("unknown placeholder `{areaa}`") && out.contains("did you mean `area`?"),
        "{out}"
    );
    assert!(
        out.contains("unknown source `abl-95`") && out.contains("did you mean `abl-59`?"),
        "{out}"
    );
    assert!(out.contains("3 error(s)"), "{out}");
}

#[test]
fn overlapping_rule_sets_of_one_jurisdiction_are_refused() {
    let (dir, _, _) = broken("effective_to = 2018-11-30", "effective_to = 2018-11-30");
    let copy = std::fs::read_to_string(dir.path().join("sets/copenhagen-2007.toml")).expect("read");
    let other = copy
        .replacen(r#"id = "copenhagen-2007""#, r#"id = "copenhagen-2010""#, 1)
        .replacen(
            "effective_from = 2007-01-01",
            "effective_from = 2010-01-01",
            1,
        );
    std::fs::write(dir.path().join("sets/copenhagen-2010.toml"), other).expect("write");
    let (code, out) = check(dir.path(), false);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("rule set `copenhagen-2010` starts on 2010-01-01 while `copenhagen-2007` is in force until 2018-11-30"), "{out}");
}

#[test]
fn stale_designation_list_is_warned_of() {
    let out = Command::new(env!("CARGO_BIN_EXE_letting"))
        .args(["rules", "check"])
        .arg(repo().join("rules"))
        .args(["--as-of", "2009-03-01"])
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "warnings do not fail the check: {text}"
    );
    assert!(
        text.contains("warning: the newest `exposed` designation list for 0101"),
        "{text}"
    );
}
