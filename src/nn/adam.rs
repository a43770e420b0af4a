//! Adam as PyTorch's `torch.optim.Adam` computes it, and a step learning-rate schedule.
//!
//! Per parameter θ with gradient g, at step k = 1, 2, …:
//!
//! ```text
//! g ← g + wd·θ                          (L2 decay added to the gradient, not AdamW)
//! m ← β1·m + (1 − β1)·g
//! v ← β2·v + (1 − β2)·g²
//! θ ← θ − lr · (m / (1 − β1^k)) / (√(v / (1 − β2^k)) + ε)
//! ```
//!
//! Defaults β1 0.9, β2 0.999, ε 1e-8. A variable with no gradient in the `GradStore` is
//! skipped, its moments and step count untouched, as PyTorch skips parameters whose `grad`
//! is `None`.
//!
//! # Performance
//! The moments live in plain `Vec<f32>`s. Each parameter is updated in one pass over the
//! values of the parameter and its gradient, read in place, and written back with one
//! `Var::set`. Tensor ops would allocate a dozen temporaries per parameter and step.

use candle_core::backprop::GradStore;
use candle_core::{CpuStorage, DType, Result, Storage, Tensor, Var};
use candle_nn::Optimizer;

use crate::nn::OptimConfig;

/// Settings of [`Adam`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamConfig {
    /// Learning rate.
    pub lr: f64,
    /// Decay of the first moment.
    pub beta1: f64,
    /// Decay of the second moment.
    pub beta2: f64,
    /// Added to the root of the second moment.
    pub eps: f64,
    /// L2 weight decay added to the gradient.
    pub weight_decay: f64,
}

impl Default for AdamConfig {
    fn default() -> Self {
        Self {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        }
    }
}

impl From<&OptimConfig> for AdamConfig {
    fn from(config: &OptimConfig) -> Self {
        Self {
            lr: config.lr,
            weight_decay: config.weight_decay,
            ..Self::default()
        }
    }
}

/// Moments and step count of one parameter.
#[derive(Debug)]
struct ParamState {
    var: Var,
    m: Vec<f32>,
    v: Vec<f32>,
    step: i32,
}

/// PyTorch-equivalent Adam over f32 CPU variables.
#[derive(Debug)]
pub struct Adam {
    params: Vec<ParamState>,
    config: AdamConfig,
}

impl Adam {
    /// Returns the current settings; [`Optimizer::set_learning_rate`] changes the rate.
    pub fn config(&self) -> &AdamConfig {
        &self.config
    }

    /// Returns the first moment, second moment and step count of `var`, or `None` when `var`
    /// is not one of this optimizer's variables. Checkpoints save these to resume exactly.
    pub fn moments(&self, var: &Var) -> Option<(&[f32], &[f32], i32)> {
        self.params
            .iter()
            .find(|state| state.var.id() == var.id())
            .map(|state| (state.m.as_slice(), state.v.as_slice(), state.step))
    }

    /// Replaces the moments and step count of `var`, as read back from a checkpoint. Fails
    /// when `var` is not optimized here or the lengths differ from its element count.
    pub fn set_moments(&mut self, var: &Var, m: Vec<f32>, v: Vec<f32>, step: i32) -> Result<()> {
        let Some(state) = self
            .params
            .iter_mut()
            .find(|state| state.var.id() == var.id())
        else {
            candle_core::bail!("adam: the variable is not optimized by this optimizer");
        };
        if m.len() != state.m.len() || v.len() != state.v.len() {
            candle_core::bail!(
                "adam: moments have {} and {} values, the variable has {}",
                m.len(),
                v.len(),
                state.m.len()
            );
        }
        state.m = m;
        state.v = v;
        state.step = step;
        Ok(())
    }

