//! Frame-time measurement of the trace plots, runnable without a window.
//!
//! [`measure_frames`] runs an offscreen egui context through the same [`TracePlot`] widgets
//! the Simulation tab uses, `traces` stacked plots of `points` samples each, and times the
//! CPU part of a frame: layout, decimation, painting to shapes and tessellation into
//! triangles. The GPU upload and draw of the resulting meshes is not included. With
//! decimation the meshes have a few thousand vertices per plot whatever the trace length.

use std::time::Instant;

use egui::{Context, Id, RawInput, Rect};

use crate::app::decimate::UniformSeries;
use crate::app::plot::{DecimationCache, TracePlot, TraceSeries};
use crate::app::theme;

/// Window size of the measurement, in points (a common laptop window).
const WINDOW_SIZE: egui::Vec2 = egui::vec2(1280.0, 800.0);

/// Frames timed per case after one warm-up frame.
const TIMED_FRAMES: usize = 20;

/// Frame times of the trace plots, in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FrameTimes {
    /// The first frame: fonts, plot memory, block extremes and decimation of every trace.
    pub first_ms: f64,
    /// Mean frame while every trace grows by 0.5 % per frame, as during play: the blocks
    /// are extended over the new samples and every trace is decimated again.
    pub growing_data_ms: f64,
    /// Mean frame when every sample of every trace is replaced each frame (a new revision),
    /// so every trace is scanned in full: the worst case.
    pub replaced_data_ms: f64,
    /// Mean frame when the data stays the same (the decimated points come from the cache).
    pub static_data_ms: f64,
}

/// Returns the mean frame time in ms of `traces` plots of up to `points` samples each
/// while the traces grow, as they do while a simulation plays ([`FrameTimes::growing_data_ms`]).
pub fn frame_time_ms(points: usize, traces: usize) -> f64 {
    measure_frames(points, traces).growing_data_ms
}

/// Measures the frame times of `traces` stacked plots of `points` samples each.
pub fn measure_frames(points: usize, traces: usize) -> FrameTimes {
    let data: Vec<Vec<f64>> = (0..traces).map(|i| spiking_trace(points, i)).collect();
    let names: Vec<String> = (0..traces).map(|i| format!("trace {i}")).collect();
    let dt_ms = 0.001;
    let duration_ms = points as f64 * dt_ms;
    let ctx = Context::default();
    theme::apply(&ctx);
    let mut cache = DecimationCache::default();
    let mut frame_index = 0u64;

    // Draws one frame of the first `len` samples of every trace under `revision`; returns
    // its CPU time in ms.
    let mut run_frame = |revision: u64, len: usize| {
        frame_index += 1;
        let input = RawInput {
            screen_rect: Some(Rect::from_min_size(egui::Pos2::ZERO, WINDOW_SIZE)),
            time: Some(frame_index as f64 / 60.0),
            ..RawInput::default()
        };
        let start = Instant::now();
        let output = ctx.run_ui(input, |ui| {
            egui::CentralPanel::default().show(ui, |ui| {
                let plot_height = (ui.available_height() / traces.max(1) as f32) - 8.0;
                for (i, values) in data.iter().enumerate() {
                    let series = [TraceSeries {
                        style: egui_plot::LineStyle::Solid,
                        name: &names[i],
                        color: if i % 2 == 0 { theme::HH } else { theme::LIF2HH },
                        data: UniformSeries {
                            values: &values[..len.min(values.len())],
                            x0: 0.0,
                            dx: dt_ms,
                        },
                    }];
                    TracePlot::new(&names[i], "V (mV)")
                        .height(plot_height.max(40.0))
                        .link_x(Id::unique("bench traces"))
                        .x_span(0.0, duration_ms)
                        .show(ui, &mut cache, revision, &series);
                }
            });
        });
        let egui::FullOutput {
            mut textures_delta,
            shapes,
            pixels_per_point,
            ..
        } = output;
        // No renderer takes the font atlas uploads here; dropping them unapplied panics.
        textures_delta.clear();
        let primitives = ctx.tessellate(shapes, pixels_per_point);
        std::hint::black_box(primitives);
        start.elapsed().as_secs_f64() * 1e3
    };

    let first_ms = run_frame(0, points);

    // Growing: from 90 % to 100 % of the samples in 0.5 % steps, one revision.
    let growth = (points / 200).max(1);
    let mut len = points - growth * TIMED_FRAMES;
    run_frame(1, len);
    let mut growing_total = 0.0;
    for _ in 0..TIMED_FRAMES {
        len += growth;
        growing_total += run_frame(1, len);
    }

    let mut replaced_total = 0.0;
    for revision in 2..2 + TIMED_FRAMES as u64 {
        replaced_total += run_frame(revision, points);
    }

    let static_revision = 1_000;
    run_frame(static_revision, points);
    let mut static_total = 0.0;
    for _ in 0..TIMED_FRAMES {
        static_total += run_frame(static_revision, points);
    }

    let frames = TIMED_FRAMES as f64;
    FrameTimes {
        first_ms,
        growing_data_ms: growing_total / frames,
        replaced_data_ms: replaced_total / frames,
        static_data_ms: static_total / frames,
    }
}

/// Returns a membrane-potential-like trace: a slow oscillation with a narrow 100 mV spike
/// every 10,000 samples, shifted by `phase` so that traces differ.
fn spiking_trace(points: usize, phase: usize) -> Vec<f64> {
    (0..points)
        .map(|k| {
            let slow = ((k + 1_000 * phase) as f64 * 2e-4).sin() * 5.0;
            let in_spike = (k + 1_000 * phase) % 10_000 < 300;
            if in_spike {
                slow + 100.0
            } else {
                slow
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measurement_returns_finite_times() {
        // Small traces keep this a functional check; speed is reported, not asserted.
        let times = measure_frames(10_000, 2);
        for (name, ms) in [
            ("first", times.first_ms),
            ("growing data", times.growing_data_ms),
            ("replaced data", times.replaced_data_ms),
            ("static data", times.static_data_ms),
        ] {
            assert!(ms.is_finite(), "{name} frame: {ms} ms");
            assert!(ms > 0.0, "{name} frame: {ms} ms");
        }
    }

    /// Prints the frame times of four 1,000,000-sample traces. Ignored by default because it
    /// measures speed; run it with
    /// `cargo test --lib app::bench -- --ignored --nocapture`.
    #[test]
    #[ignore]
    #[allow(clippy::print_stderr)]
    fn report_four_million_point_frames() {
        let times = measure_frames(1_000_000, 4);
        eprintln!("four 1,000,000-sample traces: {times:?}");
        assert!(times.growing_data_ms.is_finite(), "{times:?}");
    }
}
