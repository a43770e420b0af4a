//! The plots and the metrics panel of the Simulation tab, drawn from a [`SimOutput`].
//!
//! Traces are grouped by kind and model: membrane potentials of the HH neurons and of
//! their LIF2HH counterparts side by side, then the input currents, the HH gates m, n, h and
//! the HH conductances gNa, gK, gL, then the spike rasters. The 0/1 spike indicators
//! (kind `Other`) are not drawn as lines because the rasters show the same onsets.

use egui::{Color32, Id, RichText, Ui};

use crate::app::decimate::UniformSeries;
use crate::app::plot::{
    DecimationCache, LegendEntry, RasterGroup, RasterPlot, TracePlot, TraceSeries,
};
use crate::app::theme;
use crate::preset::sim::ExperimentKind;
use crate::sim::{SimOutput, Trace, TraceKind};

/// Link group of every time axis in the tab, so zooming one plot zooms all.
fn time_link() -> Id {
    Id::unique("simulation time axis")
}

/// Settings of one frame of the view, besides the output.
pub struct ViewParams<'a> {
    /// Experiment that produced the output (the fully connected net gets taller rasters).
    pub experiment: ExperimentKind,
    /// Simulated duration of the run, in ms; the time axes span 0 to this while playing.
    pub duration_ms: f64,
    /// Changes when samples already drawn change: the run index, because a run's traces
    /// only grow.
    pub revision: u64,
    /// Only traces and raster rows whose name starts with this text are drawn (empty: all);
    /// the metrics panel always lists every neuron.
    pub filter: &'a str,
}

/// Draws every plot of `output`.
pub fn plots_ui(ui: &mut Ui, cache: &mut DecimationCache, output: &SimOutput, view: &ViewParams) {
    let dt = output.sample_dt_ms;
    let shown: Vec<&Trace> = output
        .traces
        .iter()
        .filter(|trace| trace.name.starts_with(view.filter))
        .collect();
    let pick = |kind: TraceKind, hh: Option<bool>| -> Vec<&Trace> {
        shown
            .iter()
            .copied()
            .filter(|t| t.kind == kind)
            .filter(|t| hh.is_none_or(|want_hh| (t.model == "HH") == want_hh))
            .collect()
    };

    // Share the height left in the panel: potentials 30 %, current 16 %, gates and
    // conductances 24 %, rasters 30 % (the fully connected rasters need the most rows).
    let spacing = 4.0 * ui.spacing().item_spacing.y + 8.0;
    let total = (ui.available_height() - spacing).max(560.0);
    let (voltage_h, current_h, gates_h, raster_h) =
        (total * 0.30, total * 0.16, total * 0.24, total * 0.30);
    let lif_label = match view.experiment {
        ExperimentKind::Chain => "s-LIF2HH V (mV)",
        _ => "tv-LIF2HH V (mV)",
    };

    ui.columns(2, |columns| {
        let hh = pick(TraceKind::Voltage, Some(true));
        let spec = PlotSpec::new("v hh", "HH V (mV)", voltage_h);
        trace_plot(&mut columns[0], cache, &spec, &hh, dt, view);
        let lif = pick(TraceKind::Voltage, Some(false));
        let spec = PlotSpec::new("v lif", lif_label, voltage_h);
        trace_plot(&mut columns[1], cache, &spec, &lif, dt, view);
    });

    let current = pick(TraceKind::Current, None);
    let spec = PlotSpec::new("current", "I (µA/cm²)", current_h);
    trace_plot(ui, cache, &spec, &current, dt, view);

    ui.columns(2, |columns| {
        let gates = pick(TraceKind::Gate, None);
        let spec = PlotSpec::new("gates", "m, n, h (1)", gates_h);
        trace_plot(&mut columns[0], cache, &spec, &gates, dt, view);
        let g = pick(TraceKind::Conductance, None);
        let spec = PlotSpec::new("g", "g (mS/cm²)", gates_h);
        trace_plot(&mut columns[1], cache, &spec, &g, dt, view);
    });

    rasters_ui(ui, output, view, raster_h);
}

/// Id, y label and height of one trace plot.
struct PlotSpec<'a> {
    id: &'a str,
    y_label: &'a str,
    height: f32,
}

impl<'a> PlotSpec<'a> {
    fn new(id: &'a str, y_label: &'a str, height: f32) -> Self {
        Self {
            id,
            y_label,
            height,
        }
    }
}

