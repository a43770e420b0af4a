//! `Linear` on the network's input image, skipping the input gradient, which is never used.
//!
//! `y = x · Wᵀ + b`, x `(batch, in)`, W `(out, in)`, y `(batch, out)`.
//!
//! # Performance
//! candle 0.11's backward pass of a matrix product always computes both operands' gradients.
//! For the first layer the left operand is the input image, whose gradient is thrown away, so
//! a third of the layer's matrix work was wasted. [`static_linear`] computes the product on
//! a detached weight and attaches [`WeightGrad`], whose backward pass computes only
//! ∂W = gradᵀ · x. When x itself carries a gradient it falls back to the plain `Linear`.

use candle_core::{CpuStorage, CustomOp2, Layout, Module, Result, Shape, Tensor};
use candle_nn::Linear;

/// Applies `layer` to `x`, skipping the gradient of `x` when `x` is plain data.
pub fn static_linear(layer: &Linear, x: &Tensor) -> Result<Tensor> {
    if x.track_op() || x.rank() != 2 {
        return layer.forward(x);
    }
    let weight = layer.weight();
    let plain = x.matmul(&weight.detach().t()?)?;
    let op = WeightGrad { input: x.clone() };
    let y = plain.apply_op2(weight, op)?;
    match layer.bias() {
        Some(bias) => y.broadcast_add(bias),
        None => Ok(y),
    }
}

/// Identity on the precomputed product (first argument); its backward pass returns only the
/// weight's (second argument's) gradient, `gradᵀ · input`.
#[derive(Debug, Clone)]
pub struct WeightGrad {
    /// The layer input `(batch, in)`.
    pub input: Tensor,
}

impl CustomOp2 for WeightGrad {
    fn name(&self) -> &'static str {
        "linear-weight-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        _s2: &CpuStorage,
        _l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let data = match (s1, l1.contiguous_offsets()) {
            (CpuStorage::F32(data), Some((start, end))) => data[start..end].to_vec(),
            _ => candle_core::bail!("static linear: expected a contiguous f32 product"),
        };
        Ok((CpuStorage::F32(data), l1.shape().clone()))
    }

    fn bwd(
        &self,
        _plain: &Tensor,
        _weight: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let grad_weight = grad.t()?.matmul(&self.input)?;
        Ok((None, Some(grad_weight)))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::nn::init;
    use candle_nn::VarMap;

    #[test]
    fn static_linear_matches_linear() {
        let map = VarMap::new();
        let layer = init::linear(5, 3, 1.0, init::seeded_var_builder(&map, 4)).unwrap();
        let data: Vec<f32> = (0..10).map(|i| (i as f32 * 0.37).sin() * 10.0).collect();
        let x = Tensor::from_vec(data, (2, 5), &candle_core::Device::Cpu).unwrap();
        let fast = static_linear(&layer, &x).unwrap();
        let plain = layer.forward(&x).unwrap();
        let diff = (&fast - &plain).unwrap().abs().unwrap().max_all().unwrap();
        assert!(diff.to_scalar::<f32>().unwrap() < 1e-5);

        let weights = Tensor::new(&[[1f32, -2.0, 0.5], [0.3, 0.0, -1.0]], x.device()).unwrap();
        let g_fast = fast
            .mul(&weights)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        let g_plain = plain
            .mul(&weights)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        for tensor in [layer.weight(), layer.bias().unwrap()] {
            let a = g_fast.get(tensor).unwrap();
            let b = g_plain.get(tensor).unwrap();
            let diff = (a - b).unwrap().abs().unwrap().max_all().unwrap();
            assert!(diff.to_scalar::<f32>().unwrap() < 1e-4);
        }
        assert!(g_fast.get(&x).is_none());
    }
}
