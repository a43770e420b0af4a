//! Helpers shared by the training tests: a tiny synthetic MNIST folder and small presets.

#![allow(dead_code)]

use std::path::Path;

use hhlab::nn::ModelKind;
use hhlab::preset::train::TrainPreset;

/// Writes raw (uncompressed) IDX files of `train_count` training and `test_count` test
/// images under `data_dir/mnist/`. Image i has label i % 10 and a bright 6×6 block whose
/// position depends on the label, over a faint pattern, so a model can learn it.
pub fn write_tiny_mnist(data_dir: &Path, train_count: usize, test_count: usize) {
    let folder = data_dir.join("mnist");
    std::fs::create_dir_all(&folder).expect("create mnist folder");
    for (prefix, count) in [("train", train_count), ("t10k", test_count)] {
        let labels: Vec<u8> = (0..count).map(|i| (i % 10) as u8).collect();
        let mut pixels = Vec::with_capacity(count * 784);
        for (i, &label) in labels.iter().enumerate() {
            pixels.extend(image(i, label));
        }
        std::fs::write(
            folder.join(format!("{prefix}-images-idx3-ubyte")),
            idx(0x0803, &[count as u32, 28, 28], &pixels),
        )
        .expect("write images");
        std::fs::write(
            folder.join(format!("{prefix}-labels-idx1-ubyte")),
            idx(0x0801, &[count as u32], &labels),
        )
        .expect("write labels");
    }
}

fn image(index: usize, label: u8) -> Vec<u8> {
    let top = 2 + 2 * usize::from(label / 5) * 5;
    let left = 2 + 4 * usize::from(label % 5);
    (0..784)
        .map(|p| {
            let (row, col) = (p / 28, p % 28);
            let in_block = (top..top + 6).contains(&row) && (left..left + 6).contains(&col);
            if in_block {
                250
            } else {
                ((index * 13 + p * 7) % 40) as u8
            }
        })
        .collect()
}

fn idx(magic: u32, dims: &[u32], payload: &[u8]) -> Vec<u8> {
    let mut bytes = magic.to_be_bytes().to_vec();
    for dim in dims {
        bytes.extend_from_slice(&dim.to_be_bytes());
    }
    bytes.extend_from_slice(payload);
    bytes
}

/// Returns a preset of `model` on the tiny set: `epochs` epochs of `train_samples / batch_size`
/// batches, tested on `test_samples`.
pub fn tiny_preset(
    model: ModelKind,
    epochs: usize,
    batch_size: usize,
    train_samples: usize,
    test_samples: usize,
) -> TrainPreset {
    let mut preset = TrainPreset::full(model);
    preset.epochs = epochs;
    preset.batch_size = batch_size;
    preset.train_samples = Some(train_samples);
    preset.test_samples = Some(test_samples);
    preset.seed = 3;
    preset
}
