//! Checks on the real MNIST and Fashion-MNIST files in the folder named by `HHLAB_DATA`.
//! Each test prints a reason and returns early when the variable is unset.

#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is a failed test.

mod data_support;

use data_support::real_data_dir;
use hhlab::data::fetch::{official_files, sha256_hex};
use hhlab::data::idx::read_decompressed;
use hhlab::data::multi::{compose, MultiVariant, MULTI_PIXELS, MULTI_SIDE};
use hhlab::data::{load_split, DatasetKind, LabeledImages, Split, CLASS_COUNT};

fn histogram(labels: &[u8]) -> [usize; CLASS_COUNT] {
    let mut counts = [0; CLASS_COUNT];
    for &label in labels {
        counts[label as usize] += 1;
    }
    counts
}

#[test]
fn mnist_splits_have_official_counts() {
    let Some(dir) = real_data_dir("mnist_splits_have_official_counts") else {
        return;
    };
    // Class counts of the official MNIST files (training, test), as published with the
    // dataset and reproduced by every loader.
    let cases = [
        (
            Split::Train,
            60_000,
            [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949],
        ),
        (
            Split::Test,
            10_000,
            [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009],
        ),
    ];
    for (split, count, classes) in cases {
        let data = load_split(&dir, DatasetKind::Mnist, split).unwrap();
        assert_eq!(data.count, count, "{split}");
        assert_eq!((data.rows, data.cols), (28, 28), "{split}");
        assert_eq!(data.pixels.len(), count * 784, "{split}");
        assert_eq!(histogram(&data.labels), classes, "{split}");
    }
}

#[test]
fn fashion_splits_are_balanced() {
    let Some(dir) = real_data_dir("fashion_splits_are_balanced") else {
        return;
    };
    // Fashion-MNIST has 6,000 training and 1,000 test images per class.
    for (split, count, per_class) in [(Split::Train, 60_000, 6000), (Split::Test, 10_000, 1000)] {
        let data = load_split(&dir, DatasetKind::FashionMnist, split).unwrap();
        assert_eq!(data.count, count, "{split}");
        assert_eq!((data.rows, data.cols), (28, 28), "{split}");
        assert_eq!(histogram(&data.labels), [per_class; CLASS_COUNT], "{split}");
    }
}

#[test]
fn mnist_content_matches_official_sha256() {
    let Some(dir) = real_data_dir("mnist_content_matches_official_sha256") else {
        return;
    };
    // The digests in the table are those of the official uncompressed MNIST files.
    for file in official_files(DatasetKind::Mnist) {
        let path = dir.join("mnist").join(&file.name);
        let bytes = read_decompressed(&path).unwrap();
        assert_eq!(sha256_hex(&bytes), file.sha256, "{}", file.name);
    }
}

/// Checks layout, labels and pairing of every composed sample against its sources.
fn check_composed(variant: MultiVariant, a: &LabeledImages, b: &LabeledImages, seed: u64) {
    let data = compose_real(variant, Split::Test, None, seed);
    assert_eq!(data.count, 2 * a.count, "{variant:?}");
    assert_eq!(data.pixels.len(), data.count * MULTI_PIXELS);

    for i in 0..data.count {
        let (ia, ib) = (data.source_a[i] as usize, data.source_b[i] as usize);
        assert_eq!(data.labels_a[i], a.labels[ia], "{variant:?} sample {i}");
        assert_eq!(data.labels_b[i], b.labels[ib], "{variant:?} sample {i}");
        let image = data.image(i);
        let (image_a, image_b) = (a.image(ia), b.image(ib));
        for r in 0..MULTI_SIDE {
            for c in 0..MULTI_SIDE {
                let pa = if r < 28 && c < 28 {
                    image_a[r * 28 + c]
                } else {
                    0
                };
                let pb = if r >= 8 && c >= 8 {
                    image_b[(r - 8) * 28 + c - 8]
                } else {
                    0
                };
                assert_eq!(
                    image[r * MULTI_SIDE + c],
                    pa.max(pb),
                    "sample {i} at ({r}, {c})"
                );
            }
        }
    }
}

fn compose_real(
    variant: MultiVariant,
    split: Split,
    samples: Option<usize>,
    seed: u64,
) -> hhlab::data::multi::MultiDataset {
    let dir = std::env::var_os("HHLAB_DATA").unwrap();
    compose(std::path::Path::new(&dir), variant, split, samples, seed).unwrap()
}

#[test]
fn multi_variants_follow_layout_rule() {
    let Some(dir) = real_data_dir("multi_variants_follow_layout_rule") else {
        return;
    };
    let mnist = load_split(&dir, DatasetKind::Mnist, Split::Test).unwrap();
    let fashion = load_split(&dir, DatasetKind::FashionMnist, Split::Test).unwrap();

    check_composed(MultiVariant::MultiMnist, &mnist, &mnist, 7);
    check_composed(MultiVariant::MultiFashion, &fashion, &fashion, 7);
    check_composed(MultiVariant::MultiFashionMnist, &fashion, &mnist, 7);
}

#[test]
fn multi_mnist_training_set_is_full_size() {
    let Some(_) = real_data_dir("multi_mnist_training_set_is_full_size") else {
        return;
    };
    let data = compose_real(MultiVariant::MultiMnist, Split::Train, None, 0);

    assert_eq!(data.count, 120_000);
    assert_eq!(data.pixels.len(), 120_000 * 1296);
    // Each source image is item A twice and item B twice.
    for sources in [&data.source_a, &data.source_b] {
        let mut uses = vec![0u8; 60_000];
        for &i in sources.iter() {
            uses[i as usize] += 1;
        }
        assert!(uses.iter().all(|&u| u == 2));
    }
    assert!(data
        .source_a
        .iter()
        .zip(&data.source_b)
        .all(|(a, b)| a != b));
    // Both label sequences cover all ten classes.
    assert!(histogram(&data.labels_a).iter().all(|&n| n > 0));
    assert!(histogram(&data.labels_b).iter().all(|&n| n > 0));
}

#[test]
fn real_composition_is_seeded() {
    let Some(_) = real_data_dir("real_composition_is_seeded") else {
        return;
    };
    let first = compose_real(MultiVariant::MultiMnist, Split::Test, Some(2000), 11);
    let again = compose_real(MultiVariant::MultiMnist, Split::Test, Some(2000), 11);
    let other = compose_real(MultiVariant::MultiMnist, Split::Test, Some(2000), 12);

    assert_eq!(first, again);
    assert_ne!(first.pixels, other.pixels);
    assert_ne!(first.labels_a, other.labels_a);
}
