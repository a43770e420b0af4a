//! The control column of the Simulation tab: experiment, stimulus, XOR inputs, fully
//! connected settings, time step and duration, play controls, presets and export.
//!
//! Controls only edit [`SimTab::preset`] or send play commands; the tab notices a changed
//! preset on the next frame and restarts the run. Ranges are generous on purpose: a time
//! step that makes forward Euler diverge, or a duration whose traces do not fit in memory,
//! is reported by the simulation as a message naming the value and the fix.

use std::path::PathBuf;

use egui::{ComboBox, RichText, Slider, SliderClamping, Ui};

use crate::app::sim_tab::{case_prefix, SimTab, XorInputs};
use crate::app::train_tab::path_row_ui;
use crate::neuron::stimulus::{Stimulus, Waveform};
use crate::preset::sim::ExperimentKind;
use crate::sim::fully_connected::{ImageSource, WeightSource};

/// Menu label of an experiment.
pub fn experiment_label(kind: ExperimentKind) -> &'static str {
    match kind {
        ExperimentKind::Chain => "Chain: HH vs s-LIF2HH",
        ExperimentKind::Xor => "XOR: HH vs tv-LIF2HH",
        ExperimentKind::FullyConnected => "Fully connected 784-128-10",
    }
}

/// Draws every control of the tab.
pub fn controls_ui(ui: &mut Ui, tab: &mut SimTab) {
    ui.heading("Simulation");
    experiment_ui(ui, tab);
    ui.separator();
    match tab.preset.experiment {
        ExperimentKind::Chain => stimulus_ui(ui, &mut tab.preset.stimulus),
        ExperimentKind::Xor => xor_ui(ui, tab),
        ExperimentKind::FullyConnected => fully_connected_ui(ui, tab),
    }
    ui.separator();
    timing_ui(ui, tab);
    ui.separator();
    play_ui(ui, tab);
    ui.separator();
    files_ui(ui, tab);
    if let Some((color, text)) = &tab.message {
        ui.separator();
        ui.label(RichText::new(text).color(*color));
    }
}

fn experiment_ui(ui: &mut Ui, tab: &mut SimTab) {
    let mut experiment = tab.preset.experiment;
    ui.horizontal(|ui| {
        let label = ui.label("Experiment");
        ComboBox::from_id_salt("experiment")
            .selected_text(experiment_label(experiment))
            .width(200.0)
            .show_ui(ui, |ui| {
                for kind in [
                    ExperimentKind::Chain,
                    ExperimentKind::Xor,
                    ExperimentKind::FullyConnected,
                ] {
                    ui.selectable_value(&mut experiment, kind, experiment_label(kind));
                }
            })
            .response
            .labelled_by(label.id);
    });
    tab.set_experiment(experiment);
}

fn stimulus_ui(ui: &mut Ui, stimulus: &mut Stimulus) {
    ui.label(RichText::new("Input current x1(t)").strong());
    let mut waveform = stimulus.waveform;
    ui.horizontal(|ui| {
        let label = ui.label("Waveform");
        ComboBox::from_id_salt("waveform")
            .selected_text(waveform.name())
            .show_ui(ui, |ui| {
                for w in Waveform::ALL {
                    ui.selectable_value(&mut waveform, w, w.name());
                }
            })
            .response
            .labelled_by(label.id);
    });
    if waveform != stimulus.waveform {
        // A new waveform starts from its reference offset, amplitude and period.
        *stimulus = Stimulus::default_for(waveform);
    }
    ui.add(
        Slider::new(&mut stimulus.offset, -30.0..=40.0)
            .text("offset (µA/cm²)")
            .clamping(SliderClamping::Never),
    );
    let periodic = stimulus.waveform != Waveform::Const;
    ui.add_enabled(
        periodic,
        Slider::new(&mut stimulus.amplitude, 0.0..=40.0)
            .text("amplitude (µA/cm²)")
            .clamping(SliderClamping::Never),
    );
    ui.add_enabled(
        periodic,
        Slider::new(&mut stimulus.period_ms, 1.0..=40.0)
            .text("period (ms)")
            .clamping(SliderClamping::Never),
    );
    if ui.button("Reference values").clicked() {
        *stimulus = Stimulus::default_for(stimulus.waveform);
    }
}

