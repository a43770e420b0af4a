//! Helpers shared by the data tests: small IDX files generated in memory.

#![allow(dead_code, clippy::unwrap_used, clippy::print_stderr)]

use std::io::Write;
use std::path::Path;

use flate2::write::GzEncoder;
use flate2::Compression;

use hhlab::data::{DatasetKind, Split};

/// Serialises an IDX image file: magic 0x00000803, count, rows, cols, then the pixels.
pub fn idx_images(count: u32, rows: u32, cols: u32, pixels: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(16 + pixels.len());
    for word in [0x0000_0803u32, count, rows, cols] {
        bytes.extend_from_slice(&word.to_be_bytes());
    }
    bytes.extend_from_slice(pixels);
    bytes
}

/// Serialises an IDX label file: magic 0x00000801, count, then the labels.
pub fn idx_labels(labels: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(8 + labels.len());
    for word in [0x0000_0801u32, labels.len() as u32] {
        bytes.extend_from_slice(&word.to_be_bytes());
    }
    bytes.extend_from_slice(labels);
    bytes
}

/// Compresses `bytes` into one gzip member.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// Pixel `p` of synthetic image `i`: a pattern that differs between images and pixels.
pub fn pixel(i: usize, p: usize) -> u8 {
    ((i * 31 + p * 7 + (p / 28) * 3) % 256) as u8
}

/// `count` synthetic 28×28 images and their labels `i % 10`, as raw IDX files.
pub fn synthetic_split(count: usize) -> (Vec<u8>, Vec<u8>) {
    let pixels: Vec<u8> = (0..count * 784).map(|k| pixel(k / 784, k % 784)).collect();
    let labels: Vec<u8> = (0..count).map(|i| (i % 10) as u8).collect();
    (
        idx_images(count as u32, 28, 28, &pixels),
        idx_labels(&labels),
    )
}

/// Writes a synthetic split of `count` images as gzip files under `data_dir/<kind>/`.
pub fn write_split(data_dir: &Path, kind: DatasetKind, split: Split, count: usize) {
    let (images, labels) = synthetic_split(count);
    let folder = kind.folder(data_dir);
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join(split.images_file()), gzip(&images)).unwrap();
    std::fs::write(folder.join(split.labels_file()), gzip(&labels)).unwrap();
}

/// Returns the real data folder from `HHLAB_DATA`, or prints why the test is skipped.
pub fn real_data_dir(test: &str) -> Option<std::path::PathBuf> {
    match std::env::var_os("HHLAB_DATA").filter(|v| !v.is_empty()) {
        Some(dir) => Some(dir.into()),
        None => {
            eprintln!("{test}: skipped, HHLAB_DATA is not set");
            None
        }
    }
}
