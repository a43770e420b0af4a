//! The leaky integrate-and-fire (LIF) unit, integrated by forward Euler.
//!
//! ```text
//! C·du/dt = −(u − u_rest)·λ + I      (u in mV, I in µA/cm², C in µF/cm², λ in mS/cm², t in ms)
//! u ← u + dt·(−(u − u_rest)·λ + I)/C
//! ```
//!
//! In the s-LIF2HH chain λ = 1 − decay with decay = 0.9 and C = 1, so a unit loses a tenth of
//! its potential per 1 ms step. Firing and reset are decided by the caller, because a stage of
//! four units fires only when all of them are above threshold.

use serde::{Deserialize, Serialize};

/// Constants of a LIF unit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LifParams {
    /// Resting potential u_rest, in mV.
    pub rest_mv: f64,
    /// Leak conductance λ, in mS/cm² (for C = 1: the fraction lost per ms).
    pub leak: f64,
    /// Capacitance C, in µF/cm².
    pub capacitance: f64,
    /// Threshold, in mV, above which the unit counts as active.
    pub threshold_mv: f64,
}

impl LifParams {
    /// The s-LIF2HH unit: rest 0 mV, decay 0.9 (λ = 0.1), C = 1, threshold 70 mV.
    pub fn s_lif2hh() -> Self {
        Self {
            rest_mv: 0.0,
            leak: 1.0 - 0.9,
            capacitance: 1.0,
            threshold_mv: 70.0,
        }
    }

    /// The potential after one forward-Euler step of `dt_ms` under `current`.
    pub fn step(&self, u_mv: f64, current: f64, dt_ms: f64) -> f64 {
        u_mv + dt_ms * (-(u_mv - self.rest_mv) * self.leak + current) / self.capacitance
    }

    /// Whether a potential is above threshold.
    pub fn is_above(&self, u_mv: f64) -> bool {
        u_mv > self.threshold_mv
    }
}

impl Default for LifParams {
    fn default() -> Self {
        Self::s_lif2hh()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn step_decays_toward_rest() {
        // u = 50, I = 0, dt = 1: 50 + (−50·0.1) = 45.
        let params = LifParams::s_lif2hh();
        assert!((params.step(50.0, 0.0, 1.0) - 45.0).abs() < 1e-12);
    }

    #[test]
    fn constant_input_reaches_fixed_point() {
        // Fixed point u* = I/λ = 9/0.1 = 90 for the chain's constant input.
        let params = LifParams::s_lif2hh();
        let mut u = 0.0;
        for _ in 0..400 {
            u = params.step(u, 9.0, 1.0);
        }
        assert!((u - 90.0).abs() < 1e-9, "{u}");
    }
}