fn xor_ui(ui: &mut Ui, tab: &mut SimTab) {
    ui.label(RichText::new("XOR inputs").strong());
    let before = tab.xor_inputs;
    let mut all = matches!(tab.xor_inputs, XorInputs::AllCases);
    ui.radio_value(&mut all, true, "cases (xA, xB) in {0, 40}²");
    ui.radio_value(&mut all, false, "free inputs");
    tab.xor_inputs = match (all, tab.xor_inputs) {
        (true, _) => XorInputs::AllCases,
        (false, XorInputs::Single { x_a, x_b }) => {
            let (mut x_a, mut x_b) = (x_a, x_b);
            ui.add(Slider::new(&mut x_a, 0.0..=80.0).text("xA (µA/cm²)"));
            ui.add(Slider::new(&mut x_b, 0.0..=80.0).text("xB (µA/cm²)"));
            XorInputs::Single { x_a, x_b }
        }
        (false, XorInputs::AllCases) => XorInputs::Single {
            x_a: 40.0,
            x_b: 0.0,
        },
    };
    if tab.xor_inputs != before {
        tab.apply_xor_inputs();
    }
    ui.add(Slider::new(&mut tab.preset.xor.weight, 0.0..=60.0).text("weight w (µA/cm²)"));

    let cases = tab.preset.xor.cases.clone();
    if cases.len() > 1 {
        ui.horizontal(|ui| {
            let label = ui.label("Traces of case");
            let selected = if tab.trace_filter.is_empty() {
                "all".to_owned()
            } else {
                tab.trace_filter.trim().to_owned()
            };
            ComboBox::from_id_salt("xor case")
                .selected_text(selected)
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut tab.trace_filter, String::new(), "all");
                    for case in cases {
                        let prefix = case_prefix(case);
                        let text = prefix.trim().to_owned();
                        ui.selectable_value(&mut tab.trace_filter, prefix, text);
                    }
                })
                .response
                .labelled_by(label.id);
        });
    }
}

fn fully_connected_ui(ui: &mut Ui, tab: &mut SimTab) {
    ui.label(RichText::new("Fully connected network").strong());
    let config = &mut tab.preset.fully_connected;
    ui.add(
        Slider::new(&mut config.pixel_scale, 0.0..=2.0)
            .text("pixel scale")
            .clamping(SliderClamping::Never),
    );
    weights_ui(ui, &mut config.weights);
    image_ui(ui, &mut config.image);
}

fn weights_ui(ui: &mut Ui, weights: &mut WeightSource) {
    let mut from_file = matches!(weights, WeightSource::File(_));
    ui.horizontal(|ui| {
        ui.label("Weights");
        ui.radio_value(&mut from_file, false, "seeded random");
        ui.radio_value(&mut from_file, true, "file");
    });
    match (from_file, &mut *weights) {
        (false, WeightSource::Random { seed, scale }) => {
            ui.horizontal(|ui| {
                let label = ui.label("seed");
                ui.add(egui::DragValue::new(seed)).labelled_by(label.id);
            });
            ui.add(
                Slider::new(scale, 0.0..=4.0)
                    .text("weight scale")
                    .clamping(SliderClamping::Never),
            );
        }
        (true, WeightSource::File(path)) => {
            let mut text = path.display().to_string();
            path_row_ui(ui, "Weights file", &mut text, "fc-weights.safetensors");
            if text != path.display().to_string() {
                *path = PathBuf::from(text);
            }
            if ui.button("Browse…").clicked() {
                let dialog = rfd::FileDialog::new().add_filter("safetensors", &["safetensors"]);
                if let Some(picked) = dialog.pick_file() {
                    *path = picked;
                }
            }
        }
        (false, WeightSource::File(_)) => *weights = WeightSource::default(),
        (true, WeightSource::Random { .. }) => *weights = WeightSource::File(PathBuf::new()),
    }
}

