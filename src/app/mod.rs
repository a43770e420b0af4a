//! The eframe application: a Simulation tab and a Training tab, shared plot widgets, the
//! simulation worker and the training run manager.
//!
//! Modules by role: [`sim_tab`] (state and restart logic), [`sim_controls`] (its control
//! column), [`sim_view`] (its plots and metrics), [`sim_worker`] (the thread that runs the
//! simulation); [`train_tab`] and [`runs`] (training form, run list and event draining);
//! [`plot`] and [`decimate`] (plot widgets and min/max decimation); [`theme`] (every
//! colour); [`screenshot`] (window PNGs); [`bench`] (frame-time measurement).
//!
//! The app opens straight into the HH vs s-LIF2HH chain under the square wave, playing.
//! [`HhlabApp::ui_root`] draws a frame from a plain [`egui::Ui`], so tests drive the same
//! code through egui_kittest without an eframe window.

pub mod bench;
pub mod decimate;
pub mod plot;
pub mod runs;
pub mod screenshot;
pub mod sim_controls;
pub mod sim_tab;
pub mod sim_view;
pub mod sim_worker;
pub mod theme;
pub mod train_tab;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use egui::{Color32, RichText, Ui};

use crate::preset::sim::SimPreset;
use crate::preset::train::TrainPreset;
use screenshot::ScreenshotSaver;
use sim_tab::SimTab;
use train_tab::TrainTab;

/// Maximum wait, after `--screenshot-after`, for the simulation to finish before a scripted
/// screenshot is taken anyway.
const SCREENSHOT_MAX_WAIT: Duration = Duration::from_secs(120);

/// Repaint interval while a training run is active, so its events are drained.
const TRAINING_REPAINT: Duration = Duration::from_millis(100);

/// The tabs of the main window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Tab {
    /// Live neuron simulations.
    Simulation,
    /// Classifier training runs.
    Training,
}

/// The experiment the GUI opens on (`--experiment`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ExperimentArg {
    /// HH vs s-LIF2HH chain under the square wave.
    Chain,
    /// The XOR network, HH vs tv-LIF2HH.
    Xor,
    /// The fully connected 784-128-10 network.
    Fc,
}

/// Options of the GUI, given on the command line without a subcommand.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct GuiArgs {
    /// Open the Simulation tab on this simulation preset (RON) instead of the default chain.
    #[arg(long, value_name = "PATH")]
    pub preset: Option<PathBuf>,
    /// Open on this experiment with its reference settings (ignored with --preset).
    #[arg(long, value_enum)]
    pub experiment: Option<ExperimentArg>,
    /// Tab shown first.
    #[arg(long, value_enum)]
    pub tab: Option<Tab>,
    /// Start a training run of this preset (RON) when the window opens; repeat the option
    /// to start several runs side by side.
    #[arg(long, value_name = "PATH")]
    pub train_preset: Vec<PathBuf>,
    /// Reopen this run folder in the Training tab; repeat to reopen several.
    #[arg(long, value_name = "DIR")]
    pub reopen_run: Vec<PathBuf>,
    /// Data folder for training (default: HHLAB_DATA, then the platform data folder).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Parent folder of new training run folders (default: ./runs).
    #[arg(long, value_name = "DIR")]
    pub runs_dir: Option<PathBuf>,
    /// Save the window as a PNG at this path, then close.
    #[arg(long, value_name = "PATH")]
    pub screenshot: Option<PathBuf>,
    /// Seconds to wait before --screenshot; on the Simulation tab it also waits until the
    /// run has finished (at most two minutes more).
    #[arg(long, value_name = "SECONDS", default_value_t = 2.0)]
    pub screenshot_after: f64,
    /// Window size in points, as WIDTHxHEIGHT.
    #[arg(long, value_name = "WxH", default_value = "1400x900", value_parser = parse_size)]
    pub window_size: [f32; 2],
    /// Renderer: wgpu (default) or glow (OpenGL).
    #[arg(long, value_enum)]
    pub renderer: Option<RendererArg>,
}

/// The renderer behind the window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum RendererArg {
    /// wgpu (Vulkan, Metal, DX12 or GL).
    Wgpu,
    /// OpenGL through glow.
    Glow,
}

