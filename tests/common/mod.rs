//! One in-process server harness for the gRPC tests: a real server on a loopback port over
//! a fresh database, with keys for the municipality, two organisations and an auditor.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::metadata::MetadataValue;
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::{Request, Status};

use letting_rules::grpc::auth::create_key;
use letting_rules::grpc::pb;
use letting_rules::grpc::pb::housing_organisation_service_client::HousingOrganisationServiceClient;
use letting_rules::grpc::pb::municipality_service_client::MunicipalityServiceClient;
use letting_rules::grpc::pb::registry_service_client::RegistryServiceClient;
use letting_rules::grpc::server::{ServerOptions, serve};
use letting_rules::rules;
use letting_rules::service::{Ledger, Principal};
use letting_rules::store::Store;

/// Adds `authorization: Bearer <key>` to every call.
#[derive(Clone)]
pub struct Bearer(pub Option<MetadataValue<tonic::metadata::Ascii>>);

impl Interceptor for Bearer {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

pub type Housing = HousingOrganisationServiceClient<InterceptedService<Channel, Bearer>>;
pub type Municipality = MunicipalityServiceClient<InterceptedService<Channel, Bearer>>;
pub type Registry = RegistryServiceClient<InterceptedService<Channel, Bearer>>;

pub struct Keys {
    pub municipality: String,
    pub kab: String,
    pub fsb: String,
    pub auditor: String,
}

pub struct TestServer {
    pub addr: SocketAddr,
    pub database_url: String,
    pub keys: Keys,
    pub store: Arc<Store>,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<()>>,
    dir: Option<tempfile::TempDir>,
}

pub fn rules_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("rules")
}

