//! 3×3 convolution (stride 1, padding 1) with a fast backward pass.
//!
//! `y[n, o, h, w] = b[o] + Σ_{c, dy, dx} W[o, c, dy, dx] · x[n, c, h + dy − 1, w + dx − 1]`
//! with zeros outside the image. Shapes: x `(N, C, H, W)`, W `(O, C, 3, 3)`, y `(N, O, H, W)`.
//!
//! # Performance
//! candle 0.11 computes the forward pass of `conv2d` on the CPU with im2col and a matrix
//! product, but its backward pass convolves with the output gradient as an H×W kernel and
//! always computes the input gradient, even for the network's input image; with T·batch =
//! 1920 images of 18×18 that took seconds per batch. [`Conv3x3`] keeps candle's forward pass
//! and attaches a custom backward: per chunk of images it unfolds the input (im2col) and
//! computes ∂W as one batched matrix product, and ∂x (only when x carries a gradient) as a
//! matrix product folded back onto the image (col2im).

use candle_core::{CpuStorage, CustomOp3, Layout, Module, Result, Shape, Tensor};
use candle_nn::{Conv2d, VarBuilder};

use crate::nn::init;

/// Images per chunk in the backward pass; the unfolded chunk is CHUNK·H·W·C·9 floats.
const CHUNK: usize = 64;

/// `Conv2d(C → O, 3×3, padding 1)` with [`ConvGrad`] as its backward pass.
#[derive(Debug, Clone)]
pub struct Conv3x3 {
    conv: Conv2d,
}

impl Conv3x3 {
    /// Builds `vb/weight` `(O, C, 3, 3)` and `vb/bias` `(O)`, initialised like PyTorch.
    pub fn new(in_channels: usize, out_channels: usize, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            conv: init::conv2d(in_channels, out_channels, 3, 1, vb)?,
        })
    }
}

impl Module for Conv3x3 {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let weight = self.conv.weight();
        let x = x.contiguous()?;
        let plain = x.detach().conv2d(&weight.detach(), 1, 1, 1, 1)?;
        let op = ConvGrad {
            input_grad: x.track_op(),
        };
        let y = plain.apply_op3(&x, weight, op)?;
        match self.conv.bias() {
            Some(bias) => {
                let channels = bias.dim(0)?;
                y.broadcast_add(&bias.reshape((1, channels, 1, 1))?)
            }
            None => Ok(y),
        }
    }
}

/// Identity on the precomputed convolution (first argument) whose backward pass returns the
/// gradients of the input image (second) and the kernel (third).
#[derive(Debug, Clone, Copy)]
pub struct ConvGrad {
    /// Whether to compute ∂x (false for the network's input image).
    pub input_grad: bool,
}

/// Unfolds images `x` `(n, C, H, W)` into rows `(n, H·W, C·9)`, zero-padded by one pixel.
fn im2col(x: &[f32], n: usize, c: usize, h: usize, w: usize) -> Vec<f32> {
    let k = c * 9;
    let mut cols = vec![0f32; n * h * w * k];
    for img in 0..n {
        for ch in 0..c {
            let plane = &x[(img * c + ch) * h * w..(img * c + ch + 1) * h * w];
            for dy in 0..3 {
                for dx in 0..3 {
                    let col = ch * 9 + dy * 3 + dx;
                    for row in 0..h {
                        let sy = row + dy;
                        if sy < 1 || sy > h {
                            continue;
                        }
                        for x_pos in 0..w {
                            let sx = x_pos + dx;
                            if sx < 1 || sx > w {
                                continue;
                            }
                            let out_row = img * h * w + row * w + x_pos;
                            cols[out_row * k + col] = plane[(sy - 1) * w + (sx - 1)];
                        }
                    }
                }
            }
        }
    }
    cols
}

/// Adds rows `(n, H·W, C·9)` back onto images `(n, C, H, W)`, the adjoint of [`im2col`].
fn col2im_add(cols: &[f32], out: &mut [f32], n: usize, c: usize, h: usize, w: usize) {
    let k = c * 9;
    for img in 0..n {
        for ch in 0..c {
            let plane = &mut out[(img * c + ch) * h * w..(img * c + ch + 1) * h * w];
            for dy in 0..3 {
                for dx in 0..3 {
                    let col = ch * 9 + dy * 3 + dx;
                    for row in 0..h {
                        let sy = row + dy;
                        if sy < 1 || sy > h {
                            continue;
                        }
                        for x_pos in 0..w {
                            let sx = x_pos + dx;
                            if sx < 1 || sx > w {
                                continue;
                            }
                            let in_row = img * h * w + row * w + x_pos;
                            plane[(sy - 1) * w + (sx - 1)] += cols[in_row * k + col];
                        }
                    }
                }
            }
        }
    }
}

fn contiguous_f32(tensor: &Tensor) -> Result<Vec<f32>> {
    tensor.flatten_all()?.to_vec1::<f32>()
}