    fn update(config: &AdamConfig, state: &mut ParamState, grad: &Tensor) -> Result<()> {
        state.step += 1;
        let (b1, b2) = (config.beta1 as f32, config.beta2 as f32);
        // 1 − β in f64 first: 1 − 0.999f32 is off by 1.3e-5 relative, which shows in θ.
        let (one_minus_b1, one_minus_b2) =
            ((1.0 - config.beta1) as f32, (1.0 - config.beta2) as f32);
        let bias1 = 1.0 - config.beta1.powi(state.step);
        let bias2_sqrt = (1.0 - config.beta2.powi(state.step)).sqrt() as f32;
        let step_size = (config.lr / bias1) as f32;
        let (wd, eps) = (config.weight_decay as f32, config.eps as f32);

        let theta_tensor = state.var.as_tensor().contiguous()?;
        let grad = grad.contiguous()?;
        let new_theta = {
            let (theta_storage, theta_layout) = theta_tensor.storage_and_layout();
            let (grad_storage, grad_layout) = grad.storage_and_layout();
            let theta = f32_slice(&theta_storage, theta_layout)?;
            let g = f32_slice(&grad_storage, grad_layout)?;
            if g.len() != theta.len() {
                candle_core::bail!(
                    "adam: gradient has {} values, parameter has {}",
                    g.len(),
                    theta.len()
                );
            }
            let mut out = Vec::with_capacity(theta.len());
            for (i, (&p, &g0)) in theta.iter().zip(g).enumerate() {
                let g = g0 + wd * p;
                let m = b1 * state.m[i] + one_minus_b1 * g;
                let v = b2 * state.v[i] + one_minus_b2 * g * g;
                state.m[i] = m;
                state.v[i] = v;
                let denom = v.sqrt() / bias2_sqrt + eps;
                out.push(p - step_size * m / denom);
            }
            out
        };
        let shape = state.var.shape().clone();
        state
            .var
            .set(&Tensor::from_vec(new_theta, shape, state.var.device())?)
    }
}

fn f32_slice<'a>(storage: &'a Storage, layout: &candle_core::Layout) -> Result<&'a [f32]> {
    match (storage, layout.contiguous_offsets()) {
        (Storage::Cpu(CpuStorage::F32(data)), Some((start, end))) => Ok(&data[start..end]),
        (Storage::Cpu(CpuStorage::F32(_)), None) => {
            candle_core::bail!("adam: expected a contiguous tensor")
        }
        _ => candle_core::bail!("adam: expected an f32 CPU tensor"),
    }
}

impl Optimizer for Adam {
    type Config = AdamConfig;

    fn new(vars: Vec<Var>, config: AdamConfig) -> Result<Self> {
        let mut params = Vec::with_capacity(vars.len());
        for var in vars {
            if var.dtype() != DType::F32 {
                candle_core::bail!("adam: expected f32 variables, got {:?}", var.dtype());
            }
            let count = var.elem_count();
            params.push(ParamState {
                var,
                m: vec![0.0; count],
                v: vec![0.0; count],
                step: 0,
            });
        }
        Ok(Self { params, config })
    }

    fn step(&mut self, grads: &GradStore) -> Result<()> {
        for state in self.params.iter_mut() {
            if let Some(grad) = grads.get(&state.var) {
                Self::update(&self.config, state, grad)?;
            }
        }
        Ok(())
    }

    fn learning_rate(&self) -> f64 {
        self.config.lr
    }

    fn set_learning_rate(&mut self, lr: f64) {
        self.config.lr = lr;
    }
}

/// Step schedule: `lr = base · gamma^(number of milestones ≤ epoch)` (PyTorch `MultiStepLR`
/// with epochs counted from 0).
#[derive(Debug, Clone, PartialEq)]
pub struct StepLr {
    /// Learning rate of epoch 0.
    pub base_lr: f64,
    /// Epochs from which the rate is multiplied by `gamma` once more.
    pub milestones: Vec<usize>,
    /// Factor per milestone passed.
    pub gamma: f64,
}

