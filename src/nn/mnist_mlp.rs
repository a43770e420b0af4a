//! The 784→128→10 MNIST classifier whose weights drive the fully connected HH simulation.
//!
//! The simulation feeds hidden HH neuron j the current `Σᵢ W1[i, j]·pixelᵢ` with raw 0–255
//! pixels, and output neuron k the current `Σⱼ W2[j, k]·spikeⱼ`. The classifier is built so
//! its weights mean the same thing there:
//!
//! ```text
//! h      = relu(W1ᵀ · x)        x: raw 0–255 pixels (784), no bias
//! logits = W2ᵀ · h              no bias
//! ```
//!
//! - No biases: the simulation has no constant current per neuron, so a trained bias would be
//!   lost there.
//! - Raw pixels: the currents the simulation computes are exactly the pre-activations the
//!   classifier was trained on, with no rescaling.
//! - ReLU: an HH neuron is silent below a threshold current and fires faster the larger the
//!   current above it, so its firing rate follows the current much as a ReLU does. A hidden
//!   unit that the classifier switches off receives a negative current and stays silent.
//!
//! The weight file is safetensors with `w1` `(784, 128)` and `w2` `(128, 10)`, f32, laid out
//! input-major as the simulation indexes them (candle's `Linear` stores the transpose).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{Linear, Optimizer, VarBuilder, VarMap};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::nn::adam::{Adam, AdamConfig};
use crate::nn::init;

/// Input pixels (28×28).
pub const INPUTS: usize = 784;
/// Hidden units.
pub const HIDDEN: usize = 128;
/// Classes.
pub const CLASSES: usize = 10;

/// Errors of the weight file and of training.
#[derive(Debug, thiserror::Error)]
pub enum MlpError {
    /// Occurs when a tensor of the weight file is missing or has the wrong shape or type.
    #[error("invalid weight file: {message}; expected w1 (784, 128) and w2 (128, 10) f32: {path}")]
    InvalidFile {
        /// What is wrong.
        message: String,
        /// The file.
        path: PathBuf,
    },
    /// Occurs when the weight file cannot be read or written.
    #[error("cannot {action} weight file: {source}: {path}")]
    Io {
        /// "read" or "write".
        action: &'static str,
        /// The candle (safetensors or I/O) error.
        #[source]
        source: candle_core::Error,
        /// The file.
        path: PathBuf,
    },
    /// Occurs when the training data are inconsistent (sizes that do not match).
    #[error("invalid training data: {0}")]
    InvalidData(String),
    /// Occurs when a tensor operation fails during training or evaluation.
    #[error("classifier computation failed: {0}")]
    Candle(#[from] candle_core::Error),
}

/// The fully connected weights in simulation layout.
#[derive(Debug, Clone)]
pub struct FcWeights {
    /// Input-to-hidden weights `(784, 128)`.
    pub w1: Tensor,
    /// Hidden-to-output weights `(128, 10)`.
    pub w2: Tensor,
}

/// Settings of [`train_mnist_mlp`].
#[derive(Debug, Clone, PartialEq)]
pub struct MlpTrainConfig {
    /// Passes over the training images.
    pub epochs: usize,
    /// Images per optimiser step.
    pub batch_size: usize,
    /// Adam learning rate.
    pub learning_rate: f64,
    /// Seed of the initial weights and the shuffling.
    pub seed: u64,
}

impl Default for MlpTrainConfig {
    fn default() -> Self {
        Self {
            epochs: 3,
            batch_size: 128,
            learning_rate: 1e-3,
            seed: 0,
        }
    }
}

/// The bias-free 784→128→10 ReLU classifier.
#[derive(Debug, Clone)]
pub struct MnistMlp {
    fc1: Linear,
    fc2: Linear,
}

impl MnistMlp {
    /// Builds `vb/fc1.weight` `(128, 784)` and `vb/fc2.weight` `(10, 128)`, initialised like
    /// PyTorch's `Linear` weights.
    pub fn new(vb: VarBuilder) -> candle_core::Result<Self> {
        Ok(Self {
            fc1: bias_free(INPUTS, HIDDEN, vb.pp("fc1"))?,
            fc2: bias_free(HIDDEN, CLASSES, vb.pp("fc2"))?,
        })
    }

    /// Maps raw pixels `(batch, 784)` (0–255) to logits `(batch, 10)`.
    pub fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        self.fc2.forward(&self.fc1.forward(x)?.relu()?)
    }

    /// Returns the weights in simulation layout, `w1` `(784, 128)` and `w2` `(128, 10)`.
    pub fn fc_weights(&self) -> candle_core::Result<FcWeights> {
        Ok(FcWeights {
            w1: self.fc1.weight().t()?.contiguous()?,
            w2: self.fc2.weight().t()?.contiguous()?,
        })
    }

    /// Writes `w1` and `w2` to a safetensors file at `path`.
    pub fn save_fc_weights(&self, path: &Path) -> Result<(), MlpError> {
        let weights = self.fc_weights()?;
        let tensors = HashMap::from([
            ("w1".to_string(), weights.w1),
            ("w2".to_string(), weights.w2),
        ]);
        candle_core::safetensors::save(&tensors, path).map_err(|source| MlpError::Io {
            action: "write",
            source,
            path: path.to_path_buf(),
        })
    }
}

