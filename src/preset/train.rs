//! Training presets: the two-task Multi-MNIST classifiers (`TrainPreset`) and the MNIST
//! classifier whose weights drive the fully connected simulation (`MnistMlpPreset`).
//!
//! Optional fields accept a bare value (`learning_rate: 0.001`), `Some(…)` or `None`. `None`,
//! or leaving the field out, means the model's own setting. For the sample counts it means the
//! full data set (120,000 training and 20,000 test samples for Multi-MNIST).
//!
//! Pixels keep their raw 0–255 values unless `scale_to_unit` is set: the reference feeds
//! Multi-MNIST unnormalised, its HH input weights are scaled by 0.01 for that range, and its
//! noise amplitudes (25–75) are in pixel units.

use std::path::Path;

use serde::{Deserialize, Deserializer, Serialize};

use super::{apply_overrides, parse_ron, PresetError};
use crate::data::multi::MultiVariant;
use crate::nn::{ModelKind, OptimConfig};

/// Batch size of the reference runs.
pub const DEFAULT_BATCH_SIZE: usize = 128;

/// Epochs of the reference runs.
pub const DEFAULT_EPOCHS: usize = 40;

/// A two-task classification run on Multi-MNIST or one of its Fashion variants.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainPreset {
    /// The classifier to train, one of the ten.
    #[serde(deserialize_with = "deserialize_model_kind")]
    pub model: ModelKind,
    /// The composed data set to train and test on.
    #[serde(default)]
    pub dataset: MultiVariant,
    /// Passes over the training samples.
    pub epochs: usize,
    /// Samples per optimizer step.
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// Initial Adam learning rate; `None` takes the model's (1e-4 for the fc models).
    #[serde(default, deserialize_with = "optional")]
    pub learning_rate: Option<f64>,
    /// L2 weight decay added to the gradient; `None` takes the model's.
    #[serde(default, deserialize_with = "optional")]
    pub weight_decay: Option<f64>,
    /// Epochs (0-based) from which the learning rate is multiplied by `lr_gamma` once more;
    /// `None` takes the model's (10, 20, 30 for the fc models).
    #[serde(default, deserialize_with = "optional")]
    pub lr_milestones: Option<Vec<usize>>,
    /// Factor applied at each milestone; `None` takes the model's (0.1).
    #[serde(default, deserialize_with = "optional")]
    pub lr_gamma: Option<f64>,
    /// Training samples, the first N of the composed set; `None` uses all (120,000).
    #[serde(default, deserialize_with = "optional")]
    pub train_samples: Option<usize>,
    /// Test samples, the first N of the composed set; `None` uses all (20,000).
    #[serde(default, deserialize_with = "optional")]
    pub test_samples: Option<usize>,
    /// Amplitude A of the fixed noise image A·N(0,1) added to every input, in pixel units
    /// (0–255 scale); 0 turns noise off. The reference uses 25, 50 and 75.
    #[serde(default)]
    pub noise_amplitude: f32,
    /// Seed of the weight initialisation, the sample pairing, the shuffles and the noise.
    #[serde(default)]
    pub seed: u64,
    /// Divide pixels (with the noise added) by 255 into [0, 1] instead of keeping 0–255.
    #[serde(default)]
    pub scale_to_unit: bool,
    /// Worker threads for this run's tensor operations; `None` uses rayon's default
    /// (`RAYON_NUM_THREADS`, else one per core).
    #[serde(default, deserialize_with = "optional")]
    pub threads: Option<usize>,
}

impl TrainPreset {
    /// Returns the reference settings for `model`: 40 epochs, batch 128, the full Multi-MNIST data,
    /// the model's optimizer settings, no noise, seed 0.
    pub fn full(model: ModelKind) -> Self {
        Self {
            model,
            dataset: MultiVariant::MultiMnist,
            epochs: DEFAULT_EPOCHS,
            batch_size: DEFAULT_BATCH_SIZE,
            learning_rate: None,
            weight_decay: None,
            lr_milestones: None,
            lr_gamma: None,
            train_samples: None,
            test_samples: None,
            noise_amplitude: 0.0,
            seed: 0,
            scale_to_unit: false,
            threads: None,
        }
    }

