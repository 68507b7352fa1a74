//! The names of the GB/T 32960 general alarm flag bits (Table 18 of 2016, Table 24 of 2025).
//!
//! They are domain data shared by the codec (which prints them) and the rules (which name alarms
//! after them), so they live here, once.

/// General alarm flag bits of GB/T 32960.3-2016, bit 0 first; bits 19–31 are reserved.
pub const FLAG_NAMES_2016: [&str; 19] = [
    "temperature_difference",
    "battery_high_temperature",
    "energy_storage_over_voltage",
    "energy_storage_under_voltage",
    "soc_low",
    "cell_over_voltage",
    "cell_under_voltage",
    "soc_too_high",
    "soc_jump",
    "energy_storage_mismatch",
    "cell_poor_consistency",
    "insulation",
    "dcdc_temperature",
    "brake_system",
    "dcdc_state",
    "motor_controller_temperature",
    "high_voltage_interlock",
    "motor_temperature",
    "energy_storage_over_charge",
];

/// General alarm flag bits of GB/T 32960.3-2025, bit 0 first; bits 28–31 are reserved.
pub const FLAG_NAMES_2025: [&str; 28] = [
    "temperature_difference",
    "battery_high_temperature",
    "energy_storage_over_voltage",
    "energy_storage_under_voltage",
    "soc_low",
    "unit_over_voltage",
    "unit_under_voltage",
    "soc_too_high",
    "soc_jump",
    "energy_storage_mismatch",
    "unit_poor_consistency",
    "insulation",
    "dcdc_temperature",
    "brake_system",
    "dcdc_state",
    "motor_controller_temperature",
    "high_voltage_interlock",
    "motor_temperature",
    "energy_storage_over_charge",
    "motor_over_speed",
    "motor_over_current",
    "super_capacitor_over_temperature",
    "super_capacitor_over_voltage",
    "thermal_event",
    "hydrogen_leak",
    "hydrogen_pressure_abnormal",
    "hydrogen_temperature_abnormal",
    "fuel_cell_stack_over_temperature",
];

/// The 2025 bit that reports a thermal event (thermal runaway); always level 4.
pub const THERMAL_EVENT_BIT: u8 = 23;

/// The name of general alarm bit `bit` in an edition; `None` for reserved bits.
pub fn flag_name(edition_2025: bool, bit: u8) -> Option<&'static str> {
    let names: &[&'static str] = if edition_2025 {
        &FLAG_NAMES_2025
    } else {
        &FLAG_NAMES_2016
    };
    names.get(usize::from(bit)).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_thermal_bit_is_named() {
        for names in [&FLAG_NAMES_2016[..], &FLAG_NAMES_2025[..]] {
            let mut sorted = names.to_vec();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), names.len());
        }
        assert_eq!(flag_name(true, THERMAL_EVENT_BIT), Some("thermal_event"));
        assert_eq!(flag_name(false, 19), None);
        assert_eq!(flag_name(true, 28), None);
        assert_eq!(flag_name(false, 5), Some("cell_over_voltage"));
    }
}
