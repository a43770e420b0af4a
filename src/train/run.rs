//! The classification run loop, on the caller's thread ([`run_blocking`]) or on a named
//! worker thread ([`spawn_run`]).
//!
//! ```text
//! per epoch e (0-based):  lr_e = lr · γ^(number of milestones ≤ e)
//! per batch:              loss = CE(logits₁, label_A) + CE(logits₂, label_B), one Adam step
//! after the epoch:        evaluate the whole test set, write metrics and a checkpoint
//! ```
//!
//! The training samples come in a seeded order, `batch_size` at a time, and the last batch
//! may be smaller. The cancel flag is read before every training and every test batch.
//! Checks run in this order before training: preset values, the run folder (created and
//! probed for writing), then the data, so that a bad `--out` fails in milliseconds.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use candle_nn::{Optimizer, VarMap};
use crossbeam_channel::Sender;

use super::batches::{count_correct, epoch_order, evaluate, label_tensors, InputTransform};
use super::checkpoint::{
    load_optimizer_state, load_weights, read_checkpoint_meta, save_checkpoint, CheckpointMeta,
};
use super::error::TrainError;
use super::events::{RunEvent, RunHandle, RunOutcome, EVENT_CHANNEL_CAPACITY};
use super::folder::{run_id_of, RunFolder, CHECKPOINT_META_FILE, METRICS_FILE};
use super::metrics::{self as names, read_metrics, truncate_after_step, MetricRow, MetricsWriter};
use super::record::RunRecord;
use crate::data::multi::{compose, MultiDataset};
use crate::data::Split;
use crate::nn::init::seeded_var_builder;
use crate::nn::{build_model, multitask_loss, Adam, AdamConfig, MultiTaskModel, StepLr};
use crate::preset::train::TrainPreset;

/// Everything a run needs besides its cancel flag and event sink.
#[derive(Debug, Clone, PartialEq)]
pub struct RunConfig {
    /// The preset to train.
    pub preset: TrainPreset,
    /// The run folder; created when missing.
    pub out_dir: PathBuf,
    /// The folder holding `mnist/` and `fashion-mnist/`.
    pub data_dir: PathBuf,
    /// Continue from the folder's checkpoint instead of starting afresh.
    pub resume: bool,
    /// Test hook: multiplies the loss of this optimizer step (1-based) by NaN, to exercise the
    /// non-finite-loss path. `None` in normal runs.
    pub nan_loss_at_step: Option<u64>,
}

impl RunConfig {
    /// Creates the configuration of a fresh (not resumed) run of `preset` into `out_dir`, reading data from `data_dir`.
    pub fn new(preset: TrainPreset, out_dir: PathBuf, data_dir: PathBuf) -> Self {
        Self {
            preset,
            out_dir,
            data_dir,
            resume: false,
            nan_loss_at_step: None,
        }
    }
}

/// Starts a fresh run of `preset` on a named worker thread (`train-<run id>`).
pub fn spawn_run(
    preset: TrainPreset,
    out_dir: PathBuf,
    data_dir: PathBuf,
) -> Result<RunHandle, TrainError> {
    spawn_run_with(RunConfig::new(preset, out_dir, data_dir))
}

/// Starts a run on a named worker thread. Events arrive on a bounded channel: `Progress`
/// events are dropped while the channel is full, every other event waits for room. A panic
/// in the worker becomes a `Failed` event and [`TrainError::Panicked`].
pub fn spawn_run_with(config: RunConfig) -> Result<RunHandle, TrainError> {
    let (sender, events) = crossbeam_channel::bounded(EVENT_CHANNEL_CAPACITY);
    let cancel = Arc::new(AtomicBool::new(false));
    let id = run_id_of(&config.out_dir);

    let worker_cancel = Arc::clone(&cancel);
    let join = std::thread::Builder::new()
        .name(format!("train-{id}"))
        .spawn(move || {
            let run = std::panic::AssertUnwindSafe(|| {
                run_blocking(&config, &worker_cancel, |event| {
                    forward_event(&sender, event)
                })
            });
            std::panic::catch_unwind(run).unwrap_or_else(|payload| {
                let message = panic_message(payload.as_ref());
                forward_event(
                    &sender,
                    RunEvent::Failed {
                        error: format!("the training thread panicked: {message}"),
                    },
                );
                Err(TrainError::Panicked(message))
            })
        })
        .map_err(TrainError::Spawn)?;

    Ok(RunHandle {
        id,
        events,
        cancel,
        join,
    })
}

