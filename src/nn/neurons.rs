//! Time loops of the spiking populations, shared by the fully connected and conv layers.
//!
//! Every function takes currents `(T_in, …)`, where `T_in` is 1 for a static input (the same
//! current at every step) or `steps`. It returns spikes `(steps, …)`, rates `(…)` (spike
//! count / T) or spikes average-pooled over 2×2 blocks of the last two axes. They run the fused ops of [`crate::nn::fused`]; the module `unrolled` (tests
//! only) writes the same loops as tensor ops, as a reference for values and gradients.

use candle_core::{Result, Tensor};

use crate::nn::fused::{HhOp, Lif2HhOp, LifOp, Readout};
use crate::nn::hh::{HhGates, HhLayerParams};
use crate::nn::lif::LifParams;
use crate::nn::lif2hh::Lif2HhParams;

/// LIF spikes `(steps, …)`; see [`crate::nn::lif`] for the update.
pub fn lif_spikes(currents: &Tensor, steps: usize, params: LifParams) -> Result<Tensor> {
    let op = LifOp {
        params,
        steps,
        readout: Readout::Spikes,
    };
    currents.contiguous()?.apply_op1(op)
}

/// LIF spike rates `(…)` over `steps` steps.
pub fn lif_rates(currents: &Tensor, steps: usize, params: LifParams) -> Result<Tensor> {
    let op = LifOp {
        params,
        steps,
        readout: Readout::Rates,
    };
    currents.contiguous()?.apply_op1(op)
}

/// LIF spikes averaged over 2×2 blocks of the last two axes, `(steps, …, H/2, W/2)`.
pub fn lif_pooled_spikes(currents: &Tensor, steps: usize, params: LifParams) -> Result<Tensor> {
    let op = LifOp {
        params,
        steps,
        readout: Readout::PooledSpikes,
    };
    currents.contiguous()?.apply_op1(op)
}

fn hh_op(steps: usize, params: &HhLayerParams, gates: &HhGates, readout: Readout) -> HhOp {
    HhOp {
        params: *params,
        gates: gates.clone(),
        steps,
        readout,
    }
}

/// HH spikes `(steps, …)`; see [`crate::nn::hh`]. The gate conductances in `gates` index
/// the last dimension.
pub fn hh_spikes(
    currents: &Tensor,
    steps: usize,
    params: &HhLayerParams,
    gates: &HhGates,
) -> Result<Tensor> {
    let op = hh_op(steps, params, gates, Readout::Spikes);
    currents.contiguous()?.apply_op1(op)
}

/// HH spike rates `(…)` over `steps` steps.
pub fn hh_rates(
    currents: &Tensor,
    steps: usize,
    params: &HhLayerParams,
    gates: &HhGates,
) -> Result<Tensor> {
    let op = hh_op(steps, params, gates, Readout::Rates);
    currents.contiguous()?.apply_op1(op)
}

/// HH spikes averaged over 2×2 blocks of the last two axes, `(steps, …, H/2, W/2)`.
pub fn hh_pooled_spikes(
    currents: &Tensor,
    steps: usize,
    params: &HhLayerParams,
    gates: &HhGates,
) -> Result<Tensor> {
    let op = hh_op(steps, params, gates, Readout::PooledSpikes);
    currents.contiguous()?.apply_op1(op)
}

/// Runs LIF2HH compartments over time (see [`crate::nn::lif2hh`]). `currents` drive
/// compartments 1–3, each `(T_in, …)`, and `coupling` is the weight `(1, 3)` and bias `(1,)`
/// of the `Linear(3 → 1)`. Returns `(4, …)` in the form `readout` selects.
pub fn lif2hh(
    currents: [&Tensor; 3],
    steps: usize,
    params: Lif2HhParams,
    coupling: (&Tensor, &Tensor),
    readout: Readout,
) -> Result<Tensor> {
    let stacked = Tensor::stack(&currents, 0)?;
    let coupling = Tensor::cat(&[coupling.0.flatten_all()?, coupling.1.flatten_all()?], 0)?;
    let op = Lif2HhOp {
        params,
        steps,
        readout,
    };
    stacked.apply_op2(&coupling, op)
}

/// The same loops written as tensor ops with [`crate::nn::spike::spike`], step by step.
#[cfg(test)]
pub(crate) mod unrolled {
    use super::*;
    use crate::nn::spike::spike;

    /// Returns the current of step `t` from `(T_in, …)` currents.
    fn current_at(currents: &Tensor, t: usize) -> Result<Tensor> {
        if currents.dim(0)? == 1 {
            currents.get(0)
        } else {
            currents.get(t)
        }
    }

