//! Haihe's HTTP API (axum): REST endpoints of DESIGN.md §5, SQL, metrics, bearer-token auth.

mod backend;

pub use backend::*;
