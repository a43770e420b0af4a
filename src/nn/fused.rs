//! Fused time loops: each spiking population's whole T-step recurrence as one candle op.
//!
//! Written with tensor ops, one LIF step is five graph nodes and one HH step about a dozen, so
//! T = 15 steps build hundreds of nodes whose backward passes allocate a tensor each. The
//! neurons of a population are independent of each other, so the recurrence of every neuron
//! is a scalar loop over time. These ops run that loop in place over flat f32 arrays. Their
//! backward passes recompute each neuron's trajectory in chunks, so the memory stays
//! T × chunk. They then run backpropagation through time by hand, with the surrogate gradient
//! of [`crate::nn::spike`] and the dependencies of the unrolled graph, including the gradient
//! through the reset factor `1 − s`. `tests` at the bottom check values and
//! gradients against the unrolled tensor-op version.
//!
//! The backward passes of the LIF and HH ops run their chunks in parallel on rayon's pool.
//!
//! Layouts: currents `(T_in, N)` flattened, with `T_in` 1 (the same current every step) or
//! T; outputs either spikes `(T, N)` or rates `(N)` (spike count / T).

use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Result, Shape, Storage, Tensor};
use rayon::prelude::*;

use crate::nn::hh::{HhGates, HhLayerParams};
use crate::nn::lif::LifParams;
use crate::nn::lif2hh::Lif2HhParams;

/// Neurons per chunk in the backward passes: the recomputed trajectory is T × CHUNK floats.
const CHUNK: usize = 1024;

/// Output form of a fused population.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readout {
    /// Every step's spikes, `(T, N)`.
    Spikes,
    /// Spike count divided by T, `(N)`.
    Rates,
    /// Every step's spikes averaged over 2×2 blocks of the last two axes (H, W even),
    /// `(T, …, H/2, W/2)`: the average pooling of the conv models, fused.
    PooledSpikes,
}

/// Time axis of a fused op's input (T_in rows of N neurons, run for `steps`) and where each
/// neuron's spike lands in the output.
#[derive(Debug, Clone)]
struct TimeLayout {
    t_in: usize,
    neurons: usize,
    steps: usize,
    readout: Readout,
    /// Output values per step (N, or N/4 when pooled).
    out_per_step: usize,
    /// Pooled output index of each neuron (empty unless pooled).
    pool_index: Vec<usize>,
    /// Output shape.
    out_shape: Shape,
}

impl TimeLayout {
    fn new(shape: &Shape, steps: usize, readout: Readout, op: &str) -> Result<Self> {
        let dims = shape.dims();
        if dims.is_empty() {
            candle_core::bail!("{op}: currents need a leading time axis, got a scalar");
        }
        let t_in = dims[0];
        if t_in != 1 && t_in != steps {
            candle_core::bail!("{op}: currents must have 1 or {steps} time steps, got {t_in}");
        }
        let neurons = shape.elem_count() / t_in;
        let rest = &dims[1..];
        let mut out_dims = Vec::with_capacity(rest.len() + 1);
        let mut pool_index = Vec::new();
        let out_per_step = match readout {
            Readout::Spikes | Readout::Rates => {
                out_dims.extend_from_slice(rest);
                neurons
            }
            Readout::PooledSpikes => {
                let [.., h, w] = rest else {
                    candle_core::bail!("{op}: pooling needs (T_in, …, H, W), got {dims:?}");
                };
                let (h, w) = (*h, *w);
                if h % 2 != 0 || w % 2 != 0 {
                    candle_core::bail!("{op}: 2×2 pooling needs even H and W, got {h}×{w}");
                }
                out_dims.extend_from_slice(&rest[..rest.len() - 2]);
                out_dims.extend_from_slice(&[h / 2, w / 2]);
                pool_index = (0..neurons)
                    .map(|j| {
                        let (plane, y, x) = (j / (h * w), (j / w) % h, j % w);
                        plane * (h / 2) * (w / 2) + (y / 2) * (w / 2) + x / 2
                    })
                    .collect();
                neurons / 4
            }
        };
        if readout != Readout::Rates {
            out_dims.insert(0, steps);
        }
        Ok(Self {
            t_in,
            neurons,
            steps,
            readout,
            out_per_step,
            pool_index,
            out_shape: Shape::from(out_dims),
        })
    }

