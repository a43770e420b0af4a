//! Every colour the GUI draws with, in one place.
//!
//! The HH neuron and its LIF2HH counterpart keep one colour pair on every plot, raster and
//! metric label: HH is orange, LIF2HH (s-LIF2HH or tv-LIF2HH) is blue. The pair is taken from
//! the Okabe–Ito palette, which stays distinguishable under the common forms of colour
//! blindness; the same palette colours the gating variables and the training runs.

use egui::{Color32, Context, Theme, Visuals};

/// HH traces, spikes and metrics (Okabe–Ito orange).
pub const HH: Color32 = Color32::from_rgb(230, 159, 0);

/// LIF2HH traces, spikes and metrics: s-LIF2HH in the chain, tv-LIF2HH elsewhere
/// (Okabe–Ito blue).
pub const LIF2HH: Color32 = Color32::from_rgb(86, 180, 233);

/// The input current x(t) (a neutral light grey so that it never reads as a model).
pub const INPUT: Color32 = Color32::from_rgb(200, 200, 200);

/// Sodium activation m (Okabe–Ito bluish green).
pub const GATE_M: Color32 = Color32::from_rgb(0, 158, 115);

/// Potassium activation n (Okabe–Ito vermilion).
pub const GATE_N: Color32 = Color32::from_rgb(213, 94, 0);

/// Sodium inactivation h (Okabe–Ito yellow).
pub const GATE_H: Color32 = Color32::from_rgb(240, 228, 66);

/// Sodium conductance gNa.
pub const G_NA: Color32 = GATE_M;

/// Potassium conductance gK.
pub const G_K: Color32 = GATE_N;

/// Leak conductance gL.
pub const G_L: Color32 = Color32::from_rgb(204, 121, 167);

/// Colours given to training runs in start order, cycling. The HH orange and LIF2HH blue
/// come last, so that the first runs are never read as one of the two neuron models.
pub const RUN_COLORS: [Color32; 7] = [
    Color32::from_rgb(0, 158, 115),
    Color32::from_rgb(204, 121, 167),
    Color32::from_rgb(240, 228, 66),
    Color32::from_rgb(213, 94, 0),
    Color32::from_rgb(0, 114, 178),
    Color32::from_rgb(230, 159, 0),
    Color32::from_rgb(86, 180, 233),
];

/// Error messages shown in the panels.
pub const ERROR: Color32 = Color32::from_rgb(255, 110, 100);

/// Warnings and notes (reference quirks, unequal spike counts).
pub const WARNING: Color32 = Color32::from_rgb(240, 200, 90);

/// Confirmations such as "saved to …".
pub const OK: Color32 = Color32::from_rgb(120, 210, 140);

/// Status text of a running run.
pub const RUNNING: Color32 = LIF2HH;

/// Status text of a cancelled run.
pub const CANCELLED: Color32 = Color32::from_rgb(160, 160, 160);

/// Returns the colour of a trace or spike train of `model`: LIF2HH-like names (containing
/// "lif") get [`LIF2HH`], all others [`HH`].
pub fn model_color(model: &str) -> Color32 {
    if model.to_ascii_lowercase().contains("lif") {
        LIF2HH
    } else {
        HH
    }
}

/// Returns the colour of a gate or conductance trace named `name` (`m`, `n`, `h`, `g_na`,
/// `g_k`, `g_l`, case-insensitive), or `fallback` for any other name.
pub fn variable_color(name: &str, fallback: Color32) -> Color32 {
    let lower = name.to_ascii_lowercase();
    let last = lower.rsplit(['.', ' ', '/']).next().unwrap_or(&lower);
    match last {
        "m" => GATE_M,
        "n" => GATE_N,
        "h" => GATE_H,
        "g_na" | "gna" => G_NA,
        "g_k" | "gk" => G_K,
        "g_l" | "gl" => G_L,
        _ => fallback,
    }
}

/// Returns `base` for rank 0 and alternately lighter and darker variants for higher ranks,
/// so that several neurons of one model stay apart in one plot while keeping its hue.
pub fn shade(base: Color32, rank: usize) -> Color32 {
    if rank == 0 {
        return base;
    }
    let step = rank.div_ceil(2) as f32 * 0.3;
    let toward = if rank % 2 == 1 {
        Color32::WHITE
    } else {
        Color32::BLACK
    };
    base.lerp_to_gamma(toward, step.min(0.75))
}

