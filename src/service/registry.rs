//! The registry of organisations, areas and departments; area statistics and
//! classifications; reading decisions back.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use super::{Ledger, Principal, ServiceError, logged, require_municipality, require_writer};
use crate::engine::{self, AreaClassification};
use crate::log::{self, Body, LoadStatistics, Logged, Placement, RegistryRecord};
use crate::model::{AreaFacts, RuleBook};
use crate::store::{Area, AreaStatistics, Department, Organisation, StoreError, Tx};

/// A department with its area and municipality, as a call needs it.
#[derive(Debug, Clone)]
pub(crate) struct Placed {
    pub department: Department,
    pub area: Area,
}

/// Reads a department and checks that the caller may act on it.
pub(crate) async fn placed_department(
    tx: &mut dyn Tx,
    principal: &Principal,
    department_id: &str,
) -> Result<Placed, ServiceError> {
    let department = tx
        .department(department_id)
        .await?
        .ok_or_else(|| ServiceError::NotFound {
            what: "department",
            id: department_id.to_owned(),
        })?;
    let area = tx
        .area(&department.area)
        .await?
        .ok_or_else(|| ServiceError::NotFound {
            what: "area",
            id: department.area.clone(),
        })?;
    may_touch(principal, &department, &area)?;
    Ok(Placed { department, area })
}

/// Every registry record belongs to one municipality: an area to its own, a department to
/// its area's, an organisation's record to the municipality that registered it. A key
/// reaches the records of its own municipality only.
pub(crate) fn in_own_municipality(
    principal: &Principal,
    what: &str,
    id: &str,
    municipality: &str,
) -> Result<(), ServiceError> {
    if municipality != principal.municipality() {
        return Err(ServiceError::PermissionDenied(format!(
            "{what} `{id}` lies in municipality {municipality}, not yours ({})",
            principal.municipality()
        )));
    }
    Ok(())
}

/// Whether the caller may act on a department: one of its own municipality and, for an
/// organisation, one of its own.
pub(crate) fn may_touch(
    principal: &Principal,
    department: &Department,
    area: &Area,
) -> Result<(), ServiceError> {
    in_own_municipality(principal, "department", &department.id, &area.municipality)?;
    if let Principal::Organisation { organisation, .. } = principal
        && *organisation != department.organisation
    {
        return Err(ServiceError::PermissionDenied(format!(
            "department `{}` belongs to organisation `{}`, not to `{organisation}`",
            department.id, department.organisation
        )));
    }
    Ok(())
}

