//! The catalog: a small SQLite database (`DATA_DIR/catalog.db`) holding API tokens, the vehicle
//! registry, alarm state and JT/T 808 terminal registrations — the platform's state that is
//! neither a time series nor derivable from one.
//!
//! SQLite is opened in WAL mode with `synchronous = FULL`: writes here are rare (a token, a registry
//! upload) and each one was acknowledged to an operator, so it must survive a power cut. The schema
//! evolves by numbered migrations recorded in `PRAGMA user_version`.
//!
//! Tokens are stored only as SHA-256 hashes: a copy of `catalog.db` must not hand out credentials.
//! `authenticate` runs on every API request, so it answers from an in-memory map of hash → grant.
//! The map is reloaded whenever `PRAGMA data_version` on a connection reserved for that purpose
//! changes, which SQLite guarantees for every commit by any other connection — this process's
//! writer as well as `haihe token create` run from another process against the same file.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use model::VehicleInfo;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use sha2::{Digest, Sha256};

mod alarms;
mod charging;
mod terminals;

pub use alarms::{AckOutcome, AlarmChange, AlarmQuery, RULES_CURSOR, StateFilter};
pub use charging::{
    CHARGING_CURSOR, ChargerRecord, ChargingApplied, ChargingRecord, ConnectorRecord,
    MAX_TCEC_TOKENS_PER_OPERATOR, OpenSession, StationRecord,
};
pub use terminals::{Terminal, TerminalRegistration};

/// The catalog's file name inside the data directory.
pub const CATALOG_FILE: &str = "catalog.db";
/// Where the first admin token is written, inside the data directory.
pub const ADMIN_TOKEN_FILE: &str = "admin.token";
/// Every token starts with this, so that a leaked one is easy to recognise (secret scanners, logs).
pub const TOKEN_PREFIX: &str = "hh_";
/// The roles a token may carry; the same names as `api::Role`.
pub const ROLES: [&str; 3] = ["admin", "operator", "org"];

