//! GUI tests through egui_kittest: the app opens on the playing chain, the experiment picker
//! switches experiments, a slider restarts the run with the new value, bad settings show a
//! message, a diverged run reports where it stopped, `--preset` names its file in the preset
//! field, and a tiny training run streams into the Training tab.
//!
//! The simulation and training run on worker threads whose repaint requests kittest does not
//! wait for, so each test steps frames in a loop until the state it expects shows up, with a
//! generous deadline (a timeout only fails the test; it never decides a pass).

#[path = "train_support/mod.rs"]
mod train_support;

use std::time::{Duration, Instant};

use egui::accesskit::Role;
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use hhlab::app::{GuiArgs, HhlabApp, Tab};
use hhlab::preset::sim::ExperimentKind;
use hhlab::sim::SimOutput;

/// Deadline for a simulation state to appear (the debug-build chain takes a few seconds).
const SIM_DEADLINE: Duration = Duration::from_secs(120);

/// Deadline for the tiny training run.
const TRAIN_DEADLINE: Duration = Duration::from_secs(300);

/// A harness around the app, created lazily so it is built on the harness's own context.
fn harness(args: GuiArgs) -> Harness<'static, Option<HhlabApp>> {
    Harness::builder()
        .with_size(egui::vec2(1400.0, 900.0))
        .with_max_steps(10_000)
        .build_ui_state(
            move |ui, app: &mut Option<HhlabApp>| {
                app.get_or_insert_with(|| HhlabApp::new(ui.ctx(), &args))
                    .ui_root(ui);
            },
            None,
        )
}

fn app<'h>(harness: &'h Harness<'_, Option<HhlabApp>>) -> &'h HhlabApp {
    harness
        .state()
        .as_ref()
        .expect("the app is built on the first frame")
}

fn app_mut<'h>(harness: &'h mut Harness<'_, Option<HhlabApp>>) -> &'h mut HhlabApp {
    harness
        .state_mut()
        .as_mut()
        .expect("the app is built on the first frame")
}

/// Steps frames until `done` holds, failing with `what` after `deadline`.
fn step_until(
    harness: &mut Harness<'_, Option<HhlabApp>>,
    deadline: Duration,
    what: &str,
    done: impl Fn(&HhlabApp) -> bool,
) {
    let start = Instant::now();
    loop {
        harness.step();
        if done(app(harness)) {
            return;
        }
        assert!(start.elapsed() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn output(app: &HhlabApp) -> Option<&SimOutput> {
    app.sim.snapshot.output.as_deref()
}

fn trace_values<'a>(output: &'a SimOutput, name: &str) -> Option<&'a [f64]> {
    output
        .traces
        .iter()
        .find(|trace| trace.name == name)
        .map(|trace| trace.values.as_slice())
}

fn max(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::NEG_INFINITY, f64::max)
}

/// Clicks "Run to end" and waits until the current run has finished.
fn finish_run(harness: &mut Harness<'_, Option<HhlabApp>>) {
    harness.get_by_label("Run to end").click();
    step_until(harness, SIM_DEADLINE, "the run to finish", |app| {
        app.sim.snapshot.finished
    });
}

#[test]
fn app_opens_on_playing_chain() {
    let mut harness = harness(GuiArgs::default());
    step_until(&mut harness, SIM_DEADLINE, "the first traces", |app| {
        output(app).is_some_and(|o| !o.traces.is_empty() && !o.traces[0].values.is_empty())
    });

    let app = app(&harness);
    assert_eq!(app.tab, Tab::Simulation);
    assert_eq!(app.sim.preset.experiment, ExperimentKind::Chain);
    assert_eq!(
        app.sim.preset.stimulus.waveform,
        hhlab::neuron::stimulus::Waveform::Square
    );
    assert!(app.sim.playing, "the default run plays on open");
    let picker = harness.get_by_label("Experiment");
    assert_eq!(picker.value().as_deref(), Some("Chain: HH vs s-LIF2HH"));
}

