//! 3×3 convolution (stride 1, padding 1) with a fast backward pass.
//!
//! `y[n, o, h, w] = b[o] + Σ_{c, dy, dx} W[o, c, dy, dx] · x[n, c, h + dy − 1, w + dx − 1]`
//! with zeros outside the image. Shapes: x `(N, C, H, W)`, W `(O, C, 3, 3)`, y `(N, O, H, W)`.
//!
//! # Performance
//! candle 0.11's CPU `conv2d` was slow for this shape in both directions: its backward pass
//! convolves with the output gradient as an H×W kernel and always computes the input
//! gradient, even for the network's input image; with T·batch = 1920 images of 18×18 a
//! batch took seconds. [`Conv3x3`] is one custom op instead. Per chunk of images it unfolds
//! the input into a `(C·9, images·H·W)` matrix (im2col, written row by row so every copy is
//! contiguous) and does one matrix product with the `(O, C·9)` kernel. Its backward pass
//! unfolds again and computes ∂W = grad · colsᵀ, and ∂x (only when x carries a gradient)
//! as Wᵀ · grad folded back onto the images (col2im).

use candle_core::{CpuStorage, CustomOp2, Device, Layout, Module, Result, Shape, Tensor};
use candle_nn::{Conv2d, VarBuilder};

use crate::nn::init;

/// Images per chunk; the unfolded chunk is C·9 × CHUNK·H·W floats.
const CHUNK: usize = 128;

/// `Conv2d(C → O, 3×3, padding 1)` computed by [`Conv3x3Op`].
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
        let op = Conv3x3Op {
            input_grad: x.track_op(),
        };
        let y = x.contiguous()?.apply_op2(self.conv.weight(), op)?;
        match self.conv.bias() {
            Some(bias) => {
                let channels = bias.dim(0)?;
                y.broadcast_add(&bias.reshape((1, channels, 1, 1))?)
            }
            None => Ok(y),
        }
    }
}

/// Bias-free 3×3 convolution of images (first argument, `(N, C, H, W)`) with a kernel
/// (second, `(O, C, 3, 3)`).
#[derive(Debug, Clone, Copy)]
pub struct Conv3x3Op {
    /// Whether the backward pass computes ∂x (false for the network's input image).
    pub input_grad: bool,
}

/// Geometry of one convolution.
#[derive(Debug, Clone, Copy)]
struct Geometry {
    channels: usize,
    height: usize,
    width: usize,
}

impl Geometry {
    fn plane(&self) -> usize {
        self.height * self.width
    }

    fn image(&self) -> usize {
        self.channels * self.plane()
    }
}

/// Unfolds `count` images into `(C·9, count·H·W)`, zero-padded by one pixel.
fn im2col(x: &[f32], count: usize, g: Geometry) -> Vec<f32> {
    let (h, w, plane) = (g.height, g.width, g.plane());
    let row_len = count * plane;
    let mut cols = vec![0f32; g.channels * 9 * row_len];
    for ch in 0..g.channels {
        for tap in 0..9 {
            let (dy, dx) = (tap / 3, tap % 3);
            let out = &mut cols[(ch * 9 + tap) * row_len..(ch * 9 + tap + 1) * row_len];
            for img in 0..count {
                let src = &x[img * g.image() + ch * plane..img * g.image() + (ch + 1) * plane];
                for y in 0..h {
                    // Source row y + dy − 1, columns x + dx − 1, zero outside the image.
                    let Some(sy) = (y + dy).checked_sub(1).filter(|&sy| sy < h) else {
                        continue;
                    };
                    let (x_lo, x_hi) = (usize::from(dx == 0), w - usize::from(dx == 2));
                    let dst = &mut out[img * plane + y * w..img * plane + (y + 1) * w];
                    let src_row = &src[sy * w..(sy + 1) * w];
                    for x_pos in x_lo..x_hi {
                        dst[x_pos] = src_row[x_pos + dx - 1];
                    }
                }
            }
        }
    }
    cols
}

/// Adds `(C·9, count·H·W)` columns back onto `count` images, the adjoint of [`im2col`].
fn col2im_add(cols: &[f32], out: &mut [f32], count: usize, g: Geometry) {
    let (h, w, plane) = (g.height, g.width, g.plane());
    let row_len = count * plane;
    for ch in 0..g.channels {
        for tap in 0..9 {
            let (dy, dx) = (tap / 3, tap % 3);
            let src = &cols[(ch * 9 + tap) * row_len..(ch * 9 + tap + 1) * row_len];
            for img in 0..count {
                let base = img * g.image() + ch * plane;
                for y in 0..h {
                    let Some(sy) = (y + dy).checked_sub(1).filter(|&sy| sy < h) else {
                        continue;
                    };
                    let (x_lo, x_hi) = (usize::from(dx == 0), w - usize::from(dx == 2));
                    let col_row = &src[img * plane + y * w..img * plane + (y + 1) * w];
                    let dst = &mut out[base + sy * w..base + (sy + 1) * w];
                    for x_pos in x_lo..x_hi {
                        dst[x_pos + dx - 1] += col_row[x_pos];
                    }
                }
            }
        }
    }
}

fn f32_values(tensor: &Tensor) -> Result<Vec<f32>> {
    tensor.flatten_all()?.to_vec1::<f32>()
}

fn f32_slice<'a>(storage: &'a CpuStorage, layout: &Layout) -> Result<&'a [f32]> {
    match (storage, layout.contiguous_offsets()) {
        (CpuStorage::F32(data), Some((start, end))) => Ok(&data[start..end]),
        _ => candle_core::bail!("conv3x3: expected contiguous f32 tensors"),
    }
}