/// Runs to the end on the calling thread, passing every event to `on_event`. The last event
/// is `Finished`, `Cancelled` or `Failed`; on failure the same error is also returned.
pub fn run_blocking(
    config: &RunConfig,
    cancel: &AtomicBool,
    mut on_event: impl FnMut(RunEvent) + Send,
) -> Result<RunOutcome, TrainError> {
    let folder = match config
        .preset
        .validate()
        .map_err(TrainError::from)
        .and_then(|()| RunFolder::create(&config.out_dir))
    {
        Ok(folder) => folder,
        Err(error) => {
            on_event(RunEvent::Failed {
                error: error.to_string(),
            });
            return Err(error);
        }
    };

    let mut recorder = Recorder {
        folder,
        metrics: None,
        on_event: &mut on_event,
    };
    let result = run_in_folder(config, cancel, &mut recorder);
    let run_id = recorder.folder.run_id();
    match &result {
        Ok(RunOutcome::Finished) => {
            tracing::info!(run_id, "training run finished");
            recorder.log_quietly("finished");
            recorder.emit(RunEvent::Finished);
        }
        Ok(RunOutcome::Cancelled { step }) => {
            tracing::info!(run_id, step, "training run cancelled");
            recorder.log_quietly(&format!("cancelled after step {step}"));
            recorder.emit(RunEvent::Cancelled { step: *step });
        }
        Err(error) => {
            recorder.log_quietly(&format!("failed: {error}"));
            recorder.emit(RunEvent::Failed {
                error: error.to_string(),
            });
        }
    }
    result
}

/// Writes metrics and log lines to the run folder and passes them on as events.
struct Recorder<'a> {
    folder: RunFolder,
    metrics: Option<MetricsWriter>,
    on_event: &'a mut (dyn FnMut(RunEvent) + Send),
}

impl Recorder<'_> {
    fn emit(&mut self, event: RunEvent) {
        (self.on_event)(event);
    }

    fn log(&mut self, message: &str) -> Result<(), TrainError> {
        self.folder.log(message)?;
        self.emit(RunEvent::Log(message.to_string()));
        Ok(())
    }

    /// Logs the closing line of a run, where an I/O error has nowhere left to go but the
    /// tracing log.
    fn log_quietly(&mut self, message: &str) {
        if let Err(error) = self.folder.log(message) {
            tracing::warn!(run_id = self.folder.run_id(), %error, "cannot write the run log");
        }
        self.emit(RunEvent::Log(message.to_string()));
    }

    fn metric(
        &mut self,
        step: u64,
        epoch: usize,
        name: &str,
        value: f64,
    ) -> Result<(), TrainError> {
        let row = MetricRow {
            step,
            epoch,
            metric: name.to_string(),
            value,
        };
        if let Some(writer) = self.metrics.as_mut() {
            writer.append(&row)?;
        }
        self.emit(RunEvent::Metric {
            step,
            epoch,
            name: row.metric,
            value,
        });
        Ok(())
    }
}

/// The point a run starts from: nothing done, or the state of a checkpoint.
#[derive(Debug, Clone, Default)]
struct StartPoint {
    epochs_done: usize,
    step: u64,
    checkpoint: Option<CheckpointMeta>,
}