/// Distinct colours for the neurons of the HH model in one plot, from the HH orange through
/// yellow, red and pale sand, so that every trace stays visible on the dark background.
pub const HH_NEURONS: [Color32; 4] = [
    HH,
    Color32::from_rgb(255, 236, 140),
    Color32::from_rgb(235, 95, 60),
    Color32::from_rgb(190, 140, 90),
];

/// Distinct colours for the neurons (or units) of a LIF2HH model in one plot, from the
/// LIF2HH sky blue through deep blue, violet and pale cyan.
pub const LIF2HH_NEURONS: [Color32; 4] = [
    LIF2HH,
    Color32::from_rgb(40, 110, 255),
    Color32::from_rgb(175, 140, 255),
    Color32::from_rgb(170, 245, 245),
];

/// Distinct greys for the input currents of several neurons in one plot.
pub const INPUT_NEURONS: [Color32; 4] = [
    INPUT,
    Color32::from_gray(245),
    Color32::from_gray(130),
    Color32::from_rgb(200, 180, 150),
];

/// Returns the colour of the `rank`-th neuron of `model` (`HH`, a LIF2HH name or `input`)
/// in one plot: distinct colours for the first four, then lighter and darker shades.
pub fn neuron_color(model: &str, rank: usize) -> Color32 {
    let palette = if model == "input" {
        &INPUT_NEURONS
    } else if model_color(model) == LIF2HH {
        &LIF2HH_NEURONS
    } else {
        &HH_NEURONS
    };
    let base = palette[rank % palette.len()];
    shade(base, rank / palette.len())
}

/// Line styles that tell neurons apart when colour already names the variable (gates,
/// conductances, the units of one s-LIF2HH neuron): solid, long dashes, short dashes, dots.
pub const NEURON_STYLES: [egui_plot::LineStyle; 4] = [
    egui_plot::LineStyle::Solid,
    egui_plot::LineStyle::Dashed { length: 8.0 },
    egui_plot::LineStyle::Dashed { length: 2.5 },
    egui_plot::LineStyle::Dotted { spacing: 6.0 },
];

/// Returns the line style of the `rank`-th neuron, cycling through [`NEURON_STYLES`].
pub fn neuron_style(rank: usize) -> egui_plot::LineStyle {
    NEURON_STYLES[rank % NEURON_STYLES.len()]
}

/// Returns the colour of the `index`-th training run.
pub fn run_color(index: usize) -> Color32 {
    RUN_COLORS[index % RUN_COLORS.len()]
}

/// Applies the hhlab look: the dark egui theme with slightly larger spacing.
pub fn apply(ctx: &Context) {
    ctx.set_theme(Theme::Dark);
    ctx.set_visuals_of(Theme::Dark, Visuals::dark());
    ctx.all_styles_mut(|style| {
        style.spacing.item_spacing = egui::vec2(8.0, 5.0);
        style.spacing.slider_width = 150.0;
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_color_splits_hh_and_lif() {
        assert_eq!(model_color("HH"), HH);
        assert_eq!(model_color("s-LIF2HH"), LIF2HH);
        assert_eq!(model_color("tv-LIF2HH"), LIF2HH);
    }

    #[test]
    fn hh_pair_colours_differ() {
        assert_ne!(HH, LIF2HH);
    }

    #[test]
    fn shades_differ_from_base() {
        assert_eq!(shade(HH, 0), HH);
        assert_ne!(shade(HH, 1), HH);
        assert_ne!(shade(HH, 2), shade(HH, 1));
    }

    #[test]
    fn neuron_colors_differ_within_model() {
        for model in ["HH", "s-LIF2HH", "input"] {
            let colors: Vec<_> = (0..8).map(|rank| neuron_color(model, rank)).collect();
            for (i, a) in colors.iter().enumerate() {
                for b in &colors[i + 1..] {
                    assert_ne!(a, b, "{model}");
                }
            }
        }
    }

    #[test]
    fn variable_color_knows_gates() {
        assert_eq!(variable_color("m", INPUT), GATE_M);
        assert_eq!(variable_color("HH1.n", INPUT), GATE_N);
        assert_eq!(variable_color("g_Na", INPUT), G_NA);
        assert_eq!(variable_color("u", INPUT), INPUT);
    }
}