/// How long a writer waits for another process (e.g. `haihe token create` against a running
/// server's catalog) to finish its transaction before giving up with "database is locked".
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Schema migrations; migration `i` brings the schema from version `i` to `i + 1`. Append only:
/// a released data directory records how many it has applied.
const MIGRATIONS: &[&str] = &[
    // 1: tokens and the vehicle registry.
    "CREATE TABLE tokens (
         id          INTEGER PRIMARY KEY AUTOINCREMENT,
         hash        BLOB    NOT NULL UNIQUE,
         role        TEXT    NOT NULL,
         org         TEXT,
         created_at  INTEGER NOT NULL,
         revoked_at  INTEGER
     );
     CREATE TABLE vehicles (
         vin         TEXT PRIMARY KEY NOT NULL,
         terminal_id TEXT,
         plate       TEXT,
         category    TEXT,
         powertrain  TEXT,
         owner_org   TEXT,
         updated_at  INTEGER NOT NULL
     );
     CREATE INDEX vehicles_terminal_id ON vehicles (terminal_id);
     CREATE INDEX vehicles_owner_org ON vehicles (owner_org);",
    // 2: alarms, their change outbox, and named cursors (see `alarms.rs`).
    "CREATE TABLE alarms (
         alarm_id    INTEGER PRIMARY KEY AUTOINCREMENT,
         entity_id   TEXT    NOT NULL,
         kind        TEXT    NOT NULL,
         level       INTEGER NOT NULL,
         opened_at   INTEGER NOT NULL,
         acked_at    INTEGER,
         acked_by    TEXT,
         ack_comment TEXT,
         closed_at   INTEGER,
         source      TEXT    NOT NULL,
         detail      TEXT    NOT NULL,
         org         TEXT
     );
     CREATE UNIQUE INDEX alarms_one_open ON alarms (entity_id, kind) WHERE closed_at IS NULL;
     CREATE INDEX alarms_opened_at ON alarms (opened_at);
     CREATE INDEX alarms_entity ON alarms (entity_id, opened_at);
     CREATE TABLE alarm_events (
         event_id    INTEGER PRIMARY KEY AUTOINCREMENT,
         alarm_id    INTEGER NOT NULL,
         change      TEXT    NOT NULL,
         at          INTEGER NOT NULL,
         snapshot    TEXT    NOT NULL
     );
     CREATE TABLE cursors (
         name        TEXT PRIMARY KEY NOT NULL,
         position    INTEGER NOT NULL
     );",
    // 3: JT/T 808 terminals and their authentication codes (see `terminals.rs`).
    "CREATE TABLE terminals (
         terminal_id   TEXT PRIMARY KEY NOT NULL,
         auth_code     TEXT    NOT NULL,
         version       TEXT    NOT NULL,
         province      INTEGER NOT NULL,
         city          INTEGER NOT NULL,
         maker         TEXT    NOT NULL,
         model         TEXT    NOT NULL,
         device_id     TEXT    NOT NULL,
         plate_color   INTEGER NOT NULL,
         plate         TEXT    NOT NULL,
         registered_at INTEGER NOT NULL
     );",
    // 4: charging registry, connector state, open and finished sessions, the outputs of applied
    // charging records (for exact replay), OCPP transaction ids and T/CEC tokens (see
    // `charging.rs`).
    "CREATE TABLE stations (
         operator_id    TEXT    NOT NULL,
         station_id     TEXT    NOT NULL,
         name           TEXT    NOT NULL,
         lon            REAL,
         lat            REAL,
         district       TEXT,
         connectors     INTEGER NOT NULL,
         rated_power_kw REAL    NOT NULL,
         source         TEXT    NOT NULL,
         org            TEXT,
         updated_at     INTEGER NOT NULL,
         PRIMARY KEY (operator_id, station_id)
     );
     CREATE INDEX stations_org ON stations (org);
     CREATE TABLE chargers (
         operator_id    TEXT    NOT NULL,
         equipment_id   TEXT    NOT NULL,
         station_id     TEXT    NOT NULL,
         power_kw       REAL,
         connectors     TEXT    NOT NULL,
         commissioned   TEXT,
         model          TEXT,
         source         TEXT    NOT NULL,
         first_seen     INTEGER NOT NULL,
         updated_at     INTEGER NOT NULL,
         PRIMARY KEY (operator_id, equipment_id)
     );
     CREATE TABLE connectors (
         operator_id    TEXT    NOT NULL,
         connector_id   TEXT    NOT NULL,
         station_id     TEXT    NOT NULL,
         equipment_id   TEXT    NOT NULL,
         status         TEXT    NOT NULL,
         raw_status     TEXT    NOT NULL,
         source         TEXT    NOT NULL,
         ts             INTEGER NOT NULL,
         received_at    INTEGER NOT NULL,
         power_kw       REAL,
         soc_pct        REAL,
         session_id     TEXT,
         PRIMARY KEY (operator_id, connector_id)
     );
     CREATE INDEX connectors_status ON connectors (status);
     CREATE TABLE charging_open (
         operator_id    TEXT    NOT NULL,
         session_id     TEXT    NOT NULL,
         station_id     TEXT    NOT NULL,
         equipment_id   TEXT    NOT NULL,
         connector_id   TEXT    NOT NULL,
         start_ts       INTEGER NOT NULL,
         meter_start_wh REAL,
         last_meter_wh  REAL,
         id_tag         TEXT,
         source         TEXT    NOT NULL,
         PRIMARY KEY (operator_id, session_id)
     );
     CREATE INDEX charging_open_connector ON charging_open (operator_id, connector_id, start_ts);
     CREATE TABLE charging_done (
         operator_id    TEXT    NOT NULL,
         session_id     TEXT    NOT NULL,
         end_ts         INTEGER NOT NULL,
         PRIMARY KEY (operator_id, session_id)
     );
     CREATE INDEX charging_done_end_ts ON charging_done (end_ts);
     CREATE TABLE charging_out (
         lsn            INTEGER NOT NULL,
         seq            INTEGER NOT NULL,
         kind           TEXT    NOT NULL,
         json           TEXT    NOT NULL,
         PRIMARY KEY (lsn, seq)
     );
     CREATE TABLE ocpp_transactions (
         transaction_id INTEGER PRIMARY KEY AUTOINCREMENT,
         charge_point   TEXT    NOT NULL,
         connector_id   INTEGER NOT NULL,
         id_tag         TEXT    NOT NULL,
         created_at     INTEGER NOT NULL
     );
     CREATE TABLE tcec_tokens (
         token_hash     BLOB PRIMARY KEY NOT NULL,
         operator_id    TEXT    NOT NULL,
         expires_at     INTEGER NOT NULL
     );
     CREATE INDEX tcec_tokens_operator ON tcec_tokens (operator_id, expires_at);",
];

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("catalog {path}: {source}")]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "catalog {path} has schema version {found}, newer than this binary's {supported}; \
         use a newer haihe"
    )]
    SchemaTooNew {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error("unknown role {0:?}; expected one of admin, operator, org")]
    UnknownRole(String),
    #[error("role org needs an organisation")]
    OrgRequired,
    #[error("role {0} sees every organisation; it takes no org")]
    OrgNotAllowed(String),
    #[error("no token with id {0}")]
    NoSuchToken(i64),
    #[error("the operating system's random source failed: {0}")]
    Random(getrandom::Error),
    #[error("catalog {path}: {what}")]
    Corrupt { path: PathBuf, what: String },
}

