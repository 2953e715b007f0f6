//! Setup before any measurement: connections, keys as bearer tokens, the seeded registry
//! and statistics, and the vacancies the runs use (registered untimed).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::{Channel, Endpoint};

use super::report::Registration;
use super::{
    DEPARTMENTS_PER_AREA, MUNICIPALITY, ORGANISATIONS, REGISTER_CONCURRENCY, VACANCY_DATE,
};
use letting_rules::grpc::pb;
use letting_rules::grpc::pb::housing_organisation_service_client::HousingOrganisationServiceClient;
use letting_rules::grpc::pb::municipality_service_client::MunicipalityServiceClient;
use letting_rules::grpc::pb::registry_service_client::RegistryServiceClient;

pub(super) type Client = HousingOrganisationServiceClient<Channel>;

/// A vacancy and the organisation (index into the keys) that owns it.
#[derive(Debug, Clone)]
pub(super) struct Vacancy {
    pub(super) id: String,
    pub(super) organisation: usize,
}

/// What the workers share.
pub(super) struct Shared {
    /// `Bearer <key>` of each organisation.
    pub(super) organisations: Vec<MetadataValue<Ascii>>,
    /// One open vacancy per department, for the dry runs; never proposed.
    pub(super) evaluation: Vec<Vacancy>,
    /// Open vacancies for durable proposals; each is used once.
    pub(super) pool: Mutex<Vec<Vacancy>>,
    /// Makes idempotency keys and household references unique within the process.
    pub(super) sequence: AtomicU64,
}

impl Shared {
    pub(super) fn take_vacancy(&self) -> Option<Vacancy> {
        lock(&self.pool).pop()
    }

    pub(super) fn pooled(&self) -> usize {
        lock(&self.pool).len()
    }

    pub(super) fn next(&self) -> u64 {
        self.sequence.fetch_add(1, Ordering::Relaxed)
    }
}

pub(super) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub(super) fn bearer(secret: &str) -> anyhow::Result<MetadataValue<Ascii>> {
    format!("Bearer {secret}")
        .parse()
        .context("a key that is not ASCII")
}

pub(super) fn request<T>(message: T, key: &MetadataValue<Ascii>) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert("authorization", key.clone());
    request
}

/// A household of one applicant in work, different on each call.
pub(super) fn household(n: u64) -> pb::ApplicantHousehold {
    pb::ApplicantHousehold {
        applicant_ref: format!("lg-hh-{n}"),
        persons: vec![pb::Person {
            role: pb::PersonRole::Applicant.into(),
            weekly_work_hours: if n % 2 == 0 { "37" } else { "30.5" }.into(),
            age: 25 + u32::try_from(n % 40).unwrap_or(0),
            benefit_spells: vec![pb::BenefitSpell {
                kind: "cash_benefit".into(),
                from_date: "2005-01-01".into(),
                to_date: "2005-09-30".into(),
            }],
            evidence: pb::Evidence::Documented.into(),
            ..Default::default()
        }],
        ..Default::default()
    }
}

pub(super) fn organisation_id(i: usize) -> String {
    format!("lg-org-{}", i + 1)
}

pub(super) fn department_id(i: usize) -> String {
    format!("lg-dept-{:04}", i + 1)
}

pub(super) fn area_id(i: usize) -> String {
    format!("lg-area-{:03}", i + 1)
}

pub(super) async fn connect(addr: SocketAddr) -> anyhow::Result<Channel> {
    Endpoint::from_shared(format!("http://{addr}"))?
        .timeout(Duration::from_secs(30))
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .with_context(|| format!("cannot connect to {addr}"))
}

/// `n` connections (each its own HTTP/2 connection).
pub(super) async fn clients(addr: SocketAddr, n: usize) -> anyhow::Result<Vec<Client>> {
    let mut clients = Vec::with_capacity(n);
    for _ in 0..n {
        clients.push(HousingOrganisationServiceClient::new(connect(addr).await?));
    }
    Ok(clients)
}