fn parse_size(text: &str) -> Result<[f32; 2], String> {
    let parsed = text
        .split_once('x')
        .and_then(|(w, h)| Some([w.trim().parse().ok()?, h.trim().parse().ok()?]));
    match parsed {
        Some([w, h]) if w >= 200.0 && h >= 200.0 => Ok([w, h]),
        _ => Err(format!(
            "invalid window size {text:?}: use WIDTHxHEIGHT in points, each at least 200, \
             such as 1400x900"
        )),
    }
}

/// The main window's state.
pub struct HhlabApp {
    /// The tab shown.
    pub tab: Tab,
    /// The Simulation tab.
    pub sim: SimTab,
    /// The Training tab.
    pub train: TrainTab,
    screenshots: ScreenshotSaver,
    /// Scripted screenshot still to take: path and earliest time.
    scripted_screenshot: Option<(PathBuf, Instant)>,
    /// Whether a close was requested (after the scripted screenshot).
    pub close_requested: bool,
    /// Message of the shell (startup errors, saved screenshots).
    status: Option<(Color32, String)>,
    /// Whether pointer input is dropped, so that a scripted screenshot shows no hover
    /// cursor where the virtual screen happens to leave its pointer.
    ignore_pointer: bool,
}

impl HhlabApp {
    /// Builds the app on `ctx`: applies the theme, opens the Simulation tab on the chosen
    /// preset (playing) and starts the training run given by `--train-preset`. Errors in
    /// the options become messages in the window instead of stopping the app.
    pub fn new(ctx: &egui::Context, args: &GuiArgs) -> Self {
        theme::apply(ctx);
        let mut status = None;

        let sim_preset = match &args.preset {
            Some(path) => match crate::preset::load_ron::<SimPreset>(path) {
                Ok(preset) => preset,
                Err(error) => {
                    status = Some((theme::ERROR, error.to_string()));
                    SimTab::default_preset()
                }
            },
            None => match args.experiment {
                None | Some(ExperimentArg::Chain) => SimTab::default_preset(),
                Some(ExperimentArg::Xor) => SimPreset::xor(),
                Some(ExperimentArg::Fc) => SimPreset::fully_connected(),
            },
        };
        let mut sim = SimTab::new(ctx, sim_preset);
        if let Some(path) = &args.preset {
            sim.preset_path = path.display().to_string();
        }

        let mut train = TrainTab::default();
        if let Some(dir) = &args.data_dir {
            train.data_dir = dir.display().to_string();
        }
        if let Some(dir) = &args.runs_dir {
            train.runs_folder = dir.display().to_string();
        }
        for dir in &args.reopen_run {
            train.reopen(dir);
        }
        for path in &args.train_preset {
            match TrainPreset::load(path, &[]) {
                Ok(preset) => {
                    train.form = train_tab::TrainForm::from_preset(&preset);
                    train.start_run();
                }
                Err(error) => train.message = Some((theme::ERROR, error.to_string())),
            }
        }

        let training_first = !args.train_preset.is_empty() || !args.reopen_run.is_empty();
        let tab = args.tab.unwrap_or(if training_first {
            Tab::Training
        } else {
            Tab::Simulation
        });
        let delay = Duration::from_secs_f64(args.screenshot_after.max(0.0));
        Self {
            tab,
            sim,
            train,
            screenshots: ScreenshotSaver::default(),
            scripted_screenshot: args
                .screenshot
                .clone()
                .map(|path| (path, Instant::now() + delay)),
            close_requested: false,
            status,
            ignore_pointer: args.screenshot.is_some(),
        }
    }

    /// Draws one frame into `ui` and handles everything a frame must: worker snapshots,
    /// training events, screenshots and repaint requests.
    pub fn ui_root(&mut self, ui: &mut Ui) {
        self.sim.poll();
        let training_active = self.train.poll();

        egui::Panel::top("tabs").show(ui, |ui| self.top_bar_ui(ui));
        match self.tab {
            Tab::Simulation => self.sim.ui(ui),
            Tab::Training => self.train.ui(ui),
        }

        let ctx = ui.ctx().clone();
        self.handle_screenshots(&ctx);
        if training_active {
            ctx.request_repaint_after(TRAINING_REPAINT);
        }
    }

