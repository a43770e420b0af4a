//! The ten classifiers end to end: parameter counts, and two training steps on random input.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

use candle_core::{DType, Device, Tensor};
use candle_nn::{Optimizer, VarMap};
use hhlab::nn::init::seeded_var_builder;
use hhlab::nn::{build_model, multitask_loss, Adam, AdamConfig, ModelKind};

/// Weights plus biases of `Linear(inputs → outputs)`.
fn linear(inputs: usize, outputs: usize) -> usize {
    inputs * outputs + outputs
}

/// Weights plus biases of `Conv2d(cin → cout, 3×3)`.
fn conv3(cin: usize, cout: usize) -> usize {
    cin * cout * 9 + cout
}

/// Every model's read-out: `Linear(features → 50)` and two heads `Linear(50 → 10)`.
fn readout(features: usize) -> usize {
    linear(features, 50) + 2 * linear(50, 10)
}

/// Expected stored values per model, from the architecture. HH models also store their fixed
/// gate rates (6 per unit: 512 for `HH_fc`, one per column of the 36- and 18-wide maps for
/// `HH_conv`), which receive no gradient.
fn expected_count(kind: ModelKind) -> usize {
    match kind {
        // 1296·512+512 + 512·50+50 + 2·(50·10+10) = 690,734
        ModelKind::LifFc | ModelKind::Ann => linear(1296, 512) + readout(512),
        // 1296·2048+2048 + 2048·50+50 + 1,020 = 2,759,726
        ModelKind::FourLifFc => linear(1296, 2048) + readout(2048),
        // 690,734 + 6·512 rates = 693,806
        ModelKind::HhFc => linear(1296, 512) + 6 * 512 + readout(512),
        // 3·(1296·512+512) + (3+1) + 2048·50+50 + 1,020 = 2,095,666
        ModelKind::LifHhFc => 3 * linear(1296, 512) + linear(3, 1) + readout(2048),
        // (9+1)·10 + (90+1)·10 + 810·50+50 + 1,020 = 42,580
        ModelKind::LifConv | ModelKind::Cnn => conv3(1, 10) + conv3(10, 10) + readout(810),
        // 400 + 14,440 + 3240·50+50 + 1,020 = 177,910
        ModelKind::FourLifConv => conv3(1, 40) + conv3(40, 40) + readout(3240),
        // 42,580 + 6·36 + 6·18 rates = 42,904
        ModelKind::HhConv => conv3(1, 10) + conv3(10, 10) + 6 * 36 + 6 * 18 + readout(810),
        // 3·100 + 3·910 + (3+1) + 3240·50+50 + 1,020 = 166,104
        ModelKind::LifHhConv => 3 * conv3(1, 10) + 3 * conv3(10, 10) + linear(3, 1) + readout(3240),
    }
}

/// Name of the weight of each model's first layer.
fn first_layer_weight(kind: ModelKind) -> &'static str {
    match kind {
        ModelKind::LifFc | ModelKind::FourLifFc | ModelKind::Ann => "fc1.weight",
        ModelKind::HhFc => "fc1.fc.weight",
        ModelKind::LifHhFc => "lif_4.fc1.weight",
        ModelKind::LifConv | ModelKind::FourLifConv | ModelKind::Cnn => "conv1.weight",
        ModelKind::HhConv => "fc1.conv.weight",
        ModelKind::LifHhConv => "lif_4_1.conv1.weight",
    }
}

fn stored_values(map: &VarMap) -> usize {
    map.all_vars().iter().map(|v| v.elem_count()).sum()
}

#[test]
fn parameter_counts_match_architecture() {
    let hand_totals = [
        (ModelKind::LifFc, 690_734),
        (ModelKind::FourLifFc, 2_759_726),
        (ModelKind::HhFc, 693_806),
        (ModelKind::LifHhFc, 2_095_666),
        (ModelKind::Ann, 690_734),
        (ModelKind::LifConv, 42_580),
        (ModelKind::FourLifConv, 177_910),
        (ModelKind::HhConv, 42_904),
        (ModelKind::LifHhConv, 166_104),
        (ModelKind::Cnn, 42_580),
    ];
    for (kind, total) in hand_totals {
        assert_eq!(
            expected_count(kind),
            total,
            "{kind}: formula against hand total"
        );
        let map = VarMap::new();
        build_model(kind, seeded_var_builder(&map, 0)).unwrap();
        assert_eq!(stored_values(&map), total, "{kind}: stored values");
    }
}

/// Sparse random "images" with raw 0–255 pixel values, like the unnormalised Multi-MNIST.
fn random_images(batch: usize, seed: u64) -> Tensor {
    let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    let mut values = Vec::with_capacity(batch * 36 * 36);
    for _ in 0..batch * 36 * 36 {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let u = (state >> 33) as f32 / (1u64 << 31) as f32;
        values.push(if u < 0.7 {
            0.0
        } else {
            255.0 * (u - 0.7) / 0.3
        });
    }
    Tensor::from_vec(values, (batch, 1, 36, 36), &Device::Cpu).unwrap()
}

#[test]
fn two_training_steps_give_finite_loss_and_gradients() {
    let labels_a = Tensor::new(&[1u32, 3, 5, 7], &Device::Cpu).unwrap();
    let labels_b = Tensor::new(&[0u32, 2, 4, 9], &Device::Cpu).unwrap();
    for kind in ModelKind::ALL {
        let map = VarMap::new();
        let model = build_model(kind, seeded_var_builder(&map, 1)).unwrap();
        let config = AdamConfig::from(&kind.optim_config());
        let mut adam = Adam::new(map.all_vars(), config).unwrap();
        let first = map.data().lock().unwrap()[first_layer_weight(kind)].clone();
        for step in 0..2u64 {
            let x = random_images(4, step);
            let logits = model.forward(&x, true).unwrap();
            assert_eq!(logits.0.dims(), &[4, 10], "{kind}");
            assert_eq!(logits.1.dims(), &[4, 10], "{kind}");
            let loss = multitask_loss(&logits, &labels_a, &labels_b).unwrap();
            let value = loss
                .to_dtype(DType::F32)
                .unwrap()
                .to_scalar::<f32>()
                .unwrap();
            assert!(value.is_finite(), "{kind} step {step}: loss {value}");
            let grads = loss.backward().unwrap();
            let grad = grads.get(&first).expect("first layer has a gradient");
            let norm = grad
                .sqr()
                .unwrap()
                .sum_all()
                .unwrap()
                .to_scalar::<f32>()
                .unwrap();
            assert!(norm.is_finite(), "{kind} step {step}: gradient norm {norm}");
            assert!(
                norm > 0.0,
                "{kind} step {step}: first-layer gradient is zero"
            );
            adam.step(&grads).unwrap();
        }
    }
}
