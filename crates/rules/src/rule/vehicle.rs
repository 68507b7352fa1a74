//! The vehicle's own alarms: GB/T 32960 general alarm flags (source `vehicle`).
//!
//! Choices made here, and why:
//! - **Level.** 2016 frames carry one level, the maximum of all alarms, so every set flag gets it.
//!   2025 frames may list a level per flag (`FrameAlarms::flag_levels`); a flag without one gets
//!   the maximum level. The 2025 thermal event (bit 23) is level 4 whatever the frame says.
//! - **Unknown level** (maximum level invalid and no per-flag level): an open alarm keeps its
//!   level and a new one opens at level 0, rather than inventing one.
//! - **No alarm block, no opinion.** `alarm_flags == None` means the frame did not carry the
//!   alarm block, not that the alarms cleared: no flag is evaluated.
//! - **A cleared flag** is an ordinary clear verdict, so it closes on the
//!   `clear_after_samples`-th consecutive clear sample like every other alarm.
//! - **Reserved bits** (no name in the sample's edition) are ignored: there is no kind to give
//!   them, and a device that sets them is outside the standard.
//! - **Kinds are names, not bits**, so a vehicle that switches editions keeps the alarms whose
//!   names both editions share; an open flag the new edition does not name can never be reported
//!   clear again, so it closes at once (on the first sample of the new edition with an alarm
//!   block), in name order after the flags.

use model::VehicleSample;
use model::alarm_flags::{FLAG_NAMES_2016, FLAG_NAMES_2025, THERMAL_EVENT_BIT, flag_name};

use crate::FrameAlarms;
use crate::event::{AlarmSource, source_of};
use crate::lifecycle::Emitter;
use crate::rule::{Closing, Facts};

/// The level GB/T 32960.3-2025 gives a thermal event, whatever the frame says.
const THERMAL_EVENT_LEVEL: u8 = 4;

/// The GB/T 32960 edition of a sample's `source` (`true` for 2025); `None` for any other source.
pub(crate) fn edition_2025(source: &str) -> Option<bool> {
    match source {
        "gbt32960-2016" => Some(false),
        "gbt32960-2025" => Some(true),
        _ => None,
    }
}

/// Evaluates every named flag of the sample's edition in bit order, then closes open flags of
/// kinds the edition does not name.
pub(crate) fn evaluate(
    s: &VehicleSample,
    frame: &FrameAlarms,
    edition_2025: bool,
    em: &mut Emitter<'_>,
) {
    let Some(flags) = s.alarm_flags else {
        return;
    };
    for bit in 0u8..32 {
        let Some(kind) = flag_name(edition_2025, bit) else {
            continue;
        };
        if flags >> bit & 1 == 0 {
            em.clear(kind);
            continue;
        }
        let thermal = edition_2025 && bit == THERMAL_EVENT_BIT;
        let level = if thermal {
            Some(THERMAL_EVENT_LEVEL)
        } else if edition_2025 {
            frame
                .flag_levels
                .iter()
                .find(|(b, _)| *b == bit)
                .map(|(_, l)| *l)
                .or(s.alarm_level)
        } else {
            s.alarm_level
        };
        em.holds(kind, level, Facts::Flag { level, thermal });
    }
    let names: &[&str] = if edition_2025 {
        &FLAG_NAMES_2025
    } else {
        &FLAG_NAMES_2016
    };
    let foreign = |k: &&'static str| source_of(k) == AlarmSource::Vehicle && !names.contains(k);
    // Only after an edition switch (or a restore) can such a kind be open: look before collecting.
    if em.open.kinds().any(|k| foreign(&k)) {
        let mut stale: Vec<&'static str> = em.open.kinds().filter(foreign).collect();
        stale.sort_unstable();
        let source = if edition_2025 {
            "gbt32960-2025"
        } else {
            "gbt32960-2016"
        };
        for kind in stale {
            em.close(kind, Closing::NotInEdition { source });
        }
    }
}
