//! The convolutional classifiers: `LIF_conv`, `4LIF_conv`, `HH_conv`, `LIF_hh_conv` and `CNN`.
//!
//! Each has two 3×3 conv layers (padding 1, stride 1), each followed by its neurons and a
//! 2×2 average pooling, so a 36×36 image becomes C maps of 9×9. Spike rates of the final
//! pooled maps (pooled spikes summed over T, divided by T) are the features, read out by
//! [`TaskHeads`]:
//!
//! | model | channels | neurons | features |
//! |---|---|---|---|
//! | `LIF_conv` | 10 | LIF θ 0.3 w 0.5 decay 0.2, T 15 | 810 |
//! | `4LIF_conv` | 40 | same | 3240 |
//! | `HH_conv` | 10 | HH dt 0.1 θ 2.3 w 0.5, ionic currents detached, T 15 | 810 |
//! | `LIF_hh_conv` | 10 | LIF2HH θ 0.3 w 0.4 decay 0.2, T 10 | 4 × 810 |
//! | `CNN` | 10 | ReLU then one spike θ 0.5 w 0.5, no time | 810 |
//!
//! Layer 2 of the spiking models reads layer 1's pooled spikes of the same step. Its conv
//! runs once on all T steps stacked into the batch, which computes the same numbers as T
//! separate calls.
//!
//! NOTE: these models are much slower than the fully connected ones on a 2-core CPU. With
//! batch 128 one forward and backward pass took 0.1 s (`CNN`) to 9 s (`4LIF_conv`) in the
//! release profile on a loaded 2-vCPU machine (`hhlab bench train --model LIF_conv`).
//!
//! Features are flattened channel-major `(C, 9, 9)` per sample; `LIF_hh_conv` appends the
//! compartment as the fastest axis, `(C, 9, 9, 4)`, like the reference.

use candle_core::{Module, Result, Tensor};
use candle_nn::{Linear, VarBuilder};

use crate::nn::conv::Conv3x3;
use crate::nn::heads::TaskHeads;
use crate::nn::hh::{HhConv, HhLayerParams};
use crate::nn::lif::{LifConv, LifParams};
use crate::nn::lif2hh::{coupling, Lif2HhConv, Lif2HhParams};
use crate::nn::spike::spike;
use crate::nn::{ModelKind, MultiTaskModel};

/// Side of the input image.
pub const IMAGE_SIDE: usize = 36;
/// Side of the maps after the two poolings.
pub const FINAL_SIDE: usize = IMAGE_SIDE / 4;
/// Channels of both conv layers (`4LIF_conv` uses four times as many).
pub const CHANNELS: usize = 10;

/// Adds the time axis to a static batch: `(batch, 1, 36, 36)` → `(1, batch, 1, 36, 36)`.
fn as_static_sequence(x: &Tensor) -> Result<Tensor> {
    x.unsqueeze(0)
}

/// Spike rates of pooled spikes `(T, batch, C, h, w)` flattened to `(batch, C·h·w)`.
fn flat_rates(pooled: &Tensor) -> Result<Tensor> {
    let rates = pooled.mean(0)?;
    let batch = rates.dim(0)?;
    rates.reshape((batch, ()))
}

/// `LIF_conv` (10 channels) and `4LIF_conv` (40 channels).
#[derive(Debug, Clone)]
pub struct LifConvModel {
    kind: ModelKind,
    conv1: LifConv,
    conv2: LifConv,
    heads: TaskHeads,
}

impl LifConvModel {
    /// Builds `vb/conv1`, `vb/conv2` with `channels` maps each, and the heads.
    pub fn new(kind: ModelKind, channels: usize, vb: VarBuilder) -> Result<Self> {
        let steps = kind.time_steps();
        let params = LifParams::CLASSIFIER;
        let conv1 = LifConv::new(1, channels, steps, params, vb.pp("conv1"))?;
        let conv2 = LifConv::new(channels, channels, steps, params, vb.pp("conv2"))?;
        let heads = TaskHeads::new(channels * FINAL_SIDE * FINAL_SIDE, &vb)?;
        Ok(Self {
            kind,
            conv1,
            conv2,
            heads,
        })
    }
}

impl MultiTaskModel for LifConvModel {
    fn kind(&self) -> ModelKind {
        self.kind
    }

    fn forward(&self, x: &Tensor, _train: bool) -> Result<(Tensor, Tensor)> {
        let pooled1 = self.conv1.forward(&as_static_sequence(x)?)?;
        let pooled2 = self.conv2.forward(&pooled1)?;
        self.heads.forward(&flat_rates(&pooled2)?)
    }
}

/// `HH_conv`: two conv layers into HH neurons.
#[derive(Debug, Clone)]
pub struct HhConvModel {
    fc1: HhConv,
    fc2: HhConv,
    heads: TaskHeads,
}