fn geometry(x: &Shape, weight: &Shape) -> Result<(usize, Geometry, usize)> {
    let (n, c, h, w) = x.dims4()?;
    let (out_channels, c_w, kh, kw) = weight.dims4()?;
    if c_w != c || kh != 3 || kw != 3 {
        candle_core::bail!(
            "conv3x3: kernel {:?} does not fit images with {c} channels",
            weight.dims()
        );
    }
    let g = Geometry {
        channels: c,
        height: h,
        width: w,
    };
    Ok((n, g, out_channels))
}

/// Reorders `(O, count·H·W)` chunk rows into images `(count, O, H·W)` at `out`.
fn scatter_chunk(rows: &[f32], out: &mut [f32], count: usize, out_channels: usize, plane: usize) {
    for o in 0..out_channels {
        for img in 0..count {
            let src = &rows[o * count * plane + img * plane..o * count * plane + (img + 1) * plane];
            out[(img * out_channels + o) * plane..(img * out_channels + o + 1) * plane]
                .copy_from_slice(src);
        }
    }
}

/// Gathers images `(count, O, H·W)` into `(O, count·H·W)` rows, the inverse of
/// [`scatter_chunk`].
fn gather_chunk(images: &[f32], count: usize, out_channels: usize, plane: usize) -> Vec<f32> {
    let mut rows = vec![0f32; out_channels * count * plane];
    for o in 0..out_channels {
        for img in 0..count {
            let src =
                &images[(img * out_channels + o) * plane..(img * out_channels + o + 1) * plane];
            rows[o * count * plane + img * plane..o * count * plane + (img + 1) * plane]
                .copy_from_slice(src);
        }
    }
    rows
}

impl CustomOp2 for Conv3x3Op {
    fn name(&self) -> &'static str {
        "conv3x3"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (n, g, out_channels) = geometry(l1.shape(), l2.shape())?;
        let x = f32_slice(s1, l1)?;
        let kernel = Tensor::from_slice(
            f32_slice(s2, l2)?,
            (out_channels, g.channels * 9),
            &Device::Cpu,
        )?;
        let mut out = vec![0f32; n * out_channels * g.plane()];
        for start in (0..n).step_by(CHUNK) {
            let count = CHUNK.min(n - start);
            let images = &x[start * g.image()..(start + count) * g.image()];
            let cols = Tensor::from_vec(
                im2col(images, count, g),
                (g.channels * 9, count * g.plane()),
                &Device::Cpu,
            )?;
            let rows = f32_values(&kernel.matmul(&cols)?)?;
            let dst = &mut out
                [start * out_channels * g.plane()..(start + count) * out_channels * g.plane()];
            scatter_chunk(&rows, dst, count, out_channels, g.plane());
        }
        let shape = Shape::from((n, out_channels, g.height, g.width));
        Ok((CpuStorage::F32(out), shape))
    }

    fn bwd(
        &self,
        x: &Tensor,
        weight: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let (n, g, out_channels) = geometry(x.shape(), weight.shape())?;
        let k = g.channels * 9;
        let x_values = f32_values(x)?;
        let grad_values = f32_values(grad)?;
        let kernel_t = weight.reshape((out_channels, k))?.t()?;
        let mut grad_w = Tensor::zeros((out_channels, k), weight.dtype(), weight.device())?;
        let mut grad_x = if self.input_grad {
            vec![0f32; n * g.image()]
        } else {
            Vec::new()
        };
        for start in (0..n).step_by(CHUNK) {
            let count = CHUNK.min(n - start);
            let images = &x_values[start * g.image()..(start + count) * g.image()];
            let cols =
                Tensor::from_vec(im2col(images, count, g), (k, count * g.plane()), x.device())?;
            let chunk = &grad_values
                [start * out_channels * g.plane()..(start + count) * out_channels * g.plane()];
            let rows = Tensor::from_vec(
                gather_chunk(chunk, count, out_channels, g.plane()),
                (out_channels, count * g.plane()),
                x.device(),
            )?;
            // ∂W (O, C·9) = grad rows (O, count·H·W) · colsᵀ.
            grad_w = (grad_w + rows.matmul(&cols.t()?)?)?;
            if self.input_grad {
                let d_cols = f32_values(&kernel_t.matmul(&rows)?)?;
                let out = &mut grad_x[start * g.image()..(start + count) * g.image()];
                col2im_add(&d_cols, out, count, g);
            }
        }
        let grad_w = grad_w.reshape(weight.shape())?;
        let grad_x = if self.input_grad {
            Some(Tensor::from_vec(grad_x, x.shape(), x.device())?)
        } else {
            None
        };
        Ok((grad_x, Some(grad_w)))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
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
    fn check_against_candle(images: usize, channels: usize, height: usize, width: usize) {
        let map = VarMap::new();
        let layer = Conv3x3::new(channels, 4, init::seeded_var_builder(&map, 9)).unwrap();
        let dims = (images, channels, height, width);
        let x = Var::from_vec(
            values(images * channels * height * width, 1),
            dims,
            &Device::Cpu,
        )
        .unwrap();
        let out_dims = (images, 4, height, width);
        let loss_weights = Tensor::from_vec(
            values(images * 4 * height * width, 2),
            out_dims,
            &Device::Cpu,
        )
        .unwrap();

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
            let scale = b.iter().fold(1f32, |m, v| m.max(v.abs()));
            for (i, (p, q)) in a.iter().zip(&b).enumerate() {
                assert!((p - q).abs() < 1e-5 * scale, "grad {name}[{i}]: {p} vs {q}");
            }
        }
    }

    #[test]
    fn conv3x3_matches_candle_conv2d() {
        check_against_candle(2, 3, 5, 6);
    }

    #[test]
    fn conv3x3_matches_across_chunks() {
        // 130 images span two chunks of 128.
        check_against_candle(130, 2, 4, 4);
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