    /// Reads a preset file, applies `--set FIELD=VALUE` overrides and validates the result.
    pub fn load(path: &Path, sets: &[String]) -> Result<Self, PresetError> {
        let preset: Self = super::load_ron(path)?;
        let preset = apply_overrides(preset, sets)?;
        preset.validate()?;
        Ok(preset)
    }

    /// Returns the optimizer settings in force: the model's, with this preset's fields replacing them.
    pub fn optim_config(&self) -> OptimConfig {
        let model = self.model.optim_config();
        OptimConfig {
            lr: self.learning_rate.unwrap_or(model.lr),
            weight_decay: self.weight_decay.unwrap_or(model.weight_decay),
            milestones: self.lr_milestones.clone().unwrap_or(model.milestones),
            gamma: self.lr_gamma.unwrap_or(model.gamma),
        }
    }

    /// Checks the values that parse but cannot be trained with.
    pub fn validate(&self) -> Result<(), PresetError> {
        let optim = self.optim_config();
        check(self.epochs >= 1, "epochs", self.epochs, "use at least 1")?;
        check(
            self.batch_size >= 1,
            "batch_size",
            self.batch_size,
            "use at least 1",
        )?;
        check(
            optim.lr.is_finite() && optim.lr > 0.0,
            "learning_rate",
            optim.lr,
            "use a positive number such as 0.0001",
        )?;
        check(
            optim.weight_decay.is_finite() && optim.weight_decay >= 0.0,
            "weight_decay",
            optim.weight_decay,
            "use 0 or a positive number such as 0.00001",
        )?;
        check(
            optim.gamma.is_finite() && optim.gamma > 0.0,
            "lr_gamma",
            optim.gamma,
            "use a positive factor such as 0.1",
        )?;
        check(
            self.noise_amplitude.is_finite() && self.noise_amplitude >= 0.0,
            "noise_amplitude",
            self.noise_amplitude,
            "use 0 (off) or a positive amplitude in pixel units such as 25",
        )?;
        for (field, samples) in [
            ("train_samples", self.train_samples),
            ("test_samples", self.test_samples),
        ] {
            if let Some(count) = samples {
                check(count >= 1, field, count, "use at least 1, or None for all")?;
            }
        }
        if let Some(threads) = self.threads {
            check(
                threads >= 1,
                "threads",
                threads,
                "use at least 1, or None for all cores",
            )?;
        }
        Ok(())
    }
}

/// Training of the 784 → 128 → 10 MNIST classifier whose weights the fully connected
/// simulation reads (`fc-weights.safetensors`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MnistMlpPreset {
    /// Passes over the training images.
    pub epochs: usize,
    /// Images per optimizer step.
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// Adam learning rate.
    pub learning_rate: f64,
    /// L2 weight decay added to the gradient.
    #[serde(default)]
    pub weight_decay: f64,
    /// Training images, the first N of MNIST's 60,000; `None` uses all.
    #[serde(default, deserialize_with = "optional")]
    pub train_samples: Option<usize>,
    /// Test images, the first N of MNIST's 10,000; `None` uses all.
    #[serde(default, deserialize_with = "optional")]
    pub test_samples: Option<usize>,
    /// Seed of the weight initialisation and the shuffles.
    #[serde(default)]
    pub seed: u64,
    /// Divide pixels by 255 into [0, 1]. Off by default because the simulation feeds
    /// raw 0–255 pixels through the weights, so weights trained on that range give it
    /// input currents of the scale it was trained for.
    #[serde(default)]
    pub scale_to_unit: bool,
}

impl MnistMlpPreset {
    /// Checks the values that parse but cannot be trained with.
    pub fn validate(&self) -> Result<(), PresetError> {
        check(self.epochs >= 1, "epochs", self.epochs, "use at least 1")?;
        check(
            self.batch_size >= 1,
            "batch_size",
            self.batch_size,
            "use at least 1",
        )?;
        check(
            self.learning_rate.is_finite() && self.learning_rate > 0.0,
            "learning_rate",
            self.learning_rate,
            "use a positive number such as 0.0001",
        )?;
        check(
            self.weight_decay.is_finite() && self.weight_decay >= 0.0,
            "weight_decay",
            self.weight_decay,
            "use 0 or a positive number",
        )?;
        for (field, samples) in [
            ("train_samples", self.train_samples),
            ("test_samples", self.test_samples),
        ] {
            if let Some(count) = samples {
                check(count >= 1, field, count, "use at least 1, or None for all")?;
            }
        }
        Ok(())
    }
}

