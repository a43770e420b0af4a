//! Batches of a training run: the per-epoch shuffle, pixels to input tensors (with the fixed
//! noise image of the robustness runs), and test-set evaluation.
//!
//! Input of sample i: `x = (pixels_i + A·ξ) · s`, with pixels in 0–255, ξ one 36×36 image of
//! N(0,1) values drawn once per run from the seed (the same ξ for every training and test
//! sample), A the noise amplitude in pixel units, and s = 1 (raw) or 1/255 (`scale_to_unit`).
//! The noise is added before scaling so that A means the same in both modes.

use std::sync::atomic::{AtomicBool, Ordering};

use candle_core::{Device, Tensor};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::data::multi::{MultiDataset, MULTI_PIXELS, MULTI_SIDE};
use crate::nn::{multitask_loss, MultiTaskModel};

/// Mixed into the run seed for the noise image, so that it does not share a stream with the
/// shuffles.
const NOISE_SEED_SALT: u64 = 0x6e6f_6973_6521;

/// Mixed into the run seed, with the epoch, for each epoch's shuffle.
const SHUFFLE_SEED_SALT: u64 = 0x0073_6875_6666_6c65;

/// Turns stored u8 samples into model input.
#[derive(Debug, Clone, PartialEq)]
pub struct InputTransform {
    /// A·ξ in pixel units, 36×36 row-major; `None` without noise.
    noise: Option<Vec<f32>>,
    /// Factor applied after the noise: 1 or 1/255.
    scale: f32,
}

impl InputTransform {
    /// Creates the transform of a run: noise of `amplitude` (pixel units, 0 = off) drawn from `seed`,
    /// and pixels divided by 255 when `scale_to_unit` is set.
    pub fn new(amplitude: f32, seed: u64, scale_to_unit: bool) -> Self {
        let noise = (amplitude > 0.0).then(|| noise_image(amplitude, seed));
        let scale = if scale_to_unit { 1.0 / 255.0 } else { 1.0 };
        Self { noise, scale }
    }

    /// Returns the noise image A·ξ, if any.
    pub fn noise(&self) -> Option<&[f32]> {
        self.noise.as_deref()
    }

    /// Input tensor `(indices.len(), 1, 36, 36)` f32 of the samples at `indices`.
    pub fn images(&self, data: &MultiDataset, indices: &[usize]) -> candle_core::Result<Tensor> {
        let mut values = Vec::with_capacity(indices.len() * MULTI_PIXELS);
        for &index in indices {
            let pixels = data.image(index);
            match &self.noise {
                Some(noise) => values.extend(
                    pixels
                        .iter()
                        .zip(noise)
                        .map(|(&p, &n)| (f32::from(p) + n) * self.scale),
                ),
                None => values.extend(pixels.iter().map(|&p| f32::from(p) * self.scale)),
            }
        }
        Tensor::from_vec(
            values,
            (indices.len(), 1, MULTI_SIDE, MULTI_SIDE),
            &Device::Cpu,
        )
    }
}

/// Draws the noise image A·ξ, ξ ~ N(0,1) per pixel, 36×36 row-major, deterministic for `seed`.
pub fn noise_image(amplitude: f32, seed: u64) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ NOISE_SEED_SALT);
    (0..MULTI_PIXELS)
        .map(|_| {
            let xi: f32 = StandardNormal.sample(&mut rng);
            amplitude * xi
        })
        .collect()
}

/// Returns the order of the training samples in epoch `epoch` (0-based). It depends only on
/// the seed and the epoch, so a resumed run trains on the same batches as an uninterrupted one.
pub fn epoch_order(count: usize, seed: u64, epoch: usize) -> Vec<usize> {
    let epoch_seed = seed ^ SHUFFLE_SEED_SALT.wrapping_mul(epoch as u64 + 1);
    let mut rng = ChaCha8Rng::seed_from_u64(epoch_seed);
    let mut order: Vec<usize> = (0..count).collect();
    order.shuffle(&mut rng);
    order
}

/// Label tensors `(batch,)` u32 of both tasks.
pub fn label_tensors(
    data: &MultiDataset,
    indices: &[usize],
) -> candle_core::Result<(Tensor, Tensor)> {
    let (a, b) = data.batch_labels(indices);
    let count = indices.len();
    Ok((
        Tensor::from_vec(a, count, &Device::Cpu)?,
        Tensor::from_vec(b, count, &Device::Cpu)?,
    ))
}

/// Number of rows of `logits` `(batch, 10)` whose largest entry is at the label.
pub fn count_correct(logits: &Tensor, labels: &Tensor) -> candle_core::Result<usize> {
    let predicted = logits.argmax(1)?;
    let hits = predicted.eq(labels)?.to_dtype(candle_core::DType::U32)?;
    Ok(hits.sum_all()?.to_scalar::<u32>()? as usize)
}

