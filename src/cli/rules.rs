//! `letting rules check` and `letting rules test`.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use chrono::NaiveDate;
use serde_json::json;

use super::{Format, Status};
use letting_rules::cases;
use letting_rules::rules::{self, Diagnostic, LoadError, Severity};

/// Checks every rule file under `dir` and the timeline as of `as_of`.
pub fn check(
    dir: &Path,
    as_of: NaiveDate,
    format: Format,
    out: &mut dyn Write,
) -> anyhow::Result<Status> {
    let (diags, summary) = match rules::load_dir(dir) {
        Ok(loaded) => {
            let mut diags = loaded.warnings;
            diags.extend(rules::timeline::as_of(&loaded.book, as_of));
            let sets: Vec<_> = loaded
                .book
                .sets
                .iter()
                .map(|s| {
                    json!({
                        "id": &*s.id,
                        "layer": s.layer.as_str(),
                        "jurisdiction": &*s.jurisdiction,
                        "effective_from": s.effective_from,
                        "effective_to": s.effective_to,
                        "rules": s.rule_ids().len(),
                        "content_hash": &*s.content_hash,
                        "file": &*s.file,
                    })
                })
                .collect();
            let compositions: Vec<_> = loaded
                .book
                .composed
                .iter()
                .map(|s| {
                    json!({
                        "id": &*s.id,
                        "jurisdiction": &*s.jurisdiction,
                        "effective_from": s.effective_from,
                        "effective_to": s.effective_to,
                        "layers": s.layers.iter().map(|l| &*l.id).collect::<Vec<_>>(),
                        "content_hash": &*s.content_hash,
                    })
                })
                .collect();
            let reference = loaded.book.reference.designations.len()
                + loaded.book.reference.flexible_shares.len();
            (diags, Some((sets, compositions, reference)))
        }
        Err(LoadError::Invalid(diags)) => (diags, None),
        Err(e) => return Err(e).context("cannot check the rules"),
    };
    let errors = diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let warnings = diags.len() - errors;
    match format {
        Format::Json => {
            let doc = json!({
                "ok": errors == 0,
                "as_of": as_of,
                "errors": errors,
                "warnings": warnings,
                "diagnostics": diags,
                "rule_sets": summary.as_ref().map(|s| &s.0),
                "compositions": summary.as_ref().map(|s| &s.1),
            });
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        }
        Format::Human => {
            for d in &diags {
                writeln!(out, "{d}")?;
            }
            if let Some((sets, compositions, reference)) = &summary {
                for s in sets {
                    writeln!(
                        out,
                        "ok: {} layer {} ({}), {} to {}, {} rules, sha256 {}",
                        s["layer"].as_str().unwrap_or_default(),
                        s["id"].as_str().unwrap_or_default(),
                        s["jurisdiction"].as_str().unwrap_or_default(),
                        s["effective_from"].as_str().unwrap_or_default(),
                        s["effective_to"].as_str().unwrap_or("(open)"),
                        s["rules"],
                        &s["content_hash"].as_str().unwrap_or_default()[..12],
                    )?;
                }
                for c in compositions {
                    let layers: Vec<&str> = c["layers"]
                        .as_array()
                        .map(|l| l.iter().filter_map(|v| v.as_str()).collect())
                        .unwrap_or_default();
                    let who = match c["jurisdiction"].as_str().unwrap_or_default() {
                        "DK" => {
                            "national law alone (a municipality with no layer of its own in force)"
                                .to_owned()
                        }
                        code => format!("municipality {code}"),
                    };
                    writeln!(
                        out,
                        "judged by: {who} from {} to {}: {}",
                        c["effective_from"].as_str().unwrap_or_default(),
                        c["effective_to"].as_str().unwrap_or("(open)"),
                        layers.join(" + "),
                    )?;
                }
                writeln!(
                    out,
                    "{} rule set(s) and {reference} reference list(s) checked as of {as_of}: {errors} error(s), {warnings} warning(s)",
                    sets.len()
                )?;
            } else {
                writeln!(
                    out,
                    "{errors} error(s), {warnings} warning(s): no rule set is used until every error is fixed"
                )?;
            }
        }
    }
    Ok(if errors == 0 {
        Status::Ok
    } else {
        Status::Failed
    })
}

fn print_diags(diags: &[Diagnostic], out: &mut dyn Write) -> std::io::Result<()> {
    for d in diags {
        writeln!(out, "{d}")?;
    }
    Ok(())
}

/// Runs the declarative cases in `dir/tests`.
pub fn test(dir: &Path, format: Format, out: &mut dyn Write) -> anyhow::Result<Status> {
    let loaded = match rules::load_dir(dir) {
        Ok(loaded) => loaded,
        Err(LoadError::Invalid(diags)) => {
            print_diags(&diags, out)?;
            writeln!(
                out,
                "the rules have errors: run `letting rules check` first"
            )?;
            writeln!(out, "0 passed, 1 failed")?;
            return Ok(Status::Failed);
        }
        Err(e) => return Err(e).context("cannot load the rules"),
    };
    let tables = cases::read_tables(&dir.join("tests"))?;
    let run = cases::run_tables(&loaded.book, &tables);
    match format {
        Format::Json => {
            let doc = json!({
                "passed": run.passed(),
                "failed": run.failed(),
                "cases": run.cases,
                "coverage": run.coverage,
            });
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        }
        Format::Human => {
            for case in &run.cases {
                if case.failures.is_empty() {
                    writeln!(out, "ok     {} :: {} ({})", case.file, case.name, case.date)?;
                } else {
                    writeln!(out, "FAILED {} :: {} ({})", case.file, case.name, case.date)?;
                    for f in &case.failures {
                        writeln!(out, "         {f}")?;
                    }
                }
            }
            for gap in &run.coverage {
                writeln!(out, "FAILED coverage: {gap}")?;
            }
            writeln!(out, "{} passed, {} failed", run.passed(), run.failed())?;
        }
    }
    Ok(if run.failed() == 0 {
        Status::Ok
    } else {
        Status::Failed
    })
}
