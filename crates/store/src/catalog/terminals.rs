//! JT/T 808 terminals in the catalog: what each registered terminal said about itself (0x0100)
//! and the authentication code the platform gave it (0x8100), which it presents (0x0102) on every
//! later connection. The code must survive restarts, or every terminal would have to register
//! again after each one (most never do on their own).

use model::Timestamp;
use rusqlite::{OptionalExtension, params};

use super::{Catalog, CatalogError, Result, sqlite};

/// What a terminal's registration (0x0100) says, as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TerminalRegistration {
    pub terminal_id: String,
    /// `jt808-2011`, `jt808-2013` or `jt808-2019`.
    pub version: String,
    pub province: u16,
    pub city: u16,
    pub maker: String,
    pub model: String,
    /// The terminal's own id (not the phone number).
    pub device_id: String,
    pub plate_color: u8,
    pub plate: String,
}

/// A registered terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terminal {
    pub registration: TerminalRegistration,
    pub auth_code: String,
    pub registered_at: Timestamp,
}

impl Catalog {
    /// Records a registration and returns a new authentication code (16 hex digits). A terminal
    /// that registers again (after a reset) gets a new code; the old one stops working.
    pub fn register_terminal(&self, reg: &TerminalRegistration, now: Timestamp) -> Result<String> {
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes).map_err(CatalogError::Random)?;
        let code = hex::encode(bytes);
        self.lock_conn()
            .execute(
                "INSERT INTO terminals (terminal_id, auth_code, version, province, city, maker,
                     model, device_id, plate_color, plate, registered_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                 ON CONFLICT (terminal_id) DO UPDATE SET
                     auth_code = excluded.auth_code, version = excluded.version,
                     province = excluded.province, city = excluded.city, maker = excluded.maker,
                     model = excluded.model, device_id = excluded.device_id,
                     plate_color = excluded.plate_color, plate = excluded.plate,
                     registered_at = excluded.registered_at",
                params![
                    reg.terminal_id,
                    code,
                    reg.version,
                    reg.province,
                    reg.city,
                    reg.maker,
                    reg.model,
                    reg.device_id,
                    reg.plate_color,
                    reg.plate,
                    now.as_micros()
                ],
            )
            .map_err(sqlite(&self.path))?;
        Ok(code)
    }

    /// A registered terminal, or `None`.
    pub fn terminal(&self, terminal_id: &str) -> Result<Option<Terminal>> {
        self.lock_conn()
            .query_row(
                "SELECT terminal_id, version, province, city, maker, model, device_id,
                        plate_color, plate, auth_code, registered_at
                 FROM terminals WHERE terminal_id = ?1",
                [terminal_id],
                |r| {
                    Ok(Terminal {
                        registration: TerminalRegistration {
                            terminal_id: r.get(0)?,
                            version: r.get(1)?,
                            province: r.get(2)?,
                            city: r.get(3)?,
                            maker: r.get(4)?,
                            model: r.get(5)?,
                            device_id: r.get(6)?,
                            plate_color: r.get(7)?,
                            plate: r.get(8)?,
                        },
                        auth_code: r.get(9)?,
                        registered_at: Timestamp::from_micros(r.get(10)?),
                    })
                },
            )
            .optional()
            .map_err(sqlite(&self.path))
    }

    /// Every registered terminal's id and model, for lenient-mode lookups.
    pub fn terminal_models(&self) -> Result<Vec<(String, String)>> {
        let conn = self.lock_conn();
        let mut stmt = conn
            .prepare("SELECT terminal_id, model FROM terminals ORDER BY terminal_id")
            .map_err(sqlite(&self.path))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(sqlite(&self.path))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(sqlite(&self.path))
    }
}

#[cfg(test)]
mod tests {
    use super::super::CATALOG_FILE;
    use super::*;

    #[test]
    fn a_registration_gets_a_code_that_survives_reopening_and_a_new_one_replaces_it() {
        let dir = tempfile::tempdir().unwrap();
        let reg = TerminalRegistration {
            terminal_id: "13800000001".into(),
            version: "jt808-2013".into(),
            province: 12,
            city: 100,
            maker: "70111".into(),
            model: "BSJ-A6".into(),
            device_id: "0000001".into(),
            plate_color: 1,
            plate: "津A12345".into(),
        };
        let first = {
            let cat = Catalog::open(dir.path().join(CATALOG_FILE)).unwrap();
            assert_eq!(cat.terminal("13800000001").unwrap(), None);
            cat.register_terminal(&reg, Timestamp::from_secs(100))
                .unwrap()
        };
        assert_eq!(first.len(), 16);
        let cat = Catalog::open(dir.path().join(CATALOG_FILE)).unwrap();
        let t = cat.terminal("13800000001").unwrap().unwrap();
        assert_eq!(
            (t.auth_code.as_str(), &t.registration),
            (first.as_str(), &reg)
        );
        assert_eq!(t.registered_at, Timestamp::from_secs(100));
        let second = cat
            .register_terminal(&reg, Timestamp::from_secs(200))
            .unwrap();
        assert_ne!(first, second);
        assert_eq!(
            cat.terminal("13800000001").unwrap().unwrap().auth_code,
            second
        );
        assert_eq!(
            cat.terminal_models().unwrap(),
            [("13800000001".to_owned(), "BSJ-A6".to_owned())]
        );
    }
}
