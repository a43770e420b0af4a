//! The simulation experiments: the HH vs s-LIF2HH chain, the XOR network and the fully
//! connected 784→128→10 network, with their spike metrics.
//!
//! A [`Simulation`] is built from a [`SimPreset`] and advanced in chunks of fine steps
//! (`advance`), so the GUI can draw it while it runs; [`run`] goes to the end at once. What it
//! produces is a [`SimOutput`]: traces sampled every `record_every` fine steps, spike onsets
//! of every neuron, and metrics once the run has finished.
//!
//! Trace sample k is the state at t = k·sample_dt_ms, before the step that starts there,
//! together with that step's input current and spike indicator.
//!
//! Traces stay in memory at full resolution; before a run starts, the memory they need
//! (samples × traces × 8 bytes) is checked against [`MAX_TRACE_BYTES`].

pub mod chain;
pub mod fully_connected;
pub mod metrics;
mod pair;
mod record;
pub mod xor;

use serde::{Deserialize, Serialize};

use crate::preset::sim::{ExperimentKind, SimPreset};

/// Largest memory, in bytes, that the traces of one run may take (2 GiB).
pub const MAX_TRACE_BYTES: u64 = 2 << 30;

/// Largest |u| in mV that a neuron may reach before the run counts as diverged. Real HH
/// potentials stay within about −100..+120 mV; forward Euler with too large a step overshoots
/// by orders of magnitude within a few steps.
pub const DIVERGENCE_BOUND_MV: f64 = 1e4;

/// Fine steps per `advance` call in [`run`]. The fully connected experiment buffers layer-1
/// spikes for one call (2 × 128 bytes per step), so chunks keep that buffer at 2.5 MB.
const RUN_CHUNK_STEPS: usize = 10_000;

/// Quantity measured by a trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TraceKind {
    /// A membrane or unit potential, in mV.
    Voltage,
    /// An input current, in µA/cm².
    Current,
    /// A gate (m, n or h), dimensionless.
    Gate,
    /// A conductance, in mS/cm².
    Conductance,
    /// Anything else, such as a 0/1 spike indicator.
    Other,
}

/// One recorded time series; sample k is at t = k · `SimOutput::sample_dt_ms`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trace {
    /// Display name without unit, unique within a run, such as `HH1 u`.
    pub name: String,
    /// Model that produced it: `HH`, `tv-LIF2HH`, `s-LIF2HH` or `input`.
    pub model: String,
    /// Quantity of the values.
    pub kind: TraceKind,
    /// Unit of the values, such as `mV`.
    pub unit: String,
    /// The samples.
    pub values: Vec<f64>,
}

impl Trace {
    /// Creates an empty trace with room for `capacity` samples.
    pub fn new(name: &str, model: &str, kind: TraceKind, unit: &str, capacity: usize) -> Self {
        Self {
            name: name.to_string(),
            model: model.to_string(),
            kind,
            unit: unit.to_string(),
            values: Vec::with_capacity(capacity),
        }
    }

    /// Formats the name with its unit, as a CSV header: `HH1 u (mV)`.
    pub fn header(&self) -> String {
        if self.unit.is_empty() {
            self.name.clone()
        } else {
            format!("{} ({})", self.name, self.unit)
        }
    }
}

/// Spike onsets of one neuron.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpikeTrain {
    /// Model: `HH`, `tv-LIF2HH` or `s-LIF2HH`.
    pub model: String,
    /// Index of the neuron within its model in this experiment (see the experiment's doc).
    pub neuron: usize,
    /// Human-readable neuron name, such as `HH2` or `40/0 output`.
    pub label: String,
    /// Onset times (rising edges of the spike indicator), in ms, ascending.
    pub onsets_ms: Vec<f64>,
}

/// One named number computed at the end of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    /// Name, such as `output ISI difference`.
    pub name: String,
    /// Value.
    pub value: f64,
    /// Unit, such as `ms`; empty for counts and ratios.
    pub unit: String,
}

impl Metric {
    /// Creates a metric from its parts.
    pub fn new(name: &str, value: f64, unit: &str) -> Self {
        Self {
            name: name.to_string(),
            value,
            unit: unit.to_string(),
        }
    }
}

/// Traces, spikes, metrics and notes produced by a simulation so far.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SimOutput {
    /// Time between trace samples, in ms (dt_ms × record_every).
    pub sample_dt_ms: f64,
    /// Recorded traces, all of equal length.
    pub traces: Vec<Trace>,
    /// Spike onsets of every neuron.
    pub spikes: Vec<SpikeTrain>,
    /// Metrics; empty until the run has finished.
    pub metrics: Vec<Metric>,
    /// Remarks for the user, such as why a metric is missing.
    pub notes: Vec<String>,
}

