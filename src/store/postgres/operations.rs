//! The typed operations of a transaction ([`Tx`]) on PostgreSQL, each as its SQL.

use chrono::{DateTime, Utc};

use super::conditions::filter_conditions;
use super::rows::{
    API_KEY_COLUMNS, CASE_COLUMNS, COUNTER_COLUMNS, DECISION_COLUMNS, DEPARTMENT_COLUMNS, Param,
    STATISTICS_COLUMNS, USER_COLUMNS, api_key_row, area_row, case_row, counters_row, decision_row,
    decision_text_row, department_row, get, organisation_row, pool_row, statistics_row,
};
use super::tx::PgTx;
use crate::engine::QuotaCounters;
use crate::store::encoding::{
    counters_to_db, decode_json, empty_response_refused, encode_json, micros,
};
use crate::store::{
    ApiKeyRow, Area, AreaStatistics, CaseKind, CaseRow, DecisionColumns, DecisionFilter,
    DecisionRecord, Department, IdempotencyRecord, Organisation, PoolUse, RuleBookRecord,
    StoreError, StoredRuleBook, Tx, UserRow,
};

#[async_trait::async_trait]
impl Tx for PgTx<'_> {
    async fn upsert_organisation(
        &mut self,
        municipality: &str,
        org: &Organisation,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO organisations (municipality, id, name) VALUES ($1, $2, $3) \
             ON CONFLICT (municipality, id) DO UPDATE SET name = EXCLUDED.name",
            &[&municipality, &org.id, &org.name],
        )
        .await?;
        Ok(())
    }

    async fn upsert_area(&mut self, area: &Area) -> Result<(), StoreError> {
        // Another municipality's area is left as it is: no row changes.
        let changed = self
            .execute(
                "INSERT INTO areas (id, municipality, name) VALUES ($1, $2, $3) \
                 ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name \
                 WHERE areas.municipality = EXCLUDED.municipality",
                &[&area.id, &area.municipality, &area.name],
            )
            .await?;
        if changed == 0 {
            return Err(StoreError::OtherMunicipality {
                what: "area",
                id: area.id.clone(),
            });
        }
        Ok(())
    }

    async fn upsert_department(
        &mut self,
        municipality: &str,
        department: &Department,
    ) -> Result<(), StoreError> {
        let dwellings = i64::from(department.dwellings);
        let changed = self
            .execute(
                "INSERT INTO departments (id, municipality, organisation, area, name, dwellings) \
                 VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (id) DO UPDATE SET organisation = EXCLUDED.organisation, \
                 area = EXCLUDED.area, name = EXCLUDED.name, dwellings = EXCLUDED.dwellings \
                 WHERE departments.municipality = EXCLUDED.municipality",
                &[
                    &department.id,
                    &municipality,
                    &department.organisation,
                    &department.area,
                    &department.name,
                    &dwellings,
                ],
            )
            .await?;
        if changed == 0 {
            return Err(StoreError::OtherMunicipality {
                what: "department",
                id: department.id.clone(),
            });
        }
        Ok(())
    }

    async fn organisation(
        &mut self,
        municipality: &str,
        id: &str,
    ) -> Result<Option<Organisation>, StoreError> {
        self.query_opt(
            "SELECT id, name FROM organisations WHERE municipality = $1 AND id = $2",
            &[&municipality, &id],
        )
        .await?
        .as_ref()
        .map(organisation_row)
        .transpose()
    }

    async fn area(&mut self, id: &str) -> Result<Option<Area>, StoreError> {
        self.query_opt(
            "SELECT id, municipality, name FROM areas WHERE id = $1",
            &[&id],
        )
        .await?
        .as_ref()
        .map(area_row)
        .transpose()
    }

    async fn department(&mut self, id: &str) -> Result<Option<Department>, StoreError> {
        let sql = format!("SELECT {DEPARTMENT_COLUMNS} FROM departments WHERE id = $1");
        self.query_opt(&sql, &[&id])
            .await?
            .as_ref()
            .map(department_row)
            .transpose()
    }

    async fn departments(
        &mut self,
        municipality: &str,
        organisation: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Department>, StoreError> {
        let limit = i64::from(limit);
        let mut sql =
            format!("SELECT {DEPARTMENT_COLUMNS} FROM departments WHERE municipality = $1");
        let mut params: Vec<Param<'_>> = vec![&municipality];
        if let Some(organisation) = &organisation {
            params.push(organisation);
            sql.push_str(&format!(" AND organisation = ${}", params.len()));
        }
        if let Some(after) = &after {
            params.push(after);
            sql.push_str(&format!(" AND id > ${}", params.len()));
        }
        params.push(&limit);
        sql.push_str(&format!(" ORDER BY id LIMIT ${}", params.len()));
        self.query(&sql, &params)
            .await?
            .iter()
            .map(department_row)
            .collect()
    }

    async fn areas(&mut self, municipality: &str) -> Result<Vec<Area>, StoreError> {
        self.query(
            "SELECT id, municipality, name FROM areas WHERE municipality = $1 ORDER BY id",
            &[&municipality],
        )
        .await?
        .iter()
        .map(area_row)
        .collect()
    }

    async fn put_area_statistics(&mut self, stats: &AreaStatistics) -> Result<(), StoreError> {
        let facts = encode_json(&stats.facts)?;
        let transfer = stats.transfer_income_share.map(|d| d.to_string());
        let weeks = stats.self_supporting_weeks.map(|d| d.to_string());
        self.execute(
            "INSERT INTO area_statistics (area, year, facts, transfer_income_share, \
             self_supporting_weeks, loaded_by_decision) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (area, year) DO UPDATE SET facts = EXCLUDED.facts, \
             transfer_income_share = EXCLUDED.transfer_income_share, \
             self_supporting_weeks = EXCLUDED.self_supporting_weeks, \
             loaded_by_decision = EXCLUDED.loaded_by_decision",
            &[
                &stats.area,
                &stats.year,
                &facts,
                &transfer,
                &weeks,
                &stats.loaded_by_decision,
            ],
        )
        .await?;
        Ok(())
    }

    async fn area_statistics(
        &mut self,
        area: &str,
        year: i32,
    ) -> Result<Option<AreaStatistics>, StoreError> {
        let sql = format!(
            "SELECT {STATISTICS_COLUMNS} FROM area_statistics \
             WHERE area = $1 AND year <= $2 ORDER BY year DESC LIMIT 1"
        );
        self.query_opt(&sql, &[&area, &year])
            .await?
            .as_ref()
            .map(statistics_row)
            .transpose()
    }

    async fn counters_for_update(
        &mut self,
        scope: &str,
        period: &str,
    ) -> Result<QuotaCounters, StoreError> {
        let lock = if self.writable {
            // Make sure the row exists, so that there is something to lock.
            self.execute(
                "INSERT INTO quota_counters (scope, period) VALUES ($1, $2) \
                 ON CONFLICT (scope, period) DO NOTHING",
                &[&scope, &period],
            )
            .await?;
            " FOR UPDATE"
        } else {
            ""
        };
        let sql = format!(
            "SELECT {COUNTER_COLUMNS} FROM quota_counters WHERE scope = $1 AND period = $2{lock}"
        );
        Ok(self
            .query_opt(&sql, &[&scope, &period])
            .await?
            .as_ref()
            .map(counters_row)
            .transpose()?
            .unwrap_or_default())
    }

    async fn put_counters(
        &mut self,
        scope: &str,
        period: &str,
        counters: &QuotaCounters,
    ) -> Result<(), StoreError> {
        let [vacancies, referral, flexible, internal, external] = counters_to_db(counters)?;
        self.execute(
            "INSERT INTO quota_counters (scope, period, vacancies, municipal_referral, \
             flexible, internal_list, external_list) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (scope, period) DO UPDATE SET vacancies = EXCLUDED.vacancies, \
             municipal_referral = EXCLUDED.municipal_referral, flexible = EXCLUDED.flexible, \
             internal_list = EXCLUDED.internal_list, external_list = EXCLUDED.external_list",
            &[
                &scope, &period, &vacancies, &referral, &flexible, &internal, &external,
            ],
        )
        .await?;
        Ok(())
    }

    async fn append_decision(&mut self, d: &DecisionRecord) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO decisions ({DECISION_COLUMNS}) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)"
        );
        let kind = d.kind.as_str();
        let recorded_at = micros(d.recorded_at);
        let body = encode_json(&d.body)?;
        let schema_version = i32::try_from(d.schema_version).map_err(|_| {
            StoreError::Database(format!(
                "schema version {} is out of range",
                d.schema_version
            ))
        })?;
        self.execute(
            &sql,
            &[
                &d.id,
                &kind,
                &d.municipality,
                &d.organisation,
                &d.department,
                &d.area,
                &d.subject,
                &d.event_date,
                &recorded_at,
                &d.outcome,
                &d.channel,
                &d.area_class,
                &d.amount_ore,
                &d.rule_set_id,
                &d.rule_set_hash,
                &d.principal,
                &body,
                &schema_version,
            ],
        )
        .await?;
        Ok(())
    }

    async fn put_rule_book(&mut self, book: &RuleBookRecord) -> Result<(), StoreError> {
        if self
            .query_opt("SELECT 1 FROM rule_books WHERE hash = $1", &[&book.hash])
            .await?
            .is_none()
        {
            let files = serde_json::to_string(&book.sources).map_err(|e| {
                StoreError::Database(format!("cannot encode a rule book's files: {e}"))
            })?;
            self.execute(
                "INSERT INTO rule_books (hash, loaded_at, files) VALUES ($1, $2, $3) \
                 ON CONFLICT DO NOTHING",
                &[&book.hash, &micros(book.loaded_at), &files],
            )
            .await?;
        }
        self.execute(
            "INSERT INTO rule_book_activations (activated_at, hash) VALUES ($1, $2) \
             ON CONFLICT DO NOTHING",
            &[&micros(book.activated_at), &book.hash],
        )
        .await?;
        Ok(())
    }

    async fn rule_book(&mut self, hash: &str) -> Result<Option<StoredRuleBook>, StoreError> {
        let Some(row) = self
            .query_opt(
                "SELECT loaded_at, files FROM rule_books WHERE hash = $1",
                &[&hash],
            )
            .await?
        else {
            return Ok(None);
        };
        let loaded_at: DateTime<Utc> = get(&row, 0)?;
        let files: String = get(&row, 1)?;
        let activations = self
            .query(
                "SELECT activated_at FROM rule_book_activations WHERE hash = $1 \
                 ORDER BY activated_at",
                &[&hash],
            )
            .await?
            .iter()
            .map(|row| get(row, 0))
            .collect::<Result<Vec<DateTime<Utc>>, _>>()?;
        Ok(Some(StoredRuleBook {
            hash: hash.to_owned(),
            loaded_at,
            activations,
            sources: serde_json::from_str(&files).map_err(|e| {
                StoreError::Corrupt(format!("rule book `{hash}`: its files do not parse: {e}"))
            })?,
        }))
    }

    async fn put_decision_inputs(
        &mut self,
        decision_id: &str,
        inputs: &serde_json::Value,
    ) -> Result<(), StoreError> {
        let inputs = encode_json(inputs)?;
        self.execute(
            "INSERT INTO decision_inputs (decision_id, inputs) VALUES ($1, $2)",
            &[&decision_id, &inputs],
        )
        .await?;
        Ok(())
    }

    async fn decision_inputs(
        &mut self,
        decision_ids: &[String],
    ) -> Result<Vec<(String, serde_json::Value)>, StoreError> {
        let ids: Vec<&str> = decision_ids.iter().map(String::as_str).collect();
        self.query(
            "SELECT decision_id, inputs FROM decision_inputs WHERE decision_id = ANY($1)",
            &[&ids],
        )
        .await?
        .iter()
        .map(|row| Ok((get(row, 0)?, decode_json(get(row, 1)?)?)))
        .collect()
    }

    async fn delete_decision_inputs(&mut self, decision_ids: &[String]) -> Result<u64, StoreError> {
        let ids: Vec<&str> = decision_ids.iter().map(String::as_str).collect();
        self.execute(
            "DELETE FROM decision_inputs WHERE decision_id = ANY($1)",
            &[&ids],
        )
        .await
    }

    async fn decision(&mut self, id: &str) -> Result<Option<DecisionRecord>, StoreError> {
        let sql = format!("SELECT {DECISION_COLUMNS} FROM decisions WHERE id = $1");
        self.query_opt(&sql, &[&id])
            .await?
            .as_ref()
            .map(decision_row)
            .transpose()
    }

    async fn decisions(
        &mut self,
        filter: &DecisionFilter,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<DecisionRecord>, StoreError> {
        self.decision_rows(filter, after, limit)
            .await?
            .iter()
            .map(decision_row)
            .collect()
    }

    async fn decision_texts(
        &mut self,
        filter: &DecisionFilter,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<(DecisionRecord, String)>, StoreError> {
        self.decision_rows(filter, after, limit)
            .await?
            .iter()
            .map(decision_text_row)
            .collect()
    }

    /// Answered from the report index of migration V2, as on SQLite.
    async fn count_decisions(
        &mut self,
        filter: &DecisionFilter,
        only: &DecisionColumns,
    ) -> Result<u64, StoreError> {
        let kinds: Vec<&str> = filter.kinds.iter().map(|k| k.as_str()).collect();
        let mut sql = "SELECT COUNT(*) FROM decisions WHERE TRUE".to_owned();
        let mut params: Vec<Param<'_>> = Vec::new();
        let any_kind = (!kinds.is_empty()).then_some(&kinds as Param<'_>);
        filter_conditions(filter, any_kind, true, &mut sql, &mut params);
        for (column, list) in [
            ("outcome", &only.outcomes),
            ("channel", &only.channels),
            ("area_class", &only.area_classes),
        ] {
            if !list.is_empty() {
                params.push(list);
                sql.push_str(&format!(" AND {column} = ANY(${})", params.len()));
            }
        }
        let row = self.query_opt(&sql, &params).await?;
        let count = match row {
            Some(row) => get::<i64>(&row, 0)?,
            None => 0,
        };
        u64::try_from(count).map_err(|_| StoreError::Corrupt(format!("a count of {count}")))
    }

    /// Answered from the partial index of pending lettings, as on SQLite.
    async fn pending_lettings_as_of(
        &mut self,
        municipality: &str,
        as_of: chrono::NaiveDate,
    ) -> Result<Vec<DecisionRecord>, StoreError> {
        let sql = format!(
            "SELECT {DECISION_COLUMNS} FROM decisions l \
             WHERE l.municipality = $1 AND l.kind = 'letting' \
               AND l.outcome = 'pending_municipal_approval' AND l.event_date <= $2 \
               AND NOT EXISTS (SELECT 1 FROM decisions s WHERE s.subject = l.subject \
                   AND s.kind IN ('approval', 'municipal_rejection') AND s.event_date <= $2) \
             ORDER BY l.event_date, l.id"
        );
        self.query(&sql, &[&municipality, &as_of])
            .await?
            .iter()
            .map(decision_row)
            .collect()
    }

    async fn put_case(&mut self, case: &CaseRow) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO cases ({CASE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (kind, id) DO UPDATE SET municipality = EXCLUDED.municipality, \
             organisation = EXCLUDED.organisation, department = EXCLUDED.department, \
             status = EXCLUDED.status, updated_at = EXCLUDED.updated_at, body = EXCLUDED.body"
        );
        let kind = case.kind.as_str();
        let updated_at = micros(case.updated_at);
        let body = encode_json(&case.body)?;
        self.execute(
            &sql,
            &[
                &kind,
                &case.id,
                &case.municipality,
                &case.organisation,
                &case.department,
                &case.status,
                &updated_at,
                &body,
            ],
        )
        .await?;
        Ok(())
    }

    async fn case_for_update(
        &mut self,
        kind: CaseKind,
        id: &str,
    ) -> Result<Option<CaseRow>, StoreError> {
        let lock = if self.writable { " FOR UPDATE" } else { "" };
        let sql = format!("SELECT {CASE_COLUMNS} FROM cases WHERE kind = $1 AND id = $2{lock}");
        self.query_opt(&sql, &[&kind.as_str(), &id])
            .await?
            .as_ref()
            .map(case_row)
            .transpose()
    }

    async fn cases(
        &mut self,
        kind: CaseKind,
        status: Option<&str>,
        municipality: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<CaseRow>, StoreError> {
        let kind = kind.as_str();
        let limit = i64::from(limit);
        let mut sql =
            format!("SELECT {CASE_COLUMNS} FROM cases WHERE kind = $1 AND municipality = $2");
        let mut params: Vec<Param<'_>> = vec![&kind, &municipality];
        if let Some(status) = &status {
            params.push(status);
            sql.push_str(&format!(" AND status = ${}", params.len()));
        }
        if let Some(after) = &after {
            params.push(after);
            sql.push_str(&format!(" AND id > ${}", params.len()));
        }
        params.push(&limit);
        sql.push_str(&format!(" ORDER BY id LIMIT ${}", params.len()));
        self.query(&sql, &params)
            .await?
            .iter()
            .map(case_row)
            .collect()
    }

    async fn pool_for_update(
        &mut self,
        municipality: &str,
        year: i32,
    ) -> Result<PoolUse, StoreError> {
        let lock = if self.writable {
            self.execute(
                "INSERT INTO grant_pools (municipality, year) VALUES ($1, $2) \
                 ON CONFLICT (municipality, year) DO NOTHING",
                &[&municipality, &year],
            )
            .await?;
            " FOR UPDATE"
        } else {
            ""
        };
        let sql = format!(
            "SELECT committed_ore, paid_ore FROM grant_pools \
             WHERE municipality = $1 AND year = $2{lock}"
        );
        Ok(self
            .query_opt(&sql, &[&municipality, &year])
            .await?
            .as_ref()
            .map(pool_row)
            .transpose()?
            .unwrap_or_default())
    }

    async fn put_pool(
        &mut self,
        municipality: &str,
        year: i32,
        pool: &PoolUse,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO grant_pools (municipality, year, committed_ore, paid_ore) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (municipality, year) DO UPDATE SET \
             committed_ore = EXCLUDED.committed_ore, paid_ore = EXCLUDED.paid_ore",
            &[&municipality, &year, &pool.committed_ore, &pool.paid_ore],
        )
        .await?;
        Ok(())
    }

    async fn idempotency(
        &mut self,
        principal: &str,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.query_opt(
            "SELECT request_hash, response FROM idempotency WHERE principal = $1 AND key = $2",
            &[&principal, &key],
        )
        .await?
        .map(|row| {
            Ok(IdempotencyRecord {
                request_hash: get(&row, 0)?,
                response: get(&row, 1)?,
            })
        })
        .transpose()
    }

    async fn claim_idempotency(
        &mut self,
        principal: &str,
        key: &str,
        request_hash: &[u8],
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        // Waits on the unique index while another transaction's claim of the key is
        // uncommitted; inserts nothing once a claim has committed (with its response).
        let claimed = self
            .execute(
                "INSERT INTO idempotency (principal, key, request_hash, response) \
                 VALUES ($1, $2, $3, ''::bytea) ON CONFLICT (principal, key) DO NOTHING",
                &[&principal, &key, &request_hash],
            )
            .await?;
        if claimed == 1 {
            return Ok(None);
        }
        // A new statement, so a new snapshot under READ COMMITTED: the committed record.
        self.idempotency(principal, key).await
    }

    async fn put_idempotency(
        &mut self,
        principal: &str,
        key: &str,
        record: &IdempotencyRecord,
    ) -> Result<(), StoreError> {
        empty_response_refused(record)?;
        // This transaction's own claim is the only row with an empty response it can see.
        let filled = self
            .execute(
                "UPDATE idempotency SET request_hash = $3, response = $4 \
                 WHERE principal = $1 AND key = $2 AND length(response) = 0",
                &[&principal, &key, &record.request_hash, &record.response],
            )
            .await?;
        if filled == 0 {
            self.execute(
                "INSERT INTO idempotency (principal, key, request_hash, response) \
                 VALUES ($1, $2, $3, $4)",
                &[&principal, &key, &record.request_hash, &record.response],
            )
            .await?;
        }
        Ok(())
    }

    async fn insert_api_key(&mut self, key: &ApiKeyRow) -> Result<(), StoreError> {
        let sql =
            format!("INSERT INTO api_keys ({API_KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)");
        let created_at = micros(key.created_at);
        let revoked_at = key.revoked_at.map(micros);
        self.execute(
            &sql,
            &[
                &key.id,
                &key.principal,
                &key.municipality,
                &key.secret_hash,
                &created_at,
                &revoked_at,
                &key.label,
            ],
        )
        .await?;
        Ok(())
    }

    async fn api_key_by_hash(
        &mut self,
        secret_hash: &str,
    ) -> Result<Option<ApiKeyRow>, StoreError> {
        let sql = format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE secret_hash = $1");
        self.query_opt(&sql, &[&secret_hash])
            .await?
            .as_ref()
            .map(api_key_row)
            .transpose()
    }

    async fn api_keys(&mut self) -> Result<Vec<ApiKeyRow>, StoreError> {
        let sql = format!("SELECT {API_KEY_COLUMNS} FROM api_keys ORDER BY created_at, id");
        self.query(&sql, &[])
            .await?
            .iter()
            .map(api_key_row)
            .collect()
    }

    async fn revoke_api_key(&mut self, id: &str, at: DateTime<Utc>) -> Result<bool, StoreError> {
        let at = micros(at);
        let changed = self
            .execute(
                "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1",
                &[&id, &at],
            )
            .await?;
        Ok(changed > 0)
    }

    async fn insert_user(&mut self, user: &UserRow) -> Result<bool, StoreError> {
        let sql = format!(
            "INSERT INTO console_users ({USER_COLUMNS}) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (username) DO NOTHING"
        );
        let created_at = micros(user.created_at);
        let added = self
            .execute(
                &sql,
                &[
                    &user.username,
                    &user.principal,
                    &user.municipality,
                    &user.password_hash,
                    &created_at,
                ],
            )
            .await?;
        Ok(added > 0)
    }

    async fn user(&mut self, username: &str) -> Result<Option<UserRow>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM console_users WHERE username = $1");
        self.query_opt(&sql, &[&username])
            .await?
            .as_ref()
            .map(|row| {
                Ok(UserRow {
                    username: get(row, 0)?,
                    principal: get(row, 1)?,
                    municipality: get(row, 2)?,
                    password_hash: get(row, 3)?,
                    created_at: get(row, 4)?,
                })
            })
            .transpose()
    }
}
