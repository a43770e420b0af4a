//! The Training tab: a form for a two-task classifier run, start and stop, a progress bar,
//! the run list and live curves of every visible run overlaid.
//!
//! Starting a run validates the form as a [`TrainPreset`] and hands it to
//! [`crate::train::spawn_run`], which trains on a named worker thread and streams events; the
//! tab drains them each frame through [`RunManager::drain_events`] and repaints while any run
//! is active. Curves: the training loss per batch (sum of both tasks' cross-entropies, in
//! nats) against the optimizer step, and the test accuracy of each task (percent) per epoch.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use egui::{Color32, ComboBox, DragValue, RichText, Slider, Ui};

use crate::app::plot::{Curve, CurvePlot};
use crate::app::runs::{RunManager, RunStatus};
use crate::app::theme;
use crate::data::multi::MultiVariant;
use crate::nn::ModelKind;
use crate::preset::train::TrainPreset;

/// Default parent folder of the run folders, relative to the working directory.
const DEFAULT_RUNS_FOLDER: &str = "runs";

/// The Training tab's state.
pub struct TrainTab {
    /// The run being set up.
    pub form: TrainForm,
    /// The data folder as typed; empty means `HHLAB_DATA`, then the platform data folder.
    pub data_dir: String,
    /// The parent folder of new run folders.
    pub runs_folder: String,
    /// A run folder to reopen, as typed.
    pub reopen_path: String,
    /// Every run of the session.
    pub runs: RunManager,
    /// The last message for the user (error or confirmation).
    pub message: Option<(Color32, String)>,
}

/// The editable fields of a training run.
#[derive(Clone, Debug)]
pub struct TrainForm {
    /// Composed data set.
    pub dataset: MultiVariant,
    /// Classifier to train.
    pub model: ModelKind,
    /// Passes over the training samples.
    pub epochs: usize,
    /// Samples per optimizer step.
    pub batch_size: usize,
    /// Use the model's own learning rate instead of `learning_rate`.
    pub default_learning_rate: bool,
    /// Initial Adam learning rate when `default_learning_rate` is off.
    pub learning_rate: f64,
    /// Amplitude of the fixed noise image, in pixel units (0 = off).
    pub noise_amplitude: f32,
    /// Seed of initialisation, pairing, shuffles and noise.
    pub seed: u64,
    /// Use every training sample (120,000) instead of `train_samples`.
    pub all_train_samples: bool,
    /// Training samples when `all_train_samples` is off.
    pub train_samples: usize,
    /// Use every test sample (20,000) instead of `test_samples`.
    pub all_test_samples: bool,
    /// Test samples when `all_test_samples` is off.
    pub test_samples: usize,
    /// Scale pixels to [0, 1] instead of keeping 0–255.
    pub scale_to_unit: bool,
}

impl Default for TrainForm {
    /// A short HH_fc run on 2,400 Multi-MNIST samples: a few minutes on one CPU core.
    fn default() -> Self {
        Self {
            dataset: MultiVariant::MultiMnist,
            model: ModelKind::HhFc,
            epochs: 2,
            batch_size: 128,
            default_learning_rate: true,
            learning_rate: ModelKind::HhFc.optim_config().lr,
            noise_amplitude: 0.0,
            seed: 0,
            all_train_samples: false,
            train_samples: 2_400,
            all_test_samples: false,
            test_samples: 1_000,
            scale_to_unit: false,
        }
    }
}

impl TrainForm {
    /// Fills the form from a preset; fields the form does not show keep the preset's model
    /// defaults when the run starts.
    pub fn from_preset(preset: &TrainPreset) -> Self {
        let optim = preset.optim_config();
        let defaults = Self::default();
        Self {
            dataset: preset.dataset,
            model: preset.model,
            epochs: preset.epochs,
            batch_size: preset.batch_size,
            default_learning_rate: preset.learning_rate.is_none(),
            learning_rate: optim.lr,
            noise_amplitude: preset.noise_amplitude,
            seed: preset.seed,
            all_train_samples: preset.train_samples.is_none(),
            train_samples: preset.train_samples.unwrap_or(defaults.train_samples),
            all_test_samples: preset.test_samples.is_none(),
            test_samples: preset.test_samples.unwrap_or(defaults.test_samples),
            scale_to_unit: preset.scale_to_unit,
        }
    }

