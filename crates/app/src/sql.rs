//! `haihe sql`: SQL over a data directory without a server (one may be running on it).

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use pipeline::IngestRecord;
use store::catalog::{Catalog, ChargingApplied};
use store::lake::{Lake, LakeRows, batches_to_json};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The data directory of a Haihe server.
    #[arg(long)]
    data_dir: PathBuf,
    /// One read-only SQL statement over vehicle_samples, fleet_reports, positions,
    /// connector_status, charging_sessions, vehicles, stations and alarms.
    sql: String,
}

/// Prints `{"columns":[…],"rows":[[…]]}`, the same shape as `POST /api/v1/sql`.
pub(crate) fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let out = runtime.block_on(async {
        // The WAL first, then the files: a flush committing in between is then seen in the
        // files, and its records are skipped by LSN (reading the other way round could miss it).
        let records =
            store::wal::read_records(&args.data_dir.join("wal")).context("reading the WAL")?;
        let lake =
            Arc::new(Lake::open_read_only(args.data_dir.join("lake")).context("opening the lake")?);
        let catalog = Catalog::open(args.data_dir.join("catalog.db")).ok();
        // Charging rows are what the server's catalog folded from the records (open sessions,
        // status changes); the ones not in Parquet yet are kept there per LSN.
        let mut charging: HashMap<u64, ChargingApplied> = match &catalog {
            Some(c) => c
                .charging_outputs_after(lake.flushed_lsn())?
                .into_iter()
                .collect(),
            None => HashMap::new(),
        };
        for r in records {
            if let Ok(rec) = IngestRecord::decode(&r.payload) {
                let out = charging.remove(&r.lsn).unwrap_or_default();
                lake.insert_all(
                    r.lsn,
                    &LakeRows {
                        samples: &crate::apply::samples_of(&rec),
                        reports: &crate::apply::reports_of(&rec),
                        statuses: &out.statuses,
                        sessions: &out.sessions,
                    },
                )?;
            }
        }
        let (registry, alarms, stations) = match &catalog {
            Some(c) => (
                c.vehicles()?,
                c.query_alarms(&crate::backend::all_alarms())?.0,
                c.stations(None, None)?,
            ),
            None => (Vec::new(), Vec::new(), Vec::new()),
        };
        let tables = store::lake::CatalogTables {
            vehicles: &registry,
            alarms: &alarms,
            stations: &stations,
        };
        let batches = lake.sql_with(&args.sql, &tables).await?;
        let (columns, rows) = batches_to_json(&batches)?;
        anyhow::Ok(serde_json::json!({ "columns": columns, "rows": rows }))
    })?;
    #[allow(clippy::print_stdout)]
    {
        println!("{out}");
    }
    Ok(ExitCode::SUCCESS)
}
