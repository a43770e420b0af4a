//! The run manager of the Training tab: every training run started from the GUI or reopened
//! from a run folder, with its status and the curves it has streamed so far.
//!
//! A live run is a [`RunHandle`] whose bounded event channel is drained with `try_recv` once
//! per frame ([`RunManager::drain_events`]), so the UI never waits on a worker. Reopened runs
//! are read once from their folder (`run.ron`, `metrics.csv`) and carry no handle.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::preset::train::TrainPreset;
use crate::train::metrics as names;
use crate::train::{read_run_folder, PastRun, PastRunStatus, RunEvent, RunHandle};

/// Events taken from one run's channel per frame at most, so that a burst cannot stall a
/// frame; the rest wait for the next frame.
const MAX_EVENTS_PER_FRAME: usize = 4096;

/// Log lines kept per run for display.
const MAX_LOG_LINES: usize = 200;

/// Status of a run.
#[derive(Clone, Debug, PartialEq)]
pub enum RunStatus {
    /// The worker is starting: loading data and building the model.
    Starting,
    /// Batches are running.
    Running,
    /// Every epoch ran.
    Finished,
    /// The run stopped on an error; the message describes what failed.
    Failed(String),
    /// The user stopped the run after `step` optimizer steps.
    Cancelled {
        /// Optimizer steps done before the run stopped.
        step: u64,
    },
    /// A reopened run folder whose checkpoint covers `epochs_done` of its epochs.
    Incomplete {
        /// Epochs with a checkpoint.
        epochs_done: usize,
    },
}

impl RunStatus {
    /// Returns the status as shown in the run list.
    pub fn label(&self) -> String {
        match self {
            RunStatus::Starting => "starting".to_owned(),
            RunStatus::Running => "running".to_owned(),
            RunStatus::Finished => "finished".to_owned(),
            RunStatus::Failed(error) => format!("failed: {error}"),
            RunStatus::Cancelled { step } => format!("cancelled at step {step}"),
            RunStatus::Incomplete { epochs_done } => {
                format!("incomplete ({epochs_done} epochs saved)")
            }
        }
    }

    /// Returns true while the worker may still send events.
    pub fn is_active(&self) -> bool {
        matches!(self, RunStatus::Starting | RunStatus::Running)
    }
}

/// One training run in the list.
pub struct RunEntry {
    /// The run id (the run folder's name).
    pub id: String,
    /// The run folder.
    pub dir: PathBuf,
    /// The preset of the run.
    pub preset: TrainPreset,
    /// Index into [`crate::app::theme::RUN_COLORS`], fixed when the run is added.
    pub color_index: usize,
    /// Whether its curves are drawn.
    pub visible: bool,
    /// Status of the run.
    pub status: RunStatus,
    /// The live worker; `None` for reopened runs and after the final event.
    pub handle: Option<RunHandle>,
    /// Optimizer steps done.
    pub step: u64,
    /// Optimizer steps of the whole run (0 until `Started`).
    pub total_steps: u64,
    /// Training throughput of the last batch, in samples per second.
    pub samples_per_sec: f64,
    /// When the first batch finished, with the step it finished (for the time estimate).
    first_progress: Option<(Instant, u64)>,
    /// Training loss per batch as `[step, loss in nats]`.
    pub train_loss: Vec<[f64; 2]>,
    /// Test accuracy of task 1 as `[epoch, percent]`.
    pub test_accuracy_task1: Vec<[f64; 2]>,
    /// Test accuracy of task 2 as `[epoch, percent]`.
    pub test_accuracy_task2: Vec<[f64; 2]>,
    /// The latest log lines.
    pub log: Vec<String>,
}

impl RunEntry {
    /// Creates the entry of a freshly spawned run.
    pub fn live(handle: RunHandle, dir: PathBuf, preset: TrainPreset, color_index: usize) -> Self {
        Self {
            id: handle.id.clone(),
            dir,
            preset,
            color_index,
            visible: true,
            status: RunStatus::Starting,
            handle: Some(handle),
            step: 0,
            total_steps: 0,
            samples_per_sec: 0.0,
            first_progress: None,
            train_loss: Vec::new(),
            test_accuracy_task1: Vec::new(),
            test_accuracy_task2: Vec::new(),
            log: Vec::new(),
        }
    }

    /// Creates the entry of a run folder read back from disk.
    pub fn reopened(past: PastRun, color_index: usize) -> Self {
        let status = match past.status {
            PastRunStatus::Complete => RunStatus::Finished,
            PastRunStatus::Incomplete { epochs_done } => RunStatus::Incomplete { epochs_done },
        };
        let points = |metric: &str| -> Vec<[f64; 2]> {
            past.metrics
                .iter()
                .filter(|row| row.metric == metric)
                .map(|row| {
                    let x = if metric == names::TRAIN_LOSS {
                        row.step as f64
                    } else {
                        row.epoch as f64
                    };
                    [x, row.value]
                })
                .collect()
        };
        let step = past.metrics.iter().map(|row| row.step).max().unwrap_or(0);
        Self {
            id: past.record.run_id.clone(),
            dir: past.dir.clone(),
            preset: past.record.preset.clone(),
            color_index,
            visible: true,
            status,
            handle: None,
            step,
            total_steps: step,
            samples_per_sec: past.last_value(names::SAMPLES_PER_SEC).unwrap_or(0.0),
            first_progress: None,
            train_loss: points(names::TRAIN_LOSS),
            test_accuracy_task1: points(names::TEST_ACCURACY_TASK1),
            test_accuracy_task2: points(names::TEST_ACCURACY_TASK2),
            log: Vec::new(),
        }
    }

