//! Bounded inputs. Every text field of every request has a length limit and refuses a
//! CPR-shaped value; error messages quote at most a short prefix of what was sent and never
//! a CPR-shaped value; repeated fields and the error list are bounded; the server decodes
//! at most 256 KiB (a larger request is OUT_OF_RANGE); a key that may not make a call is refused before its body is read.
//! Nothing refused is stored: the database files are searched byte for byte.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{
    Housing, Municipality, Registry, TestServer, household, in_work, on_cash_benefit,
    standard_grant, vacancy,
};
use letting_rules::grpc::pb;
use letting_rules::grpc::pb::report_service_client::ReportServiceClient;
use prost::Message;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::{Code, Status};
use tonic_types::StatusExt;

type Report = ReportServiceClient<InterceptedService<Channel, common::Bearer>>;

/// Two spellings of one CPR-shaped value, each with a marker that the database must never
/// hold: with the dash, and without it inside a longer reference.
const CPR_VALUES: [&str; 2] = ["010170-1234", "x0101701234"];
/// What must never appear in a message or the database after sending a CPR value.
const CPR_MARKERS: [&str; 3] = ["010170-1234", "0101701234", "010170"];

/// Far over every field's limit, yet inside the 256 KiB a request may have.
fn long_value() -> String {
    "q".repeat(100_000)
}

/// Over the request size limit on its own.
fn huge_value() -> String {
    "q".repeat(1_100_000)
}

/// The most of a sent value a message may quote.
const QUOTE: usize = 40;

/// (rpc, field) for every text field a caller fills in, on every RPC of the four services.
/// Each is sent with the CPR values, a long and a huge value, every other field well-formed.
const FIELDS: &[(&str, &str)] = &[
    ("RegisterVacancy", "idempotency_key"),
    ("RegisterVacancy", "department_id"),
    ("RegisterVacancy", "vacancy_ref"),
    ("RegisterVacancy", "vacancy_date"),
    ("ProposeLetting", "idempotency_key"),
    ("ProposeLetting", "vacancy_id"),
    ("ProposeLetting", "proposal_date"),
    ("ProposeLetting", "household.applicant_ref"),
    ("ProposeLetting", "household.current_area_class"),
    ("ProposeLetting", "household.referral_conditions[0]"),
    ("ProposeLetting", "household.waiting_list_registered_on"),
    (
        "ProposeLetting",
        "household.persons[0].benefit_spells[0].kind",
    ),
    (
        "ProposeLetting",
        "household.persons[0].benefit_spells[0].from_date",
    ),
    ("ProposeLetting", "household.persons[0].weekly_work_hours"),
    ("ProposeLetting", "household.persons[0].cohabiting_since"),
    ("EvaluateLetting", "vacancy_id"),
    ("EvaluateLetting", "household.applicant_ref"),
    (
        "EvaluateLetting",
        "household.persons[0].benefit_spells[0].kind",
    ),
    ("RecordMoveIn", "idempotency_key"),
    ("RecordMoveIn", "letting_id"),
    ("RecordMoveIn", "move_in_date"),
    ("RecordReplacementOfferAnswer", "idempotency_key"),
    ("RecordReplacementOfferAnswer", "offer_id"),
    ("GetDecision", "decision_id"),
    ("ListPendingApprovals", "page_token"),
    ("ApproveLetting", "idempotency_key"),
    ("ApproveLetting", "letting_id"),
    ("ApproveLetting", "reason"),
    ("ApproveLetting", "caseworker_ref"),
    ("RejectLetting", "idempotency_key"),
    ("RejectLetting", "reason"),
    ("RejectLetting", "caseworker_ref"),
    ("MakeReplacementOffer", "idempotency_key"),
    ("MakeReplacementOffer", "letting_id"),
    ("MakeReplacementOffer", "vacancy_id"),
    ("RecordMunicipalReferral", "idempotency_key"),
    ("RecordMunicipalReferral", "vacancy_id"),
    ("RecordMunicipalReferral", "household.applicant_ref"),
    (
        "RecordMunicipalReferral",
        "household.referral_conditions[0]",
    ),
    ("LoadAreaStatistics", "idempotency_key"),
    ("LoadAreaStatistics", "effective_date"),
    ("LoadAreaStatistics", "areas[0].area_id"),
    ("LoadAreaStatistics", "areas[0].conviction_rate_ratio"),
    ("LoadAreaStatistics", "areas[0].share_non_western"),
    ("GetClassifications", "as_of"),
    ("DecideRelocationGrant", "idempotency_key"),
    ("DecideRelocationGrant", "purpose"),
    ("DecideRelocationGrant", "household.applicant_ref"),
    ("DecideRelocationGrant", "household.current_area_class"),
    ("PayRelocationGrant", "idempotency_key"),
    ("PayRelocationGrant", "grant_id"),
    ("PayRelocationGrant", "reason"),
    ("CancelRelocationGrant", "idempotency_key"),
    ("CancelRelocationGrant", "reason"),
    ("UpsertOrganisation", "idempotency_key"),
    ("UpsertOrganisation", "organisation.id"),
    ("UpsertOrganisation", "organisation.name"),
    ("UpsertArea", "idempotency_key"),
    ("UpsertArea", "area.id"),
    ("UpsertArea", "area.municipality_code"),
    ("UpsertArea", "area.name"),
    ("UpsertDepartment", "idempotency_key"),
    ("UpsertDepartment", "department.id"),
    ("UpsertDepartment", "department.organisation_id"),
    ("UpsertDepartment", "department.area_id"),
    ("UpsertDepartment", "department.name"),
    ("ListDepartments", "page_token"),
    ("GetComplianceReport", "quarter"),
    ("GetComplianceReport", "from_date"),
];

