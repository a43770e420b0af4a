//! Plot widgets shared by the tabs: decimated time traces, spike rasters and XY curves.
//!
//! [`TracePlot`] draws uniformly sampled traces through min/max decimation, one bucket per
//! horizontal pixel of the plot, over the x range the plot showed on the previous frame (or
//! the full trace while the plot follows its data). A [`DecimationCache`] keeps, per series,
//! the extremes of every 64-sample block and the decimated points. The points are recomputed
//! only when the revision, the length, the visible range or the plot width changes, so an
//! idle frame scans nothing, and a trace that grows only extends its blocks.
//! Every axis carries its unit ("t (ms)", "V (mV)").

use std::collections::HashMap;
use std::ops::RangeInclusive;

use egui::{Color32, Id, Ui, Vec2b};
use egui_plot::{
    Corner, Legend, Line, LineStyle, MarkerShape, Plot, PlotPoint, PlotPoints, Points,
};

use crate::app::decimate::{decimate_with_blocks, MinMaxBlocks, UniformSeries};

/// Width of the legend column beside a trace plot, in points.
const SIDE_LEGEND_WIDTH: f32 = 104.0;

/// Height of one legend row, in points.
const LEGEND_ROW_HEIGHT: f32 = 15.0;

/// One trace handed to [`TracePlot::show`].
#[derive(Clone, Copy, Debug)]
pub struct TraceSeries<'d> {
    /// Legend name; also the cache key, so it must be unique within one plot.
    pub name: &'d str,
    /// Line colour (from [`crate::app::theme`]).
    pub color: Color32,
    /// Line style (solid, dashed or dotted).
    pub style: LineStyle,
    /// The full-resolution samples and their x spacing.
    pub data: UniformSeries<'d>,
}

/// One row of the legend beside a trace plot: a short line sample and its label.
#[derive(Clone, Debug, PartialEq)]
pub struct LegendEntry {
    /// Text of the row, such as "m" or "HH1".
    pub label: String,
    /// Colour of the line sample.
    pub color: Color32,
    /// Style of the line sample.
    pub style: LineStyle,
}

/// The decimated points of one series, its block extremes and what they were computed
/// from.
#[derive(Default)]
struct CachedSeries {
    key: CacheKey,
    blocks: MinMaxBlocks,
    points: Vec<PlotPoint>,
}

/// Everything that decides the decimated points of a series.
#[derive(Clone, Copy, Default, PartialEq)]
struct CacheKey {
    revision: u64,
    len: usize,
    x_min_bits: u64,
    x_max_bits: u64,
    buckets: usize,
}

/// Decimated points per plot and series, kept between frames.
#[derive(Default)]
pub struct DecimationCache {
    entries: HashMap<(String, String), CachedSeries>,
    /// How many series were decimated afresh since the cache was made (for tests and the
    /// frame-time measurement).
    pub recomputed: u64,
}

impl DecimationCache {
    /// Drops every cached series (for example when the simulation restarts).
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// Returns the decimated points of `series` for `x_range` and `buckets`, recomputing
    /// them when `revision`, the series length, the range or the bucket count changed.
    /// Samples appended under the same revision only extend the block extremes.
    fn points(
        &mut self,
        plot_id: &str,
        series: &TraceSeries<'_>,
        revision: u64,
        x_range: RangeInclusive<f64>,
        buckets: usize,
    ) -> &[PlotPoint] {
        let key = CacheKey {
            revision,
            len: series.data.values.len(),
            x_min_bits: x_range.start().to_bits(),
            x_max_bits: x_range.end().to_bits(),
            buckets,
        };
        let entry = self
            .entries
            .entry((plot_id.to_owned(), series.name.to_owned()))
            .or_default();
        if entry.key != key || entry.points.is_empty() {
            if entry.key.revision != revision {
                entry.blocks = MinMaxBlocks::default();
            }
            entry.blocks.update(series.data.values);
            entry.points = decimate_with_blocks(series.data, &entry.blocks, x_range, buckets)
                .into_iter()
                .map(|[x, y]| PlotPoint::new(x, y))
                .collect();
            entry.key = key;
            self.recomputed += 1;
        }
        &entry.points
    }
}

/// A plot of uniformly sampled traces against time, decimated for display.
pub struct TracePlot<'l> {
    id: &'l str,
    y_label: &'l str,
    x_label: &'l str,
    height: f32,
    link_group: Option<Id>,
    legend: Vec<LegendEntry>,
    x_span: Option<(f64, f64)>,
}

