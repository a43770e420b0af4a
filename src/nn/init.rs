//! Seeded parameter creation and PyTorch-style layer initialisation.
//!
//! candle's CPU device cannot be seeded, so [`SeededVarMap`] is a `VarBuilder` backend that
//! creates each missing variable from its own ChaCha8 stream, seeded by the run seed and the
//! FNV-1a hash of the variable's full name. The same seed therefore gives the same weights
//! whatever order layers are built in. Variables land in an ordinary [`VarMap`], which the
//! optimiser and checkpointing use as usual.
//!
//! [`linear`] and [`conv2d`] initialise like PyTorch's `nn.Linear` and `nn.Conv2d`: weight and
//! bias uniform in ±1/√fan_in, with fan_in = in_features or in_channels·k². A `scale` factor
//! narrows the weight range (the HH input layer uses 0.01), which has the same distribution
//! as multiplying PyTorch's initial weights by that factor.

use candle_core::{DType, Device, Result, Shape, Tensor, Var};
use candle_nn::var_builder::SimpleBackend;
use candle_nn::{Conv2d, Conv2dConfig, Init, Linear, VarBuilder, VarMap};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

/// A `VarBuilder` backend that fills missing variables from a seeded generator.
#[derive(Clone)]
pub struct SeededVarMap {
    /// The variables created so far (shared: clones see the same map).
    pub map: VarMap,
    /// Run seed mixed into every variable's stream.
    pub seed: u64,
}

impl SeededVarMap {
    /// Wraps `map`; variables already in it are reused, missing ones are drawn from `seed`.
    pub fn new(map: VarMap, seed: u64) -> Self {
        Self { map, seed }
    }

    /// Returns an f32 CPU `VarBuilder` that creates its variables in this map.
    pub fn var_builder(&self) -> VarBuilder<'static> {
        let backend: Box<dyn SimpleBackend> = Box::new(self.clone());
        VarBuilder::from_backend(backend, DType::F32, Device::Cpu)
    }

    fn draw(&self, shape: &Shape, name: &str, init: Init) -> Result<Tensor> {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed ^ fnv1a(name));
        let count = shape.elem_count();
        let values: Vec<f32> = match init {
            Init::Const(value) => vec![value as f32; count],
            Init::Uniform { lo, up } => (0..count)
                .map(|_| (lo + (up - lo) * rng.random::<f64>()) as f32)
                .collect(),
            Init::Randn { mean, stdev } => normal_values(&mut rng, mean, stdev, count)?,
            Init::Kaiming {
                dist,
                fan,
                non_linearity,
            } => {
                let std = non_linearity.gain() / (fan.for_shape(shape) as f64).sqrt();
                match dist {
                    candle_nn::init::NormalOrUniform::Uniform => {
                        let bound = 3f64.sqrt() * std;
                        (0..count)
                            .map(|_| (bound * (2.0 * rng.random::<f64>() - 1.0)) as f32)
                            .collect()
                    }
                    candle_nn::init::NormalOrUniform::Normal => {
                        normal_values(&mut rng, 0.0, std, count)?
                    }
                }
            }
        };
        Tensor::from_vec(values, shape.clone(), &Device::Cpu)
    }
}

fn normal_values(rng: &mut ChaCha8Rng, mean: f64, stdev: f64, count: usize) -> Result<Vec<f32>> {
    let normal = Normal::new(mean, stdev).map_err(|e| {
        candle_core::Error::Msg(format!(
            "invalid normal init mean {mean} stdev {stdev}: {e}"
        ))
    })?;
    Ok((0..count).map(|_| normal.sample(rng) as f32).collect())
}

/// 64-bit FNV-1a hash: stable across Rust versions, unlike `DefaultHasher`.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl SimpleBackend for SeededVarMap {
    fn get(&self, s: Shape, name: &str, h: Init, dtype: DType, dev: &Device) -> Result<Tensor> {
        let mut data = self
            .map
            .data()
            .lock()
            .map_err(|_| candle_core::Error::Msg("variable map lock poisoned".into()))?;
        if let Some(var) = data.get(name) {
            if var.shape() != &s {
                candle_core::bail!(
                    "shape mismatch on {name}: expected {s:?}, found {:?}",
                    var.shape()
                );
            }
            return var.as_tensor().to_dtype(dtype)?.to_device(dev);
        }
        let tensor = self.draw(&s, name, h)?.to_dtype(dtype)?.to_device(dev)?;
        let var = Var::from_tensor(&tensor)?;
        let out = var.as_tensor().clone();
        data.insert(name.to_string(), var);
        Ok(out)
    }

    fn get_unchecked(&self, name: &str, dtype: DType, dev: &Device) -> Result<Tensor> {
        let data = self
            .map
            .data()
            .lock()
            .map_err(|_| candle_core::Error::Msg("variable map lock poisoned".into()))?;
        match data.get(name) {
            Some(var) => var.as_tensor().to_dtype(dtype)?.to_device(dev),
            None => candle_core::bail!("variable {name} not found and its shape is unknown"),
        }
    }

    fn contains_tensor(&self, name: &str) -> bool {
        self.map
            .data()
            .lock()
            .map(|data| data.contains_key(name))
            .unwrap_or(false)
    }
}

