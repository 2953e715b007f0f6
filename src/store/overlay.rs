//! A transaction that reads through another with some decisions replaced: the log as it
//! would stand had those decisions come out otherwise (`letting what-if`). Counts and
//! pending lettings are the trait's defaults, which page through [`Tx::decisions`], so
//! they see the replacements; with nothing replaced it is the store without its indexed
//! shortcuts (the report benchmark's baseline).

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::{
    ApiKeyRow, Area, AreaStatistics, CaseKind, CaseRow, DecisionFilter, DecisionRecord, Department,
    IdempotencyRecord, Organisation, PoolUse, RuleBookRecord, StoreError, StoredRuleBook, Tx,
    UserRow,
};
use crate::engine::QuotaCounters;

/// Reads through `inner`, with the decisions in `replaced` (by id) read in their place.
pub struct Overlay<'a> {
    inner: &'a mut dyn Tx,
    replaced: &'a HashMap<String, DecisionRecord>,
}

impl<'a> Overlay<'a> {
    pub fn new(inner: &'a mut dyn Tx, replaced: &'a HashMap<String, DecisionRecord>) -> Self {
        Overlay { inner, replaced }
    }

    fn replace(&self, d: DecisionRecord) -> DecisionRecord {
        match self.replaced.get(&d.id) {
            Some(other) => other.clone(),
            None => d,
        }
    }
}

#[async_trait::async_trait]
impl Tx for Overlay<'_> {
    // Everything else: the underlying transaction's own.
    async fn upsert_organisation(&mut self, m: &str, o: &Organisation) -> Result<(), StoreError> {
        self.inner.upsert_organisation(m, o).await
    }
    async fn upsert_area(&mut self, a: &Area) -> Result<(), StoreError> {
        self.inner.upsert_area(a).await
    }
    async fn upsert_department(&mut self, m: &str, d: &Department) -> Result<(), StoreError> {
        self.inner.upsert_department(m, d).await
    }
    async fn organisation(
        &mut self,
        m: &str,
        id: &str,
    ) -> Result<Option<Organisation>, StoreError> {
        self.inner.organisation(m, id).await
    }
    async fn area(&mut self, id: &str) -> Result<Option<Area>, StoreError> {
        self.inner.area(id).await
    }
    async fn department(&mut self, id: &str) -> Result<Option<Department>, StoreError> {
        self.inner.department(id).await
    }
    async fn departments(
        &mut self,
        municipality: &str,
        organisation: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Department>, StoreError> {
        self.inner
            .departments(municipality, organisation, after, limit)
            .await
    }
    async fn areas(&mut self, municipality: &str) -> Result<Vec<Area>, StoreError> {
        self.inner.areas(municipality).await
    }
    async fn put_area_statistics(&mut self, s: &AreaStatistics) -> Result<(), StoreError> {
        self.inner.put_area_statistics(s).await
    }
    async fn area_statistics(
        &mut self,
        area: &str,
        year: i32,
    ) -> Result<Option<AreaStatistics>, StoreError> {
        self.inner.area_statistics(area, year).await
    }
    async fn counters_for_update(
        &mut self,
        scope: &str,
        period: &str,
    ) -> Result<QuotaCounters, StoreError> {
        self.inner.counters_for_update(scope, period).await
    }
    async fn put_counters(
        &mut self,
        scope: &str,
        period: &str,
        counters: &QuotaCounters,
    ) -> Result<(), StoreError> {
        self.inner.put_counters(scope, period, counters).await
    }
    async fn append_decision(&mut self, d: &DecisionRecord) -> Result<(), StoreError> {
        self.inner.append_decision(d).await
    }
    async fn decision(&mut self, id: &str) -> Result<Option<DecisionRecord>, StoreError> {
        let found = self.inner.decision(id).await?;
        Ok(found.map(|d| self.replace(d)))
    }
    async fn put_rule_book(&mut self, book: &RuleBookRecord) -> Result<(), StoreError> {
        self.inner.put_rule_book(book).await
    }
    async fn rule_book(&mut self, hash: &str) -> Result<Option<StoredRuleBook>, StoreError> {
        self.inner.rule_book(hash).await
    }
    async fn put_decision_inputs(
        &mut self,
        decision_id: &str,
        inputs: &serde_json::Value,
    ) -> Result<(), StoreError> {
        self.inner.put_decision_inputs(decision_id, inputs).await
    }
    async fn decision_inputs(
        &mut self,
        decision_ids: &[String],
    ) -> Result<Vec<(String, serde_json::Value)>, StoreError> {
        self.inner.decision_inputs(decision_ids).await
    }
    async fn delete_decision_inputs(&mut self, decision_ids: &[String]) -> Result<u64, StoreError> {
        self.inner.delete_decision_inputs(decision_ids).await
    }
    async fn decisions(
        &mut self,
        filter: &DecisionFilter,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<DecisionRecord>, StoreError> {
        let page = self.inner.decisions(filter, after, limit).await?;
        Ok(page.into_iter().map(|d| self.replace(d)).collect())
    }
    async fn put_case(&mut self, case: &CaseRow) -> Result<(), StoreError> {
        self.inner.put_case(case).await
    }
    async fn case_for_update(
        &mut self,
        kind: CaseKind,
        id: &str,
    ) -> Result<Option<CaseRow>, StoreError> {
        self.inner.case_for_update(kind, id).await
    }
    async fn cases(
        &mut self,
        kind: CaseKind,
        status: Option<&str>,
        municipality: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<CaseRow>, StoreError> {
        self.inner
            .cases(kind, status, municipality, after, limit)
            .await
    }
    async fn pool_for_update(
        &mut self,
        municipality: &str,
        year: i32,
    ) -> Result<PoolUse, StoreError> {
        self.inner.pool_for_update(municipality, year).await
    }
    async fn put_pool(
        &mut self,
        municipality: &str,
        year: i32,
        pool: &PoolUse,
    ) -> Result<(), StoreError> {
        self.inner.put_pool(municipality, year, pool).await
    }
    async fn idempotency(
        &mut self,
        principal: &str,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.inner.idempotency(principal, key).await
    }
    async fn claim_idempotency(
        &mut self,
        principal: &str,
        key: &str,
        request_hash: &[u8],
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.inner
            .claim_idempotency(principal, key, request_hash)
            .await
    }
    async fn put_idempotency(
        &mut self,
        principal: &str,
        key: &str,
        record: &IdempotencyRecord,
    ) -> Result<(), StoreError> {
        self.inner.put_idempotency(principal, key, record).await
    }
    async fn insert_api_key(&mut self, key: &ApiKeyRow) -> Result<(), StoreError> {
        self.inner.insert_api_key(key).await
    }
    async fn api_key_by_hash(
        &mut self,
        secret_hash: &str,
    ) -> Result<Option<ApiKeyRow>, StoreError> {
        self.inner.api_key_by_hash(secret_hash).await
    }
    async fn api_keys(&mut self) -> Result<Vec<ApiKeyRow>, StoreError> {
        self.inner.api_keys().await
    }
    async fn revoke_api_key(&mut self, id: &str, at: DateTime<Utc>) -> Result<bool, StoreError> {
        self.inner.revoke_api_key(id, at).await
    }
    async fn insert_user(&mut self, user: &UserRow) -> Result<bool, StoreError> {
        self.inner.insert_user(user).await
    }
    async fn user(&mut self, username: &str) -> Result<Option<UserRow>, StoreError> {
        self.inner.user(username).await
    }
}