/// Draws one trace plot of `traces` with its legend beside it.
fn trace_plot(
    ui: &mut Ui,
    cache: &mut DecimationCache,
    spec: &PlotSpec<'_>,
    traces: &[&Trace],
    sample_dt_ms: f64,
    view: &ViewParams,
) {
    let (looks, legend) = trace_looks(traces, view.filter);
    let series: Vec<TraceSeries<'_>> = traces
        .iter()
        .zip(&looks)
        .map(|(trace, &(color, style))| TraceSeries {
            name: &trace.name,
            color,
            style,
            data: UniformSeries {
                values: &trace.values,
                x0: 0.0,
                dx: sample_dt_ms,
            },
        })
        .collect();
    TracePlot::new(spec.id, spec.y_label)
        .height(spec.height)
        .link_x(time_link())
        .x_span(0.0, view.duration_ms)
        .legend(legend)
        .show(ui, cache, view.revision, &series);
}

/// Colour of legend rows that stand for a line style rather than a colour.
const STYLE_KEY_COLOR: Color32 = Color32::from_gray(190);

/// Returns the colour and line style of each of `traces` and the legend that explains them.
///
/// A trace name reads `[filter] neuron [model] variable`, e.g. `40/0 A HH m` or
/// `LIF1 unit2 u`. Gates and conductances take the colour of their variable and a line
/// style per neuron. The units of an s-LIF2HH neuron take a colour per unit and a style per
/// neuron. Any other trace takes a distinct colour of its model per neuron. The legend lists
/// each colour once, then each line style when there are several.
fn trace_looks(
    traces: &[&Trace],
    filter: &str,
) -> (Vec<(Color32, egui_plot::LineStyle)>, Vec<LegendEntry>) {
    let mut color_keys: Vec<String> = Vec::new();
    let mut style_keys: Vec<String> = Vec::new();
    let mut legend = Vec::new();
    let mut looks = Vec::with_capacity(traces.len());
    for trace in traces {
        let name = trace.name.strip_prefix(filter).unwrap_or(&trace.name);
        let mut words: Vec<&str> = name.split_whitespace().collect();
        let variable = words.pop().unwrap_or_default();
        words.retain(|word| *word != "HH" && !word.contains("LIF2HH"));
        let neuron = words.join(" ");
        let by_variable = matches!(trace.kind, TraceKind::Gate | TraceKind::Conductance);
        let (color_key, style_key) = match words.as_slice() {
            _ if by_variable => (variable.to_owned(), neuron),
            [cell, unit] if unit.starts_with("unit") => ((*unit).to_owned(), (*cell).to_owned()),
            _ => (neuron, String::new()),
        };
        let color_rank = key_rank(&mut color_keys, &color_key);
        let style_rank = key_rank(&mut style_keys, &style_key);
        let fallback = theme::neuron_color(&trace.model, color_rank);
        let color = if by_variable {
            theme::variable_color(&color_key, fallback)
        } else {
            fallback
        };
        if color_rank == legend.len() {
            legend.push(LegendEntry {
                label: color_key,
                color,
                style: egui_plot::LineStyle::Solid,
            });
        }
        looks.push((color, theme::neuron_style(style_rank)));
    }
    if style_keys.len() > 1 {
        legend.extend(
            style_keys
                .into_iter()
                .enumerate()
                .map(|(rank, label)| LegendEntry {
                    label,
                    color: STYLE_KEY_COLOR,
                    style: theme::neuron_style(rank),
                }),
        );
    }
    (looks, legend)
}

/// Returns the place of `key` in `keys`, appending it when new.
fn key_rank(keys: &mut Vec<String>, key: &str) -> usize {
    match keys.iter().position(|k| k == key) {
        Some(rank) => rank,
        None => {
            keys.push(key.to_owned());
            keys.len() - 1
        }
    }
}

