//! The Hodgkin–Huxley (HH) neuron in its two voltage conventions, integrated by forward Euler.
//!
//! Membrane equation (time t in ms, potential u in mV, current I in µA/cm², conductances in
//! mS/cm², capacitance C in µF/cm²):
//!
//! ```text
//! C·du/dt = I − ḡNa·m³·h·(u − ENa) − ḡK·n⁴·(u − EK) − gL·(u − EL)
//! dx/dt   = αx(u)·(1 − x) − βx(u)·x          for each gate x in m, n, h (rates in 1/ms)
//! ```
//!
//! with ḡNa = 120, ḡK = 36, gL = 0.3 and C = 1. The rate functions are the classic ones of
//! Hodgkin and Huxley (1952), written in a shifted voltage v = u − u_rest, where u_rest is 0 mV
//! (the original 1952 convention) or −65 mV (the modern convention):
//!
//! ```text
//! αn = 0.01·(v − 10)/(1 − exp(−(v − 10)/10))    βn = 0.125·exp(−v/80)
//! αm = 0.1·(v − 25)/(1 − exp(−(v − 25)/10))     βm = 4·exp(−v/18)
//! αh = 0.07·exp(−v/20)                          βh = 1/(1 + exp(−(v − 30)/10))
//! ```
//!
//! αn and αm are 0/0 at v = 10 and v = 25 mV; their limits there are 0.1 and 1.0 per ms. Near
//! those points this module evaluates x/(1 − e^(−x/10)) by its Taylor series, so the rates are
//! finite and smooth everywhere.
//!
//! One Euler step computes every derivative from the state before the step, then updates u, m,
//! n and h together.

use serde::{Deserialize, Serialize};

/// Maximal sodium conductance ḡNa, in mS/cm².
pub const G_NA_MAX: f64 = 120.0;

/// Maximal potassium conductance ḡK, in mS/cm².
pub const G_K_MAX: f64 = 36.0;

/// Leak conductance gL, in mS/cm².
pub const G_LEAK: f64 = 0.3;

/// Membrane capacitance C, in µF/cm².
pub const CAPACITANCE: f64 = 1.0;

/// Half-width, in the scaled variable y = x/10, below which x/(1 − e^(−y)) is evaluated by
/// its series. At |y| = 1e-6 the dropped y³ term is below 1e-19 relative, far under f64
/// rounding, and `expm1` is still exact to a few ulps just outside it.
const SERIES_HALF_WIDTH: f64 = 1e-6;

/// Voltage convention: the resting potential that the rate functions and reversal potentials
/// assume.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HhConvention {
    /// Rest near 0 mV, as in Hodgkin and Huxley (1952): ENa 115, EK −12, EL 10.613 mV;
    /// a spike is u > 70 mV after the step.
    RestAtZero,
    /// Rest near −65 mV: ENa 50, EK −77, EL −54.387 mV; a spike is the potential before the
    /// step above −40 mV.
    RestAtMinus65,
}

/// Constants of one HH neuron.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HhParams {
    /// Voltage convention; sets the spike rule.
    pub convention: HhConvention,
    /// Resting offset u_rest in mV: the rate functions are evaluated at v = u − u_rest.
    pub rest_offset_mv: f64,
    /// Maximal sodium conductance ḡNa, in mS/cm².
    pub g_na_max: f64,
    /// Maximal potassium conductance ḡK, in mS/cm².
    pub g_k_max: f64,
    /// Leak conductance gL, in mS/cm².
    pub g_leak: f64,
    /// Sodium reversal potential ENa, in mV.
    pub e_na_mv: f64,
    /// Potassium reversal potential EK, in mV.
    pub e_k_mv: f64,
    /// Leak reversal potential EL, in mV.
    pub e_leak_mv: f64,
    /// Membrane capacitance, in µF/cm².
    pub capacitance: f64,
    /// Spike threshold in mV (70 for rest-at-0, −40 for rest-at-−65).
    pub spike_threshold_mv: f64,
}