pub type Result<T, E = CatalogError> = std::result::Result<T, E>;

/// A token as listed for operators; the token itself is never stored, so it cannot be listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: i64,
    pub role: String,
    pub org: Option<String>,
    /// Microseconds since the Unix epoch.
    pub created_at: i64,
    /// Microseconds since the Unix epoch; `None` while the token is valid.
    pub revoked_at: Option<i64>,
}

/// What a valid token grants: its role and, for `org`, the organisation; and the token's id, which
/// names the caller in records such as an alarm's acknowledgement.
type Grant = (i64, String, Option<String>);

#[derive(Debug, Default)]
struct TokenCache {
    /// `PRAGMA data_version` of the auth connection when `grants` was loaded.
    data_version: Option<i64>,
    grants: HashMap<[u8; 32], Grant>,
}

/// The open catalog. Cheap to share behind an `Arc`; every method takes `&self`.
#[derive(Debug)]
pub struct Catalog {
    path: PathBuf,
    /// All reads and writes except token lookups.
    conn: Mutex<Connection>,
    /// Only for noticing commits (`data_version`) and reloading tokens, so that `authenticate`
    /// never waits behind a large registry upload on `conn`.
    auth_conn: Mutex<Connection>,
    tokens: RwLock<TokenCache>,
}

