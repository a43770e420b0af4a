//! The Simulation tab: the preset being edited, the worker that runs it, and the frame
//! logic that restarts the run whenever a control changes.
//!
//! The controls edit a [`SimPreset`] in place. Each frame the tab compares it with the preset
//! the worker last received; when they differ (a slider moved, a preset was loaded, the
//! experiment changed) it sends a restart that recomputes the run up to the time already on
//! screen, so the traces follow a slider while it is dragged. Play advances the run in real
//! time at `speed_ms_per_s` simulated milliseconds per wall-clock second.

use std::path::{Path, PathBuf};

use egui::{Color32, RichText, Ui};

use crate::app::plot::DecimationCache;
use crate::app::sim_view::{metrics_ui, plots_ui, MetricsContext, ViewParams};
use crate::app::sim_worker::{SimCommand, SimSnapshot, SimWorker};
use crate::app::theme;
use crate::neuron::stimulus::Waveform;
use crate::preset::sim::{ExperimentKind, SimPreset};

/// Simulated ms per wall-clock second when the app opens: the 80 ms chain plays in 4 s.
pub const DEFAULT_SPEED_MS_PER_S: f64 = 20.0;

/// Choice of XOR inputs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum XorInputs {
    /// The four reference cases (xA, xB) ∈ {0, 40}², side by side.
    AllCases,
    /// One case with free currents, in µA/cm².
    Single {
        /// Current into A.
        x_a: f64,
        /// Current into B.
        x_b: f64,
    },
}

/// The Simulation tab's state.
pub struct SimTab {
    /// The preset the controls edit.
    pub preset: SimPreset,
    /// The preset the worker last received; `None` before the first restart.
    sent: Option<SimPreset>,
    /// The worker; `None` when its thread could not be spawned (the error is in `message`).
    worker: Option<SimWorker>,
    /// The latest state of the run.
    pub snapshot: SimSnapshot,
    /// Whether play is on (the worker's copy follows one frame later).
    pub playing: bool,
    /// Simulated ms per wall-clock second while playing.
    pub speed_ms_per_s: f64,
    /// Choice of XOR inputs.
    pub xor_inputs: XorInputs,
    /// Only traces whose name starts with this are drawn (the XOR case, e.g. "40/0 ").
    pub trace_filter: String,
    /// Preset file path for Load and Save.
    pub preset_path: String,
    /// Folder for CSV and PNG export.
    pub export_dir: String,
    /// The last message for the user (error or confirmation).
    pub message: Option<(Color32, String)>,
    /// A window PNG the user asked for; the app shell takes it and saves the window.
    pub png_request: Option<PathBuf>,
    /// Commands the worker's full channel rejected, resent next frame.
    unsent: Vec<SimCommand>,
    cache: DecimationCache,
    /// Run index whose plots are cached.
    cached_run: u64,
}

impl SimTab {
    /// Creates the tab on `preset` and starts playing it; the worker repaints `ctx`.
    pub fn new(ctx: &egui::Context, preset: SimPreset) -> Self {
        let (worker, message) = match SimWorker::spawn(ctx) {
            Ok(worker) => (Some(worker), None),
            Err(error) => (
                None,
                Some((
                    theme::ERROR,
                    format!("cannot start the simulation thread: {error}"),
                )),
            ),
        };
        let mut tab = Self {
            preset,
            sent: None,
            worker,
            snapshot: SimSnapshot::default(),
            playing: true,
            speed_ms_per_s: DEFAULT_SPEED_MS_PER_S,
            xor_inputs: XorInputs::AllCases,
            trace_filter: String::new(),
            preset_path: "presets/my-simulation.ron".to_owned(),
            export_dir: "export".to_owned(),
            message,
            png_request: None,
            unsent: Vec::new(),
            cache: DecimationCache::default(),
            cached_run: 0,
        };
        tab.sync_xor_inputs_from_preset();
        tab.send(SimCommand::SetSpeed(tab.speed_ms_per_s));
        tab.send(SimCommand::Play);
        tab.poll();
        tab
    }

    /// The default preset: the HH vs s-LIF2HH chain driven by the square wave.
    pub fn default_preset() -> SimPreset {
        SimPreset::chain(Waveform::Square)
    }

