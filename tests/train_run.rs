//! The training run loop end to end on a tiny synthetic MNIST folder: smoke runs of every
//! model, NaN handling, cancel, resume, run-folder errors and reading a run back.

mod train_support;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use candle_core::Device;
use hhlab::nn::ModelKind;
use hhlab::train::checkpoint::read_checkpoint_meta;
use hhlab::train::folder::{CHECKPOINT_FILE, METRICS_FILE, RUN_RECORD_FILE};
use hhlab::train::metrics::{self as names, read_metrics, MetricRow};
use hhlab::train::{
    read_run_folder, run_blocking, spawn_run_with, PastRunStatus, RunConfig, RunEvent, RunOutcome,
    TrainError,
};
use train_support::{tiny_preset, write_tiny_mnist};

fn rows_named<'a>(rows: &'a [MetricRow], name: &str) -> Vec<&'a MetricRow> {
    rows.iter().filter(|row| row.metric == name).collect()
}

fn run_collecting(config: &RunConfig) -> (Result<RunOutcome, TrainError>, Vec<RunEvent>) {
    let cancel = AtomicBool::new(false);
    let mut events = Vec::new();
    let result = run_blocking(config, &cancel, |event| events.push(event));
    (result, events)
}

fn checkpoint_is_finite(dir: &Path) -> bool {
    let tensors = candle_core::safetensors::load(dir.join(CHECKPOINT_FILE), &Device::Cpu)
        .expect("load checkpoint");
    !tensors.is_empty()
        && tensors.values().all(|tensor| {
            let values = tensor
                .flatten_all()
                .and_then(|t| t.to_vec1::<f32>())
                .expect("values");
            values.iter().all(|v| v.is_finite())
        })
}

#[test]
fn every_model_trains_two_batches() {
    let data = tempfile::tempdir().expect("tempdir");
    write_tiny_mnist(data.path(), 20, 10);
    for kind in ModelKind::ALL {
        let out = tempfile::tempdir().expect("tempdir");
        let preset = tiny_preset(kind, 1, 4, 8, 4);
        let config = RunConfig::new(preset, out.path().join("run"), data.path().to_path_buf());

        let (result, events) = run_collecting(&config);
        assert_eq!(result.expect("run"), RunOutcome::Finished, "{kind}");
        assert_eq!(events.last(), Some(&RunEvent::Finished), "{kind}");

        let rows = read_metrics(&config.out_dir.join(METRICS_FILE)).expect("metrics");
        let losses = rows_named(&rows, names::TRAIN_LOSS);
        assert_eq!(losses.len(), 2, "{kind}: two batches of 4 from 8 samples");
        for row in losses {
            assert!(row.value.is_finite(), "{kind}: loss {}", row.value);
            assert!(row.value > 0.0, "{kind}: loss {}", row.value);
        }
        assert_eq!(
            rows_named(&rows, names::TEST_ACCURACY_TASK1).len(),
            1,
            "{kind}"
        );
        assert!(checkpoint_is_finite(&config.out_dir), "{kind}");
    }
}

#[test]
fn training_lowers_the_loss() {
    // The tiny set's classes are bright blocks at distinct places, so 8 epochs of HH_fc at
    // lr 1e-3 must bring the mean training loss well below its first epoch's value. The 0.8
    // factor is a loose bound, not a measured figure.
    let data = tempfile::tempdir().expect("tempdir");
    write_tiny_mnist(data.path(), 40, 10);
    let out = tempfile::tempdir().expect("tempdir");
    let mut preset = tiny_preset(ModelKind::HhFc, 8, 8, 64, 8);
    preset.learning_rate = Some(1e-3);
    let config = RunConfig::new(preset, out.path().join("run"), data.path().to_path_buf());

    let (result, _) = run_collecting(&config);
    assert_eq!(result.expect("run"), RunOutcome::Finished);
    let rows = read_metrics(&config.out_dir.join(METRICS_FILE)).expect("metrics");
    let epoch_losses: Vec<f64> = rows_named(&rows, names::TRAIN_LOSS_EPOCH)
        .iter()
        .map(|row| row.value)
        .collect();
    assert_eq!(epoch_losses.len(), 8);
    assert!(
        epoch_losses[7] < 0.8 * epoch_losses[0],
        "epoch losses {epoch_losses:?}"
    );
}