fn run_in_folder(
    config: &RunConfig,
    cancel: &AtomicBool,
    recorder: &mut Recorder<'_>,
) -> Result<RunOutcome, TrainError> {
    let dir = recorder.folder.dir().to_path_buf();
    let start = prepare_folder(config, &dir)?;
    recorder.metrics = Some(MetricsWriter::open(&dir.join(METRICS_FILE))?);
    // A resumed run keeps its record and appends what the resume changed, so that run.ron
    // still records how the earlier epochs were trained.
    let record = match RunRecord::read(&dir) {
        Ok(previous) if config.resume => previous.resumed(&config.preset, start.epochs_done),
        _ => RunRecord::new(recorder.folder.run_id(), &config.preset),
    };
    record.write(&dir)?;
    tracing::info!(
        run_id = recorder.folder.run_id(),
        model = %config.preset.model,
        resume = config.resume,
        "training run started"
    );

    match config.preset.threads {
        Some(threads) => {
            let run_id = recorder.folder.run_id();
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .thread_name(move |index| format!("train-{run_id}-{index}"))
                .build()
                .map_err(|error| TrainError::Spawn(std::io::Error::other(error)))?;
            pool.install(|| train(config, start, cancel, recorder))
        }
        None => train(config, start, cancel, recorder),
    }
}

/// Checks that the folder may be used and returns the start point. A fresh run needs a folder
/// without metrics or checkpoint, and a resumed run needs a checkpoint of the same model.
fn prepare_folder(config: &RunConfig, dir: &Path) -> Result<StartPoint, TrainError> {
    let metrics_path = dir.join(METRICS_FILE);
    if !config.resume {
        // A run that failed before its first batch leaves only the header: reusing is safe.
        let has_metrics = metrics_path.exists() && !read_metrics(&metrics_path)?.is_empty();
        if has_metrics {
            return Err(TrainError::FolderInUse {
                path: dir.to_path_buf(),
                file: METRICS_FILE,
            });
        }
        if dir.join(CHECKPOINT_META_FILE).exists() {
            return Err(TrainError::FolderInUse {
                path: dir.to_path_buf(),
                file: CHECKPOINT_META_FILE,
            });
        }
        return Ok(StartPoint::default());
    }

    let Some(meta) = read_checkpoint_meta(dir)? else {
        return Err(TrainError::Resume {
            path: dir.to_path_buf(),
            reason: format!("{CHECKPOINT_META_FILE} is missing; start the run without --resume"),
        });
    };
    if meta.model != config.preset.model {
        return Err(TrainError::Resume {
            path: dir.to_path_buf(),
            reason: format!(
                "the checkpoint holds model {}, the preset asks for {}",
                meta.model, config.preset.model
            ),
        });
    }
    if metrics_path.exists() {
        // Rows after the checkpoint belong to batches that the resumed run does again.
        truncate_after_step(&metrics_path, meta.step)?;
    }
    Ok(StartPoint {
        epochs_done: meta.epochs_done,
        step: meta.step,
        checkpoint: Some(meta),
    })
}

/// Sums over the batches of one epoch.
#[derive(Debug, Default)]
struct EpochTotals {
    samples: usize,
    loss_sum: f64,
    correct_task1: usize,
    correct_task2: usize,
    train_seconds: f64,
}