/// Either kind of training preset, selected by the struct name a file starts with.
#[derive(Debug, Clone, PartialEq)]
pub enum AnyTrainPreset {
    /// A Multi-MNIST classifier (files without a struct name, or starting `TrainPreset(`).
    MultiTask(TrainPreset),
    /// The MNIST classifier for the simulation (files starting `MnistMlpPreset(`).
    MnistMlp(MnistMlpPreset),
}

impl AnyTrainPreset {
    /// Reads a preset file of either kind, applies overrides and validates the result.
    pub fn load(path: &Path, sets: &[String]) -> Result<Self, PresetError> {
        let text = super::read_preset_text(path)?;
        let origin = path.display().to_string();
        if leading_struct_name(&text) == Some("MnistMlpPreset") {
            let preset: MnistMlpPreset = parse_ron(&text, &origin)?;
            let preset = apply_overrides(preset, sets)?;
            preset.validate()?;
            Ok(Self::MnistMlp(preset))
        } else {
            let preset: TrainPreset = parse_ron(&text, &origin)?;
            let preset = apply_overrides(preset, sets)?;
            preset.validate()?;
            Ok(Self::MultiTask(preset))
        }
    }
}

/// Returns the identifier before the first `(` of a RON text, skipping comments, whitespace and
/// `#![enable(…)]` attributes; `None` when the text starts with `(` directly.
fn leading_struct_name(text: &str) -> Option<&str> {
    let mut rest = text;
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix("//") {
            rest = after.split_once('\n').map_or("", |(_, tail)| tail);
        } else if let Some(after) = rest.strip_prefix("/*") {
            rest = after.split_once("*/").map_or("", |(_, tail)| tail);
        } else if let Some(after) = rest.strip_prefix("#![") {
            rest = after.split_once(']').map_or("", |(_, tail)| tail);
        } else {
            break;
        }
    }
    let end = rest
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    (end > 0).then(|| &rest[..end])
}

/// Reads a model name written as a RON identifier (`HH_fc`), a raw identifier (`r#4LIF_fc`)
/// or a string (`"4LIF_fc"`). RON identifiers cannot start with a digit, so `4LIF_fc` and
/// `4LIF_conv` need one of the last two forms. Unknown names list the valid ones.
pub fn deserialize_model_kind<'de, D>(deserializer: D) -> Result<ModelKind, D::Error>
where
    D: Deserializer<'de>,
{
    // As in `optional`, the untagged wrapper makes RON hand identifiers over as strings.
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum ModelName {
        Name(String),
    }

    let ModelName::Name(name) = ModelName::deserialize(deserializer)?;
    let name = name.strip_prefix("r#").unwrap_or(&name);
    name.parse().map_err(serde::de::Error::custom)
}

fn default_batch_size() -> usize {
    DEFAULT_BATCH_SIZE
}

fn check(ok: bool, field: &str, value: impl ToString, fix: &str) -> Result<(), PresetError> {
    if ok {
        return Ok(());
    }
    Err(PresetError::Invalid {
        field: field.to_string(),
        value: value.to_string(),
        fix: fix.to_string(),
    })
}

