//! The fully connected classifiers: `LIF_fc`, `4LIF_fc`, `HH_fc`, `LIF_hh_fc` and `ANN`.
//!
//! Each flattens the `(batch, 1, 36, 36)` image to `(batch, 1296)`, runs its hidden layer
//! (T = 15 steps of the same static input for the spiking ones), takes spike rates (count / T)
//! and reads them out through [`TaskHeads`]. Pixel values are used as given (the reference
//! feeds raw 0–255 values).
//!
//! Parameter names follow the reference modules: `fc1.*` (LIF), `fc1.fc.*` and `fc1.rates`
//! (HH), `lif_4.fc1…fc3.*` and `lif_4.lif_fc.*` (LIF_hh), then `fc_output.*`, `task_0.*`,
//! `task_1.*`.

use candle_core::{Result, Tensor};
use candle_nn::{Linear, VarBuilder};

use crate::nn::heads::TaskHeads;
use crate::nn::hh::{HhFc, HhLayerParams};
use crate::nn::init;
use crate::nn::lif::{LifFc, LifParams};
use crate::nn::lif2hh::{Lif2HhFc, Lif2HhParams};
use crate::nn::spike::spike;
use crate::nn::static_input::static_linear;
use crate::nn::{ModelKind, MultiTaskModel};

/// Pixels of one 36×36 input image.
pub const INPUT_FEATURES: usize = 36 * 36;
/// Hidden width of the fully connected models (per compartment for `LIF_hh_fc`).
pub const HIDDEN: usize = 512;

fn flatten(x: &Tensor) -> Result<Tensor> {
    let batch = x.dim(0)?;
    x.reshape((batch, INPUT_FEATURES))
}

/// `LIF_fc` (512 units) and `4LIF_fc` (2048 units).
#[derive(Debug, Clone)]
pub struct LifFcModel {
    kind: ModelKind,
    fc1: LifFc,
    heads: TaskHeads,
}

impl LifFcModel {
    /// Builds `LIF_fc` with `hidden` 512 or `4LIF_fc` with 2048.
    pub fn new(kind: ModelKind, hidden: usize, vb: VarBuilder) -> Result<Self> {
        let fc1 = LifFc::new(
            INPUT_FEATURES,
            hidden,
            kind.time_steps(),
            LifParams::CLASSIFIER,
            vb.pp("fc1"),
        )?;
        let heads = TaskHeads::new(hidden, &vb)?;
        Ok(Self { kind, fc1, heads })
    }
}

impl MultiTaskModel for LifFcModel {
    fn kind(&self) -> ModelKind {
        self.kind
    }

    fn forward(&self, x: &Tensor, _train: bool) -> Result<(Tensor, Tensor)> {
        let rates = self.fc1.forward(&flatten(x)?)?;
        self.heads.forward(&rates)
    }
}

/// `HH_fc`: Linear 1296→512 (weights ×0.01) into HH neurons.
#[derive(Debug, Clone)]
pub struct HhFcModel {
    fc1: HhFc,
    heads: TaskHeads,
}

impl HhFcModel {
    /// Builds the model under `vb`.
    pub fn new(vb: VarBuilder) -> Result<Self> {
        let steps = ModelKind::HhFc.time_steps();
        let fc1 = HhFc::new(
            INPUT_FEATURES,
            HIDDEN,
            steps,
            HhLayerParams::FC,
            vb.pp("fc1"),
        )?;
        let heads = TaskHeads::new(HIDDEN, &vb)?;
        Ok(Self { fc1, heads })
    }
}

impl MultiTaskModel for HhFcModel {
    fn kind(&self) -> ModelKind {
        ModelKind::HhFc
    }

    fn forward(&self, x: &Tensor, _train: bool) -> Result<(Tensor, Tensor)> {
        let rates = self.fc1.forward(&flatten(x)?)?;
        self.heads.forward(&rates)
    }
}

/// `LIF_hh_fc`: three Linear 1296→512 into 512 LIF2HH units, 2048 features.
#[derive(Debug, Clone)]
pub struct LifHhFcModel {
    lif_4: Lif2HhFc,
    heads: TaskHeads,
}

impl LifHhFcModel {
    /// Builds the model under `vb`.
    pub fn new(vb: VarBuilder) -> Result<Self> {
        let steps = ModelKind::LifHhFc.time_steps();
        let lif_4 = Lif2HhFc::new(
            INPUT_FEATURES,
            HIDDEN,
            steps,
            Lif2HhParams::FC,
            vb.pp("lif_4"),
        )?;
        let heads = TaskHeads::new(4 * HIDDEN, &vb)?;
        Ok(Self { lif_4, heads })
    }
}

impl MultiTaskModel for LifHhFcModel {
    fn kind(&self) -> ModelKind {
        ModelKind::LifHhFc
    }

    fn forward(&self, x: &Tensor, _train: bool) -> Result<(Tensor, Tensor)> {
        let rates = self.lif_4.forward(&flatten(x)?)?;
        self.heads.forward(&rates)
    }
}

/// `ANN`: Linear 1296→512, ReLU, one spike (θ 0.5, w 0.5); the binary output is the feature.
#[derive(Debug, Clone)]
pub struct AnnModel {
    fc1: Linear,
    heads: TaskHeads,
}

impl AnnModel {
    /// Spike threshold after the ReLU.
    pub const THRESHOLD: f64 = 0.5;
    /// Surrogate window of that spike.
    pub const WINDOW: f64 = 0.5;

    /// Builds the model under `vb`.
    pub fn new(vb: VarBuilder) -> Result<Self> {
        let fc1 = init::linear(INPUT_FEATURES, HIDDEN, 1.0, vb.pp("fc1"))?;
        let heads = TaskHeads::new(HIDDEN, &vb)?;
        Ok(Self { fc1, heads })
    }
}

impl MultiTaskModel for AnnModel {
    fn kind(&self) -> ModelKind {
        ModelKind::Ann
    }

    fn forward(&self, x: &Tensor, _train: bool) -> Result<(Tensor, Tensor)> {
        let hidden = static_linear(&self.fc1, &flatten(x)?)?.relu()?;
        let features = spike(&hidden, Self::THRESHOLD, Self::WINDOW)?;
        self.heads.forward(&features)
    }
}
