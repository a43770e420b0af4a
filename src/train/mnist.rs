//! Training of the 784 → 128 → 10 MNIST classifier whose weights drive the fully connected
//! simulation, written as `fc-weights.safetensors` with tensors `w1` (784, 128) and
//! `w2` (128, 10), f32.
//!
//! ```text
//! logits = ReLU(x · W1) · W2      x: (batch, 784) pixels, raw 0–255 unless scale_to_unit
//! loss   = CE(logits, label)      Adam with L2 weight decay, seeded shuffles
//! ```
//!
//! The classifier is [`crate::nn::mnist_mlp::MnistMlp`] (bias-free, like the simulation's
//! input currents). This module adds the run folder: `run.ron`, `metrics.csv` with the loss
//! per batch and the test accuracy per epoch, and `log.txt`.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::{Optimizer, VarMap};
use serde::{Deserialize, Serialize};

use super::batches::epoch_order;
use super::error::TrainError;
use super::folder::{write_atomically, RunFolder, METRICS_FILE, RUN_RECORD_FILE};
use super::metrics::{MetricRow, MetricsWriter, TRAIN_LOSS};
use super::record::HHLAB_VERSION;
use crate::data::{load_split, DatasetKind, LabeledImages, Split};
use crate::nn::init::seeded_var_builder;
use crate::nn::mnist_mlp::{MnistMlp, INPUTS};
use crate::nn::{Adam, AdamConfig};
use crate::preset::train::MnistMlpPreset;

/// File name of the exported weights in the run folder.
pub const WEIGHTS_FILE: &str = "fc-weights.safetensors";

/// Test accuracy after an epoch, in percent (a `metrics.csv` name).
pub const TEST_ACCURACY: &str = "test_accuracy_pct";

/// Contents of `run.ron` of an MNIST classifier run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MnistRunRecord {
    /// Version of hhlab that ran it.
    pub hhlab_version: String,
    /// The exact preset, after `--seed` and `--set` were applied.
    pub preset: MnistMlpPreset,
}

/// The exported weights and how well they classify.
#[derive(Debug, Clone, PartialEq)]
pub struct MnistWeights {
    /// Path of `fc-weights.safetensors`.
    pub path: PathBuf,
    /// Test accuracy after the last epoch, in percent.
    pub test_accuracy_pct: f64,
}

/// Trains the classifier on MNIST from `data_dir`, writes the run folder `out_dir` (`run.ron`,
/// `metrics.csv`, `log.txt`, `fc-weights.safetensors`) and returns the weights' path.
pub fn run_blocking(
    preset: &MnistMlpPreset,
    out_dir: &Path,
    data_dir: &Path,
) -> Result<MnistWeights, TrainError> {
    preset.validate()?;
    let mut folder = RunFolder::create(out_dir)?;
    let record = MnistRunRecord {
        hhlab_version: HHLAB_VERSION.to_string(),
        preset: preset.clone(),
    };
    let text = crate::preset::to_ron_string(&record)?;
    write_atomically(&folder.path(RUN_RECORD_FILE), text.as_bytes())?;
    let mut metrics = MetricsWriter::open(&folder.path(METRICS_FILE))?;

    let train = take_first(
        load_split(data_dir, DatasetKind::Mnist, Split::Train)?,
        preset.train_samples,
    );
    let test = take_first(
        load_split(data_dir, DatasetKind::Mnist, Split::Test)?,
        preset.test_samples,
    );
    let scale = if preset.scale_to_unit {
        1.0 / 255.0
    } else {
        1.0
    };
    folder.log(&format!(
        "MNIST classifier 784-128-10 on {} training and {} test images",
        train.count, test.count
    ))?;

    let vars = VarMap::new();
    let model = MnistMlp::new(seeded_var_builder(&vars, preset.seed))?;
    let config = AdamConfig {
        lr: preset.learning_rate,
        weight_decay: preset.weight_decay,
        ..AdamConfig::default()
    };
    let mut adam = Adam::new(vars.all_vars(), config)?;

    let mut step = 0u64;
    let mut test_accuracy_pct = 0.0;
    for epoch in 0..preset.epochs {
        let order = epoch_order(train.count, preset.seed, epoch);
        for (batch_index, batch) in order.chunks(preset.batch_size).enumerate() {
            let (x, labels) = batch_tensors(&train, batch, scale)?;
            let loss = candle_nn::loss::cross_entropy(&model.forward(&x)?, &labels)?;
            let loss_value = loss.to_scalar::<f32>()?;
            step += 1;
            if !loss_value.is_finite() {
                return Err(TrainError::NonFiniteLoss {
                    loss: loss_value,
                    epoch: epoch + 1,
                    batch: batch_index + 1,
                    step,
                    learning_rate: preset.learning_rate,
                });
            }
            adam.backward_step(&loss)?;
            metrics.append(&MetricRow {
                step,
                epoch: epoch + 1,
                metric: TRAIN_LOSS.to_string(),
                value: f64::from(loss_value),
            })?;
        }
        test_accuracy_pct = accuracy_pct(&model, &test, scale)?;
        metrics.append(&MetricRow {
            step,
            epoch: epoch + 1,
            metric: TEST_ACCURACY.to_string(),
            value: test_accuracy_pct,
        })?;
        folder.log(&format!(
            "epoch {}: test accuracy {test_accuracy_pct:.2}%",
            epoch + 1
        ))?;
    }

    let path = folder.path(WEIGHTS_FILE);
    model.save_fc_weights(&path)?;
    folder.log(&format!("wrote {}", path.display()))?;
    tracing::info!(path = %path.display(), test_accuracy_pct, "MNIST classifier weights saved");
    Ok(MnistWeights {
        path,
        test_accuracy_pct,
    })
}

fn take_first(mut images: LabeledImages, samples: Option<usize>) -> LabeledImages {
    if let Some(count) = samples.filter(|&count| count < images.count) {
        images.count = count;
        images.pixels.truncate(count * images.rows * images.cols);
        images.labels.truncate(count);
    }
    images
}

fn batch_tensors(
    images: &LabeledImages,
    indices: &[usize],
    scale: f32,
) -> candle_core::Result<(Tensor, Tensor)> {
    let mut pixels = Vec::with_capacity(indices.len() * INPUTS);
    for &index in indices {
        pixels.extend(images.image(index).iter().map(|&p| f32::from(p) * scale));
    }
    let labels: Vec<u32> = indices
        .iter()
        .map(|&i| u32::from(images.labels[i]))
        .collect();
    Ok((
        Tensor::from_vec(pixels, (indices.len(), INPUTS), &Device::Cpu)?,
        Tensor::from_vec(labels, indices.len(), &Device::Cpu)?,
    ))
}

fn accuracy_pct(model: &MnistMlp, images: &LabeledImages, scale: f32) -> candle_core::Result<f64> {
    let indices: Vec<usize> = (0..images.count).collect();
    let mut correct = 0usize;
    for batch in indices.chunks(1000) {
        let (x, labels) = batch_tensors(images, batch, scale)?;
        let predicted = model.forward(&x)?.argmax(1)?;
        let hits = predicted.eq(&labels)?.to_dtype(DType::U32)?.sum_all()?;
        correct += hits.to_scalar::<u32>()? as usize;
    }
    Ok(100.0 * correct as f64 / images.count.max(1) as f64)
}
