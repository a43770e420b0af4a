//! The HH vs s-LIF2HH chain: two rest-at-0 HH neurons in a row against two s-LIF2HH stages.
//!
//! HH chain, fine step dt (reference 0.001 ms), fine step i from t_i = i·dt to t_{i+1}:
//!
//! ```text
//! HH1 ← step(HH1, x1(t_{i+1}));   spike1_i = u1 > 70 mV after the step
//! HH2 ← step(HH2, c_HH·spike1_i)                       c_HH = 100 µA/cm² (1e5 · dt)
//! ```
//!
//! # Reference quirk
//!
//! The reference reads the input of the step from t_i to t_{i+1} at its end, x1(t_{i+1}),
//! not at its start. This shifts the drive by one fine step, which moves spike onsets under the
//! sine input by up to 9 µs, so hhlab does the same.
//!
//! LIF chain, coarse step Δ = `lif_dt_ms` (reference 1 ms = 1000 fine steps). At the start of
//! block k (fine steps kΔ/dt … (k+1)Δ/dt − 1) both stages step once:
//!
//! ```text
//! x̄_k = mean of x1(t_i) over the block's fine steps
//! stage 1: units 1–3 get x̄_k;  stage 2: unit j (1–3) gets c_LIF·a1_j + a1_4  (c_LIF = 1e5)
//! ```
//!
//! where a1_j is stage-1 unit j above 70 mV (before its reset). A stage's spike indicator is
//! held over the block's fine steps, so its onset falls at t = kΔ.
//!
//! Metrics compare onsets (see `metrics::compare_onsets`) of the outputs, HH2 against
//! stage 2, and of the first neurons, HH1 against stage 1.
//!
//! Spike trains: model `HH` neurons 0 (HH1) and 1 (HH2); model `s-LIF2HH` neurons 0
//! (stage 1) and 1 (stage 2).

use crate::neuron::hh::{HhParams, HhState};
use crate::neuron::lif::LifParams;
use crate::neuron::s_lif2hh::SLifStage;
use crate::neuron::stimulus::Stimulus;
use crate::preset::sim::{ChainConfig, SimPreset};
use crate::sim::metrics::{compare_onsets, OnsetComparison, OnsetDetector};
use crate::sim::record::{hh_row, hh_specs, Recorder, TraceSpec, HH_TRACES};
use crate::sim::{check_potential, Metric, SimError, SpikeTrain, Trace, TraceKind};

/// Traces: 8 per HH neuron, the LIF input, 4 units per stage, and 4 spike indicators.
const TRACE_COUNT: usize = 2 * HH_TRACES + 1 + 8 + 4;

/// Number of traces a chain run records.
pub fn trace_count(_preset: &SimPreset) -> usize {
    TRACE_COUNT
}

/// State of a running chain experiment.
#[derive(Debug)]
pub struct ChainSim {
    dt_ms: f64,
    stimulus: Stimulus,
    config: ChainConfig,
    hh: HhParams,
    hh1: HhState,
    hh2: HhState,
    lif: LifParams,
    stage1: SLifStage,
    stage2: SLifStage,
    steps_per_block: usize,
    total_steps: usize,
    lif_input: f64,
    lif_spikes: [bool; 2],
    detectors: [OnsetDetector; 4],
    /// Onsets in ms of HH1, HH2, stage 1, stage 2.
    onsets_ms: [Vec<f64>; 4],
    recorder: Recorder,
    row: [f64; TRACE_COUNT],
}

