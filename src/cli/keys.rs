//! `letting keys`: add, list and revoke API keys. Secrets are shown once; only their
//! hashes are stored. `--format json` prints one JSON document (never a hash).

use std::io::Write;

use anyhow::{Context, bail};
use chrono::Utc;
use serde_json::json;

use super::Format;
use letting_rules::grpc::auth;
use letting_rules::service::Principal;
use letting_rules::store::{ApiKeyRow, Store};

pub enum KeyCommand {
    Add { principal: Principal, label: String },
    List,
    Revoke { id: String },
}

/// A key as JSON: everything but its hash.
fn key_json(k: &ApiKeyRow) -> serde_json::Value {
    let organisation = k.principal.strip_prefix("organisation:");
    json!({
        "id": k.id,
        "principal": k.principal,
        "kind": match organisation {
            Some(_) => "organisation",
            None => k.principal.as_str(),
        },
        "organisation": organisation,
        "municipality": k.municipality,
        "label": k.label,
        "created_at": k.created_at.to_rfc3339(),
        "revoked_at": k.revoked_at.map(|t| t.to_rfc3339()),
        "status": if k.revoked_at.is_some() { "revoked" } else { "active" },
    })
}

async fn key_by_id(store: &Store, id: &str) -> anyhow::Result<Option<ApiKeyRow>> {
    let id = id.to_owned();
    Ok(store
        .read(move |tx| {
            let id = id.clone();
            Box::pin(async move { tx.api_key(&id).await })
        })
        .await?)
}

pub async fn run(
    database_url: &str,
    command: KeyCommand,
    format: Format,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let store = Store::open(database_url)
        .await
        .with_context(|| format!("cannot open `{database_url}`"))?;
    let result = run_on(&store, command, format, out).await;
    store.close().await;
    result
}

async fn run_on(
    store: &Store,
    command: KeyCommand,
    format: Format,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    match command {
        KeyCommand::Add { principal, label } => {
            let (row, secret) = auth::create_key(store, &principal, &label).await?;
            match format {
                Format::Json => writeln!(
                    out,
                    "{}",
                    json!({ "key": key_json(&row), "secret": secret })
                )?,
                Format::Human => writeln!(
                    out,
                    "key {} for {} of {} (shown once; only its hash is stored):\n\n    {secret}\n",
                    row.id, row.principal, row.municipality
                )?,
            }
        }
        KeyCommand::List => {
            let keys = store
                .read(|tx| Box::pin(async move { tx.api_keys().await }))
                .await?;
            match format {
                Format::Json => {
                    let keys: Vec<_> = keys.iter().map(key_json).collect();
                    writeln!(
                        out,
                        "{}",
                        serde_json::to_string_pretty(&json!({ "keys": keys }))?
                    )?;
                }
                Format::Human => {
                    writeln!(
                        out,
                        "{:<36}  {:<28}  {:<4}  {:<25}  {:<10}  label",
                        "id", "principal", "muni", "created", "status"
                    )?;
                    for k in keys {
                        let status = if k.revoked_at.is_some() {
                            "revoked"
                        } else {
                            "active"
                        };
                        writeln!(
                            out,
                            "{:<36}  {:<28}  {:<4}  {:<25}  {:<10}  {}",
                            k.id,
                            k.principal,
                            k.municipality,
                            k.created_at.format("%Y-%m-%d %H:%M:%S UTC"),
                            status,
                            k.label
                        )?;
                    }
                }
            }
        }
        KeyCommand::Revoke { id } => {
            let target = id.clone();
            let found = store
                .write(move |tx| {
                    let id = target.clone();
                    Box::pin(async move { tx.revoke_api_key(&id, Utc::now()).await })
                })
                .await?;
            if !found {
                bail!("no key with id `{id}`: see `letting keys list`");
            }
            match format {
                Format::Json => {
                    let row = key_by_id(store, &id).await?;
                    writeln!(out, "{}", json!({ "key": row.as_ref().map(key_json) }))?;
                }
                Format::Human => writeln!(
                    out,
                    "key {id} revoked; running servers refuse it within 5 seconds"
                )?,
            }
        }
    }
    Ok(())
}