    /// Builds the preset the form describes and checks it.
    pub fn to_preset(&self) -> Result<TrainPreset, crate::preset::PresetError> {
        let mut preset = TrainPreset::full(self.model);
        preset.dataset = self.dataset;
        preset.epochs = self.epochs;
        preset.batch_size = self.batch_size;
        preset.learning_rate = (!self.default_learning_rate).then_some(self.learning_rate);
        preset.noise_amplitude = self.noise_amplitude;
        preset.seed = self.seed;
        preset.train_samples = (!self.all_train_samples).then_some(self.train_samples);
        preset.test_samples = (!self.all_test_samples).then_some(self.test_samples);
        preset.scale_to_unit = self.scale_to_unit;
        preset.validate()?;
        Ok(preset)
    }
}

impl Default for TrainTab {
    fn default() -> Self {
        Self {
            form: TrainForm::default(),
            data_dir: String::new(),
            runs_folder: DEFAULT_RUNS_FOLDER.to_owned(),
            reopen_path: String::new(),
            runs: RunManager::default(),
            message: None,
        }
    }
}

impl TrainTab {
    /// Drains run events; returns true while a run is active (the caller keeps repainting).
    pub fn poll(&mut self) -> bool {
        self.runs.drain_events()
    }

    /// Starts a run of the form's preset; the outcome shows in [`Self::message`].
    pub fn start_run(&mut self) {
        match self.try_start_run() {
            Ok(dir) => {
                self.message = Some((theme::OK, format!("started run in {}", dir.display())));
            }
            Err(error) => {
                tracing::warn!(%error, "training run not started");
                self.message = Some((theme::ERROR, error));
            }
        }
    }

    fn try_start_run(&mut self) -> Result<PathBuf, String> {
        let preset = self.form.to_preset().map_err(|e| e.to_string())?;
        let typed_data_dir = self.data_dir.trim();
        let data_dir = crate::data::resolve_data_dir(
            (!typed_data_dir.is_empty()).then(|| Path::new(typed_data_dir)),
        )
        .map_err(|e| format!("{e}; type a data folder in the field above"))?;
        let taken: Vec<&Path> = self.runs.runs.iter().map(|run| run.dir.as_path()).collect();
        let out_dir = new_run_dir(Path::new(self.runs_folder.trim()), &preset, &taken);

        let handle = crate::train::spawn_run(preset.clone(), out_dir.clone(), data_dir)
            .map_err(|e| e.to_string())?;
        self.runs.add_live(handle, out_dir.clone(), preset);
        Ok(out_dir)
    }

    /// Reads the run folder at `path` into the run list; the outcome shows in the message.
    pub fn reopen(&mut self, path: &Path) {
        self.message = Some(match self.runs.reopen(path) {
            Ok(run) => (theme::OK, format!("reopened {}", run.id)),
            Err(error) => (
                theme::ERROR,
                format!("cannot reopen {}: {error}", path.display()),
            ),
        });
    }