/// Draws the spike rasters: one per model for the fully connected net (all 138 neurons),
/// one shared raster with a row per neuron otherwise.
fn rasters_ui(ui: &mut Ui, output: &SimOutput, view: &ViewParams, height: f32) {
    // The trace filter (an XOR case) narrows the raster too, so its rows stay labelled;
    // HH and its twin sit on adjacent rows.
    let mut trains: Vec<_> = output
        .spikes
        .iter()
        .filter(|train| format!("{} ", train.label).starts_with(view.filter))
        .collect();
    trains.sort_by_key(|train| train.neuron);

    if view.experiment == ExperimentKind::FullyConnected {
        ui.columns(2, |columns| {
            for (column, model) in columns.iter_mut().zip(["HH", "tv-LIF2HH"]) {
                let spikes = trains
                    .iter()
                    .filter(|train| train.model == model)
                    .flat_map(|train| {
                        let row = train.neuron as f64;
                        train.onsets_ms.iter().map(move |&t| [row, t])
                    })
                    .collect();
                let group = RasterGroup {
                    name: model,
                    color: theme::model_color(model),
                    spikes,
                };
                let id = format!("raster {model}");
                let y_label = format!("{model} neuron (0–127 hidden, 128–137 out)");
                let raster = RasterPlot {
                    id_salt: &id,
                    y_label: &y_label,
                    height,
                    link_group: Some(time_link()),
                    row_names: Vec::new(),
                    x_span: (0.0, view.duration_ms),
                    // Hidden neurons 0–127 below the line, output neurons 128–137 above it.
                    separators: vec![127.5],
                };
                raster.show(column, vec![group]);
            }
        });
        return;
    }

    // Rows from the top in output order; each neuron's name labels its row.
    let mut hh = RasterGroup {
        name: "HH",
        color: theme::HH,
        spikes: Vec::new(),
    };
    let mut lif = RasterGroup {
        name: "LIF2HH",
        color: theme::LIF2HH,
        spikes: Vec::new(),
    };
    let row_count = trains.len();
    let mut row_names = vec![String::new(); row_count];
    for (index, train) in trains.iter().enumerate() {
        let row = row_count - index;
        row_names[row - 1] = train.label.clone();
        let group = if train.model == "HH" {
            &mut hh
        } else {
            &mut lif
        };
        let row = row as f64;
        group
            .spikes
            .extend(train.onsets_ms.iter().map(|&t| [row, t]));
    }
    let raster = RasterPlot {
        id_salt: "raster",
        y_label: "neuron",
        height,
        link_group: Some(time_link()),
        row_names,
        x_span: (0.0, view.duration_ms),
        separators: Vec::new(),
    };
    raster.show(ui, vec![hh, lif]);
}

/// Run facts the metrics panel shows besides the output.
pub struct MetricsContext<'a> {
    /// Experiment that produced the output.
    pub experiment: ExperimentKind,
    /// Whether the run is the reference chain under the square wave, for which the
    /// reference code also gives unequal spike counts.
    pub reference_chain: bool,
    /// The error that stopped the run before its end, if any.
    pub error: Option<&'a str>,
    /// Time reached when the run stopped, in ms.
    pub stopped_at_ms: f64,
}

/// Note shown under a chain count mismatch with the reference square wave.
const REFERENCE_COUNTS_NOTE: &str = "This matches the reference: the published MATLAB code \
     also gives HH 7 and LIF 6 spikes under this square wave. Under const and sine the \
     counts are equal and the metrics show.";

/// Note on the first spike of every neuron near 5 ms in the rest-at-−65 networks.
const INITIAL_STATE_NOTE: &str = "Every neuron fires once near 5 ms, even with zero input: \
     the run starts, as the reference code does, at u = -70 mV with the gates not at their \
     resting values, and the neuron relaxes through one spike.";

/// Draws the metrics panel: the end-of-run metrics and the notes first, then the spike
/// counts and first onsets so far.
pub fn metrics_ui(ui: &mut Ui, output: &SimOutput, context: &MetricsContext<'_>) {
    ui.label(RichText::new("Metrics").strong());
    if context.error.is_some() {
        let text = format!(
            "no metrics: the run stopped before its end, after the sample at t = {:.2} ms, \
             because of the error shown above the plots",
            context.stopped_at_ms
        );
        ui.label(RichText::new(text).color(theme::ERROR));
    } else if output.metrics.is_empty() {
        ui.label("computed when the run reaches its end");
    }
    egui::Grid::new("metrics")
        .striped(true)
        .num_columns(2)
        .show(ui, |ui| {
            for metric in &output.metrics {
                ui.label(&metric.name);
                let value = if metric.unit.is_empty() {
                    format_value(metric.value)
                } else {
                    format!("{} {}", format_value(metric.value), metric.unit)
                };
                ui.label(RichText::new(value).monospace());
                ui.end_row();
            }
        });
    for note in &output.notes {
        ui.label(RichText::new(note).color(theme::WARNING));
    }
    let count_mismatch = output
        .notes
        .iter()
        .any(|note| note.contains("equal counts"));
    if context.reference_chain && count_mismatch {
        ui.label(REFERENCE_COUNTS_NOTE);
    }
    if matches!(
        context.experiment,
        ExperimentKind::Xor | ExperimentKind::FullyConnected
    ) {
        ui.label(
            RichText::new("Each neuron fires once near 5 ms, even without input (hover for why)")
                .weak(),
        )
        .on_hover_text(INITIAL_STATE_NOTE);
    }

    ui.separator();
    ui.label(RichText::new("Spikes").strong());
    egui::Grid::new("spike counts")
        .striped(true)
        .num_columns(4)
        .show(ui, |ui| {
            ui.label("neuron");
            ui.label("model");
            ui.label("count");
            ui.label("first onset");
            ui.end_row();
            // The fully connected net has 276 trains: list the output layer only.
            let many = output.spikes.len() > 40;
            for train in output.spikes.iter().filter(|t| !many || t.neuron >= 128) {
                let color = theme::model_color(&train.model);
                ui.label(RichText::new(&train.label).color(color));
                ui.label(&train.model);
                ui.label(format_value(train.onsets_ms.len() as f64));
                match train.onsets_ms.first() {
                    Some(t) => ui.label(format!("{} ms", format_value(*t))),
                    None => ui.label("–"),
                };
                ui.end_row();
            }
        });
}

