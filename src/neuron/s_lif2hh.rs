//! One s-LIF2HH stage: four LIF units standing in for one rest-at-0 HH neuron.
//!
//! Units 1–3 play the sodium, potassium and leak channels; unit 4 integrates their sum. Every
//! unit has rest 0 mV, C = 1 and decay 0.9 (see `LifParams::s_lif2hh`), and one step of
//! `dt` ms is
//!
//! ```text
//! uk ← uk + dt·(−0.1·uk + Ik)          k = 1, 2, 3 (inputs given by the caller)
//! u4 ← u4 + dt·(−0.1·u4 + u1 + u2 + u3)   (with the new u1..u3)
//! ```
//!
//! The stage spikes when all four units exceed 70 mV; then all four reset to 0. The
//! per-unit "above 70" flags, taken before the reset, are what the next stage reads.

use serde::{Deserialize, Serialize};

use crate::neuron::lif::LifParams;

/// State of a stage: the four unit potentials in mV.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct SLifStage {
    /// Potentials of units 1–4, in mV.
    pub units_mv: [f64; 4],
}

/// What a stage did in one step.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StageStep {
    /// Whether all four units exceeded threshold (the stage spiked and reset).
    pub spiked: bool,
    /// Per unit: above threshold after the update, before any reset.
    pub above: [bool; 4],
}

impl SLifStage {
    /// Advances the stage by one step of `dt_ms`; `inputs` drive units 1–3.
    pub fn step(&mut self, params: &LifParams, inputs: [f64; 3], dt_ms: f64) -> StageStep {
        let u = &mut self.units_mv;
        for k in 0..3 {
            u[k] = params.step(u[k], inputs[k], dt_ms);
        }
        let channel_sum = u[0] + u[1] + u[2];
        u[3] = params.step(u[3], channel_sum, dt_ms);

        let above = u.map(|value| params.is_above(value));
        let spiked = above.iter().all(|&a| a);
        if spiked {
            *u = [params.rest_mv; 4];
        }
        StageStep { spiked, above }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn stage_integrates_then_fires_and_resets() {
        // Constant input 9, dt 1: units 1–3 follow u ← 0.9u + 9 (0 → 9 → 17.1 → 24.39 → …)
        // and unit 4 gathers their sum, so unit 4 passes 70 early. Units 1–3 pass 70 at step
        // 15 (9·(1 − 0.9^15)/0.1 = 71.47, while step 14 gives 69.41).
        let params = LifParams::s_lif2hh();
        let mut stage = SLifStage::default();
        let mut first_spike = None;
        for step in 1..=20 {
            let out = stage.step(&params, [9.0; 3], 1.0);
            if out.spiked && first_spike.is_none() {
                first_spike = Some(step);
                assert_eq!(stage.units_mv, [0.0; 4]);
            }
        }
        assert_eq!(first_spike, Some(15));
    }

    #[test]
    fn partial_activity_does_not_spike() {
        let params = LifParams::s_lif2hh();
        let mut stage = SLifStage::default();
        let out = stage.step(&params, [1e5, 0.0, 0.0], 1.0);
        assert!(out.above[0]);
        assert!(!out.above[1]);
        assert!(out.above[3]);
        assert!(!out.spiked);
    }
}
