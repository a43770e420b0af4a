//! End-to-end runs of `hhlab simulate`: a preset into a temporary folder, overrides, and the
//! error text for a malformed preset.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::path::PathBuf;
use std::process::{Command, Output};

fn hhlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hhlab"))
        .args(args)
        .env("RUST_LOG", "warn")
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("run the hhlab binary")
}

fn preset(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("presets")
        .join(name);
    path.display().to_string()
}

#[test]
fn simulate_writes_run_folder() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let out_text = out.display().to_string();
    let result = hhlab(&[
        "simulate",
        &preset("chain-const.ron"),
        "--out",
        &out_text,
        "--set",
        "duration_ms=20.0",
        "--set",
        "record_every=100",
    ]);
    let stdout = String::from_utf8_lossy(&result.stdout);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(
        result.status.success(),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    assert!(stdout.contains("spikes"), "{stdout}");

    let run_ron = std::fs::read_to_string(out.join("run.ron")).unwrap();
    assert!(run_ron.contains("duration_ms: 20.0"), "{run_ron}");
    assert!(run_ron.contains("record_every: 100"), "{run_ron}");

    let traces = std::fs::read_to_string(out.join("traces.csv")).unwrap();
    let header = traces.lines().next().unwrap();
    assert!(
        header.starts_with("time_ms,HH1 u (mV),HH1 I (µA/cm²)"),
        "{header}"
    );
    // 20 ms at 0.001 ms, one sample every 100 steps: 200 rows after the header.
    assert_eq!(traces.lines().count(), 201);

    let spikes = std::fs::read_to_string(out.join("spikes.csv")).unwrap();
    assert!(spikes.starts_with("model,neuron,time_ms\n"), "{spikes}");
    // Stage 1 of the LIF chain fires at 14 ms under x = 9 (see the sim_experiments test).
    assert!(spikes.contains("s-LIF2HH,0,14\n"), "{spikes}");

    let metrics = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    assert!(metrics.starts_with("metric,value\n"), "{metrics}");
    assert!(metrics.contains("output spikes HH,"), "{metrics}");
}

#[test]
fn malformed_preset_reports_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.ron");
    std::fs::write(
        &bad,
        "(\n    name: \"bad\",\n    experiment: Chain,\n    dt_ms: 0.001,\n    durration_ms: 80.0,\n)\n",
    )
    .unwrap();
    let bad_text = bad.display().to_string();
    let out = dir.path().join("out").display().to_string();
    let result = hhlab(&["simulate", &bad_text, "--out", &out]);
    assert!(!result.status.success());
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(stderr.contains(&format!("{bad_text}:5:")), "{stderr}");
    assert!(stderr.contains("duration_ms"), "{stderr}");
}

#[test]
fn unknown_override_lists_fields() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out").display().to_string();
    let result = hhlab(&[
        "simulate",
        &preset("chain-sine.ron"),
        "--out",
        &out,
        "--set",
        "stimulus.amplitud=3.0",
    ]);
    assert!(!result.status.success());
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(stderr.contains("amplitude"), "{stderr}");
    assert!(stderr.contains("period_ms"), "{stderr}");
}

#[test]
fn divergence_is_reported_without_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let out_text = out.display().to_string();
    let result = hhlab(&[
        "simulate",
        &preset("xor.ron"),
        "--out",
        &out_text,
        "--set",
        "dt_ms=0.1",
    ]);
    assert!(!result.status.success());
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(stderr.contains("diverged"), "{stderr}");
    assert!(stderr.contains("dt_ms"), "{stderr}");
    assert!(!out.join("traces.csv").exists());
}

#[test]
fn help_documents_units() {
    let result = hhlab(&["simulate", "--help"]);
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(result.status.success());
    for text in ["--out", "--set", "µA/cm²", "ms"] {
        assert!(stdout.contains(text), "missing {text} in:\n{stdout}");
    }
}

#[test]
fn unwritable_out_fails_before_running() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain-file");
    std::fs::write(&file, b"x").unwrap();
    let out_text = file.join("run").display().to_string();
    // 80 ms of the XOR preset at dt = 0.1 ms diverges, so an error that mentions the
    // folder, not the divergence, shows that the folder was checked first.
    let result = hhlab(&[
        "simulate",
        &preset("xor.ron"),
        "--out",
        &out_text,
        "--set",
        "dt_ms=0.1",
    ]);
    assert!(!result.status.success());
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(stderr.contains(&file.display().to_string()), "{stderr}");
    assert!(stderr.contains("--out"), "{stderr}");
    assert!(!stderr.contains("diverged"), "{stderr}");
}

#[test]
fn rerun_warns_about_replaced_files() {
    let dir = tempfile::tempdir().unwrap();
    let out_text = dir.path().join("run").display().to_string();
    let args = [
        "simulate",
        &preset("chain-const.ron"),
        "--out",
        &out_text,
        "--set",
        "duration_ms=5.0",
    ];
    let first = hhlab(&args);
    assert!(first.status.success());
    let first_stderr = String::from_utf8_lossy(&first.stderr);
    assert!(!first_stderr.contains("replacing"), "{first_stderr}");

    let second = hhlab(&args);
    assert!(second.status.success());
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.contains("replacing"), "{stderr}");
    assert!(stderr.contains("spikes.csv"), "{stderr}");
}

#[test]
fn dt_not_dividing_lif_step_blames_dt() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out").display().to_string();
    let result = hhlab(&[
        "simulate",
        &preset("chain-const.ron"),
        "--out",
        &out,
        "--set",
        "dt_ms=0.003",
    ]);
    assert!(!result.status.success());
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(stderr.contains("invalid dt_ms = 0.003"), "{stderr}");
    assert!(stderr.contains("must divide chain.lif_dt_ms"), "{stderr}");
}

#[test]
fn missing_preset_is_reported_once() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.ron").display().to_string();
    let out = dir.path().join("out").display().to_string();
    let result = hhlab(&["simulate", &missing, "--out", &out]);
    assert!(!result.status.success());
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(
        stderr.contains(&format!("preset file not found: {missing}")),
        "{stderr}"
    );
    assert_eq!(stderr.matches("not found").count(), 1, "{stderr}");
}

#[test]
fn training_preset_gets_train_hint() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out").display().to_string();
    let result = hhlab(&["simulate", &preset("multitask-ANN.ron"), "--out", &out]);
    assert!(!result.status.success());
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(
        stderr.contains("this looks like a training preset"),
        "{stderr}"
    );
    assert!(stderr.contains("hhlab train"), "{stderr}");
}