/// Significant digits of a metric: enough to tell an agreement of 0.999975 from 1.
const SIGNIFICANT_DIGITS: i32 = 6;

/// Formats a metric or count in one format: six significant digits without trailing zeros
/// (12, 0.25, 0.999975), and scientific notation below 1e-4 or from 1e9 on.
pub fn format_value(value: f64) -> String {
    if !value.is_finite() {
        return format!("{value}");
    }
    let magnitude = value.abs();
    if value != 0.0 && !(1e-4..1e9).contains(&magnitude) {
        return format!("{value:.3e}");
    }
    let leading = if value == 0.0 {
        0
    } else {
        magnitude.log10().floor() as i32
    };
    let mut decimals = (SIGNIFICANT_DIGITS - 1 - leading).clamp(0, 12) as usize;
    loop {
        let text = trim_zeros(format!("{value:.decimals$}"));
        // A value just short of an integer would print as that integer: add digits.
        let rounded_to_integer = !text.contains('.') && value.fract() != 0.0;
        if !rounded_to_integer || decimals >= 12 {
            return text;
        }
        decimals += 1;
    }
}

/// Removes trailing zeros after a decimal point, and the point when nothing follows it.
fn trim_zeros(text: String) -> String {
    if !text.contains('.') {
        return text;
    }
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace(name: &str, model: &str, kind: TraceKind) -> Trace {
        Trace::new(name, model, kind, "", 0)
    }

    #[test]
    fn gate_legend_lists_variables_then_neurons() {
        let traces: Vec<Trace> = ["HH1 m", "HH1 n", "HH2 m", "HH2 n"]
            .into_iter()
            .map(|name| trace(name, "HH", TraceKind::Gate))
            .collect();
        let refs: Vec<&Trace> = traces.iter().collect();
        let (looks, legend) = trace_looks(&refs, "");
        let labels: Vec<&str> = legend.iter().map(|e| e.label.as_str()).collect();
        assert_eq!(labels, ["m", "n", "HH1", "HH2"]);
        assert_eq!(looks[0].0, looks[2].0, "m keeps one colour");
        assert_ne!(looks[0].1, looks[2].1, "each neuron has its own line style");
    }

    #[test]
    fn unit_legend_splits_units_and_cells() {
        let traces: Vec<Trace> = ["LIF1 unit1 u", "LIF1 unit2 u", "LIF2 unit1 u"]
            .into_iter()
            .map(|name| trace(name, "s-LIF2HH", TraceKind::Voltage))
            .collect();
        let refs: Vec<&Trace> = traces.iter().collect();
        let (looks, legend) = trace_looks(&refs, "");
        let labels: Vec<&str> = legend.iter().map(|e| e.label.as_str()).collect();
        assert_eq!(labels, ["unit1", "unit2", "LIF1", "LIF2"]);
        assert_ne!(looks[0].0, looks[1].0, "units differ in colour");
    }

    #[test]
    fn metric_values_format_readably() {
        assert_eq!(format_value(12.0), "12");
        assert_eq!(format_value(0.25), "0.25");
        assert_eq!(format_value(1.5e-5), "1.500e-5");
        // An agreement of 39,999 bins in 40,000 must not read as 1.
        assert_eq!(format_value(0.999975), "0.999975");
        assert_eq!(format_value(0.9999999), "0.9999999");
        assert_eq!(format_value(10.534), "10.534");
    }
}
