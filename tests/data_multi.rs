//! Multi-MNIST composition on small generated source splits: layout, maximum in the overlap,
//! labels, pairing, sample subsets and seeding.

#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is a failed test.

mod data_support;

use data_support::write_split;
use hhlab::data::multi::{compose, MultiDataset, MultiVariant, MULTI_PIXELS, MULTI_SIDE};
use hhlab::data::{load_split, DataError, DatasetKind, LabeledImages, Split};

/// Rebuilds composed image `index` from its sources with the layout rule, pixel by pixel.
fn expected_image(
    data: &MultiDataset,
    index: usize,
    a: &LabeledImages,
    b: &LabeledImages,
) -> Vec<u8> {
    let image_a = a.image(data.source_a[index] as usize);
    let image_b = b.image(data.source_b[index] as usize);
    let mut out = vec![0u8; MULTI_PIXELS];
    for r in 0..MULTI_SIDE {
        for c in 0..MULTI_SIDE {
            let pa = if r < 28 && c < 28 {
                image_a[r * 28 + c]
            } else {
                0
            };
            let pb = if r >= 8 && c >= 8 {
                image_b[(r - 8) * 28 + (c - 8)]
            } else {
                0
            };
            out[r * MULTI_SIDE + c] = pa.max(pb);
        }
    }
    out
}

#[test]
fn compose_builds_twice_the_source_count() {
    let dir = tempfile::tempdir().unwrap();
    write_split(dir.path(), DatasetKind::Mnist, Split::Train, 30);

    let data = compose(dir.path(), MultiVariant::MultiMnist, Split::Train, None, 1).unwrap();

    assert_eq!(data.count, 60);
    assert_eq!(data.pixels.len(), 60 * 1296);
    assert_eq!(data.labels_a.len(), 60);
    assert_eq!(data.labels_b.len(), 60);
}

#[test]
fn every_sample_matches_layout_rule() {
    let dir = tempfile::tempdir().unwrap();
    write_split(dir.path(), DatasetKind::Mnist, Split::Test, 20);
    let source = load_split(dir.path(), DatasetKind::Mnist, Split::Test).unwrap();

    let data = compose(dir.path(), MultiVariant::MultiMnist, Split::Test, None, 9).unwrap();

    for i in 0..data.count {
        assert_eq!(
            data.image(i),
            expected_image(&data, i, &source, &source),
            "sample {i}"
        );
        let (ia, ib) = (data.source_a[i] as usize, data.source_b[i] as usize);
        assert_ne!(ia, ib, "sample {i} pairs image {ia} with itself");
        assert_eq!(data.labels_a[i], source.labels[ia], "label A of sample {i}");
        assert_eq!(data.labels_b[i], source.labels[ib], "label B of sample {i}");
    }
}

#[test]
fn fashion_mnist_variant_takes_a_from_fashion() {
    let dir = tempfile::tempdir().unwrap();
    write_split(dir.path(), DatasetKind::Mnist, Split::Test, 15);
    // A different count makes the two sources distinguishable.
    write_split(dir.path(), DatasetKind::FashionMnist, Split::Test, 11);
    let fashion = load_split(dir.path(), DatasetKind::FashionMnist, Split::Test).unwrap();
    let mnist = load_split(dir.path(), DatasetKind::Mnist, Split::Test).unwrap();

    let data = compose(
        dir.path(),
        MultiVariant::MultiFashionMnist,
        Split::Test,
        None,
        2,
    )
    .unwrap();

    assert_eq!(data.count, 22);
    assert!(data.source_a.iter().all(|&i| i < 11));
    assert!(data.source_b.iter().all(|&i| i < 15));
    for i in 0..data.count {
        assert_eq!(
            data.image(i),
            expected_image(&data, i, &fashion, &mnist),
            "sample {i}"
        );
    }
}

#[test]
fn samples_take_a_seeded_prefix() {
    let dir = tempfile::tempdir().unwrap();
    write_split(dir.path(), DatasetKind::FashionMnist, Split::Train, 40);

    let full = compose(
        dir.path(),
        MultiVariant::MultiFashion,
        Split::Train,
        None,
        5,
    )
    .unwrap();
    let part = compose(
        dir.path(),
        MultiVariant::MultiFashion,
        Split::Train,
        Some(13),
        5,
    )
    .unwrap();

    assert_eq!(part.count, 13);
    assert_eq!(part.pixels, full.pixels[..13 * MULTI_PIXELS]);
    assert_eq!(part.labels_a, full.labels_a[..13]);
    assert_eq!(part.labels_b, full.labels_b[..13]);
}

#[test]
fn same_seed_same_data_other_seed_differs() {
    let dir = tempfile::tempdir().unwrap();
    write_split(dir.path(), DatasetKind::Mnist, Split::Train, 50);

    let first = compose(dir.path(), MultiVariant::MultiMnist, Split::Train, None, 42).unwrap();
    let again = compose(dir.path(), MultiVariant::MultiMnist, Split::Train, None, 42).unwrap();
    let other = compose(dir.path(), MultiVariant::MultiMnist, Split::Train, None, 43).unwrap();

    assert_eq!(first, again);
    assert_ne!(first.pixels, other.pixels);
    assert_ne!(first.source_b, other.source_b);
}

#[test]
fn sample_count_out_of_range_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    write_split(dir.path(), DatasetKind::Mnist, Split::Test, 5);

    for samples in [0, 11] {
        let err = compose(
            dir.path(),
            MultiVariant::MultiMnist,
            Split::Test,
            Some(samples),
            0,
        )
        .unwrap_err();
        assert!(
            matches!(err, DataError::InvalidSampleCount { requested, available: 10, .. } if requested == samples),
            "{samples}: {err:?}"
        );
    }
}

#[test]
fn missing_source_names_fetch_command() {
    let dir = tempfile::tempdir().unwrap();
    write_split(dir.path(), DatasetKind::Mnist, Split::Test, 5);

    let err = compose(
        dir.path(),
        MultiVariant::MultiFashionMnist,
        Split::Test,
        None,
        0,
    )
    .unwrap_err();

    assert!(
        err.to_string().contains("hhlab data fetch fashion-mnist"),
        "{err}"
    );
}

#[test]
fn batch_f32_scales_on_request() {
    let dir = tempfile::tempdir().unwrap();
    write_split(dir.path(), DatasetKind::Mnist, Split::Test, 6);
    let data = compose(dir.path(), MultiVariant::MultiMnist, Split::Test, None, 3).unwrap();

    let raw = data.batch_f32(&[4, 1], false);
    let unit = data.batch_f32(&[4, 1], true);

    assert_eq!(raw.len(), 2 * MULTI_PIXELS);
    assert_eq!(raw[0], f32::from(data.image(4)[0]));
    assert_eq!(raw[MULTI_PIXELS + 100], f32::from(data.image(1)[100]));
    for (r, u) in raw.iter().zip(&unit) {
        // Division by 255 in f32: exact up to one rounding step.
        assert!((r / 255.0 - u).abs() <= 1e-6, "{r} scaled to {u}");
    }
    let (a, b) = data.batch_labels(&[4, 1]);
    assert_eq!(
        a,
        [u32::from(data.labels_a[4]), u32::from(data.labels_a[1])]
    );
    assert_eq!(
        b,
        [u32::from(data.labels_b[4]), u32::from(data.labels_b[1])]
    );
}