    /// Draws the tab.
    pub fn ui(&mut self, ui: &mut Ui) {
        egui::Panel::left("training controls")
            .resizable(true)
            .default_size(300.0)
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| self.controls_ui(ui));
            });
        egui::CentralPanel::default().show(ui, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| {
                self.progress_ui(ui);
                ui.separator();
                self.run_list_ui(ui);
                ui.separator();
                self.curves_ui(ui);
            });
        });
    }

    fn controls_ui(&mut self, ui: &mut Ui) {
        ui.heading("Training run");
        form_ui(ui, &mut self.form);

        ui.separator();
        path_row_ui(
            ui,
            "Data folder",
            &mut self.data_dir,
            "HHLAB_DATA or platform folder",
        );
        path_row_ui(
            ui,
            "Runs folder",
            &mut self.runs_folder,
            DEFAULT_RUNS_FOLDER,
        );
        ui.horizontal(|ui| {
            if ui.button("Start").clicked() {
                self.start_run();
            }
            let any_active = self.runs.any_active();
            if ui
                .add_enabled(any_active, egui::Button::new("Stop all"))
                .clicked()
            {
                self.runs.cancel_all();
            }
        });

        ui.separator();
        ui.label("Reopen a run folder");
        path_row_ui(ui, "Run folder", &mut self.reopen_path, "runs/…");
        ui.horizontal(|ui| {
            if ui.button("Open path").clicked() {
                let path = PathBuf::from(self.reopen_path.trim());
                self.reopen(&path);
            }
            if ui.button("Browse…").clicked() {
                if let Some(path) = rfd::FileDialog::new().pick_folder() {
                    self.reopen_path = path.display().to_string();
                    self.reopen(&path);
                }
            }
        });

        if let Some((color, text)) = &self.message {
            ui.separator();
            ui.label(RichText::new(text).color(*color));
        }
    }

    fn progress_ui(&self, ui: &mut Ui) {
        let active: Vec<_> = self
            .runs
            .runs
            .iter()
            .filter(|run| run.status.is_active())
            .collect();
        if active.is_empty() {
            ui.label("No run is active. Set up a run on the left and press Start.");
            return;
        }
        for run in active {
            let text = if run.status == RunStatus::Starting {
                format!("{}: loading data and building the model…", run.id)
            } else {
                let mut text = format!(
                    "{}: step {} / {} · {:.0} samples/s",
                    run.id, run.step, run.total_steps, run.samples_per_sec
                );
                if let Some(remaining) = run.time_remaining() {
                    text.push_str(&format!(" · {} left", format_duration(remaining)));
                }
                text
            };
            ui.add(egui::ProgressBar::new(run.progress()).text(text));
        }
    }

    fn run_list_ui(&mut self, ui: &mut Ui) {
        ui.label(RichText::new("Runs").strong());
        if self.runs.runs.is_empty() {
            ui.label("none yet");
            return;
        }
        egui::Grid::new("run list")
            .striped(true)
            .num_columns(5)
            .show(ui, |ui| {
                for run in &mut self.runs.runs {
                    let color = theme::run_color(run.color_index);
                    ui.horizontal(|ui| {
                        ui.checkbox(&mut run.visible, "");
                        let size = egui::vec2(12.0, 12.0);
                        let (rect, _) = ui.allocate_exact_size(size, egui::Sense::hover());
                        ui.painter().rect_filled(rect, 2.0, color);
                    });
                    ui.label(&run.id);
                    ui.label(format!(
                        "{} · {}",
                        run.preset.model.name(),
                        run.preset.dataset.label()
                    ));
                    let status_color = match &run.status {
                        RunStatus::Starting | RunStatus::Running => theme::RUNNING,
                        RunStatus::Finished => theme::OK,
                        RunStatus::Failed(_) => theme::ERROR,
                        RunStatus::Cancelled { .. } | RunStatus::Incomplete { .. } => {
                            theme::CANCELLED
                        }
                    };
                    ui.label(RichText::new(run.status.label()).color(status_color));
                    let can_stop = run.status.is_active() && run.handle.is_some();
                    if ui
                        .add_enabled(can_stop, egui::Button::new("Stop"))
                        .clicked()
                    {
                        if let Some(handle) = &run.handle {
                            handle.request_cancel();
                        }
                    }
                    ui.end_row();
                }
            });
    }

    fn curves_ui(&self, ui: &mut Ui) {
        let visible: Vec<_> = self.runs.runs.iter().filter(|run| run.visible).collect();
        let curves = |pick: fn(&crate::app::runs::RunEntry) -> &Vec<[f64; 2]>| -> Vec<Curve<'_>> {
            visible
                .iter()
                .map(|run| Curve {
                    name: run.id.clone(),
                    color: theme::run_color(run.color_index),
                    points: pick(run),
                    dashed: false,
                })
                .collect()
        };

        // The loss takes half the height left, the two accuracy plots the other half.
        let height = ((ui.available_height() - 24.0) / 2.0).max(180.0);
        let max_steps = visible.iter().map(|run| run.total_steps).max().unwrap_or(0);
        let max_epochs = visible
            .iter()
            .map(|run| run.preset.epochs)
            .max()
            .unwrap_or(0);
        let loss_plot = CurvePlot {
            id_salt: "train loss",
            x_label: "step",
            y_label: "training loss (nats)",
            height,
            x_max: max_steps as f64,
            y_range: (0.0, 1.0),
        };
        loss_plot.show(ui, &curves(|run| &run.train_loss));
        ui.columns(2, |columns| {
            let task1_plot = CurvePlot {
                id_salt: "test accuracy task 1",
                x_label: "epoch",
                y_label: "task 1 test accuracy (%)",
                height,
                x_max: max_epochs as f64,
                y_range: (0.0, 100.0),
            };
            task1_plot.show(&mut columns[0], &curves(|run| &run.test_accuracy_task1));
            let task2_plot = CurvePlot {
                y_label: "task 2 test accuracy (%)",
                id_salt: "test accuracy task 2",
                ..task1_plot
            };
            task2_plot.show(&mut columns[1], &curves(|run| &run.test_accuracy_task2));
        });
    }
}

