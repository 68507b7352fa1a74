//! Who each simulated JT/T 808 terminal is: terminal id, protocol version, vehicle (VIN, plate,
//! category, powertrain, owner), district and device details; and the fleet registry CSV that
//! `haihe fleet import` reads.
//!
//! Everything here is a function of the terminal number `n` (and of the version choice and VIN
//! prefix), never of the run's seed, so a registry written once stays valid for every run:
//!
//! - terminal id: `138` followed by `n` in eight digits (`13800000001` for n = 1), an 11-digit
//!   mobile number. 2011/2013 headers carry it as BCD[6] (`013800000001`), 2019 headers as
//!   BCD[10] (`00000000013800000001`); the platform's canonical id drops the leading zeros, so
//!   both are `13800000001`;
//! - VIN: the prefix (default `LJ808`) followed by `n` zero-padded to 17 characters;
//! - category: `PATTERN[(n − 1) mod 20]` of [`crate::duty::Category`] (40 % taxi, 25 % bus,
//!   15 % logistics, 10 % heavy_truck, 5 % sanitation, 5 % postal); powertrain and duty from
//!   a hash of `n`;
//! - plate (GBK on the wire, UTF-8 in the CSV): `津` and the category's letter (taxi E, bus A,
//!   logistics B, heavy truck C, sanitation H, postal G), then the last five digits of `n`; a
//!   new-energy vehicle's plate adds D (battery-electric) or F (plug-in hybrid, fuel cell) —
//!   before the digits on small vehicles (`津ED00001`), after them on large ones
//!   (`津A00002D`);
//! - plate colour: 5 (green) for new-energy plates, else 2 (yellow) for large vehicles and 1
//!   (blue) for small ones.

use std::io::{self, Write};

use proto_jt808::{Phone, Version};

use crate::SimError;
use crate::duty::{Category, Duty, Powertrain};
use crate::roads::District;
use crate::vehicle::vin_for;

/// The VIN prefix of simulated JT/T 808 vehicles (GB/T 32960 vehicles use `LSIM`).
pub const DEFAULT_VIN_PREFIX: &str = "LJ808";

/// The largest terminal number: the id has eight digits for it.
pub const MAX_TERMINAL_NUMBER: u64 = 99_999_999;

/// The header of the registry CSV, in `haihe fleet import`'s column names.
pub const CSV_HEADER: &str = "vin,terminal_id,plate,category,powertrain,owner_org";

/// Which protocol version each terminal speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Versions {
    /// By terminal number: `n mod 3` = 1 → 2013, 2 → 2019, 0 → 2011 (a third each).
    Mixed,
    /// Every terminal the same.
    Only(Version),
}

impl Versions {
    pub fn for_number(self, n: u64) -> Version {
        match self {
            Self::Only(v) => v,
            Self::Mixed => match n % 3 {
                1 => Version::V2013,
                2 => Version::V2019,
                _ => Version::V2011,
            },
        }
    }
}

/// The terminal id of terminal number `n`: `138` and eight digits.
pub fn terminal_id(n: u64) -> Result<String, SimError> {
    if n > MAX_TERMINAL_NUMBER {
        return Err(SimError::Config(format!(
            "terminal number {n} is over {MAX_TERMINAL_NUMBER} (ids are 138 and eight digits)"
        )));
    }
    Ok(format!("138{n:08}"))
}

/// The plate of terminal number `n`, as the text the registry and 0x0100 carry.
pub fn plate(category: Category, powertrain: Powertrain, n: u64) -> String {
    let letter = match category {
        Category::Taxi => 'E',
        Category::Bus => 'A',
        Category::Logistics => 'B',
        Category::HeavyTruck => 'C',
        Category::Sanitation => 'H',
        Category::Postal => 'G',
    };
    let digits = format!("{:05}", n % 100_000);
    let nev = match powertrain {
        Powertrain::Bev => Some('D'),
        Powertrain::Phev | Powertrain::Fcev => Some('F'),
        Powertrain::MethanolHybrid | Powertrain::Ice => None,
    };
    match nev {
        None => format!("津{letter}{digits}"),
        Some(k) if category.is_large() => format!("津{letter}{digits}{k}"),
        Some(k) => format!("津{letter}{k}{digits}"),
    }
}

/// JT/T 697.7 plate colour: 1 blue, 2 yellow, 5 green.
pub fn plate_color(category: Category, powertrain: Powertrain) -> u8 {
    if powertrain.is_new_energy() {
        5
    } else if category.is_large() {
        2
    } else {
        1
    }
}