/// Errors of building or running a simulation.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SimError {
    /// Occurs when the time step is not a positive finite number.
    #[error(
        "invalid dt_ms = {dt_ms}: the time step must be a positive, finite number of ms; \
         the reference uses 0.001"
    )]
    InvalidDt {
        /// The rejected step, in ms.
        dt_ms: f64,
    },
    /// Occurs when the duration is not positive and finite, or shorter than one step.
    #[error(
        "invalid duration_ms = {duration_ms}: the duration must be a positive, finite number \
         of ms of at least one step (dt_ms = {dt_ms})"
    )]
    InvalidDuration {
        /// The rejected duration, in ms.
        duration_ms: f64,
        /// The time step, in ms.
        dt_ms: f64,
    },
    /// Occurs when the traces of the run would not fit in the memory limit.
    #[error(
        "duration_ms = {duration_ms} would record {samples} samples of {traces} traces \
         ({} MiB, limit {} MiB): use a duration_ms of at most {max_duration_ms:.3} or a \
         record_every of at least {min_record_every}",
        bytes >> 20,
        limit_bytes >> 20
    )]
    TooMuchMemory {
        /// The requested duration, in ms.
        duration_ms: f64,
        /// Samples per trace.
        samples: u64,
        /// Number of traces.
        traces: u64,
        /// Memory the traces would take.
        bytes: u64,
        /// The limit.
        limit_bytes: u64,
        /// Maximum duration that fits at the current `record_every`, in ms.
        max_duration_ms: f64,
        /// Smallest `record_every` that fits at the current duration.
        min_record_every: u64,
    },
    /// Occurs when a potential becomes NaN or leaves ±`DIVERGENCE_BOUND_MV`.
    #[error(
        "{neuron} diverged at t = {t_ms:.4} ms (u = {value_mv} mV) with dt_ms = {dt_ms}: \
         forward Euler is unstable at this step; use a smaller dt_ms such as 0.001"
    )]
    Diverged {
        /// Neuron name, such as `HH1` or `hidden 5 (tv-LIF2HH)`.
        neuron: String,
        /// Time of the step that diverged, in ms.
        t_ms: f64,
        /// The offending potential, in mV (NaN or beyond the bound).
        value_mv: f64,
        /// The time step, in ms.
        dt_ms: f64,
    },
    /// Occurs when a setting of the preset cannot be run.
    #[error("invalid {field} = {value}: {fix}")]
    InvalidSetting {
        /// Field path in the preset, such as `chain.lif_dt_ms`.
        field: String,
        /// The rejected value, as text.
        value: String,
        /// Suggested change.
        fix: String,
    },
    /// Occurs when the weights or the input image of the fully connected net cannot be read.
    #[error("cannot load {input}: {message}")]
    Input {
        /// Name of the input, with its path when there is one.
        input: String,
        /// The cause and the fix.
        message: String,
    },
}

/// Returns a divergence error when `u_mv` is NaN or beyond the bound. `neuron` is only
/// called on failure, so the hot loop builds no strings.
#[inline]
pub(crate) fn check_potential(
    u_mv: f64,
    t_ms: f64,
    dt_ms: f64,
    neuron: impl FnOnce() -> String,
) -> Result<(), SimError> {
    if u_mv.abs() <= DIVERGENCE_BOUND_MV {
        return Ok(());
    }
    Err(SimError::Diverged {
        neuron: neuron(),
        t_ms,
        value_mv: u_mv,
        dt_ms,
    })
}

/// A running experiment.
#[derive(Debug)]
enum Runner {
    Chain(Box<chain::ChainSim>),
    Xor(Box<xor::XorSim>),
    FullyConnected(Box<fully_connected::FullyConnectedSim>),
}

/// A simulation that advances in chunks of fine steps.
#[derive(Debug)]
pub struct Simulation {
    preset: SimPreset,
    total_steps: usize,
    done_steps: usize,
    runner: Runner,
    metrics: Vec<Metric>,
    notes: Vec<String>,
    /// The error of a failed `advance`, returned again by later calls.
    failure: Option<SimError>,
}