impl ChainSim {
    /// Checks the chain settings and sets up the initial state.
    pub fn new(preset: &SimPreset, total_steps: usize) -> Result<Self, SimError> {
        let config = preset.chain.clone();
        preset
            .stimulus
            .validate()
            .map_err(|(field, value, fix)| SimError::InvalidSetting {
                field: field.to_string(),
                value: value.to_string(),
                fix: fix.to_string(),
            })?;
        let steps_per_block = lif_steps_per_block(&config, preset.dt_ms)?;
        if !config.lif_decay.is_finite() || !config.hh_coupling.is_finite() {
            return Err(SimError::InvalidSetting {
                field: "chain.lif_decay / chain.hh_coupling".to_string(),
                value: format!("{} / {}", config.lif_decay, config.hh_coupling),
                fix: "use finite numbers (reference: 0.9 and 100)".to_string(),
            });
        }

        let hh = HhParams::rest_at_zero();
        let lif = LifParams {
            leak: 1.0 - config.lif_decay,
            ..LifParams::s_lif2hh()
        };
        let mut specs = hh_specs("HH1");
        specs.extend(hh_specs("HH2"));
        specs.push(TraceSpec::new("LIF x", "input", TraceKind::Current));
        for stage in 1..=2 {
            for unit in 1..=4 {
                let name = format!("LIF{stage} unit{unit} u");
                specs.push(TraceSpec::new(name, "s-LIF2HH", TraceKind::Voltage));
            }
        }
        for name in ["HH1 spike", "HH2 spike"] {
            specs.push(TraceSpec::new(name, "HH", TraceKind::Other));
        }
        for name in ["LIF1 spike", "LIF2 spike"] {
            specs.push(TraceSpec::new(name, "s-LIF2HH", TraceKind::Other));
        }
        debug_assert_eq!(specs.len(), TRACE_COUNT);

        Ok(Self {
            dt_ms: preset.dt_ms,
            stimulus: preset.stimulus,
            config,
            hh1: HhState::initial(&hh),
            hh2: HhState::initial(&hh),
            hh,
            lif,
            stage1: SLifStage::default(),
            stage2: SLifStage::default(),
            steps_per_block,
            total_steps,
            lif_input: 0.0,
            lif_spikes: [false; 2],
            detectors: [OnsetDetector::default(); 4],
            onsets_ms: Default::default(),
            recorder: Recorder::new(specs, preset.record_every, total_steps),
            row: [0.0; TRACE_COUNT],
        })
    }

    /// Runs fine steps `from .. from + steps`.
    pub fn advance(&mut self, from: usize, steps: usize) -> Result<(), SimError> {
        for i in from..from + steps {
            self.step(i)?;
        }
        Ok(())
    }

    fn step(&mut self, i: usize) -> Result<(), SimError> {
        let dt_ms = self.dt_ms;
        let t_ms = i as f64 * dt_ms;
        if i.is_multiple_of(self.steps_per_block) {
            self.step_lif(i)?;
        }

        let x1 = self.stimulus.value((i + 1) as f64 * dt_ms);
        let before1 = self.hh1;
        let before2 = self.hh2;
        let g1 = self.hh.conductances(&before1);
        let g2 = self.hh.conductances(&before2);
        self.hh.step(&mut self.hh1, x1, dt_ms);
        let spike1 = self.hh.is_spike(before1.u_mv, self.hh1.u_mv);
        let i2 = if spike1 { self.config.hh_coupling } else { 0.0 };
        self.hh.step(&mut self.hh2, i2, dt_ms);
        let spike2 = self.hh.is_spike(before2.u_mv, self.hh2.u_mv);
        check_potential(self.hh1.u_mv, t_ms, dt_ms, || "HH1".to_string())?;
        check_potential(self.hh2.u_mv, t_ms, dt_ms, || "HH2".to_string())?;

        let spikes = [spike1, spike2, self.lif_spikes[0], self.lif_spikes[1]];
        for (k, &spiking) in spikes.iter().enumerate() {
            if self.detectors[k].update(spiking) {
                self.onsets_ms[k].push(t_ms);
            }
        }

        if self.recorder.wants(i) {
            let row = &mut self.row;
            hh_row(&mut row[0..HH_TRACES], &before1, x1, g1);
            hh_row(&mut row[HH_TRACES..2 * HH_TRACES], &before2, i2, g2);
            let lif_start = 2 * HH_TRACES;
            row[lif_start] = self.lif_input;
            row[lif_start + 1..lif_start + 5].copy_from_slice(&self.stage1.units_mv);
            row[lif_start + 5..lif_start + 9].copy_from_slice(&self.stage2.units_mv);
            for (k, &spiking) in spikes.iter().enumerate() {
                row[lif_start + 9 + k] = f64::from(u8::from(spiking));
            }
            self.recorder.push(&self.row);
        }
        Ok(())
    }

