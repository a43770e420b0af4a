//! Trace recording shared by the experiments: one row of values per recorded step.

use super::{Trace, TraceKind};

/// Description of one trace: name, model, kind and unit.
pub(crate) struct TraceSpec {
    pub name: String,
    pub model: &'static str,
    pub kind: TraceKind,
    pub unit: &'static str,
}

impl TraceSpec {
    pub fn new(name: impl Into<String>, model: &'static str, kind: TraceKind) -> Self {
        let unit = match kind {
            TraceKind::Voltage => "mV",
            TraceKind::Current => "µA/cm²",
            TraceKind::Gate | TraceKind::Other => "",
            TraceKind::Conductance => "mS/cm²",
        };
        Self {
            name: name.into(),
            model,
            kind,
            unit,
        }
    }
}

/// The eight traces of one HH neuron named `label` (u, I, m, n, h, gNa, gK, gL), in the
/// order `hh_row` writes them.
pub(crate) fn hh_specs(label: &str) -> Vec<TraceSpec> {
    vec![
        TraceSpec::new(format!("{label} u"), "HH", TraceKind::Voltage),
        TraceSpec::new(format!("{label} I"), "input", TraceKind::Current),
        TraceSpec::new(format!("{label} m"), "HH", TraceKind::Gate),
        TraceSpec::new(format!("{label} n"), "HH", TraceKind::Gate),
        TraceSpec::new(format!("{label} h"), "HH", TraceKind::Gate),
        TraceSpec::new(format!("{label} gNa"), "HH", TraceKind::Conductance),
        TraceSpec::new(format!("{label} gK"), "HH", TraceKind::Conductance),
        TraceSpec::new(format!("{label} gL"), "HH", TraceKind::Conductance),
    ]
}

/// Number of traces `hh_specs` describes.
pub(crate) const HH_TRACES: usize = 8;

/// Writes the values of `hh_specs` into `row`.
pub(crate) fn hh_row(
    row: &mut [f64],
    state: &crate::neuron::hh::HhState,
    current: f64,
    conductances: (f64, f64, f64),
) {
    row[0] = state.u_mv;
    row[1] = current;
    row[2] = state.m;
    row[3] = state.n;
    row[4] = state.h;
    row[5] = conductances.0;
    row[6] = conductances.1;
    row[7] = conductances.2;
}

/// Traces filled one row at a time, every `every` fine steps.
#[derive(Debug)]
pub(crate) struct Recorder {
    traces: Vec<Trace>,
    every: usize,
}

impl Recorder {
    /// Allocates the traces for all samples of a run up front, so recording never
    /// reallocates.
    pub fn new(specs: Vec<TraceSpec>, every: usize, total_steps: usize) -> Self {
        let capacity = total_steps.div_ceil(every.max(1));
        let traces = specs
            .into_iter()
            .map(|spec| Trace::new(&spec.name, spec.model, spec.kind, spec.unit, capacity))
            .collect();
        Self { traces, every }
    }

    /// Whether fine step `step` is recorded.
    #[inline]
    pub fn wants(&self, step: usize) -> bool {
        step.is_multiple_of(self.every)
    }

    /// Appends one sample to every trace; `row` contains one value per trace, in the order of the trace specs.
    pub fn push(&mut self, row: &[f64]) {
        debug_assert_eq!(row.len(), self.traces.len());
        for (trace, &value) in self.traces.iter_mut().zip(row) {
            trace.values.push(value);
        }
    }

    pub fn traces(&self) -> &[Trace] {
        &self.traces
    }
}
