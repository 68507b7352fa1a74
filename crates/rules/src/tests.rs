//! Table-driven timeline tests: each timeline is a list of steps (a sample built from a healthy
//! baseline with a few fields changed, a clock tick, a logout) and the exact events each step
//! must cause. One module per rule family, plus the lifecycle, restore/warm-up and ordering.

mod support;

mod cells;
mod clock;
mod config;
mod continuity;
mod insulation;
mod lifecycle;
mod offline;
mod quality;
mod restore;
mod temperature;
mod vehicle;