    fn top_bar_ui(&mut self, ui: &mut Ui) {
        ui.horizontal(|ui| {
            ui.label(RichText::new("hhlab").strong());
            ui.separator();
            ui.selectable_value(&mut self.tab, Tab::Simulation, "Simulation");
            ui.selectable_value(&mut self.tab, Tab::Training, "Training");
            // The colour key concerns the neuron models, which only the Simulation tab shows.
            if self.tab == Tab::Simulation {
                ui.separator();
                ui.label(RichText::new("HH").strong().color(theme::HH));
                ui.label("vs");
                ui.label(RichText::new("LIF2HH").strong().color(theme::LIF2HH));
            }
            if let Some((color, text)) = &self.status {
                ui.separator();
                ui.label(RichText::new(text).color(*color));
            }
        });
    }

    fn handle_screenshots(&mut self, ctx: &egui::Context) {
        if let Some(path) = self.sim.png_request.take() {
            self.screenshots.request(ctx, path, false);
        }

        if let Some((path, not_before)) = &self.scripted_screenshot {
            let now = Instant::now();
            let sim_settled = self.tab != Tab::Simulation || !self.sim.is_busy();
            let waited_too_long = now > *not_before + SCREENSHOT_MAX_WAIT;
            if now >= *not_before && (sim_settled || waited_too_long) {
                self.screenshots.request(ctx, path.clone(), true);
                self.scripted_screenshot = None;
            } else {
                ctx.request_repaint_after(Duration::from_millis(100));
            }
        }

        for outcome in self.screenshots.drain() {
            let message = match &outcome.result {
                Ok(()) => (theme::OK, format!("saved {}", outcome.path.display())),
                Err(error) => {
                    tracing::warn!(%error, "window PNG not saved");
                    (theme::ERROR, error.to_string())
                }
            };
            self.sim.message = Some(message.clone());
            self.status = Some(message);
            if outcome.close_after {
                self.close_requested = true;
                ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            }
        }
    }
}

impl eframe::App for HhlabApp {
    fn ui(&mut self, ui: &mut Ui, _frame: &mut eframe::Frame) {
        self.ui_root(ui);
    }

    fn raw_input_hook(&mut self, _ctx: &egui::Context, raw_input: &mut egui::RawInput) {
        if self.ignore_pointer {
            drop_pointer_input(raw_input);
        }
    }
}

/// Removes every pointer event from `raw_input` and reports the pointer as gone, so that
/// no plot shows a hover cursor or tooltip.
pub fn drop_pointer_input(raw_input: &mut egui::RawInput) {
    raw_input.events.retain(|event| {
        !matches!(
            event,
            egui::Event::PointerMoved(_)
                | egui::Event::MouseMoved(_)
                | egui::Event::PointerButton { .. }
                | egui::Event::Touch { .. }
                | egui::Event::MouseWheel { .. }
        )
    });
    raw_input.events.push(egui::Event::PointerGone);
}

/// Opens the main window and runs until it is closed.
pub fn run_native(args: GuiArgs) -> anyhow::Result<()> {
    let mut options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("hhlab")
            .with_inner_size(args.window_size),
        ..Default::default()
    };
    match args.renderer {
        Some(RendererArg::Glow) => options.renderer = eframe::Renderer::Glow,
        Some(RendererArg::Wgpu) => options.renderer = eframe::Renderer::Wgpu,
        None => {}
    }
    eframe::run_native(
        "hhlab",
        options,
        Box::new(move |creation| Ok(Box::new(HhlabApp::new(&creation.egui_ctx, &args)))),
    )
    .map_err(|error| anyhow::anyhow!("{error}"))
    .context("the window could not be opened (is a display available? try --renderer glow)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointer_drop_keeps_text_events() {
        let mut raw_input = egui::RawInput::default();
        raw_input.events = vec![
            egui::Event::PointerMoved(egui::pos2(200.0, 300.0)),
            egui::Event::Text("a".into()),
        ];
        drop_pointer_input(&mut raw_input);
        assert_eq!(
            raw_input.events,
            vec![egui::Event::Text("a".into()), egui::Event::PointerGone]
        );
    }
}
