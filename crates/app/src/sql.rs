//! `haihe sql`: SQL over a data directory without a server (one may be running on it).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use pipeline::IngestRecord;
use store::catalog::Catalog;
use store::lake::{Lake, batches_to_json};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The data directory of a Haihe server.
    #[arg(long)]
    data_dir: PathBuf,
    /// One read-only SQL statement over vehicle_samples, fleet_reports, positions, vehicles and
    /// alarms.
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
        for r in records {
            if let Ok(rec) = IngestRecord::decode(&r.payload) {
                lake.insert_rows(
                    r.lsn,
                    &crate::apply::samples_of(&rec),
                    &crate::apply::reports_of(&rec),
                )?;
            }
        }
        let (registry, alarms) = match Catalog::open(args.data_dir.join("catalog.db")) {
            Ok(c) => (
                c.vehicles()?,
                c.query_alarms(&crate::backend::all_alarms())?.0,
            ),
            Err(_) => (Vec::new(), Vec::new()),
        };
        let batches = lake.sql(&args.sql, &registry, &alarms).await?;
        let (columns, rows) = batches_to_json(&batches)?;
        anyhow::Ok(serde_json::json!({ "columns": columns, "rows": rows }))
    })?;
    #[allow(clippy::print_stdout)]
    {
        println!("{out}");
    }
    Ok(ExitCode::SUCCESS)
}