    /// Offset of step t's current of neuron 0.
    fn row(&self, t: usize) -> usize {
        if self.t_in == 1 {
            0
        } else {
            t * self.neurons
        }
    }

    /// Number of output values.
    fn out_len(&self) -> usize {
        match self.readout {
            Readout::Rates => self.out_per_step,
            Readout::Spikes | Readout::PooledSpikes => self.steps * self.out_per_step,
        }
    }

    /// Output slot that neuron j's spike of step t adds to.
    fn slot(&self, t: usize, j: usize) -> usize {
        match self.readout {
            Readout::Spikes => t * self.neurons + j,
            Readout::Rates => j,
            Readout::PooledSpikes => t * self.out_per_step + self.pool_index[j],
        }
    }

    /// Weight of one spike in its output slot: 1, 1/T for rates, 1/4 when pooled.
    fn spike_weight(&self) -> f32 {
        match self.readout {
            Readout::Spikes => 1.0,
            Readout::Rates => 1.0 / self.steps as f32,
            Readout::PooledSpikes => 0.25,
        }
    }

    /// dL/ds_t of neuron j, from the gradient of the op's output.
    fn spike_grad(&self, grad: &[f32], t: usize, j: usize) -> f32 {
        grad[self.slot(t, j)] * self.spike_weight()
    }
}

fn f32_data<'a>(storage: &'a CpuStorage, layout: &Layout, op: &str) -> Result<&'a [f32]> {
    match (storage, layout.contiguous_offsets()) {
        (CpuStorage::F32(data), Some((start, end))) => Ok(&data[start..end]),
        (CpuStorage::F32(_), None) => candle_core::bail!("{op}: input must be contiguous"),
        _ => candle_core::bail!("{op}: expected f32 input"),
    }
}

/// Runs `f` on the contiguous f32 values of `tensor`.
fn with_f32<R>(tensor: &Tensor, op: &str, f: impl FnOnce(&[f32]) -> R) -> Result<R> {
    let tensor = tensor.contiguous()?;
    let (storage, layout) = tensor.storage_and_layout();
    match &*storage {
        Storage::Cpu(cpu) => Ok(f(f32_data(cpu, layout, op)?)),
        _ => candle_core::bail!("{op}: expected a CPU tensor"),
    }
}

/// Runs `chunk_grad(start, len)` on every chunk of neurons in parallel and assembles the
/// current gradient `(T_in, N)`. Each chunk returns its own `(T_in, len)` gradient (summed
/// over steps when `T_in` is 1).
fn chunked_current_grads(
    time: &TimeLayout,
    chunk_grad: impl Fn(usize, usize) -> Vec<f32> + Sync,
) -> Vec<f32> {
    let starts: Vec<usize> = (0..time.neurons).step_by(CHUNK).collect();
    let parts: Vec<Vec<f32>> = starts
        .par_iter()
        .map(|&start| chunk_grad(start, CHUNK.min(time.neurons - start)))
        .collect();

    let mut out = vec![0f32; time.t_in * time.neurons];
    for (&start, part) in starts.iter().zip(&parts) {
        let len = part.len() / time.t_in;
        for r in 0..time.t_in {
            let dst = r * time.neurons + start;
            out[dst..dst + len].copy_from_slice(&part[r * len..(r + 1) * len]);
        }
    }
    out
}

/// Row of step t in a chunk's `(T_in, len)` gradient.
fn local_row(time: &TimeLayout, t: usize, len: usize) -> usize {
    if time.t_in == 1 {
        0
    } else {
        t * len
    }
}

fn window_pass(x: f32, threshold: f32, window: f32) -> f32 {
    if (x - threshold).abs() < window {
        1.0
    } else {
        0.0
    }
}

/// LIF population over time (see [`crate::nn::lif`]).
#[derive(Debug, Clone, Copy)]
pub struct LifOp {
    /// Neuron constants.
    pub params: LifParams,
    /// Number of steps T.
    pub steps: usize,
    /// Spikes per step or rates.
    pub readout: Readout,
}

