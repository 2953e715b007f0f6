//! `letting keys`: add, list and revoke API keys. Secrets are shown once; only their
//! hashes are stored.

use std::io::Write;

use anyhow::{Context, bail};
use chrono::Utc;

use letting_rules::grpc::auth;
use letting_rules::service::Principal;
use letting_rules::store::Store;

pub enum KeyCommand {
    Add { principal: Principal, label: String },
    List,
    Revoke { id: String },
}

pub async fn run(
    database_url: &str,
    command: KeyCommand,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let store = Store::open(database_url)
        .await
        .with_context(|| format!("cannot open `{database_url}`"))?;
    let result = match command {
        KeyCommand::Add { principal, label } => {
            let (row, secret) = auth::create_key(&store, &principal, &label).await?;
            writeln!(
                out,
                "key {} for {} of {} (shown once; only its hash is stored):\n\n    {secret}\n",
                row.id, row.principal, row.municipality
            )?;
            Ok(())
        }
        KeyCommand::List => {
            let keys = store
                .read(|tx| Box::pin(async move { tx.api_keys().await }))
                .await?;
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
            Ok(())
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
            writeln!(
                out,
                "key {id} revoked; running servers refuse it within 5 seconds"
            )?;
            Ok(())
        }
    };
    store.close().await;
    result
}
