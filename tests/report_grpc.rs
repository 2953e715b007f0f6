//! ReportService over a real server: who may read the report, the period's validation,
//! the JSON document and the renderings it carries, and reflection.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use tonic::Code;

use letting_rules::grpc::pb;
use letting_rules::grpc::pb::report_service_client::ReportServiceClient;
use letting_rules::report::{Detail, Report};

type Client = ReportServiceClient<
    tonic::service::interceptor::InterceptedService<tonic::transport::Channel, common::Bearer>,
>;

async fn client(server: &common::TestServer, key: Option<&str>) -> Client {
    ReportServiceClient::with_interceptor(server.channel().await, common::bearer(key))
        .max_decoding_message_size(64 * 1024 * 1024)
}

fn quarter(q: &str) -> pb::GetComplianceReportRequest {
    pb::GetComplianceReportRequest {
        quarter: q.into(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_municipality_and_auditors_read_the_report_and_organisations_do_not() {
    let server = common::TestServer::start().await;
    server.seed().await;
    let mut housing = server.housing(Some(&server.keys.kab)).await;
    for (i, date) in ["2007-04-02", "2007-06-30", "2007-07-01"]
        .iter()
        .enumerate()
    {
        housing
            .register_vacancy(common::vacancy(&format!("v{i}"), "kab-nordvest-3", date))
            .await
            .expect("vacancy");
    }

    let mut m = client(&server, Some(&server.keys.municipality)).await;
    let reply = m
        .get_compliance_report(quarter("2007Q2"))
        .await
        .expect("the municipality's report")
        .into_inner();
    assert_eq!(reply.municipality_code, "0101");
    assert_eq!(reply.period_label, "2007Q2");
    assert_eq!(
        (reply.from_date.as_str(), reply.to_date.as_str()),
        ("2007-04-01", "2007-06-30")
    );
    assert_eq!(reply.detail, pb::ReportDetail::Full as i32);
    assert!(!reply.generated_at.is_empty());
    assert_eq!(reply.indicators.len(), 6);
    assert_eq!(reply.indicators[0].key, "dwellings_in_exposed_areas");
    assert_eq!(reply.indicators[0].value, "4627");
    assert!(reply.rendered.is_empty());
    let report: Report = serde_json::from_str(&reply.report_json).expect("the JSON document");
    assert_eq!(report.format, "letting-rules/compliance-report");
    assert_eq!(report.decisions_in_period, reply.decisions_in_period);
    let nordvest = report
        .departments
        .iter()
        .find(|d| d.id == "kab-nordvest-3")
        .expect("kab-nordvest-3");
    assert_eq!(
        nordvest.vacancies.count, 2,
        "30 June is in the second quarter; 1 July is not"
    );
    assert_eq!(nordvest.vacancies.decision_ids.len(), 2);

    // An auditor reads it too, here at summary detail and rendered as HTML.
    let mut a = client(&server, Some(&server.keys.auditor)).await;
    let reply = a
        .get_compliance_report(pb::GetComplianceReportRequest {
            quarter: "2007Q2".into(),
            detail: pb::ReportDetail::Summary.into(),
            format: pb::ReportFormat::Html.into(),
            ..Default::default()
        })
        .await
        .expect("the auditor's report")
        .into_inner();
    assert_eq!(reply.rendered_media_type, "text/html; charset=utf-8");
    assert!(reply.rendered.contains("<svg class=\"chart\""));
    let report: Report = serde_json::from_str(&reply.report_json).expect("JSON");
    assert_eq!(report.detail, Detail::Summary);
    assert!(
        report
            .departments
            .iter()
            .all(|d| d.vacancies.decision_ids.is_empty())
    );

    // Any range of days, and the CSV.
    let reply = a
        .get_compliance_report(pb::GetComplianceReportRequest {
            from_date: "2007-06-30".into(),
            to_date: "2007-07-01".into(),
            format: pb::ReportFormat::Csv.into(),
            ..Default::default()
        })
        .await
        .expect("a range")
        .into_inner();
    assert_eq!(reply.period_label, "2007-06-30..2007-07-01");
    assert!(reply.rendered.starts_with("\u{feff}section,scope,measure"));

    // Housing organisations do not read the municipality's report; strangers get nothing.
    let mut kab = client(&server, Some(&server.keys.kab)).await;
    let denied = kab.get_compliance_report(quarter("2007Q2")).await;
    assert_eq!(denied.err().map(|s| s.code()), Some(Code::PermissionDenied));
    let mut nobody = client(&server, None).await;
    let denied = nobody.get_compliance_report(quarter("2007Q2")).await;
    assert_eq!(denied.err().map(|s| s.code()), Some(Code::Unauthenticated));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_period_is_invalid_argument_naming_the_field() {
    let server = common::TestServer::start().await;
    let mut m = client(&server, Some(&server.keys.municipality)).await;
    let cases = [
        (quarter("2007Q5"), "quarter"),
        (quarter("last quarter"), "quarter"),
        (pb::GetComplianceReportRequest::default(), "from_date"),
        (
            pb::GetComplianceReportRequest {
                quarter: "2007Q2".into(),
                from_date: "2007-04-01".into(),
                to_date: "2007-04-02".into(),
                ..Default::default()
            },
            "quarter",
        ),
        (
            pb::GetComplianceReportRequest {
                from_date: "2007-04-01".into(),
                ..Default::default()
            },
            "to_date",
        ),
        (
            pb::GetComplianceReportRequest {
                from_date: "2007-04-31".into(),
                to_date: "2007-05-01".into(),
                ..Default::default()
            },
            "from_date",
        ),
        (
            pb::GetComplianceReportRequest {
                from_date: "2007-05-02".into(),
                to_date: "2007-05-01".into(),
                ..Default::default()
            },
            "to_date",
        ),
        (
            pb::GetComplianceReportRequest {
                quarter: "2007Q2".into(),
                format: 99,
                ..Default::default()
            },
            "format",
        ),
    ];
    for (request, field) in cases {
        let status = m
            .get_compliance_report(request.clone())
            .await
            .expect_err("refused");
        assert_eq!(status.code(), Code::InvalidArgument, "{request:?}");
        assert!(
            status.message().contains(&format!("`{field}`")),
            "{request:?}: {}",
            status.message()
        );
    }
    server.stop().await;
}

#[test]
fn reflection_describes_the_report_service() {
    use prost::Message;
    let set = prost_types_like::FileDescriptorSet::decode(pb::DESCRIPTOR).expect("descriptor");
    let services: Vec<String> = set
        .file
        .iter()
        .flat_map(|f| {
            let package = f.package.clone().unwrap_or_default();
            f.service
                .iter()
                .map(move |s| format!("{package}.{}", s.name.clone().unwrap_or_default()))
        })
        .collect();
    assert!(
        services.contains(&"letting.v1.ReportService".to_owned()),
        "{services:?}"
    );
}

/// The few descriptor messages the reflection test reads (field numbers of
/// google/protobuf/descriptor.proto).
mod prost_types_like {
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct FileDescriptorSet {
        #[prost(message, repeated, tag = "1")]
        pub file: Vec<FileDescriptorProto>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct FileDescriptorProto {
        #[prost(string, optional, tag = "1")]
        pub name: Option<String>,
        #[prost(string, optional, tag = "2")]
        pub package: Option<String>,
        #[prost(message, repeated, tag = "6")]
        pub service: Vec<ServiceDescriptorProto>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ServiceDescriptorProto {
        #[prost(string, optional, tag = "1")]
        pub name: Option<String>,
    }
}
