//! Cell voltages: `cell_voltage_spread` and `cell_voltage_deviation` (level 2 both).
//!
//! - **Spread**: highest minus lowest valid cell voltage above `cell_spread_max_v`. It needs two
//!   valid cells in the list, or else both `max_cell_voltage_v` and `min_cell_voltage_v`.
//! - **Deviation**: a cell whose distance from the pack mean exceeds both
//!   `cell_deviation_sigma` population standard deviations and `cell_deviation_min_v`, and has
//!   done so for the same cell index on `cell_deviation_samples` consecutive samples with cell
//!   lists. It needs at least three valid cells. (With n cells no cell can be more than
//!   (n−1)/√n σ from the mean, so 4 σ needs at least 18 cells: small packs never fire.)
//!   A NULL cell neither deviates nor counts in mean and σ.
//!
//! The run of each deviating cell is kept in a fixed array of [`SLOTS`] (index, run) pairs:
//! no allocation per vehicle or sample. By Chebyshev's inequality fewer than 1/k² of the cells
//! can be k σ out, so with k = 4 fewer than 1 in 16 can: eight slots hold every deviating cell
//! of a pack of up to 128. If more deviate at once, the first eight in pack order are followed.
//!
//! A sample without a cell list leaves the runs as they were (no data is not good data).

use model::VehicleSample;

use crate::RulesConfig;
use crate::event::kind;
use crate::lifecycle::Emitter;
use crate::rule::{Facts, ListStats, Verdict};

const LEVEL: u8 = 2;
const SLOTS: usize = 8;

/// Per vehicle: the cells deviating now, and on how many consecutive samples.
#[derive(Debug, Default)]
pub(crate) struct Cells {
    runs: [(u16, u16); SLOTS],
    len: u8,
}

impl Cells {
    pub(crate) fn evaluate(&mut self, s: &VehicleSample, cfg: &RulesConfig, em: &mut Emitter<'_>) {
        let stats = ListStats::of(&s.cell_voltages_v);
        em.verdict(kind::CELL_VOLTAGE_SPREAD, spread(s, &stats, cfg));
        em.verdict(kind::CELL_VOLTAGE_DEVIATION, self.deviation(s, &stats, cfg));
    }

    fn deviation(
        &mut self,
        s: &VehicleSample,
        st: &ListStats,
        cfg: &RulesConfig,
    ) -> Option<Verdict> {
        if st.n < 3 {
            return None;
        }
        let n = st.n as f64;
        let mean = st.sum / n;
        let sigma = (st.sum_sq / n - mean * mean).max(0.0).sqrt();
        // Deviating means further than both limits.
        let limit = (cfg.cell_deviation_sigma * sigma).max(cfg.cell_deviation_min_v);
        if st.max - mean <= limit && mean - st.min <= limit {
            // The common case: no cell is out, every run ends.
            self.len = 0;
            return Some(Verdict::Clear);
        }
        let old = self.runs;
        let old = &old[..usize::from(self.len)];
        self.len = 0;
        for (i, v) in s.cell_voltages_v.iter().enumerate() {
            let Some(v) = *v else { continue };
            if !v.is_finite() || (v - mean).abs() <= limit || usize::from(self.len) == SLOTS {
                continue;
            }
            let Ok(index) = u16::try_from(i) else { break };
            let run = old
                .iter()
                .find(|(j, _)| *j == index)
                .map_or(1, |(_, r)| r.saturating_add(1));
            self.runs[usize::from(self.len)] = (index, run);
            self.len += 1;
        }
        let need = cfg.cell_deviation_samples.max(1);
        let worst = self.runs[..usize::from(self.len)]
            .iter()
            .filter(|(_, run)| u32::from(*run) >= need)
            .filter_map(|&(i, run)| {
                let v = s.cell_voltages_v[usize::from(i)]?;
                Some((usize::from(i), v, run))
            })
            .max_by(|a, b| (a.1 - mean).abs().total_cmp(&(b.1 - mean).abs()));
        Some(match worst {
            None => Verdict::Clear,
            Some((i, v, run)) => Verdict::Holds {
                level: LEVEL,
                facts: Facts::CellDeviation {
                    cell: i + 1,
                    value_v: v,
                    mean_v: mean,
                    sigmas: if sigma > 0.0 {
                        (v - mean).abs() / sigma
                    } else {
                        f64::INFINITY
                    },
                    limit_sigmas: cfg.cell_deviation_sigma,
                    samples: u32::from(run),
                },
            },
        })
    }
}

fn spread(s: &VehicleSample, st: &ListStats, cfg: &RulesConfig) -> Option<Verdict> {
    let (max_v, min_v) = st.extremes(2, s.max_cell_voltage_v, s.min_cell_voltage_v)?;
    Some(if max_v - min_v > cfg.cell_spread_max_v {
        Verdict::Holds {
            level: LEVEL,
            facts: Facts::CellSpread {
                max_v,
                min_v,
                limit_v: cfg.cell_spread_max_v,
            },
        }
    } else {
        Verdict::Clear
    })
}
