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
//! input currents). The exported file is calibrated for rest-at-−65 HH ([`calibrate`]),
//! with metadata `units = uA/cm2` and the two scale factors:
//!
//! ```text
//! W1_file = a1·(W1⁺ + β·W1⁻)   a1: 99th pct of positive currents → 20 µA/cm²
//!                              β ≤ 1: every calibration current ≥ −20 µA/cm²
//! W2_file = a2·V               V ≥ 0 refitted on hidden duty fractions duty(I1)
//! ```
//!
//! Raw classifier weights give currents of a few hundred µA/cm², under which forward-Euler HH
//! at dt 0.001 ms diverges; below about −35 µA/cm² u sinks under −170 mV, where βm·dt > 2. This module adds the run folder: `run.ron`, `metrics.csv` with the loss
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
use rayon::prelude::*;

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

/// 99th percentile of the positive layer-1 currents after calibration, in µA/cm².
pub const LAYER1_P99_UA_PER_CM2: f64 = 20.0;

/// Most negative layer-1 current allowed over the calibration images, in µA/cm² (below
/// about −35 µA/cm² forward-Euler HH at dt 0.001 ms sinks under −170 mV, where βm·dt > 2 and
/// it diverges).
pub const LAYER1_FLOOR_UA_PER_CM2: f64 = 20.0;

/// Largest summed W2 column of positive entries, in µA/cm²: at start-up every hidden neuron
/// spikes at once, and this bounds the pulse an output neuron then receives.
pub const LAYER2_PULSE_UP_UA_PER_CM2: f64 = 3000.0;

/// Largest summed W2 column of negative entries (as a magnitude), in µA/cm²; a 1 ms pulse of
/// −60 µA/cm² lowers u by about 60 mV, keeping it above the unstable range.
pub const LAYER2_PULSE_DOWN_UA_PER_CM2: f64 = 60.0;

/// Training images the calibration uses.
pub const CALIBRATION_IMAGES: usize = 4000;

/// Duration the spike-rate tables assume, in ms (the fully connected preset's duration).
pub const CALIBRATION_DURATION_MS: f64 = 40.0;

/// Time step of the spike-rate tables, in ms (the fully connected preset's step).
pub const CALIBRATION_DT_MS: f64 = 0.001;

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
    let calibrated = calibrate(&model, &train, scale)?;
    folder.log(&format!(
        "calibrated for HH: layer-1 scale {:.4e}, layer-2 scale {:.4e}, \
         constant-current estimate of the HH accuracy on {} training images {:.1}% (ignores \
         tie timing, so the simulation does better)",
        calibrated.layer1_scale,
        calibrated.layer2_scale,
        calibrated.images,
        calibrated.predicted_accuracy_pct
    ))?;
    save_calibrated(&calibrated, &path)?;
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

/// Weights scaled into HH currents, in µA/cm², with how they were derived.
#[derive(Debug, Clone, PartialEq)]
pub struct CalibratedWeights {
    /// W1, 784 × 128 row-major, µA/cm² per raw pixel unit.
    pub w1: Vec<f32>,
    /// W2, 128 × 10 row-major, µA/cm² per spiking hidden neuron.
    pub w2: Vec<f32>,
    /// Factor applied to the classifier's W1 (raw-pixel units).
    pub layer1_scale: f64,
    /// Factor applied to the refitted W2.
    pub layer2_scale: f64,
    /// Images used.
    pub images: usize,
    /// Share of training images, in percent, whose predicted output spike count is highest,
    /// alone, at the label. NOTE: this constant-current estimate ignores which output reaches
    /// a tied count first, so it reads far below the simulation's accuracy (24% against 65%).
    pub predicted_accuracy_pct: f64,
}

