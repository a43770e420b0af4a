//! Spiking layers and the ten two-task classifiers, in candle (CPU, f32).
//!
//! Every classifier takes a static image `(batch, 1, 36, 36)`, repeats it for T time steps
//! through a spiking hidden part, turns spike counts into rates (count / T) and reads them out
//! through `Linear(· → 50)` and two heads `Linear(50 → 10)`; the loss is the sum of the two
//! cross-entropies. [`build_model`] builds any of them from a [`ModelKind`].
//!
//! Parameters come from a `VarBuilder`; use [`init::seeded_var_builder`] over a `VarMap` for
//! seeded, reproducible initial weights.

pub mod adam;
pub mod conv;
pub mod fused;
pub mod heads;
pub mod hh;
pub mod init;
pub mod kind;
pub mod lif;
pub mod lif2hh;
pub mod mnist_mlp;
pub mod models_conv;
pub mod models_fc;
pub mod neurons;
pub mod spike;
pub mod static_input;

use candle_core::{Result, Tensor};
use candle_nn::VarBuilder;

pub use adam::{Adam, AdamConfig, StepLr};
pub use kind::{ModelKind, OptimConfig};

/// Errors of the learning models.
#[derive(Debug, thiserror::Error)]
pub enum NnError {
    /// Occurs when a model name is not one of the ten reference names.
    #[error("unknown model {name:?}: expected one of {expected}")]
    UnknownModel {
        /// The name given.
        name: String,
        /// The accepted names, comma separated.
        expected: String,
    },
}

/// A classifier with two task heads.
pub trait MultiTaskModel: Send + Sync {
    /// Which of the ten models this is.
    fn kind(&self) -> ModelKind;

    /// Maps images `(batch, 1, 36, 36)` f32 to the two tasks' logits, each `(batch, 10)`.
    ///
    /// `train` is accepted for symmetry with evaluation code; no model behaves differently
    /// in training (none has dropout or batch norm).
    fn forward(&self, x: &Tensor, train: bool) -> Result<(Tensor, Tensor)>;
}

/// Builds the model `kind` with its parameters under `vb` (names are fixed per model).
pub fn build_model(kind: ModelKind, vb: VarBuilder) -> Result<Box<dyn MultiTaskModel>> {
    use models_conv::{CnnModel, HhConvModel, LifConvModel, LifHhConvModel, CHANNELS};
    use models_fc::{AnnModel, HhFcModel, LifFcModel, LifHhFcModel, HIDDEN};

    let model: Box<dyn MultiTaskModel> = match kind {
        ModelKind::LifFc => Box::new(LifFcModel::new(kind, HIDDEN, vb)?),
        ModelKind::FourLifFc => Box::new(LifFcModel::new(kind, 4 * HIDDEN, vb)?),
        ModelKind::HhFc => Box::new(HhFcModel::new(vb)?),
        ModelKind::LifHhFc => Box::new(LifHhFcModel::new(vb)?),
        ModelKind::Ann => Box::new(AnnModel::new(vb)?),
        ModelKind::LifConv => Box::new(LifConvModel::new(kind, CHANNELS, vb)?),
        ModelKind::FourLifConv => Box::new(LifConvModel::new(kind, 4 * CHANNELS, vb)?),
        ModelKind::HhConv => Box::new(HhConvModel::new(vb)?),
        ModelKind::LifHhConv => Box::new(LifHhConvModel::new(vb)?),
        ModelKind::Cnn => Box::new(CnnModel::new(vb)?),
    };
    Ok(model)
}

/// Sum of the two tasks' cross-entropies (each the batch mean), the training loss.
///
/// `labels_a` and `labels_b` are `(batch,)` u32 class indices.
pub fn multitask_loss(
    logits: &(Tensor, Tensor),
    labels_a: &Tensor,
    labels_b: &Tensor,
) -> Result<Tensor> {
    let loss_a = candle_nn::loss::cross_entropy(&logits.0, labels_a)?;
    let loss_b = candle_nn::loss::cross_entropy(&logits.1, labels_b)?;
    loss_a + loss_b
}