#[test]
fn nan_loss_stops_run_and_keeps_checkpoint() {
    let data = tempfile::tempdir().expect("tempdir");
    write_tiny_mnist(data.path(), 20, 10);
    let out = tempfile::tempdir().expect("tempdir");
    let preset = tiny_preset(ModelKind::LifFc, 3, 4, 8, 4);
    let mut config = RunConfig::new(preset, out.path().join("run"), data.path().to_path_buf());
    // Two batches per epoch: step 3 is epoch 2, batch 1.
    config.nan_loss_at_step = Some(3);

    let (result, events) = run_collecting(&config);
    let error = result.expect_err("NaN loss must fail the run");
    assert!(
        matches!(
            error,
            TrainError::NonFiniteLoss {
                epoch: 2,
                batch: 1,
                step: 3,
                ..
            }
        ),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains("learning rate"), "{message}");
    assert!(message.contains("epoch 2, batch 1"), "{message}");
    assert!(
        matches!(events.last(), Some(RunEvent::Failed { error }) if *error == message),
        "{:?}",
        events.last()
    );

    let rows = read_metrics(&config.out_dir.join(METRICS_FILE)).expect("metrics");
    let loss_steps: Vec<u64> = rows_named(&rows, names::TRAIN_LOSS)
        .iter()
        .map(|row| row.step)
        .collect();
    assert_eq!(loss_steps, vec![1, 2]);
    assert_eq!(rows_named(&rows, names::TEST_ACCURACY_TASK2).len(), 1);

    let meta = read_checkpoint_meta(&config.out_dir)
        .expect("read meta")
        .expect("checkpoint of epoch 1");
    assert_eq!(meta.epochs_done, 1);
    assert_eq!(meta.step, 2);
    assert!(checkpoint_is_finite(&config.out_dir));
    let log = std::fs::read_to_string(config.out_dir.join("log.txt")).expect("log");
    assert!(log.contains("failed: loss became NaN"), "{log}");
}

#[test]
fn cancel_stops_between_batches() {
    let data = tempfile::tempdir().expect("tempdir");
    write_tiny_mnist(data.path(), 20, 10);
    let out = tempfile::tempdir().expect("tempdir");
    let preset = tiny_preset(ModelKind::Ann, 2, 4, 16, 4);
    let config = RunConfig::new(preset, out.path().join("run"), data.path().to_path_buf());

    let cancel = AtomicBool::new(false);
    let mut events = Vec::new();
    let result = run_blocking(&config, &cancel, |event| {
        if matches!(event, RunEvent::Progress { step: 2, .. }) {
            cancel.store(true, Ordering::Relaxed);
        }
        events.push(event);
    });

    assert_eq!(
        result.expect("cancel is not an error"),
        RunOutcome::Cancelled { step: 2 }
    );
    assert_eq!(events.last(), Some(&RunEvent::Cancelled { step: 2 }));
    let rows = read_metrics(&config.out_dir.join(METRICS_FILE)).expect("metrics");
    assert_eq!(rows_named(&rows, names::TRAIN_LOSS).len(), 2);
}

#[test]
fn spawned_run_streams_events_and_cancels() {
    let data = tempfile::tempdir().expect("tempdir");
    write_tiny_mnist(data.path(), 20, 10);
    let out = tempfile::tempdir().expect("tempdir");
    let preset = tiny_preset(ModelKind::Ann, 50, 4, 16, 4);
    let config = RunConfig::new(
        preset,
        out.path().join("spawned"),
        data.path().to_path_buf(),
    );

    let handle = spawn_run_with(config).expect("spawn");
    assert_eq!(handle.id, "spawned");
    let mut saw_started = false;
    let mut last = None;
    for event in handle.events.iter() {
        match &event {
            RunEvent::Started {
                run_id,
                total_steps,
            } => {
                assert_eq!(run_id, "spawned");
                assert_eq!(*total_steps, 200, "50 epochs × 4 batches");
                saw_started = true;
            }
            RunEvent::Metric { step: 5, .. } => handle.request_cancel(),
            _ => {}
        }
        let is_final = event.is_final();
        last = Some(event);
        if is_final {
            break;
        }
    }
    assert!(saw_started);
    assert!(
        matches!(last, Some(RunEvent::Cancelled { step }) if step >= 5),
        "{last:?}"
    );
    let outcome = handle.join.join().expect("thread").expect("run");
    assert!(
        matches!(outcome, RunOutcome::Cancelled { .. }),
        "{outcome:?}"
    );
}

