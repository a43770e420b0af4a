//! The shared read-out of every classifier: `Linear(features → 50)` then two task heads
//! `Linear(50 → 10)`, one per digit of the Multi-MNIST pair.
//!
//! Shapes: rates `(batch, features)` in, two logits `(batch, 10)` out. There is no
//! non-linearity between the 50-unit layer and the heads, as in the reference.

use candle_core::{Module, Result, Tensor};
use candle_nn::{Linear, VarBuilder};

use crate::nn::init;

/// Width of the shared layer between the hidden features and the task heads.
pub const SHARED_WIDTH: usize = 50;
/// Classes per task.
pub const CLASSES: usize = 10;

/// `fc_output` `Linear(features → 50)` and heads `task_0`, `task_1` `Linear(50 → 10)`.
#[derive(Debug, Clone)]
pub struct TaskHeads {
    fc_output: Linear,
    task_0: Linear,
    task_1: Linear,
}

impl TaskHeads {
    /// Builds `vb/fc_output`, `vb/task_0` and `vb/task_1`.
    pub fn new(features: usize, vb: &VarBuilder) -> Result<Self> {
        Ok(Self {
            fc_output: init::linear(features, SHARED_WIDTH, 1.0, vb.pp("fc_output"))?,
            task_0: init::linear(SHARED_WIDTH, CLASSES, 1.0, vb.pp("task_0"))?,
            task_1: init::linear(SHARED_WIDTH, CLASSES, 1.0, vb.pp("task_1"))?,
        })
    }

    /// Maps features `(batch, features)` to the two logits `(batch, 10)`.
    pub fn forward(&self, features: &Tensor) -> Result<(Tensor, Tensor)> {
        let shared = self.fc_output.forward(features)?;
        Ok((self.task_0.forward(&shared)?, self.task_1.forward(&shared)?))
    }
}