/// Response of a rest-at-−65 HH neuron to constant currents over the calibration run.
#[derive(Debug, Clone, PartialEq)]
pub struct RateTable {
    /// Lowest current of the table, µA/cm².
    pub first_ua_per_cm2: f64,
    /// Current step between entries, µA/cm².
    pub step_ua_per_cm2: f64,
    /// Fraction of steps whose spike indicator (previous u > −40 mV) is 1.
    pub duty: Vec<f64>,
    /// Spike onsets in the run, per current.
    pub spikes: Vec<f64>,
}

impl RateTable {
    /// Simulates one HH neuron per current from −20 to 60 µA/cm² in 0.5 steps, from the
    /// initial state (so the start-up spike is included, as in the simulation).
    pub fn measure() -> Self {
        let first = -20.0;
        let step = 0.5;
        let steps = (CALIBRATION_DURATION_MS / CALIBRATION_DT_MS).round() as usize;
        let params = crate::neuron::hh::HhParams::rest_at_minus_65();
        let rows: Vec<(f64, f64)> = (0..=160)
            .into_par_iter()
            .map(|g| {
                let current = first + step * g as f64;
                let mut state = crate::neuron::hh::HhState::initial(&params);
                let (mut on, mut onsets, mut was_on) = (0usize, 0usize, false);
                for _ in 0..steps {
                    let before = state.u_mv;
                    params.step(&mut state, current, CALIBRATION_DT_MS);
                    let spike = params.is_spike(before, state.u_mv);
                    on += usize::from(spike);
                    onsets += usize::from(spike && !was_on);
                    was_on = spike;
                }
                (on as f64 / steps as f64, onsets as f64)
            })
            .collect();
        Self {
            first_ua_per_cm2: first,
            step_ua_per_cm2: step,
            duty: rows.iter().map(|r| r.0).collect(),
            spikes: rows.iter().map(|r| r.1).collect(),
        }
    }

    fn lookup(&self, values: &[f64], current: f64) -> f64 {
        let x = ((current - self.first_ua_per_cm2) / self.step_ua_per_cm2)
            .clamp(0.0, (values.len() - 1) as f64);
        let low = x.floor() as usize;
        let high = (low + 1).min(values.len() - 1);
        let frac = x - low as f64;
        values[low] * (1.0 - frac) + values[high] * frac
    }

    /// Duty fraction at a current (linear interpolation, clamped at the ends).
    pub fn duty_at(&self, current: f64) -> f64 {
        self.lookup(&self.duty, current)
    }

    /// Spike count at a current (linear interpolation, clamped at the ends).
    pub fn spikes_at(&self, current: f64) -> f64 {
        self.lookup(&self.spikes, current)
    }
}

