//! `letting decide FILE`: one case, its decision and its reasons.

use std::io::Write;
use std::path::Path;

use anyhow::Context;

use super::{Format, Status};
use letting_rules::cases::{self, Case, CaseDecision};
use letting_rules::engine::{Counterfactual, Explanation};
use letting_rules::rules;

pub fn decide(
    rules_dir: &Path,
    file: &Path,
    format: Format,
    out: &mut dyn Write,
) -> anyhow::Result<Status> {
    let loaded = rules::load_dir(rules_dir).context("cannot load the rules")?;
    let case: Case = cases::read_file(file)?;
    let decision = cases::run(&loaded.book, &case).context("cannot decide the case")?;
    let counterfactuals = cases::counterfactuals(&loaded.book, &case, &decision);
    match format {
        Format::Json => {
            // The decision's own fields, and for a letting its counterfactuals beside them.
            let mut json = serde_json::to_value(&decision)?;
            if let (CaseDecision::Letting(_), Some(fields)) = (&decision, json.as_object_mut()) {
                fields.insert(
                    "counterfactuals".into(),
                    serde_json::to_value(&counterfactuals)?,
                );
            }
            writeln!(out, "{}", serde_json::to_string_pretty(&json)?)?
        }
        Format::Human => print_human(&decision, &counterfactuals, out)?,
    }
    Ok(Status::Ok)
}

fn print_human(
    decision: &CaseDecision,
    counterfactuals: &[Counterfactual],
    out: &mut dyn Write,
) -> std::io::Result<()> {
    match decision {
        CaseDecision::Classify(d) => writeln!(out, "area {}: {}", d.area_id, d.class)?,
        CaseDecision::Channel(d) => writeln!(
            out,
            "channel: {} (area class {}, period {})",
            d.channel.as_str(),
            d.area_class,
            d.period
        )?,
        CaseDecision::ChannelSequence { counts, .. } => {
            let parts: Vec<String> = counts.iter().map(|(c, n)| format!("{c} {n}")).collect();
            writeln!(out, "channels: {}", parts.join(", "))?;
        }
        CaseDecision::Letting(d) => {
            writeln!(out, "outcome: {}", decision.outcome().unwrap_or_default())?;
            writeln!(out, "area class: {}", d.area_class)?;
            if !d.obligations.is_empty() {
                let o: Vec<&str> = d.obligations.iter().map(|o| &**o).collect();
                writeln!(out, "obligations: {}", o.join(", "))?;
            }
            writeln!(
                out,
                "flexible priority: {:?} {:?}",
                d.flexible.status, d.flexible.groups
            )?;
        }
        CaseDecision::Referral(d) => {
            writeln!(
                out,
                "referral: {} (area class {})",
                decision.outcome().unwrap_or_default(),
                d.area_class
            )?;
        }
        CaseDecision::Grant(d) => writeln!(
            out,
            "grant: {} of DKK {}; DKK {} left of DKK {}",
            decision.outcome().unwrap_or_default(),
            d.amount,
            d.remaining,
            d.pool
        )?,
        CaseDecision::MunicipalAct(d) => {
            writeln!(out, "municipal act (area class {})", d.area_class)?
        }
    }
    let letting = matches!(decision, CaseDecision::Letting(_));
    for e in decision.explanations().into_iter().take(1) {
        print_explanation(e, letting.then_some(counterfactuals), out)?;
    }
    Ok(())
}

/// What would have changed a letting decision: after the reasons, each counterfactual with
/// the fact it changes, or a line saying there is none.
fn print_counterfactuals(
    counterfactuals: &[Counterfactual],
    out: &mut dyn Write,
) -> std::io::Result<()> {
    if counterfactuals.is_empty() {
        return writeln!(
            out,
            "\ncounterfactuals: none (no change of one fact of the household flips this decision)"
        );
    }
    writeln!(
        out,
        "\ncounterfactuals (the smallest change of one fact that flips the decision):"
    )?;
    for c in counterfactuals {
        writeln!(out, "\n- {}: {} → {} ({})", c.fact, c.from, c.to, c.rule_id)?;
        writeln!(out, "    da: {}", c.message_da)?;
        writeln!(out, "    en: {}", c.message_en)?;
    }
    Ok(())
}

fn print_explanation(
    e: &Explanation,
    counterfactuals: Option<&[Counterfactual]>,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    writeln!(
        out,
        "judged by: {} (sha256 {}) on {}",
        e.rule_set_id, e.rule_set_hash, e.decided_on
    )?;
    for l in &e.layers {
        writeln!(
            out,
            "  layer {} ({}): {} (sha256 {})",
            l.id,
            l.kind.as_str(),
            l.title,
            l.content_hash
        )?;
    }
    for r in &e.reference_data {
        writeln!(
            out,
            "reference data: {} ({}, sha256 {})",
            r.id,
            r.completeness.as_str(),
            r.content_hash
        )?;
    }
    if e.rests_on_incomplete_data() {
        writeln!(
            out,
            "NOTE: the decision rests on reference data that is not complete"
        )?;
    }
    for f in &e.fired {
        let section = f
            .source
            .section
            .as_deref()
            .map(|s| format!(", {s}"))
            .unwrap_or_default();
        writeln!(
            out,
            "\n- {} ({}) [{}{}]",
            f.rule_id, f.layer, f.source.document, section
        )?;
        for c in &f.comparisons {
            writeln!(
                out,
                "    {} {} {} — case: {} → {}",
                c.fact,
                c.op,
                c.threshold,
                c.actual,
                if c.holds { "holds" } else { "does not hold" }
            )?;
        }
        writeln!(out, "    da: {}", f.message_da)?;
        writeln!(out, "    en: {}", f.message_en)?;
    }
    if let Some(counterfactuals) = counterfactuals {
        print_counterfactuals(counterfactuals, out)?;
    }
    if let Some(c) = &e.considerations {
        writeln!(out, "\nmain considerations: {c}")?;
    }
    if let Some(c) = &e.complaint {
        writeln!(out, "\ncomplaint ({}):", c.guidance_id)?;
        writeln!(out, "    da: {} {} {}", c.body_da, c.how_da, c.deadline_da)?;
        writeln!(out, "    en: {} {} {}", c.body_en, c.how_en, c.deadline_en)?;
    }
    if !e.facts.is_empty() {
        writeln!(out, "\nfacts used:")?;
        for (k, v) in &e.facts {
            writeln!(out, "    {k} = {v}")?;
        }
    }
    Ok(())
}