impl Catalog {
    /// Opens (creating if needed) the catalog at `path` and brings its schema up to date.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let conn = connect(&path)?;
        // WAL lets the auth connection read while the writer commits; the mode is persistent in
        // the file, so setting it once per open is enough.
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "wal", |row| row.get(0))
            .map_err(sqlite(&path))?;
        debug_assert!(mode.eq_ignore_ascii_case("wal"), "journal_mode {mode}");
        migrate(&conn, &path)?;
        let auth_conn = connect(&path)?;
        let catalog = Self {
            path,
            conn: Mutex::new(conn),
            auth_conn: Mutex::new(auth_conn),
            tokens: RwLock::new(TokenCache::default()),
        };
        catalog.refresh_tokens()?;
        Ok(catalog)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Creates a token for `role` (`admin`, `operator` or `org`; `org` needs `org`) and returns it.
    /// This is the only time the token is seen: only its hash is kept.
    pub fn create_token(&self, role: &str, org: Option<&str>) -> Result<String> {
        check_grant(role, org)?;
        let token = new_token()?;
        let conn = self.lock_conn();
        insert_token(&conn, &self.path, &token, role, org)?;
        drop(conn);
        self.refresh_tokens()?;
        Ok(token)
    }

    /// The role and organisation of a valid token; `None` for an unknown, malformed or revoked one.
    ///
    /// Answers from memory; the only database access is one `PRAGMA data_version` to notice
    /// tokens created or revoked since the last call. A database error is logged and answered
    /// from the cache, so a failing disk degrades to stale grants rather than locking everyone out.
    pub fn authenticate(&self, token: &str) -> Option<(String, Option<String>)> {
        self.token_grant(token).map(|(_, role, org)| (role, org))
    }

    /// Like [`Catalog::authenticate`], with the token's id first.
    pub fn token_grant(&self, token: &str) -> Option<(i64, String, Option<String>)> {
        if let Err(e) = self.refresh_tokens() {
            tracing::error!(error = %e, "catalog: reloading tokens failed; using cached grants");
        }
        let hash = hash_token(token);
        let cache = self.tokens.read().unwrap_or_else(PoisonError::into_inner);
        cache.grants.get(&hash).cloned()
    }

    /// Revokes a token by id; it stops authenticating at once in this process and at the next
    /// request in any other process sharing the catalog. Revoking twice is not an error.
    pub fn revoke_token(&self, id: i64) -> Result<()> {
        let conn = self.lock_conn();
        let changed = conn
            .execute(
                "UPDATE tokens SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1",
                params![id, now_micros()],
            )
            .map_err(sqlite(&self.path))?;
        drop(conn);
        if changed == 0 {
            return Err(CatalogError::NoSuchToken(id));
        }
        self.refresh_tokens()
    }

    /// Every token ever created, revoked ones included, by id.
    pub fn tokens(&self) -> Result<Vec<TokenRecord>> {
        let conn = self.lock_conn();
        let mut stmt = conn
            .prepare("SELECT id, role, org, created_at, revoked_at FROM tokens ORDER BY id")
            .map_err(sqlite(&self.path))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(TokenRecord {
                    id: r.get(0)?,
                    role: r.get(1)?,
                    org: r.get(2)?,
                    created_at: r.get(3)?,
                    revoked_at: r.get(4)?,
                })
            })
            .map_err(sqlite(&self.path))?;
        rows.collect::<Result<_, _>>().map_err(sqlite(&self.path))
    }

    /// On first start (no valid admin token in the catalog) creates an admin token, writes it to
    /// `data_dir/admin.token` with mode 0600 and returns it; otherwise returns `None` and leaves
    /// the file alone.
    ///
    /// The file is written and renamed into place before the token is committed: a crash in
    /// between leaves a file whose token is unknown, and the next start, still finding no admin,
    /// replaces it. Committing first could instead leave a valid admin token nobody can read.
    /// If every admin token is revoked, the next start issues a fresh one the same way, which is
    /// the way back in for whoever controls the data directory.
    pub fn ensure_admin_token(&self, data_dir: impl AsRef<Path>) -> Result<Option<String>> {
        let data_dir = data_dir.as_ref();
        let mut conn = self.lock_conn();
        // IMMEDIATE takes the write lock up front, so two processes starting on the same data
        // directory cannot both decide that they are first.
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sqlite(&self.path))?;
        let admins: i64 = tx
            .query_row(
                "SELECT COUNT(*) FROM tokens WHERE role = 'admin' AND revoked_at IS NULL",
                [],
                |r| r.get(0),
            )
            .map_err(sqlite(&self.path))?;
        if admins > 0 {
            return Ok(None);
        }
        let token = new_token()?;
        write_secret_file(&data_dir.join(ADMIN_TOKEN_FILE), &token)?;
        insert_token(&tx, &self.path, &token, "admin", None)?;
        tx.commit().map_err(sqlite(&self.path))?;
        drop(conn);
        self.refresh_tokens()?;
        Ok(Some(token))
    }

    /// Inserts or replaces registry entries in one transaction; returns how many were written.
    /// An entry replaces every field of an existing one (a missing field becomes NULL), so the
    /// uploaded list is the registry's truth for those VINs.
    pub fn upsert_vehicles(&self, entries: &[VehicleInfo]) -> Result<usize> {
        let mut conn = self.lock_conn();
        let tx = conn.transaction().map_err(sqlite(&self.path))?;
        {
            let mut stmt = tx
                .prepare(
                    "INSERT INTO vehicles
                         (vin, terminal_id, plate, category, powertrain, owner_org, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                     ON CONFLICT (vin) DO UPDATE SET
                         terminal_id = excluded.terminal_id,
                         plate = excluded.plate,
                         category = excluded.category,
                         powertrain = excluded.powertrain,
                         owner_org = excluded.owner_org,
                         updated_at = excluded.updated_at",
                )
                .map_err(sqlite(&self.path))?;
            let now = now_micros();
            for v in entries {
                stmt.execute(params![
                    v.vin,
                    v.terminal_id,
                    v.plate,
                    v.category,
                    v.powertrain,
                    v.owner_org,
                    now
                ])
                .map_err(sqlite(&self.path))?;
            }
        }
        tx.commit().map_err(sqlite(&self.path))?;
        Ok(entries.len())
    }

    /// The whole registry, ordered by VIN.
    pub fn vehicles(&self) -> Result<Vec<VehicleInfo>> {
        let conn = self.lock_conn();
        let mut stmt = conn
            .prepare(
                "SELECT vin, terminal_id, plate, category, powertrain, owner_org
                 FROM vehicles ORDER BY vin",
            )
            .map_err(sqlite(&self.path))?;
        let rows = stmt
            .query_map([], vehicle_from_row)
            .map_err(sqlite(&self.path))?;
        rows.collect::<Result<_, _>>().map_err(sqlite(&self.path))
    }

    /// A stamp that changes whenever the registry does (entries added, replaced or removed), for
    /// noticing an import by another process (`haihe fleet import`) without re-reading it all.
    pub fn registry_stamp(&self) -> Result<(i64, i64)> {
        self.lock_conn()
            .query_row(
                "SELECT count(*), COALESCE(max(updated_at), 0) FROM vehicles",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(sqlite(&self.path))
    }

    /// One registry entry.
    pub fn vehicle(&self, vin: &str) -> Result<Option<VehicleInfo>> {
        let conn = self.lock_conn();
        conn.query_row(
            "SELECT vin, terminal_id, plate, category, powertrain, owner_org
             FROM vehicles WHERE vin = ?1",
            [vin],
            vehicle_from_row,
        )
        .optional()
        .map_err(sqlite(&self.path))
    }

    fn lock_conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite inconsistent (an open transaction is
        // rolled back when dropped), so a poisoned lock is still usable.
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reloads the token map if anything committed since it was loaded.
    fn refresh_tokens(&self) -> Result<()> {
        let conn = self
            .auth_conn
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let version: i64 = conn
            .pragma_query_value(None, "data_version", |r| r.get(0))
            .map_err(sqlite(&self.path))?;
        let current = self
            .tokens
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .data_version;
        if current == Some(version) {
            return Ok(());
        }
        let mut stmt = conn
            .prepare("SELECT hash, role, org, id FROM tokens WHERE revoked_at IS NULL")
            .map_err(sqlite(&self.path))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })
            .map_err(sqlite(&self.path))?;
        let mut grants = HashMap::new();
        for row in rows {
            let (hash, role, org, id) = row.map_err(sqlite(&self.path))?;
            // Rows are only written by `insert_token`, so every hash has 32 bytes; anything else
            // cannot match a token and is skipped.
            if let Ok(hash) = <[u8; 32]>::try_from(hash.as_slice()) {
                grants.insert(hash, (id, role, org));
            }
        }
        // Still holding the auth connection, so no other refresh can interleave and install an
        // older map over this one.
        *self.tokens.write().unwrap_or_else(PoisonError::into_inner) = TokenCache {
            data_version: Some(version),
            grants,
        };
        Ok(())
    }
}

