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
    /// The first frame: fonts, plot memory and a full decimation of every trace.
    pub first_ms: f64,
    /// Mean frame when every trace changes each frame (a playing simulation), so every
    /// trace is decimated afresh.
    pub changing_data_ms: f64,
    /// Mean frame when the data stays the same (decimated points come from the cache).
    pub static_data_ms: f64,
}

/// Returns the mean frame time in ms of `traces` plots of `points` samples each while all
/// data changes every frame (the worst case of [`measure_frames`]).
pub fn frame_time_ms(points: usize, traces: usize) -> f64 {
    measure_frames(points, traces).changing_data_ms
}

/// Measures the frame times of `traces` stacked plots of `points` samples each.
pub fn measure_frames(points: usize, traces: usize) -> FrameTimes {
    let data: Vec<Vec<f64>> = (0..traces).map(|i| spiking_trace(points, i)).collect();
    let names: Vec<String> = (0..traces).map(|i| format!("trace {i}")).collect();
    let dt_ms = 0.001;
    let ctx = Context::default();
    theme::apply(&ctx);
    let mut cache = DecimationCache::default();
    let mut frame_index = 0u64;

    let mut run_frame = |generation: u64| {
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
                        name: &names[i],
                        color: if i % 2 == 0 { theme::HH } else { theme::LIF2HH },
                        data: UniformSeries {
                            values,
                            x0: 0.0,
                            dx: dt_ms,
                        },
                    }];
                    TracePlot::new(&names[i], "V (mV)")
                        .height(plot_height.max(40.0))
                        .link_x(Id::unique("bench traces"))
                        .show(ui, &mut cache, generation, &series);
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

    let first_ms = run_frame(0);
    run_frame(1);

    let mut changing_total = 0.0;
    for generation in 2..2 + TIMED_FRAMES as u64 {
        changing_total += run_frame(generation);
    }

    let static_generation = 1_000;
    run_frame(static_generation);
    let mut static_total = 0.0;
    for _ in 0..TIMED_FRAMES {
        static_total += run_frame(static_generation);
    }

    FrameTimes {
        first_ms,
        changing_data_ms: changing_total / TIMED_FRAMES as f64,
        static_data_ms: static_total / TIMED_FRAMES as f64,
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
            ("changing data", times.changing_data_ms),
            ("static data", times.static_data_ms),
        ] {
            assert!(ms.is_finite(), "{name} frame: {ms} ms");
            assert!(ms > 0.0, "{name} frame: {ms} ms");
        }
    }
}
