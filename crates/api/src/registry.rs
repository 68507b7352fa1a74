//! The one validation of vehicle registry entries, shared by `POST /api/v1/vehicles` and
//! `haihe fleet import`, so that both accept and refuse exactly the same rows.
//!
//! Rules: `vin` as devices send it (`model::Vin`: 1–17 letters, digits, `-`, `_`, no padding);
//! `terminal_id` 1–20 digits (the JT/T 808 phone number, 2019 edition BCD[10]); `plate` 1–16
//! and `owner_org` 1–64 characters without control characters; `powertrain` one of
//! [`POWERTRAINS`]; `category` a lowercase name (`a`–`z`, `_`, at most 32). A category outside
//! [`CATEGORIES`] is accepted with a warning: cities add fleets (`ambulance`, `school_bus`) faster
//! than releases, and the KPI lists every category it finds, so a typo shows up there too. Within
//! one upload a VIN or a terminal id may appear only once.

use std::collections::HashMap;

use model::VehicleInfo;

use crate::params::check_vin;

/// DESIGN.md §4 `vehicles.category`: the categories the platform knows. Adding one is adding a
/// line here (others are accepted with a warning).
pub const CATEGORIES: &[&str] = &[
    "private",
    "taxi",
    "bus",
    "sanitation",
    "logistics",
    "postal",
    "heavy_truck",
    "test",
];

/// DESIGN.md §4 `vehicles.powertrain`.
pub const POWERTRAINS: &[&str] = &["bev", "phev", "fcev", "methanol_hybrid", "ice"];

/// The powertrains that count as new-energy vehicles: battery-electric, plug-in hybrid and fuel
/// cell. Methanol hybrids and combustion engines do not.
pub const NEW_ENERGY_POWERTRAINS: &[&str] = &["bev", "phev", "fcev"];

/// The fields of a registry entry, in `VehicleInfo` order: the JSON keys of
/// `POST /api/v1/vehicles` and the columns of a `haihe fleet import` file.
pub const REGISTRY_FIELDS: [&str; 6] = [
    "vin",
    "terminal_id",
    "plate",
    "category",
    "powertrain",
    "owner_org",
];

const CATEGORY_MAX: usize = 32;

/// Whether a powertrain counts as new energy.
pub fn is_new_energy(powertrain: Option<&str>) -> bool {
    powertrain.is_some_and(|p| NEW_ENERGY_POWERTRAINS.contains(&p))
}

/// A problem with one registry entry (the error refuses the upload; a warning does not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryIssue {
    /// The entry's index in the upload.
    pub index: usize,
    /// The field, or `None` for the entry as a whole.
    pub field: Option<&'static str>,
    /// What is wrong; for a repeated VIN or terminal id, the repeated value.
    pub message: String,
    /// For a repeated value, the index of the entry that had it first.
    pub earlier: Option<usize>,
}

impl EntryIssue {
    /// The message, with an earlier entry named by `position` (`entries[3]`, `line 5`).
    pub fn describe(&self, position: impl Fn(usize) -> String) -> String {
        match self.earlier {
            Some(i) => format!("{} already appears at {}", self.message, position(i)),
            None => self.message.clone(),
        }
    }
}

/// The errors and warnings of an upload, each in entry order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistryCheck {
    pub errors: Vec<EntryIssue>,
    pub warnings: Vec<EntryIssue>,
}

/// Checks every entry and the uniqueness of VINs and terminal ids across them.
pub fn check_registry(entries: &[VehicleInfo]) -> RegistryCheck {
    let mut check = RegistryCheck::default();
    let mut vins: HashMap<&str, usize> = HashMap::with_capacity(entries.len());
    let mut terminals: HashMap<&str, usize> = HashMap::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        match check_vehicle(entry) {
            Ok(warnings) => check
                .warnings
                .extend(warnings.into_iter().map(|(field, message)| EntryIssue {
                    index,
                    field: Some(field),
                    message,
                    earlier: None,
                })),
            Err((field, message)) => {
                check.errors.push(EntryIssue {
                    index,
                    field,
                    message,
                    earlier: None,
                });
                continue;
            }
        }
        if let Some(first) = vins.insert(&entry.vin, index) {
            check.errors.push(EntryIssue {
                index,
                field: Some("vin"),
                message: format!("{:?}", entry.vin),
                earlier: Some(first),
            });
        }
        if let Some(t) = &entry.terminal_id
            && let Some(first) = terminals.insert(t, index)
        {
            check.errors.push(EntryIssue {
                index,
                field: Some("terminal_id"),
                message: format!("{t:?}"),
                earlier: Some(first),
            });
        }
    }
    check
}

