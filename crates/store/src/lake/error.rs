//! Errors of the lake: file-system failures, Parquet and Arrow errors, refused statements.

use std::io;
use std::path::PathBuf;

use datafusion::error::DataFusionError;

/// Everything that can go wrong while buffering, flushing, opening or querying the lake.
#[derive(Debug, thiserror::Error)]
pub enum LakeError {
    /// An operating-system call on a lake file or directory failed.
    #[error("lake: cannot {op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// Building or converting Arrow data failed (a bug, or a file whose columns have other types).
    #[error("lake: Arrow error: {0}")]
    Arrow(#[from] arrow::error::ArrowError),

    /// Writing or reading a Parquet file failed; `path` names the file.
    #[error("lake: Parquet file {}: {source}", path.display())]
    Parquet {
        path: PathBuf,
        #[source]
        source: parquet::errors::ParquetError,
    },

    /// A file or row does not hold what the lake wrote: a column is missing or has another type,
    /// a VIN is invalid, the state file does not parse.
    #[error("lake: {0}")]
    Corrupt(String),

    /// The statement is not a read-only query (DDL, DML, COPY, SET, transactions…).
    #[error("only read-only queries are allowed: {0}")]
    NotReadOnly(String),

    /// The query failed to plan or to run: bad SQL, an unknown column, a type error, or the
    /// query memory limit. The message is DataFusion's and is meant for the person who wrote
    /// the query.
    #[error("query failed: {0}")]
    Query(#[source] DataFusionError),

    /// A write operation (flush, retention) was called on a lake opened with
    /// `Lake::open_read_only`.
    #[error("lake at {} is open read-only", path.display())]
    ReadOnly { path: PathBuf },

    /// `LakeOptions` are inconsistent; the message says which limit is wrong.
    #[error("invalid lake options: {0}")]
    InvalidOptions(&'static str),

    /// A flush failed earlier after it may have left files behind; the lake refuses further
    /// flushes until it is reopened, which cleans up (the buffered rows are still queryable and
    /// the WAL still holds them).
    #[error("lake is unusable for flushing after an earlier failure: {0}")]
    Failed(String),
}

impl LakeError {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> Self {
        let path = path.into();
        move |source| LakeError::Io { op, path, source }
    }

    pub(crate) fn parquet(
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(parquet::errors::ParquetError) -> Self {
        let path = path.into();
        move |source| LakeError::Parquet { path, source }
    }
}

/// DataFusion reports statement refusals from `SQLOptions` as plan errors; they are the user's
/// mistake and get their own variant so the API can answer 400 with a clear message.
impl From<DataFusionError> for LakeError {
    fn from(error: DataFusionError) -> Self {
        let message = error.strip_backtrace();
        let refused = [
            "DDL not supported",
            "DML not supported",
            "Statement not supported",
        ];
        if let Some(start) = refused.iter().find_map(|r| message.find(r)) {
            return LakeError::NotReadOnly(message[start..].to_owned());
        }
        match error {
            DataFusionError::ArrowError(e, _) => LakeError::Arrow(*e),
            other => LakeError::Query(other),
        }
    }
}
