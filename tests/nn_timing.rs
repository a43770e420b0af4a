//! Forward + backward time per batch of 128 for each classifier, printed, never asserted.
//!
//! Run with `cargo test --test nn_timing -- --ignored --nocapture` (add `--release` for the
//! optimised profile). `HHLAB_TIMING_MODELS` limits the models (comma separated names) and
//! `HHLAB_TIMING_BATCHES` sets the number of timed batches (default 5, after one warm-up).

#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::time::Instant;

use candle_core::{Device, Tensor};
use candle_nn::VarMap;
use hhlab::nn::init::seeded_var_builder;
use hhlab::nn::{build_model, multitask_loss, ModelKind};

const BATCH: usize = 128;

fn images(batch: usize) -> Tensor {
    let values: Vec<f32> = (0..batch * 36 * 36)
        .map(|i| {
            let u = ((i as u64).wrapping_mul(2_654_435_761) % 1000) as f32 / 1000.0;
            if u < 0.7 {
                0.0
            } else {
                255.0 * (u - 0.7) / 0.3
            }
        })
        .collect();
    Tensor::from_vec(values, (batch, 1, 36, 36), &Device::Cpu).unwrap()
}

#[test]
#[ignore = "measurement, run by hand"]
fn forward_backward_time_per_batch() {
    let selected: Vec<ModelKind> = match std::env::var("HHLAB_TIMING_MODELS") {
        Ok(names) => names
            .split(',')
            .map(|n| n.trim().parse().unwrap())
            .collect(),
        Err(_) => ModelKind::ALL.to_vec(),
    };
    let batches: usize = std::env::var("HHLAB_TIMING_BATCHES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(5);
    let x = images(BATCH);
    let labels: Vec<u32> = (0..BATCH as u32).map(|i| i % 10).collect();
    let labels = Tensor::new(labels, &Device::Cpu).unwrap();
    for kind in selected {
        let map = VarMap::new();
        let model = build_model(kind, seeded_var_builder(&map, 0)).unwrap();
        let run = || {
            let logits = model.forward(&x, true).unwrap();
            let loss = multitask_loss(&logits, &labels, &labels).unwrap();
            loss.backward().unwrap();
        };
        run();
        let start = Instant::now();
        for _ in 0..batches {
            run();
        }
        let ms = start.elapsed().as_secs_f64() * 1e3 / batches as f64;
        eprintln!("{kind:<12} forward+backward {ms:8.2} ms per batch of {BATCH}");
    }
}