fn train(
    config: &RunConfig,
    start: StartPoint,
    cancel: &AtomicBool,
    recorder: &mut Recorder<'_>,
) -> Result<RunOutcome, TrainError> {
    let preset = &config.preset;
    recorder.log(&format!(
        "loading {} from {}",
        preset.dataset.label(),
        config.data_dir.display()
    ))?;
    let train_data = compose(
        &config.data_dir,
        preset.dataset,
        Split::Train,
        preset.train_samples,
        preset.seed,
    )?;
    let test_data = compose(
        &config.data_dir,
        preset.dataset,
        Split::Test,
        preset.test_samples,
        preset.seed,
    )?;
    let transform = InputTransform::new(preset.noise_amplitude, preset.seed, preset.scale_to_unit);

    let mut vars = VarMap::new();
    let model = build_model(preset.model, seeded_var_builder(&vars, preset.seed))?;
    if config.resume {
        load_weights(recorder.folder.dir(), &mut vars)?;
    }
    let optim = preset.optim_config();
    let schedule = StepLr::from_config(&optim);
    let mut adam = Adam::new(vars.all_vars(), AdamConfig::from(&optim))?;
    if let Some(meta) = &start.checkpoint {
        let restored = load_optimizer_state(recorder.folder.dir(), &vars, &mut adam, meta)?;
        let message = if restored {
            format!(
                "resumed after epoch {} with Adam's moments",
                meta.epochs_done
            )
        } else {
            format!(
                "resumed after epoch {}; the checkpoint has no Adam moments, so Adam starts afresh",
                meta.epochs_done
            )
        };
        recorder.log(&message)?;
    }

    let batches_per_epoch = train_data.count.div_ceil(preset.batch_size);
    let total_steps = (preset.epochs * batches_per_epoch) as u64;
    recorder.emit(RunEvent::Started {
        run_id: recorder.folder.run_id(),
        total_steps,
    });
    recorder.log(&format!(
        "{} on {} training and {} test samples, {} batches of {} per epoch, epochs {}..{}",
        preset.model,
        train_data.count,
        test_data.count,
        batches_per_epoch,
        preset.batch_size,
        start.epochs_done + 1,
        preset.epochs
    ))?;

    let mut step = start.step;
    for epoch in start.epochs_done..preset.epochs {
        let epoch_number = epoch + 1;
        let learning_rate = schedule.lr_at(epoch);
        adam.set_learning_rate(learning_rate);
        recorder.metric(step, epoch_number, names::LEARNING_RATE, learning_rate)?;

        let mut totals = EpochTotals::default();
        let order = epoch_order(train_data.count, preset.seed, epoch);
        for (batch_index, batch) in order.chunks(preset.batch_size).enumerate() {
            if cancel.load(Ordering::Relaxed) {
                return Ok(RunOutcome::Cancelled { step });
            }
            let batch_start = Instant::now();
            let outcome = train_batch(
                model.as_ref(),
                &mut adam,
                &train_data,
                batch,
                &transform,
                config.nan_loss_at_step == Some(step + 1),
            )?;
            let (loss_value, correct_task1, correct_task2) = match outcome {
                BatchResult::Trained {
                    loss,
                    correct_task1,
                    correct_task2,
                } => (loss, correct_task1, correct_task2),
                BatchResult::NonFinite { loss } => {
                    return Err(TrainError::NonFiniteLoss {
                        loss,
                        epoch: epoch_number,
                        batch: batch_index + 1,
                        step: step + 1,
                        learning_rate,
                    });
                }
            };
            step += 1;

            let seconds = batch_start.elapsed().as_secs_f64();
            totals.samples += batch.len();
            totals.loss_sum += f64::from(loss_value) * batch.len() as f64;
            totals.correct_task1 += correct_task1;
            totals.correct_task2 += correct_task2;
            totals.train_seconds += seconds;
            recorder.metric(step, epoch_number, names::TRAIN_LOSS, f64::from(loss_value))?;
            recorder.emit(RunEvent::Progress {
                step,
                total: total_steps,
                samples_per_sec: batch.len() as f64 / seconds.max(1e-9),
            });
        }

        let finished_epoch = finish_epoch(
            recorder,
            &EpochEnd {
                model: model.as_ref(),
                test_data: &test_data,
                transform: &transform,
                totals: &totals,
                batch_size: preset.batch_size,
                epoch_number,
                step,
                learning_rate,
            },
            cancel,
        )?;
        if !finished_epoch {
            return Ok(RunOutcome::Cancelled { step });
        }
        let meta = CheckpointMeta {
            model: preset.model,
            epochs_done: epoch_number,
            step,
            learning_rate,
            adam_steps: Default::default(),
        };
        save_checkpoint(recorder.folder.dir(), &vars, &adam, &meta)?;
    }
    Ok(RunOutcome::Finished)
}

/// The result of one training batch.
enum BatchResult {
    /// The optimizer stepped.
    Trained {
        loss: f32,
        correct_task1: usize,
        correct_task2: usize,
    },
    /// The loss was NaN or infinite; the weights were left unchanged.
    NonFinite { loss: f32 },
}