impl<'l> TracePlot<'l> {
    /// Creates a plot with a unique `id_salt` and the y-axis label with its unit, for
    /// example "V (mV)". The x axis is "t (ms)" unless changed with [`Self::x_label`].
    pub fn new(id_salt: &'l str, y_label: &'l str) -> Self {
        Self {
            id: id_salt,
            y_label,
            x_label: "t (ms)",
            height: 160.0,
            link_group: None,
            legend: Vec::new(),
            x_span: None,
        }
    }

    /// Keeps `x_min..=x_max` in view while the plot follows its data, so that a growing
    /// trace fills the axis from the left instead of rescaling it every frame.
    pub fn x_span(mut self, x_min: f64, x_max: f64) -> Self {
        self.x_span = Some((x_min, x_max));
        self
    }

    /// Sets the x-axis label (with its unit).
    pub fn x_label(mut self, label: &'l str) -> Self {
        self.x_label = label;
        self
    }

    /// Sets the plot height in points.
    pub fn height(mut self, height: f32) -> Self {
        self.height = height;
        self
    }

    /// Links the x axis and cursor with every other plot of `group`.
    pub fn link_x(mut self, group: Id) -> Self {
        self.link_group = Some(group);
        self
    }

    /// Shows `entries` in a column beside the plot, where they cover no data (no legend
    /// by default). Hovering a line still names its series.
    pub fn legend(mut self, entries: Vec<LegendEntry>) -> Self {
        self.legend = entries;
        self
    }