/// Server ids the service makes are UUIDs, whose random hex digits can line up like a CPR
/// number; one shaped so is looked up (and not found), and the message withholds the run.
const SERVER_ID_FIELDS: &[(&str, &str)] = &[
    ("ProposeLetting", "vacancy_id"),
    ("EvaluateLetting", "vacancy_id"),
    ("RecordMoveIn", "letting_id"),
    ("RecordReplacementOfferAnswer", "offer_id"),
    ("GetDecision", "decision_id"),
    ("ApproveLetting", "letting_id"),
    ("MakeReplacementOffer", "vacancy_id"),
    ("RecordMunicipalReferral", "vacancy_id"),
    ("PayRelocationGrant", "grant_id"),
];
const UUID_WITH_CPR: &str = "0190f0c4-0000-7000-8000-0101701234ab";

/// The clients the probes use: KAB's, the municipality's, its registry and report.
struct Clients {
    kab: Housing,
    municipality: Municipality,
    registry: Registry,
    report: Report,
}

/// Records the probes refer to, so each request is well-formed but for its probed field.
struct Ids {
    /// An open vacancy of KAB's in Nordvest.
    open: String,
    /// FSB's letting in Tingbjerg awaiting the municipality.
    pending: String,
    /// FSB's rejected letting in Tingbjerg, owed a replacement and not yet offered one.
    rejected: String,
    /// KAB's approved letting in Nordvest.
    approved: String,
    /// A replacement offer of a KAB dwelling, unanswered.
    offer: String,
    /// An approved relocation grant.
    grant: String,
}

/// The field under test and its value; every other field gets its well-formed default.
#[derive(Clone, Copy)]
struct Probe<'a> {
    field: &'a str,
    value: &'a str,
}

impl Probe<'_> {
    fn or(&self, field: &str, default: &str) -> String {
        if self.field == field {
            self.value.to_owned()
        } else {
            default.to_owned()
        }
    }

    fn household(&self) -> pb::ApplicantHousehold {
        let person = pb::Person {
            role: pb::PersonRole::Applicant.into(),
            weekly_work_hours: self.or("household.persons[0].weekly_work_hours", "37"),
            cohabiting_since: self.or("household.persons[0].cohabiting_since", ""),
            // A spell long over, so the outcome is the one of an applicant in work.
            benefit_spells: vec![pb::BenefitSpell {
                kind: self.or(
                    "household.persons[0].benefit_spells[0].kind",
                    "cash_benefit",
                ),
                from_date: self.or(
                    "household.persons[0].benefit_spells[0].from_date",
                    "2005-01-01",
                ),
                to_date: "2005-06-30".into(),
            }],
            ..Default::default()
        };
        let conditions = self.or("household.referral_conditions[0]", "");
        pb::ApplicantHousehold {
            applicant_ref: self.or("household.applicant_ref", "hh-limits-1"),
            persons: vec![person],
            referral_conditions: if conditions.is_empty() {
                Vec::new()
            } else {
                vec![conditions]
            },
            current_area_class: self.or("household.current_area_class", ""),
            waiting_list_registered_on: self.or("household.waiting_list_registered_on", ""),
            ..Default::default()
        }
    }
}