/// State of one HH neuron: potential and the three gates.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HhState {
    /// Membrane potential u, in mV.
    pub u_mv: f64,
    /// Sodium activation gate m, dimensionless in [0, 1].
    pub m: f64,
    /// Potassium activation gate n, dimensionless in [0, 1].
    pub n: f64,
    /// Sodium inactivation gate h, dimensionless in [0, 1].
    pub h: f64,
}

impl HhParams {
    /// Returns the 1952 convention with rest at 0 mV (used by the HH vs s-LIF2HH chain).
    pub fn rest_at_zero() -> Self {
        Self {
            convention: HhConvention::RestAtZero,
            rest_offset_mv: 0.0,
            g_na_max: G_NA_MAX,
            g_k_max: G_K_MAX,
            g_leak: G_LEAK,
            e_na_mv: 115.0,
            e_k_mv: -12.0,
            e_leak_mv: 10.613,
            capacitance: CAPACITANCE,
            spike_threshold_mv: 70.0,
        }
    }

    /// Returns the modern convention with rest at −65 mV (used by the tv-LIF2HH experiments).
    pub fn rest_at_minus_65() -> Self {
        Self {
            convention: HhConvention::RestAtMinus65,
            rest_offset_mv: -65.0,
            g_na_max: G_NA_MAX,
            g_k_max: G_K_MAX,
            g_leak: G_LEAK,
            e_na_mv: 50.0,
            e_k_mv: -77.0,
            e_leak_mv: -54.387,
            capacitance: CAPACITANCE,
            spike_threshold_mv: -40.0,
        }
    }

    /// Parameters of a convention.
    pub fn for_convention(convention: HhConvention) -> Self {
        match convention {
            HhConvention::RestAtZero => Self::rest_at_zero(),
            HhConvention::RestAtMinus65 => Self::rest_at_minus_65(),
        }
    }

    /// αn(u) in 1/ms; 0.1 at the singular point u = u_rest + 10 mV.
    pub fn alpha_n(&self, u_mv: f64) -> f64 {
        let x = u_mv - (self.rest_offset_mv + 10.0);
        0.01 * x_over_one_minus_exp(x)
    }

    /// βn(u) in 1/ms.
    pub fn beta_n(&self, u_mv: f64) -> f64 {
        0.125 * (-(u_mv - self.rest_offset_mv) / 80.0).exp()
    }

    /// αm(u) in 1/ms; 1.0 at the singular point u = u_rest + 25 mV.
    pub fn alpha_m(&self, u_mv: f64) -> f64 {
        let x = u_mv - (self.rest_offset_mv + 25.0);
        0.1 * x_over_one_minus_exp(x)
    }

    /// βm(u) in 1/ms.
    pub fn beta_m(&self, u_mv: f64) -> f64 {
        4.0 * (-(u_mv - self.rest_offset_mv) / 18.0).exp()
    }

    /// αh(u) in 1/ms.
    pub fn alpha_h(&self, u_mv: f64) -> f64 {
        0.07 * (-(u_mv - self.rest_offset_mv) / 20.0).exp()
    }

    /// βh(u) in 1/ms.
    pub fn beta_h(&self, u_mv: f64) -> f64 {
        1.0 / (1.0 + (-(u_mv - (self.rest_offset_mv + 30.0)) / 10.0).exp())
    }

    /// Conductances (gNa, gK, gL) in mS/cm² of a state: ḡNa·m³·h, ḡK·n⁴ and gL.
    pub fn conductances(&self, state: &HhState) -> (f64, f64, f64) {
        let m3 = state.m * state.m * state.m;
        let n2 = state.n * state.n;
        (
            self.g_na_max * m3 * state.h,
            self.g_k_max * n2 * n2,
            self.g_leak,
        )
    }