impl CustomOp1 for LifOp {
    fn name(&self) -> &'static str {
        "lif-time-loop"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let time = TimeLayout::new(layout.shape(), self.steps, self.readout, "lif")?;
        let currents = f32_data(storage, layout, "lif")?;
        let (decay, threshold) = (self.params.decay as f32, self.params.threshold as f32);
        let weight = time.spike_weight();
        let n = time.neurons;
        let mut mem = vec![0f32; n];
        let mut fired = vec![0f32; n];
        let mut out = vec![0f32; time.out_len()];
        for t in 0..self.steps {
            let row = &currents[time.row(t)..time.row(t) + n];
            for j in 0..n {
                mem[j] = mem[j] * decay * (1.0 - fired[j]) + row[j];
                fired[j] = f32::from(mem[j] > threshold);
                out[time.slot(t, j)] += fired[j] * weight;
            }
        }
        Ok((CpuStorage::F32(out), time.out_shape))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad_res: &Tensor) -> Result<Option<Tensor>> {
        let time = TimeLayout::new(arg.shape(), self.steps, self.readout, "lif backward")?;
        let (decay, threshold) = (self.params.decay as f32, self.params.threshold as f32);
        let window = self.params.window as f32;
        let steps = self.steps;
        let grad_currents = with_f32(arg, "lif backward", |currents| {
            with_f32(grad_res, "lif backward", |grad| {
                chunked_current_grads(&time, |start, len| {
                    let mut out = vec![0f32; time.t_in * len];
                    let mut mem_hist = vec![0f32; steps * len];
                    // Recompute the chunk's potentials mem_t.
                    for c in 0..len {
                        let (mut mem, mut fired) = (0f32, 0f32);
                        for t in 0..steps {
                            mem = mem * decay * (1.0 - fired) + currents[time.row(t) + start + c];
                            fired = f32::from(mem > threshold);
                            mem_hist[t * len + c] = mem;
                        }
                    }
                    // Backpropagate through time; g_next is dL/dmem_{t+1}.
                    for c in 0..len {
                        let j = start + c;
                        let mut g_next = 0f32;
                        for t in (0..steps).rev() {
                            let mem = mem_hist[t * len + c];
                            let fired = f32::from(mem > threshold);
                            let g_spike = time.spike_grad(grad, t, j) - g_next * mem * decay;
                            let g_mem = g_spike * window_pass(mem, threshold, window)
                                + g_next * decay * (1.0 - fired);
                            out[local_row(&time, t, len) + c] += g_mem;
                            g_next = g_mem;
                        }
                    }
                    out
                })
            })
        })??;
        Ok(Some(Tensor::from_vec(
            grad_currents,
            arg.shape(),
            arg.device(),
        )?))
    }
}

/// HH population over time (see [`crate::nn::hh`]); the last axis indexes the gate units.
#[derive(Debug, Clone)]
pub struct HhOp {
    /// Neuron constants.
    pub params: HhLayerParams,
    /// Conductances of every step, per unit.
    pub gates: HhGates,
    /// Number of steps T.
    pub steps: usize,
    /// Spikes per step or rates.
    pub readout: Readout,
}

impl HhOp {
    /// Potential after one step from `v` with current `i` and the conductances `g_na`, `g_k`.
    #[inline]
    fn step_with(&self, v: f32, i: f32, g_na: f32, g_k: f32) -> f32 {
        let p = &self.params;
        let i_na = g_na * (v - p.e_na as f32);
        let i_k = g_k * (v - p.e_k as f32);
        let i_l = p.g_l as f32 * (v - p.e_l as f32);
        v + (i - i_na - i_k - i_l) * p.dt as f32
    }

    /// ∂v_t/∂v_{t−1} of step t: 1 − dt·(gNa + gK + gL), or 1 when ionic currents are detached.
    fn carry(&self, t: usize, unit: usize) -> f32 {
        let p = &self.params;
        if p.detach_ionic {
            1.0
        } else {
            let g = self.gates.g_na(t)[unit] + self.gates.g_k(t)[unit] + p.g_l as f32;
            1.0 - p.dt as f32 * g
        }
    }

