//! The ten two-task classifiers by name, with the optimiser settings each one trains with.
//!
//! Names are the exact strings of the reference implementation (`LIF_fc`, `4LIF_fc`, …); serde,
//! clap (through [`std::str::FromStr`]) and [`std::fmt::Display`] all use them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::nn::NnError;

/// One of the ten classifiers of the Multi-MNIST experiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ModelKind {
    /// Linear 1296→512 into LIF neurons, T = 15.
    #[serde(rename = "LIF_fc")]
    LifFc,
    /// As `LIF_fc` with 2048 LIF neurons.
    #[serde(rename = "4LIF_fc")]
    FourLifFc,
    /// Linear 1296→512 (weights ×0.01) into HH neurons, T = 15.
    #[serde(rename = "HH_fc")]
    HhFc,
    /// Three Linear 1296→512 into three LIF compartments plus a fourth driven by them.
    #[serde(rename = "LIF_hh_fc")]
    LifHhFc,
    /// Linear 1296→512, ReLU, one spike; no time steps.
    #[serde(rename = "ANN")]
    Ann,
    /// Two conv 3×3 layers with 10 channels into LIF neurons, average pooling, T = 15.
    #[serde(rename = "LIF_conv")]
    LifConv,
    /// As `LIF_conv` with 40 channels.
    #[serde(rename = "4LIF_conv")]
    FourLifConv,
    /// Two conv 3×3 layers with 10 channels into HH neurons, T = 15.
    #[serde(rename = "HH_conv")]
    HhConv,
    /// Two layers of three convs into LIF compartments, T = 10.
    #[serde(rename = "LIF_hh_conv")]
    LifHhConv,
    /// Two conv layers with ReLU and one spike each; no time steps.
    #[serde(rename = "CNN")]
    Cnn,
}

/// Adam and step-schedule settings of one model, as the reference trains it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptimConfig {
    /// Initial learning rate.
    pub lr: f64,
    /// L2 weight decay added to the gradient (PyTorch `Adam(weight_decay=…)`).
    pub weight_decay: f64,
    /// Epochs at which the learning rate is multiplied by `gamma`.
    pub milestones: Vec<usize>,
    /// Factor applied at each milestone.
    pub gamma: f64,
}

impl ModelKind {
    /// All ten kinds, fully connected first, in the order of the reference's table.
    pub const ALL: [ModelKind; 10] = [
        ModelKind::LifFc,
        ModelKind::FourLifFc,
        ModelKind::HhFc,
        ModelKind::LifHhFc,
        ModelKind::Ann,
        ModelKind::LifConv,
        ModelKind::FourLifConv,
        ModelKind::HhConv,
        ModelKind::LifHhConv,
        ModelKind::Cnn,
    ];

    /// The exact reference name, e.g. `"4LIF_fc"`.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::LifFc => "LIF_fc",
            ModelKind::FourLifFc => "4LIF_fc",
            ModelKind::HhFc => "HH_fc",
            ModelKind::LifHhFc => "LIF_hh_fc",
            ModelKind::Ann => "ANN",
            ModelKind::LifConv => "LIF_conv",
            ModelKind::FourLifConv => "4LIF_conv",
            ModelKind::HhConv => "HH_conv",
            ModelKind::LifHhConv => "LIF_hh_conv",
            ModelKind::Cnn => "CNN",
        }
    }

    /// Whether the hidden part is fully connected (`*_fc` and `ANN`) rather than convolutional.
    pub fn is_fully_connected(self) -> bool {
        matches!(
            self,
            ModelKind::LifFc
                | ModelKind::FourLifFc
                | ModelKind::HhFc
                | ModelKind::LifHhFc
                | ModelKind::Ann
        )
    }

    /// Number of time steps the static input is repeated for; 1 for `ANN` and `CNN`.
    pub fn time_steps(self) -> usize {
        match self {
            ModelKind::Ann | ModelKind::Cnn => 1,
            ModelKind::LifHhConv => 10,
            _ => 15,
        }
    }

    /// Adam settings and learning-rate steps: fully connected models (with `ANN`) use 1e-4,
    /// wd 1e-5, ×0.1 at epochs 10, 20, 30; spiking conv models 3e-3, wd 3e-4, ×0.1 at 20, 30;
    /// `CNN` 1e-3, wd 1e-4, ×0.1 at 20, 30.
    pub fn optim_config(self) -> OptimConfig {
        let (lr, weight_decay, milestones) = match self {
            k if k.is_fully_connected() => (1e-4, 1e-5, vec![10, 20, 30]),
            ModelKind::Cnn => (1e-3, 1e-4, vec![20, 30]),
            _ => (3e-3, 3e-4, vec![20, 30]),
        };
        OptimConfig {
            lr,
            weight_decay,
            milestones,
            gamma: 0.1,
        }
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ModelKind {
    type Err = NnError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ModelKind::ALL
            .into_iter()
            .find(|kind| kind.name() == s)
            .ok_or_else(|| NnError::UnknownModel {
                name: s.to_string(),
                expected: ModelKind::ALL.map(ModelKind::name).join(", "),
            })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn model_kind_names_round_trip() {
        for kind in ModelKind::ALL {
            let parsed: ModelKind = kind.to_string().parse().unwrap();
            assert_eq!(parsed, kind);
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.name()));
            let back: ModelKind = serde_json::from_str(&json).unwrap();
            assert_eq!(back, kind);
        }
    }

    #[test]
    fn unknown_model_name_lists_choices() {
        let err = "LIF".parse::<ModelKind>().unwrap_err().to_string();
        assert!(err.contains("\"LIF\""), "{err}");
        assert!(err.contains("4LIF_fc"), "{err}");
    }

    #[test]
    fn optim_config_per_family() {
        let fc = ModelKind::Ann.optim_config();
        assert_eq!((fc.lr, fc.weight_decay), (1e-4, 1e-5));
        assert_eq!(fc.milestones, vec![10, 20, 30]);
        let conv = ModelKind::HhConv.optim_config();
        assert_eq!((conv.lr, conv.weight_decay), (3e-3, 3e-4));
        assert_eq!(conv.milestones, vec![20, 30]);
        let cnn = ModelKind::Cnn.optim_config();
        assert_eq!((cnn.lr, cnn.weight_decay), (1e-3, 1e-4));
        assert_eq!(cnn.gamma, 0.1);
    }
}
