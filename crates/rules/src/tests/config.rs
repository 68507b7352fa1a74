//! `RulesConfig` as a TOML section: defaults, partial sections, refused unknown keys.

use crate::RulesConfig;

#[test]
fn an_empty_section_is_the_defaults() {
    let config: RulesConfig = toml::from_str("").unwrap();
    assert_eq!(config, RulesConfig::default());
    assert_eq!(config.clear_after_samples, 3);
    assert_eq!(config.cell_spread_max_v, 0.3);
}

#[test]
fn a_partial_section_keeps_the_other_defaults() {
    let config: RulesConfig =
        toml::from_str("cell_spread_max_v = 0.2\noffline_min_secs = 60\n").unwrap();
    assert_eq!(
        config,
        RulesConfig {
            cell_spread_max_v: 0.2,
            offline_min_secs: 60,
            ..RulesConfig::default()
        }
    );
}

#[test]
fn a_misspelt_key_is_refused() {
    let err = toml::from_str::<RulesConfig>("cell_spread_max = 0.2\n").unwrap_err();
    assert!(err.to_string().contains("cell_spread_max"), "{err}");
}