/// The area's facts for a date: the statistics of the latest year not after it. An area
/// without statistics is judged by designation alone (and classification says so if that
/// is not enough).
pub(crate) async fn area_facts(
    tx: &mut dyn Tx,
    area: &str,
    date: NaiveDate,
) -> Result<AreaFacts, StoreError> {
    // Messages name the area as it is registered.
    let name = tx.area(area).await?.map(|a| a.name);
    Ok(match tx.area_statistics(area, date.year()).await? {
        Some(stats) => AreaFacts {
            id: area.to_owned(),
            name,
            ..stats.facts
        },
        None => AreaFacts {
            id: area.to_owned(),
            name,
            ..AreaFacts::default()
        },
    })
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatisticsLoaded {
    pub decision_id: String,
    pub areas: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Upserted {
    pub decision_id: String,
}

impl Ledger {
    pub async fn upsert_organisation(
        &self,
        principal: &Principal,
        key: &str,
        org: Organisation,
    ) -> Result<Upserted, ServiceError> {
        require_municipality(principal, "change the registry")?;
        let p = principal.clone();
        let hash = super::request_hash(&org)?;
        self.idempotent(principal, key, hash, move |tx| {
            let (org, p) = (org.clone(), p.clone());
            Box::pin(async move {
                // The caller's own record of the organisation: another municipality's
                // record of it (its name there) is not touched.
                tx.upsert_organisation(p.municipality(), &org).await?;
                let d = logged(
                    &p,
                    chrono::Utc::now().date_naive(),
                    Body::Registry(RegistryRecord::Organisation(org.clone())),
                    Placement {
                        organisation: Some(org.id.clone()),
                        ..Placement::default()
                    },
                )?;
                tx.append_decision(&d).await?;
                Ok(Upserted { decision_id: d.id })
            })
        })
        .await
    }

    pub async fn upsert_area(
        &self,
        principal: &Principal,
        key: &str,
        area: Area,
    ) -> Result<Upserted, ServiceError> {
        require_municipality(principal, "change the registry")?;
        in_own_municipality(principal, "area", &area.id, &area.municipality)?;
        let p = principal.clone();
        let hash = super::request_hash(&area)?;
        self.idempotent(principal, key, hash, move |tx| {
            let (area, p) = (area.clone(), p.clone());
            Box::pin(async move {
                // An area never moves to another municipality.
                if let Some(existing) = tx.area(&area.id).await? {
                    in_own_municipality(&p, "area", &existing.id, &existing.municipality)?;
                }
                tx.upsert_area(&area).await.map_err(registry_write)?;
                let d = logged(
                    &p,
                    chrono::Utc::now().date_naive(),
                    Body::Registry(RegistryRecord::Area(area.clone())),
                    Placement {
                        area: Some(area.id.clone()),
                        ..Placement::default()
                    },
                )?;
                tx.append_decision(&d).await?;
                Ok(Upserted { decision_id: d.id })
            })
        })
        .await
    }

    pub async fn upsert_department(
        &self,
        principal: &Principal,
        key: &str,
        department: Department,
    ) -> Result<Upserted, ServiceError> {
        require_municipality(principal, "change the registry")?;
        let p = principal.clone();
        let hash = super::request_hash(&department)?;
        self.idempotent(principal, key, hash, move |tx| {
            let (department, p) = (department.clone(), p.clone());
            Box::pin(async move {
                // Neither a department of another municipality (moved, or given to another
                // organisation) nor one into another municipality's area.
                if let Some(existing) = tx.department(&department.id).await? {
                    placed_department(tx, &p, &existing.id).await?;
                }
                let area =
                    tx.area(&department.area)
                        .await?
                        .ok_or_else(|| ServiceError::NotFound {
                            what: "area",
                            id: department.area.clone(),
                        })?;
                may_touch(&p, &department, &area)?;
                // The organisation as the caller's municipality registered it.
                if tx
                    .organisation(p.municipality(), &department.organisation)
                    .await?
                    .is_none()
                {
                    return Err(ServiceError::NotFound {
                        what: "organisation",
                        id: department.organisation.clone(),
                    });
                }
                tx.upsert_department(p.municipality(), &department)
                    .await
                    .map_err(registry_write)?;
                let d = logged(
                    &p,
                    chrono::Utc::now().date_naive(),
                    Body::Registry(RegistryRecord::Department(department.clone())),
                    Placement {
                        organisation: Some(department.organisation.clone()),
                        department: Some(department.id.clone()),
                        area: Some(department.area.clone()),
                        ..Placement::default()
                    },
                )?;
                tx.append_decision(&d).await?;
                Ok(Upserted { decision_id: d.id })
            })
        })
        .await
    }

    /// Departments the caller may see: those of its municipality; an organisation sees its
    /// own there.
    pub async fn list_departments(
        &self,
        principal: &Principal,
        page_token: Option<String>,
        page_size: u32,
    ) -> Result<Vec<Department>, ServiceError> {
        let municipality = principal.municipality().to_owned();
        let organisation = match principal {
            Principal::Organisation { organisation, .. } => Some(organisation.clone()),
            _ => None,
        };
        let limit = page_size.clamp(1, 1000);
        self.store
            .read(move |tx| {
                let (municipality, organisation, page_token) = (
                    municipality.clone(),
                    organisation.clone(),
                    page_token.clone(),
                );
                Box::pin(async move {
                    Ok::<_, ServiceError>(
                        tx.departments(
                            &municipality,
                            organisation.as_deref(),
                            page_token.as_deref(),
                            limit,
                        )
                        .await?,
                    )
                })
            })
            .await
    }

    /// Loads a year's statistics for areas of the caller's municipality.
    pub async fn load_statistics(
        &self,
        principal: &Principal,
        key: &str,
        load: LoadStatistics,
    ) -> Result<StatisticsLoaded, ServiceError> {
        require_municipality(principal, "load area statistics")?;
        let p = principal.clone();
        let hash = super::request_hash(&load)?;
        self.idempotent(principal, key, hash, move |tx| {
            let (load, p) = (load.clone(), p.clone());
            Box::pin(async move {
                let d = logged(
                    &p,
                    load.date,
                    Body::Statistics(load.clone()),
                    Placement {
                        subject: Some(format!("statistics:{}", load.year)),
                        ..Placement::default()
                    },
                )?;
                for input in &load.areas {
                    let area =
                        tx.area(&input.area)
                            .await?
                            .ok_or_else(|| ServiceError::NotFound {
                                what: "area",
                                id: input.area.clone(),
                            })?;
                    in_own_municipality(&p, "area", &area.id, &area.municipality)?;
                    tx.put_area_statistics(&AreaStatistics {
                        area: input.area.clone(),
                        year: load.year,
                        facts: AreaFacts {
                            id: input.area.clone(),
                            ..input.facts.clone()
                        },
                        transfer_income_share: input.transfer_income_share,
                        self_supporting_weeks: input.self_supporting_weeks,
                        loaded_by_decision: d.id.clone(),
                    })
                    .await?;
                }
                tx.append_decision(&d).await?;
                Ok(StatisticsLoaded {
                    decision_id: d.id,
                    areas: load.areas.len(),
                })
            })
        })
        .await
    }

    /// Every area of the caller's municipality with its class on `as_of`.
    pub async fn classifications(
        &self,
        principal: &Principal,
        as_of: NaiveDate,
    ) -> Result<Vec<Result<AreaClassification, (String, ServiceError)>>, ServiceError> {
        let municipality = principal.municipality().to_owned();
        let book = self.rules();
        self.store
            .read(move |tx| {
                let (municipality, book) = (municipality.clone(), book.clone());
                Box::pin(async move {
                    let mut out = Vec::new();
                    for area in tx.areas(&municipality).await? {
                        let facts = area_facts(tx, &area.id, as_of).await?;
                        out.push(
                            engine::classify(&book, &municipality, &facts, as_of)
                                .map_err(|e| (area.id.clone(), ServiceError::from(e))),
                        );
                    }
                    Ok::<_, ServiceError>(out)
                })
            })
            .await
    }

    /// A stored decision, exactly as it was made. An organisation reads only its own.
    pub async fn get_decision(
        &self,
        principal: &Principal,
        id: &str,
    ) -> Result<Logged, ServiceError> {
        let id_owned = id.to_owned();
        let record = self
            .store
            .read(move |tx| {
                let id = id_owned.clone();
                Box::pin(async move { Ok::<_, ServiceError>(tx.decision(&id).await?) })
            })
            .await?
            .ok_or_else(|| ServiceError::NotFound {
                what: "decision",
                id: id.to_owned(),
            })?;
        let visible = record.municipality == principal.municipality()
            && match principal {
                Principal::Organisation { organisation, .. } => {
                    record.organisation.as_deref() == Some(organisation.as_str())
                }
                _ => true,
            };
        if !visible {
            // Not revealing whether another organisation's decision exists.
            return Err(ServiceError::NotFound {
                what: "decision",
                id: id.to_owned(),
            });
        }
        log::read(record).map_err(|e| ServiceError::Corrupt(e.to_string()))
    }
}

/// The rule set id in force, for error messages.
pub(crate) fn period_for(
    book: &RuleBook,
    municipality: &str,
    date: NaiveDate,
) -> Result<String, ServiceError> {
    let set = book
        .in_force(municipality, date)
        .ok_or_else(|| engine::EngineError::NoRuleSet {
            municipality: municipality.to_owned(),
            date,
        })?;
    Ok(engine::period_key(set.channels.period(), date))
}

/// A registry write the store refused because the record is another municipality's (a
/// concurrent registration of the same id): refused like the checks before it.
fn registry_write(error: StoreError) -> ServiceError {
    match error {
        StoreError::OtherMunicipality { .. } => ServiceError::PermissionDenied(error.to_string()),
        other => other.into(),
    }
}

/// Used by write paths that only an organisation or the municipality may take.
pub(crate) fn writer(principal: &Principal) -> Result<(), ServiceError> {
    require_writer(principal)
}