impl StepLr {
    /// Builds the schedule of a model's [`OptimConfig`].
    pub fn from_config(config: &OptimConfig) -> Self {
        Self {
            base_lr: config.lr,
            milestones: config.milestones.clone(),
            gamma: config.gamma,
        }
    }

    /// Learning rate for `epoch` (0-based).
    pub fn lr_at(&self, epoch: usize) -> f64 {
        let passed = self.milestones.iter().filter(|&&m| m <= epoch).count();
        self.base_lr * self.gamma.powi(passed as i32)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use candle_core::Device;

    fn scalar(var: &Var) -> f32 {
        var.as_tensor().to_vec1::<f32>().unwrap()[0]
    }

    #[test]
    fn adam_two_steps_match_hand_computation() {
        // θ0 = 1, loss = 3θ (gradient 3), lr 0.1, wd 0.5, β1 0.9, β2 0.999, ε 1e-8.
        // Step 1: g = 3 + 0.5·1 = 3.5; m = 0.35; v = 0.001·12.25 = 0.01225;
        //   m̂ = 0.35/0.1 = 3.5; v̂ = 0.01225/0.001 = 12.25; √v̂ = 3.5;
        //   θ1 = 1 − 0.1·3.5/(3.5 + 1e-8) = 0.9 (to 1e-9).
        // Step 2: g = 3 + 0.5·0.9 = 3.45; m = 0.9·0.35 + 0.1·3.45 = 0.66;
        //   v = 0.999·0.01225 + 0.001·11.9025 = 0.02414025;
        //   m̂ = 0.66/0.19 = 3.4736842; v̂ = 0.02414025/0.001999 = 12.0761631; √v̂ = 3.4750774;
        //   θ2 = 0.9 − 0.1·3.4736842/3.4750774 = 0.9 − 0.0999599 = 0.8000401.
        let theta = Var::new(&[1.0f32], &Device::Cpu).unwrap();
        let config = AdamConfig {
            lr: 0.1,
            weight_decay: 0.5,
            ..AdamConfig::default()
        };
        let mut adam = Adam::new(vec![theta.clone()], config).unwrap();

        let loss = theta
            .as_tensor()
            .affine(3.0, 0.0)
            .unwrap()
            .sum_all()
            .unwrap();
        adam.backward_step(&loss).unwrap();
        assert!(
            (scalar(&theta) - 0.9).abs() < 1e-6,
            "θ1 = {}",
            scalar(&theta)
        );

        let loss = theta
            .as_tensor()
            .affine(3.0, 0.0)
            .unwrap()
            .sum_all()
            .unwrap();
        adam.backward_step(&loss).unwrap();
        assert!(
            (scalar(&theta) - 0.800_040_1).abs() < 1e-6,
            "θ2 = {}",
            scalar(&theta)
        );
    }

    #[test]
    fn adam_skips_variables_without_gradient() {
        let used = Var::new(&[1.0f32], &Device::Cpu).unwrap();
        let unused = Var::new(&[2.0f32], &Device::Cpu).unwrap();
        let config = AdamConfig {
            lr: 0.1,
            weight_decay: 0.5,
            ..AdamConfig::default()
        };
        let mut adam = Adam::new(vec![used.clone(), unused.clone()], config).unwrap();
        let loss = used.as_tensor().sum_all().unwrap();
        adam.backward_step(&loss).unwrap();
        assert_eq!(scalar(&unused), 2.0);
        assert!(scalar(&used) < 1.0);
    }

    #[test]
    fn step_lr_counts_passed_milestones() {
        let schedule = StepLr {
            base_lr: 1e-4,
            milestones: vec![10, 20, 30],
            gamma: 0.1,
        };
        let cases = [
            (0, 1e-4),
            (9, 1e-4),
            (10, 1e-5),
            (19, 1e-5),
            (20, 1e-6),
            (39, 1e-7),
        ];
        for (epoch, expected) in cases {
            let lr = schedule.lr_at(epoch);
            assert!((lr - expected).abs() < 1e-15, "epoch {epoch}: {lr}");
        }
    }
}