fn connect(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path).map_err(sqlite(path))?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(sqlite(path))?;
    // FULL: a commit is on disk when it returns (in WAL mode NORMAL may lose the last commits on
    // power loss). Catalog writes are rare, so the extra fsync costs nothing that matters.
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(sqlite(path))?;
    Ok(conn)
}

fn migrate(conn: &Connection, path: &Path) -> Result<()> {
    let supported = MIGRATIONS.len() as i64;
    let found: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(sqlite(path))?;
    if found > supported {
        return Err(CatalogError::SchemaTooNew {
            path: path.to_path_buf(),
            found,
            supported,
        });
    }
    for (version, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        // Each migration and its version bump commit together, so a crash never leaves a schema
        // half-applied or applied but unrecorded.
        let tx = conn.unchecked_transaction().map_err(sqlite(path))?;
        tx.execute_batch(sql).map_err(sqlite(path))?;
        tx.pragma_update(None, "user_version", version as i64 + 1)
            .map_err(sqlite(path))?;
        tx.commit().map_err(sqlite(path))?;
    }
    Ok(())
}

fn check_grant(role: &str, org: Option<&str>) -> Result<()> {
    match (role, org) {
        ("org", Some(org)) if !org.is_empty() => Ok(()),
        ("org", _) => Err(CatalogError::OrgRequired),
        ("admin" | "operator", None) => Ok(()),
        ("admin" | "operator", Some(_)) => Err(CatalogError::OrgNotAllowed(role.to_owned())),
        _ => Err(CatalogError::UnknownRole(role.to_owned())),
    }
}

fn insert_token(
    conn: &Connection,
    path: &Path,
    token: &str,
    role: &str,
    org: Option<&str>,
) -> Result<()> {
    conn.execute(
        "INSERT INTO tokens (hash, role, org, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![hash_token(token).as_slice(), role, org, now_micros()],
    )
    .map_err(sqlite(path))?;
    Ok(())
}

/// `hh_` followed by 32 random bytes in hex: 256 bits, so guessing is hopeless and a plain
/// (unsalted) hash is enough to keep the stored form useless to a thief.
fn new_token() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(CatalogError::Random)?;
    Ok(format!("{TOKEN_PREFIX}{}", hex::encode(bytes)))
}