/// Draws the fields of `form`.
fn form_ui(ui: &mut Ui, form: &mut TrainForm) {
    egui::Grid::new("training form")
        .num_columns(2)
        .show(ui, |ui| {
            let label = ui.label("Dataset");
            ComboBox::from_id_salt("dataset")
                .selected_text(form.dataset.label())
                .show_ui(ui, |ui| {
                    for variant in MultiVariant::ALL {
                        ui.selectable_value(&mut form.dataset, variant, variant.label());
                    }
                })
                .response
                .labelled_by(label.id);
            ui.end_row();

            let label = ui.label("Model");
            let before = form.model;
            ComboBox::from_id_salt("model")
                .selected_text(form.model.name())
                .show_ui(ui, |ui| {
                    for kind in ModelKind::ALL {
                        ui.selectable_value(&mut form.model, kind, kind.name());
                    }
                })
                .response
                .labelled_by(label.id);
            if form.model != before && form.default_learning_rate {
                form.learning_rate = form.model.optim_config().lr;
            }
            ui.end_row();

            drag_row_ui(
                ui,
                "Epochs",
                DragValue::new(&mut form.epochs).range(1..=400),
            );
            drag_row_ui(
                ui,
                "Batch size",
                DragValue::new(&mut form.batch_size).range(1..=4096),
            );

            ui.label("Learning rate");
            ui.vertical(|ui| {
                ui.checkbox(&mut form.default_learning_rate, "model default");
                ui.add_enabled(
                    !form.default_learning_rate,
                    Slider::new(&mut form.learning_rate, 1e-6..=1e-1)
                        .logarithmic(true)
                        .custom_formatter(|v, _| format!("{v:.1e}")),
                );
            });
            ui.end_row();

            let label = ui.label("Noise amplitude");
            ui.add(Slider::new(&mut form.noise_amplitude, 0.0..=100.0).suffix(" px"))
                .labelled_by(label.id);
            ui.end_row();

            drag_row_ui(ui, "Seed", DragValue::new(&mut form.seed));
            samples_row_ui(
                ui,
                "Train samples",
                &mut form.all_train_samples,
                &mut form.train_samples,
            );
            samples_row_ui(
                ui,
                "Test samples",
                &mut form.all_test_samples,
                &mut form.test_samples,
            );

            ui.label("Pixels");
            ui.checkbox(&mut form.scale_to_unit, "scale to [0, 1]");
            ui.end_row();
        });
    if !form.default_learning_rate {
        return;
    }
    let optim = form.model.optim_config();
    ui.label(
        RichText::new(format!(
            "{}: Adam {:.0e}, weight decay {:.0e}, ×{} at epochs {:?}",
            form.model.name(),
            optim.lr,
            optim.weight_decay,
            optim.gamma,
            optim.milestones
        ))
        .small(),
    );
}

