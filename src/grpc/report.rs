//! ReportService over the report module: the municipality's and its auditors' quarterly
//! compliance report.

use chrono::Utc;
use tonic::{Request, Response, Status};

use super::auth::Authenticator;
use super::convert::{Reader, limits};
use super::invalid;
use super::pb::{self, report_service_server::ReportService};
use crate::report::render::{self, Format};
use crate::report::{self, Assessment, Detail, Period, ReportError};
use crate::service::{Ledger, Principal};

#[derive(Clone)]
pub struct ReportApi {
    pub ledger: Ledger,
    pub auth: Authenticator,
}

fn report_status(error: ReportError) -> Status {
    match error {
        ReportError::Period(reason) => {
            let mut e = super::convert::Invalid::default();
            e.push("quarter", reason);
            invalid(e)
        }
        ReportError::Store(e) => super::status(crate::service::ServiceError::Store(e)),
        ReportError::Corrupt(_) | ReportError::Render(_) => {
            tracing::error!(error = %error, "report failed");
            Status::internal(error.to_string())
        }
    }
}

fn assessment(a: Assessment) -> &'static str {
    match a {
        Assessment::Met => "met",
        Assessment::Improving => "improving",
        Assessment::NotMet => "not_met",
        Assessment::NoData => "no_data",
    }
}

#[tonic::async_trait]
impl ReportService for ReportApi {
    async fn get_compliance_report(
        &self,
        request: Request<pb::GetComplianceReportRequest>,
    ) -> Result<Response<pb::ComplianceReport>, Status> {
        let principal = self.auth.principal(&request).await?;
        if let Principal::Organisation { .. } = principal {
            return Err(Status::permission_denied(
                "the compliance report is for the municipality and its auditors, not for housing organisations",
            ));
        }
        let r = request.into_inner();
        let mut v = Reader::new();
        let period = match (
            r.quarter.is_empty(),
            r.from_date.is_empty(),
            r.to_date.is_empty(),
        ) {
            // Bounded first: the parser's error quotes the text.
            (false, true, true) if v.bounded("quarter", &r.quarter, limits::QUARTER, true) => {
                match Period::parse_quarter(&r.quarter) {
                    Ok(p) => Some(p),
                    Err(e) => {
                        v.errors.push("quarter", e.to_string());
                        None
                    }
                }
            }
            (false, true, true) => None,
            (true, false, false) => {
                let from = v.date("from_date", &r.from_date);
                let to = v.date("to_date", &r.to_date);
                if v.errors.is_empty() {
                    match Period::range(from, to) {
                        Ok(p) => Some(p),
                        Err(e) => {
                            v.errors.push("to_date", e.to_string());
                            None
                        }
                    }
                } else {
                    None
                }
            }
            (false, _, _) => {
                v.errors.push(
                    "quarter",
                    "give either a quarter or from_date and to_date, not both",
                );
                None
            }
            (true, from_empty, _) => {
                v.errors.push(
                    if from_empty { "from_date" } else { "to_date" },
                    "is required: give a quarter (such as 2007Q2), or both from_date and to_date",
                );
                None
            }
        };
        let detail = match pb::ReportDetail::try_from(r.detail) {
            Ok(pb::ReportDetail::Summary) => Detail::Summary,
            Ok(_) => Detail::Full,
            Err(_) => {
                v.errors
                    .push("detail", format!("{} is not a ReportDetail", r.detail));
                Detail::Full
            }
        };
        let format = match pb::ReportFormat::try_from(r.format) {
            Ok(pb::ReportFormat::Unspecified) => None,
            Ok(pb::ReportFormat::Text) => Some(Format::Text),
            Ok(pb::ReportFormat::Csv) => Some(Format::Csv),
            Ok(pb::ReportFormat::Html) => Some(Format::Html),
            Ok(pb::ReportFormat::Json) => Some(Format::Json),
            Err(_) => {
                v.errors
                    .push("format", format!("{} is not a ReportFormat", r.format));
                None
            }
        };
        let period = match (v.errors.finish(|| ()), period) {
            (Ok(()), Some(p)) => p,
            (Err(e), _) => return Err(invalid(e)),
            (Ok(()), None) => return Err(Status::invalid_argument("no period was given")),
        };
        let book = self.ledger.rules();
        let mut report =
            report::compute(self.ledger.store(), &book, principal.municipality(), period)
                .await
                .map_err(report_status)?
                .with_detail(detail);
        report.generated_at = Some(Utc::now());
        let json = serde_json::to_string(&report)
            .map_err(|e| report_status(ReportError::Render(e.to_string())))?;
        let rendered = match format {
            Some(f) => render::render(&report, f).map_err(report_status)?,
            None => String::new(),
        };
        Ok(Response::new(pb::ComplianceReport {
            municipality_code: report.municipality.clone(),
            period_label: report.period.label.clone(),
            from_date: report.period.from.to_string(),
            to_date: report.period.to.to_string(),
            detail: match detail {
                Detail::Full => pb::ReportDetail::Full,
                Detail::Summary => pb::ReportDetail::Summary,
            }
            .into(),
            generated_at: report
                .generated_at
                .map(|t| t.to_rfc3339())
                .unwrap_or_default(),
            decisions_in_period: report.decisions_in_period,
            checks: report.summary.checks,
            checks_passed: report.summary.passed,
            checks_failed: report.summary.failed,
            checks_no_lettings: report.summary.no_lettings,
            indicators: report
                .indicators
                .iter()
                .map(|i| pb::ReportIndicator {
                    number: u32::from(i.number),
                    key: i.key.clone(),
                    name: i.name_en.clone(),
                    value: i.value.map(|d| d.to_string()).unwrap_or_default(),
                    unit: i.unit.clone(),
                    baseline: i.baseline.map(|d| d.to_string()).unwrap_or_default(),
                    assessment: assessment(i.assessment).into(),
                    cumulative: i.cumulative,
                    in_period: i.in_period.as_ref().map_or(0, |c| c.count),
                })
                .collect(),
            violations: report
                .violations
                .iter()
                .map(|x| pb::ReportViolation {
                    kind: x.kind.clone(),
                    scope: x.scope.clone(),
                    rule_id: x.rule_id.clone().unwrap_or_default(),
                    date: x.date.map(|d| d.to_string()).unwrap_or_default(),
                    description: x.description.clone(),
                    decision_ids: x.decision_ids.clone(),
                })
                .collect(),
            report_json: json,
            rendered_media_type: if rendered.is_empty() {
                String::new()
            } else {
                format
                    .map(|f| f.media_type().to_owned())
                    .unwrap_or_default()
            },
            rendered,
        }))
    }
}
