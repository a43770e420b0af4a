//! Leaky integrate-and-fire (LIF) neurons and the fully connected LIF layer.
//!
//! Per neuron and time step t = 1…T, starting from `mem₀ = 0`, `s₀ = 0`:
//!
//! ```text
//! mem_t = mem_{t−1} · decay · (1 − s_{t−1}) + I_t
//! s_t   = spike(mem_t, θ, w)          (1 if mem_t > θ, surrogate window |mem_t − θ| < w)
//! ```
//!
//! The reset factor `(1 − s_{t−1})` keeps its gradient, as in the reference (the spike's
//! surrogate gradient flows into the next step's membrane). Units are arbitrary: the currents
//! are whatever the preceding Linear or conv layer produces.
//!
//! Shapes: currents `(T_in, …)` with `T_in` = 1 (the same current every step) or T; spikes
//! `(T, …)`. The fully connected layer maps `(batch, in)` to rates `(batch, out)`; the conv
//! layer maps `(T_in, batch, C, H, W)` to 2×2-average-pooled spikes `(T, batch, C', H/2, W/2)`.
//!
//! # Performance
//! The input of the fully connected models is static, so `Linear(x)` is identical at every
//! step. [`LifFc`] computes it once and feeds the same current to all T steps; this is the
//! reference's computation reordered, not an approximation. Its backward pass then needs one
//! weight-gradient matmul instead of T. [`LifConv`] likewise convolves a static input once,
//! and convolves a time-varying input (layer 2) as one batch of T·batch images, since
//! a layer's inputs at all steps are known before its own time loop starts.

use candle_core::{Module, Result, Tensor};
use candle_nn::{Linear, VarBuilder};

use crate::nn::conv::Conv3x3;
use crate::nn::init;
use crate::nn::neurons;
use crate::nn::static_input::static_linear;

/// Constants of a LIF population.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LifParams {
    /// Firing threshold θ.
    pub threshold: f64,
    /// Half-width w of the surrogate-gradient window.
    pub window: f64,
    /// Membrane decay factor per step (0.2 keeps a fifth of the potential).
    pub decay: f64,
}

impl LifParams {
    /// `LIF_fc`, `4LIF_fc`, `LIF_conv`, `4LIF_conv`: θ 0.3, w 0.5, decay 0.2.
    pub const CLASSIFIER: LifParams = LifParams {
        threshold: 0.3,
        window: 0.5,
        decay: 0.2,
    };
}

/// Runs LIF neurons for `steps` steps and returns their spikes `(steps, …)`.
///
/// `currents` is `(T_in, …)` with `T_in` 1 (reused every step) or `steps`.
pub fn lif_spikes(currents: &Tensor, steps: usize, params: LifParams) -> Result<Tensor> {
    neurons::lif_spikes(currents, steps, params)
}

/// `Linear(in → out)` into LIF neurons over T steps of a static input; outputs spike rates.
#[derive(Debug, Clone)]
pub struct LifFc {
    fc: Linear,
    params: LifParams,
    steps: usize,
}

impl LifFc {
    /// Builds the layer; the Linear is `vb/weight` (out, in) and `vb/bias` (out).
    pub fn new(
        in_features: usize,
        out_features: usize,
        steps: usize,
        params: LifParams,
        vb: VarBuilder,
    ) -> Result<Self> {
        let fc = init::linear(in_features, out_features, 1.0, vb)?;
        Ok(Self { fc, params, steps })
    }

    /// Maps `x` `(batch, in)` to spike rates `(batch, out)` (spike count / T).
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let current = static_linear(&self.fc, x)?.unsqueeze(0)?;
        neurons::lif_rates(&current, self.steps, self.params)
    }
}

/// Averages 2×2 blocks of every map of spikes `(T, batch, C, H, W)`.
pub fn pool_over_time(spikes: &Tensor) -> Result<Tensor> {
    let (steps, batch, channels, height, width) = spikes.dims5()?;
    let pooled = spikes
        .reshape((steps * batch, channels, height, width))?
        .avg_pool2d(2)?;
    let (_, _, h, w) = pooled.dims4()?;
    pooled.reshape((steps, batch, channels, h, w))
}

/// `Conv2d(in → out, 3×3, padding 1)` into LIF neurons, then 2×2 average pooling.
#[derive(Debug, Clone)]
pub struct LifConv {
    conv: Conv3x3,
    params: LifParams,
    steps: usize,
}

impl LifConv {
    /// Builds the layer; the conv is `vb/weight` (out, in, 3, 3) and `vb/bias` (out).
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        steps: usize,
        params: LifParams,
        vb: VarBuilder,
    ) -> Result<Self> {
        let conv = Conv3x3::new(in_channels, out_channels, vb)?;
        Ok(Self {
            conv,
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
        // Spiking and 2×2 pooling run fused: the full-resolution spikes are never stored.
        neurons::lif_pooled_spikes(&current, self.steps, self.params)
    }
}