fn drag_row_ui(ui: &mut Ui, name: &str, value: DragValue<'_>) {
    let label = ui.label(name);
    ui.add(value).labelled_by(label.id);
    ui.end_row();
}

fn samples_row_ui(ui: &mut Ui, name: &str, all: &mut bool, count: &mut usize) {
    let label = ui.label(name);
    ui.horizontal(|ui| {
        ui.checkbox(all, "all");
        ui.add_enabled(!*all, DragValue::new(count).range(1..=120_000))
            .labelled_by(label.id);
    });
    ui.end_row();
}

/// Draws a labelled single-line path field.
pub fn path_row_ui(ui: &mut Ui, name: &str, value: &mut String, hint: &str) {
    ui.horizontal(|ui| {
        let label = ui.label(name);
        ui.add(
            egui::TextEdit::singleline(value)
                .hint_text(hint)
                .desired_width(f32::INFINITY),
        )
        .labelled_by(label.id);
    });
}

/// Formats `secs` since the Unix epoch as `YYYYMMDD-HHMMSS`.
///
/// NOTE: the time is UTC, not local time, because no time-zone crate is a dependency.
fn timestamp_label(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let second_of_day = secs % 86_400;
    let (year, month, day) = civil_date(days);
    format!(
        "{year:04}{month:02}{day:02}-{:02}{:02}{:02}",
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60
    )
}

/// Converts days since 1970-01-01 to a proleptic Gregorian (year, month, day), counting in
/// 400-year eras that start on March 1 so that the leap day ends each year.
fn civil_date(days: i64) -> (i64, u32, u32) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Returns a fresh run folder under `parent`: model, dataset, seed and the start time as
/// `YYYYMMDD-HHMMSS`, with a counter appended if that folder exists or is in `taken` (runs
/// started this second whose workers have not created their folder yet).
fn new_run_dir(parent: &Path, preset: &TrainPreset, taken: &[&Path]) -> PathBuf {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let base = format!(
        "{}-{:?}-seed{}-{}",
        preset.model.name(),
        preset.dataset,
        preset.seed,
        timestamp_label(secs)
    );
    let mut dir = parent.join(&base);
    let mut counter = 2;
    while dir.exists() || taken.contains(&dir.as_path()) {
        dir = parent.join(format!("{base}-{counter}"));
        counter += 1;
    }
    dir
}

/// Formats a duration as `1h 02m`, `3m 07s` or `12s`.
fn format_duration(duration: Duration) -> String {
    let secs = duration.as_secs();
    if secs >= 3600 {
        format!("{}h {:02}m", secs / 3600, (secs % 3600) / 60)
    } else if secs >= 60 {
        format!("{}m {:02}s", secs / 60, secs % 60)
    } else {
        format!("{secs}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_label_reads_utc_date() {
        // 1_796_409_012 s is 2026-12-04 18:30:12 UTC (date -u -d @1796409012).
        assert_eq!(timestamp_label(1_796_409_012), "20261204-183012");
        assert_eq!(timestamp_label(0), "19700101-000000");
        // 2024-02-29 00:00:00 UTC, a leap day.
        assert_eq!(timestamp_label(1_709_164_800), "20240229-000000");
    }

    #[test]
    fn default_form_is_valid() {
        let preset = TrainForm::default().to_preset().expect("valid");
        assert_eq!(preset.model, ModelKind::HhFc);
        assert_eq!(preset.train_samples, Some(2_400));
        assert_eq!(preset.learning_rate, None);
    }

    #[test]
    fn form_rejects_zero_batch() {
        let form = TrainForm {
            batch_size: 0,
            ..TrainForm::default()
        };
        let error = form.to_preset().expect_err("batch 0");
        assert!(error.to_string().contains("batch_size"), "{error}");
    }

    #[test]
    fn durations_format_compactly() {
        assert_eq!(format_duration(Duration::from_secs(12)), "12s");
        assert_eq!(format_duration(Duration::from_secs(187)), "3m 07s");
        assert_eq!(format_duration(Duration::from_secs(3720)), "1h 02m");
    }
}
