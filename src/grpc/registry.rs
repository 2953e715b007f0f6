//! RegistryService over the service layer.

use tonic::{Request, Response, Status};

use super::auth::{Authenticator, Needs};
use super::convert::{Reader, limits};
use super::pb::{self, registry_service_server::RegistryService};
use super::{invalid, status};
use crate::service::Ledger;
use crate::store::{Area, Department, Organisation};

#[derive(Clone)]
pub struct RegistryApi {
    pub ledger: Ledger,
    pub auth: Authenticator,
}

#[tonic::async_trait]
impl RegistryService for RegistryApi {
    async fn upsert_organisation(
        &self,
        request: Request<pb::UpsertOrganisationRequest>,
    ) -> Result<Response<pb::UpsertResponse>, Status> {
        let principal = self
            .auth
            .caller(&request, Needs::Municipality("change the registry"))
            .await?;
        let r = request.into_inner();
        let mut v = Reader::new();
        let key = v.key(&r.idempotency_key);
        let o = r.organisation.unwrap_or_default();
        let org = Organisation {
            id: v.id("organisation.id", &o.id),
            name: v.text("organisation.name", &o.name, limits::NAME),
        };
        let org = v.errors.finish(|| org).map_err(invalid)?;
        let done = self
            .ledger
            .upsert_organisation(&principal, &key, org)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::UpsertResponse {
            decision_id: done.decision_id,
        }))
    }

    async fn upsert_area(
        &self,
        request: Request<pb::UpsertAreaRequest>,
    ) -> Result<Response<pb::UpsertResponse>, Status> {
        let principal = self
            .auth
            .caller(&request, Needs::Municipality("change the registry"))
            .await?;
        let r = request.into_inner();
        let mut v = Reader::new();
        let key = v.key(&r.idempotency_key);
        let a = r.area.unwrap_or_default();
        let area = Area {
            id: v.id("area.id", &a.id),
            municipality: v.municipality("area.municipality_code", &a.municipality_code),
            name: v.text("area.name", &a.name, limits::NAME),
        };
        let area = v.errors.finish(|| area).map_err(invalid)?;
        let done = self
            .ledger
            .upsert_area(&principal, &key, area)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::UpsertResponse {
            decision_id: done.decision_id,
        }))
    }

    async fn upsert_department(
        &self,
        request: Request<pb::UpsertDepartmentRequest>,
    ) -> Result<Response<pb::UpsertResponse>, Status> {
        let principal = self
            .auth
            .caller(&request, Needs::Municipality("change the registry"))
            .await?;
        let r = request.into_inner();
        let mut v = Reader::new();
        let key = v.key(&r.idempotency_key);
        let d = r.department.unwrap_or_default();
        let department = Department {
            id: v.id("department.id", &d.id),
            organisation: v.id("department.organisation_id", &d.organisation_id),
            area: v.id("department.area_id", &d.area_id),
            name: v.text("department.name", &d.name, limits::NAME),
            dwellings: v.at_most("department.dwellings", d.dwellings, limits::DWELLINGS),
        };
        let department = v.errors.finish(|| department).map_err(invalid)?;
        let done = self
            .ledger
            .upsert_department(&principal, &key, department)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::UpsertResponse {
            decision_id: done.decision_id,
        }))
    }

    async fn list_departments(
        &self,
        request: Request<pb::ListDepartmentsRequest>,
    ) -> Result<Response<pb::ListDepartmentsResponse>, Status> {
        let principal = self.auth.principal(&request).await?;
        let r = request.into_inner();
        let size = if r.page_size == 0 {
            100
        } else {
            r.page_size.min(1000)
        };
        let mut v = Reader::new();
        // The last department id of the previous page.
        let token = v.optional_id("page_token", &r.page_token);
        v.errors.finish(|| ()).map_err(invalid)?;
        let departments = self
            .ledger
            .list_departments(&principal, token, size)
            .await
            .map_err(status)?;
        let next_page_token = if departments.len() as u32 == size {
            departments.last().map(|d| d.id.clone()).unwrap_or_default()
        } else {
            String::new()
        };
        Ok(Response::new(pb::ListDepartmentsResponse {
            departments: departments
                .into_iter()
                .map(|d| pb::Department {
                    id: d.id,
                    organisation_id: d.organisation,
                    area_id: d.area,
                    name: d.name,
                    dwellings: d.dwellings,
                })
                .collect(),
            next_page_token,
        }))
    }
}