#[test]
fn experiment_picker_switches_to_xor() {
    let mut harness = harness(GuiArgs::default());
    harness.step();

    harness.get_by_label("Experiment").click();
    harness.run_steps(3);
    harness.get_by_label("XOR: HH vs tv-LIF2HH").click();
    step_until(&mut harness, SIM_DEADLINE, "XOR traces", |app| {
        output(app).is_some_and(|o| trace_values(o, "40/0 A HH u").is_some())
    });

    let app = app(&harness);
    assert_eq!(app.sim.preset.experiment, ExperimentKind::Xor);
    assert_eq!(app.sim.preset.duration_ms, 40.0);
    assert_eq!(app.sim.trace_filter, "40/0 ");
}

#[test]
fn amplitude_slider_restarts_with_new_current() {
    let mut harness = harness(GuiArgs::default());
    harness.step();
    finish_run(&mut harness);
    let run_before = app(&harness).sim.snapshot.run_index;
    let current_before = output(app(&harness))
        .and_then(|o| trace_values(o, "HH1 I"))
        .map(max)
        .expect("HH1 input current trace");
    // Square wave 9 − 15.5·sign(…): its maximum is 9 + 15.5 = 24.5 µA/cm².
    assert!((current_before - 24.5).abs() < 1e-9, "max {current_before}");

    harness
        .get_by_role_and_label(Role::Slider, "amplitude (µA/cm²)")
        .set_value_accesskit(5.0);
    step_until(&mut harness, SIM_DEADLINE, "the restarted run", |app| {
        app.sim.snapshot.run_index > run_before && app.sim.snapshot.finished
    });

    let app = app(&harness);
    assert_eq!(app.sim.preset.stimulus.amplitude, 5.0);
    let current_after = output(app)
        .and_then(|o| trace_values(o, "HH1 I"))
        .map(max)
        .expect("HH1 input current trace");
    // After the change: 9 + 5 = 14 µA/cm², over the whole 80 ms (the finished run is redone
    // to its end, not from the start).
    assert!((current_after - 14.0).abs() < 1e-9, "max {current_after}");
    let samples = output(app)
        .and_then(|o| trace_values(o, "HH1 I"))
        .map_or(0, <[f64]>::len);
    assert_eq!(samples, 80_000, "80 ms at dt 0.001 ms, every step recorded");
}

#[test]
fn invalid_dt_shows_message_and_recovers() {
    let mut harness = harness(GuiArgs::default());
    harness.step();

    harness
        .get_by_role_and_label(Role::Slider, "dt (ms)")
        .set_value_accesskit(0.0);
    step_until(&mut harness, SIM_DEADLINE, "the dt error", |app| {
        app.sim.snapshot.error.is_some()
    });
    harness.run_steps(2);
    harness.get_by_label_contains("invalid dt_ms = 0");

    harness
        .get_by_role_and_label(Role::Slider, "dt (ms)")
        .set_value_accesskit(0.001);
    step_until(&mut harness, SIM_DEADLINE, "the error to clear", |app| {
        app.sim.snapshot.error.is_none() && output(app).is_some()
    });
}