    fn check_units(&self, shape: &Shape) -> Result<usize> {
        let units = self.gates.units();
        let last = shape.dims().last().copied().unwrap_or(0);
        if last != units {
            candle_core::bail!("hh: last axis has {last} neurons, gates are for {units}");
        }
        Ok(units)
    }
}

impl CustomOp1 for HhOp {
    fn name(&self) -> &'static str {
        "hh-time-loop"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let time = TimeLayout::new(layout.shape(), self.steps, self.readout, "hh")?;
        let units = self.check_units(layout.shape())?;
        let currents = f32_data(storage, layout, "hh")?;
        let threshold = self.params.threshold as f32;
        let weight = time.spike_weight();
        let n = time.neurons;
        let mut v = vec![0f32; n];
        let mut out = vec![0f32; time.out_len()];
        // Neurons j and j + units share a gate unit, so each block of `units` neurons walks the
        // step's conductance rows in order, with no index arithmetic per neuron.
        for t in 0..self.steps {
            let row = time.row(t);
            let (g_na, g_k) = (self.gates.g_na(t), self.gates.g_k(t));
            let blocks = v
                .chunks_mut(units)
                .zip(currents[row..row + n].chunks(units));
            for (block, (v_block, i_block)) in blocks.enumerate() {
                for (unit, (v_j, &i_j)) in v_block.iter_mut().zip(i_block).enumerate() {
                    *v_j = self.step_with(*v_j, i_j, g_na[unit], g_k[unit]);
                    let j = block * units + unit;
                    out[time.slot(t, j)] += f32::from(*v_j > threshold) * weight;
                }
            }
        }
        Ok((CpuStorage::F32(out), time.out_shape))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad_res: &Tensor) -> Result<Option<Tensor>> {
        let time = TimeLayout::new(arg.shape(), self.steps, self.readout, "hh backward")?;
        let units = self.check_units(arg.shape())?;
        let (threshold, window) = (self.params.threshold as f32, self.params.window as f32);
        let dt = self.params.dt as f32;
        let steps = self.steps;
        let grad_currents = with_f32(arg, "hh backward", |currents| {
            with_f32(grad_res, "hh backward", |grad| {
                chunked_current_grads(&time, |start, len| {
                    let mut out = vec![0f32; time.t_in * len];
                    let mut v_hist = vec![0f32; steps * len];
                    let unit_of: Vec<usize> = (start..start + len).map(|j| j % units).collect();
                    // Step-major loops: each step reads one contiguous row of currents.
                    let mut v = vec![0f32; len];
                    for t in 0..steps {
                        let row = time.row(t) + start;
                        let (g_na, g_k) = (self.gates.g_na(t), self.gates.g_k(t));
                        for c in 0..len {
                            let unit = unit_of[c];
                            v[c] = self.step_with(v[c], currents[row + c], g_na[unit], g_k[unit]);
                            v_hist[t * len + c] = v[c];
                        }
                    }
                    // g_next is dL/dv_{t+1}; v_t reaches v_{t+1} through step t+1's carry.
                    let mut g_next = vec![0f32; len];
                    for t in (0..steps).rev() {
                        let local = local_row(&time, t, len);
                        for c in 0..len {
                            let j = start + c;
                            let through_next = if t + 1 < steps {
                                g_next[c] * self.carry(t + 1, unit_of[c])
                            } else {
                                0.0
                            };
                            let g_v = time.spike_grad(grad, t, j)
                                * window_pass(v_hist[t * len + c], threshold, window)
                                + through_next;
                            out[local + c] += g_v * dt;
                            g_next[c] = g_v;
                        }
                    }
                    out
                })
            })
        })??;
        Ok(Some(Tensor::from_vec(
            grad_currents,
            arg.shape(),
            arg.device(),
        )?))
    }
}

/// LIF2HH units over time (see [`crate::nn::lif2hh`]).
///
/// First argument: currents of compartments 1–3 stacked, `(3, T_in, …)`. Second: the
/// coupling `[a₁, a₂, a₃, b]`. Output: spikes `(4, T, …)` or rates `(4, …)`.
#[derive(Debug, Clone, Copy)]
pub struct Lif2HhOp {
    /// Neuron constants.
    pub params: Lif2HhParams,
    /// Number of steps T.
    pub steps: usize,
    /// Spikes per step or rates.
    pub readout: Readout,
}