/// Loss and accuracies over a test set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evaluation {
    /// Mean over samples of the summed two-task cross-entropy (nats).
    pub loss: f64,
    /// Accuracy of task 1 (item A), in percent.
    pub accuracy_task1_pct: f64,
    /// Accuracy of task 2 (item B), in percent.
    pub accuracy_task2_pct: f64,
}

/// Runs `model` over every sample of `data` in order, `batch_size` at a time; `None` when
/// `cancel` was set before the last batch.
pub fn evaluate(
    model: &dyn MultiTaskModel,
    data: &MultiDataset,
    transform: &InputTransform,
    batch_size: usize,
    cancel: &AtomicBool,
) -> candle_core::Result<Option<Evaluation>> {
    let mut loss_sum = 0.0;
    let (mut correct_task1, mut correct_task2) = (0, 0);
    let indices: Vec<usize> = (0..data.count).collect();
    for batch in indices.chunks(batch_size.max(1)) {
        if cancel.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let images = transform.images(data, batch)?;
        let (labels_a, labels_b) = label_tensors(data, batch)?;
        let logits = model.forward(&images, false)?;
        let loss = multitask_loss(&logits, &labels_a, &labels_b)?.to_scalar::<f32>()?;
        loss_sum += f64::from(loss) * batch.len() as f64;
        correct_task1 += count_correct(&logits.0, &labels_a)?;
        correct_task2 += count_correct(&logits.1, &labels_b)?;
    }
    let count = data.count.max(1) as f64;
    Ok(Some(Evaluation {
        loss: loss_sum / count,
        accuracy_task1_pct: 100.0 * correct_task1 as f64 / count,
        accuracy_task2_pct: 100.0 * correct_task2 as f64 / count,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny_dataset() -> MultiDataset {
        let count = 3;
        MultiDataset {
            count,
            pixels: (0..count * MULTI_PIXELS).map(|i| (i % 256) as u8).collect(),
            labels_a: vec![1, 2, 3],
            labels_b: vec![4, 5, 6],
            source_a: vec![0, 1, 2],
            source_b: vec![2, 1, 0],
        }
    }

    #[test]
    fn noise_is_fixed_per_seed() {
        assert_eq!(noise_image(25.0, 7), noise_image(25.0, 7));
        assert_ne!(noise_image(25.0, 7), noise_image(25.0, 8));
    }

    #[test]
    fn noise_has_requested_amplitude() {
        // The sample standard deviation of 1296 N(0, A²) draws is within 10% of A with
        // overwhelming probability (its relative standard error is 1/√(2·1296) ≈ 2%).
        let noise = noise_image(50.0, 3);
        let n = noise.len() as f64;
        let mean = noise.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
        let variance = noise
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / n;
        assert!(
            (variance.sqrt() - 50.0).abs() < 5.0,
            "std {}",
            variance.sqrt()
        );
    }

    #[test]
    fn images_add_noise_before_scaling() {
        let data = tiny_dataset();
        let transform = InputTransform::new(25.0, 1, true);
        let noise = transform.noise().expect("noise").to_vec();
        let x = transform.images(&data, &[2]).expect("images");
        assert_eq!(x.dims(), &[1, 1, MULTI_SIDE, MULTI_SIDE]);

        let values = x
            .flatten_all()
            .and_then(|t| t.to_vec1::<f32>())
            .expect("values");
        let expected = (f32::from(data.image(2)[5]) + noise[5]) / 255.0;
        assert!(
            (values[5] - expected).abs() < 1e-6,
            "{} vs {expected}",
            values[5]
        );
    }

    #[test]
    fn raw_images_keep_pixel_values() {
        let data = tiny_dataset();
        let x = InputTransform::new(0.0, 1, false)
            .images(&data, &[1, 0])
            .expect("images");
        let values = x
            .flatten_all()
            .and_then(|t| t.to_vec1::<f32>())
            .expect("values");
        assert_eq!(values[0], f32::from(data.image(1)[0]));
        assert_eq!(values[MULTI_PIXELS + 7], f32::from(data.image(0)[7]));
    }

    #[test]
    fn epoch_order_is_a_seeded_permutation() {
        let order = epoch_order(100, 5, 0);
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..100).collect::<Vec<_>>());
        assert_eq!(order, epoch_order(100, 5, 0));
        assert_ne!(order, epoch_order(100, 5, 1));
    }

    #[test]
    fn correct_predictions_are_counted() {
        let logits = Tensor::new(&[[0f32, 1.0, 0.0], [2.0, 0.0, 1.0]], &Device::Cpu).expect("t");
        let labels = Tensor::new(&[1u32, 2], &Device::Cpu).expect("t");
        assert_eq!(count_correct(&logits, &labels).expect("count"), 1);
    }
}