    /// Returns the fraction of optimizer steps done, in [0, 1].
    pub fn progress(&self) -> f32 {
        if self.total_steps == 0 {
            return 0.0;
        }
        (self.step as f64 / self.total_steps as f64).clamp(0.0, 1.0) as f32
    }

    /// Returns the estimated time to the end of the run, from the mean step time since the
    /// first batch (which includes test evaluations), or `None` before two batches are done.
    pub fn time_remaining(&self) -> Option<Duration> {
        let (since, first_step) = self.first_progress?;
        let steps_done = self.step.checked_sub(first_step).filter(|&s| s > 0)?;
        let per_step = since.elapsed().as_secs_f64() / steps_done as f64;
        let remaining = self.total_steps.saturating_sub(self.step) as f64 * per_step;
        Some(Duration::from_secs_f64(remaining))
    }

    /// Applies one event to the entry.
    fn apply(&mut self, event: RunEvent) {
        match event {
            RunEvent::Started {
                run_id,
                total_steps,
            } => {
                self.id = run_id;
                self.total_steps = total_steps;
                self.status = RunStatus::Running;
            }
            RunEvent::Progress {
                step,
                total,
                samples_per_sec,
            } => {
                self.step = step;
                self.total_steps = total;
                self.samples_per_sec = samples_per_sec;
                self.status = RunStatus::Running;
                if self.first_progress.is_none() {
                    self.first_progress = Some((Instant::now(), step));
                }
            }
            RunEvent::Metric {
                step,
                epoch,
                name,
                value,
            } => match name.as_str() {
                names::TRAIN_LOSS => self.train_loss.push([step as f64, value]),
                names::TEST_ACCURACY_TASK1 => {
                    self.test_accuracy_task1.push([epoch as f64, value]);
                }
                names::TEST_ACCURACY_TASK2 => {
                    self.test_accuracy_task2.push([epoch as f64, value]);
                }
                _ => {}
            },
            RunEvent::Log(line) => {
                self.log.push(line);
                if self.log.len() > MAX_LOG_LINES {
                    let excess = self.log.len() - MAX_LOG_LINES;
                    self.log.drain(..excess);
                }
            }
            RunEvent::Finished => self.status = RunStatus::Finished,
            RunEvent::Cancelled { step } => self.status = RunStatus::Cancelled { step },
            RunEvent::Failed { error } => self.status = RunStatus::Failed(error),
        }
    }

    /// Takes the pending events of a live run; returns true when any arrived.
    fn drain(&mut self) -> bool {
        let Some(handle) = &self.handle else {
            return false;
        };
        let mut events = Vec::new();
        let mut disconnected = false;
        for _ in 0..MAX_EVENTS_PER_FRAME {
            match handle.events.try_recv() {
                Ok(event) => events.push(event),
                Err(crossbeam_channel::TryRecvError::Empty) => break,
                Err(crossbeam_channel::TryRecvError::Disconnected) => {
                    disconnected = true;
                    break;
                }
            }
        }

        let received = !events.is_empty();
        for event in events {
            self.apply(event);
        }
        if disconnected {
            if self.status.is_active() {
                // The worker ended without a final event: report it instead of waiting forever.
                self.status = RunStatus::Failed(
                    "the training thread ended without reporting a result".to_owned(),
                );
            }
            self.finish_worker();
        } else if !self.status.is_active() {
            self.finish_worker();
        }
        received
    }

    /// Joins the worker thread after its final event (it returns right after sending it).
    fn finish_worker(&mut self) {
        let Some(handle) = self.handle.take() else {
            return;
        };
        match handle.join.join() {
            Ok(Ok(outcome)) => tracing::info!(run = %self.id, ?outcome, "training run ended"),
            Ok(Err(error)) => tracing::warn!(run = %self.id, %error, "training run failed"),
            Err(_) => tracing::error!(run = %self.id, "training thread panicked"),
        }
    }
}

/// All runs of the session, in the order they were added.
#[derive(Default)]
pub struct RunManager {
    /// The runs, oldest first.
    pub runs: Vec<RunEntry>,
    next_color: usize,
}

impl RunManager {
    /// Adds a freshly spawned run.
    pub fn add_live(&mut self, handle: RunHandle, dir: PathBuf, preset: TrainPreset) {
        let color = self.take_color();
        tracing::info!(run = %handle.id, dir = %dir.display(), "training run started");
        self.runs.push(RunEntry::live(handle, dir, preset, color));
    }

    /// Reads a run folder and adds it to the list.
    pub fn reopen(&mut self, dir: &Path) -> Result<&RunEntry, crate::train::TrainError> {
        let past = read_run_folder(dir)?;
        let color = self.take_color();
        self.runs.push(RunEntry::reopened(past, color));
        tracing::info!(dir = %dir.display(), "run folder reopened");
        let last = self.runs.len() - 1;
        Ok(&self.runs[last])
    }

    /// Drains the events of every live run; returns true when any run is still active, so
    /// the caller keeps repainting.
    pub fn drain_events(&mut self) -> bool {
        for run in &mut self.runs {
            run.drain();
        }
        self.any_active()
    }

    /// Returns true while any run may still send events.
    pub fn any_active(&self) -> bool {
        self.runs.iter().any(|run| run.status.is_active())
    }

    /// Asks every active run to stop after its current batch.
    pub fn cancel_all(&self) {
        for run in self.runs.iter().filter(|run| run.status.is_active()) {
            if let Some(handle) = &run.handle {
                handle.request_cancel();
            }
        }
    }

    fn take_color(&mut self) -> usize {
        let color = self.next_color;
        self.next_color += 1;
        color
    }
}

impl Drop for RunManager {
    /// Stops the workers when the app closes; their folders keep what was done.
    fn drop(&mut self) {
        self.cancel_all();
    }
}
