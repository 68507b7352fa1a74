//! `data_quality` (level 1): the device keeps sending invalid or abnormal values.
//!
//! A sample is poor when at least `quality_min_fields` bits of its `quality` mask are set; the
//! condition holds once `quality_samples` consecutive samples were poor. Every sample can be
//! judged (the mask is always there).

use model::VehicleSample;

use crate::RulesConfig;
use crate::rule::{Facts, Verdict};

/// Per vehicle: consecutive poor samples up to now.
#[derive(Debug, Default)]
pub(crate) struct Quality {
    run: u32,
}

impl Quality {
    pub(crate) fn evaluate(&mut self, s: &VehicleSample, cfg: &RulesConfig) -> Verdict {
        if s.quality.count_ones() >= cfg.quality_min_fields.max(1) {
            self.run = self.run.saturating_add(1);
        } else {
            self.run = 0;
        }
        if self.run >= cfg.quality_samples.max(1) {
            Verdict::Holds {
                level: 1,
                facts: Facts::DataQuality {
                    bits: s.quality,
                    samples: self.run,
                    min_fields: cfg.quality_min_fields,
                },
            }
        } else {
            Verdict::Clear
        }
    }
}
