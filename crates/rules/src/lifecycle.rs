//! The one alarm lifecycle every rule shares: verdicts in, opened / level-changed / closed out.
//!
//! A vehicle has at most one open alarm per kind. For each sample a rule could evaluate, it
//! reports per kind either "holds at level L" or "clear"; a kind it could not evaluate (the data
//! was missing or NULL) is simply not reported, so missing data never counts as good data.
//!
//! - Holds: a closed alarm opens; an open one at another level changes level; either way the
//!   count of consecutive clear evaluations starts again from zero.
//! - Clear: an open alarm closes on the `clear_after_samples`-th consecutive clear evaluation.
//!   That is the anti-flapping rule: a condition toggling every sample (or every other one)
//!   never closes, so it never opens twice either.
//! - Some closes do not wait: `offline` when the vehicle is heard again, a flag the vehicle's new
//!   edition does not name (it can never be reported clear again).
//!
//! [`Emitter`] applies verdicts to one vehicle's [`OpenAlarms`] and turns the changes into
//! [`AlarmEvent`]s, formatting the detail text only when an event is actually emitted. In
//! warm-up (`live == false`) it does nothing at all, so the rules can run for their memory alone.

use model::alarm::is_critical;
use model::{Timestamp, Vin};

use crate::FrameAlarms;
use crate::event::{AlarmChange, AlarmEvent, source_of};
use crate::rule::{Closing, Facts, Verdict};

/// The open alarms of one vehicle. Usually none or a few, so a vector beats a map.
#[derive(Debug, Default)]
pub(crate) struct OpenAlarms {
    alarms: Vec<Open>,
}

#[derive(Debug)]
struct Open {
    kind: &'static str,
    level: u8,
    /// Consecutive clear evaluations since the condition last held.
    clear_run: u32,
}

impl OpenAlarms {
    fn find(&self, kind: &str) -> Option<usize> {
        self.alarms.iter().position(|a| a.kind == kind)
    }

    /// The level of the open alarm of `kind`.
    pub(crate) fn level(&self, kind: &str) -> Option<u8> {
        self.find(kind).map(|i| self.alarms[i].level)
    }

    /// `(kind, level)` of every open alarm, in kind-name order.
    pub(crate) fn list(&self) -> Vec<(&'static str, u8)> {
        let mut list: Vec<_> = self.alarms.iter().map(|a| (a.kind, a.level)).collect();
        list.sort_unstable();
        list
    }

    /// Open kinds, in no particular order.
    pub(crate) fn kinds(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.alarms.iter().map(|a| a.kind)
    }

    /// Seeds an alarm loaded from storage; returns whether it was not open already.
    pub(crate) fn restore(&mut self, kind: &'static str, level: u8) -> bool {
        match self.find(kind) {
            Some(i) => {
                self.alarms[i].level = level;
                self.alarms[i].clear_run = 0;
                false
            }
            None => {
                self.alarms.push(Open {
                    kind,
                    level,
                    clear_run: 0,
                });
                true
            }
        }
    }

    /// The condition holds. `None` as the level means "unknown": a new alarm opens at level 0,
    /// an open one keeps its level.
    fn holds(&mut self, kind: &'static str, level: Option<u8>) -> Option<(AlarmChange, u8)> {
        let Some(i) = self.find(kind) else {
            let level = level.unwrap_or(0);
            self.alarms.push(Open {
                kind,
                level,
                clear_run: 0,
            });
            return Some((AlarmChange::Opened, level));
        };
        let open = &mut self.alarms[i];
        open.clear_run = 0;
        match level {
            Some(level) if level != open.level => {
                let from = open.level;
                open.level = level;
                Some((AlarmChange::LevelChanged { from }, level))
            }
            _ => None,
        }
    }

    /// The condition was evaluated and is clear.
    fn clear(&mut self, kind: &str, clear_after: u32) -> Option<(AlarmChange, u8)> {
        let i = self.find(kind)?;
        let open = &mut self.alarms[i];
        open.clear_run += 1;
        if open.clear_run < clear_after.max(1) {
            return None;
        }
        Some((AlarmChange::Closed, self.alarms.swap_remove(i).level))
    }

    /// Closes at once, without waiting for clear samples.
    fn close(&mut self, kind: &str) -> Option<(AlarmChange, u8)> {
        let i = self.find(kind)?;
        Some((AlarmChange::Closed, self.alarms.swap_remove(i).level))
    }
}

/// Applies one vehicle's verdicts and collects the events (see the module doc).
pub(crate) struct Emitter<'a> {
    pub(crate) vin: &'a Vin,
    /// `at` of the events emitted.
    pub(crate) at: Timestamp,
    /// `false` in warm-up: nothing changes, nothing is emitted.
    pub(crate) live: bool,
    pub(crate) clear_after: u32,
    pub(crate) open: &'a mut OpenAlarms,
    /// The engine-wide number of open alarms, kept in step.
    pub(crate) open_total: &'a mut usize,
    pub(crate) events: &'a mut Vec<AlarmEvent>,
    /// The frame's alarm block, for the detail of vehicle flags.
    pub(crate) frame: &'a FrameAlarms,
}

impl Emitter<'_> {
    /// One rule's verdict on one kind; `None`: not evaluated on this sample.
    pub(crate) fn verdict(&mut self, kind: &'static str, verdict: Option<Verdict>) {
        match verdict {
            None => {}
            Some(Verdict::Clear) => self.clear(kind),
            Some(Verdict::Holds { level, facts }) => self.holds(kind, Some(level), facts),
        }
    }

    pub(crate) fn holds(&mut self, kind: &'static str, level: Option<u8>, facts: Facts) {
        if !self.live {
            return;
        }
        if let Some((change, level)) = self.open.holds(kind, level) {
            if change == AlarmChange::Opened {
                *self.open_total += 1;
            }
            let detail = facts.detail(self.frame);
            self.emit(kind, level, change, detail);
        }
    }

    pub(crate) fn clear(&mut self, kind: &'static str) {
        if !self.live {
            return;
        }
        if let Some((change, level)) = self.open.clear(kind, self.clear_after) {
            *self.open_total -= 1;
            let samples = self.clear_after.max(1);
            self.emit(kind, level, change, Closing::Cleared { samples }.detail());
        }
    }

    pub(crate) fn close(&mut self, kind: &'static str, why: Closing) {
        if !self.live {
            return;
        }
        if let Some((change, level)) = self.open.close(kind) {
            *self.open_total -= 1;
            self.emit(kind, level, change, why.detail());
        }
    }

    fn emit(&mut self, kind: &'static str, level: u8, change: AlarmChange, detail: String) {
        self.events.push(AlarmEvent {
            entity_id: self.vin.clone(),
            kind,
            level,
            critical: is_critical(level),
            at: self.at,
            change,
            source: source_of(kind),
            detail,
        });
    }
}
