//! `hhlab train` end to end through the binary, on a tiny synthetic MNIST folder.

mod train_support;

use std::path::Path;
use std::process::{Command, Output};

use hhlab::train::folder::{CHECKPOINT_FILE, METRICS_FILE, RUN_RECORD_FILE};
use hhlab::train::read_run_folder;
use train_support::write_tiny_mnist;

fn hhlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hhlab"))
        .args(args)
        .env_remove("HHLAB_DATA")
        .output()
        .expect("run hhlab")
}

fn preset(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("presets")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn train_command_writes_run_folder() {
    let data = tempfile::tempdir().expect("tempdir");
    write_tiny_mnist(data.path(), 20, 10);
    let out = tempfile::tempdir().expect("tempdir");
    let run_dir = out.path().join("cli-run");

    let output = hhlab(&[
        "train",
        &preset("multitask-ANN.ron"),
        "--out",
        &run_dir.display().to_string(),
        "--seed",
        "11",
        "--data-dir",
        &data.path().display().to_string(),
        "--set",
        "epochs=1",
        "--set",
        "batch_size=4",
        "--set",
        "train_samples=8",
        "--set",
        "test_samples=4",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "stderr: {stderr}");
    assert!(
        stdout.contains("finished: test accuracy"),
        "stdout: {stdout}"
    );

    for file in [RUN_RECORD_FILE, METRICS_FILE, CHECKPOINT_FILE] {
        assert!(run_dir.join(file).exists(), "{file} missing");
    }
    let past = read_run_folder(&run_dir).expect("read run");
    assert_eq!(past.record.seed, 11);
    assert_eq!(past.record.preset.epochs, 1);
    assert_eq!(past.record.preset.train_samples, Some(8));
}

#[test]
fn unknown_model_fails_with_valid_names() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("typo.ron");
    std::fs::write(&path, "(\n    model: HH_fully,\n    epochs: 1,\n)\n").expect("write");

    let output = hhlab(&[
        "train",
        &path.display().to_string(),
        "--out",
        &dir.path().join("run").display().to_string(),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("typo.ron:2:"), "stderr: {stderr}");
    assert!(stderr.contains("HH_fully"), "stderr: {stderr}");
    assert!(stderr.contains("LIF_hh_fc"), "stderr: {stderr}");
}

#[test]
fn unwritable_out_fails_clearly() {
    let data = tempfile::tempdir().expect("tempdir");
    write_tiny_mnist(data.path(), 20, 10);
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("plain-file");
    std::fs::write(&file, b"x").expect("write");

    let output = hhlab(&[
        "train",
        &preset("multitask-ANN.ron"),
        "--out",
        &file.join("run").display().to_string(),
        "--data-dir",
        &data.path().display().to_string(),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("cannot write run folder"),
        "stderr: {stderr}"
    );
    assert!(stderr.contains("--out"), "stderr: {stderr}");
}

/// A run made with `--set` overrides is resumed with its recorded preset, `--set` given with
/// `--resume` extends it, and run.ron lists that change next to the original settings.
#[test]
fn resume_extends_recorded_preset() {
    let data = tempfile::tempdir().expect("tempdir");
    write_tiny_mnist(data.path(), 20, 10);
    let out = tempfile::tempdir().expect("tempdir");
    let run_dir = out.path().join("resume-run").display().to_string();
    let data_dir = data.path().display().to_string();
    let small = [
        "--set",
        "epochs=1",
        "--set",
        "batch_size=4",
        "--set",
        "train_samples=8",
        "--set",
        "test_samples=4",
    ];
    let ann = preset("multitask-ANN.ron");
    let mut first = vec!["train", &ann, "--out", &run_dir, "--data-dir", &data_dir];
    first.extend(small);
    let output = hhlab(&first);
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );

    let output = hhlab(&[
        "train",
        &ann,
        "--out",
        &run_dir,
        "--data-dir",
        &data_dir,
        "--resume",
        "--set",
        "epochs=2",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "stderr: {stderr}");
    // The preset file has the full settings, the record the small ones, so stderr must contain a warning.
    assert!(
        stderr.contains("differs from the preset recorded"),
        "stderr: {stderr}"
    );

    let past = read_run_folder(Path::new(&run_dir)).expect("read run");
    assert_eq!(past.record.preset.epochs, 2);
    assert_eq!(past.record.preset.train_samples, Some(8));
    assert_eq!(past.record.preset.batch_size, 4);
    assert_eq!(past.record.resumes.len(), 1, "{:?}", past.record);
    assert_eq!(past.record.resumes[0].after_epoch, 1);
    assert_eq!(past.record.resumes[0].changes, vec!["epochs: 1 -> 2"]);
    assert_eq!(past.checkpoint.map(|meta| meta.epochs_done), Some(2));
}

#[test]
fn resume_without_record_fails() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = hhlab(&[
        "train",
        &preset("multitask-ANN.ron"),
        "--out",
        &dir.path().display().to_string(),
        "--resume",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("without --resume"), "stderr: {stderr}");
}