impl Simulation {
    /// Checks the preset and builds the simulation at t = 0.
    ///
    /// Fails on an invalid dt or duration, traces over the memory limit, or an invalid
    /// experiment setting (including weights or images that cannot be read).
    pub fn new(preset: &SimPreset) -> Result<Self, SimError> {
        let total_steps = step_count(preset)?;
        if preset.record_every == 0 {
            return Err(SimError::InvalidSetting {
                field: "record_every".to_string(),
                value: "0".to_string(),
                fix: "record a sample every 1 or more fine steps".to_string(),
            });
        }
        let traces = match preset.experiment {
            ExperimentKind::Chain => chain::trace_count(preset),
            ExperimentKind::Xor => xor::trace_count(preset),
            ExperimentKind::FullyConnected => fully_connected::trace_count(preset),
        };
        let samples = total_steps.div_ceil(preset.record_every);
        check_memory(preset, samples as u64, traces as u64)?;

        let runner = match preset.experiment {
            ExperimentKind::Chain => {
                Runner::Chain(Box::new(chain::ChainSim::new(preset, total_steps)?))
            }
            ExperimentKind::Xor => Runner::Xor(Box::new(xor::XorSim::new(preset, total_steps)?)),
            ExperimentKind::FullyConnected => Runner::FullyConnected(Box::new(
                fully_connected::FullyConnectedSim::new(preset, total_steps)?,
            )),
        };
        tracing::debug!(name = %preset.name, total_steps, traces, "simulation built");
        Ok(Self {
            preset: preset.clone(),
            total_steps,
            done_steps: 0,
            runner,
            metrics: Vec::new(),
            notes: Vec::new(),
            failure: None,
        })
    }

    /// Runs up to `max_steps` more fine steps; returns whether the run has finished.
    ///
    /// After an error the state is partly advanced and cannot continue: every later call
    /// returns the same error, so build a new simulation with a changed preset.
    pub fn advance(&mut self, max_steps: usize) -> Result<bool, SimError> {
        if let Some(err) = &self.failure {
            return Err(err.clone());
        }
        let steps = max_steps.min(self.total_steps - self.done_steps);
        if steps > 0 {
            let from = self.done_steps;
            let result = match &mut self.runner {
                Runner::Chain(sim) => sim.advance(from, steps),
                Runner::Xor(sim) => sim.advance(from, steps),
                Runner::FullyConnected(sim) => sim.advance(from, steps),
            };
            if let Err(err) = result {
                tracing::debug!(name = %self.preset.name, %err, "simulation failed");
                self.failure = Some(err.clone());
                return Err(err);
            }
            self.done_steps += steps;
        }
        let finished = self.is_finished();
        if finished && self.metrics.is_empty() && self.notes.is_empty() {
            let (metrics, notes) = match &self.runner {
                Runner::Chain(sim) => sim.metrics(),
                Runner::Xor(sim) => sim.metrics(),
                Runner::FullyConnected(sim) => sim.metrics(),
            };
            self.metrics = metrics;
            self.notes = notes;
        }
        Ok(finished)
    }

    /// Returns whether every step has run.
    pub fn is_finished(&self) -> bool {
        self.done_steps == self.total_steps
    }

    /// Simulated time reached, in ms.
    pub fn t_ms(&self) -> f64 {
        self.done_steps as f64 * self.preset.dt_ms
    }

    /// Total simulated time, in ms (steps × dt_ms).
    pub fn duration_ms(&self) -> f64 {
        self.total_steps as f64 * self.preset.dt_ms
    }

    /// Fraction of steps done, in [0, 1].
    pub fn progress(&self) -> f64 {
        self.done_steps as f64 / self.total_steps as f64
    }

    /// Fine steps done so far.
    pub fn done_steps(&self) -> usize {
        self.done_steps
    }

    /// Fine steps of the whole run.
    pub fn total_steps(&self) -> usize {
        self.total_steps
    }

    /// Returns the preset being run.
    pub fn preset(&self) -> &SimPreset {
        &self.preset
    }

    /// Returns the traces recorded so far, without copying them.
    pub fn traces(&self) -> &[Trace] {
        match &self.runner {
            Runner::Chain(sim) => sim.traces(),
            Runner::Xor(sim) => sim.traces(),
            Runner::FullyConnected(sim) => sim.traces(),
        }
    }

    /// Copies everything produced so far. Metrics are computed only once the run has finished.
    pub fn output(&self) -> SimOutput {
        let spikes = match &self.runner {
            Runner::Chain(sim) => sim.spikes(),
            Runner::Xor(sim) => sim.spikes(),
            Runner::FullyConnected(sim) => sim.spikes(),
        };
        SimOutput {
            sample_dt_ms: self.preset.dt_ms * self.preset.record_every as f64,
            traces: self.traces().to_vec(),
            spikes,
            metrics: self.metrics.clone(),
            notes: self.notes.clone(),
        }
    }
}