fn image_ui(ui: &mut Ui, image: &mut ImageSource) {
    let mut mnist = matches!(image, ImageSource::Mnist { .. });
    ui.horizontal(|ui| {
        ui.label("Image");
        ui.radio_value(&mut mnist, false, "built-in ring");
        ui.radio_value(&mut mnist, true, "MNIST test image");
    });
    match (mnist, &mut *image) {
        (true, ImageSource::Mnist { index }) => {
            ui.horizontal(|ui| {
                let label = ui.label("index");
                ui.add(egui::DragValue::new(index).range(0..=9_999))
                    .labelled_by(label.id);
            });
        }
        (true, ImageSource::Builtin) => *image = ImageSource::Mnist { index: 0 },
        (false, ImageSource::Mnist { .. }) => *image = ImageSource::Builtin,
        (false, ImageSource::Builtin) => {}
    }
}

fn timing_ui(ui: &mut Ui, tab: &mut SimTab) {
    ui.label(RichText::new("Integration").strong());
    let preset = &mut tab.preset;
    ui.add(
        Slider::new(&mut preset.dt_ms, 1e-4..=0.1)
            .logarithmic(true)
            .text("dt (ms)")
            .clamping(SliderClamping::Never)
            .custom_formatter(|v, _| format!("{v:.4}")),
    );
    ui.add(
        Slider::new(&mut preset.duration_ms, 1.0..=10_000.0)
            .logarithmic(true)
            .text("duration (ms)")
            .clamping(SliderClamping::Never),
    );
    ui.add(
        Slider::new(&mut preset.record_every, 1..=1000)
            .logarithmic(true)
            .text("record every (steps)"),
    );
}

fn play_ui(ui: &mut Ui, tab: &mut SimTab) {
    ui.horizontal(|ui| {
        if tab.playing {
            if ui.button("Pause").clicked() {
                tab.pause();
            }
        } else if ui.button("Play").clicked() {
            tab.play();
        }
        if ui.button("Reset").clicked() {
            tab.reset();
        }
        if ui.button("Run to end").clicked() {
            tab.run_to_end();
        }
    });
    let before = tab.speed_ms_per_s;
    ui.add(
        Slider::new(&mut tab.speed_ms_per_s, 1.0..=1000.0)
            .logarithmic(true)
            .text("speed (ms/s)"),
    );
    if tab.speed_ms_per_s != before {
        let speed = tab.speed_ms_per_s;
        tab.send(crate::app::sim_worker::SimCommand::SetSpeed(speed));
    }
}

fn files_ui(ui: &mut Ui, tab: &mut SimTab) {
    ui.label(RichText::new("Preset").strong());
    path_row_ui(ui, "Preset file", &mut tab.preset_path, "presets/….ron");
    ui.horizontal(|ui| {
        if ui.button("Load").clicked() {
            let path = PathBuf::from(tab.preset_path.trim());
            tab.load_preset(&path);
        }
        if ui.button("Save").clicked() {
            let path = PathBuf::from(tab.preset_path.trim());
            tab.save_preset(&path);
        }
        if ui.button("Open…").clicked() {
            let dialog = rfd::FileDialog::new().add_filter("RON preset", &["ron"]);
            if let Some(path) = dialog.pick_file() {
                tab.load_preset(&path);
            }
        }
        if ui.button("Save as…").clicked() {
            let dialog = rfd::FileDialog::new().add_filter("RON preset", &["ron"]);
            if let Some(path) = dialog.save_file() {
                tab.preset_path = path.display().to_string();
                tab.save_preset(&path);
            }
        }
    });

    ui.label(RichText::new("Export").strong());
    path_row_ui(ui, "Export folder", &mut tab.export_dir, "export");
    ui.horizontal(|ui| {
        if ui.button("Export CSV").clicked() {
            let dir = tab.export_path();
            tab.export_csv(&dir);
        }
        if ui.button("Save PNG").clicked() {
            tab.png_request = Some(tab.export_path().join(format!("{}.png", tab.preset.name)));
        }
        if ui.button("Choose…").clicked() {
            if let Some(dir) = rfd::FileDialog::new().pick_folder() {
                tab.export_dir = dir.display().to_string();
            }
        }
    });
}
