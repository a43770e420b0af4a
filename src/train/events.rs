//! Typed events that a training run streams to the code that started it (GUI, CLI, tests).
//!
//! A run sends `Started` once, then per batch a `Progress` and a `train_loss` `Metric`, per
//! epoch the test metrics, and ends with exactly one of `Finished`, `Cancelled` or `Failed`.
//! Every `Metric` event is also a row of the run folder's `metrics.csv`, so a consumer that
//! misses events loses nothing that the folder keeps.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::Receiver;

use super::error::TrainError;

/// Capacity of the bounded channel between a run's worker and its consumer. The worker blocks
/// on `Metric`, `Log` and the final events when it is full and drops `Progress` events instead.
pub const EVENT_CHANNEL_CAPACITY: usize = 1024;

/// One thing that happened in a training run.
#[derive(Debug, Clone, PartialEq)]
pub enum RunEvent {
    /// The run has loaded its data and built its model; `total_steps` batches will run
    /// (fewer remain when the run resumes from a checkpoint).
    Started {
        /// The run id: the name of the run folder.
        run_id: String,
        /// Optimizer steps of the whole run, `epochs × batches per epoch`.
        total_steps: u64,
    },
    /// One more batch is done.
    Progress {
        /// Optimizer steps done so far, counted from the start of the run (1-based).
        step: u64,
        /// Optimizer steps of the whole run.
        total: u64,
        /// Training throughput over the last batch, in samples per second.
        samples_per_sec: f64,
    },
    /// A measured value; the same row goes to `metrics.csv`. Names are the constants in
    /// [`super::metrics`].
    Metric {
        /// Optimizer steps done when the value was measured.
        step: u64,
        /// Epoch the value belongs to (1-based).
        epoch: usize,
        /// Metric name, e.g. `train_loss` or `test_accuracy_task1_pct`.
        name: String,
        /// The value, in the unit its name states.
        value: f64,
    },
    /// A human-readable line, also appended to `log.txt`.
    Log(String),
    /// The run completed every epoch and wrote its final checkpoint.
    Finished,
    /// The cancel flag was set; the run stopped between two batches. Metrics and the last
    /// checkpoint stay in the run folder.
    Cancelled {
        /// Optimizer steps done before the run stopped.
        step: u64,
    },
    /// The run stopped on an error (a NaN loss, unreadable data, a full disk). The message
    /// names what failed and what to change.
    Failed {
        /// The error, formatted for display.
        error: String,
    },
}

impl RunEvent {
    /// Returns true for the events that end a run (`Finished`, `Cancelled`, `Failed`).
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            RunEvent::Finished | RunEvent::Cancelled { .. } | RunEvent::Failed { .. }
        )
    }
}

/// The end of a run that did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOutcome {
    /// Every epoch ran.
    Finished,
    /// The cancel flag stopped the run after `step` optimizer steps.
    Cancelled {
        /// Optimizer steps done before the run stopped.
        step: u64,
    },
}

/// A run started by [`super::spawn_run`]: its event stream, its cancel flag and its thread.
#[derive(Debug)]
pub struct RunHandle {
    /// The run id (the run folder's name).
    pub id: String,
    /// Events of the run, ending with `Finished`, `Cancelled` or `Failed`.
    pub events: Receiver<RunEvent>,
    /// Set to true to stop the run between two batches.
    pub cancel: Arc<AtomicBool>,
    /// The worker thread; it returns the same result as [`super::run_blocking`].
    pub join: JoinHandle<Result<RunOutcome, TrainError>>,
}

impl RunHandle {
    /// Asks the run to stop after the batch it is on.
    pub fn request_cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }
}