#[test]
fn resume_continues_after_checkpoint() {
    let data = tempfile::tempdir().expect("tempdir");
    write_tiny_mnist(data.path(), 20, 10);
    let out = tempfile::tempdir().expect("tempdir");
    let preset = tiny_preset(ModelKind::HhFc, 1, 4, 8, 4);
    let mut config = RunConfig::new(preset, out.path().join("run"), data.path().to_path_buf());
    let (first, _) = run_collecting(&config);
    assert_eq!(first.expect("first run"), RunOutcome::Finished);

    config.preset.epochs = 2;
    config.resume = true;
    let (second, events) = run_collecting(&config);
    assert_eq!(second.expect("resumed run"), RunOutcome::Finished);

    let progress_steps: Vec<u64> = events
        .iter()
        .filter_map(|event| match event {
            RunEvent::Progress { step, .. } => Some(*step),
            _ => None,
        })
        .collect();
    assert_eq!(
        progress_steps,
        vec![3, 4],
        "the resumed run trains epoch 2 only"
    );
    let rows = read_metrics(&config.out_dir.join(METRICS_FILE)).expect("metrics");
    let loss_steps: Vec<u64> = rows_named(&rows, names::TRAIN_LOSS)
        .iter()
        .map(|row| row.step)
        .collect();
    assert_eq!(loss_steps, vec![1, 2, 3, 4]);
    let meta = read_checkpoint_meta(&config.out_dir)
        .expect("meta")
        .expect("some");
    assert_eq!((meta.epochs_done, meta.step), (2, 4));

    let past = read_run_folder(&config.out_dir).expect("read back");
    assert_eq!(past.record.preset.epochs, 2);
    assert_eq!(past.status, PastRunStatus::Complete);
    assert_eq!(past.series(names::TEST_ACCURACY_TASK1).len(), 2);
}

#[test]
fn resumed_run_matches_uninterrupted_run() {
    // Seeded weights, seeded per-epoch shuffles and restored Adam moments make the resumed
    // run repeat the uninterrupted one; 1e-6 allows for summation order in threaded kernels.
    let data = tempfile::tempdir().expect("tempdir");
    write_tiny_mnist(data.path(), 20, 10);
    let out = tempfile::tempdir().expect("tempdir");
    let preset = tiny_preset(ModelKind::LifFc, 2, 4, 8, 4);
    let straight = RunConfig::new(
        preset.clone(),
        out.path().join("a"),
        data.path().to_path_buf(),
    );
    assert!(run_collecting(&straight).0.is_ok());

    let mut first_half = preset.clone();
    first_half.epochs = 1;
    let mut split = RunConfig::new(first_half, out.path().join("b"), data.path().to_path_buf());
    assert!(run_collecting(&split).0.is_ok());
    split.preset = preset;
    split.resume = true;
    assert!(run_collecting(&split).0.is_ok());

    let load = |dir: &Path| {
        candle_core::safetensors::load(dir.join(CHECKPOINT_FILE), &Device::Cpu).expect("load")
    };
    let (a, b) = (load(&straight.out_dir), load(&split.out_dir));
    assert_eq!(a.len(), b.len());
    for (name, tensor_a) in &a {
        let difference = (tensor_a - &b[name])
            .and_then(|d| d.abs())
            .and_then(|d| d.flatten_all())
            .and_then(|d| d.max(0))
            .and_then(|d| d.to_scalar::<f32>())
            .expect("difference");
        assert!(difference <= 1e-6, "{name}: max difference {difference}");
    }
    let log = std::fs::read_to_string(split.out_dir.join("log.txt")).expect("log");
    assert!(log.contains("with Adam's moments"), "{log}");
}

#[test]
fn resume_drops_rows_after_checkpoint() {
    let data = tempfile::tempdir().expect("tempdir");
    write_tiny_mnist(data.path(), 20, 10);
    let out = tempfile::tempdir().expect("tempdir");
    let preset = tiny_preset(ModelKind::Ann, 2, 4, 8, 4);
    let mut config = RunConfig::new(preset, out.path().join("run"), data.path().to_path_buf());
    // Fail in epoch 2 after one good batch of it: step 3 trains, step 4 is NaN.
    config.nan_loss_at_step = Some(4);
    let (first, _) = run_collecting(&config);
    assert!(first.is_err());

    config.nan_loss_at_step = None;
    config.resume = true;
    let (second, _) = run_collecting(&config);
    assert_eq!(second.expect("resumed"), RunOutcome::Finished);
    let rows = read_metrics(&config.out_dir.join(METRICS_FILE)).expect("metrics");
    let loss_steps: Vec<u64> = rows_named(&rows, names::TRAIN_LOSS)
        .iter()
        .map(|row| row.step)
        .collect();
    assert_eq!(
        loss_steps,
        vec![1, 2, 3, 4],
        "step 3 of the failed run is not repeated"
    );
}

