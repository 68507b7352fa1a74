//! Alarm and derived-state logic as pure state machines: samples and time go in, events come out.
//!
//! Nothing here does IO, spawns tasks or reads a clock; every instant arrives inside the input
//! (DESIGN.md §3, the `rules` row), so the same input always gives the same events.
//!
//! The [`Engine`] runs every rule over each vehicle's samples:
//! - `rule::vehicle`: the vehicle's own GB/T 32960 alarm flags (source `vehicle`);
//! - derived rules (source `rule`): `offline` on clock ticks; `clock_ahead`; cell voltage spread
//!   and deviation; temperature high, rise and spread; insulation per volt; SOC, odometer and
//!   position continuity; persistent invalid data.
//!
//! All of them share one lifecycle (`lifecycle`): one open alarm per vehicle and kind, opened
//! when the condition holds, level-changed when its level moves, closed after
//! `clear_after_samples` consecutive clear evaluations. Thresholds are [`RulesConfig`].

mod config;
mod engine;
mod event;
mod lifecycle;
mod rule;

pub use config::RulesConfig;
pub use engine::Engine;
pub use event::{AlarmChange, AlarmEvent, AlarmSource, kind_from_str};
pub use model::alarm::is_critical;

/// What a frame's alarm block says beyond the sample's columns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FrameAlarms {
    /// 2025 only: the per-flag levels of the N5 list, as (bit, level).
    pub flag_levels: Vec<(u8, u8)>,
    /// Fault codes as (category, code); the category is `ress`, `motor`, `engine` or `other`.
    pub fault_codes: Vec<(&'static str, u32)>,
}

#[cfg(test)]
mod tests;