#[test]
fn training_tab_runs_tiny_synthetic_run() {
    let data = tempfile::tempdir().expect("temp dir");
    train_support::write_tiny_mnist(data.path(), 64, 32);
    let runs = tempfile::tempdir().expect("temp dir");
    let mut harness = harness(GuiArgs::default());
    harness.step();

    harness.get_by_label("Training").click();
    harness.run_steps(2);
    {
        let train = &mut app_mut(&mut harness).train;
        train.data_dir = data.path().display().to_string();
        train.runs_folder = runs.path().display().to_string();
        train.form.epochs = 1;
        train.form.batch_size = 16;
        train.form.train_samples = 64;
        train.form.test_samples = 32;
    }
    harness.get_by_label("Model").click();
    harness.run_steps(3);
    harness.get_by_label("LIF_fc").click();
    harness.run_steps(2);
    harness.get_by_label("Start").click();
    step_until(&mut harness, TRAIN_DEADLINE, "the run to end", |app| {
        app.train
            .runs
            .runs
            .first()
            .is_some_and(|run| !run.status.is_active())
    });
    harness.run_steps(2);

    let app = app(&harness);
    let run = &app.train.runs.runs[0];
    assert_eq!(run.preset.model, hhlab::nn::ModelKind::LifFc);
    assert_eq!(run.status.label(), "finished", "{:?}", run.status);
    // 64 samples in batches of 16: 4 optimizer steps, one loss point each.
    assert_eq!(run.train_loss.len(), 4);
    assert_eq!(run.test_accuracy_task1.len(), 1);
    assert_eq!(run.test_accuracy_task2.len(), 1);
    let run_dir = run.dir.clone();
    let loss_points = run.train_loss.len();

    // Reopen the finished run's folder through the path field.
    app_mut(&mut harness).train.reopen_path = run_dir.display().to_string();
    harness.get_by_label("Open path").click();
    harness.run_steps(2);
    let train = &self::app(&harness).train;
    assert_eq!(train.runs.runs.len(), 2, "{:?}", train.message);
    let reopened = &train.runs.runs[1];
    assert_eq!(reopened.status.label(), "finished");
    assert_eq!(reopened.train_loss.len(), loss_points);
    assert_eq!(reopened.test_accuracy_task1.len(), 1);
}

#[test]
fn export_writes_csv_or_explains() {
    let mut harness = harness(GuiArgs::default());
    harness.step();
    finish_run(&mut harness);
    let folder = tempfile::tempdir().expect("temp dir");

    let good = folder.path().join("chain");
    app_mut(&mut harness).sim.export_dir = good.display().to_string();
    harness.get_by_label("Export CSV").click();
    harness.run_steps(2);
    for file in ["traces.csv", "spikes.csv", "metrics.csv"] {
        assert!(good.join(file).is_file(), "{file} missing");
    }

    // A regular file where the folder should be: the message names the path.
    let blocker = folder.path().join("not-a-folder");
    std::fs::write(&blocker, b"x").expect("write blocker");
    app_mut(&mut harness).sim.export_dir = blocker.join("sub").display().to_string();
    harness.get_by_label("Export CSV").click();
    harness.run_steps(2);
    let message = app(&harness).sim.message.clone().map(|(_, text)| text);
    let message = message.expect("a message after export");
    assert!(message.contains("not-a-folder"), "{message}");
    harness.get_by_label_contains("cannot write");
}

#[test]
fn diverged_run_says_it_stopped() {
    let mut harness = harness(GuiArgs::default());
    harness.step();

    // At dt = 0.1 ms forward Euler diverges within the first few milliseconds of the chain.
    harness
        .get_by_role_and_label(Role::Slider, "dt (ms)")
        .set_value_accesskit(0.1);
    harness.run_steps(2);
    harness.get_by_label("Run to end").click();
    step_until(&mut harness, SIM_DEADLINE, "the divergence error", |app| {
        app.sim.snapshot.error.is_some()
    });
    harness.run_steps(2);

    harness.get_by_label_contains("no metrics: the run stopped before its end");
    let reached_ms = app(&harness).sim.reached_ms();
    assert!(reached_ms >= app(&harness).sim.snapshot.t_ms);
    harness.get_by_label_contains(&format!(
        "t = {reached_ms:.2} / 80.00 ms · stopped after the last recorded sample"
    ));
}

#[test]
fn preset_field_shows_loaded_path() {
    let folder = tempfile::tempdir().expect("temp dir");
    let path = folder.path().join("xor.ron");
    hhlab::preset::save_ron(&hhlab::preset::sim::SimPreset::xor(), &path).expect("save preset");
    let args = GuiArgs {
        preset: Some(path.clone()),
        ..GuiArgs::default()
    };
    let mut harness = harness(args);
    harness.step();

    let app = app(&harness);
    assert_eq!(app.sim.preset_path, path.display().to_string());
    assert_eq!(app.sim.preset.experiment, ExperimentKind::Xor);
}