impl HhConvModel {
    /// Builds `vb/fc1`, `vb/fc2` (conv and rates, named as the reference) and the heads.
    pub fn new(vb: VarBuilder) -> Result<Self> {
        let steps = ModelKind::HhConv.time_steps();
        let params = HhLayerParams::CONV;
        let fc1 = HhConv::new(1, CHANNELS, IMAGE_SIDE, steps, params, vb.pp("fc1"))?;
        let fc2 = HhConv::new(
            CHANNELS,
            CHANNELS,
            IMAGE_SIDE / 2,
            steps,
            params,
            vb.pp("fc2"),
        )?;
        let heads = TaskHeads::new(CHANNELS * FINAL_SIDE * FINAL_SIDE, &vb)?;
        Ok(Self { fc1, fc2, heads })
    }
}

impl MultiTaskModel for HhConvModel {
    fn kind(&self) -> ModelKind {
        ModelKind::HhConv
    }

    fn forward(&self, x: &Tensor, _train: bool) -> Result<(Tensor, Tensor)> {
        let pooled1 = self.fc1.forward(&as_static_sequence(x)?)?;
        let pooled2 = self.fc2.forward(&pooled1)?;
        self.heads.forward(&flat_rates(&pooled2)?)
    }
}

/// `LIF_hh_conv`: two layers of three convs into LIF2HH units with a shared coupling.
#[derive(Debug, Clone)]
pub struct LifHhConvModel {
    lif_4_1: Lif2HhConv,
    lif_4_2: Lif2HhConv,
    lif_fc: Linear,
    heads: TaskHeads,
}

impl LifHhConvModel {
    /// Builds `vb/lif_4_1`, `vb/lif_4_2`, the shared `vb/lif_fc` and the heads.
    pub fn new(vb: VarBuilder) -> Result<Self> {
        let steps = ModelKind::LifHhConv.time_steps();
        let params = Lif2HhParams::CONV;
        let lif_4_1 = Lif2HhConv::new(1, CHANNELS, steps, params, vb.pp("lif_4_1"))?;
        let lif_4_2 = Lif2HhConv::new(CHANNELS, CHANNELS, steps, params, vb.pp("lif_4_2"))?;
        let lif_fc = coupling(false, vb.pp("lif_fc"))?;
        let heads = TaskHeads::new(4 * CHANNELS * FINAL_SIDE * FINAL_SIDE, &vb)?;
        Ok(Self {
            lif_4_1,
            lif_4_2,
            lif_fc,
            heads,
        })
    }
}

impl MultiTaskModel for LifHhConvModel {
    fn kind(&self) -> ModelKind {
        ModelKind::LifHhConv
    }

    fn forward(&self, x: &Tensor, _train: bool) -> Result<(Tensor, Tensor)> {
        let [a, b, c, d] = self
            .lif_4_1
            .forward(&as_static_sequence(x)?, &self.lif_fc)?;
        let summed = (((a + b)? + c)? + d)?;
        let pooled2 = self.lif_4_2.forward(&summed, &self.lif_fc)?;
        let rates = pooled2
            .iter()
            .map(|p| p.mean(0))
            .collect::<Result<Vec<_>>>()?;
        let stacked = Tensor::stack(&rates, 4)?;
        let batch = stacked.dim(0)?;
        self.heads.forward(&stacked.reshape((batch, ()))?)
    }
}

/// `CNN`: conv, ReLU, spike θ 0.5, pool, twice; no time steps.
#[derive(Debug, Clone)]
pub struct CnnModel {
    conv1: Conv3x3,
    conv2: Conv3x3,
    heads: TaskHeads,
}

impl CnnModel {
    /// Spike threshold after each ReLU.
    pub const THRESHOLD: f64 = 0.5;
    /// Surrogate window of those spikes.
    pub const WINDOW: f64 = 0.5;

    /// Builds `vb/conv1`, `vb/conv2` and the heads.
    pub fn new(vb: VarBuilder) -> Result<Self> {
        let conv1 = Conv3x3::new(1, CHANNELS, vb.pp("conv1"))?;
        let conv2 = Conv3x3::new(CHANNELS, CHANNELS, vb.pp("conv2"))?;
        let heads = TaskHeads::new(CHANNELS * FINAL_SIDE * FINAL_SIDE, &vb)?;
        Ok(Self {
            conv1,
            conv2,
            heads,
        })
    }
}

impl MultiTaskModel for CnnModel {
    fn kind(&self) -> ModelKind {
        ModelKind::Cnn
    }

    fn forward(&self, x: &Tensor, _train: bool) -> Result<(Tensor, Tensor)> {
        let h = self.conv1.forward(x)?.relu()?;
        let h = spike(&h, Self::THRESHOLD, Self::WINDOW)?.avg_pool2d(2)?;
        let h = self.conv2.forward(&h)?.relu()?;
        let h = spike(&h, Self::THRESHOLD, Self::WINDOW)?.avg_pool2d(2)?;
        let batch = h.dim(0)?;
        self.heads.forward(&h.reshape((batch, ()))?)
    }
}