/// Scales the classifier's weights into HH currents.
///
/// 1. W1 is multiplied by `LAYER1_P99_UA_PER_CM2 / p99`, p99 being the 99th percentile of the
///    positive hidden pre-activations over `CALIBRATION_IMAGES` training images, and its
///    negative entries are shrunk by the largest factor (at most 1) that keeps every
///    calibration current above `−LAYER1_FLOOR_UA_PER_CM2`.
/// 2. Each hidden HH neuron's spike indicator averages `duty(I1)` (from [`RateTable`]), so a
///    bias-free W2 is refitted by cross-entropy on those features.
/// 3. W2 is multiplied by the factor whose predicted output spike counts
///    (`spikes(mean current)`, rounded) give the most images a unique, correct maximum.
pub fn calibrate(
    model: &MnistMlp,
    train: &LabeledImages,
    pixel_scale: f32,
) -> Result<CalibratedWeights, TrainError> {
    let count = train.count.min(CALIBRATION_IMAGES);
    let indices: Vec<usize> = (0..count).collect();
    let (x, labels) = batch_tensors(train, &indices, pixel_scale)?;
    let fc = model.fc_weights()?;
    // The simulation feeds raw pixels, so fold the training pixel scale into W1.
    let w1 = (fc.w1 * f64::from(pixel_scale))?;
    let x_raw = (x / f64::from(pixel_scale))?;
    // Split W1 into its excitatory and inhibitory parts: pixels are non-negative, so the
    // inhibitory part alone sets the most negative currents.
    let excite = x_raw.matmul(&w1.relu()?)?.to_vec2::<f32>()?;
    let inhibit = x_raw.matmul(&w1.neg()?.relu()?.neg()?)?.to_vec2::<f32>()?;
    let mut inhibition = 1.0f64;
    let mut layer1_scale = 1.0f64;
    for _ in 0..3 {
        let pre: Vec<f64> = excite
            .iter()
            .flatten()
            .zip(inhibit.iter().flatten())
            .map(|(&e, &i)| f64::from(e) + inhibition * f64::from(i))
            .collect();
        let mut positive: Vec<f64> = pre.iter().copied().filter(|&v| v > 0.0).collect();
        positive.sort_by(f64::total_cmp);
        let p99 = positive
            .get(positive.len() * 99 / 100)
            .copied()
            .unwrap_or(1.0);
        layer1_scale = LAYER1_P99_UA_PER_CM2 / p99.max(1e-9);
        // Largest inhibition factor that keeps every current above −LAYER1_FLOOR.
        let floor = LAYER1_FLOOR_UA_PER_CM2 / layer1_scale;
        inhibition = excite
            .iter()
            .flatten()
            .zip(inhibit.iter().flatten())
            .filter(|(_, &i)| i < 0.0)
            .map(|(&e, &i)| (floor + f64::from(e)) / f64::from(-i))
            .fold(inhibition, f64::min);
    }
    let pre: Vec<Vec<f32>> = excite
        .iter()
        .zip(&inhibit)
        .map(|(e, i)| {
            e.iter()
                .zip(i)
                .map(|(&e, &i)| (f64::from(e) + inhibition * f64::from(i)) as f32)
                .collect()
        })
        .collect();
    let w1 = (w1.relu()? + (w1.neg()?.relu()?.neg()? * inhibition)?)?;
    let p99 = LAYER1_P99_UA_PER_CM2 / layer1_scale;

    let table = RateTable::measure();
    let features: Vec<f32> = pre
        .iter()
        .flatten()
        .map(|&h| table.duty_at(layer1_scale * f64::from(h)) as f32)
        .collect();
    let features = Tensor::from_vec(features, (count, HIDDEN_UNITS), &Device::Cpu)?;
    let w2 = refit_layer2(&features, &labels)?;
    let mean = features.matmul(&w2)?.to_vec2::<f32>()?;
    let labels = labels.to_vec1::<u32>()?;

    let mut maxima: Vec<f32> = mean
        .iter()
        .map(|row| row.iter().copied().fold(f32::MIN, f32::max))
        .collect();
    maxima.sort_by(f32::total_cmp);
    let median = f64::from(maxima[maxima.len() / 2]).max(1e-9);
    let w2_rows = w2.to_vec2::<f32>()?;
    let column_sum = |sign: f32| -> f64 {
        (0..CLASSES)
            .map(|k| {
                w2_rows
                    .iter()
                    .map(|row| f64::from((sign * row[k]).max(0.0)))
                    .sum::<f64>()
            })
            .fold(0.0, f64::max)
    };
    let pulse_cap = (LAYER2_PULSE_UP_UA_PER_CM2 / column_sum(1.0).max(1e-9))
        .min(LAYER2_PULSE_DOWN_UA_PER_CM2 / column_sum(-1.0).max(1e-9));
    let mut best = (-1.0, pulse_cap);
    for target in [
        3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 12.0, 15.0, 20.0, 25.0, 30.0, 40.0,
    ] {
        let factor = (target / median).min(pulse_cap);
        let hits = mean
            .iter()
            .zip(&labels)
            .filter(|(row, &label)| {
                let counts: Vec<f64> = row
                    .iter()
                    .map(|&c| table.spikes_at(factor * f64::from(c)).round())
                    .collect();
                let top = counts.iter().copied().fold(f64::MIN, f64::max);
                let winners: Vec<usize> = (0..counts.len()).filter(|&k| counts[k] == top).collect();
                winners == [label as usize]
            })
            .count();
        let accuracy = 100.0 * hits as f64 / count.max(1) as f64;
        tracing::debug!(target, accuracy, "layer-2 calibration candidate");
        if accuracy > best.0 {
            best = (accuracy, factor);
        }
    }
    let (predicted_accuracy_pct, layer2_scale) = best;
    let w1 = (w1 * layer1_scale)?.flatten_all()?.to_vec1::<f32>()?;
    let w2 = (w2 * layer2_scale)?.flatten_all()?.to_vec1::<f32>()?;
    Ok(CalibratedWeights {
        w1,
        w2,
        layer1_scale: layer1_scale * f64::from(pixel_scale),
        layer2_scale,
        images: count,
        predicted_accuracy_pct,
    })
    .inspect(|c| {
        tracing::info!(
            layer1_scale = c.layer1_scale,
            layer2_scale = c.layer2_scale,
            p99,
            inhibition,
            median,
            pulse_cap,
            accuracy = c.predicted_accuracy_pct,
            "fully connected calibration"
        )
    })
}

