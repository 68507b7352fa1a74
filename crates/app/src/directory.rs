//! The JT/T 808 terminal directory over the catalog: who may register (the fleet registry's
//! terminal ids), the auth codes handed out (persisted, so terminals need not register again after
//! a restart), and which terminal models get the lenient decoder (`[jt808] lenient_models`).

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use proto_jt808::{Directory, Register, RegisterRefusal};
use store::catalog::{Catalog, TerminalRegistration};

use crate::platform::now;

/// Terminal id → VIN, from the registry's `terminal_id` column; shared with the applier.
pub(crate) type Terminals = Arc<RwLock<HashMap<String, String>>>;

pub(crate) struct CatalogDirectory {
    pub(crate) catalog: Arc<Catalog>,
    pub(crate) terminals: Terminals,
    pub(crate) lenient_models: Vec<String>,
}

impl Directory for CatalogDirectory {
    fn is_known(&self, terminal: &str) -> bool {
        self.terminals
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains_key(terminal)
    }

    fn register(&self, terminal: &str, reg: &Register) -> Result<String, RegisterRefusal> {
        let registration = TerminalRegistration {
            terminal_id: terminal.to_owned(),
            // The directory is not told the header's version; the codec knows it per frame.
            version: String::new(),
            province: reg.province,
            city: reg.city,
            maker: reg.maker.text(),
            model: reg.model.text(),
            device_id: reg.terminal_id.text(),
            plate_color: reg.plate_color,
            plate: reg.plate.text(),
        };
        self.catalog
            .register_terminal(&registration, now())
            .map_err(|e| {
                // The terminal will try again; "not in the database" is the only refusal that
                // makes it do so without a human.
                tracing::error!(terminal, error = %e, "storing a JT/T 808 registration failed");
                RegisterRefusal::TerminalNotInDatabase
            })
    }

    fn check_auth(&self, terminal: &str, code: &str) -> bool {
        match self.catalog.terminal(terminal) {
            Ok(Some(t)) => t.auth_code == code,
            Ok(None) => false,
            Err(e) => {
                tracing::error!(terminal, error = %e, "reading a JT/T 808 auth code failed");
                false
            }
        }
    }

    fn lenient(&self, terminal: &str) -> bool {
        if self.lenient_models.is_empty() {
            return false;
        }
        match self.catalog.terminal(terminal) {
            Ok(Some(t)) => self
                .lenient_models
                .iter()
                .any(|m| m.trim() == t.registration.model.trim()),
            _ => false,
        }
    }
}
