//! Haihe's storage crate; for now it holds the write-ahead log that makes the embedded mode durable.
//!
//! Later modules (in-memory buffer, Parquet files, catalog, compaction, retention) live here too;
//! none of them may depend on a protocol crate or on `api` (see DESIGN.md §3).

pub mod wal;
