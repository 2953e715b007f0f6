//! The typed operations of a transaction ([`Tx`]) on SQLite, each as its SQL.

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter};

use super::conditions::{Conditions, placeholders};
use super::rows::{
    API_KEY_COLUMNS, CASE_COLUMNS, DECISION_COLUMNS, DEPARTMENT_COLUMNS, STATISTICS_COLUMNS,
    USER_COLUMNS, api_key_row, area_row, case_row, counters_row, date_text, decision_row,
    decision_text_row, department_row, get, instant_text, limit_value, organisation_row,
    parse_instant, statistics_row,
};
use super::tx::SqliteTx;
use crate::engine::QuotaCounters;
use crate::store::encoding::{counters_to_db, decode_json, empty_response_refused, encode_json};
use crate::store::{
    ApiKeyRow, Area, AreaStatistics, CaseKind, CaseRow, DecisionColumns, DecisionFilter,
    DecisionRecord, Department, IdempotencyRecord, Organisation, PoolUse, RuleBookRecord,
    StoreError, StoredRuleBook, Tx, UserRow,
};

#[async_trait::async_trait]
impl Tx for SqliteTx<'_> {
    async fn upsert_organisation(
        &mut self,
        municipality: &str,
        org: &Organisation,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO organisations (municipality, id, name) VALUES (?1, ?2, ?3) \
             ON CONFLICT (municipality, id) DO UPDATE SET name = excluded.name",
            params![municipality, org.id, org.name],
        )?;
        Ok(())
    }

    async fn upsert_area(&mut self, area: &Area) -> Result<(), StoreError> {
        // Another municipality's area is left as it is: no row changes.
        let changed = self.execute(
            "INSERT INTO areas (id, municipality, name) VALUES (?1, ?2, ?3) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name \
             WHERE areas.municipality = excluded.municipality",
            params![area.id, area.municipality, area.name],
        )?;
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
        let changed = self.execute(
            "INSERT INTO departments (id, municipality, organisation, area, name, dwellings) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
             ON CONFLICT (id) DO UPDATE SET organisation = excluded.organisation, \
             area = excluded.area, name = excluded.name, dwellings = excluded.dwellings \
             WHERE departments.municipality = excluded.municipality",
            params![
                department.id,
                municipality,
                department.organisation,
                department.area,
                department.name,
                i64::from(department.dwellings)
            ],
        )?;
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
        self.row(
            "SELECT id, name FROM organisations WHERE municipality = ?1 AND id = ?2",
            [municipality, id],
            organisation_row,
        )
    }

    async fn area(&mut self, id: &str) -> Result<Option<Area>, StoreError> {
        self.row(
            "SELECT id, municipality, name FROM areas WHERE id = ?1",
            [id],
            area_row,
        )
    }

    async fn department(&mut self, id: &str) -> Result<Option<Department>, StoreError> {
        self.row(
            &format!("SELECT {DEPARTMENT_COLUMNS} FROM departments WHERE id = ?1"),
            [id],
            department_row,
        )
    }

    async fn departments(
        &mut self,
        municipality: &str,
        organisation: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Department>, StoreError> {
        let mut sql =
            format!("SELECT {DEPARTMENT_COLUMNS} FROM departments WHERE municipality = ?1");
        let mut values: Vec<Value> = vec![Value::Text(municipality.to_owned())];
        if let Some(organisation) = organisation {
            values.push(Value::Text(organisation.to_owned()));
            sql.push_str(&format!(" AND organisation = ?{}", values.len()));
        }
        if let Some(after) = after {
            values.push(Value::Text(after.to_owned()));
            sql.push_str(&format!(" AND id > ?{}", values.len()));
        }
        values.push(Value::Integer(limit_value(limit)));
        sql.push_str(&format!(" ORDER BY id LIMIT ?{}", values.len()));
        self.rows(&sql, params_from_iter(values), department_row)
    }

    async fn areas(&mut self, municipality: &str) -> Result<Vec<Area>, StoreError> {
        self.rows(
            "SELECT id, municipality, name FROM areas WHERE municipality = ?1 ORDER BY id",
            [municipality],
            area_row,
        )
    }

    async fn put_area_statistics(&mut self, stats: &AreaStatistics) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO area_statistics (area, year, facts, transfer_income_share, \
             self_supporting_weeks, loaded_by_decision) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
             ON CONFLICT (area, year) DO UPDATE SET facts = excluded.facts, \
             transfer_income_share = excluded.transfer_income_share, \
             self_supporting_weeks = excluded.self_supporting_weeks, \
             loaded_by_decision = excluded.loaded_by_decision",
            params![
                stats.area,
                stats.year,
                encode_json(&stats.facts)?,
                stats.transfer_income_share.map(|d| d.to_string()),
                stats.self_supporting_weeks.map(|d| d.to_string()),
                stats.loaded_by_decision
            ],
        )?;
        Ok(())
    }

    async fn area_statistics(
        &mut self,
        area: &str,
        year: i32,
    ) -> Result<Option<AreaStatistics>, StoreError> {
        self.row(
            &format!(
                "SELECT {STATISTICS_COLUMNS} FROM area_statistics \
                 WHERE area = ?1 AND year <= ?2 ORDER BY year DESC LIMIT 1"
            ),
            params![area, year],
            statistics_row,
        )
    }

    async fn counters_for_update(
        &mut self,
        scope: &str,
        period: &str,
    ) -> Result<QuotaCounters, StoreError> {
        // The single writer already serialises every write transaction.
        Ok(self
            .row(
                "SELECT vacancies, municipal_referral, flexible, internal_list, external_list \
                 FROM quota_counters WHERE scope = ?1 AND period = ?2",
                [scope, period],
                counters_row,
            )?
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
             flexible, internal_list, external_list) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
             ON CONFLICT (scope, period) DO UPDATE SET vacancies = excluded.vacancies, \
             municipal_referral = excluded.municipal_referral, flexible = excluded.flexible, \
             internal_list = excluded.internal_list, external_list = excluded.external_list",
            params![
                scope, period, vacancies, referral, flexible, internal, external
            ],
        )?;
        Ok(())
    }

    async fn append_decision(&mut self, d: &DecisionRecord) -> Result<(), StoreError> {
        self.execute(
            &format!(
                "INSERT INTO decisions ({DECISION_COLUMNS}) VALUES \
                 (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)"
            ),
            params![
                d.id,
                d.kind.as_str(),
                d.municipality,
                d.organisation,
                d.department,
                d.area,
                d.subject,
                date_text(d.event_date),
                instant_text(d.recorded_at),
                d.outcome,
                d.channel,
                d.area_class,
                d.amount_ore,
                d.rule_set_id,
                d.rule_set_hash,
                d.principal,
                encode_json(&d.body)?,
                d.schema_version
            ],
        )?;
        Ok(())
    }

    async fn put_rule_book(&mut self, book: &RuleBookRecord) -> Result<(), StoreError> {
        if self
            .row(
                "SELECT 1 FROM rule_books WHERE hash = ?1",
                [&book.hash],
                |_| Ok(()),
            )?
            .is_none()
        {
            let files = serde_json::to_string(&book.sources).map_err(|e| {
                StoreError::Database(format!("cannot encode a rule book's files: {e}"))
            })?;
            self.execute(
                "INSERT INTO rule_books (hash, loaded_at, files) VALUES (?1, ?2, ?3)",
                params![book.hash, instant_text(book.loaded_at), files],
            )?;
        }
        self.execute(
            "INSERT INTO rule_book_activations (activated_at, hash) VALUES (?1, ?2) \
             ON CONFLICT DO NOTHING",
            params![instant_text(book.activated_at), book.hash],
        )?;
        Ok(())
    }

    async fn rule_book(&mut self, hash: &str) -> Result<Option<StoredRuleBook>, StoreError> {
        let Some((loaded_at, files)) = self.row(
            "SELECT loaded_at, files FROM rule_books WHERE hash = ?1",
            [hash],
            |row| Ok((get::<String>(row, 0)?, get::<String>(row, 1)?)),
        )?
        else {
            return Ok(None);
        };
        let activations = self.rows(
            "SELECT activated_at FROM rule_book_activations WHERE hash = ?1 ORDER BY activated_at",
            [hash],
            |row| parse_instant(&get::<String>(row, 0)?),
        )?;
        Ok(Some(StoredRuleBook {
            hash: hash.to_owned(),
            loaded_at: parse_instant(&loaded_at)?,
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
        self.execute(
            "INSERT INTO decision_inputs (decision_id, inputs) VALUES (?1, ?2)",
            params![decision_id, encode_json(inputs)?],
        )?;
        Ok(())
    }

    async fn decision_inputs(
        &mut self,
        decision_ids: &[String],
    ) -> Result<Vec<(String, serde_json::Value)>, StoreError> {
        let mut out = Vec::new();
        // SQLite binds at most 32,766 values a statement.
        for chunk in decision_ids.chunks(1000) {
            let sql = format!(
                "SELECT decision_id, inputs FROM decision_inputs WHERE decision_id IN ({})",
                placeholders(chunk.len())
            );
            out.extend(self.rows(&sql, params_from_iter(chunk.iter()), |row| {
                Ok((
                    get::<String>(row, 0)?,
                    decode_json(&get::<String>(row, 1)?)?,
                ))
            })?);
        }
        Ok(out)
    }

    async fn delete_decision_inputs(&mut self, decision_ids: &[String]) -> Result<u64, StoreError> {
        let mut removed = 0u64;
        for chunk in decision_ids.chunks(1000) {
            let sql = format!(
                "DELETE FROM decision_inputs WHERE decision_id IN ({})",
                placeholders(chunk.len())
            );
            let n = self.execute(&sql, params_from_iter(chunk.iter()))?;
            removed = removed.saturating_add(u64::try_from(n).unwrap_or(u64::MAX));
        }
        Ok(removed)
    }

    async fn decision(&mut self, id: &str) -> Result<Option<DecisionRecord>, StoreError> {
        self.row(
            &format!("SELECT {DECISION_COLUMNS} FROM decisions WHERE id = ?1"),
            [id],
            decision_row,
        )
    }

    /// Answered from the index on (municipality, kind, event_date, …) without reading bodies.
    async fn count_decisions(
        &mut self,
        filter: &DecisionFilter,
        only: &DecisionColumns,
    ) -> Result<u64, StoreError> {
        let mut sql = Conditions::new("SELECT COUNT(*) FROM decisions".to_owned());
        sql.filter(filter, true);
        sql.any_of("outcome", &only.outcomes);
        sql.any_of("channel", &only.channels);
        sql.any_of("area_class", &only.area_classes);
        let count = self.row(&sql.sql, params_from_iter(sql.values), |row| {
            get::<i64>(row, 0)
        })?;
        Ok(u64::try_from(count.unwrap_or(0)).unwrap_or(0))
    }

    /// Answered from the partial index of pending lettings.
    async fn pending_lettings_as_of(
        &mut self,
        municipality: &str,
        as_of: NaiveDate,
    ) -> Result<Vec<DecisionRecord>, StoreError> {
        self.rows(
            &format!(
                "SELECT {DECISION_COLUMNS} FROM decisions l \
                 WHERE l.municipality = ?1 AND l.kind = 'letting' \
                   AND l.outcome = 'pending_municipal_approval' AND l.event_date <= ?2 \
                   AND NOT EXISTS (SELECT 1 FROM decisions s WHERE s.subject = l.subject \
                       AND s.kind IN ('approval', 'municipal_rejection') AND s.event_date <= ?2) \
                 ORDER BY l.event_date, l.id"
            ),
            rusqlite::params![municipality, date_text(as_of)],
            decision_row,
        )
    }

    async fn decisions(
        &mut self,
        filter: &DecisionFilter,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<DecisionRecord>, StoreError> {
        self.decisions_as(filter, after, limit, decision_row)
    }

    async fn decision_texts(
        &mut self,
        filter: &DecisionFilter,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<(DecisionRecord, String)>, StoreError> {
        self.decisions_as(filter, after, limit, decision_text_row)
    }

    async fn put_case(&mut self, case: &CaseRow) -> Result<(), StoreError> {
        self.execute(
            &format!(
                "INSERT INTO cases ({CASE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
                 ON CONFLICT (kind, id) DO UPDATE SET municipality = excluded.municipality, \
                 organisation = excluded.organisation, department = excluded.department, \
                 status = excluded.status, updated_at = excluded.updated_at, \
                 body = excluded.body"
            ),
            params![
                case.kind.as_str(),
                case.id,
                case.municipality,
                case.organisation,
                case.department,
                case.status,
                instant_text(case.updated_at),
                encode_json(&case.body)?
            ],
        )?;
        Ok(())
    }

    async fn case_for_update(
        &mut self,
        kind: CaseKind,
        id: &str,
    ) -> Result<Option<CaseRow>, StoreError> {
        self.row(
            &format!("SELECT {CASE_COLUMNS} FROM cases WHERE kind = ?1 AND id = ?2"),
            [kind.as_str(), id],
            case_row,
        )
    }

    async fn cases(
        &mut self,
        kind: CaseKind,
        status: Option<&str>,
        municipality: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<CaseRow>, StoreError> {
        let mut sql =
            format!("SELECT {CASE_COLUMNS} FROM cases WHERE kind = ?1 AND municipality = ?2");
        let mut values = vec![
            Value::Text(kind.as_str().to_owned()),
            Value::Text(municipality.to_owned()),
        ];
        if let Some(status) = status {
            values.push(Value::Text(status.to_owned()));
            sql.push_str(&format!(" AND status = ?{}", values.len()));
        }
        if let Some(after) = after {
            values.push(Value::Text(after.to_owned()));
            sql.push_str(&format!(" AND id > ?{}", values.len()));
        }
        values.push(Value::Integer(limit_value(limit)));
        sql.push_str(&format!(" ORDER BY id LIMIT ?{}", values.len()));
        self.rows(&sql, params_from_iter(values), case_row)
    }

    async fn pool_for_update(
        &mut self,
        municipality: &str,
        year: i32,
    ) -> Result<PoolUse, StoreError> {
        Ok(self
            .row(
                "SELECT committed_ore, paid_ore FROM grant_pools \
                 WHERE municipality = ?1 AND year = ?2",
                params![municipality, year],
                |row| {
                    Ok(PoolUse {
                        committed_ore: get(row, 0)?,
                        paid_ore: get(row, 1)?,
                    })
                },
            )?
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
             VALUES (?1, ?2, ?3, ?4) ON CONFLICT (municipality, year) DO UPDATE SET \
             committed_ore = excluded.committed_ore, paid_ore = excluded.paid_ore",
            params![municipality, year, pool.committed_ore, pool.paid_ore],
        )?;
        Ok(())
    }

    async fn idempotency(
        &mut self,
        principal: &str,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.row(
            "SELECT request_hash, response FROM idempotency WHERE principal = ?1 AND key = ?2",
            [principal, key],
            |row| {
                Ok(IdempotencyRecord {
                    request_hash: get(row, 0)?,
                    response: get(row, 1)?,
                })
            },
        )
    }

    async fn claim_idempotency(
        &mut self,
        principal: &str,
        key: &str,
        request_hash: &[u8],
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        // One writer: no claim of another job can be pending, only committed (or released
        // earlier in this batch).
        let claimed = self.execute(
            "INSERT INTO idempotency (principal, key, request_hash, response) \
             VALUES (?1, ?2, ?3, X'') ON CONFLICT (principal, key) DO NOTHING",
            params![principal, key, request_hash],
        )?;
        if claimed == 1 {
            return Ok(None);
        }
        self.idempotency(principal, key).await
    }

    async fn put_idempotency(
        &mut self,
        principal: &str,
        key: &str,
        record: &IdempotencyRecord,
    ) -> Result<(), StoreError> {
        empty_response_refused(record)?;
        // This job's own claim is the only row with an empty response.
        let filled = self.execute(
            "UPDATE idempotency SET request_hash = ?3, response = ?4 \
             WHERE principal = ?1 AND key = ?2 AND length(response) = 0",
            params![principal, key, record.request_hash, record.response],
        )?;
        if filled == 0 {
            self.execute(
                "INSERT INTO idempotency (principal, key, request_hash, response) \
                 VALUES (?1, ?2, ?3, ?4)",
                params![principal, key, record.request_hash, record.response],
            )?;
        }
        Ok(())
    }

    async fn insert_api_key(&mut self, key: &ApiKeyRow) -> Result<(), StoreError> {
        self.execute(
            &format!(
                "INSERT INTO api_keys ({API_KEY_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
            ),
            params![
                key.id,
                key.principal,
                key.municipality,
                key.secret_hash,
                instant_text(key.created_at),
                key.revoked_at.map(instant_text),
                key.label
            ],
        )?;
        Ok(())
    }

    async fn api_key_by_hash(
        &mut self,
        secret_hash: &str,
    ) -> Result<Option<ApiKeyRow>, StoreError> {
        self.row(
            &format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE secret_hash = ?1"),
            [secret_hash],
            api_key_row,
        )
    }

    async fn api_keys(&mut self) -> Result<Vec<ApiKeyRow>, StoreError> {
        self.rows(
            &format!("SELECT {API_KEY_COLUMNS} FROM api_keys ORDER BY created_at, id"),
            [],
            api_key_row,
        )
    }

    async fn revoke_api_key(&mut self, id: &str, at: DateTime<Utc>) -> Result<bool, StoreError> {
        let changed = self.execute(
            "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1",
            params![id, instant_text(at)],
        )?;
        Ok(changed > 0)
    }

    async fn insert_user(&mut self, user: &UserRow) -> Result<bool, StoreError> {
        let added = self.execute(
            &format!(
                "INSERT INTO console_users ({USER_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5) \
                 ON CONFLICT (username) DO NOTHING"
            ),
            params![
                user.username,
                user.principal,
                user.municipality,
                user.password_hash,
                instant_text(user.created_at)
            ],
        )?;
        Ok(added > 0)
    }

    async fn user(&mut self, username: &str) -> Result<Option<UserRow>, StoreError> {
        self.row(
            &format!("SELECT {USER_COLUMNS} FROM console_users WHERE username = ?1"),
            [username],
            |row| {
                let created_at: String = get(row, 4)?;
                Ok(UserRow {
                    username: get(row, 0)?,
                    principal: get(row, 1)?,
                    municipality: get(row, 2)?,
                    password_hash: get(row, 3)?,
                    created_at: parse_instant(&created_at)?,
                })
            },
        )
    }
}