fn bias_free(inputs: usize, outputs: usize, vb: VarBuilder) -> candle_core::Result<Linear> {
    let bound = 1.0 / (inputs as f64).sqrt();
    let init = candle_nn::Init::Uniform {
        lo: -bound,
        up: bound,
    };
    let weight = vb.get_with_hints((outputs, inputs), "weight", init)?;
    Ok(Linear::new(weight, None))
}

/// Reads `w1` `(784, 128)` and `w2` `(128, 10)` from a safetensors file, checking shapes.
pub fn load_fc_weights(path: &Path) -> Result<FcWeights, MlpError> {
    let mut tensors =
        candle_core::safetensors::load(path, &Device::Cpu).map_err(|source| MlpError::Io {
            action: "read",
            source,
            path: path.to_path_buf(),
        })?;
    let mut take = |name: &str, dims: [usize; 2]| -> Result<Tensor, MlpError> {
        let invalid = |message: String| MlpError::InvalidFile {
            message,
            path: path.to_path_buf(),
        };
        let tensor = tensors
            .remove(name)
            .ok_or_else(|| invalid(format!("tensor {name} is missing")))?;
        if tensor.dims() != dims {
            return Err(invalid(format!("{name} has shape {:?}", tensor.dims())));
        }
        if tensor.dtype() != DType::F32 {
            return Err(invalid(format!("{name} is {:?}", tensor.dtype())));
        }
        Ok(tensor)
    };
    Ok(FcWeights {
        w1: take("w1", [INPUTS, HIDDEN])?,
        w2: take("w2", [HIDDEN, CLASSES])?,
    })
}

/// Converts raw pixels to an f32 batch `(count, 784)`.
fn pixel_batch(pixels: &[u8], indices: &[usize]) -> candle_core::Result<Tensor> {
    let mut values = Vec::with_capacity(indices.len() * INPUTS);
    for &i in indices {
        values.extend(
            pixels[i * INPUTS..(i + 1) * INPUTS]
                .iter()
                .map(|&p| f32::from(p)),
        );
    }
    Tensor::from_vec(values, (indices.len(), INPUTS), &Device::Cpu)
}

fn check_data(pixels: &[u8], labels: &[u8]) -> Result<usize, MlpError> {
    let count = labels.len();
    if pixels.len() != count * INPUTS {
        return Err(MlpError::InvalidData(format!(
            "{} pixels for {count} labels, expected {}",
            pixels.len(),
            count * INPUTS
        )));
    }
    if let Some(bad) = labels.iter().find(|&&l| usize::from(l) >= CLASSES) {
        return Err(MlpError::InvalidData(format!(
            "label {bad} is not a digit 0–9"
        )));
    }
    Ok(count)
}

/// Trains a fresh classifier on 28×28 images (`pixels` row-major, 784 per image, raw 0–255)
/// with Adam and cross-entropy; returns the model and its variables.
pub fn train_mnist_mlp(
    pixels: &[u8],
    labels: &[u8],
    config: &MlpTrainConfig,
) -> Result<(MnistMlp, VarMap), MlpError> {
    let count = check_data(pixels, labels)?;
    if count == 0 || config.batch_size == 0 {
        return Err(MlpError::InvalidData(
            "no images or a batch size of 0".into(),
        ));
    }
    let map = VarMap::new();
    let model = MnistMlp::new(init::seeded_var_builder(&map, config.seed))?;
    let adam_config = AdamConfig {
        lr: config.learning_rate,
        ..AdamConfig::default()
    };
    let mut adam = Adam::new(map.all_vars(), adam_config)?;
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let mut order: Vec<usize> = (0..count).collect();
    for epoch in 0..config.epochs {
        order.shuffle(&mut rng);
        let mut loss_sum = 0.0;
        let mut batches = 0usize;
        for chunk in order.chunks(config.batch_size) {
            let x = pixel_batch(pixels, chunk)?;
            let y: Vec<u32> = chunk.iter().map(|&i| u32::from(labels[i])).collect();
            let y = Tensor::new(y, &Device::Cpu)?;
            let loss = candle_nn::loss::cross_entropy(&model.forward(&x)?, &y)?;
            adam.backward_step(&loss)?;
            loss_sum += f64::from(loss.to_scalar::<f32>()?);
            batches += 1;
        }
        tracing::debug!(
            epoch,
            mean_loss = loss_sum / batches as f64,
            "mnist mlp epoch"
        );
    }
    Ok((model, map))
}

/// Fraction of images the classifier labels correctly.
pub fn accuracy(model: &MnistMlp, pixels: &[u8], labels: &[u8]) -> Result<f64, MlpError> {
    let count = check_data(pixels, labels)?;
    let mut correct = 0usize;
    let indices: Vec<usize> = (0..count).collect();
    for chunk in indices.chunks(1000) {
        let predicted = model.forward(&pixel_batch(pixels, chunk)?)?.argmax(1)?;
        let predicted = predicted.to_vec1::<u32>()?;
        correct += chunk
            .iter()
            .zip(&predicted)
            .filter(|(&i, &p)| u32::from(labels[i]) == p)
            .count();
    }
    Ok(correct as f64 / count.max(1) as f64)
}
