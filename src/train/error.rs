//! Errors of training runs.

use std::path::PathBuf;

use crate::data::DataError;
use crate::preset::PresetError;

/// Errors that stop a training run or keep it from starting.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// Occurs when the run folder cannot be created or written, checked before training starts.
    #[error("cannot write run folder {path}: {source}; pass a writable folder with --out")]
    RunFolder {
        /// The run folder.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// Occurs when a file of the run folder cannot be read or written during a run.
    #[error("cannot access {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// Occurs when a file of a run folder is malformed (`run.ron`, `metrics.csv`,
    /// `checkpoint.ron`).
    #[error("malformed {path}: {message}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// The problem, with line and column where known.
        message: String,
    },
    /// Occurs when the preset cannot be read or contains a value that cannot be trained with.
    #[error(transparent)]
    Preset(#[from] PresetError),
    /// Occurs when the data set is missing or malformed.
    #[error(transparent)]
    Data(#[from] DataError),
    /// Occurs when the run folder already contains a run and `--resume` was not given.
    #[error(
        "run folder {path} already contains a run ({file} exists); pass --resume to continue \
         it or choose another --out"
    )]
    FolderInUse {
        /// The run folder.
        path: PathBuf,
        /// The file that shows a previous run.
        file: &'static str,
    },
    /// Occurs when `--resume` finds no checkpoint or one that does not fit the preset.
    #[error("cannot resume the run in {path}: {reason}")]
    Resume {
        /// The run folder.
        path: PathBuf,
        /// Why not.
        reason: String,
    },
    /// Occurs when the loss of a batch is NaN or infinite; the run keeps the last checkpoint
    /// written before that batch.
    #[error(
        "loss became {loss} at epoch {epoch}, batch {batch} (step {step}); the run stopped and \
         kept its last good checkpoint; lower the learning rate (now {learning_rate:e}), \
         e.g. --set learning_rate={suggested:e}",
        suggested = learning_rate / 10.0
    )]
    NonFiniteLoss {
        /// The loss value (NaN or ±inf).
        loss: f32,
        /// Epoch of the batch (1-based).
        epoch: usize,
        /// Batch within the epoch (1-based).
        batch: usize,
        /// Optimizer step the batch would have been (1-based).
        step: u64,
        /// The learning rate in force.
        learning_rate: f64,
    },
    /// Occurs when the test loss after an epoch is NaN or infinite, because the weights
    /// diverged in the epoch's last batches. The checkpoint of the epoch before is kept.
    #[error(
        "test loss became {loss} after epoch {epoch}; the run stopped and kept its last good \
         checkpoint; lower the learning rate (now {learning_rate:e})"
    )]
    NonFiniteTestLoss {
        /// The test loss (NaN or ±inf).
        loss: f64,
        /// The epoch just trained (1-based).
        epoch: usize,
        /// The learning rate in force.
        learning_rate: f64,
    },
    /// Occurs when the MNIST classifier's weight file cannot be written.
    #[error(transparent)]
    WeightsFile(Box<crate::nn::mnist_mlp::MlpError>),
    /// Occurs when a candle operation fails (shape mismatch, unreadable safetensors).
    #[error("tensor operation failed: {0}")]
    Tensor(#[from] candle_core::Error),
    /// Occurs when the worker thread or its thread pool cannot start.
    #[error("cannot start the training thread: {0}")]
    Spawn(std::io::Error),
    /// Occurs when the worker thread panicked; the message is the panic payload.
    #[error("the training thread panicked: {0}")]
    Panicked(String),
}

impl From<crate::nn::mnist_mlp::MlpError> for TrainError {
    fn from(error: crate::nn::mnist_mlp::MlpError) -> Self {
        // Boxed because the weight file error is several times larger than the others.
        TrainError::WeightsFile(Box::new(error))
    }
}
