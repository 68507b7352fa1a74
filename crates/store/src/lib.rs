//! Haihe's storage crate: the write-ahead log that makes the embedded mode durable, the lake
//! (buffered rows, Parquet files, retention, DataFusion SQL) and the catalog.
//!
//! Later modules (compaction, object storage) live here too; none of them may depend on a
//! protocol crate or on `api` (see DESIGN.md §3).

pub mod catalog;
pub mod lake;
pub mod wal;