/// Sends `rpc` with the probe; `key` is the default idempotency key.
async fn send(
    c: &mut Clients,
    ids: &Ids,
    rpc: &str,
    p: Probe<'_>,
    key: &str,
) -> Result<(), Status> {
    let k = p.or("idempotency_key", key);
    match rpc {
        "RegisterVacancy" => c
            .kab
            .register_vacancy(pb::RegisterVacancyRequest {
                idempotency_key: k,
                department_id: p.or("department_id", "kab-nordvest-3"),
                vacancy_ref: p.or("vacancy_ref", "Nordvest 3, st. tv."),
                vacancy_date: p.or("vacancy_date", "2007-03-02"),
            })
            .await
            .map(drop),
        "ProposeLetting" => c
            .kab
            .propose_letting(pb::ProposeLettingRequest {
                idempotency_key: k,
                vacancy_id: p.or("vacancy_id", &ids.open),
                household: Some(p.household()),
                proposal_date: p.or("proposal_date", "2007-03-05"),
                ..Default::default()
            })
            .await
            .map(drop),
        "EvaluateLetting" => c
            .kab
            .evaluate_letting(pb::EvaluateLettingRequest {
                vacancy_id: p.or("vacancy_id", &ids.open),
                household: Some(p.household()),
                proposal_date: p.or("proposal_date", "2007-03-05"),
                ..Default::default()
            })
            .await
            .map(drop),
        "RecordMoveIn" => c
            .kab
            .record_move_in(pb::RecordMoveInRequest {
                idempotency_key: k,
                letting_id: p.or("letting_id", &ids.approved),
                move_in_date: p.or("move_in_date", "2007-04-01"),
            })
            .await
            .map(drop),
        "RecordReplacementOfferAnswer" => c
            .kab
            .record_replacement_offer_answer(pb::RecordReplacementOfferAnswerRequest {
                idempotency_key: k,
                offer_id: p.or("offer_id", &ids.offer),
                accepted: true,
                answer_date: p.or("answer_date", "2007-03-15"),
            })
            .await
            .map(drop),
        "GetDecision" => c
            .kab
            .get_decision(pb::GetDecisionRequest {
                decision_id: p.or("decision_id", ""),
            })
            .await
            .map(drop),
        "ListPendingApprovals" => c
            .municipality
            .list_pending_approvals(pb::ListPendingApprovalsRequest {
                page_size: 10,
                page_token: p.or("page_token", ""),
            })
            .await
            .map(drop),
        "ApproveLetting" => c
            .municipality
            .approve_letting(pb::ApproveLettingRequest {
                idempotency_key: k,
                letting_id: p.or("letting_id", &ids.pending),
                decision_date: p.or("decision_date", "2007-03-10"),
                reason: p.or("reason", "Ansøger er i arbejde."),
                caseworker_ref: p.or("caseworker_ref", "cw-1"),
            })
            .await
            .map(drop),
        "RejectLetting" => c
            .municipality
            .reject_letting(pb::RejectLettingRequest {
                idempotency_key: k,
                letting_id: p.or("letting_id", &ids.pending),
                decision_date: p.or("decision_date", "2007-03-10"),
                reason: p.or("reason", "Ansøger modtager kontanthjælp."),
                caseworker_ref: p.or("caseworker_ref", "cw-1"),
                replacement_owed: false,
            })
            .await
            .map(drop),
        "MakeReplacementOffer" => c
            .municipality
            .make_replacement_offer(pb::MakeReplacementOfferRequest {
                idempotency_key: k,
                letting_id: p.or("letting_id", &ids.rejected),
                vacancy_id: p.or("vacancy_id", &ids.open),
                offer_date: p.or("offer_date", "2007-03-10"),
            })
            .await
            .map(drop),
        "RecordMunicipalReferral" => c
            .municipality
            .record_municipal_referral(pb::RecordMunicipalReferralRequest {
                idempotency_key: k,
                vacancy_id: p.or("vacancy_id", &ids.open),
                household: Some(p.household()),
                referral_date: p.or("referral_date", "2007-03-05"),
            })
            .await
            .map(drop),
        "LoadAreaStatistics" => c
            .municipality
            .load_area_statistics(pb::LoadAreaStatisticsRequest {
                idempotency_key: k,
                year: 2008,
                effective_date: p.or("effective_date", "2008-01-01"),
                areas: vec![pb::AreaStatistics {
                    area_id: p.or("areas[0].area_id", "nordvest"),
                    working_age_residents: Some(2000),
                    without_labour_market_attachment: Some(300),
                    residents: Some(4000),
                    conviction_rate_ratio: p.or("areas[0].conviction_rate_ratio", "1.2"),
                    share_non_western: p.or("areas[0].share_non_western", "0.2"),
                    ..Default::default()
                }],
            })
            .await
            .map(drop),
        "GetClassifications" => c
            .municipality
            .get_classifications(pb::GetClassificationsRequest {
                as_of: p.or("as_of", "2007-06-01"),
            })
            .await
            .map(drop),
        "DecideRelocationGrant" => c
            .municipality
            .decide_relocation_grant(pb::DecideRelocationGrantRequest {
                idempotency_key: k,
                household: Some(p.household()),
                purpose: p.or("purpose", "special_housing"),
                amount_ore: 0,
                decision_date: p.or("decision_date", "2007-05-02"),
            })
            .await
            .map(drop),
        "PayRelocationGrant" | "CancelRelocationGrant" => {
            let request = pb::SettleRelocationGrantRequest {
                idempotency_key: k,
                grant_id: p.or("grant_id", &ids.grant),
                date: p.or("date", "2007-06-01"),
                reason: p.or("reason", "Udbetalt."),
            };
            if rpc == "PayRelocationGrant" {
                c.municipality.pay_relocation_grant(request).await.map(drop)
            } else {
                c.municipality
                    .cancel_relocation_grant(request)
                    .await
                    .map(drop)
            }
        }
        "UpsertOrganisation" => c
            .registry
            .upsert_organisation(pb::UpsertOrganisationRequest {
                idempotency_key: k,
                organisation: Some(pb::Organisation {
                    id: p.or("organisation.id", "sab"),
                    name: p.or("organisation.name", "SAB"),
                }),
            })
            .await
            .map(drop),
        "UpsertArea" => c
            .registry
            .upsert_area(pb::UpsertAreaRequest {
                idempotency_key: k,
                area: Some(pb::Area {
                    id: p.or("area.id", "oestergaard"),
                    municipality_code: p.or("area.municipality_code", "0101"),
                    name: p.or("area.name", "Østergård"),
                }),
            })
            .await
            .map(drop),
        "UpsertDepartment" => c
            .registry
            .upsert_department(pb::UpsertDepartmentRequest {
                idempotency_key: k,
                department: Some(pb::Department {
                    id: p.or("department.id", "kab-nordvest-9"),
                    organisation_id: p.or("department.organisation_id", "kab"),
                    area_id: p.or("department.area_id", "nordvest"),
                    name: p.or("department.name", "Nordvest 9"),
                    dwellings: 100,
                }),
            })
            .await
            .map(drop),
        "ListDepartments" => c
            .registry
            .list_departments(pb::ListDepartmentsRequest {
                page_size: 10,
                page_token: p.or("page_token", ""),
            })
            .await
            .map(drop),
        "GetComplianceReport" => {
            let quarter = p.or("quarter", "");
            let from = p.or("from_date", "");
            c.report
                .get_compliance_report(pb::GetComplianceReportRequest {
                    to_date: if from.is_empty() {
                        String::new()
                    } else {
                        "2007-06-30".into()
                    },
                    quarter,
                    from_date: from,
                    ..Default::default()
                })
                .await
                .map(drop)
        }
        other => panic!("no request for {other}"),
    }
}