    /// Draws `series`, decimated through `cache`. `revision` must change whenever samples
    /// already drawn change; samples appended at the end are picked up by the length alone.
    pub fn show(
        self,
        ui: &mut Ui,
        cache: &mut DecimationCache,
        revision: u64,
        series: &[TraceSeries<'_>],
    ) {
        let Self {
            id,
            y_label,
            x_label,
            height,
            link_group,
            legend,
            x_span,
        } = self;

        let legend_width = if legend.is_empty() {
            0.0
        } else {
            SIDE_LEGEND_WIDTH
        };
        let plot_width = (ui.available_width() - legend_width).max(40.0);

        // One bucket per physical pixel: a min/max pair per pixel column is all a line can show.
        let pixels_per_point = ui.ctx().pixels_per_point();
        let width_px = (plot_width * pixels_per_point).max(1.0);
        let buckets = width_px.round() as usize;
        let mut full_x = full_x_range(series);
        if let Some((x_min, x_max)) = x_span.filter(|(a, b)| a.is_finite() && b > a) {
            full_x = full_x.start().min(x_min)..=full_x.end().max(x_max);
        }

        let mut plot = Plot::new(id)
            .height(height)
            .width(plot_width)
            .x_grid_spacer(x_grid(plot_width))
            .y_grid_spacer(y_grid(height))
            .x_axis_formatter(tick_label)
            .y_axis_formatter(tick_label)
            .x_axis_label(x_label)
            .y_axis_label(y_label)
            .allow_scroll(false)
            .y_axis_min_width(36.0);
        if let Some(group) = link_group {
            plot = plot
                .link_axis(group, Vec2b::new(true, false))
                .link_cursor(group, Vec2b::new(true, false));
        }
        if x_span.is_some() {
            plot = plot.include_x(*full_x.start()).include_x(*full_x.end());
        }

        ui.horizontal_top(|ui| {
            plot.show(ui, |plot_ui| {
                let x_range = if plot_ui.auto_bounds().x {
                    full_x.clone()
                } else {
                    let bounds = plot_ui.plot_bounds();
                    bounds.min()[0]..=bounds.max()[0]
                };
                for s in series {
                    let points = cache.points(id, s, revision, x_range.clone(), buckets);
                    let line = Line::new(s.name, PlotPoints::Owned(points.to_vec()))
                        .color(s.color)
                        .style(s.style)
                        .width(1.5);
                    plot_ui.line(line);
                }
            });
            if !legend.is_empty() {
                side_legend_ui(ui, &legend, height);
            }
        });
    }
}

/// Draws `entries` as a column of line samples and labels at most `height` points tall.
/// Rows that do not fit are counted in a last row.
fn side_legend_ui(ui: &mut Ui, entries: &[LegendEntry], height: f32) {
    let fitting = ((height / LEGEND_ROW_HEIGHT).floor() as usize).max(1);
    let (shown, hidden) = if entries.len() > fitting {
        (&entries[..fitting - 1], entries.len() + 1 - fitting)
    } else {
        (entries, 0)
    };
    ui.vertical(|ui| {
        ui.set_width(SIDE_LEGEND_WIDTH - ui.spacing().item_spacing.x);
        ui.spacing_mut().item_spacing.y = 1.0;
        ui.add_space(4.0);
        for entry in shown {
            ui.horizontal(|ui| {
                let (rect, _) =
                    ui.allocate_exact_size(egui::vec2(22.0, 12.0), egui::Sense::hover());
                let y = rect.center().y;
                let points = [egui::pos2(rect.left(), y), egui::pos2(rect.right(), y)];
                let stroke = egui::Stroke::new(1.5, entry.color);
                let painter = ui.painter();
                match entry.style {
                    LineStyle::Solid => {
                        painter.line_segment(points, stroke);
                    }
                    LineStyle::Dashed { length } => {
                        painter.extend(egui::Shape::dashed_line(
                            &points,
                            stroke,
                            length,
                            length * 0.6,
                        ));
                    }
                    LineStyle::Dotted { spacing } => {
                        painter.extend(egui::Shape::dotted_line(
                            &points,
                            entry.color,
                            spacing,
                            1.5,
                        ));
                    }
                }
                let text = egui::RichText::new(&entry.label).small().color(entry.color);
                ui.add(egui::Label::new(text).truncate());
            });
        }
        if hidden > 0 {
            ui.label(egui::RichText::new(format!("+{hidden} more")).small());
        }
    });
}

/// Smallest distance between two labelled x ticks, in points. egui_plot 0.38 draws an x
/// tick label only when its ticks are at least 60 points apart (20 for y). Its own
/// power-of-ten spacing often leaves a small plot with a single label, so the plots use a
/// 1-2-5 spacing at least this wide.
const X_LABEL_SPACING_POINTS: f64 = 85.0;

/// Smallest distance between two labelled y ticks, in points.
const Y_LABEL_SPACING_POINTS: f64 = 36.0;

/// Returns a grid spacer for an axis `extent_points` long: labelled ticks on a 1-2-5
/// sequence at least `label_spacing_points` apart, and thin unlabelled lines at a fifth
/// (a quarter for a step of 2·10ᵏ) of that step, itself a 1-2-5 number. egui_plot labels
/// every grid level whose lines are far enough apart, so each level must be a round number.
fn nice_grid(
    extent_points: f32,
    label_spacing_points: f64,
) -> Box<dyn Fn(egui_plot::GridInput) -> Vec<egui_plot::GridMark>> {
    egui_plot::uniform_grid_spacer(move |input| {
        let (min, max) = input.bounds;
        let units_per_point = (max - min).abs() / f64::from(extent_points.max(1.0));
        let step = nice_step(label_spacing_points * units_per_point).max(input.base_step_size);
        let leading_digit = (step / 10f64.powf(step.log10().floor())).round();
        let minor = if leading_digit == 2.0 {
            step / 4.0
        } else {
            step / 5.0
        };
        [minor, step, step]
    })
}

/// Formats a tick label with as many decimals as its grid step needs. egui_plot's default
/// rounds the decimal count, which prints a tick at 0.5 with a step of 0.5 as "0".
fn tick_label(mark: egui_plot::GridMark, _range: &RangeInclusive<f64>) -> String {
    let decimals = (-mark.step_size.log10() - 1e-9).ceil().max(0.0) as usize;
    format!("{:.*}", decimals, mark.value)
}

/// Returns the x grid spacer of a plot `width_points` wide.
fn x_grid(width_points: f32) -> Box<dyn Fn(egui_plot::GridInput) -> Vec<egui_plot::GridMark>> {
    nice_grid(width_points, X_LABEL_SPACING_POINTS)
}

/// Returns the y grid spacer of a plot `height_points` high.
fn y_grid(height_points: f32) -> Box<dyn Fn(egui_plot::GridInput) -> Vec<egui_plot::GridMark>> {
    nice_grid(height_points, Y_LABEL_SPACING_POINTS)
}

/// Returns the smallest of 1, 2 or 5 times a power of ten that is at least `x` (`x` > 0),
/// or 1 for zero, negative or non-finite input.
fn nice_step(x: f64) -> f64 {
    if !(x.is_finite() && x > 0.0) {
        return 1.0;
    }
    let power = 10f64.powf(x.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|&step| step >= x * (1.0 - 1e-12))
        .unwrap_or(10.0 * power)
}

/// Returns the legend every plot uses: top right, small text, so that it hides little data.
fn small_legend() -> Legend {
    Legend::default()
        .position(Corner::RightTop)
        .text_style(egui::TextStyle::Small)
        .background_alpha(0.6)
}

/// Returns the x range spanned by all `series`, or 0..=1 when they are all empty.
fn full_x_range(series: &[TraceSeries<'_>]) -> RangeInclusive<f64> {
    let mut min = f64::INFINITY;
    let mut max = f64::NEG_INFINITY;
    for s in series.iter().filter(|s| !s.data.values.is_empty()) {
        min = min.min(s.data.x0);
        max = max.max(s.data.x_end());
    }
    if min.is_finite() && max.is_finite() {
        min..=max
    } else {
        0.0..=1.0
    }
}

/// One row group of a spike raster: the spike onsets of several neurons of one model.
pub struct RasterGroup<'d> {
    /// Legend name, e.g. "HH" or "tv-LIF2HH".
    pub name: &'d str,
    /// Marker colour.
    pub color: Color32,
    /// `(row, onset_ms)` of every spike; the row is the neuron's place on the y axis.
    pub spikes: Vec<[f64; 2]>,
}

/// A spike raster: one marker per spike at (onset in ms, neuron row).
pub struct RasterPlot<'l> {
    /// Unique id within the tab.
    pub id_salt: &'l str,
    /// Y-axis label.
    pub y_label: &'l str,
    /// Height in points.
    pub height: f32,
    /// Time-axis link group.
    pub link_group: Option<Id>,
    /// Names of rows 1, 2, … (index 0 names row 1) shown on the y axis instead of numbers;
    /// empty for numeric rows.
    pub row_names: Vec<String>,
    /// Time range kept in view while the plot follows its data, in ms, so that the raster
    /// spans the same axis as the trace plots.
    pub x_span: (f64, f64),
    /// Rows between which a horizontal line is drawn (e.g. 127.5 between two layers).
    pub separators: Vec<f64>,
}