impl TestServer {
    /// A server over a fresh SQLite file.
    pub async fn start() -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("letting.db").display());
        let mut server = TestServer::start_on(&url, None).await;
        server.dir = Some(dir);
        server
    }

    /// A server over `url`; makes keys unless `keys` are given (a restart).
    pub async fn start_on(url: &str, keys: Option<Keys>) -> TestServer {
        let store = Arc::new(Store::open(url).await.expect("open store"));
        let keys = match keys {
            Some(k) => k,
            None => {
                let m = "0101".to_owned();
                let make = |p: Principal| {
                    let store = store.clone();
                    async move { create_key(&store, &p, "test").await.expect("key").1 }
                };
                Keys {
                    municipality: make(Principal::Municipality {
                        municipality: m.clone(),
                    })
                    .await,
                    kab: make(Principal::Organisation {
                        organisation: "kab".into(),
                        municipality: m.clone(),
                    })
                    .await,
                    fsb: make(Principal::Organisation {
                        organisation: "fsb".into(),
                        municipality: m.clone(),
                    })
                    .await,
                    auditor: make(Principal::Auditor { municipality: m }).await,
                }
            }
        };
        let book = rules::load_dir(&rules_dir()).expect("rules load").book;
        let ledger = Ledger::new(store.clone(), book);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(async move {
            serve(ledger, ServerOptions::default(), listener, async {
                let _ = rx.await;
            })
            .await
            .expect("serve");
        });
        TestServer {
            addr,
            database_url: url.to_owned(),
            keys,
            store,
            shutdown: Some(tx),
            handle: Some(handle),
            dir: None,
        }
    }

    /// Stops the server (calls in flight finish) and closes the database.
    pub async fn stop(mut self) -> (String, Keys, Option<tempfile::TempDir>) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            h.await.expect("server task");
        }
        self.store.close().await;
        let keys = std::mem::replace(
            &mut self.keys,
            Keys {
                municipality: String::new(),
                kab: String::new(),
                fsb: String::new(),
                auditor: String::new(),
            },
        );
        (self.database_url.clone(), keys, self.dir.take())
    }

    pub async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.addr))
            .expect("uri")
            .connect()
            .await
            .expect("connect")
    }

    fn bearer(key: Option<&str>) -> Bearer {
        Bearer(key.map(|k| format!("Bearer {k}").parse().expect("ascii key")))
    }

    pub async fn housing(&self, key: Option<&str>) -> Housing {
        HousingOrganisationServiceClient::with_interceptor(self.channel().await, Self::bearer(key))
    }

    pub async fn municipality(&self, key: Option<&str>) -> Municipality {
        MunicipalityServiceClient::with_interceptor(self.channel().await, Self::bearer(key))
    }

    pub async fn registry(&self, key: Option<&str>) -> Registry {
        RegistryServiceClient::with_interceptor(self.channel().await, Self::bearer(key))
    }

    /// A small Copenhagen of 2007: FSB's Tingbjerg (exposed), KAB's Bispeparken (high-risk,
    /// 41.2 %), KAB's Nordvest (neutral) and FSB's Hulgård (risk).
    pub async fn seed(&self) {
        let mut r = self.registry(Some(&self.keys.municipality)).await;
        for (id, name) in [("fsb", "FSB"), ("kab", "KAB")] {
            r.upsert_organisation(pb::UpsertOrganisationRequest {
                idempotency_key: format!("seed-org-{id}"),
                organisation: Some(pb::Organisation {
                    id: id.into(),
                    name: name.into(),
                }),
            })
            .await
            .expect("organisation");
        }
        for (id, name) in [
            ("tingbjerg", "Tingbjerg"),
            ("bispeparken", "Bispeparken"),
            ("nordvest", "Nordvest"),
            ("hulgaard", "Hulgård"),
        ] {
            r.upsert_area(pb::UpsertAreaRequest {
                idempotency_key: format!("seed-area-{id}"),
                area: Some(pb::Area {
                    id: id.into(),
                    municipality_code: "0101".into(),
                    name: name.into(),
                }),
            })
            .await
            .expect("area");
        }
        for (id, org, area) in [
            ("fsb-tingbjerg-1", "fsb", "tingbjerg"),
            ("akb-bispeparken", "kab", "bispeparken"),
            ("kab-nordvest-3", "kab", "nordvest"),
            ("fsb-hulgaard", "fsb", "hulgaard"),
        ] {
            r.upsert_department(pb::UpsertDepartmentRequest {
                idempotency_key: format!("seed-dept-{id}"),
                department: Some(pb::Department {
                    id: id.into(),
                    organisation_id: org.into(),
                    area_id: area.into(),
                    name: id.into(),
                    dwellings: 400,
                }),
            })
            .await
            .expect("department");
        }
        let mut m = self.municipality(Some(&self.keys.municipality)).await;
        let stats = |area: &str, working: u64, without: u64| pb::AreaStatistics {
            area_id: area.into(),
            working_age_residents: Some(working),
            without_labour_market_attachment: Some(without),
            residents: Some(working * 2),
            ..Default::default()
        };
        m.load_area_statistics(pb::LoadAreaStatisticsRequest {
            idempotency_key: "seed-stats-2007".into(),
            year: 2007,
            effective_date: "2007-01-01".into(),
            areas: vec![
                stats("tingbjerg", 4000, 2100),
                stats("bispeparken", 1000, 412),
                stats("nordvest", 2000, 300),
                stats("hulgaard", 1000, 350),
            ],
        })
        .await
        .expect("statistics");
    }
}

/// A household of one applicant.
pub fn household(reference: &str, person: pb::Person) -> pb::ApplicantHousehold {
    pb::ApplicantHousehold {
        applicant_ref: reference.into(),
        persons: vec![pb::Person {
            role: pb::PersonRole::Applicant.into(),
            ..person
        }],
        ..Default::default()
    }
}

/// An applicant on cash benefit since `from`.
pub fn on_cash_benefit(from: &str) -> pb::Person {
    pb::Person {
        benefit_spells: vec![pb::BenefitSpell {
            kind: "cash_benefit".into(),
            from_date: from.into(),
            to_date: String::new(),
        }],
        ..Default::default()
    }
}

/// An applicant in work `hours` a week.
pub fn in_work(hours: &str) -> pb::Person {
    pb::Person {
        weekly_work_hours: hours.into(),
        ..Default::default()
    }
}