/// State of one unit's four compartments.
#[derive(Debug, Clone, Copy, Default)]
struct Compartments {
    mem: [f32; 4],
    fired: [f32; 4],
}

impl Lif2HhOp {
    /// Advances one unit by one step with compartment currents `i` and coupling `w`.
    fn step(&self, state: &mut Compartments, i: [f32; 3], w: [f32; 4]) {
        let decay = self.params.decay as f32;
        let threshold = self.params.threshold as f32;
        let inner = w[0] * state.mem[0] + w[1] * state.mem[1] + w[2] * state.mem[2] + w[3];
        let drive = [i[0], i[1], i[2], inner];
        for ((mem, fired), drive) in state.mem.iter_mut().zip(&mut state.fired).zip(drive) {
            *mem = *mem * decay * (1.0 - *fired) + drive;
            *fired = f32::from(*mem > threshold);
        }
    }

    fn time_layout(&self, shape: &Shape) -> Result<TimeLayout> {
        let dims = shape.dims();
        if dims.len() < 2 || dims[0] != 3 {
            candle_core::bail!("lif2hh: currents must be (3, T_in, …), got {dims:?}");
        }
        let inner = Shape::from(dims[1..].to_vec());
        TimeLayout::new(&inner, self.steps, self.readout, "lif2hh")
    }
}

fn coupling_values(data: &[f32]) -> Result<[f32; 4]> {
    match data {
        &[a1, a2, a3, b] => Ok([a1, a2, a3, b]),
        _ => candle_core::bail!("lif2hh: coupling must have 4 values, got {}", data.len()),
    }
}