const HIDDEN_UNITS: usize = crate::nn::mnist_mlp::HIDDEN;
const CLASSES: usize = crate::nn::mnist_mlp::CLASSES;

/// Fits a bias-free, non-negative (128, 10) readout of the hidden duty fractions by full-batch Adam.
fn refit_layer2(features: &Tensor, labels: &Tensor) -> candle_core::Result<Tensor> {
    let w2 = candle_core::Var::zeros((HIDDEN_UNITS, CLASSES), DType::F32, &Device::Cpu)?;
    let config = AdamConfig {
        lr: 0.1,
        weight_decay: 1e-3,
        ..AdamConfig::default()
    };
    let mut adam = Adam::new(vec![w2.clone()], config)?;
    for _ in 0..400 {
        let logits = features.matmul(w2.as_tensor())?;
        let loss = candle_nn::loss::cross_entropy(&logits, labels)?;
        adam.backward_step(&loss)?;
        // Non-negative weights: the start-up spike of all hidden neurons at once must not
        // push an output neuron into the unstable range below −170 mV.
        w2.set(&w2.as_tensor().relu()?)?;
    }
    Ok(w2.as_tensor().clone())
}

/// Writes `w1` and `w2` (f32) with metadata naming the units and the scales.
fn save_calibrated(weights: &CalibratedWeights, path: &Path) -> Result<(), TrainError> {
    let bytes =
        |values: &[f32]| -> Vec<u8> { values.iter().flat_map(|v| v.to_le_bytes()).collect() };
    let (b1, b2) = (bytes(&weights.w1), bytes(&weights.w2));
    let io_error = |message: String| TrainError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(message),
    };
    let f32_view = safetensors::Dtype::F32;
    let w1 = safetensors::tensor::TensorView::new(f32_view, vec![INPUTS, HIDDEN_UNITS], &b1)
        .map_err(|err| io_error(err.to_string()))?;
    let w2 = safetensors::tensor::TensorView::new(f32_view, vec![HIDDEN_UNITS, CLASSES], &b2)
        .map_err(|err| io_error(err.to_string()))?;
    let tensors = vec![("w1", w1), ("w2", w2)];
    let metadata = std::collections::HashMap::from([
        ("units".to_string(), "uA/cm2".to_string()),
        ("layer1_scale".to_string(), weights.layer1_scale.to_string()),
        ("layer2_scale".to_string(), weights.layer2_scale.to_string()),
        (
            "predicted_accuracy_pct".to_string(),
            format!("{:.2}", weights.predicted_accuracy_pct),
        ),
    ]);
    safetensors::serialize_to_file(tensors, Some(metadata), path)
        .map_err(|err| io_error(err.to_string()))
}