/// A field (or the entry as a whole, `None`) and what is wrong with it.
pub type FieldProblem = (Option<&'static str>, String);

/// A field and a warning about it.
pub type FieldWarning = (&'static str, String);

/// One entry's fields: `Ok` with the warnings, or the first bad field and why.
pub fn check_vehicle(entry: &VehicleInfo) -> Result<Vec<FieldWarning>, FieldProblem> {
    let mut warnings = Vec::new();
    check_vin(&entry.vin).map_err(|m| (Some("vin"), m))?;
    if let Some(t) = &entry.terminal_id {
        check_terminal_id(t).map_err(|m| (Some("terminal_id"), m))?;
    }
    if let Some(p) = &entry.plate {
        text(p, 16).map_err(|m| (Some("plate"), m))?;
    }
    if let Some(c) = &entry.category {
        if !is_name(c, CATEGORY_MAX) {
            return Err((
                Some("category"),
                format!(
                    "expected a lowercase name of at most {CATEGORY_MAX} letters a–z and _ \
                     (known: {}), got {c:?}",
                    CATEGORIES.join(", ")
                ),
            ));
        }
        if !CATEGORIES.contains(&c.as_str()) {
            warnings.push((
                "category",
                format!(
                    "{c:?} is not one of {}; accepted as a new category",
                    CATEGORIES.join(", ")
                ),
            ));
        }
    }
    if let Some(p) = &entry.powertrain
        && !POWERTRAINS.contains(&p.as_str())
    {
        return Err((
            Some("powertrain"),
            format!(
                "unknown value {p:?}; expected one of {}",
                POWERTRAINS.join(", ")
            ),
        ));
    }
    if let Some(o) = &entry.owner_org {
        text(o, 64).map_err(|m| (Some("owner_org"), m))?;
    }
    Ok(warnings)
}

/// A JT/T 808 terminal id: the phone number as 1–20 digits.
pub fn check_terminal_id(t: &str) -> Result<(), String> {
    if t.is_empty() || t.len() > 20 || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "expected 1–20 digits (the JT/T 808 phone number), got {t:?}"
        ));
    }
    Ok(())
}

/// A category as a query parameter or registry value: a lowercase name of `a`–`z` and `_`.
pub(crate) fn check_category(c: &str) -> Result<(), String> {
    if is_name(c, CATEGORY_MAX) {
        Ok(())
    } else {
        Err(format!(
            "expected a lowercase name of at most {CATEGORY_MAX} letters a–z and _ (known: {}), \
             got {c:?}",
            CATEGORIES.join(", ")
        ))
    }
}

fn is_name(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
}

/// Free text that ends up on dashboards and in CSV: non-empty, bounded, no control characters.
fn text(value: &str, max_chars: usize) -> Result<(), String> {
    let n = value.chars().count();
    if n == 0 || n > max_chars || value.chars().any(char::is_control) {
        return Err(format!(
            "expected 1–{max_chars} characters without control characters, got {value:?}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(vin: &str) -> VehicleInfo {
        VehicleInfo {
            vin: vin.to_owned(),
            terminal_id: None,
            plate: None,
            category: None,
            powertrain: None,
            owner_org: None,
        }
    }

    #[test]
    fn unknown_categories_are_warnings_and_malformed_ones_errors() {
        let mut e = entry("V1");
        e.category = Some("ambulance".into());
        let warnings = check_vehicle(&e).expect("accepted");
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0]
                .1
                .starts_with("\"ambulance\" is not one of private")
        );
        for bad in ["Taxi", "school bus", "", "bus1", &"x".repeat(33)] {
            e.category = Some(bad.to_owned());
            let (field, msg) = check_vehicle(&e).expect_err(bad);
            assert_eq!(field, Some("category"));
            assert!(msg.starts_with("expected a lowercase name"), "{msg}");
        }
        e.category = Some("heavy_truck".into());
        assert_eq!(check_vehicle(&e), Ok(vec![]));
    }

    #[test]
    fn the_first_bad_field_is_named() {
        let mut e = entry("V1");
        e.terminal_id = Some("0".repeat(21));
        e.powertrain = Some("steam".into());
        assert_eq!(check_vehicle(&e).unwrap_err().0, Some("terminal_id"));
        e.terminal_id = Some("0".repeat(20));
        let (field, msg) = check_vehicle(&e).unwrap_err();
        assert_eq!(field, Some("powertrain"));
        assert_eq!(
            msg,
            "unknown value \"steam\"; expected one of bev, phev, fcev, methanol_hybrid, ice"
        );
        assert_eq!(check_vehicle(&entry(" V1")).unwrap_err().0, Some("vin"));
    }

    #[test]
    fn vins_and_terminal_ids_are_unique_within_an_upload() {
        let mut a = entry("V1");
        a.terminal_id = Some("13800000001".into());
        let mut b = entry("V2");
        b.terminal_id = Some("13800000001".into());
        let c = entry("V1");
        let mut d = entry("V4");
        d.category = Some("ferry".into());
        let check = check_registry(&[a, b, c, d]);
        let errors: Vec<(usize, Option<&str>, String)> = check
            .errors
            .iter()
            .map(|e| (e.index, e.field, e.describe(|i| format!("entries[{i}]"))))
            .collect();
        assert_eq!(
            errors,
            [
                (
                    1,
                    Some("terminal_id"),
                    "\"13800000001\" already appears at entries[0]".to_owned()
                ),
                (
                    2,
                    Some("vin"),
                    "\"V1\" already appears at entries[0]".to_owned()
                ),
            ]
        );
        assert_eq!(check.warnings.len(), 1);
        assert_eq!(check.warnings[0].index, 3);
    }

    #[test]
    fn new_energy_is_bev_phev_and_fcev() {
        for p in ["bev", "phev", "fcev"] {
            assert!(is_new_energy(Some(p)));
        }
        for p in [Some("methanol_hybrid"), Some("ice"), None] {
            assert!(!is_new_energy(p));
        }
    }
}
