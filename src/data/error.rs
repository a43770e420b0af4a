//! The error type of the data module: reading IDX files, composing Multi-MNIST and fetching
//! datasets.
//!
//! Every variant names the file or URL involved, what was expected and what was found, so a
//! message alone is enough to repair the data folder.

use std::path::PathBuf;

/// Errors raised while finding, reading, composing or downloading datasets.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// Occurs when a file cannot be opened, read, written or renamed.
    #[error("failed to {action}: {source} (path {})", path.display())]
    Io {
        /// The operation that failed, for example `read` or `rename .part file`.
        action: &'static str,
        /// The file or folder involved.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },

    /// Occurs when a file starts with the gzip magic bytes but does not decompress.
    #[error(
        "invalid gzip data: {source}; delete the file and fetch it again (path {})",
        path.display()
    )]
    Gzip {
        /// The compressed file.
        path: PathBuf,
        /// The decoder error.
        #[source]
        source: std::io::Error,
    },

    /// Occurs when an IDX file is shorter than its header.
    #[error(
        "IDX header too short: expected at least {expected} bytes, found {found} (path {})",
        path.display()
    )]
    HeaderTooShort {
        /// The IDX file.
        path: PathBuf,
        /// Bytes the header needs.
        expected: usize,
        /// Bytes the (decompressed) file has.
        found: usize,
    },

    /// Occurs when the first four bytes of an IDX file are not the expected magic number
    /// (0x00000803 for u8 images, 0x00000801 for u8 labels).
    #[error(
        "invalid IDX magic number: expected 0x{expected:08x} ({file_kind}), found 0x{found:08x} (path {})",
        path.display()
    )]
    BadMagic {
        /// The IDX file.
        path: PathBuf,
        /// `images` or `labels`.
        file_kind: &'static str,
        /// The magic number for that kind of file.
        expected: u32,
        /// The magic number in the file.
        found: u32,
    },

    /// Occurs when an image file declares zero rows or columns, or a size that overflows.
    #[error("invalid IDX dimensions: {message} (path {})", path.display())]
    BadDimensions {
        /// The IDX file.
        path: PathBuf,
        /// Description of the problem with the dimensions.
        message: String,
    },

    /// Occurs when the payload after the header is shorter (a truncated file) or longer than
    /// the header's dimensions imply.
    #[error(
        "IDX payload length mismatch: header declares {items} items, so expected {expected} \
         payload bytes, found {found}; the file is truncated or corrupt, fetch it again (path {})",
        path.display()
    )]
    LengthMismatch {
        /// The IDX file.
        path: PathBuf,
        /// Item count in the header.
        items: usize,
        /// Payload bytes the header implies.
        expected: usize,
        /// Payload bytes present.
        found: usize,
    },

    /// Occurs when an image file and its label file hold different numbers of items.
    #[error(
        "image and label counts differ: {images} images in {}, {labels} labels in {}",
        images_path.display(),
        labels_path.display()
    )]
    CountMismatch {
        /// The image file.
        images_path: PathBuf,
        /// The label file.
        labels_path: PathBuf,
        /// Images in the image file.
        images: usize,
        /// Labels in the label file.
        labels: usize,
    },

    /// Occurs when a dataset image is not 28×28 pixels.
    #[error(
        "unexpected image size: expected {expected_rows}×{expected_cols}, found {rows}×{cols} \
         (path {})",
        path.display()
    )]
    UnexpectedShape {
        /// The image file.
        path: PathBuf,
        /// Rows required.
        expected_rows: usize,
        /// Columns required.
        expected_cols: usize,
        /// Rows in the file.
        rows: usize,
        /// Columns in the file.
        cols: usize,
    },

    /// Occurs when a label is outside the class range 0–9.
    #[error("invalid label {label} at index {index}: expected 0–9 (path {})", path.display())]
    InvalidLabel {
        /// The label file.
        path: PathBuf,
        /// Position of the label.
        index: usize,
        /// The label value.
        label: u8,
    },

    /// Occurs when a dataset file is in neither its gzip nor its raw form.
    #[error(
        "{dataset} not found: missing {} (or the same name without .gz); download it with \
         `{fetch_command}`",
        path.display()
    )]
    MissingDataset {
        /// The dataset's command-line name, `mnist` or `fashion-mnist`.
        dataset: &'static str,
        /// The expected gzip file.
        path: PathBuf,
        /// The command that downloads the dataset into the folder that was searched.
        fetch_command: String,
    },

    /// Occurs when neither `--data-dir`, `HHLAB_DATA` nor a platform data folder is available.
    #[error("no data folder: pass --data-dir DIR or set HHLAB_DATA")]
    NoDataDir,

    /// Occurs when a request for a sample count or index is outside what the data provides.
    #[error("invalid sample count: requested {requested}, available {available} ({context})")]
    InvalidSampleCount {
        /// Samples requested.
        requested: usize,
        /// Samples available.
        available: usize,
        /// Origin of the request.
        context: &'static str,
    },

    /// Occurs when an HTTP request fails before a status arrives (DNS, connection, TLS,
    /// timeout) or while the body is streamed.
    #[error("download failed: {source} (url {url})")]
    Http {
        /// The requested URL.
        url: String,
        /// The transport error.
        #[source]
        source: Box<ureq::Error>,
    },

    /// Occurs when the server responds with a status other than 200, 206 or a usable 416.
    #[error("download failed: server returned HTTP {status} {reason} (url {url})")]
    HttpStatus {
        /// The requested URL.
        url: String,
        /// The HTTP status code.
        status: u16,
        /// The status text and the start of the response body.
        reason: String,
    },

    /// Occurs when a downloaded file does not have the expected SHA-256 digest.
    #[error(
        "SHA-256 mismatch for {content}: expected {expected}, found {found}; the download is \
         corrupt or the mirror serves different files (path {})",
        path.display()
    )]
    ChecksumMismatch {
        /// The file that was checked.
        path: PathBuf,
        /// `compressed file` or `decompressed content`.
        content: &'static str,
        /// The expected digest, lowercase hex.
        expected: String,
        /// The digest of the file, lowercase hex.
        found: String,
    },
}

impl DataError {
    /// Wraps an I/O error with the action and path it belongs to.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DataError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
