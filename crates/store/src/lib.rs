//! Haihe's storage crate: the write-ahead log that makes the embedded mode durable, the lake
//! (buffered rows, Parquet files, retention, DataFusion SQL), the catalog, and the trip and
//! mileage arithmetic over what the lake returns (`drive`).
//!
//! Later modules (compaction, object storage) live here too; none of them may depend on a
//! protocol crate or on `api` (see DESIGN.md §3).

pub mod catalog;
pub mod drive;
pub mod lake;
pub mod wal;