    /// Steps both LIF stages once for the block starting at fine step `first`.
    fn step_lif(&mut self, first: usize) -> Result<(), SimError> {
        let last = (first + self.steps_per_block).min(self.total_steps);
        let sum: f64 = (first..last)
            .map(|j| self.stimulus.value(j as f64 * self.dt_ms))
            .sum();
        let x = sum / (last - first) as f64;
        let lif_dt_ms = self.config.lif_dt_ms;

        let out1 = self.stage1.step(&self.lif, [x; 3], lif_dt_ms);
        let active = out1.above.map(|above| f64::from(u8::from(above)));
        let drive = |j: usize| self.config.lif_coupling * active[j] + active[3];
        let inputs2 = [drive(0), drive(1), drive(2)];
        let out2 = self.stage2.step(&self.lif, inputs2, lif_dt_ms);

        self.lif_input = x;
        self.lif_spikes = [out1.spiked, out2.spiked];
        let t_ms = first as f64 * self.dt_ms;
        let units = self.stage1.units_mv.iter().chain(&self.stage2.units_mv);
        for (k, &u) in units.enumerate() {
            if !u.is_finite() {
                return Err(SimError::Diverged {
                    neuron: format!("LIF stage {} unit {}", k / 4 + 1, k % 4 + 1),
                    t_ms,
                    value_mv: u,
                    dt_ms: lif_dt_ms,
                });
            }
        }
        Ok(())
    }

    /// Returns the traces recorded so far.
    pub fn traces(&self) -> &[Trace] {
        self.recorder.traces()
    }

    /// Spike onsets of the four neurons.
    pub fn spikes(&self) -> Vec<SpikeTrain> {
        let names = [
            ("HH", 0, "HH1"),
            ("HH", 1, "HH2"),
            ("s-LIF2HH", 0, "LIF1"),
            ("s-LIF2HH", 1, "LIF2"),
        ];
        names
            .iter()
            .zip(&self.onsets_ms)
            .map(|(&(model, neuron, label), onsets)| SpikeTrain {
                model: model.to_string(),
                neuron,
                label: label.to_string(),
                onsets_ms: onsets.clone(),
            })
            .collect()
    }

    /// Metrics and notes of the finished run.
    pub fn metrics(&self) -> (Vec<Metric>, Vec<String>) {
        let mut metrics = Vec::new();
        let mut notes = Vec::new();
        let pairs = [("output", 1, 3), ("stage 1", 0, 2)];
        for (name, hh, lif) in pairs {
            let hh_onsets = &self.onsets_ms[hh];
            let lif_onsets = &self.onsets_ms[lif];
            metrics.push(Metric::new(
                &format!("{name} spikes HH"),
                hh_onsets.len() as f64,
                "",
            ));
            metrics.push(Metric::new(
                &format!("{name} spikes LIF"),
                lif_onsets.len() as f64,
                "",
            ));
            match compare_onsets(hh_onsets, lif_onsets) {
                OnsetComparison::Paired {
                    isi_difference_ms,
                    onset_error_ratio,
                    ..
                } => {
                    match isi_difference_ms {
                        Some(value) => {
                            metrics.push(Metric::new(
                                &format!("{name} ISI difference"),
                                value,
                                "ms",
                            ));
                        }
                        None => notes.push(format!(
                            "{name}: the ISI difference needs at least 2 spikes per train"
                        )),
                    }
                    match onset_error_ratio {
                        Some(value) => {
                            metrics.push(Metric::new(
                                &format!("{name} onset error ratio"),
                                value,
                                "",
                            ));
                        }
                        None => notes.push(format!(
                            "{name}: the onset error needs at least 2 spikes per train"
                        )),
                    }
                }
                OnsetComparison::CountMismatch { hh, lif } => notes.push(format!(
                    "{name}: HH fired {hh} spikes and LIF {lif}; the ISI difference and onset \
                     error need equal counts"
                )),
            }
        }
        (metrics, notes)
    }
}

/// Fine steps per LIF step; rejects a LIF step that is not a positive whole multiple of dt.
fn lif_steps_per_block(config: &ChainConfig, dt_ms: f64) -> Result<usize, SimError> {
    if !(config.lif_dt_ms.is_finite() && config.lif_dt_ms > 0.0) {
        return Err(SimError::InvalidSetting {
            field: "chain.lif_dt_ms".to_string(),
            value: config.lif_dt_ms.to_string(),
            fix: "use a positive LIF step in ms (reference: 1 ms)".to_string(),
        });
    }
    let ratio = config.lif_dt_ms / dt_ms;
    let steps = ratio.round();
    let whole = (ratio - steps).abs() <= 1e-6 * ratio.max(1.0);
    if !(steps >= 1.0 && whole) {
        return Err(SimError::InvalidSetting {
            field: "dt_ms".to_string(),
            value: dt_ms.to_string(),
            fix: format!(
                "dt_ms must divide chain.lif_dt_ms = {} ms evenly; choose a dt_ms such as 0.001, \
                 0.002 or 0.005",
                config.lif_dt_ms
            ),
        });
    }
    Ok(steps as usize)
}
