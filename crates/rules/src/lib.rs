//! Alarm and derived-state logic as pure state machines: samples and time go in, events come out.
//!
//! Nothing here does IO, spawns tasks or reads a clock; every instant arrives inside the input
//! (DESIGN.md §3, the `rules` row), so the same input always gives the same events.

mod alarm;

pub use alarm::{AlarmChange, AlarmEvent, AlarmTracker, is_critical};