    /// Advances a state by one forward-Euler step of `dt_ms` under a constant current.
    ///
    /// Every derivative uses the state before the step.
    pub fn step(&self, state: &mut HhState, current_ua_per_cm2: f64, dt_ms: f64) {
        let u = state.u_mv;
        let (g_na, g_k, g_l) = self.conductances(state);
        let ionic =
            g_na * (u - self.e_na_mv) + g_k * (u - self.e_k_mv) + g_l * (u - self.e_leak_mv);

        let dm = self.alpha_m(u) * (1.0 - state.m) - self.beta_m(u) * state.m;
        let dn = self.alpha_n(u) * (1.0 - state.n) - self.beta_n(u) * state.n;
        let dh = self.alpha_h(u) * (1.0 - state.h) - self.beta_h(u) * state.h;

        state.u_mv = u + dt_ms * (current_ua_per_cm2 - ionic) / self.capacitance;
        state.m += dt_ms * dm;
        state.n += dt_ms * dn;
        state.h += dt_ms * dh;
    }

    /// Tests whether a step from `u_before_mv` to `u_after_mv` counts as a spike under this
    /// convention: rest-at-0 tests the new potential (u > 70), rest-at-−65 the previous one
    /// (u > −40).
    pub fn is_spike(&self, u_before_mv: f64, u_after_mv: f64) -> bool {
        match self.convention {
            HhConvention::RestAtZero => u_after_mv > self.spike_threshold_mv,
            HhConvention::RestAtMinus65 => u_before_mv > self.spike_threshold_mv,
        }
    }
}

impl Default for HhParams {
    fn default() -> Self {
        Self::rest_at_minus_65()
    }
}

impl HhState {
    /// Returns the initial state of the convention: u = 0, m = 0.0489, n = 0.6446, h = 0.1341 for
    /// rest-at-0, and u = −70, m = 0.0289, n = 0.2446, h = 0.7541 for rest-at-−65.
    ///
    /// # Reference quirk
    /// The rest-at-0 gates are not the steady state at u = 0 (n∞(0) ≈ 0.318): the reference
    /// starts from them, so the first milliseconds hold a transient.
    pub fn initial(params: &HhParams) -> Self {
        match params.convention {
            HhConvention::RestAtZero => Self {
                u_mv: 0.0,
                m: 0.0489,
                n: 0.6446,
                h: 0.1341,
            },
            HhConvention::RestAtMinus65 => Self {
                u_mv: -70.0,
                m: 0.0289,
                n: 0.2446,
                h: 0.7541,
            },
        }
    }

    /// Computes the steady state at the convention's resting potential: u = u_rest and every gate at
    /// x∞ = αx/(αx + βx). With EL as given (three decimals), the net current there is a few
    /// nA/cm² (−4.2e-3 µA/cm² for rest-at-0), so this state barely moves without input.
    pub fn resting(params: &HhParams) -> Self {
        let u = params.rest_offset_mv;
        let steady = |alpha: f64, beta: f64| alpha / (alpha + beta);
        Self {
            u_mv: u,
            m: steady(params.alpha_m(u), params.beta_m(u)),
            n: steady(params.alpha_n(u), params.beta_n(u)),
            h: steady(params.alpha_h(u), params.beta_h(u)),
        }
    }

    /// Tests whether every field is finite.
    pub fn is_finite(&self) -> bool {
        self.u_mv.is_finite() && self.m.is_finite() && self.n.is_finite() && self.h.is_finite()
    }
}