fn hash_token(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Writes `contents` to `path` with mode 0600, atomically: a temporary file in the same
/// directory, fsynced, renamed over `path`, then the directory fsynced so the rename survives.
fn write_secret_file(path: &Path, contents: &str) -> Result<()> {
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source| CatalogError::Io { path: p, source }
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = path.with_extension("token.tmp");
    // A leftover from a crash may have other permissions; `create_new` below must make the file
    // itself so that the mode applies from the first byte.
    match fs::remove_file(&tmp) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(&tmp)(e)),
        _ => {}
    }
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io(&tmp))?;
    file.write_all(format!("{contents}\n").as_bytes())
        .map_err(io(&tmp))?;
    file.sync_all().map_err(io(&tmp))?;
    drop(file);
    fs::rename(&tmp, path).map_err(io(path))?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir))?;
    Ok(())
}

fn vehicle_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<VehicleInfo> {
    Ok(VehicleInfo {
        vin: r.get(0)?,
        terminal_id: r.get(1)?,
        plate: r.get(2)?,
        category: r.get(3)?,
        powertrain: r.get(4)?,
        owner_org: r.get(5)?,
    })
}

fn now_micros() -> i64 {
    // Only for bookkeeping columns (created_at, revoked_at, updated_at); nothing is decided by
    // them, so the system clock is good enough and no `Clock` needs threading through.
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

fn sqlite(path: &Path) -> impl Fn(rusqlite::Error) -> CatalogError + '_ {
    move |source| CatalogError::Sqlite {
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn open(dir: &tempfile::TempDir) -> Catalog {
        Catalog::open(dir.path().join(CATALOG_FILE)).unwrap()
    }

    fn info(vin: &str, org: Option<&str>) -> VehicleInfo {
        VehicleInfo {
            vin: vin.to_owned(),
            terminal_id: Some("13800000001".to_owned()),
            plate: Some("津AD12345".to_owned()),
            category: Some("taxi".to_owned()),
            powertrain: Some("bev".to_owned()),
            owner_org: org.map(str::to_owned),
        }
    }

    #[test]
    fn tokens_authenticate_until_revoked() {
        let dir = tempfile::tempdir().unwrap();
        let cat = open(&dir);
        let op = cat.create_token("operator", None).unwrap();
        let org = cat.create_token("org", Some("carmaker-a")).unwrap();
        assert!(op.starts_with(TOKEN_PREFIX) && op.len() == TOKEN_PREFIX.len() + 64);
        assert_ne!(op, org);
        assert_eq!(cat.authenticate(&op), Some(("operator".into(), None)));
        assert_eq!(
            cat.authenticate(&org),
            Some(("org".into(), Some("carmaker-a".into())))
        );
        assert_eq!(cat.authenticate("hh_nope"), None);
        assert_eq!(cat.authenticate(""), None);

        let listed = cat.tokens().unwrap();
        assert_eq!(listed.len(), 2);
        let op_id = listed.iter().find(|t| t.role == "operator").unwrap().id;
        cat.revoke_token(op_id).unwrap();
        cat.revoke_token(op_id).unwrap();
        assert_eq!(cat.authenticate(&op), None);
        assert!(cat.authenticate(&org).is_some());
        assert!(cat.tokens().unwrap()[0].revoked_at.is_some());
        assert!(matches!(
            cat.revoke_token(999),
            Err(CatalogError::NoSuchToken(999))
        ));
    }

    #[test]
    fn only_hashes_are_stored() {
        let dir = tempfile::tempdir().unwrap();
        let cat = open(&dir);
        let token = cat.create_token("admin", None).unwrap();
        drop(cat);
        // Read every byte SQLite wrote (main file and WAL): the token must be in none of them.
        for entry in fs::read_dir(dir.path()).unwrap() {
            let bytes = fs::read(entry.unwrap().path()).unwrap();
            assert!(!bytes.windows(token.len()).any(|w| w == token.as_bytes()));
        }
    }

    #[test]
    fn grants_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let cat = open(&dir);
        assert!(matches!(
            cat.create_token("root", None),
            Err(CatalogError::UnknownRole(_))
        ));
        assert!(matches!(
            cat.create_token("org", None),
            Err(CatalogError::OrgRequired)
        ));
        assert!(matches!(
            cat.create_token("org", Some("")),
            Err(CatalogError::OrgRequired)
        ));
        assert!(matches!(
            cat.create_token("admin", Some("x")),
            Err(CatalogError::OrgNotAllowed(_))
        ));
        assert!(cat.tokens().unwrap().is_empty());
    }

    #[test]
    fn tokens_created_by_another_process_are_seen() {
        // `haihe token create` opens the same file while the server runs: a second `Catalog`
        // stands in for it.
        let dir = tempfile::tempdir().unwrap();
        let server = open(&dir);
        assert!(server.authenticate("hh_x").is_none());
        let cli = open(&dir);
        let token = cli.create_token("operator", None).unwrap();
        assert_eq!(server.authenticate(&token), Some(("operator".into(), None)));
        let id = cli.tokens().unwrap()[0].id;
        cli.revoke_token(id).unwrap();
        assert_eq!(server.authenticate(&token), None);
    }

    #[test]
    fn admin_token_is_written_once_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(ADMIN_TOKEN_FILE);
        let first = {
            let cat = open(&dir);
            let token = cat.ensure_admin_token(dir.path()).unwrap().unwrap();
            assert_eq!(cat.authenticate(&token), Some(("admin".into(), None)));
            token
        };
        assert_eq!(fs::read_to_string(&file).unwrap(), format!("{first}\n"));
        let mode = fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(!dir.path().join("admin.token.tmp").exists());

        // The next start finds the admin and leaves the file as it is.
        let cat = open(&dir);
        assert_eq!(cat.ensure_admin_token(dir.path()).unwrap(), None);
        assert_eq!(fs::read_to_string(&file).unwrap(), format!("{first}\n"));
        assert_eq!(cat.authenticate(&first), Some(("admin".into(), None)));

        // With every admin revoked, the next start issues a new one.
        cat.revoke_token(cat.tokens().unwrap()[0].id).unwrap();
        let second = cat.ensure_admin_token(dir.path()).unwrap().unwrap();
        assert_ne!(first, second);
        assert_eq!(fs::read_to_string(&file).unwrap(), format!("{second}\n"));
        assert_eq!(cat.authenticate(&first), None);
    }

    #[test]
    fn a_leftover_token_file_without_its_row_is_replaced() {
        // A crash after writing the file but before committing the row leaves a file whose token
        // is unknown; the next start must not trust it and must not keep it.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(ADMIN_TOKEN_FILE);
        fs::write(&file, "hh_stale\n").unwrap();
        let cat = open(&dir);
        let token = cat.ensure_admin_token(dir.path()).unwrap().unwrap();
        assert_eq!(fs::read_to_string(&file).unwrap(), format!("{token}\n"));
        assert_eq!(cat.authenticate("hh_stale"), None);
    }

    #[test]
    fn vehicles_upsert_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let cat = open(&dir);
        assert_eq!(cat.vehicles().unwrap(), []);
        let b = info("LB000000000000002", Some("fleet-b"));
        let a = info("LA000000000000001", Some("carmaker-a"));
        assert_eq!(cat.upsert_vehicles(&[b.clone(), a.clone()]).unwrap(), 2);
        assert_eq!(cat.vehicles().unwrap(), [a.clone(), b.clone()]);

        // Replacing clears fields the new entry does not have.
        let a2 = VehicleInfo {
            plate: None,
            category: Some("bus".into()),
            ..a.clone()
        };
        assert_eq!(cat.upsert_vehicles(std::slice::from_ref(&a2)).unwrap(), 1);
        assert_eq!(cat.vehicle(&a.vin).unwrap(), Some(a2.clone()));
        assert_eq!(cat.vehicle("NOPE").unwrap(), None);
        assert_eq!(cat.upsert_vehicles(&[]).unwrap(), 0);

        // Reopening keeps everything, schema included.
        let token = cat.create_token("operator", None).unwrap();
        drop(cat);
        let cat = open(&dir);
        assert_eq!(cat.vehicles().unwrap(), [a2, b]);
        assert!(cat.authenticate(&token).is_some());
    }

    #[test]
    fn schema_is_versioned_and_wal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(CATALOG_FILE);
        drop(Catalog::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, MIGRATIONS.len() as i64);
        let mode: String = conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");

        // A catalog from a newer binary is refused rather than misread.
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        assert!(matches!(
            Catalog::open(&path),
            Err(CatalogError::SchemaTooNew { found: 99, .. })
        ));
    }
}
