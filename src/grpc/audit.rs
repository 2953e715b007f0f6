//! AuditService over the service layer: replay with progress, and what-if.

use chrono::NaiveDate;
use tokio_stream::wrappers::UnboundedReceiverStream;
use tonic::{Request, Response, Status};

use super::auth::Authenticator;
use super::convert::Reader;
use super::pb::{self, audit_service_server::AuditService};
use super::{invalid, status};
use crate::replay::{self, ReplaySummary};
use crate::service::audit::require_auditing;
use crate::service::{Ledger, ProposedFile};

/// Proposed rule files in one request, and the longest path and text.
const RULE_FILES: usize = 20;
const RULE_PATH: usize = 200;
const RULE_TEXT_BYTES: usize = 200_000;

#[derive(Clone)]
pub struct AuditApi {
    pub ledger: Ledger,
    pub auth: Authenticator,
}

fn progress(done: u64, summary: Option<&ReplaySummary>) -> Result<pb::ReplayProgress, Status> {
    let mut p = pb::ReplayProgress {
        decisions_done: done,
        ..pb::ReplayProgress::default()
    };
    if let Some(s) = summary {
        p.done = true;
        p.identical = s.identical;
        p.differing = s.differing;
        p.failing = s.failing;
        p.not_replayable = s.not_replayable;
        p.result_json = serde_json::to_string(s).map_err(|e| Status::internal(e.to_string()))?;
    }
    Ok(p)
}

/// The days from `from_date` to `to_date`, both written YYYY-MM-DD, in order.
fn period(v: &mut Reader, from_date: &str, to_date: &str) -> (NaiveDate, NaiveDate) {
    let from = v.date("from_date", from_date);
    let to = v.date("to_date", to_date);
    if v.errors.is_empty() && from > to {
        v.errors.push("to_date", "is before from_date");
    }
    (from, to)
}

#[tonic::async_trait]
impl AuditService for AuditApi {
    type ReplayStream = UnboundedReceiverStream<Result<pb::ReplayProgress, Status>>;

    async fn replay(
        &self,
        request: Request<pb::ReplayRequest>,
    ) -> Result<Response<Self::ReplayStream>, Status> {
        let principal = self.auth.principal(&request).await?;
        require_auditing(&principal).map_err(status)?;
        let r = request.into_inner();
        let mut v = Reader::new();
        let (from, to) = period(&mut v, &r.from_date, &r.to_date);
        v.errors.finish(|| ()).map_err(invalid)?;
        let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
        let ledger = self.ledger.clone();
        tokio::spawn(async move {
            let pages = sender.clone();
            let result = ledger
                .replay(&principal, from, to, |done| {
                    // A client that went away stops receiving; the replay runs out.
                    let _ = pages.send(progress(done, None));
                })
                .await;
            let last = match result {
                Ok(summary) => progress(summary.decisions, Some(&summary)),
                Err(e) => Err(status(e)),
            };
            let _ = sender.send(last);
        });
        Ok(Response::new(UnboundedReceiverStream::new(receiver)))
    }

    async fn what_if(
        &self,
        request: Request<pb::WhatIfRequest>,
    ) -> Result<Response<pb::WhatIfResponse>, Status> {
        let principal = self.auth.principal(&request).await?;
        require_auditing(&principal).map_err(status)?;
        let r = request.into_inner();
        let mut v = Reader::new();
        let (from, to) = period(&mut v, &r.from_date, &r.to_date);
        let n = v.count("rule_files", r.rule_files.len(), RULE_FILES);
        let mut files = Vec::with_capacity(n);
        for (i, f) in r.rule_files.into_iter().take(n).enumerate() {
            let field = format!("rule_files[{i}]");
            if v.bounded(&format!("{field}.path"), &f.path, RULE_PATH, true)
                && (!f.path.ends_with(".toml") || f.path.split('/').any(|p| p == ".."))
            {
                v.errors.push(
                    format!("{field}.path"),
                    "is a path under the rules directory ending in .toml, such as sets/dk-2005.toml",
                );
            }
            if f.text.len() > RULE_TEXT_BYTES {
                v.errors.push(
                    format!("{field}.text"),
                    format!("is {} bytes: at most {RULE_TEXT_BYTES}", f.text.len()),
                );
            }
            files.push(ProposedFile {
                path: f.path,
                text: f.text,
            });
        }
        let format = match pb::WhatIfFormat::try_from(r.format) {
            Ok(f) => f,
            Err(_) => {
                v.errors
                    .push("format", format!("{} is not a WhatIfFormat", r.format));
                pb::WhatIfFormat::Unspecified
            }
        };
        v.errors.finish(|| ()).map_err(invalid)?;
        let w = self
            .ledger
            .what_if(&principal, files, from, to)
            .await
            .map_err(status)?;
        let rendered = match format {
            pb::WhatIfFormat::Unspecified => String::new(),
            pb::WhatIfFormat::Text => replay::what_if_text(&w),
            pb::WhatIfFormat::Csv => {
                replay::what_if_csv(&w).map_err(|e| Status::internal(e.to_string()))?
            }
            pb::WhatIfFormat::Html => replay::what_if_html(&w),
        };
        Ok(Response::new(pb::WhatIfResponse {
            what_if_json: serde_json::to_string(&w).map_err(|e| Status::internal(e.to_string()))?,
            rendered,
            decisions: w.decisions,
            flips: w.flips.len() as u64,
            figures_changed: w.figures.len() as u64,
        }))
    }
}