/// Registers vacancies in `department` until one is not for municipal referral (an
/// organisation's own applicant may not be proposed for those); its id.
async fn open_vacancy(h: &mut Housing, key: &str, department: &str) -> String {
    for i in 0..10 {
        let v = h
            .register_vacancy(vacancy(&format!("{key}-{i}"), department, "2007-03-01"))
            .await
            .expect("register")
            .into_inner();
        if v.channel() != pb::LettingChannel::MunicipalReferral {
            return v.vacancy_id;
        }
    }
    panic!("ten vacancies in {department}, all for municipal referral");
}

async fn propose(h: &mut Housing, key: &str, vacancy_id: &str, person: pb::Person) -> String {
    h.propose_letting(pb::ProposeLettingRequest {
        idempotency_key: key.into(),
        vacancy_id: vacancy_id.into(),
        household: Some(household(&format!("hh-{key}"), person)),
        proposal_date: "2007-03-05".into(),
        ..Default::default()
    })
    .await
    .expect("propose")
    .into_inner()
    .letting_id
}

/// A seeded server with a record of each kind the probes name, and its clients.
async fn with_records() -> (TestServer, Clients, Ids) {
    let server = TestServer::start().await;
    server.seed().await;
    let mut kab = server.housing(Some(&server.keys.kab)).await;
    let mut fsb = server.housing(Some(&server.keys.fsb)).await;
    let mut m = server.municipality(Some(&server.keys.municipality)).await;
    let open = open_vacancy(&mut kab, "fx-open", "kab-nordvest-3").await;
    let let_ok = open_vacancy(&mut kab, "fx-ok", "kab-nordvest-3").await;
    let approved = propose(&mut kab, "fx-approved", &let_ok, in_work("37")).await;
    let v = open_vacancy(&mut fsb, "fx-pending", "fsb-tingbjerg-1").await;
    let pending = propose(&mut fsb, "fx-pending", &v, in_work("37")).await;
    let v = open_vacancy(&mut fsb, "fx-rej-a", "fsb-tingbjerg-1").await;
    let offered = propose(&mut fsb, "fx-rej-a", &v, on_cash_benefit("2006-06-01")).await;
    let v = open_vacancy(&mut fsb, "fx-rej-b", "fsb-tingbjerg-1").await;
    let rejected = propose(&mut fsb, "fx-rej-b", &v, on_cash_benefit("2006-06-01")).await;
    let offer_vacancy = open_vacancy(&mut kab, "fx-offer", "kab-nordvest-3").await;
    let offer = m
        .make_replacement_offer(pb::MakeReplacementOfferRequest {
            idempotency_key: "fx-offer".into(),
            letting_id: offered,
            vacancy_id: offer_vacancy,
            offer_date: "2007-03-10".into(),
        })
        .await
        .expect("offer")
        .into_inner()
        .offer_id;
    let grant = m
        .decide_relocation_grant(standard_grant("fx-grant", "2007-05-01"))
        .await
        .expect("grant")
        .into_inner()
        .grant_id;
    let clients = Clients {
        kab,
        municipality: m,
        registry: server.registry(Some(&server.keys.municipality)).await,
        report: ReportServiceClient::with_interceptor(
            server.channel().await,
            common::bearer(Some(&server.keys.municipality)),
        ),
    };
    let ids = Ids {
        open,
        pending,
        rejected,
        approved,
        offer,
        grant,
    };
    (server, clients, ids)
}

