//! Heaviside spike with a rectangular surrogate gradient.
//!
//! Forward: `s = 1` where `x > θ`, else `0` (so `x = θ` gives 0).
//! Backward: `∂s/∂x = 1` where `|x − θ| < w`, else `0`; both window edges pass nothing.
//!
//! The step is a [`CustomOp1`] whose backward is a second custom op that multiplies the
//! incoming gradient by the window mask in one pass. Shapes are unchanged: any tensor in,
//! the same shape out. CPU only, f32 and f64.

use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Result, Shape, Tensor};

/// The step function `x > threshold` with its surrogate window, as a candle custom op.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpikeOp {
    /// Firing threshold θ, in the units of the input.
    pub threshold: f64,
    /// Half-width w of the window where the gradient passes, in the units of the input.
    pub window: f64,
}

/// Spikes `x` at `threshold`: 1 where `x > threshold`, else 0. The gradient passes unchanged
/// where `|x − threshold| < window` and is zero elsewhere.
pub fn spike(x: &Tensor, threshold: f64, window: f64) -> Result<Tensor> {
    x.contiguous()?.apply_op1(SpikeOp { threshold, window })
}

/// Returns the contiguous slice of a storage for its layout, or an error naming the op.
fn contiguous_slice<'a, T: candle_core::WithDType>(
    data: &'a [T],
    layout: &Layout,
    op: &str,
) -> Result<&'a [T]> {
    match layout.contiguous_offsets() {
        Some((start, end)) => Ok(&data[start..end]),
        None => candle_core::bail!("{op}: input must be contiguous, got strides {:?}", layout),
    }
}

impl CustomOp1 for SpikeOp {
    fn name(&self) -> &'static str {
        "spike"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let shape = layout.shape().clone();
        let out = match storage {
            CpuStorage::F32(data) => {
                let x = contiguous_slice(data, layout, "spike")?;
                let threshold = self.threshold as f32;
                let s: Vec<f32> = x.iter().map(|&v| f32::from(v > threshold)).collect();
                CpuStorage::F32(s)
            }
            CpuStorage::F64(data) => {
                let x = contiguous_slice(data, layout, "spike")?;
                let s: Vec<f64> = x.iter().map(|&v| f64::from(v > self.threshold)).collect();
                CpuStorage::F64(s)
            }
            other => candle_core::bail!("spike: expected f32 or f64, got {:?}", other.dtype()),
        };
        Ok((out, shape))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad_res: &Tensor) -> Result<Option<Tensor>> {
        let grad = arg.apply_op2_no_bwd(&grad_res.contiguous()?, &SpikeWindowGrad(*self))?;
        Ok(Some(grad))
    }
}

/// Backward of [`SpikeOp`]: the incoming gradient where `|x − θ| < w`, zero elsewhere.
struct SpikeWindowGrad(SpikeOp);

impl CustomOp2 for SpikeWindowGrad {
    fn name(&self) -> &'static str {
        "spike-window-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let shape = l1.shape().clone();
        let SpikeOp { threshold, window } = self.0;
        let out = match (s1, s2) {
            (CpuStorage::F32(x), CpuStorage::F32(g)) => {
                let x = contiguous_slice(x, l1, "spike backward")?;
                let g = contiguous_slice(g, l2, "spike backward")?;
                let (threshold, window) = (threshold as f32, window as f32);
                let out: Vec<f32> = x
                    .iter()
                    .zip(g)
                    .map(|(&v, &gv)| {
                        if (v - threshold).abs() < window {
                            gv
                        } else {
                            0.0
                        }
                    })
                    .collect();
                CpuStorage::F32(out)
            }
            (CpuStorage::F64(x), CpuStorage::F64(g)) => {
                let x = contiguous_slice(x, l1, "spike backward")?;
                let g = contiguous_slice(g, l2, "spike backward")?;
                let out: Vec<f64> = x
                    .iter()
                    .zip(g)
                    .map(|(&v, &gv)| {
                        if (v - threshold).abs() < window {
                            gv
                        } else {
                            0.0
                        }
                    })
                    .collect();
                CpuStorage::F64(out)
            }
            (a, b) => candle_core::bail!(
                "spike backward: expected matching f32 or f64, got {:?} and {:?}",
                a.dtype(),
                b.dtype()
            ),
        };
        Ok((out, shape))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    /// θ = 1 and w = 0.5 are exact in binary, so the window edges 0.5 and 1.5 are exact too.
    const THRESHOLD: f64 = 1.0;
    const WINDOW: f64 = 0.5;

    fn inputs() -> Vec<f32> {
        vec![-3.0, 0.49, 0.5, 0.51, 1.0, 1.01, 1.49, 1.5, 1.51, 4.0]
    }

    #[test]
    fn spike_forward_is_strict_step() {
        let x = Tensor::new(inputs(), &Device::Cpu).unwrap();
        let s = spike(&x, THRESHOLD, WINDOW)
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        // x > 1 fires; x = 1 does not.
        let expected = [0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0];
        assert_eq!(s, expected);
    }

    #[test]
    fn spike_gradient_is_rectangular_window() {
        let x = Var::new(inputs(), &Device::Cpu).unwrap();
        // Weight each element differently so a gradient routed to the wrong slot shows.
        let weights = Tensor::new(
            &[1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0],
            &Device::Cpu,
        )
        .unwrap();
        let loss = spike(x.as_tensor(), THRESHOLD, WINDOW)
            .unwrap()
            .mul(&weights)
            .unwrap()
            .sum_all()
            .unwrap();
        let grads = loss.backward().unwrap();
        let g = grads.get(&x).unwrap().to_vec1::<f32>().unwrap();
        // Inside |x − 1| < 0.5: 0.51, 1.0, 1.01, 1.49 pass their weight; the edges 0.5 and
        // 1.5 and everything outside get exactly zero.
        let expected = [0.0, 0.0, 0.0, 4.0, 5.0, 6.0, 7.0, 0.0, 0.0, 0.0];
        assert_eq!(g, expected);
    }

    #[test]
    fn spike_handles_non_contiguous_input() {
        let x = Tensor::new(&[[0.0f32, 2.0], [2.0, 0.0]], &Device::Cpu).unwrap();
        let s = spike(&x.t().unwrap(), THRESHOLD, WINDOW).unwrap();
        let s = s.to_vec2::<f32>().unwrap();
        assert_eq!(s, vec![vec![0.0, 1.0], vec![1.0, 0.0]]);
    }

    #[test]
    fn spike_works_in_f64() {
        let x = Var::new(&[0.9f64, 1.2, 2.0], &Device::Cpu).unwrap();
        let s = spike(x.as_tensor(), THRESHOLD, WINDOW).unwrap();
        assert_eq!(s.to_vec1::<f64>().unwrap(), vec![0.0, 1.0, 1.0]);
        let grads = s.sum_all().unwrap().backward().unwrap();
        let g = grads.get(&x).unwrap().to_vec1::<f64>().unwrap();
        assert_eq!(g, vec![1.0, 1.0, 0.0]);
    }
}