    /// Sends pending commands, restarts the run when the preset changed, and takes the
    /// worker's latest snapshot. Call once per frame before drawing.
    pub fn poll(&mut self) {
        let unsent = std::mem::take(&mut self.unsent);
        for command in unsent {
            self.send(command);
        }

        if self.sent.as_ref() != Some(&self.preset) {
            let catch_up_ms = if self.snapshot.finished || self.snapshot.error.is_some() {
                f64::INFINITY
            } else {
                self.snapshot.t_ms
            };
            let preset = Box::new(self.preset.clone());
            self.send(SimCommand::Restart {
                preset,
                catch_up_ms,
            });
            self.sent = Some(self.preset.clone());
        }

        if let Some(worker) = &self.worker {
            self.snapshot = worker.snapshot();
        }
        if self.snapshot.run_index != self.cached_run {
            self.cache.clear();
            self.cached_run = self.snapshot.run_index;
        }
    }

    /// Returns true while the worker is still producing output (the app keeps repainting).
    pub fn is_busy(&self) -> bool {
        let running = self.snapshot.computing || (self.playing && !self.snapshot.finished);
        running && self.snapshot.error.is_none()
    }

    /// Sends a command, keeping it for the next frame when the channel is full.
    pub fn send(&mut self, command: SimCommand) {
        let Some(worker) = &self.worker else {
            return;
        };
        if let Err(command) = worker.try_send(command) {
            self.unsent.push(command);
        }
    }

    /// Starts or resumes play; a finished run restarts from t = 0.
    pub fn play(&mut self) {
        if self.snapshot.finished {
            self.reset();
        }
        self.playing = true;
        self.send(SimCommand::Play);
    }

    /// Pauses play (and a run to the end).
    pub fn pause(&mut self) {
        self.playing = false;
        self.send(SimCommand::Pause);
    }

    /// Restarts the run at t = 0, keeping play on or off.
    pub fn reset(&mut self) {
        self.send(SimCommand::Restart {
            preset: Box::new(self.preset.clone()),
            catch_up_ms: 0.0,
        });
        self.sent = Some(self.preset.clone());
    }

    /// Computes the rest of the run at full speed.
    pub fn run_to_end(&mut self) {
        self.send(SimCommand::RunToEnd);
    }

    /// Switches the experiment, keeping the time step and the other sections' settings;
    /// the duration becomes the experiment's reference duration.
    pub fn set_experiment(&mut self, experiment: ExperimentKind) {
        if self.preset.experiment == experiment {
            return;
        }
        let reference = match experiment {
            ExperimentKind::Chain => SimPreset::chain(self.preset.stimulus.waveform),
            ExperimentKind::Xor => SimPreset::xor(),
            ExperimentKind::FullyConnected => SimPreset::fully_connected(),
        };
        self.preset.experiment = experiment;
        self.preset.name = reference.name;
        self.preset.duration_ms = reference.duration_ms;
        self.trace_filter = default_filter(&self.preset);
    }

    /// Applies [`Self::xor_inputs`] to the preset's XOR cases.
    pub fn apply_xor_inputs(&mut self) {
        self.preset.xor.cases = match self.xor_inputs {
            XorInputs::AllCases => vec![(0.0, 0.0), (40.0, 0.0), (0.0, 40.0), (40.0, 40.0)],
            XorInputs::Single { x_a, x_b } => vec![(x_a, x_b)],
        };
        let filter_valid = self
            .preset
            .xor
            .cases
            .iter()
            .any(|&case| self.trace_filter == case_prefix(case));
        if !filter_valid {
            self.trace_filter = default_filter(&self.preset);
        }
    }

    fn sync_xor_inputs_from_preset(&mut self) {
        self.xor_inputs = match self.preset.xor.cases.as_slice() {
            [(x_a, x_b)] => XorInputs::Single {
                x_a: *x_a,
                x_b: *x_b,
            },
            _ => XorInputs::AllCases,
        };
        self.trace_filter = default_filter(&self.preset);
    }

    /// Loads a preset file; errors (with file, line and column) show in the message.
    pub fn load_preset(&mut self, path: &Path) {
        match crate::preset::load_ron::<SimPreset>(path) {
            Ok(preset) => {
                self.preset = preset;
                self.sync_xor_inputs_from_preset();
                self.preset_path = path.display().to_string();
                self.message = Some((theme::OK, format!("loaded {}", path.display())));
            }
            Err(error) => self.message = Some((theme::ERROR, error.to_string())),
        }
    }

    /// Saves the current preset; errors show in the message.
    pub fn save_preset(&mut self, path: &Path) {
        self.message = Some(match crate::preset::save_ron(&self.preset, path) {
            Ok(()) => (theme::OK, format!("saved {}", path.display())),
            Err(error) => (theme::ERROR, error.to_string()),
        });
    }

