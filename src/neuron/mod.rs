//! Single-neuron models in f64: Hodgkin–Huxley (two conventions), LIF, tv-LIF2HH, s-LIF2HH,
//! and the stimulus waveforms that drive them.

pub mod population;
