//! The XOR network: input neurons A and B and one output neuron, each an HH neuron
//! (rest-at-−65) run side by side with its tv-LIF2HH twin, for each input case.
//!
//! A and B get constant currents xA and xB (µA/cm², reference cases {0, 40}²). The output gets
//! w·sA − w·sB with w = 20 µA/cm², where s is the spike indicator of this step (the potential
//! before the step above −40 mV). The HH output reads the HH inputs' spikes and the twin
//! output reads the twins' spikes. One step updates, in this order: A, A's twin (with A's
//! conductances from before A's step), B, B's twin, the output, the output's twin. The order
//! matters because each twin reads its partner's conductances of the current step.
//!
//! Agreement: for each neuron, the fraction of steps whose spike indicator is the same for HH
//! and twin.
//!
//! Spike trains: neuron index = 3·case + role, with role 0 = A, 1 = B, 2 = output, for both
//! models `HH` and `tv-LIF2HH`.

use crate::neuron::hh::HhParams;
use crate::preset::sim::SimPreset;
use crate::sim::metrics::AgreementCounter;
use crate::sim::pair::{pair_specs, Pair, TRACES_PER_NEURON};
use crate::sim::record::Recorder;
use crate::sim::{Metric, SimError, SpikeTrain, Trace};

/// Names of the three neurons of a case.
const ROLES: [&str; 3] = ["A", "B", "output"];

/// Number of traces an XOR run records.
pub fn trace_count(preset: &SimPreset) -> usize {
    preset.xor.cases.len() * ROLES.len() * TRACES_PER_NEURON
}

/// State of a running XOR experiment.
#[derive(Debug)]
pub struct XorSim {
    dt_ms: f64,
    params: HhParams,
    weight: f64,
    cases: Vec<(f64, f64)>,
    /// Three pairs per case: A, B, output.
    pairs: Vec<Pair>,
    recorder: Recorder,
    row: Vec<f64>,
}

impl XorSim {
    /// Checks the XOR settings and sets up the initial state.
    pub fn new(preset: &SimPreset, total_steps: usize) -> Result<Self, SimError> {
        let config = &preset.xor;
        if config.cases.is_empty() {
            return Err(SimError::InvalidSetting {
                field: "xor.cases".to_string(),
                value: "[]".to_string(),
                fix: "list at least one (xA, xB) input case, e.g. [(40.0, 0.0)]".to_string(),
            });
        }
        let bad_case = config
            .cases
            .iter()
            .find(|(a, b)| !(a.is_finite() && b.is_finite()));
        if let Some(case) = bad_case {
            return Err(SimError::InvalidSetting {
                field: "xor.cases".to_string(),
                value: format!("{case:?}"),
                fix: "use finite currents in µA/cm²".to_string(),
            });
        }
        if !config.weight.is_finite() {
            return Err(SimError::InvalidSetting {
                field: "xor.weight".to_string(),
                value: config.weight.to_string(),
                fix: "use a finite weight in µA/cm² (reference: 20)".to_string(),
            });
        }

        let params = HhParams::rest_at_minus_65();
        let mut specs = Vec::with_capacity(trace_count(preset));
        for &case in &config.cases {
            for role in ROLES {
                specs.extend(pair_specs(&format!("{} {role}", case_label(case))));
            }
        }
        let row = vec![0.0; specs.len()];
        Ok(Self {
            dt_ms: preset.dt_ms,
            params,
            weight: config.weight,
            cases: config.cases.clone(),
            pairs: vec![Pair::new(&params); config.cases.len() * ROLES.len()],
            recorder: Recorder::new(specs, preset.record_every, total_steps),
            row,
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
        let record = self.recorder.wants(i);
        let params = self.params;
        let weight = self.weight;

        for (case_index, &(x_a, x_b)) in self.cases.iter().enumerate() {
            let pairs = &mut self.pairs[3 * case_index..3 * case_index + 3];
            let case_row_start = 3 * case_index * TRACES_PER_NEURON;
            let mut rows = self.row[case_row_start..case_row_start + 3 * TRACES_PER_NEURON]
                .chunks_mut(TRACES_PER_NEURON);

            let (a_hh, a_twin) = pairs[0].step(
                &params,
                (x_a, x_a),
                dt_ms,
                t_ms,
                rows.next().filter(|_| record),
            );
            let (b_hh, b_twin) = pairs[1].step(
                &params,
                (x_b, x_b),
                dt_ms,
                t_ms,
                rows.next().filter(|_| record),
            );
            let drive = |a: bool, b: bool| {
                weight * f64::from(u8::from(a)) - weight * f64::from(u8::from(b))
            };
            let currents = (drive(a_hh, b_hh), drive(a_twin, b_twin));
            pairs[2].step(
                &params,
                currents,
                dt_ms,
                t_ms,
                rows.next().filter(|_| record),
            );

            for (role, pair) in pairs.iter().enumerate() {
                let case = self.cases[case_index];
                pair.check(t_ms, dt_ms, |model| {
                    format!("{} {} ({model})", case_label(case), ROLES[role])
                })?;
            }
        }
        if record {
            self.recorder.push(&self.row);
        }
        Ok(())
    }

    /// Returns the traces recorded so far.
    pub fn traces(&self) -> &[Trace] {
        self.recorder.traces()
    }

    /// Spike onsets of every neuron of both models.
    pub fn spikes(&self) -> Vec<SpikeTrain> {
        let mut trains = Vec::with_capacity(2 * self.pairs.len());
        for (model_index, model) in ["HH", "tv-LIF2HH"].into_iter().enumerate() {
            for (neuron, pair) in self.pairs.iter().enumerate() {
                let case = self.cases[neuron / 3];
                trains.push(SpikeTrain {
                    model: model.to_string(),
                    neuron,
                    label: format!("{} {}", case_label(case), ROLES[neuron % 3]),
                    onsets_ms: pair.onsets_ms[model_index].clone(),
                });
            }
        }
        trains
    }

    /// Agreement per neuron and overall, and the output spike counts of each case.
    pub fn metrics(&self) -> (Vec<Metric>, Vec<String>) {
        let mut metrics = Vec::new();
        let mut overall = AgreementCounter::default();
        for (neuron, pair) in self.pairs.iter().enumerate() {
            let label = format!(
                "{} {}",
                case_label(self.cases[neuron / 3]),
                ROLES[neuron % 3]
            );
            metrics.push(Metric::new(
                &format!("{label} agreement"),
                pair.agreement.fraction(),
                "",
            ));
            overall.merge(&pair.agreement);
            if neuron % 3 == 2 {
                for (k, model) in ["HH", "tv-LIF2HH"].iter().enumerate() {
                    let count = pair.onsets_ms[k].len() as f64;
                    metrics.push(Metric::new(&format!("{label} spikes {model}"), count, ""));
                }
            }
        }
        metrics.push(Metric::new("agreement", overall.fraction(), ""));
        (metrics, Vec::new())
    }
}

/// Short label of an input case: `40/0` for xA = 40, xB = 0.
fn case_label((x_a, x_b): (f64, f64)) -> String {
    format!("{x_a}/{x_b}")
}