    /// Writes the current output as CSV files into `dir`; the outcome shows in the message.
    pub fn export_csv(&mut self, dir: &Path) {
        let Some(output) = self.snapshot.output.clone() else {
            self.message = Some((
                theme::ERROR,
                "nothing to export yet: run the simulation".into(),
            ));
            return;
        };
        self.message = Some(match crate::export::write_sim_output(dir, &output) {
            Ok(()) => (
                theme::OK,
                format!(
                    "exported traces.csv, spikes.csv and metrics.csv to {}",
                    dir.display()
                ),
            ),
            Err(error) => (theme::ERROR, error.to_string()),
        });
    }

    /// Returns the export folder as typed.
    pub fn export_path(&self) -> PathBuf {
        PathBuf::from(self.export_dir.trim())
    }

    /// Draws the tab.
    pub fn ui(&mut self, ui: &mut Ui) {
        egui::Panel::left("simulation controls")
            .resizable(true)
            .default_size(290.0)
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| {
                    crate::app::sim_controls::controls_ui(ui, self);
                });
            });
        egui::Panel::right("simulation metrics")
            .resizable(true)
            .default_size(270.0)
            .show(ui, |ui| {
                let shown = self.sent.as_ref().unwrap_or(&self.preset);
                let context = MetricsContext {
                    experiment: shown.experiment,
                    reference_chain: *shown == SimPreset::chain(Waveform::Square),
                    error: self.snapshot.error.as_deref(),
                    stopped_at_ms: self.reached_ms(),
                };
                egui::ScrollArea::vertical().show(ui, |ui| match &self.snapshot.output {
                    Some(output) => metrics_ui(ui, output, &context),
                    None => {
                        ui.label("no output yet");
                    }
                });
            });
        egui::CentralPanel::default().show(ui, |ui| {
            self.status_ui(ui);
            let Some(output) = self.snapshot.output.clone() else {
                return;
            };
            let view = ViewParams {
                experiment: self
                    .sent
                    .as_ref()
                    .map_or(self.preset.experiment, |p| p.experiment),
                duration_ms: self.snapshot.duration_ms,
                revision: self.snapshot.run_index,
                filter: &self.trace_filter,
            };
            egui::ScrollArea::vertical().show(ui, |ui| {
                plots_ui(ui, &mut self.cache, &output, &view);
            });
        });
    }

    /// Returns the simulated time reached: the worker's clock, or the end of the recorded
    /// traces when they reach further (a run stopped by an error mid-batch).
    pub fn reached_ms(&self) -> f64 {
        let recorded_ms = self.snapshot.output.as_ref().map_or(0.0, |output| {
            let samples = output.traces.first().map_or(0, |trace| trace.values.len());
            samples.saturating_sub(1) as f64 * output.sample_dt_ms
        });
        self.snapshot.t_ms.max(recorded_ms)
    }

    fn status_ui(&self, ui: &mut Ui) {
        let snapshot = &self.snapshot;
        ui.horizontal(|ui| {
            ui.label(RichText::new(&self.preset.name).strong());
            let state = if snapshot.error.is_some() {
                "stopped"
            } else if snapshot.finished {
                "finished"
            } else if snapshot.computing {
                "computing"
            } else if snapshot.playing {
                "playing"
            } else {
                "paused"
            };
            let mut text = format!(
                "t = {:.2} / {:.2} ms · {state}",
                self.reached_ms(),
                snapshot.duration_ms
            );
            if snapshot.error.is_some() {
                // The error names the time of the failed step, after the last recorded sample.
                text.push_str(" after the last recorded sample");
            }
            ui.label(text);
            if snapshot.computing {
                let fraction = if snapshot.duration_ms > 0.0 {
                    (snapshot.t_ms / snapshot.duration_ms) as f32
                } else {
                    0.0
                };
                ui.add(
                    egui::ProgressBar::new(fraction)
                        .desired_width(160.0)
                        .show_percentage(),
                );
            }
        });
        if let Some(error) = &snapshot.error {
            ui.label(RichText::new(error).color(theme::ERROR));
        }
    }
}

/// Returns the trace-name prefix of an XOR case, as the simulation names it (`40/0 `).
pub fn case_prefix((x_a, x_b): (f64, f64)) -> String {
    format!("{x_a}/{x_b} ")
}

/// Returns the trace filter an experiment opens with: the XOR case 40/0 when present (its
/// output fires, which makes the traces worth reading), else every trace.
fn default_filter(preset: &SimPreset) -> String {
    if preset.experiment != ExperimentKind::Xor {
        return String::new();
    }
    let cases = &preset.xor.cases;
    if cases.len() == 1 {
        return String::new();
    }
    cases
        .iter()
        .find(|&&case| case == (40.0, 0.0))
        .map(|&case| case_prefix(case))
        .unwrap_or_default()
}
