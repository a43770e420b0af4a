//! Datasets: the IDX reader, the Multi-MNIST composer and the downloader.
//!
//! Data lives in one folder (see [`resolve_data_dir`]) with a subfolder per dataset:
//! `mnist/` and `fashion-mnist/`, each holding the four official files
//! `train-images-idx3-ubyte.gz`, `train-labels-idx1-ubyte.gz`, `t10k-images-idx3-ubyte.gz`
//! and `t10k-labels-idx1-ubyte.gz` (gzip or already decompressed, without `.gz`).
//! Nothing here downloads on its own: a missing file is an error that names the
//! `hhlab data fetch` command to run.
//!
//! Pixels stay u8 (0–255) in memory; the 120,000 composed 36×36 training images take
//! 120,000 × 1296 B ≈ 155 MB. Conversion to f32 happens per batch
//! ([`multi::MultiDataset::batch_f32`]).

pub mod error;
pub mod fetch;
pub mod idx;
pub mod location;
pub mod multi;

use std::path::{Path, PathBuf};

pub use error::DataError;
pub use location::{fetch_command, resolve_data_dir, DATA_DIR_ENV};

/// Rows of one source image in MNIST and Fashion-MNIST.
pub const SOURCE_ROWS: usize = 28;

/// Columns of one source image in MNIST and Fashion-MNIST.
pub const SOURCE_COLS: usize = 28;

/// Number of classes in both datasets; labels are 0–9.
pub const CLASS_COUNT: usize = 10;

/// One of the two source datasets.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, clap::ValueEnum,
)]
pub enum DatasetKind {
    /// Handwritten digits (LeCun, Cortes, Burges).
    Mnist,
    /// Zalando's clothing images, a drop-in replacement for MNIST.
    FashionMnist,
}

impl DatasetKind {
    /// Both datasets, in a fixed order.
    pub const ALL: [DatasetKind; 2] = [DatasetKind::Mnist, DatasetKind::FashionMnist];

    /// Returns the command-line name, which is also the subfolder of the data folder.
    pub fn name(self) -> &'static str {
        match self {
            DatasetKind::Mnist => "mnist",
            DatasetKind::FashionMnist => "fashion-mnist",
        }
    }

    /// Returns the folder of this dataset inside `data_dir`.
    pub fn folder(self, data_dir: &Path) -> PathBuf {
        data_dir.join(self.name())
    }
}

impl std::fmt::Display for DatasetKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The training or the test part of a dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Split {
    /// 60,000 images in the official files.
    Train,
    /// 10,000 images in the official files.
    Test,
}

impl Split {
    /// Both splits, in a fixed order.
    pub const ALL: [Split; 2] = [Split::Train, Split::Test];

    /// Returns the file-name prefix of this split: `train` or `t10k`.
    pub fn file_prefix(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "t10k",
        }
    }

    /// Returns the official file name of the images, gzip form.
    pub fn images_file(self) -> String {
        format!("{}-images-idx3-ubyte.gz", self.file_prefix())
    }

    /// Returns the official file name of the labels, gzip form.
    pub fn labels_file(self) -> String {
        format!("{}-labels-idx1-ubyte.gz", self.file_prefix())
    }
}

impl std::fmt::Display for Split {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Split::Train => f.write_str("train"),
            Split::Test => f.write_str("test"),
        }
    }
}

/// Images with one label each, as read from a pair of IDX files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabeledImages {
    /// Number of images and labels.
    pub count: usize,
    /// Rows per image (28 for the official files).
    pub rows: usize,
    /// Columns per image (28 for the official files).
    pub cols: usize,
    /// Pixels 0–255, image after image, each row-major; length count × rows × cols.
    pub pixels: Vec<u8>,
    /// Class labels 0–9; length count.
    pub labels: Vec<u8>,
}

impl LabeledImages {
    /// Pixels of image `index`, row-major. Panics if `index >= count`.
    pub fn image(&self, index: usize) -> &[u8] {
        let size = self.rows * self.cols;
        &self.pixels[index * size..(index + 1) * size]
    }
}

/// Loads one split of a dataset from `data_dir/<dataset>/` and checks it: magic numbers,
/// payload lengths, matching counts, 28×28 images and labels 0–9.
///
/// Each file is taken in its gzip form when present, otherwise without `.gz`.
pub fn load_split(
    data_dir: &Path,
    kind: DatasetKind,
    split: Split,
) -> Result<LabeledImages, DataError> {
    let images_path = locate_file(data_dir, kind, &split.images_file())?;
    let labels_path = locate_file(data_dir, kind, &split.labels_file())?;

    let images = idx::read_images(&images_path)?;
    let labels = idx::read_labels(&labels_path)?;
    check_pair(&images, &labels, &images_path, &labels_path)?;

    tracing::debug!(
        dataset = kind.name(),
        %split,
        count = images.count,
        "loaded {}",
        images_path.display()
    );
    Ok(LabeledImages {
        count: images.count,
        rows: images.rows,
        cols: images.cols,
        pixels: images.pixels,
        labels,
    })
}

/// Returns the path of `gz_name` in the dataset folder, or of the same name without `.gz`
/// when only that exists.
pub fn locate_file(
    data_dir: &Path,
    kind: DatasetKind,
    gz_name: &str,
) -> Result<PathBuf, DataError> {
    let folder = kind.folder(data_dir);
    let gz_path = folder.join(gz_name);
    if gz_path.is_file() {
        return Ok(gz_path);
    }
    let raw_path = folder.join(gz_name.trim_end_matches(".gz"));
    if raw_path.is_file() {
        return Ok(raw_path);
    }
    Err(DataError::MissingDataset {
        dataset: kind.name(),
        path: gz_path,
        fetch_command: fetch_command(kind, data_dir),
    })
}

fn check_pair(
    images: &idx::IdxImages,
    labels: &[u8],
    images_path: &Path,
    labels_path: &Path,
) -> Result<(), DataError> {
    if images.count != labels.len() {
        return Err(DataError::CountMismatch {
            images_path: images_path.to_path_buf(),
            labels_path: labels_path.to_path_buf(),
            images: images.count,
            labels: labels.len(),
        });
    }
    if (images.rows, images.cols) != (SOURCE_ROWS, SOURCE_COLS) {
        return Err(DataError::UnexpectedShape {
            path: images_path.to_path_buf(),
            expected_rows: SOURCE_ROWS,
            expected_cols: SOURCE_COLS,
            rows: images.rows,
            cols: images.cols,
        });
    }
    if let Some(index) = labels.iter().position(|&l| l as usize >= CLASS_COUNT) {
        return Err(DataError::InvalidLabel {
            path: labels_path.to_path_buf(),
            index,
            label: labels[index],
        });
    }
    Ok(())
}