    fn check_time_dim(currents: &Tensor, steps: usize, op: &str) -> Result<()> {
        let t_in = currents.dim(0)?;
        if t_in != 1 && t_in != steps {
            candle_core::bail!("{op}: currents must have 1 or {steps} time steps, got {t_in}");
        }
        Ok(())
    }

    /// LIF spikes `(steps, …)`; see [`crate::nn::lif`] for the update.
    pub fn lif_spikes(currents: &Tensor, steps: usize, params: LifParams) -> Result<Tensor> {
        check_time_dim(currents, steps, "lif")?;
        let shape = currents.get(0)?.shape().clone();
        let mut mem = Tensor::zeros(&shape, currents.dtype(), currents.device())?;
        let mut spikes_prev = mem.clone();
        let mut spikes = Vec::with_capacity(steps);
        for t in 0..steps {
            let keep = spikes_prev.affine(-1.0, 1.0)?;
            mem = (mem.mul(&keep)?.affine(params.decay, 0.0)? + current_at(currents, t)?)?;
            spikes_prev = spike(&mem, params.threshold, params.window)?;
            spikes.push(spikes_prev.clone());
        }
        Tensor::stack(&spikes, 0)
    }

    /// HH spikes `(steps, …)`; see [`crate::nn::hh`] for the update. The gate conductances come
    /// precomputed in `gates` and broadcast along the last dimension.
    pub fn hh_spikes(
        currents: &Tensor,
        steps: usize,
        params: &HhLayerParams,
        gates: &HhGates,
    ) -> Result<Tensor> {
        check_time_dim(currents, steps, "hh")?;
        let shape = currents.get(0)?.shape().clone();
        let device = currents.device();
        let mut v = Tensor::zeros(&shape, currents.dtype(), device)?;
        let mut spikes = Vec::with_capacity(steps);
        for t in 0..steps {
            let g_na = Tensor::new(gates.g_na(t), device)?;
            let g_k = Tensor::new(gates.g_k(t), device)?;
            let i_na = v.affine(1.0, -params.e_na)?.broadcast_mul(&g_na)?;
            let i_k = v.affine(1.0, -params.e_k)?.broadcast_mul(&g_k)?;
            let i_l = v.affine(params.g_l, -params.g_l * params.e_l)?;
            let mut ionic = ((i_na + i_k)? + i_l)?;
            if params.detach_ionic {
                ionic = ionic.detach();
            }
            let drive = (current_at(currents, t)? - ionic)?;
            v = (v + drive.affine(params.dt, 0.0)?)?;
            spikes.push(spike(&v, params.threshold, params.window)?);
        }
        Tensor::stack(&spikes, 0)
    }

    /// LIF2HH compartment spikes: four `(steps, …)` tensors, compartments 1–3 driven by `currents`
    /// and compartment 4 by `lif_fc` (weight `(1, 3)`, bias `(1,)`) applied to the previous
    /// potentials of compartments 1–3. See [`crate::nn::lif2hh`].
    pub fn lif2hh_spikes(
        currents: [&Tensor; 3],
        steps: usize,
        params: Lif2HhParams,
        lif_fc_weight: &Tensor,
        lif_fc_bias: &Tensor,
    ) -> Result<[Tensor; 4]> {
        for current in currents {
            check_time_dim(current, steps, "lif2hh")?;
        }
        let shape = currents[0].get(0)?.shape().clone();
        let zeros = Tensor::zeros(&shape, currents[0].dtype(), currents[0].device())?;
        let weights = lif_fc_weight.flatten_all()?;
        let bias = lif_fc_bias.flatten_all()?.get(0)?;
        let mut mem = [zeros.clone(), zeros.clone(), zeros.clone(), zeros.clone()];
        let mut prev = mem.clone();
        let mut out: [Vec<Tensor>; 4] = Default::default();
        for t in 0..steps {
            let mut inner = bias.clone();
            for (k, m) in mem.iter().take(3).enumerate() {
                inner = m.broadcast_mul(&weights.get(k)?)?.broadcast_add(&inner)?;
            }
            for k in 0..4 {
                let drive = if k < 3 {
                    current_at(currents[k], t)?
                } else {
                    inner.clone()
                };
                let keep = prev[k].affine(-1.0, 1.0)?;
                mem[k] = (mem[k].mul(&keep)?.affine(params.decay, 0.0)? + drive)?;
                prev[k] = spike(&mem[k], params.threshold, params.window)?;
                out[k].push(prev[k].clone());
            }
        }
        let [a, b, c, d] = out;
        Ok([
            Tensor::stack(&a, 0)?,
            Tensor::stack(&b, 0)?,
            Tensor::stack(&c, 0)?,
            Tensor::stack(&d, 0)?,
        ])
    }
}