/// The database file behind the harness's server and its write-ahead log, read whole.
fn database_bytes(server: &TestServer) -> Vec<(String, Vec<u8>)> {
    let path = server
        .database_url
        .strip_prefix("sqlite://")
        .expect("a SQLite test server")
        .to_owned();
    let mut files = Vec::new();
    for file in [path.clone(), format!("{path}-wal")] {
        if let Ok(bytes) = std::fs::read(&file) {
            files.push((file, bytes));
        }
    }
    assert!(!files.is_empty(), "no database file at {path}");
    files
}

fn holds(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Neither the database nor its log holds any of `needles`.
fn assert_not_stored(server: &TestServer, needles: &[&[u8]]) {
    for (file, bytes) in database_bytes(server) {
        for needle in needles {
            assert!(
                !holds(&bytes, needle),
                "{file} holds `{}`",
                String::from_utf8_lossy(&needle[..needle.len().min(QUOTE)])
            );
        }
    }
}

/// What is wrong with a message (or a detail's description) a client may be shown: it must
/// be short, quote no more than a short prefix of a long value and nothing of a CPR-shaped
/// one.
fn text_problem(text: &str) -> Option<String> {
    if text.len() > 2_000 {
        return Some(format!("a message of {} bytes", text.len()));
    }
    if text.contains(&"q".repeat(QUOTE + 1)) {
        return Some(format!("quotes more than {QUOTE} characters: {text}"));
    }
    CPR_MARKERS
        .iter()
        .any(|m| text.contains(m))
        .then(|| format!("echoes a CPR-shaped value: {text}"))
}

fn assert_safe_text(text: &str, context: &str) {
    if let Some(problem) = text_problem(text) {
        panic!("{context}: {problem}");
    }
}

/// The fields an INVALID_ARGUMENT names, or what is wrong with it: another code, or a
/// message or detail that is not safe to show.
fn refusal(status: &Status) -> Result<Vec<String>, String> {
    if status.code() != Code::InvalidArgument {
        let shown: String = status.message().chars().take(200).collect();
        return Err(format!("{:?}: {shown}", status.code()));
    }
    if let Some(problem) = text_problem(status.message()) {
        return Err(problem);
    }
    let details = status
        .get_details_bad_request()
        .ok_or_else(|| "no BadRequest details".to_owned())?;
    for v in &details.field_violations {
        if let Some(problem) = text_problem(&v.description) {
            return Err(format!("detail of `{}`: {problem}", v.field));
        }
    }
    Ok(details
        .field_violations
        .into_iter()
        .map(|v| v.field)
        .collect())
}

fn refused_fields(status: &Status, context: &str) -> Vec<String> {
    refusal(status).unwrap_or_else(|problem| panic!("{context}: {problem}"))
}

#[tokio::test]
async fn every_text_field_refuses_cpr_shaped_and_oversized_values_and_stores_nothing() {
    let (server, mut c, ids) = with_records().await;
    let before = server.decisions(&[]).await.len();
    let (long, huge) = (long_value(), huge_value());
    let mut n = 0;
    let mut failures = Vec::new();
    for &(rpc, field) in FIELDS {
        for value in CPR_VALUES.iter().copied().chain([long.as_str()]) {
            n += 1;
            let shown = &value[..value.len().min(12)];
            let context = format!("{rpc}.{field} = `{shown}`");
            let probe = Probe { field, value };
            match send(&mut c, &ids, rpc, probe, &format!("limits-{n}")).await {
                Ok(()) => failures.push(format!("{context}: accepted")),
                Err(status) => match refusal(&status) {
                    Ok(fields) if fields == [field] => {}
                    Ok(fields) => failures.push(format!("{context}: named {fields:?}")),
                    Err(problem) => failures.push(format!("{context}: {problem}")),
                },
            }
        }
        // Over the request size limit: OUT_OF_RANGE, before it is decoded.
        n += 1;
        let probe = Probe {
            field,
            value: &huge,
        };
        let context = format!("{rpc}.{field} = 1.1 MB");
        match send(&mut c, &ids, rpc, probe, &format!("limits-{n}")).await {
            Ok(()) => failures.push(format!("{context}: accepted")),
            Err(status) => {
                if let Some(problem) = text_problem(status.message()) {
                    failures.push(format!("{context}: {problem}"));
                } else if status.code() != Code::OutOfRange {
                    failures.push(format!("{context}: {:?}", status.code()));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(server.decisions(&[]).await.len(), before, "nothing written");
    let run = "q".repeat(64);
    let mut needles: Vec<&[u8]> = CPR_MARKERS.iter().map(|m| m.as_bytes()).collect();
    needles.push(run.as_bytes());
    assert_not_stored(&server, &needles);
    // The search sees what was stored: a vacancy's reference written now is found.
    let control = "control-reference-of-the-search";
    send(
        &mut c,
        &ids,
        "RegisterVacancy",
        Probe {
            field: "vacancy_ref",
            value: control,
        },
        "control",
    )
    .await
    .expect("a well-formed vacancy");
    assert!(
        database_bytes(&server)
            .iter()
            .any(|(_, bytes)| holds(bytes, control.as_bytes())),
        "the database files do not show what was just stored"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_server_id_with_a_cpr_shaped_run_is_not_found_and_not_echoed() {
    let (server, mut c, ids) = with_records().await;
    let before = server.decisions(&[]).await.len();
    let mut failures = Vec::new();
    for (i, &(rpc, field)) in SERVER_ID_FIELDS.iter().enumerate() {
        let probe = Probe {
            field,
            value: UUID_WITH_CPR,
        };
        let context = format!("{rpc}.{field}");
        match send(&mut c, &ids, rpc, probe, &format!("uuid-{i}")).await {
            Ok(()) => failures.push(format!("{context}: accepted")),
            Err(status) => {
                if let Some(problem) = text_problem(status.message()) {
                    failures.push(format!("{context}: {problem}"));
                } else if status.code() != Code::NotFound {
                    failures.push(format!(
                        "{context}: {:?} {}",
                        status.code(),
                        status.message()
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(server.decisions(&[]).await.len(), before, "nothing written");
    server.stop().await;
}

/// `n` persons with nothing filled in: two bytes each on the wire.
fn empty_persons(n: usize) -> pb::EvaluateLettingRequest {
    pb::EvaluateLettingRequest {
        vacancy_id: "v".into(),
        household: Some(pb::ApplicantHousehold {
            applicant_ref: "hh-1".into(),
            persons: vec![pb::Person::default(); n],
            ..Default::default()
        }),
        proposal_date: "2007-03-05".into(),
        referral_id: String::new(),
    }
}

#[tokio::test]
async fn a_hundred_thousand_empty_persons_get_one_short_error() {
    let (server, mut c, ids) = with_records().await;
    let request = pb::EvaluateLettingRequest {
        vacancy_id: ids.open.clone(),
        ..empty_persons(100_000)
    };
    assert!(request.encoded_len() < 256 * 1024);
    let e = c
        .kab
        .evaluate_letting(request)
        .await
        .expect_err("100,000 persons");
    // The limit first, then what is wrong with the ten persons read; no more.
    let fields = refused_fields(&e, "100,000 persons");
    assert_eq!(fields[0], "household.persons", "{e:?}");
    assert!(fields.len() <= 11, "{fields:?}");
    assert!(e.message().contains("at most 10"), "{}", e.message());
    server.stop().await;
}

#[tokio::test]
async fn a_request_over_the_size_limit_is_refused_before_it_is_decoded() {
    let server = TestServer::start().await;
    // The request: 3.8 MB of 1.9 million empty persons.
    let request = empty_persons(1_900_000);
    assert!(request.encoded_len() > 3_000_000);
    let e = server
        .housing(Some(&server.keys.kab))
        .await
        .evaluate_letting(request)
        .await
        .expect_err("3.8 MB");
    // tonic's code for a message over the decoding limit (before it is read).
    assert_eq!(e.code(), Code::OutOfRange, "{}", e.message());
    assert!(
        e.message().contains("the limit is: 262144 bytes"),
        "{}",
        e.message()
    );
    server.stop().await;
}

#[tokio::test]
async fn a_key_that_may_not_make_the_call_is_refused_before_its_body_is_read() {
    let server = TestServer::start().await;
    server.seed().await;
    let before = server.decisions(&[]).await.len();
    let auditor = Some(server.keys.auditor.as_str());
    // An auditor's dry run of a letting: 100,000 persons and no valid field at all.
    let bad = pb::EvaluateLettingRequest {
        vacancy_id: String::new(),
        proposal_date: "someday".into(),
        ..empty_persons(100_000)
    };
    let e = server
        .housing(auditor)
        .await
        .evaluate_letting(bad)
        .await
        .expect_err("an auditor's evaluation");
    assert_eq!(e.code(), Code::PermissionDenied, "{}", e.message());
    assert_safe_text(e.message(), "auditor");
    // The same for the municipality's acts: an auditor or an organisation sending a reason
    // of 100,000 characters is told it may not act, not that the reason is too long.
    let approval = pb::ApproveLettingRequest {
        idempotency_key: String::new(),
        letting_id: "0101701234".into(),
        decision_date: String::new(),
        reason: long_value(),
        caseworker_ref: "010170-1234".into(),
    };
    for key in [auditor, Some(server.keys.kab.as_str())] {
        let e = server
            .municipality(key)
            .await
            .approve_letting(approval.clone())
            .await
            .expect_err("not the municipality");
        assert_eq!(e.code(), Code::PermissionDenied, "{}", e.message());
        assert_safe_text(e.message(), "approval");
        let e = server
            .registry(key)
            .await
            .upsert_organisation(pb::UpsertOrganisationRequest {
                idempotency_key: "010170-1234".into(),
                organisation: Some(pb::Organisation {
                    id: long_value(),
                    name: String::new(),
                }),
            })
            .await
            .expect_err("not the municipality");
        assert_eq!(e.code(), Code::PermissionDenied, "{}", e.message());
    }
    let e = server
        .housing(auditor)
        .await
        .register_vacancy(vacancy("010170-1234", "Not An Id", "never"))
        .await
        .expect_err("an auditor's vacancy");
    assert_eq!(e.code(), Code::PermissionDenied, "{}", e.message());
    assert_eq!(server.decisions(&[]).await.len(), before, "nothing written");
    server.stop().await;
}

#[tokio::test]
async fn the_error_list_stops_at_twenty_and_counts_the_rest() {
    let (server, mut c, ids) = with_records().await;
    // Ten persons (the most a household may have), each with fifty benefit spells (the
    // most a person may have) whose dates are all wrong: 1,000 errors.
    let spell = pb::BenefitSpell {
        kind: "cash_benefit".into(),
        from_date: "2006-13-01".into(),
        to_date: "2006-14-01".into(),
    };
    let person = |role: pb::PersonRole| pb::Person {
        role: role.into(),
        benefit_spells: vec![spell.clone(); 50],
        ..Default::default()
    };
    let mut persons = vec![person(pb::PersonRole::Applicant)];
    persons.extend((1..10).map(|_| person(pb::PersonRole::Spouse)));
    let e = c
        .kab
        .evaluate_letting(pb::EvaluateLettingRequest {
            vacancy_id: ids.open.clone(),
            household: Some(pb::ApplicantHousehold {
                applicant_ref: "hh-1".into(),
                persons,
                ..Default::default()
            }),
            proposal_date: "2007-03-05".into(),
            referral_id: String::new(),
        })
        .await
        .expect_err("1,000 bad dates");
    let fields = refused_fields(&e, "1,000 bad dates");
    assert_eq!(fields.len(), 20, "{fields:?}");
    assert!(
        e.message().contains("and 980 more"),
        "the message says how many more: {}",
        e.message()
    );
    server.stop().await;
}

#[tokio::test]
async fn repeated_fields_over_their_limit_are_refused() {
    let (server, mut c, ids) = with_records().await;
    let before = server.decisions(&[]).await.len();
    let spouse = pb::Person {
        role: pb::PersonRole::Spouse.into(),
        ..Default::default()
    };
    let applicant = |spells: usize| pb::Person {
        role: pb::PersonRole::Applicant.into(),
        benefit_spells: vec![
            pb::BenefitSpell {
                kind: "cash_benefit".into(),
                from_date: "2005-01-01".into(),
                to_date: "2005-02-01".into(),
            };
            spells
        ],
        ..Default::default()
    };
    // (what, household, the field named): each one over its limit by one.
    let eleven = pb::ApplicantHousehold {
        applicant_ref: "hh-11".into(),
        persons: std::iter::once(applicant(0))
            .chain(std::iter::repeat_n(spouse, 10))
            .collect(),
        ..Default::default()
    };
    let spells = pb::ApplicantHousehold {
        applicant_ref: "hh-51".into(),
        persons: vec![applicant(51)],
        ..Default::default()
    };
    let conditions = pb::ApplicantHousehold {
        applicant_ref: "hh-21".into(),
        persons: vec![applicant(0)],
        referral_conditions: vec!["released_within_6_months".into(); 21],
        ..Default::default()
    };
    for (i, (what, h, field)) in [
        ("11 persons", eleven, "household.persons"),
        ("51 spells", spells, "household.persons[0].benefit_spells"),
        ("21 conditions", conditions, "household.referral_conditions"),
    ]
    .into_iter()
    .enumerate()
    {
        let e = c
            .kab
            .propose_letting(pb::ProposeLettingRequest {
                idempotency_key: format!("rep-{i}"),
                vacancy_id: ids.open.clone(),
                household: Some(h),
                proposal_date: "2007-03-05".into(),
                ..Default::default()
            })
            .await
            .expect_err(what);
        assert_eq!(refused_fields(&e, what), [field], "{what}");
    }
    let areas = (0..501)
        .map(|i| pb::AreaStatistics {
            area_id: format!("area-{i}"),
            ..Default::default()
        })
        .collect();
    let e = c
        .municipality
        .load_area_statistics(pb::LoadAreaStatisticsRequest {
            idempotency_key: "rep-areas".into(),
            year: 2008,
            effective_date: "2008-01-01".into(),
            areas,
        })
        .await
        .expect_err("501 areas");
    assert_eq!(refused_fields(&e, "501 areas"), ["areas"]);
    assert_eq!(server.decisions(&[]).await.len(), before, "nothing written");
    server.stop().await;
}

#[tokio::test]
async fn the_largest_request_the_field_limits_allow_is_decoded() {
    let server = TestServer::start().await;
    // 500 areas (the most one load may hold), every text at its limit: the biggest
    // well-formed request of the contract must fit the request size limit.
    let decimal = format!("{}.12345678", "0".repeat(23));
    assert_eq!(decimal.len(), 32);
    let areas = (0..500)
        .map(|i| pb::AreaStatistics {
            area_id: format!("{i:0>64}"),
            working_age_residents: Some(10_000_000),
            without_labour_market_attachment: Some(10_000_000),
            residents: Some(10_000_000),
            share_without_work_or_education: decimal.clone(),
            conviction_rate_ratio: decimal.clone(),
            share_basic_schooling_only: decimal.clone(),
            income_ratio_to_region: decimal.clone(),
            transfer_income_share: decimal.clone(),
            self_supporting_weeks: decimal.clone(),
            share_non_western: decimal.clone(),
            share_convicted: decimal.clone(),
        })
        .collect();
    let request = pb::LoadAreaStatisticsRequest {
        idempotency_key: "k".repeat(200),
        year: 2008,
        effective_date: "2008-01-01".into(),
        areas,
    };
    assert!(
        request.encoded_len() < 256 * 1024,
        "{}",
        request.encoded_len()
    );
    let e = server
        .municipality(Some(&server.keys.municipality))
        .await
        .load_area_statistics(request)
        .await
        .expect_err("areas that do not exist");
    // Decoded and validated: the first area is simply not in the registry.
    assert_eq!(e.code(), Code::NotFound, "{}", e.message());
    server.stop().await;
}
