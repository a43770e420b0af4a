//! Plot widgets shared by the tabs: decimated time traces, spike rasters and XY curves.
//!
//! [`TracePlot`] draws uniformly sampled traces through [`decimate_min_max`], one bucket per
//! horizontal pixel of the plot, over the x range the plot showed on the previous frame (or
//! the full trace while the plot follows its data). The decimated points are cached per
//! series in a [`DecimationCache`] and recomputed only when the data generation, the length,
//! the visible range or the plot width changes, so an idle frame costs no scan at all.
//! Every axis carries its unit ("t (ms)", "V (mV)").

use std::collections::HashMap;
use std::ops::RangeInclusive;

use egui::{Color32, Id, Ui, Vec2b};
use egui_plot::{Corner, Legend, Line, MarkerShape, Plot, PlotPoint, PlotPoints, Points};

use crate::app::decimate::{decimate_min_max, UniformSeries};

/// One trace handed to [`TracePlot::show`].
#[derive(Clone, Copy, Debug)]
pub struct TraceSeries<'d> {
    /// Legend name; also the cache key, so it must be unique within one plot.
    pub name: &'d str,
    /// Line colour (from [`crate::app::theme`]).
    pub color: Color32,
    /// The full-resolution samples and their x spacing.
    pub data: UniformSeries<'d>,
}

/// The decimated points of one series and what they were computed from.
#[derive(Default)]
struct CachedSeries {
    key: CacheKey,
    points: Vec<PlotPoint>,
}

/// Everything that decides the decimated points of a series.
#[derive(Clone, Copy, Default, PartialEq)]
struct CacheKey {
    generation: u64,
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
    /// them when `generation`, the series length, the range or the bucket count changed.
    fn points(
        &mut self,
        plot_id: &str,
        series: &TraceSeries<'_>,
        generation: u64,
        x_range: RangeInclusive<f64>,
        buckets: usize,
    ) -> &[PlotPoint] {
        let key = CacheKey {
            generation,
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
            entry.points = decimate_min_max(series.data, x_range, buckets)
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
    legend: bool,
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
            legend: true,
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

    /// Shows or hides the legend (shown by default).
    pub fn legend(mut self, legend: bool) -> Self {
        self.legend = legend;
        self
    }

    /// Draws `series`, decimated through `cache`; `generation` must change whenever the
    /// values of a series change without its length changing.
    pub fn show(
        self,
        ui: &mut Ui,
        cache: &mut DecimationCache,
        generation: u64,
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

        // One bucket per physical pixel: a min/max pair per pixel column is all a line can show.
        let pixels_per_point = ui.ctx().pixels_per_point();
        let width_px = (ui.available_width() * pixels_per_point).max(1.0);
        let buckets = width_px.round() as usize;
        let mut full_x = full_x_range(series);
        if let Some((x_min, x_max)) = x_span.filter(|(a, b)| a.is_finite() && b > a) {
            full_x = full_x.start().min(x_min)..=full_x.end().max(x_max);
        }

        let mut plot = Plot::new(id)
            .height(height)
            .x_axis_label(x_label)
            .y_axis_label(y_label)
            .allow_scroll(false)
            .y_axis_min_width(36.0);
        if legend {
            plot = plot.legend(Legend::default().position(Corner::RightTop));
        }
        if let Some(group) = link_group {
            plot = plot
                .link_axis(group, Vec2b::new(true, false))
                .link_cursor(group, Vec2b::new(true, false));
        }
        if x_span.is_some() {
            plot = plot.include_x(*full_x.start()).include_x(*full_x.end());
        }

        plot.show(ui, |plot_ui| {
            let x_range = if plot_ui.auto_bounds().x {
                full_x.clone()
            } else {
                let bounds = plot_ui.plot_bounds();
                bounds.min()[0]..=bounds.max()[0]
            };
            for s in series {
                let points = cache.points(id, s, generation, x_range.clone(), buckets);
                let line = Line::new(s.name, PlotPoints::Owned(points.to_vec()))
                    .color(s.color)
                    .width(1.5);
                plot_ui.line(line);
            }
        });
    }
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

/// Draws a spike raster: one marker per spike at (onset in ms, neuron row).
pub fn raster_plot_ui(
    ui: &mut Ui,
    id_salt: &str,
    y_label: &str,
    height: f32,
    link_group: Option<Id>,
    groups: Vec<RasterGroup<'_>>,
) {
    let mut plot = Plot::new(id_salt)
        .height(height)
        .x_axis_label("t (ms)")
        .y_axis_label(y_label)
        .allow_scroll(false)
        .y_axis_min_width(36.0)
        .legend(Legend::default().position(Corner::RightTop));
    if let Some(group) = link_group {
        plot = plot
            .link_axis(group, Vec2b::new(true, false))
            .link_cursor(group, Vec2b::new(true, false));
    }

    plot.show(ui, |plot_ui| {
        for group in groups {
            let points = group
                .spikes
                .into_iter()
                .map(|[row, t_ms]| [t_ms, row])
                .collect::<PlotPoints<'_>>();
            let markers = Points::new(group.name, points)
                .shape(MarkerShape::Circle)
                .filled(true)
                .radius(1.6)
                .color(group.color);
            plot_ui.points(markers);
        }
    });
}

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

/// Draws XY curves such as a training loss against step.
pub fn curve_plot_ui(
    ui: &mut Ui,
    id_salt: &str,
    x_label: &str,
    y_label: &str,
    height: f32,
    curves: &[Curve<'_>],
) {
    let plot = Plot::new(id_salt)
        .height(height)
        .x_axis_label(x_label)
        .y_axis_label(y_label)
        .allow_scroll(false)
        .y_axis_min_width(36.0)
        .legend(Legend::default().position(Corner::RightTop));
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
        }
    });
}
