//! Checkpoints: model weights in `checkpoint.safetensors` (the `VarMap` names, f32) and a
//! small `checkpoint.ron` saying which epoch they belong to.
//!
//! Both files are written to a temporary name and renamed, tensors first, so a crash while
//! saving leaves the previous checkpoint readable.
//!
//! NOTE: Adam's moments are not saved (`nn::adam::Adam` keeps them private), so a resumed run
//! restarts Adam's moment estimates and bias correction at the epoch it resumes from.

use std::path::Path;

use candle_nn::VarMap;
use serde::{Deserialize, Serialize};

use super::error::TrainError;
use super::folder::{temporary_path, write_atomically, CHECKPOINT_FILE, CHECKPOINT_META_FILE};
use crate::nn::ModelKind;

/// Contents of `checkpoint.ron`, stored next to the weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointMeta {
    /// The model the weights belong to.
    #[serde(deserialize_with = "crate::preset::train::deserialize_model_kind")]
    pub model: ModelKind,
    /// Epochs completed when the weights were saved; a resumed run starts with the next one.
    pub epochs_done: usize,
    /// Optimizer steps done when the weights were saved.
    pub step: u64,
    /// Learning rate of the last epoch done.
    pub learning_rate: f64,
}

/// Writes the weights of `vars` and `meta` into `dir`, replacing the previous checkpoint.
pub fn save_checkpoint(dir: &Path, vars: &VarMap, meta: &CheckpointMeta) -> Result<(), TrainError> {
    let tensors_path = dir.join(CHECKPOINT_FILE);
    let temporary = temporary_path(&tensors_path);
    vars.save(&temporary)?;
    std::fs::rename(&temporary, &tensors_path).map_err(|source| TrainError::Io {
        path: tensors_path.clone(),
        source,
    })?;

    let meta_path = dir.join(CHECKPOINT_META_FILE);
    let text =
        ron::ser::to_string_pretty(meta, ron::ser::PrettyConfig::default()).map_err(|error| {
            TrainError::Malformed {
                path: meta_path.clone(),
                message: format!("cannot format the checkpoint metadata: {error}"),
            }
        })?;
    write_atomically(&meta_path, text.as_bytes())
}

/// Reads `checkpoint.ron` of `dir`; `None` when the run has not saved a checkpoint yet.
pub fn read_checkpoint_meta(dir: &Path) -> Result<Option<CheckpointMeta>, TrainError> {
    let path = dir.join(CHECKPOINT_META_FILE);
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path).map_err(|source| TrainError::Io {
        path: path.clone(),
        source,
    })?;
    ron::from_str(&text)
        .map(Some)
        .map_err(|error| TrainError::Malformed {
            path,
            message: error.to_string(),
        })
}

/// Loads the weights of `dir`'s checkpoint into the variables of `vars`, which must already
/// exist with the same names and shapes (build the model first).
pub fn load_weights(dir: &Path, vars: &mut VarMap) -> Result<(), TrainError> {
    let path = dir.join(CHECKPOINT_FILE);
    if !path.exists() {
        return Err(TrainError::Resume {
            path: dir.to_path_buf(),
            reason: format!("{CHECKPOINT_FILE} is missing"),
        });
    }
    vars.load(&path).map_err(|error| TrainError::Resume {
        path: dir.to_path_buf(),
        reason: format!("{CHECKPOINT_FILE} does not fit the model: {error}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device, Tensor};

    fn var_map_with(value: f32) -> VarMap {
        let vars = VarMap::new();
        vars.get(
            (2, 3),
            "layer.weight",
            candle_nn::Init::Const(value.into()),
            DType::F32,
            &Device::Cpu,
        )
        .expect("create variable");
        vars
    }

    fn first_value(vars: &VarMap) -> f32 {
        let data = vars.data().lock().expect("lock");
        let tensor: &Tensor = data["layer.weight"].as_tensor();
        tensor
            .flatten_all()
            .and_then(|t| t.to_vec1::<f32>())
            .expect("values")[0]
    }

    #[test]
    fn checkpoint_round_trips() {
        let dir = tempfile::tempdir().expect("tempdir");
        let meta = CheckpointMeta {
            model: ModelKind::HhFc,
            epochs_done: 2,
            step: 40,
            learning_rate: 1e-4,
        };
        save_checkpoint(dir.path(), &var_map_with(1.5), &meta).expect("save");

        let mut restored = var_map_with(0.0);
        load_weights(dir.path(), &mut restored).expect("load");
        assert_eq!(first_value(&restored), 1.5);
        assert_eq!(read_checkpoint_meta(dir.path()).expect("meta"), Some(meta));
    }

    #[test]
    fn missing_checkpoint_reads_as_none() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(read_checkpoint_meta(dir.path()).expect("meta"), None);
        let error = load_weights(dir.path(), &mut var_map_with(0.0)).expect_err("no file");
        assert!(error.to_string().contains(CHECKPOINT_FILE), "{error}");
    }
}