/// Runs a preset to the end and returns its output.
pub fn run(preset: &SimPreset) -> Result<SimOutput, SimError> {
    let mut simulation = Simulation::new(preset)?;
    while !simulation.advance(RUN_CHUNK_STEPS)? {}
    Ok(simulation.output())
}

/// Number of fine steps of a preset, after checking dt and duration.
fn step_count(preset: &SimPreset) -> Result<usize, SimError> {
    let dt_ms = preset.dt_ms;
    if !(dt_ms.is_finite() && dt_ms > 0.0) {
        return Err(SimError::InvalidDt { dt_ms });
    }
    let duration_ms = preset.duration_ms;
    let invalid_duration = SimError::InvalidDuration { duration_ms, dt_ms };
    if !(duration_ms.is_finite() && duration_ms > 0.0) {
        return Err(invalid_duration);
    }
    let steps = (duration_ms / dt_ms).round();
    if steps < 1.0 {
        return Err(invalid_duration);
    }
    if steps >= usize::MAX as f64 {
        return Err(invalid_duration);
    }
    Ok(steps as usize)
}

fn check_memory(preset: &SimPreset, samples: u64, traces: u64) -> Result<(), SimError> {
    let bytes = samples.saturating_mul(traces).saturating_mul(8);
    if bytes <= MAX_TRACE_BYTES {
        return Ok(());
    }
    let per_sample_bytes = traces.max(1) * 8;
    let max_samples = MAX_TRACE_BYTES / per_sample_bytes;
    let max_duration_ms = max_samples as f64 * preset.record_every as f64 * preset.dt_ms;
    let steps = samples.saturating_mul(preset.record_every as u64);
    let min_record_every = steps.div_ceil(max_samples.max(1));
    Err(SimError::TooMuchMemory {
        duration_ms: preset.duration_ms,
        samples,
        traces,
        bytes,
        limit_bytes: MAX_TRACE_BYTES,
        max_duration_ms,
        min_record_every,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::neuron::stimulus::Waveform;

    #[test]
    fn rejects_non_positive_dt() {
        for dt_ms in [0.0, -0.001, f64::NAN, f64::INFINITY] {
            let preset = SimPreset {
                dt_ms,
                ..SimPreset::chain(Waveform::Const)
            };
            let err = Simulation::new(&preset).unwrap_err();
            assert!(
                matches!(err, SimError::InvalidDt { .. }),
                "dt {dt_ms}: {err}"
            );
        }
    }

    #[test]
    fn rejects_bad_duration() {
        for duration_ms in [0.0, -5.0, f64::NAN, 0.0001] {
            let preset = SimPreset {
                duration_ms,
                ..SimPreset::chain(Waveform::Const)
            };
            let err = Simulation::new(&preset).unwrap_err();
            assert!(
                matches!(err, SimError::InvalidDuration { .. }),
                "{duration_ms}: {err}"
            );
        }
    }

    #[test]
    fn rejects_traces_over_memory_limit() {
        let preset = SimPreset {
            duration_ms: 1e6,
            ..SimPreset::chain(Waveform::Const)
        };
        let err = Simulation::new(&preset).unwrap_err();
        let SimError::TooMuchMemory {
            max_duration_ms,
            min_record_every,
            ..
        } = &err
        else {
            panic!("expected a memory error, got {err}");
        };
        // The suggested fixes must fit: at most 2 GiB at the suggested values.
        let traces = chain::trace_count(&preset) as f64;
        assert!(max_duration_ms / preset.dt_ms * traces * 8.0 <= MAX_TRACE_BYTES as f64);
        let samples = (1e9 / *min_record_every as f64).ceil();
        assert!(samples * traces * 8.0 <= MAX_TRACE_BYTES as f64);
        let message = err.to_string();
        assert!(message.contains("duration_ms = 1000000"), "{message}");
        assert!(message.contains("record_every"), "{message}");
    }

    #[test]
    fn failed_advance_repeats_error() {
        let preset = SimPreset {
            dt_ms: 0.1,
            ..SimPreset::xor()
        };
        let mut simulation = Simulation::new(&preset).unwrap();
        let first = simulation.advance(usize::MAX).unwrap_err();
        let second = simulation.advance(10).unwrap_err();
        assert_eq!(first, second);
    }

    #[test]
    fn rejects_zero_record_every() {
        let preset = SimPreset {
            record_every: 0,
            ..SimPreset::chain(Waveform::Const)
        };
        assert!(Simulation::new(&preset).is_err());
    }
}
