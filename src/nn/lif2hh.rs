//! LIF2HH compartment layers: one HH-like unit as four coupled LIF compartments.
//!
//! Per unit, three compartments k = 1, 2, 3 receive their own projection I_k of the input
//! (three independent Linear or conv layers). A fourth is driven by a learned mix of the
//! other three's previous potentials through a shared `Linear(3 → 1)`:
//!
//! ```text
//! J_t      = a₁·mem1_{t−1} + a₂·mem2_{t−1} + a₃·mem3_{t−1} + b
//! memk_t   = memk_{t−1}·decay·(1 − sk_{t−1}) + I_k     (k = 1, 2, 3)
//! mem4_t   = mem4_{t−1}·decay·(1 − s4_{t−1}) + J_t
//! sk_t     = spike(memk_t, θ, w)                        (k = 1…4)
//! ```
//!
//! All four spike trains are features, so a layer of N units yields 4N rates.
//!
//! `LIF_hh_fc`: θ 2, w 0.4, decay 0.5; its `Linear(3 → 1)` weights start positive (the
//! reference takes the absolute value of PyTorch's uniform init, which is the same as drawing
//! from [0, 1/√3)).
//!
//! `LIF_hh_conv`: θ 0.3, w 0.4, decay 0.2, T = 10. Both conv layers share one `Linear(3 → 1)`
//! at model level.
//!
//! # Reference quirk
//! In `LIF_hh_conv` the shared `Linear(3 → 1)` keeps PyTorch's signed init (no absolute
//! value). Layer 2 applies each of its three convs to the sum of the four pooled spike maps of
//! layer 1, so each conv's bias is added once, not four times.
//!
//! Shapes: fc `(batch, in)` → rates `(batch, 4·out)` ordered unit-major (unit u's four
//! compartments are features 4u…4u+3, as the reference flattens `(batch, out, 4)`). Conv
//! `(T_in, batch, C, H, W)` → four pooled spike maps `(T, batch, C', H/2, W/2)`.

use candle_core::{Module, Result, Tensor};
use candle_nn::{Init, Linear, VarBuilder};

use crate::nn::conv::Conv3x3;
use crate::nn::fused::Readout;
use crate::nn::init;
use crate::nn::neurons;
use crate::nn::static_input::static_linear;

/// Constants of a LIF2HH population.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lif2HhParams {
    /// Firing threshold θ of every compartment.
    pub threshold: f64,
    /// Half-width w of the surrogate-gradient window.
    pub window: f64,
    /// Membrane decay factor per step.
    pub decay: f64,
}

impl Lif2HhParams {
    /// `LIF_hh_fc`: θ 2, w 0.4, decay 0.5.
    pub const FC: Lif2HhParams = Lif2HhParams {
        threshold: 2.0,
        window: 0.4,
        decay: 0.5,
    };

    /// `LIF_hh_conv`: θ 0.3, w 0.4, decay 0.2.
    pub const CONV: Lif2HhParams = Lif2HhParams {
        threshold: 0.3,
        window: 0.4,
        decay: 0.2,
    };
}

/// Creates the compartment-coupling `Linear(3 → 1)` under `vb`; with `positive` the weights
/// are drawn from [0, 1/√3) instead of ±1/√3.
pub fn coupling(positive: bool, vb: VarBuilder) -> Result<Linear> {
    if !positive {
        return init::linear(3, 1, 1.0, vb);
    }
    let bound = 1.0 / 3f64.sqrt();
    let weight = vb.get_with_hints((1, 3), "weight", Init::Uniform { lo: 0.0, up: bound })?;
    let bias = vb.get_with_hints(
        1,
        "bias",
        Init::Uniform {
            lo: -bound,
            up: bound,
        },
    )?;
    Ok(Linear::new(weight, Some(bias)))
}

fn run_compartments(
    currents: [&Tensor; 3],
    steps: usize,
    params: Lif2HhParams,
    coupling: &Linear,
    readout: Readout,
) -> Result<Tensor> {
    let bias = match coupling.bias() {
        Some(bias) => bias,
        None => candle_core::bail!("lif2hh: the coupling Linear(3 → 1) needs a bias"),
    };
    neurons::lif2hh(currents, steps, params, (coupling.weight(), bias), readout)
}