impl RasterPlot<'_> {
    /// Draws `groups` of spikes.
    pub fn show(self, ui: &mut Ui, groups: Vec<RasterGroup<'_>>) {
        let RasterPlot {
            id_salt,
            y_label,
            height,
            link_group,
            row_names,
            x_span,
            separators,
        } = self;
        // The legend sits beside the plot, as in the trace plots, so the time axes line up.
        let plot_width = (ui.available_width() - SIDE_LEGEND_WIDTH).max(40.0);
        let legend: Vec<LegendEntry> = groups
            .iter()
            .map(|group| LegendEntry {
                label: group.name.to_owned(),
                color: group.color,
                style: LineStyle::Solid,
            })
            .collect();
        let mut plot = Plot::new(id_salt)
            .height(height)
            .width(plot_width)
            .x_grid_spacer(x_grid(plot_width))
            .x_axis_formatter(tick_label)
            .x_axis_label("t (ms)")
            .y_axis_label(y_label)
            .allow_scroll(false)
            .y_axis_min_width(36.0);
        if x_span.0.is_finite() && x_span.1 > x_span.0 {
            plot = plot.include_x(x_span.0).include_x(x_span.1);
        }
        if row_names.is_empty() {
            plot = plot
                .y_grid_spacer(y_grid(height))
                .y_axis_formatter(tick_label);
        } else {
            let rows = row_names.len() as f64;
            plot = plot
                .y_grid_spacer(egui_plot::uniform_grid_spacer(|_| [1.0, 1.0, 1.0]))
                .include_y(0.5)
                .include_y(rows + 0.5)
                .y_axis_formatter(move |mark, _| {
                    let row = mark.value.round();
                    let index = row as usize;
                    let on_row = (mark.value - row).abs() < 1e-9 && row >= 1.0;
                    match row_names.get(index.wrapping_sub(1)) {
                        Some(name) if on_row => name.clone(),
                        _ => String::new(),
                    }
                });
        }
        if let Some(group) = link_group {
            plot = plot
                .link_axis(group, Vec2b::new(true, false))
                .link_cursor(group, Vec2b::new(true, false));
        }

        ui.horizontal_top(|ui| {
            raster_body_ui(ui, plot, groups, &separators);
            side_legend_ui(ui, &legend, height);
        });
    }
}

/// Shows `plot` with the `separators` and a marker per spike of `groups`.
fn raster_body_ui(ui: &mut Ui, plot: Plot<'_>, groups: Vec<RasterGroup<'_>>, separators: &[f64]) {
    plot.show(ui, |plot_ui| {
        for &row in separators {
            let line = egui_plot::HLine::new("", row)
                .color(Color32::from_gray(110))
                .width(1.0);
            plot_ui.hline(line);
        }
        for group in groups {
            let points = group
                .spikes
                .into_iter()
                .map(|[row, t_ms]| [t_ms, row])
                .collect::<PlotPoints<'_>>();
            let markers = Points::new(group.name, points)
                .shape(MarkerShape::Circle)
                .filled(true)
                .radius(1.8)
                .color(group.color);
            plot_ui.points(markers);
        }
    });
}

