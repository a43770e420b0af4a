//! An HH neuron (rest-at-−65) paired with its tv-LIF2HH twin: the unit of the XOR and fully
//! connected experiments.
//!
//! One step updates the HH neuron, then the twin with the HH neuron's conductances from before
//! the step. Each keeps its own input current, since in a network the twin is driven by the
//! other twins' spikes. The pair tracks both spike indicators, their onsets and their
//! bin-by-bin agreement.

use crate::neuron::hh::{HhParams, HhState};
use crate::neuron::tv_lif2hh::TvLif2HhState;
use crate::sim::metrics::{AgreementCounter, OnsetDetector};
use crate::sim::record::{hh_row, hh_specs, TraceSpec, HH_TRACES};
use crate::sim::{check_potential, SimError, TraceKind};

/// Traces per recorded pair: the 8 HH traces (`record::hh_specs`), the twin's potential and
/// its input current.
pub(crate) const TRACES_PER_NEURON: usize = HH_TRACES + 2;

/// One HH neuron, its twin and their bookkeeping.
#[derive(Debug, Clone)]
pub(crate) struct Pair {
    pub hh: HhState,
    pub twin: TvLif2HhState,
    detectors: [OnsetDetector; 2],
    /// Onsets in ms of the HH neuron (index 0) and the twin (index 1).
    pub onsets_ms: [Vec<f64>; 2],
    /// Steps where both spike indicators agree.
    pub agreement: AgreementCounter,
}

impl Pair {
    pub fn new(params: &HhParams) -> Self {
        Self {
            hh: HhState::initial(params),
            twin: TvLif2HhState::initial(),
            detectors: Default::default(),
            onsets_ms: Default::default(),
            agreement: AgreementCounter::default(),
        }
    }

    /// Steps the HH neuron and then its twin; returns both spike indicators and writes
    /// the pre-step values into `row` when given.
    pub fn step(
        &mut self,
        params: &HhParams,
        currents: (f64, f64),
        dt_ms: f64,
        t_ms: f64,
        row: Option<&mut [f64]>,
    ) -> (bool, bool) {
        let before = self.hh;
        let twin_u_before = self.twin.potential_mv();
        let g = params.conductances(&before);
        params.step(&mut self.hh, currents.0, dt_ms);
        let hh_spike = params.is_spike(before.u_mv, self.hh.u_mv);
        let twin_spike = self.twin.step(params, g, currents.1, dt_ms);

        for (k, spiking) in [hh_spike, twin_spike].into_iter().enumerate() {
            if self.detectors[k].update(spiking) {
                self.onsets_ms[k].push(t_ms);
            }
        }
        self.agreement.update(hh_spike, twin_spike);
        if let Some(row) = row {
            hh_row(&mut row[..HH_TRACES], &before, currents.0, g);
            row[HH_TRACES] = twin_u_before;
            row[HH_TRACES + 1] = currents.1;
        }
        (hh_spike, twin_spike)
    }

    pub fn check(
        &self,
        t_ms: f64,
        dt_ms: f64,
        name: impl Fn(&str) -> String,
    ) -> Result<(), SimError> {
        check_potential(self.hh.u_mv, t_ms, dt_ms, || name("HH"))?;
        check_potential(self.twin.potential_mv(), t_ms, dt_ms, || name("tv-LIF2HH"))
    }
}

/// The traces of one pair labelled `label`, in the order `Pair::step` writes them.
pub(crate) fn pair_specs(label: &str) -> Vec<TraceSpec> {
    let mut specs = hh_specs(&format!("{label} HH"));
    let twin = format!("{label} tv-LIF2HH");
    specs.push(TraceSpec::new(
        format!("{twin} u"),
        "tv-LIF2HH",
        TraceKind::Voltage,
    ));
    specs.push(TraceSpec::new(
        format!("{twin} I"),
        "input",
        TraceKind::Current,
    ));
    specs
}