#[test]
fn resume_without_checkpoint_is_rejected() {
    let out = tempfile::tempdir().expect("tempdir");
    let preset = tiny_preset(ModelKind::Ann, 1, 4, 8, 4);
    let mut config = RunConfig::new(preset, out.path().join("run"), out.path().join("no-data"));
    config.resume = true;

    let (result, _) = run_collecting(&config);
    let error = result.expect_err("nothing to resume");
    assert!(matches!(error, TrainError::Resume { .. }), "{error:?}");
    assert!(error.to_string().contains("without --resume"), "{error}");
}

#[test]
fn used_folder_is_not_overwritten() {
    let data = tempfile::tempdir().expect("tempdir");
    write_tiny_mnist(data.path(), 20, 10);
    let out = tempfile::tempdir().expect("tempdir");
    let preset = tiny_preset(ModelKind::Ann, 1, 4, 8, 4);
    let config = RunConfig::new(preset, out.path().join("run"), data.path().to_path_buf());
    let (first, _) = run_collecting(&config);
    assert!(first.is_ok());

    let (second, _) = run_collecting(&config);
    let error = second.expect_err("second fresh run into the same folder");
    assert!(matches!(error, TrainError::FolderInUse { .. }), "{error:?}");
    assert!(error.to_string().contains("--resume"), "{error}");
}

#[test]
fn rerun_after_data_error_is_allowed() {
    let data = tempfile::tempdir().expect("tempdir");
    let out = tempfile::tempdir().expect("tempdir");
    let preset = tiny_preset(ModelKind::Ann, 1, 4, 8, 4);
    let config = RunConfig::new(preset, out.path().join("run"), data.path().to_path_buf());
    let (missing, _) = run_collecting(&config);
    let error = missing.expect_err("no data yet");
    assert!(matches!(error, TrainError::Data(_)), "{error:?}");
    assert!(error.to_string().contains("hhlab data fetch"), "{error}");

    write_tiny_mnist(data.path(), 20, 10);
    let (second, _) = run_collecting(&config);
    assert_eq!(second.expect("rerun"), RunOutcome::Finished);
}

#[test]
fn unwritable_folder_fails_before_loading_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"not a folder").expect("write");
    let preset = tiny_preset(ModelKind::Ann, 1, 4, 8, 4);
    // The data folder does not exist either: the folder error must come first.
    let config = RunConfig::new(preset, file.join("run"), dir.path().join("missing-data"));

    let (result, events) = run_collecting(&config);
    let error = result.expect_err("unwritable folder");
    assert!(matches!(error, TrainError::RunFolder { .. }), "{error:?}");
    assert!(error.to_string().contains("a-file"), "{error}");
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(matches!(events[0], RunEvent::Failed { .. }));
}

#[test]
fn run_record_holds_exact_preset() {
    let data = tempfile::tempdir().expect("tempdir");
    write_tiny_mnist(data.path(), 20, 10);
    let out = tempfile::tempdir().expect("tempdir");
    let mut preset = tiny_preset(ModelKind::Ann, 1, 4, 8, 4);
    preset.noise_amplitude = 25.0;
    preset.learning_rate = Some(2e-3);
    // One thread runs the loop inside a dedicated rayon pool.
    preset.threads = Some(1);
    let config = RunConfig::new(
        preset.clone(),
        out.path().join("run"),
        data.path().to_path_buf(),
    );
    let (result, _) = run_collecting(&config);
    assert!(result.is_ok());

    assert!(config.out_dir.join(RUN_RECORD_FILE).exists());
    let past = read_run_folder(&config.out_dir).expect("read back");
    assert_eq!(past.record.preset, preset);
    assert_eq!(past.record.seed, preset.seed);
    assert_eq!(past.record.optimizer.lr, 2e-3);
    assert_eq!(past.record.hhlab_version, env!("CARGO_PKG_VERSION"));
}
