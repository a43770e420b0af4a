//! The simulation preset (`SimPreset`): which experiment to run, its stimulus, time step,
//! duration and recording interval, plus the settings of each experiment.
//!
//! One preset carries the settings of all three experiments so that the GUI can switch the
//! experiment without losing the others; only the section named by `experiment` is used.
//! Sections and `record_every` may be left out of a file, in which case they take their
//! defaults.
//!
//! Units: times in ms, currents in µA/cm².

use serde::{Deserialize, Serialize};

use crate::neuron::stimulus::{Stimulus, Waveform};
use crate::sim::fully_connected::{ImageSource, WeightSource};

/// Experiment that a preset runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExperimentKind {
    /// HH chain (rest-at-0) against the s-LIF2HH chain under a stimulus waveform.
    Chain,
    /// Three-neuron XOR network, HH and tv-LIF2HH side by side, for each input case.
    Xor,
    /// 784→128→10 network of HH neurons and of their tv-LIF2HH twins.
    FullyConnected,
}

/// A simulation preset, as stored in `presets/*.ron` and in a run folder's `run.ron`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimPreset {
    /// Short label shown in the GUI and the CLI summary.
    pub name: String,
    /// The experiment to run.
    pub experiment: ExperimentKind,
    /// Fine time step of the HH and tv-LIF2HH integration, in ms (reference: 0.001).
    pub dt_ms: f64,
    /// Simulated time, in ms (reference: 80 for the chain, 40 for the others).
    pub duration_ms: f64,
    /// Record one trace sample every this many fine steps (1 = every step).
    #[serde(default = "default_record_every")]
    pub record_every: usize,
    /// Input current x1(t) of the chain experiment.
    #[serde(default)]
    pub stimulus: Stimulus,
    /// Chain settings.
    #[serde(default)]
    pub chain: ChainConfig,
    /// XOR settings.
    #[serde(default)]
    pub xor: XorConfig,
    /// Fully connected network settings.
    #[serde(default)]
    pub fully_connected: FullyConnectedConfig,
}

/// Settings of the HH vs s-LIF2HH chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChainConfig {
    /// Time step of the LIF chain, in ms; a whole multiple of `dt_ms` (reference: 1).
    pub lif_dt_ms: f64,
    /// Current into HH2 while HH1 spikes, in µA/cm² (reference: 100 = 1e5 · dt1).
    pub hh_coupling: f64,
    /// Weight of a stage-1 unit's activity into stage-2 units 1–3 (reference: 1e5).
    pub lif_coupling: f64,
    /// Decay factor of the LIF units per LIF step (reference: 0.9; leak = 1 − decay).
    pub lif_decay: f64,
}

impl Default for ChainConfig {
    fn default() -> Self {
        Self {
            lif_dt_ms: 1.0,
            hh_coupling: 100.0,
            lif_coupling: 1e5,
            lif_decay: 0.9,
        }
    }
}

/// Settings of the XOR network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct XorConfig {
    /// Input cases: constant currents (xA, xB) in µA/cm², each simulated side by side.
    pub cases: Vec<(f64, f64)>,
    /// Synaptic weight: the output neuron receives weight·spikeA − weight·spikeB, in µA/cm².
    pub weight: f64,
}

impl Default for XorConfig {
    fn default() -> Self {
        Self {
            cases: vec![(0.0, 0.0), (40.0, 0.0), (0.0, 40.0), (40.0, 40.0)],
            weight: 20.0,
        }
    }
}

/// Settings of the 784→128→10 network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FullyConnectedConfig {
    /// Source of the weights.
    pub weights: WeightSource,
    /// The input image.
    pub image: ImageSource,
    /// Factor applied to the raw 0–255 pixels before W1ᵀ (reference: 1, raw pixels).
    pub pixel_scale: f64,
    /// Neurons whose traces are recorded: 0–127 are layer 1, 128–137 layer 2.
    pub traced_neurons: Vec<usize>,
}

impl Default for FullyConnectedConfig {
    fn default() -> Self {
        Self {
            weights: WeightSource::default(),
            image: ImageSource::Builtin,
            pixel_scale: 1.0,
            traced_neurons: vec![0, 1, 128, 129],
        }
    }
}

fn default_record_every() -> usize {
    1
}

impl SimPreset {
    /// Builds the chain experiment under a default waveform: dt 0.001 ms for 80 ms.
    pub fn chain(waveform: Waveform) -> Self {
        Self {
            name: format!("chain-{}", waveform.name()),
            experiment: ExperimentKind::Chain,
            dt_ms: 0.001,
            duration_ms: 80.0,
            record_every: 1,
            stimulus: Stimulus::default_for(waveform),
            chain: ChainConfig::default(),
            xor: XorConfig::default(),
            fully_connected: FullyConnectedConfig::default(),
        }
    }

    /// Builds the XOR experiment: dt 0.001 ms for 40 ms, the four input cases.
    pub fn xor() -> Self {
        Self {
            name: "xor".to_string(),
            experiment: ExperimentKind::Xor,
            duration_ms: 40.0,
            ..Self::chain(Waveform::Const)
        }
    }

    /// Builds the fully connected experiment: dt 0.001 ms for 40 ms, seeded random weights, the
    /// built-in image.
    pub fn fully_connected() -> Self {
        Self {
            name: "fully-connected".to_string(),
            experiment: ExperimentKind::FullyConnected,
            duration_ms: 40.0,
            ..Self::chain(Waveform::Const)
        }
    }
}

impl Default for SimPreset {
    fn default() -> Self {
        Self::chain(Waveform::Const)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::preset::{parse_ron, to_ron_string};

    #[test]
    fn defaults_round_trip_through_ron() {
        let mut presets: Vec<SimPreset> =
            Waveform::ALL.iter().map(|&w| SimPreset::chain(w)).collect();
        presets.push(SimPreset::xor());
        presets.push(SimPreset::fully_connected());
        for preset in presets {
            let text = to_ron_string(&preset).unwrap();
            let back: SimPreset = parse_ron(&text, "memory").unwrap();
            assert_eq!(back, preset);
        }
    }

    #[test]
    fn sections_may_be_left_out() {
        let text = "(name: \"x\", experiment: Xor, dt_ms: 0.001, duration_ms: 40.0)";
        let preset: SimPreset = parse_ron(text, "memory").unwrap();
        assert_eq!(preset.record_every, 1);
        assert_eq!(preset.xor, XorConfig::default());
    }

    #[test]
    fn unknown_field_lists_expected_names() {
        let text = "(\n name: \"x\",\n experiment: Xor,\n dt: 0.001,\n duration_ms: 40.0)";
        let err = parse_ron::<SimPreset>(text, "bad.ron").unwrap_err();
        let message = err.to_string();
        assert!(message.starts_with("bad.ron:4:"), "{message}");
        assert!(message.contains("dt_ms"), "{message}");
    }
}
