//! What is read: the one snapshot of the log and the registry that the report is built from.

use std::collections::HashSet;

use chrono::{Datelike, NaiveDate};

use super::events::{EXPOSED, Event, HIGH_RISK, StatLoad};
use super::history::{history_points, indicators_since};
use crate::log::{self, Body};
use crate::model::Channel;
use crate::report::{Period, ReportError};
use crate::store::{
    Area, DecisionColumns, DecisionFilter, DecisionKind, DecisionRecord, Department, Tx,
};

/// Decisions read per page.
const PAGE: u32 = 1000;

/// Everything the report reads, in one snapshot.
#[derive(Debug, Clone)]
pub(super) struct Gathered {
    pub(super) areas: Vec<Area>,
    pub(super) departments: Vec<Department>,
    pub(super) events: Vec<Event>,
    pub(super) statistics: Vec<StatLoad>,
    /// Grant decisions, payments and cancellations from 1 January of the period's last
    /// year to its end.
    pub(super) year_grants: Vec<Event>,
    pub(super) pending: Vec<Event>,
    /// The indicator history's points: (label, date).
    pub(super) points: Vec<(String, NaiveDate)>,
    /// Per point, the decisions of indicators 5 and 6 dated after the previous point.
    pub(super) flexible_segments: Vec<u64>,
    pub(super) approval_segments: Vec<u64>,
}

fn flexible_indicator_columns() -> DecisionColumns {
    DecisionColumns {
        channels: vec![Channel::Flexible.as_str().to_owned()],
        area_classes: EXPOSED
            .iter()
            .chain(HIGH_RISK.iter())
            .map(|c| (*c).to_owned())
            .collect(),
        ..DecisionColumns::default()
    }
}

fn approval_indicator_columns() -> DecisionColumns {
    DecisionColumns {
        area_classes: EXPOSED.iter().map(|c| (*c).to_owned()).collect(),
        ..DecisionColumns::default()
    }
}

/// Reads the decisions of `filter` page by page, each with its body as stored text.
async fn read_all(
    tx: &mut dyn Tx,
    filter: &DecisionFilter,
    mut each: impl FnMut((DecisionRecord, String)) -> Result<(), ReportError>,
) -> Result<(), ReportError> {
    let mut after: Option<String> = None;
    loop {
        let page = tx.decision_texts(filter, after.as_deref(), PAGE).await?;
        let full = page.len() == PAGE as usize;
        after = page.last().map(|(d, _)| d.id.clone());
        for d in page {
            each(d)?;
        }
        if !full {
            return Ok(());
        }
    }
}

pub(super) async fn gather(
    tx: &mut dyn Tx,
    municipality: &str,
    period: &Period,
) -> Result<Gathered, ReportError> {
    let areas = tx.areas(municipality).await?;
    let area_ids: HashSet<&str> = areas.iter().map(|a| a.id.as_str()).collect();
    let mut departments = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = tx
            .departments(municipality, None, after.as_deref(), PAGE)
            .await?;
        let full = page.len() == PAGE as usize;
        after = page.last().map(|d| d.id.clone());
        departments.extend(
            page.into_iter()
                .filter(|d| area_ids.contains(d.area.as_str())),
        );
        if !full {
            break;
        }
    }

    // The period's own decisions, through the (municipality, event date) index.
    let mut events = Vec::new();
    let filter = DecisionFilter {
        municipality: Some(municipality.to_owned()),
        from: Some(period.from),
        to: Some(period.to),
        ..DecisionFilter::default()
    };
    read_all(tx, &filter, |d| {
        events.push(Event::from_text(d)?);
        Ok(())
    })
    .await?;

    let mut statistics = Vec::new();
    let filter = DecisionFilter {
        municipality: Some(municipality.to_owned()),
        kinds: vec![DecisionKind::Statistics],
        to: Some(period.to),
        ..DecisionFilter::default()
    };
    read_all(tx, &filter, |(d, text)| {
        let Body::Statistics(load) =
            log::decode_text(&d, &text).map_err(|e| ReportError::Corrupt(e.to_string()))?
        else {
            return Err(ReportError::Corrupt(format!(
                "decision `{}` was read as a statistics load but is a {}",
                d.id,
                d.kind.as_str()
            )));
        };
        statistics.push(StatLoad {
            decision_id: d.id,
            date: d.event_date,
            year: load.year,
            areas: load
                .areas
                .into_iter()
                .map(|a| (a.area.clone(), a))
                .collect(),
        });
        Ok(())
    })
    .await?;

    let mut year_grants = Vec::new();
    let filter = DecisionFilter {
        municipality: Some(municipality.to_owned()),
        kinds: vec![
            DecisionKind::Grant,
            DecisionKind::GrantPayment,
            DecisionKind::GrantCancellation,
        ],
        from: NaiveDate::from_ymd_opt(period.to.year(), 1, 1),
        to: Some(period.to),
        subject: None,
    };
    read_all(tx, &filter, |d| {
        year_grants.push(Event::from_text(d)?);
        Ok(())
    })
    .await?;

    let pending = tx
        .pending_lettings_as_of(municipality, period.to)
        .await?
        .into_iter()
        .map(Event::from_record)
        .collect::<Result<_, _>>()?;

    // Cumulative indicators: counts from the log, segment by segment.
    let points = history_points(period);
    let since = indicators_since();
    let mut flexible_segments = Vec::with_capacity(points.len());
    let mut approval_segments = Vec::with_capacity(points.len());
    let mut previous: Option<NaiveDate> = None;
    for (_, date) in &points {
        let from = previous
            .and_then(|p| p.succ_opt())
            .map_or(since, |p| p.max(since));
        previous = Some(*date);
        if *date < from {
            flexible_segments.push(0);
            approval_segments.push(0);
            continue;
        }
        let filter = |kind| DecisionFilter {
            municipality: Some(municipality.to_owned()),
            kinds: vec![kind],
            from: Some(from),
            to: Some(*date),
            subject: None,
        };
        flexible_segments.push(
            tx.count_decisions(&filter(DecisionKind::MoveIn), &flexible_indicator_columns())
                .await?,
        );
        approval_segments.push(
            tx.count_decisions(
                &filter(DecisionKind::Approval),
                &approval_indicator_columns(),
            )
            .await?,
        );
    }

    Ok(Gathered {
        areas,
        departments,
        events,
        statistics,
        year_grants,
        pending,
        points,
        flexible_segments,
        approval_segments,
    })
}
