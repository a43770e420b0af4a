//! hhlab: a lab bench comparing Hodgkin–Huxley neurons with networks of LIF neurons.
//!
//! The library holds every model and experiment so that the GUI (`app`), the CLI and the tests
//! run exactly the same code. Dependency direction is one way: `app` uses `train` and `sim`,
//! which use `nn`, `neuron` and `data`. Nothing outside `app` depends on egui.

pub mod app;
pub mod data;
pub mod export;
pub mod neuron;
pub mod nn;
pub mod preset;
pub mod sim;
pub mod train;