impl CustomOp2 for Lif2HhOp {
    fn name(&self) -> &'static str {
        "lif2hh-time-loop"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let time = self.time_layout(l1.shape())?;
        let currents = f32_data(s1, l1, "lif2hh")?;
        let w = coupling_values(f32_data(s2, l2, "lif2hh")?)?;
        let n = time.neurons;
        let block = time.t_in * n;
        let per_compartment = time.out_len();
        let weight = time.spike_weight();
        let mut out = vec![0f32; 4 * per_compartment];
        let mut states = vec![Compartments::default(); n];
        for t in 0..self.steps {
            let row = time.row(t);
            for (j, state) in states.iter_mut().enumerate() {
                let i = [
                    currents[row + j],
                    currents[block + row + j],
                    currents[2 * block + row + j],
                ];
                self.step(state, i, w);
                let slot = time.slot(t, j);
                for k in 0..4 {
                    out[k * per_compartment + slot] += state.fired[k] * weight;
                }
            }
        }
        let mut dims = vec![4];
        dims.extend(time.out_shape.dims());
        Ok((CpuStorage::F32(out), Shape::from(dims)))
    }

    fn bwd(
        &self,
        arg1: &Tensor,
        arg2: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let time = self.time_layout(arg1.shape())?;
        let w = with_f32(arg2, "lif2hh backward", coupling_values)??;
        let (decay, threshold) = (self.params.decay as f32, self.params.threshold as f32);
        let window = self.params.window as f32;
        let steps = self.steps;
        let n = time.neurons;
        let block = time.t_in * n;
        let per_compartment = time.out_len();

        let (grad_currents, grad_coupling) = with_f32(arg1, "lif2hh backward", |currents| {
            with_f32(grad_res, "lif2hh backward", |grad| {
                let mut out = vec![0f32; 3 * block];
                let mut coupling_sum = [0f64; 4];
                // mem_hist[(t·4 + k)·CHUNK + c]: potential of compartment k after step t.
                let mut mem_hist = vec![0f32; steps * 4 * CHUNK];
                for start in (0..n).step_by(CHUNK) {
                    let len = CHUNK.min(n - start);
                    for c in 0..len {
                        let mut state = Compartments::default();
                        for t in 0..steps {
                            let at = time.row(t) + start + c;
                            let i = [currents[at], currents[block + at], currents[2 * block + at]];
                            self.step(&mut state, i, w);
                            for k in 0..4 {
                                mem_hist[(t * 4 + k) * CHUNK + c] = state.mem[k];
                            }
                        }
                    }

                    for c in 0..len {
                        let j = start + c;
                        let mut g_next = [0f32; 4];
                        for t in (0..steps).rev() {
                            let mut g_mem = [0f32; 4];
                            for k in 0..4 {
                                let mem = mem_hist[(t * 4 + k) * CHUNK + c];
                                let fired = f32::from(mem > threshold);
                                let upstream = grad[k * per_compartment + time.slot(t, j)]
                                    * time.spike_weight();
                                let g_spike = upstream - g_next[k] * mem * decay;
                                g_mem[k] = g_spike * window_pass(mem, threshold, window)
                                    + g_next[k] * decay * (1.0 - fired);
                                // Compartments 1–3 also drive compartment 4 at step t+1.
                                if k < 3 {
                                    g_mem[k] += g_next[3] * w[k];
                                }
                            }
                            // Compartment 4's drive at step t used the step-(t−1) potentials.
                            coupling_sum[3] += f64::from(g_mem[3]);
                            if t > 0 {
                                for k in 0..3 {
                                    let prev = mem_hist[((t - 1) * 4 + k) * CHUNK + c];
                                    coupling_sum[k] += f64::from(g_mem[3] * prev);
                                }
                            }
                            for k in 0..3 {
                                out[k * block + time.row(t) + j] += g_mem[k];
                            }
                            g_next = g_mem;
                        }
                    }
                }
                (out, coupling_sum.map(|g| g as f32))
            })
        })??;

        let grad_currents = Tensor::from_vec(grad_currents, arg1.shape(), arg1.device())?;
        let grad_coupling = Tensor::from_vec(grad_coupling.to_vec(), arg2.shape(), arg2.device())?;
        Ok((Some(grad_currents), Some(grad_coupling)))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::nn::neurons::{self, unrolled};
    use candle_core::{Device, Var};

    /// Deterministic values in [lo, hi) from a 64-bit LCG.
    fn values(count: usize, seed: u64, lo: f32, hi: f32) -> Vec<f32> {
        let mut state = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        (0..count)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                lo + (hi - lo) * ((state >> 40) as f32 / (1u64 << 24) as f32)
            })
            .collect()
    }

    fn tensor(data: Vec<f32>, dims: &[usize]) -> Tensor {
        Tensor::from_vec(data, dims, &Device::Cpu).unwrap()
    }

    /// Loss Σ out·weights, so every output element sends a different gradient.
    fn weighted_sum(out: &Tensor, seed: u64) -> Tensor {
        let weights = tensor(values(out.elem_count(), seed, -1.0, 1.0), out.dims());
        out.mul(&weights).unwrap().sum_all().unwrap()
    }

    fn flat(t: &Tensor) -> Vec<f32> {
        t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
    }

    /// Asserts equal spikes and gradients within 1e-4 relative to the largest magnitude.
    fn assert_close(name: &str, fused: &[f32], reference: &[f32]) {
        assert_eq!(fused.len(), reference.len(), "{name}: lengths");
        let scale = reference.iter().fold(1e-6f32, |m, v| m.max(v.abs()));
        for (i, (a, b)) in fused.iter().zip(reference).enumerate() {
            assert!(
                (a - b).abs() <= 1e-4 * scale,
                "{name}[{i}]: fused {a}, unrolled {b}"
            );
        }
    }

    fn any_nonzero(values: &[f32]) -> bool {
        values.iter().any(|v| *v != 0.0)
    }

    const STEPS: usize = 6;

    #[test]
    fn lif_matches_unrolled_loop() {
        let params = LifParams::CLASSIFIER;
        // 3·700 neurons span three backward chunks of 1024.
        for (t_in, width) in [(1, 7), (STEPS, 7), (1, 700), (STEPS, 700)] {
            let dims = [t_in, 3, width];
            let currents =
                Var::from_tensor(&tensor(values(t_in * 3 * width, 1, -0.5, 1.5), &dims)).unwrap();
            let fused = neurons::lif_spikes(currents.as_tensor(), STEPS, params).unwrap();
            let reference = unrolled::lif_spikes(currents.as_tensor(), STEPS, params).unwrap();
            assert_eq!(
                flat(&fused),
                flat(&reference),
                "lif spikes, t_in {t_in} width {width}"
            );
            let g_fused = weighted_sum(&fused, 2).backward().unwrap();
            let g_ref = weighted_sum(&reference, 2).backward().unwrap();
            let g_fused = flat(g_fused.get(&currents).unwrap());
            let g_ref = flat(g_ref.get(&currents).unwrap());
            assert!(any_nonzero(&g_ref), "test currents never reach the window");
            assert_close(
                &format!("lif grad, t_in {t_in} width {width}"),
                &g_fused,
                &g_ref,
            );
        }
    }

    #[test]
    fn lif_rates_match_mean_of_spikes() {
        let params = LifParams::CLASSIFIER;
        let currents = Var::from_tensor(&tensor(values(2 * 5, 3, -0.5, 1.5), &[1, 2, 5])).unwrap();
        let rates = neurons::lif_rates(currents.as_tensor(), STEPS, params).unwrap();
        let reference = unrolled::lif_spikes(currents.as_tensor(), STEPS, params)
            .unwrap()
            .mean(0)
            .unwrap();
        assert_close("lif rates", &flat(&rates), &flat(&reference));
        let g_fused = weighted_sum(&rates, 4).backward().unwrap();
        let g_ref = weighted_sum(&reference, 4).backward().unwrap();
        assert_close(
            "lif rates grad",
            &flat(g_fused.get(&currents).unwrap()),
            &flat(g_ref.get(&currents).unwrap()),
        );
    }

    /// Larger dt and rates than the classifiers use, so the gates open within a few steps
    /// and the conductance terms of the gradient matter.
    fn hh_test_params(detach_ionic: bool) -> HhLayerParams {
        HhLayerParams {
            threshold: 2.0,
            window: 1.5,
            dt: 0.2,
            rate_scale: 0.5,
            detach_ionic,
            ..HhLayerParams::FC
        }
    }

    #[test]
    fn hh_matches_unrolled_loop() {
        let units = 5;
        for detach_ionic in [false, true] {
            let params = hh_test_params(detach_ionic);
            let rates = tensor(values(6 * units, 5, 0.0, 0.5), &[6, units]);
            let gates = HhGates::new(&rates, STEPS, &params).unwrap();
            // 450·5 neurons span three backward chunks of 1024.
            for (t_in, rows) in [(1, 3), (STEPS, 3), (STEPS, 450)] {
                let dims = [t_in, rows, units];
                let currents =
                    Var::from_tensor(&tensor(values(t_in * rows * units, 6, 0.0, 20.0), &dims))
                        .unwrap();
                let fused =
                    neurons::hh_spikes(currents.as_tensor(), STEPS, &params, &gates).unwrap();
                let reference =
                    unrolled::hh_spikes(currents.as_tensor(), STEPS, &params, &gates).unwrap();
                let case = format!("hh detach {detach_ionic} t_in {t_in} rows {rows}");
                assert_eq!(flat(&fused), flat(&reference), "{case}: spikes");
                let g_fused = weighted_sum(&fused, 7).backward().unwrap();
                let g_ref = weighted_sum(&reference, 7).backward().unwrap();
                let g_ref = flat(g_ref.get(&currents).unwrap());
                assert!(any_nonzero(&g_ref), "{case}: no gradient in the reference");
                assert_close(&case, &flat(g_fused.get(&currents).unwrap()), &g_ref);
            }
        }
    }

    #[test]
    fn lif2hh_matches_unrolled_loop() {
        let params = crate::nn::lif2hh::Lif2HhParams::CONV;
        let weight = Var::from_tensor(&tensor(vec![0.6, -0.4, 0.9], &[1, 3])).unwrap();
        let bias = Var::from_tensor(&tensor(vec![0.1], &[1])).unwrap();
        for t_in in [1, STEPS] {
            let make = |seed| {
                Var::from_tensor(&tensor(
                    values(t_in * 2 * 6, seed, -0.3, 0.9),
                    &[t_in, 2, 6],
                ))
                .unwrap()
            };
            let currents = [make(11), make(12), make(13)];
            let inputs = [
                currents[0].as_tensor(),
                currents[1].as_tensor(),
                currents[2].as_tensor(),
            ];
            let coupling = (weight.as_tensor(), bias.as_tensor());
            let fused = neurons::lif2hh(inputs, STEPS, params, coupling, Readout::Spikes).unwrap();
            let reference = unrolled::lif2hh_spikes(
                inputs,
                STEPS,
                params,
                weight.as_tensor(),
                bias.as_tensor(),
            )
            .unwrap();
            let reference = Tensor::stack(&reference, 0).unwrap();
            let case = format!("lif2hh t_in {t_in}");
            assert_eq!(flat(&fused), flat(&reference), "{case}: spikes");
            let g_fused = weighted_sum(&fused, 14).backward().unwrap();
            let g_ref = weighted_sum(&reference, 14).backward().unwrap();
            for (k, current) in currents.iter().enumerate() {
                let g_ref_k = flat(g_ref.get(current).unwrap());
                assert!(
                    any_nonzero(&g_ref_k),
                    "{case}: compartment {k} has no gradient"
                );
                let name = format!("{case} compartment {k}");
                assert_close(&name, &flat(g_fused.get(current).unwrap()), &g_ref_k);
            }
            for (name, var) in [("weight", &weight), ("bias", &bias)] {
                let g_ref_v = flat(g_ref.get(var).unwrap());
                assert!(
                    any_nonzero(&g_ref_v),
                    "{case}: coupling {name} has no gradient"
                );
                let label = format!("{case} coupling {name}");
                assert_close(&label, &flat(g_fused.get(var).unwrap()), &g_ref_v);
            }
        }
    }

    #[test]
    fn lif2hh_rates_match_mean_of_spikes() {
        let params = crate::nn::lif2hh::Lif2HhParams::FC;
        let weight = tensor(vec![0.3, 0.2, 0.5], &[1, 3]);
        let bias = tensor(vec![0.4], &[1]);
        let currents: Vec<Tensor> = (0..3)
            .map(|k| tensor(values(2 * 4, 20 + k, 0.0, 3.0), &[1, 2, 4]))
            .collect();
        let inputs = [&currents[0], &currents[1], &currents[2]];
        let rates =
            neurons::lif2hh(inputs, STEPS, params, (&weight, &bias), Readout::Rates).unwrap();
        let spikes =
            neurons::lif2hh(inputs, STEPS, params, (&weight, &bias), Readout::Spikes).unwrap();
        assert_close(
            "lif2hh rates",
            &flat(&rates),
            &flat(&spikes.mean(1).unwrap()),
        );
    }

    #[test]
    fn pooled_readout_matches_pooling_of_spikes() {
        let params = LifParams::CLASSIFIER;
        let dims = [1, 2, 3, 4, 6];
        let count = dims.iter().product();
        let currents = Var::from_tensor(&tensor(values(count, 31, -0.5, 1.5), &dims)).unwrap();
        let pooled = neurons::lif_pooled_spikes(currents.as_tensor(), STEPS, params).unwrap();
        let spikes = neurons::lif_spikes(currents.as_tensor(), STEPS, params).unwrap();
        let reference = crate::nn::lif::pool_over_time(&spikes).unwrap();
        assert_eq!(pooled.dims(), &[STEPS, 2, 3, 2, 3]);
        assert_close("pooled values", &flat(&pooled), &flat(&reference));
        let g_fused = weighted_sum(&pooled, 32).backward().unwrap();
        let g_ref = weighted_sum(&reference, 32).backward().unwrap();
        let g_ref = flat(g_ref.get(&currents).unwrap());
        assert!(
            any_nonzero(&g_ref),
            "pooled test currents never reach the window"
        );
        assert_close(
            "pooled grad",
            &flat(g_fused.get(&currents).unwrap()),
            &g_ref,
        );
    }

    #[test]
    fn pooled_readout_rejects_odd_maps() {
        let currents = tensor(vec![0.0; 3 * 3], &[1, 3, 3]);
        let result = neurons::lif_pooled_spikes(&currents, STEPS, LifParams::CLASSIFIER);
        assert!(result.is_err());
    }
}
