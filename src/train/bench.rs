//! Training throughput on synthetic input: what `hhlab bench train` reports.
//!
//! One sample = one forward pass through the model, the backward pass of the summed two-task
//! cross-entropy and one Adam step, exactly as in a training run, on seeded uniform pixels in
//! 0–255 with seeded random labels. Dense tensor work does not depend on the pixel values, so
//! synthetic input measures the same cost as Multi-MNIST.

use std::time::Instant;

use candle_core::{Device, Tensor};
use candle_nn::{Optimizer, VarMap};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::error::TrainError;
use crate::data::multi::{MULTI_PIXELS, MULTI_SIDE};
use crate::nn::init::seeded_var_builder;
use crate::nn::{build_model, multitask_loss, Adam, AdamConfig, ModelKind};
use crate::preset::PresetError;

/// Seed of the synthetic batch and the weights.
const BENCH_SEED: u64 = 1;

/// Returns training samples per second of `kind` at `batch_size`, timed over `batches`
/// batches after one untimed warm-up batch.
pub fn measure_throughput(
    kind: ModelKind,
    batch_size: usize,
    batches: usize,
) -> Result<f64, TrainError> {
    for (field, value) in [("batch_size", batch_size), ("batches", batches)] {
        if value == 0 {
            return Err(PresetError::Invalid {
                field: field.to_string(),
                value: value.to_string(),
                fix: "use at least 1".to_string(),
            }
            .into());
        }
    }

    let vars = VarMap::new();
    let model = build_model(kind, seeded_var_builder(&vars, BENCH_SEED))?;
    let mut adam = Adam::new(vars.all_vars(), AdamConfig::from(&kind.optim_config()))?;
    let (images, labels_a, labels_b) = synthetic_batch(batch_size)?;

    let mut run_batch = || -> Result<(), TrainError> {
        let logits = model.forward(&images, true)?;
        let loss = multitask_loss(&logits, &labels_a, &labels_b)?;
        adam.backward_step(&loss)?;
        Ok(())
    };
    run_batch()?;
    let start = Instant::now();
    for _ in 0..batches {
        run_batch()?;
    }
    let seconds = start.elapsed().as_secs_f64().max(1e-9);
    Ok((batch_size * batches) as f64 / seconds)
}

/// Images `(batch, 1, 36, 36)` with uniform 0–255 values and labels `(batch,)` u32 in 0–9.
fn synthetic_batch(batch_size: usize) -> candle_core::Result<(Tensor, Tensor, Tensor)> {
    let mut rng = ChaCha8Rng::seed_from_u64(BENCH_SEED);
    let pixels: Vec<f32> = (0..batch_size * MULTI_PIXELS)
        .map(|_| f32::from(rng.random::<u8>()))
        .collect();
    let mut labels = || -> Vec<u32> { (0..batch_size).map(|_| rng.random_range(0..10)).collect() };
    let labels_a = labels();
    let labels_b = labels();
    Ok((
        Tensor::from_vec(
            pixels,
            (batch_size, 1, MULTI_SIDE, MULTI_SIDE),
            &Device::Cpu,
        )?,
        Tensor::from_vec(labels_a, batch_size, &Device::Cpu)?,
        Tensor::from_vec(labels_b, batch_size, &Device::Cpu)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throughput_is_positive_and_finite() {
        let rate = measure_throughput(ModelKind::Ann, 4, 1).expect("measure");
        assert!(rate.is_finite(), "{rate}");
        assert!(rate > 0.0, "{rate}");
    }

    #[test]
    fn zero_batches_are_rejected() {
        let error = measure_throughput(ModelKind::Ann, 4, 0).expect_err("must fail");
        assert!(error.to_string().contains("batches"), "{error}");
    }
}
