//! Hodgkin–Huxley (HH) neurons for learning, and the fully connected HH layer.
//!
//! State per neuron: potential v (mV-like, rest 0) and gates n, m, h, all starting at 0.
//! Per step, with fixed per-unit rates a_x, b_x drawn once as c·U(0,1) (c = 0.01 here) and
//! voltage-independent:
//!
//! ```text
//! I_Na = 120·m³·h·(v − 115)    I_K = 36·n⁴·(v + 12)    I_L = 0.3·(v − 10.6)
//! v ← v + dt·(I − I_Na − I_K − I_L)
//! x ← x + dt·(a_x·(1 − x) − b_x·x)           for x in n, m, h (old values on the right)
//! s = spike(v_new, θ, w)                      no reset
//! ```
//!
//! `HH_fc`: dt 0.01, θ 0.2, w 0.3, and the gradient flows through the ionic currents.
//! `HH_conv`: dt 0.1, θ 2.3, w 0.5, and the ionic currents are detached (no gradient).
//!
//! The gates depend on neither the input nor v, so their trajectory is the same for every
//! sample: [`HhGates`] computes the conductances of all T steps once per forward pass, per
//! unit, and the batch only integrates v.
//!
//! The rates are stored as the variable `rates` `(6, units)` (rows a_n, b_n, a_m, b_m, a_h,
//! b_h) so checkpoints restore them. They are read as plain numbers, so they receive no
//! gradient and an optimiser that skips gradient-less variables leaves them fixed, like the
//! reference's `requires_grad=False` parameters.
//!
//! Shapes: currents `(T_in, …, units)`, spikes `(T, …, units)`; the fully connected layer maps
//! `(batch, in)` to rates `(batch, out)`, the conv layer `(T_in, batch, C, H, W)` to pooled
//! spikes `(T, batch, C', H/2, W/2)`.
//!
//! # Reference quirk
//! In `HH_conv` the reference draws one rate per column of the feature map, not one per
//! position: a vector of length W is broadcast over batch, channels and rows. hhlab does the
//! same, so its `rates` are `(6, W)`. Like [`crate::nn::lif::LifFc`], [`HhFc`] computes the
//! projection of its static input once and reuses it for all T steps.

use candle_core::{Module, Result, Tensor};
use candle_nn::{Init, Linear, VarBuilder};

use crate::nn::conv::Conv3x3;
use crate::nn::init;
use crate::nn::neurons;
use crate::nn::static_input::static_linear;

/// Constants of an HH population used for learning.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HhLayerParams {
    /// Spike threshold θ on the updated potential.
    pub threshold: f64,
    /// Half-width w of the surrogate-gradient window.
    pub window: f64,
    /// Euler step.
    pub dt: f64,
    /// Scale c of the per-unit rates c·U(0,1).
    pub rate_scale: f64,
    /// Whether the ionic currents are detached from the graph (`HH_conv`).
    pub detach_ionic: bool,
    /// Sodium reversal potential ENa.
    pub e_na: f64,
    /// Potassium reversal potential EK.
    pub e_k: f64,
    /// Leak reversal potential EL.
    pub e_l: f64,
    /// Maximal sodium conductance ḡNa.
    pub g_na_max: f64,
    /// Maximal potassium conductance ḡK.
    pub g_k_max: f64,
    /// Leak conductance gL.
    pub g_l: f64,
}

impl HhLayerParams {
    /// `HH_fc`: dt 0.01, θ 0.2, w 0.3, ionic currents carry gradient.
    pub const FC: HhLayerParams = HhLayerParams {
        threshold: 0.2,
        window: 0.3,
        dt: 0.01,
        rate_scale: 0.01,
        detach_ionic: false,
        e_na: 115.0,
        e_k: -12.0,
        e_l: 10.6,
        g_na_max: 120.0,
        g_k_max: 36.0,
        g_l: 0.3,
    };

    /// `HH_conv`: dt 0.1, θ 2.3, w 0.5, ionic currents detached.
    pub const CONV: HhLayerParams = HhLayerParams {
        threshold: 2.3,
        window: 0.5,
        dt: 0.1,
        detach_ionic: true,
        ..HhLayerParams::FC
    };
}

/// Sodium and potassium conductances of every step, per unit (the same for all samples).
#[derive(Debug, Clone)]
pub struct HhGates {
    units: usize,
    /// `g_na[t·units + u]` = ḡNa·m³h of unit u before step t.
    g_na: Vec<f32>,
    /// `g_k[t·units + u]` = ḡK·n⁴ of unit u before step t.
    g_k: Vec<f32>,
}

