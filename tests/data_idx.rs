//! IDX reading and split loading on small generated files, including every kind of bad input:
//! wrong magic numbers, truncated payloads, corrupt gzip, mismatched counts, wrong shapes,
//! out-of-range labels and missing folders.

#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is a failed test.

mod data_support;

use std::path::Path;

use data_support::{gzip, idx_images, idx_labels, synthetic_split, write_split};
use hhlab::data::idx::{read_images, read_labels};
use hhlab::data::{load_split, DataError, DatasetKind, Split};

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn gzip_and_raw_decode_identically() {
    let dir = tempfile::tempdir().unwrap();
    let (images, labels) = synthetic_split(12);
    let raw = read_images(&write(dir.path(), "raw", &images)).unwrap();
    let gz = read_images(&write(dir.path(), "gz", &gzip(&images))).unwrap();
    assert_eq!(raw, gz);
    assert_eq!((raw.count, raw.rows, raw.cols), (12, 28, 28));
    assert_eq!(raw.pixels.len(), 12 * 784);
    assert_eq!(raw.pixels[784 + 5], data_support::pixel(1, 5));

    let raw_labels = read_labels(&write(dir.path(), "l", &labels)).unwrap();
    let gz_labels = read_labels(&write(dir.path(), "lgz", &gzip(&labels))).unwrap();
    assert_eq!(raw_labels, gz_labels);
    assert_eq!(
        raw_labels,
        (0..12).map(|i| (i % 10) as u8).collect::<Vec<_>>()
    );
}

#[test]
fn images_reject_wrong_magic() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = idx_images(1, 28, 28, &[0; 784]);
    bytes[3] = 0x02;
    let path = write(dir.path(), "bad-magic", &bytes);

    let err = read_images(&path).unwrap_err();
    assert!(
        matches!(err, DataError::BadMagic { found: 0x802, .. }),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains("expected 0x00000803"), "{message}");
    assert!(message.contains("found 0x00000802"), "{message}");
    assert!(message.contains("bad-magic"), "{message}");
}

#[test]
fn labels_reject_image_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "images", &idx_images(1, 28, 28, &[0; 784]));
    let err = read_labels(&path).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::BadMagic {
                expected: 0x801,
                found: 0x803,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn images_reject_truncated_payload() {
    let dir = tempfile::tempdir().unwrap();
    let (images, _) = synthetic_split(3);
    let path = write(dir.path(), "short", &gzip(&images[..images.len() - 100]));

    let err = read_images(&path).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::LengthMismatch {
                items: 3,
                expected: 2352,
                found: 2252,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("truncated"), "{err}");
}

#[test]
fn labels_reject_truncated_payload() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = idx_labels(&[1, 2, 3, 4]);
    bytes.truncate(bytes.len() - 1);
    let err = read_labels(&write(dir.path(), "labels", &bytes)).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::LengthMismatch {
                expected: 4,
                found: 3,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn header_shorter_than_sixteen_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let err = read_images(&write(dir.path(), "tiny", &[0, 0, 8, 3, 0, 0])).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::HeaderTooShort {
                expected: 16,
                found: 6,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn truncated_gzip_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let (images, _) = synthetic_split(20);
    let compressed = gzip(&images);
    let path = write(dir.path(), "cut.gz", &compressed[..compressed.len() / 2]);

    let err = read_images(&path).unwrap_err();
    assert!(matches!(err, DataError::Gzip { .. }), "{err:?}");
    assert!(err.to_string().contains("cut.gz"), "{err}");
}

#[test]
fn corrupt_gzip_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let (images, _) = synthetic_split(20);
    let mut compressed = gzip(&images);
    // Flip bytes in the deflate stream; either the decoder or the CRC-32 check must fail.
    let middle = compressed.len() / 2;
    for byte in &mut compressed[middle..middle + 16] {
        *byte ^= 0x5a;
    }
    let err = read_images(&write(dir.path(), "flipped.gz", &compressed)).unwrap_err();
    assert!(matches!(err, DataError::Gzip { .. }), "{err:?}");
}

#[test]
fn load_split_reads_gzip_files() {
    let dir = tempfile::tempdir().unwrap();
    write_split(dir.path(), DatasetKind::Mnist, Split::Test, 25);

    let data = load_split(dir.path(), DatasetKind::Mnist, Split::Test).unwrap();
    assert_eq!((data.count, data.rows, data.cols), (25, 28, 28));
    assert_eq!(data.labels.len(), 25);
    assert_eq!(data.image(24)[0], data_support::pixel(24, 0));
}

#[test]
fn load_split_reads_raw_files() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("fashion-mnist");
    std::fs::create_dir_all(&folder).unwrap();
    let (images, labels) = synthetic_split(7);
    write(&folder, "train-images-idx3-ubyte", &images);
    write(&folder, "train-labels-idx1-ubyte", &labels);

    let data = load_split(dir.path(), DatasetKind::FashionMnist, Split::Train).unwrap();
    assert_eq!(data.count, 7);
}