fn train_batch(
    model: &dyn MultiTaskModel,
    adam: &mut Adam,
    data: &MultiDataset,
    batch: &[usize],
    transform: &InputTransform,
    inject_nan: bool,
) -> Result<BatchResult, TrainError> {
    let images = transform.images(data, batch)?;
    let (labels_a, labels_b) = label_tensors(data, batch)?;
    let logits = model.forward(&images, true)?;
    let mut loss = multitask_loss(&logits, &labels_a, &labels_b)?;
    if inject_nan {
        loss = (loss * f64::NAN)?;
    }
    let loss_value = loss.to_scalar::<f32>()?;
    if !loss_value.is_finite() {
        return Ok(BatchResult::NonFinite { loss: loss_value });
    }
    adam.backward_step(&loss)?;
    Ok(BatchResult::Trained {
        loss: loss_value,
        correct_task1: count_correct(&logits.0, &labels_a)?,
        correct_task2: count_correct(&logits.1, &labels_b)?,
    })
}

/// Inputs of the end-of-epoch bookkeeping.
struct EpochEnd<'a> {
    model: &'a dyn MultiTaskModel,
    test_data: &'a MultiDataset,
    transform: &'a InputTransform,
    totals: &'a EpochTotals,
    /// Test samples per forward pass: the training batch size, because candle records the
    /// graph of every op on tracked weights, so a test batch needs as much memory as a
    /// training batch.
    batch_size: usize,
    epoch_number: usize,
    step: u64,
    learning_rate: f64,
}

/// Evaluates the test set and writes the epoch's metrics; false when cancelled meanwhile.
fn finish_epoch(
    recorder: &mut Recorder<'_>,
    end: &EpochEnd<'_>,
    cancel: &AtomicBool,
) -> Result<bool, TrainError> {
    let EpochEnd {
        model,
        test_data,
        transform,
        totals,
        batch_size,
        epoch_number,
        step,
        learning_rate,
    } = *end;
    let Some(evaluation) = evaluate(model, test_data, transform, batch_size, cancel)? else {
        return Ok(false);
    };
    if !evaluation.loss.is_finite() {
        return Err(TrainError::NonFiniteTestLoss {
            loss: evaluation.loss,
            epoch: epoch_number,
            learning_rate,
        });
    }

    let samples = totals.samples.max(1) as f64;
    let samples_per_sec = totals.samples as f64 / totals.train_seconds.max(1e-9);
    let epoch_metrics = [
        (names::TRAIN_LOSS_EPOCH, totals.loss_sum / samples),
        (
            names::TRAIN_ACCURACY_TASK1,
            100.0 * totals.correct_task1 as f64 / samples,
        ),
        (
            names::TRAIN_ACCURACY_TASK2,
            100.0 * totals.correct_task2 as f64 / samples,
        ),
        (names::TEST_LOSS, evaluation.loss),
        (names::TEST_ACCURACY_TASK1, evaluation.accuracy_task1_pct),
        (names::TEST_ACCURACY_TASK2, evaluation.accuracy_task2_pct),
        (names::SAMPLES_PER_SEC, samples_per_sec),
    ];
    for (name, value) in epoch_metrics {
        recorder.metric(step, epoch_number, name, value)?;
    }
    recorder.log(&format!(
        "epoch {epoch_number}: train loss {:.4}, test loss {:.4}, test accuracy {:.2}% / {:.2}%, \
         {samples_per_sec:.0} samples/s",
        totals.loss_sum / samples,
        evaluation.loss,
        evaluation.accuracy_task1_pct,
        evaluation.accuracy_task2_pct,
    ))?;
    Ok(true)
}

fn forward_event(sender: &Sender<RunEvent>, event: RunEvent) {
    // A consumer that stopped listening does not stop the run: the run folder still records
    // everything, and the cancel flag is the way to stop it.
    if matches!(event, RunEvent::Progress { .. }) {
        let _ = sender.try_send(event);
    } else {
        let _ = sender.send(event);
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|text| text.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic payload".to_string())
}
