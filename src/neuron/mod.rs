//! Single-neuron models in f64: Hodgkin–Huxley (two conventions), LIF, tv-LIF2HH, s-LIF2HH,
//! and the stimulus waveforms that drive them.

pub mod hh;
pub mod lif;
pub mod population;
pub mod s_lif2hh;
pub mod stimulus;
pub mod tv_lif2hh;
