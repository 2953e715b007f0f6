//! `letting import FILE`: loads organisations, areas and departments from TOML or CSV
//! through the same service calls the API uses. Re-running a file changes nothing.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use letting_rules::model::RuleBook;
use letting_rules::service::{Ledger, Principal};
use letting_rules::store::{Area, Department, Organisation, Store};

/// The TOML layout: `[[organisations]]`, `[[areas]]`, `[[departments]]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryFile {
    #[serde(default)]
    pub organisations: Vec<Organisation>,
    #[serde(default)]
    pub areas: Vec<Area>,
    #[serde(default)]
    pub departments: Vec<Department>,
}

/// The CSV layout: one record per line with a `kind` column.
#[derive(Debug, Deserialize)]
struct CsvRow {
    kind: String,
    id: String,
    name: String,
    #[serde(default)]
    organisation: String,
    #[serde(default)]
    area: String,
    #[serde(default)]
    municipality: String,
    #[serde(default)]
    dwellings: Option<u32>,
}

pub fn read(path: &Path) -> anyhow::Result<RegistryFile> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read `{}`", path.display()))?;
    if path.extension().is_some_and(|e| e == "csv") {
        let mut file = RegistryFile::default();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        for (i, row) in reader.deserialize::<CsvRow>().enumerate() {
            let line = i + 2;
            let row = row.with_context(|| format!("`{}` line {line}", path.display()))?;
            match row.kind.as_str() {
                "organisation" => file.organisations.push(Organisation {
                    id: row.id,
                    name: row.name,
                }),
                "area" => file.areas.push(Area {
                    id: row.id,
                    municipality: row.municipality,
                    name: row.name,
                }),
                "department" => file.departments.push(Department {
                    id: row.id,
                    organisation: row.organisation,
                    area: row.area,
                    name: row.name,
                    dwellings: row.dwellings.unwrap_or(0),
                }),
                other => bail!(
                    "`{}` line {line}: kind `{other}` is not organisation, area or department",
                    path.display()
                ),
            }
        }
        Ok(file)
    } else {
        toml::from_str(&text).with_context(|| format!("in `{}`", path.display()))
    }
}

fn key_for(kind: &str, value: &impl serde::Serialize) -> anyhow::Result<String> {
    Ok(format!(
        "import:{kind}:{}",
        hex::encode(Sha256::digest(serde_json::to_vec(value)?))
    ))
}

/// Upserts everything in `file` as the municipality.
pub async fn apply(
    ledger: &Ledger,
    municipality: &str,
    file: RegistryFile,
) -> anyhow::Result<(usize, usize, usize)> {
    let principal = Principal::Municipality {
        municipality: municipality.to_owned(),
    };
    let counts = (
        file.organisations.len(),
        file.areas.len(),
        file.departments.len(),
    );
    for o in file.organisations {
        let key = key_for("organisation", &o)?;
        ledger.upsert_organisation(&principal, &key, o).await?;
    }
    for a in file.areas {
        let key = key_for("area", &a)?;
        ledger.upsert_area(&principal, &key, a).await?;
    }
    for d in file.departments {
        let key = key_for("department", &d)?;
        ledger.upsert_department(&principal, &key, d).await?;
    }
    Ok(counts)
}

pub async fn run(
    database_url: &str,
    municipality: &str,
    path: &Path,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let file = read(path)?;
    let store = Arc::new(
        Store::open(database_url)
            .await
            .with_context(|| format!("cannot open `{database_url}`"))?,
    );
    let ledger = Ledger::new(
        store.clone(),
        RuleBook::default(),
        letting_rules::service::Clock::system(),
    );
    let result = apply(&ledger, municipality, file).await;
    store.close().await;
    let (o, a, d) = result?;
    writeln!(
        out,
        "imported {o} organisation(s), {a} area(s), {d} department(s) from {}",
        path.display()
    )?;
    Ok(())
}