#[test]
fn load_split_rejects_count_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    write_split(dir.path(), DatasetKind::Mnist, Split::Train, 10);
    let folder = dir.path().join("mnist");
    write(
        &folder,
        "train-labels-idx1-ubyte.gz",
        &gzip(&idx_labels(&[0; 9])),
    );

    let err = load_split(dir.path(), DatasetKind::Mnist, Split::Train).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::CountMismatch {
                images: 10,
                labels: 9,
                ..
            }
        ),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains("train-images-idx3-ubyte.gz"), "{message}");
    assert!(message.contains("train-labels-idx1-ubyte.gz"), "{message}");
}

#[test]
fn load_split_rejects_wrong_shape() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("mnist");
    std::fs::create_dir_all(&folder).unwrap();
    write(
        &folder,
        "t10k-images-idx3-ubyte.gz",
        &gzip(&idx_images(2, 27, 28, &[0; 2 * 27 * 28])),
    );
    write(
        &folder,
        "t10k-labels-idx1-ubyte.gz",
        &gzip(&idx_labels(&[0, 1])),
    );

    let err = load_split(dir.path(), DatasetKind::Mnist, Split::Test).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::UnexpectedShape {
                rows: 27,
                cols: 28,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn load_split_rejects_label_ten() {
    let dir = tempfile::tempdir().unwrap();
    write_split(dir.path(), DatasetKind::Mnist, Split::Test, 3);
    let folder = dir.path().join("mnist");
    write(
        &folder,
        "t10k-labels-idx1-ubyte.gz",
        &gzip(&idx_labels(&[0, 10, 2])),
    );

    let err = load_split(dir.path(), DatasetKind::Mnist, Split::Test).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::InvalidLabel {
                index: 1,
                label: 10,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn missing_folder_names_fetch_command() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("nothing-here");

    let err = load_split(&data_dir, DatasetKind::Mnist, Split::Train).unwrap_err();
    assert!(matches!(err, DataError::MissingDataset { .. }), "{err:?}");
    let expected = format!("hhlab data fetch mnist --data-dir {}", data_dir.display());
    assert!(err.to_string().contains(&expected), "{err}");
}

#[test]
fn missing_labels_file_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    write_split(dir.path(), DatasetKind::FashionMnist, Split::Train, 2);
    std::fs::remove_file(dir.path().join("fashion-mnist/train-labels-idx1-ubyte.gz")).unwrap();

    let err = load_split(dir.path(), DatasetKind::FashionMnist, Split::Train).unwrap_err();
    let message = err.to_string();
    assert!(message.contains("train-labels-idx1-ubyte.gz"), "{message}");
    assert!(
        message.contains("hhlab data fetch fashion-mnist"),
        "{message}"
    );
}
