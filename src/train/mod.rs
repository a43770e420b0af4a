//! Training runs of the two-task classifiers. A run loop on a named worker thread streams
//! typed events over a bounded channel and honours a cancel flag between batches. It writes
//! a run folder (`run.ron`, `metrics.csv`, `log.txt`, checkpoints) that can be reopened.
//!
//! Loss per batch: CE(logits₁, label_A) + CE(logits₂, label_B), each the batch mean (nats).
//! Optimizer: Adam with L2 weight decay and a step learning-rate schedule per epoch.

pub mod batches;
pub mod bench;
pub mod checkpoint;
pub mod error;
pub mod events;
pub mod folder;
pub mod metrics;
pub mod mnist;
pub mod record;
pub mod run;

pub use error::TrainError;
pub use events::{RunEvent, RunHandle, RunOutcome};
pub use record::{read_run_folder, PastRun, PastRunStatus, RunRecord};
pub use run::{run_blocking, spawn_run, spawn_run_with, RunConfig};