/// Reads an optional field written as a bare value, `Some(value)` or `None`. The untagged
/// wrapper makes serde buffer the input, and its buffered form turns a bare value into
/// `Some`, which RON on its own rejects for `Option` fields.
fn optional<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum BareOrOption<T> {
        Value(Option<T>),
    }

    let BareOrOption::Value(value) = BareOrOption::deserialize(deserializer)?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_and_wrapped_options_parse() {
        let text = "(model: HH_fc, epochs: 1, learning_rate: 0.001, \
                    train_samples: Some(24000), test_samples: None)";
        let preset: TrainPreset = parse_ron(text, "t.ron").expect("parse");
        assert_eq!(preset.learning_rate, Some(0.001));
        assert_eq!(preset.train_samples, Some(24000));
        assert_eq!(preset.test_samples, None);
        assert_eq!(preset.batch_size, DEFAULT_BATCH_SIZE);
        assert_eq!(preset.dataset, MultiVariant::MultiMnist);
    }

    #[test]
    fn saved_preset_parses_back() {
        let mut preset = TrainPreset::full(ModelKind::LifFc);
        preset.learning_rate = Some(3e-4);
        preset.lr_milestones = Some(vec![5, 8]);
        let text = super::super::to_ron_string(&preset).expect("write");
        let back: TrainPreset = parse_ron(&text, "t.ron").expect("parse");
        assert_eq!(back, preset);
    }

    #[test]
    fn unknown_model_lists_valid_names() {
        let error =
            parse_ron::<TrainPreset>("(model: HH_fcc, epochs: 1)", "t.ron").expect_err("must fail");
        let text = error.to_string();
        assert!(text.contains("HH_fcc"), "{text}");
        assert!(text.contains("LIF_hh_conv"), "{text}");
    }

    #[test]
    fn model_names_parse_in_every_form() {
        let cases = [
            ("HH_fc", ModelKind::HhFc),
            ("r#4LIF_fc", ModelKind::FourLifFc),
            ("\"4LIF_conv\"", ModelKind::FourLifConv),
        ];
        for (text, expected) in cases {
            let preset: TrainPreset = parse_ron(&format!("(model: {text}, epochs: 1)"), "t.ron")
                .unwrap_or_else(|error| panic!("{text}: {error}"));
            assert_eq!(preset.model, expected, "{text}");
        }
    }

    #[test]
    fn digit_model_names_round_trip() {
        for kind in ModelKind::ALL {
            let preset = TrainPreset::full(kind);
            let text = super::super::to_ron_string(&preset).expect("write");
            let back: TrainPreset =
                parse_ron(&text, "t.ron").unwrap_or_else(|error| panic!("{kind}: {error}\n{text}"));
            assert_eq!(back.model, kind);
        }
    }

    #[test]
    fn unknown_field_is_rejected() {
        let error = parse_ron::<TrainPreset>("(model: HH_fc, epochs: 1, epoch: 2)", "t.ron")
            .expect_err("must fail");
        assert!(error.to_string().contains("batch_size"), "{error}");
    }

    #[test]
    fn overrides_set_optional_fields() {
        let sets = [
            "epochs=1".to_string(),
            "learning_rate=0.01".to_string(),
            "train_samples=500".to_string(),
            "dataset=MultiFashion".to_string(),
        ];
        let preset = apply_overrides(TrainPreset::full(ModelKind::HhFc), &sets).expect("set");
        assert_eq!(preset.epochs, 1);
        assert_eq!(preset.optim_config().lr, 0.01);
        assert_eq!(preset.train_samples, Some(500));
        assert_eq!(preset.dataset, MultiVariant::MultiFashion);
    }

    #[test]
    fn optim_config_defaults_to_model() {
        let preset = TrainPreset::full(ModelKind::Cnn);
        assert_eq!(preset.optim_config(), ModelKind::Cnn.optim_config());
    }

    #[test]
    fn validation_rejects_bad_values() {
        type Change = fn(&mut TrainPreset);
        let cases: [(&str, Change); 4] = [
            ("epochs", |p| p.epochs = 0),
            ("batch_size", |p| p.batch_size = 0),
            ("learning_rate", |p| p.learning_rate = Some(-1.0)),
            ("noise_amplitude", |p| p.noise_amplitude = f32::NAN),
        ];
        for (field, change) in cases {
            let mut preset = TrainPreset::full(ModelKind::HhFc);
            change(&mut preset);
            let error = preset.validate().expect_err(field);
            assert!(error.to_string().contains(field), "{field}: {error}");
        }
    }

    #[test]
    fn struct_name_selects_preset_kind() {
        let cases = [
            ("(model: HH_fc)", None),
            ("// note\nMnistMlpPreset(epochs: 1)", Some("MnistMlpPreset")),
            (
                "#![enable(implicit_some)]\nTrainPreset(x: 1)",
                Some("TrainPreset"),
            ),
            ("/* a */ (epochs: 1)", None),
        ];
        for (text, expected) in cases {
            assert_eq!(leading_struct_name(text), expected, "{text}");
        }
    }
}