/// Curves with at most this many points also get a marker per point.
const MAX_MARKED_POINTS: usize = 60;

/// One curve of an XY plot (few points, drawn as they are).
pub struct Curve<'d> {
    /// Legend name; unique within the plot.
    pub name: String,
    /// Line colour.
    pub color: Color32,
    /// `[x, y]` points in increasing x.
    pub points: &'d [[f64; 2]],
    /// Dashed instead of solid (used for the second task of a run).
    pub dashed: bool,
}

/// An XY plot of a few curves, such as a training loss against the optimizer step.
#[derive(Clone, Copy)]
pub struct CurvePlot<'l> {
    /// Unique id within the tab.
    pub id_salt: &'l str,
    /// X-axis label with its unit.
    pub x_label: &'l str,
    /// Y-axis label with its unit.
    pub y_label: &'l str,
    /// Height in points.
    pub height: f32,
    /// The x axis spans at least 0 to this (e.g. the epochs of the longest run), so a
    /// curve of one point does not fill the axis alone. Values below 1 count as 1, so that
    /// an empty plot also starts at 0.
    pub x_max: f64,
    /// The y axis spans at least this range (0 to 100 for an accuracy in %), so that an
    /// empty plot shows no negative values.
    pub y_range: (f64, f64),
}

impl CurvePlot<'_> {
    /// Draws `curves`.
    pub fn show(self, ui: &mut Ui, curves: &[Curve<'_>]) {
        let CurvePlot {
            id_salt,
            x_label,
            y_label,
            height,
            x_max,
            y_range,
        } = self;
        let x_max = if x_max.is_finite() {
            x_max.max(1.0)
        } else {
            1.0
        };
        let plot = Plot::new(id_salt)
            .height(height)
            .x_grid_spacer(x_grid(ui.available_width()))
            .y_grid_spacer(y_grid(height))
            .x_axis_formatter(tick_label)
            .y_axis_formatter(tick_label)
            .x_axis_label(x_label)
            .y_axis_label(y_label)
            .include_x(0.0)
            .include_x(x_max)
            .include_y(y_range.0)
            .include_y(y_range.1)
            .allow_scroll(false)
            .y_axis_min_width(36.0)
            .legend(small_legend());
        curves_ui(ui, plot, curves);
    }
}

/// Shows `plot` with `curves` as lines, marking each point of short curves.
fn curves_ui(ui: &mut Ui, plot: Plot<'_>, curves: &[Curve<'_>]) {
    plot.show(ui, |plot_ui| {
        for curve in curves {
            let points: PlotPoints<'_> = curve.points.iter().copied().collect();
            let style = if curve.dashed {
                egui_plot::LineStyle::dashed_dense()
            } else {
                egui_plot::LineStyle::Solid
            };
            let line = Line::new(curve.name.clone(), points)
                .color(curve.color)
                .style(style)
                .width(1.5);
            plot_ui.line(line);
            // Per-epoch curves have few points, and a single point draws no line at all.
            if curve.points.len() <= MAX_MARKED_POINTS {
                let markers: PlotPoints<'_> = curve.points.iter().copied().collect();
                let markers = Points::new(curve.name.clone(), markers)
                    .shape(MarkerShape::Circle)
                    .filled(true)
                    .radius(3.0)
                    .color(curve.color);
                plot_ui.points(markers);
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_step_follows_one_two_five() {
        let cases = [
            (0.7, 1.0),
            (1.0, 1.0),
            (1.3, 2.0),
            (3.0, 5.0),
            (7.0, 10.0),
            (0.012, 0.02),
        ];
        for (x, expected) in cases {
            let step = nice_step(x);
            assert!((step - expected).abs() < 1e-12, "nice_step({x}) = {step}");
        }
    }

    #[test]
    fn tick_labels_keep_needed_decimals() {
        let cases = [
            (0.5, 0.5, "0.5"),
            (0.6, 0.2, "0.6"),
            (40.0, 10.0, "40"),
            (0.05, 0.05, "0.05"),
        ];
        for (value, step_size, expected) in cases {
            let mark = egui_plot::GridMark { value, step_size };
            assert_eq!(tick_label(mark, &(0.0..=1.0)), expected);
        }
    }

    #[test]
    fn nice_step_rejects_bad_input() {
        assert_eq!(nice_step(0.0), 1.0);
        assert_eq!(nice_step(f64::NAN), 1.0);
    }
}