/// Three `Linear(in → out)` into LIF2HH units over T steps of a static input.
#[derive(Debug, Clone)]
pub struct Lif2HhFc {
    projections: [Linear; 3],
    coupling: Linear,
    params: Lif2HhParams,
    steps: usize,
}

impl Lif2HhFc {
    /// Builds `vb/fc1`, `vb/fc2`, `vb/fc3` and the positive `vb/lif_fc`.
    pub fn new(
        in_features: usize,
        out_features: usize,
        steps: usize,
        params: Lif2HhParams,
        vb: VarBuilder,
    ) -> Result<Self> {
        let projections = [
            init::linear(in_features, out_features, 1.0, vb.pp("fc1"))?,
            init::linear(in_features, out_features, 1.0, vb.pp("fc2"))?,
            init::linear(in_features, out_features, 1.0, vb.pp("fc3"))?,
        ];
        let coupling = coupling(true, vb.pp("lif_fc"))?;
        Ok(Self {
            projections,
            coupling,
            params,
            steps,
        })
    }

    /// Maps `x` `(batch, in)` to rates `(batch, 4·out)`, unit-major.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        // The input is static, so each projection is computed once for all T steps.
        let currents = [
            static_linear(&self.projections[0], x)?.unsqueeze(0)?,
            static_linear(&self.projections[1], x)?.unsqueeze(0)?,
            static_linear(&self.projections[2], x)?.unsqueeze(0)?,
        ];
        let rates = run_compartments(
            [&currents[0], &currents[1], &currents[2]],
            self.steps,
            self.params,
            &self.coupling,
            Readout::Rates,
        )?;
        // (4, batch, units) → (batch, units, 4) → unit-major features.
        let (_, batch, units) = rates.dims3()?;
        rates
            .permute((1, 2, 0))?
            .contiguous()?
            .reshape((batch, 4 * units))
    }
}

/// Three `Conv2d(in → out, 3×3, padding 1)` into LIF2HH units, then 2×2 average pooling.
#[derive(Debug, Clone)]
pub struct Lif2HhConv {
    convs: [Conv3x3; 3],
    params: Lif2HhParams,
    steps: usize,
}

impl Lif2HhConv {
    /// Builds `vb/conv1`, `vb/conv2`, `vb/conv3`.
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        steps: usize,
        params: Lif2HhParams,
        vb: VarBuilder,
    ) -> Result<Self> {
        let convs = [
            Conv3x3::new(in_channels, out_channels, vb.pp("conv1"))?,
            Conv3x3::new(in_channels, out_channels, vb.pp("conv2"))?,
            Conv3x3::new(in_channels, out_channels, vb.pp("conv3"))?,
        ];
        Ok(Self {
            convs,
            params,
            steps,
        })
    }

    /// Maps `x` `(T_in, batch, C, H, W)` to the four compartments' pooled spike maps, each
    /// `(T, batch, C', H/2, W/2)`. `coupling` is the model's shared `Linear(3 → 1)`.
    pub fn forward(&self, x: &Tensor, coupling: &Linear) -> Result<[Tensor; 4]> {
        let (t_in, batch, channels, height, width) = x.dims5()?;
        let flat = x.reshape((t_in * batch, channels, height, width))?;
        // Every time step of every sample goes through each conv in one batched call.
        let mut currents = Vec::with_capacity(3);
        for conv in &self.convs {
            let current = conv.forward(&flat)?;
            let (_, c_out, h, w) = current.dims4()?;
            currents.push(current.reshape((t_in, batch, c_out, h, w))?);
        }
        let pooled = run_compartments(
            [&currents[0], &currents[1], &currents[2]],
            self.steps,
            self.params,
            coupling,
            Readout::PooledSpikes,
        )?;
        Ok([
            pooled.get(0)?,
            pooled.get(1)?,
            pooled.get(2)?,
            pooled.get(3)?,
        ])
    }
}