impl CustomOp3 for ConvGrad {
    fn name(&self) -> &'static str {
        "conv3x3-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        _s2: &CpuStorage,
        _l2: &Layout,
        _s3: &CpuStorage,
        _l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let data = match (s1, l1.contiguous_offsets()) {
            (CpuStorage::F32(data), Some((start, end))) => data[start..end].to_vec(),
            _ => candle_core::bail!("conv3x3: expected a contiguous f32 convolution output"),
        };
        Ok((CpuStorage::F32(data), l1.shape().clone()))
    }

    fn bwd(
        &self,
        _plain: &Tensor,
        x: &Tensor,
        weight: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (n, c, h, w) = x.dims4()?;
        let out_channels = weight.dim(0)?;
        let k = c * 9;
        let x_values = contiguous_f32(x)?;
        let grad = grad.contiguous()?;
        let weight_mat = weight.reshape((out_channels, k))?;
        let mut grad_w = Tensor::zeros((out_channels, k), weight.dtype(), weight.device())?;
        let mut grad_x = if self.input_grad {
            vec![0f32; n * c * h * w]
        } else {
            Vec::new()
        };
        for start in (0..n).step_by(CHUNK) {
            let len = CHUNK.min(n - start);
            let x_chunk = &x_values[start * c * h * w..(start + len) * c * h * w];
            let cols =
                Tensor::from_vec(im2col(x_chunk, len, c, h, w), (len, h * w, k), x.device())?;
            // (len, O, H·W) × (len, H·W, C·9) summed over images gives ∂W (O, C·9).
            let g = grad
                .narrow(0, start, len)?
                .reshape((len, out_channels, h * w))?;
            grad_w = (grad_w + g.matmul(&cols)?.sum(0)?)?;
            if self.input_grad {
                // (len·H·W, O) × (O, C·9) gives ∂cols, folded back onto the images.
                let g_rows = g
                    .transpose(1, 2)?
                    .contiguous()?
                    .reshape((len * h * w, out_channels))?;
                let d_cols = contiguous_f32(&g_rows.matmul(&weight_mat)?)?;
                let out = &mut grad_x[start * c * h * w..(start + len) * c * h * w];
                col2im_add(&d_cols, out, len, c, h, w);
            }
        }
        let grad_w = grad_w.reshape(weight.shape())?;
        let grad_x = if self.input_grad {
            Some(Tensor::from_vec(grad_x, x.shape(), x.device())?)
        } else {
            None
        };
        Ok((None, grad_x, Some(grad_w)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};
    use candle_nn::VarMap;

    fn values(count: usize, seed: u64) -> Vec<f32> {
        let mut state = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        (0..count)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
            })
            .collect()
    }

    fn flat(t: &Tensor) -> Vec<f32> {
        t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
    }

    /// Compares values and gradients with candle's own `Conv2d` on the same variables.
    #[test]
    fn conv3x3_matches_candle_conv2d() {
        let map = VarMap::new();
        let layer = Conv3x3::new(3, 4, init::seeded_var_builder(&map, 9)).unwrap();
        let x = Var::from_vec(values(2 * 3 * 5 * 6, 1), (2, 3, 5, 6), &Device::Cpu).unwrap();
        let loss_weights =
            Tensor::from_vec(values(2 * 4 * 5 * 6, 2), (2, 4, 5, 6), &Device::Cpu).unwrap();

        let fast = layer.forward(x.as_tensor()).unwrap();
        let reference = layer.conv.forward(x.as_tensor()).unwrap();
        let (a, b) = (flat(&fast), flat(&reference));
        for (i, (p, q)) in a.iter().zip(&b).enumerate() {
            assert!((p - q).abs() < 1e-5, "output[{i}]: {p} vs {q}");
        }

        let g_fast = fast
            .mul(&loss_weights)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        let g_ref = reference
            .mul(&loss_weights)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        let weight = layer.conv.weight();
        let bias = layer.conv.bias().unwrap();
        for (name, tensor) in [("x", x.as_tensor()), ("weight", weight), ("bias", bias)] {
            let a = flat(g_fast.get(tensor).unwrap());
            let b = flat(g_ref.get(tensor).unwrap());
            assert_eq!(a.len(), b.len(), "{name}");
            for (i, (p, q)) in a.iter().zip(&b).enumerate() {
                assert!((p - q).abs() < 1e-4, "grad {name}[{i}]: {p} vs {q}");
            }
        }
    }

    #[test]
    fn conv3x3_skips_input_gradient_for_plain_input() {
        let map = VarMap::new();
        let layer = Conv3x3::new(1, 2, init::seeded_var_builder(&map, 3)).unwrap();
        let x = Tensor::from_vec(values(4 * 4, 5), (1, 1, 4, 4), &Device::Cpu).unwrap();
        let grads = layer
            .forward(&x)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        assert!(grads.get(&x).is_none());
        assert!(grads.get(layer.conv.weight()).is_some());
    }
}