/// Evaluates x / (1 − e^(−x/10)), whose limit at x = 0 is 10.
///
/// Near 0 it uses the series 10·(1 + y/2 + y²/12) with y = x/10; elsewhere `expm1`, which
/// keeps full precision where 1 − e^(−y) would cancel.
fn x_over_one_minus_exp(x: f64) -> f64 {
    let y = x / 10.0;
    if y.abs() < SERIES_HALF_WIDTH {
        10.0 * (1.0 + y / 2.0 + y * y / 12.0)
    } else {
        x / -(-y).exp_m1()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn rate_limits_at_singular_voltages() {
        // Limits of 0.01·x/(1 − e^(−x/10)) and 0.1·x/(1 − e^(−x/10)) at x = 0: 0.01·10, 0.1·10.
        let zero = HhParams::rest_at_zero();
        let minus_65 = HhParams::rest_at_minus_65();
        assert_eq!(zero.alpha_n(10.0), 0.1);
        assert_eq!(zero.alpha_m(25.0), 1.0);
        assert_eq!(minus_65.alpha_n(-55.0), 0.1);
        assert_eq!(minus_65.alpha_m(-40.0), 1.0);
    }

    #[test]
    fn rates_continuous_near_singular_voltages() {
        // Either side of the singular point within 1e-9 mV, the rate moves by about
        // slope·1e-9 (slope 0.005 for αn, 0.05 for αm): so 1e-9 is a generous bound.
        let params = HhParams::rest_at_minus_65();
        for offset in [1e-12, 1e-10, 1e-9, 1e-7, 1e-6, 9e-6, 1.1e-5, 1e-4] {
            for sign in [-1.0, 1.0] {
                let du = sign * offset;
                let n = params.alpha_n(-55.0 + du);
                let m = params.alpha_m(-40.0 + du);
                assert!(n.is_finite());
                assert!(m.is_finite());
                assert!(
                    (n - (0.1 + 0.005 * du)).abs() < 1e-9,
                    "alpha_n at {du}: {n}"
                );
                assert!((m - (1.0 + 0.05 * du)).abs() < 1e-9, "alpha_m at {du}: {m}");
            }
        }
    }

    #[test]
    fn series_matches_direct_formula_at_switch() {
        // Just outside the series region the direct formula is accurate; the two branches
        // must agree to f64 rounding at the switch point.
        let x = 10.0 * SERIES_HALF_WIDTH;
        let series = 10.0 * (1.0 + (x / 10.0) / 2.0 + (x / 10.0).powi(2) / 12.0);
        let direct = x / -(-x / 10.0).exp_m1();
        assert!((series - direct).abs() < 1e-12, "{series} vs {direct}");
    }

    #[test]
    fn conventions_are_shifted_copies() {
        let zero = HhParams::rest_at_zero();
        let minus_65 = HhParams::rest_at_minus_65();
        for u in [-90.0, -65.0, -40.0, -10.0, 20.0] {
            let v = u + 65.0;
            assert!((zero.alpha_n(v) - minus_65.alpha_n(u)).abs() < 1e-12);
            assert!((zero.beta_n(v) - minus_65.beta_n(u)).abs() < 1e-12);
            assert!((zero.alpha_m(v) - minus_65.alpha_m(u)).abs() < 1e-12);
            assert!((zero.beta_m(v) - minus_65.beta_m(u)).abs() < 1e-12);
            assert!((zero.alpha_h(v) - minus_65.alpha_h(u)).abs() < 1e-12);
            assert!((zero.beta_h(v) - minus_65.beta_h(u)).abs() < 1e-12);
        }
    }

    #[test]
    fn step_matches_hand_computed_derivative() {
        // One step from the rest-at-−65 initial state with I = 0: du = −ionic current, where
        // ionic = 120·0.0289³·0.7541·(−120) + 36·0.2446⁴·(7) + 0.3·(−15.613).
        let params = HhParams::rest_at_minus_65();
        let mut state = HhState::initial(&params);
        params.step(&mut state, 0.0, 0.01);
        let ionic = 120.0 * 0.0289f64.powi(3) * 0.7541 * (-120.0)
            + 36.0 * 0.2446f64.powi(4) * 7.0
            + 0.3 * (-70.0 + 54.387);
        let expected = -70.0 - 0.01 * ionic;
        assert!((state.u_mv - expected).abs() < 1e-12, "{}", state.u_mv);
    }

    #[test]
    fn spike_rule_follows_convention() {
        let zero = HhParams::rest_at_zero();
        assert!(zero.is_spike(60.0, 71.0));
        assert!(!zero.is_spike(71.0, 60.0));
        let minus_65 = HhParams::rest_at_minus_65();
        assert!(minus_65.is_spike(-39.0, -45.0));
        assert!(!minus_65.is_spike(-45.0, -39.0));
    }
}