impl HhGates {
    /// Integrates the gates for `steps` steps from 0 with `rates` `(6, units)`.
    pub fn new(rates: &Tensor, steps: usize, params: &HhLayerParams) -> Result<Self> {
        let rows = rates.to_dtype(candle_core::DType::F32)?.to_vec2::<f32>()?;
        if rows.len() != 6 {
            candle_core::bail!("hh rates: expected 6 rows, got {}", rows.len());
        }
        let units = rows[0].len();
        let dt = params.dt as f32;
        let (mut n, mut m, mut h) = (vec![0f32; units], vec![0f32; units], vec![0f32; units]);
        let mut g_na = Vec::with_capacity(steps * units);
        let mut g_k = Vec::with_capacity(steps * units);
        for _ in 0..steps {
            for u in 0..units {
                g_na.push(params.g_na_max as f32 * m[u].powi(3) * h[u]);
                g_k.push(params.g_k_max as f32 * n[u].powi(4));
                n[u] += dt * (rows[0][u] * (1.0 - n[u]) - rows[1][u] * n[u]);
                m[u] += dt * (rows[2][u] * (1.0 - m[u]) - rows[3][u] * m[u]);
                h[u] += dt * (rows[4][u] * (1.0 - h[u]) - rows[5][u] * h[u]);
            }
        }
        Ok(Self { units, g_na, g_k })
    }

    /// Number of units the rates were drawn for.
    pub fn units(&self) -> usize {
        self.units
    }

    /// Sodium conductances used in step `t`, one per unit.
    pub fn g_na(&self, t: usize) -> &[f32] {
        &self.g_na[t * self.units..(t + 1) * self.units]
    }

    /// Potassium conductances used in step `t`, one per unit.
    pub fn g_k(&self, t: usize) -> &[f32] {
        &self.g_k[t * self.units..(t + 1) * self.units]
    }
}

/// Creates the fixed rate variable `vb/rates` `(6, units)`, uniform in [0, c).
pub fn hh_rates(units: usize, params: &HhLayerParams, vb: &VarBuilder) -> Result<Tensor> {
    let init = Init::Uniform {
        lo: 0.0,
        up: params.rate_scale,
    };
    vb.get_with_hints((6, units), "rates", init)
}

/// `Linear(in → out)` (weights ×0.01) into HH neurons over T steps; outputs spike rates.
#[derive(Debug, Clone)]
pub struct HhFc {
    fc: Linear,
    rates: Tensor,
    params: HhLayerParams,
    steps: usize,
}

impl HhFc {
    /// Builds the layer: `vb/fc.weight`, `vb/fc.bias` and `vb/rates`.
    pub fn new(
        in_features: usize,
        out_features: usize,
        steps: usize,
        params: HhLayerParams,
        vb: VarBuilder,
    ) -> Result<Self> {
        let fc = init::linear(in_features, out_features, 0.01, vb.pp("fc"))?;
        let rates = hh_rates(out_features, &params, &vb)?;
        Ok(Self {
            fc,
            rates,
            params,
            steps,
        })
    }

    /// Maps `x` `(batch, in)` to spike rates `(batch, out)` (spike count / T).
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let gates = HhGates::new(&self.rates, self.steps, &self.params)?;
        let current = static_linear(&self.fc, x)?.unsqueeze(0)?;
        neurons::hh_rates(&current, self.steps, &self.params, &gates)
    }
}

/// `Conv2d(in → out, 3×3, padding 1)` into HH neurons, then 2×2 average pooling.
#[derive(Debug, Clone)]
pub struct HhConv {
    conv: Conv3x3,
    rates: Tensor,
    params: HhLayerParams,
    steps: usize,
}

impl HhConv {
    /// Builds `vb/conv.weight`, `vb/conv.bias` and `vb/rates` `(6, map_width)`.
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        map_width: usize,
        steps: usize,
        params: HhLayerParams,
        vb: VarBuilder,
    ) -> Result<Self> {
        let conv = Conv3x3::new(in_channels, out_channels, vb.pp("conv"))?;
        let rates = hh_rates(map_width, &params, &vb)?;
        Ok(Self {
            conv,
            rates,
            params,
            steps,
        })
    }

    /// Maps `x` `(T_in, batch, C, H, W)` to pooled spikes `(T, batch, C', H/2, W/2)`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (t_in, batch, channels, height, width) = x.dims5()?;
        let current = self
            .conv
            .forward(&x.reshape((t_in * batch, channels, height, width))?)?;
        let (_, c_out, h, w) = current.dims4()?;
        let current = current.reshape((t_in, batch, c_out, h, w))?;
        let gates = HhGates::new(&self.rates, self.steps, &self.params)?;
        if gates.units() != w {
            candle_core::bail!(
                "hh conv: rates are for width {}, map is {w} wide",
                gates.units()
            );
        }
        neurons::hh_pooled_spikes(&current, self.steps, &self.params, &gates)
    }
}