/// Organisations, areas and departments through the RegistryService, and 2007 statistics
/// that make every area neutral (under 30 % without labour-market attachment).
pub(super) async fn seed(
    addr: SocketAddr,
    key: &MetadataValue<Ascii>,
    departments: usize,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let channel = connect(addr).await?;
    let mut registry = RegistryServiceClient::new(channel.clone());
    let mut municipality = MunicipalityServiceClient::new(channel);
    for i in 0..ORGANISATIONS {
        let organisation = pb::Organisation {
            id: organisation_id(i),
            name: format!("Loadgen Boligselskab {}", i + 1),
        };
        registry
            .upsert_organisation(request(
                pb::UpsertOrganisationRequest {
                    idempotency_key: format!("seed-org-{i}"),
                    organisation: Some(organisation),
                },
                key,
            ))
            .await
            .context("seeding an organisation")?;
    }
    let areas = departments.div_ceil(DEPARTMENTS_PER_AREA);
    for a in 0..areas {
        registry
            .upsert_area(request(
                pb::UpsertAreaRequest {
                    idempotency_key: format!("seed-area-{a}"),
                    area: Some(pb::Area {
                        id: area_id(a),
                        municipality_code: MUNICIPALITY.into(),
                        name: format!("Loadgen area {}", a + 1),
                    }),
                },
                key,
            ))
            .await
            .context("seeding an area")?;
    }
    for d in 0..departments {
        registry
            .upsert_department(request(
                pb::UpsertDepartmentRequest {
                    idempotency_key: format!("seed-dept-{d}"),
                    department: Some(pb::Department {
                        id: department_id(d),
                        organisation_id: organisation_id(d % ORGANISATIONS),
                        area_id: area_id(d / DEPARTMENTS_PER_AREA),
                        name: format!("Afdeling {}", d + 1),
                        dwellings: 400,
                    }),
                },
                key,
            ))
            .await
            .context("seeding a department")?;
    }
    let statistics = (0..areas)
        .map(|a| {
            let working = 2_000 + 10 * a as u64;
            pb::AreaStatistics {
                area_id: area_id(a),
                working_age_residents: Some(working),
                // 10 % to 25 %: neutral.
                without_labour_market_attachment: Some(working * (10 + (a as u64 % 16)) / 100),
                residents: Some(working * 2),
                ..Default::default()
            }
        })
        .collect();
    municipality
        .load_area_statistics(request(
            pb::LoadAreaStatisticsRequest {
                idempotency_key: "seed-stats-2007".into(),
                year: 2007,
                effective_date: "2007-01-01".into(),
                areas: statistics,
            },
            key,
        ))
        .await
        .context("seeding the 2007 statistics")?;
    eprintln!(
        "loadgen: seeded {ORGANISATIONS} organisations, {areas} neutral areas and {departments} \
         departments in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Registers vacancies until the pool holds at least `want`.
pub(super) async fn top_up(
    setup: &[Client],
    context: &Arc<Shared>,
    departments: usize,
    want: usize,
    registrations: &mut Vec<Registration>,
) -> anyhow::Result<()> {
    let have = context.pooled();
    if have >= want {
        return Ok(());
    }
    let (vacancies, registration) = register(setup, context, departments, want - have).await?;
    lock(&context.pool).extend(vacancies);
    registrations.push(registration);
    Ok(())
}

/// Registers `count` vacancies spread over the departments, REGISTER_CONCURRENCY at a time.
pub(super) async fn register(
    setup: &[Client],
    context: &Shared,
    departments: usize,
    count: usize,
) -> anyhow::Result<(Vec<Vacancy>, Registration)> {
    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let first = context.sequence.fetch_add(count as u64, Ordering::Relaxed);
    let mut tasks = Vec::new();
    for w in 0..REGISTER_CONCURRENCY {
        let mut client = setup[w % setup.len()].clone();
        let next = next.clone();
        let keys = context.organisations.clone();
        tasks.push(tokio::spawn(async move {
            let mut made = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    break;
                }
                let department = (first as usize + i) % departments;
                let organisation = department % ORGANISATIONS;
                let reply = client
                    .register_vacancy(request(
                        pb::RegisterVacancyRequest {
                            idempotency_key: format!("lg-vacancy-{}", first + i as u64),
                            department_id: department_id(department),
                            vacancy_ref: format!("lg-flat-{}", first + i as u64),
                            vacancy_date: VACANCY_DATE.into(),
                        },
                        &keys[organisation],
                    ))
                    .await?
                    .into_inner();
                // A vacancy for municipal referral is let only to a referred household.
                if reply.channel() == pb::LettingChannel::MunicipalReferral {
                    continue;
                }
                made.push(Vacancy {
                    id: reply.vacancy_id,
                    organisation,
                });
            }
            Ok::<_, tonic::Status>(made)
        }));
    }
    let mut vacancies = Vec::with_capacity(count);
    for task in tasks {
        vacancies.extend(
            task.await
                .context("a registering task failed")?
                .context("registering a vacancy")?,
        );
    }
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "loadgen: registered {count} vacancies in {seconds:.1} s ({:.0}/s, concurrency {REGISTER_CONCURRENCY})",
        count as f64 / seconds
    );
    Ok((
        vacancies,
        Registration {
            vacancies: count,
            seconds,
            per_second: count as f64 / seconds,
        },
    ))
}