/// Returns a seeded f32 CPU `VarBuilder` over `map` (see [`SeededVarMap`]).
pub fn seeded_var_builder(map: &VarMap, seed: u64) -> VarBuilder<'static> {
    SeededVarMap::new(map.clone(), seed).var_builder()
}

/// Creates `Linear(in_features → out_features)` under `vb` (`weight` (out, in), `bias` (out)),
/// initialised like PyTorch with the weight range multiplied by `weight_scale`.
pub fn linear(
    in_features: usize,
    out_features: usize,
    weight_scale: f64,
    vb: VarBuilder,
) -> Result<Linear> {
    let bound = 1.0 / (in_features as f64).sqrt();
    let w_bound = bound * weight_scale;
    let weight = vb.get_with_hints(
        (out_features, in_features),
        "weight",
        Init::Uniform {
            lo: -w_bound,
            up: w_bound,
        },
    )?;
    let bias = vb.get_with_hints(
        out_features,
        "bias",
        Init::Uniform {
            lo: -bound,
            up: bound,
        },
    )?;
    Ok(Linear::new(weight, Some(bias)))
}

/// Creates `Conv2d(in → out, kernel × kernel, padding)` with stride 1 under `vb`
/// (`weight` (out, in, k, k), `bias` (out)), initialised like PyTorch.
pub fn conv2d(
    in_channels: usize,
    out_channels: usize,
    kernel: usize,
    padding: usize,
    vb: VarBuilder,
) -> Result<Conv2d> {
    let bound = 1.0 / ((in_channels * kernel * kernel) as f64).sqrt();
    let init = Init::Uniform {
        lo: -bound,
        up: bound,
    };
    let weight = vb.get_with_hints((out_channels, in_channels, kernel, kernel), "weight", init)?;
    let bias = vb.get_with_hints(out_channels, "bias", init)?;
    let config = Conv2dConfig {
        padding,
        ..Default::default()
    };
    Ok(Conv2d::new(weight, Some(bias), config))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_gives_same_weights() {
        let a = VarMap::new();
        let b = VarMap::new();
        let la = linear(4, 3, 1.0, seeded_var_builder(&a, 7).pp("fc")).unwrap();
        // Build an unrelated layer first in `b`: per-name streams make order irrelevant.
        linear(2, 2, 1.0, seeded_var_builder(&b, 7).pp("other")).unwrap();
        let lb = linear(4, 3, 1.0, seeded_var_builder(&b, 7).pp("fc")).unwrap();
        let wa = la.weight().to_vec2::<f32>().unwrap();
        let wb = lb.weight().to_vec2::<f32>().unwrap();
        assert_eq!(wa, wb);
    }

    #[test]
    fn different_seed_gives_different_weights() {
        let a = linear(4, 3, 1.0, seeded_var_builder(&VarMap::new(), 1)).unwrap();
        let b = linear(4, 3, 1.0, seeded_var_builder(&VarMap::new(), 2)).unwrap();
        let wa = a.weight().to_vec2::<f32>().unwrap();
        let wb = b.weight().to_vec2::<f32>().unwrap();
        assert_ne!(wa, wb);
    }

    #[test]
    fn linear_init_stays_in_torch_bound() {
        let map = VarMap::new();
        let layer = linear(100, 50, 0.01, seeded_var_builder(&map, 3)).unwrap();
        // PyTorch bound 1/√100 = 0.1, times the scale 0.01.
        let max_w = layer.weight().abs().unwrap().max_all().unwrap();
        let max_w = max_w.to_scalar::<f32>().unwrap();
        assert!(max_w <= 0.001, "max |w| = {max_w} exceeds the bound 0.001");
        assert!(max_w > 0.0008, "max |w| = {max_w} is far below the bound 0.001");
        let max_b = layer.bias().unwrap().abs().unwrap().max_all().unwrap();
        let max_b = max_b.to_scalar::<f32>().unwrap();
        assert!(max_b <= 0.1, "max |b| = {max_b} exceeds the bound 0.1");
        assert!(max_b > 0.05, "max |b| = {max_b} is far below the bound 0.1");
        assert_eq!(map.all_vars().len(), 2);
    }
}
