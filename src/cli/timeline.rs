//! `letting rules timeline`: which layers judged which dates, and which lists were in force.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;

use anyhow::Context;
use chrono::NaiveDate;
use serde::Serialize;

use super::{Format, Status};
use letting_rules::model::{NATIONAL, RuleBook};
use letting_rules::rules::{self, timeline::TIMELINE_START};

#[derive(Debug, Serialize)]
struct Period {
    from: NaiveDate,
    /// None: open-ended.
    to: Option<NaiveDate>,
    /// None: no national layer is in force, so nothing is decided.
    rule_set_id: Option<String>,
    layers: Vec<String>,
}

#[derive(Debug, Serialize)]
struct List {
    id: String,
    class: String,
    jurisdiction: String,
    from: NaiveDate,
    to: NaiveDate,
    completeness: &'static str,
    areas: usize,
}

#[derive(Debug, Serialize)]
struct Jurisdiction {
    jurisdiction: String,
    periods: Vec<Period>,
    lists: Vec<List>,
}

/// The periods from `TIMELINE_START` on, each judged by one composition (or by none).
fn periods(book: &RuleBook, jurisdiction: &str) -> Vec<Period> {
    let mut starts: BTreeSet<NaiveDate> = BTreeSet::from([TIMELINE_START]);
    for s in book
        .composed
        .iter()
        .filter(|s| &*s.jurisdiction == jurisdiction || &*s.jurisdiction == NATIONAL)
    {
        starts.insert(s.effective_from.max(TIMELINE_START));
        if let Some(next) = s.effective_to.and_then(|d| d.succ_opt()) {
            starts.insert(next.max(TIMELINE_START));
        }
    }
    let starts: Vec<NaiveDate> = starts.into_iter().collect();
    let mut out: Vec<Period> = Vec::new();
    for (i, start) in starts.iter().enumerate() {
        let to = starts.get(i + 1).and_then(|d| d.pred_opt());
        let set = book.in_force(jurisdiction, *start);
        let id = set.map(|s| s.id.to_string());
        match out.last_mut() {
            Some(last) if last.rule_set_id == id => last.to = to,
            _ => out.push(Period {
                from: *start,
                to,
                rule_set_id: id,
                layers: set
                    .map(|s| s.layers.iter().map(|l| l.id.to_string()).collect())
                    .unwrap_or_default(),
            }),
        }
    }
    out
}

fn lists(book: &RuleBook, jurisdiction: &str) -> Vec<List> {
    let mut out: Vec<List> = book
        .reference
        .designations
        .iter()
        .filter(|d| &*d.jurisdiction == jurisdiction || &*d.jurisdiction == NATIONAL)
        .map(|d| List {
            id: d.id.to_string(),
            class: d.class.to_string(),
            jurisdiction: d.jurisdiction.to_string(),
            from: d.valid_from,
            to: d.valid_to,
            completeness: d.provenance.completeness.as_str(),
            areas: d.areas.len(),
        })
        .collect();
    out.sort_by(|a, b| (a.from, &a.class).cmp(&(b.from, &b.class)));
    out
}

/// Prints the timeline of `jurisdiction`, or of national law and every municipality with
/// layers of its own.
pub fn timeline(
    dir: &Path,
    jurisdiction: Option<&str>,
    format: Format,
    out: &mut dyn Write,
) -> anyhow::Result<Status> {
    let loaded =
        rules::load_dir(dir).context("cannot load the rules: run `letting rules check`")?;
    let book = &loaded.book;
    let wanted: Vec<String> = match jurisdiction {
        Some(j) => vec![j.to_owned()],
        None => {
            let mut all: BTreeSet<String> = BTreeSet::from([NATIONAL.to_owned()]);
            all.extend(book.sets.iter().map(|s| s.jurisdiction.to_string()));
            all.into_iter().collect()
        }
    };
    let doc: Vec<Jurisdiction> = wanted
        .iter()
        .map(|j| Jurisdiction {
            jurisdiction: j.clone(),
            periods: periods(book, j),
            lists: lists(book, j),
        })
        .collect();
    match format {
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?,
        Format::Human => {
            for j in &doc {
                let who = if j.jurisdiction == NATIONAL {
                    "national law (and any municipality without a layer of its own in force)"
                        .to_owned()
                } else {
                    format!("municipality {}", j.jurisdiction)
                };
                writeln!(out, "{who}:")?;
                for p in &j.periods {
                    let to = p.to.map_or_else(|| "(open)".to_owned(), |d| d.to_string());
                    match &p.rule_set_id {
                        Some(_) => writeln!(out, "  {} .. {to}  {}", p.from, p.layers.join(" + "))?,
                        None => writeln!(
                            out,
                            "  {} .. {to}  no national layer in force: nothing is decided",
                            p.from
                        )?,
                    }
                }
                for l in &j.lists {
                    writeln!(
                        out,
                        "  list {} .. {}  {:<14} {} ({}, {} areas)",
                        l.from, l.to, l.class, l.id, l.completeness, l.areas
                    )?;
                }
            }
        }
    }
    Ok(Status::Ok)
}