/// A 15-digit IMEI for terminal number `n`: a type allocation code, six serial digits and the
/// Luhn check digit.
pub fn imei(n: u64) -> String {
    let body = format!("86449603{:06}", n % 1_000_000);
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                let x = d * 2;
                x / 10 + x % 10
            } else {
                d
            }
        })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

/// Everything about one simulated terminal and its vehicle.
#[derive(Debug, Clone)]
pub struct Identity {
    pub number: u64,
    /// The canonical terminal id (what the platform calls it).
    pub terminal_id: String,
    pub version: Version,
    /// The header's phone field: BCD`[6]` (2011/2013) or BCD`[10]` (2019).
    pub phone: Phone,
    pub vin: String,
    pub plate: String,
    pub plate_color: u8,
    pub category: Category,
    pub powertrain: Powertrain,
    pub duty: Duty,
    pub district: District,
    /// The 0x0100 terminal-id field: 7 characters (2019: 12).
    pub device_id: String,
    pub imei: String,
}

impl Identity {
    pub fn new(n: u64, version: Version, vin_prefix: &str) -> Result<Self, SimError> {
        let terminal_id = terminal_id(n)?;
        let phone = Phone::from_digits(&terminal_id, version.phone_len())
            .ok_or_else(|| SimError::Config(format!("terminal id {terminal_id} is not BCD")))?;
        let category = Category::for_number(n);
        let powertrain = Powertrain::for_vehicle(category, n);
        let duty = Duty::for_vehicle(category, n);
        let device_id = match version {
            Version::V2019 => format!("HT{:010}", n),
            _ => format!("HT{:05}", n % 100_000),
        };
        Ok(Self {
            number: n,
            phone,
            version,
            vin: vin_for(vin_prefix, n)?,
            plate: plate(category, powertrain, n),
            plate_color: plate_color(category, powertrain),
            category,
            powertrain,
            duty,
            district: duty.district(),
            device_id,
            imei: imei(n),
            terminal_id,
        })
    }

    pub fn owner_org(&self) -> &'static str {
        self.category.owner_org()
    }
}

/// Writes the registry of `fleet` as CSV: [`CSV_HEADER`], then one row per terminal (UTF-8;
/// no field needs quoting).
pub fn write_csv<W: Write>(out: &mut W, fleet: &[Identity]) -> io::Result<()> {
    writeln!(out, "{CSV_HEADER}")?;
    for t in fleet {
        writeln!(
            out,
            "{},{},{},{},{},{}",
            t.vin,
            t.terminal_id,
            t.plate,
            t.category.as_str(),
            t.powertrain.as_str(),
            t.owner_org()
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_plates_and_imeis() {
        assert_eq!(terminal_id(1).unwrap(), "13800000001");
        assert_eq!(terminal_id(MAX_TERMINAL_NUMBER).unwrap(), "13899999999");
        assert!(terminal_id(MAX_TERMINAL_NUMBER + 1).is_err());
        assert_eq!(plate(Category::Taxi, Powertrain::Bev, 1), "津ED00001");
        assert_eq!(plate(Category::Bus, Powertrain::Bev, 2), "津A00002D");
        assert_eq!(
            plate(Category::HeavyTruck, Powertrain::Ice, 123_456),
            "津C23456"
        );
        assert_eq!(
            plate(Category::HeavyTruck, Powertrain::Fcev, 5),
            "津C00005F"
        );
        // 490154203237518 is the textbook Luhn-valid IMEI; ours pass the same check.
        let luhn_ok = |s: &str| {
            let sum: u32 = s
                .bytes()
                .rev()
                .enumerate()
                .map(|(i, b)| {
                    let d = u32::from(b - b'0');
                    if i % 2 == 1 {
                        (d * 2) / 10 + (d * 2) % 10
                    } else {
                        d
                    }
                })
                .sum();
            sum.is_multiple_of(10)
        };
        assert!(luhn_ok("490154203237518"));
        for n in [0, 1, 42, 999_999, 1_000_001] {
            let i = imei(n);
            assert_eq!(i.len(), 15);
            assert!(luhn_ok(&i), "{i}");
        }
    }

    #[test]
    fn the_phone_field_has_the_versions_width_and_the_same_canonical_id() {
        for (n, v) in [
            (1, Version::V2013),
            (2, Version::V2019),
            (3, Version::V2011),
        ] {
            assert_eq!(Versions::Mixed.for_number(n), v);
            let id = Identity::new(n, v, DEFAULT_VIN_PREFIX).unwrap();
            assert_eq!(id.phone.bcd().len(), v.phone_len());
            assert_eq!(id.phone.terminal_id(), id.terminal_id);
            assert_eq!(id.vin.len(), 17);
        }
    }
}
