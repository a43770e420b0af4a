//! Checkpoints: model weights in `checkpoint.safetensors` (the `VarMap` names, f32), Adam's
//! moments in `optimizer.safetensors` (`<name>.m` and `<name>.v`, shaped like the variable),
//! and a small `checkpoint.ron` with the epoch, the step and Adam's step counts.
//!
//! Every file is written to a temporary name and renamed, tensors first and the metadata last,
//! so a crash while saving leaves the previous metadata in place. With the moments restored,
//! a resumed run continues exactly as an uninterrupted one would.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use candle_core::{Device, Tensor};
use candle_nn::VarMap;
use serde::{Deserialize, Serialize};

use super::error::TrainError;
use super::folder::{
    temporary_path, write_atomically, CHECKPOINT_FILE, CHECKPOINT_META_FILE, OPTIMIZER_FILE,
};
use crate::nn::{Adam, ModelKind};

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
    /// Adam's step count per variable name, for its bias correction; empty in checkpoints
    /// without `optimizer.safetensors`.
    #[serde(default)]
    pub adam_steps: BTreeMap<String, i32>,
}

/// Writes the weights of `vars`, the moments `adam` keeps for them and `meta` into `dir`,
/// replacing the previous checkpoint. `meta.adam_steps` is filled in here.
pub fn save_checkpoint(
    dir: &Path,
    vars: &VarMap,
    adam: &Adam,
    meta: &CheckpointMeta,
) -> Result<(), TrainError> {
    let tensors_path = dir.join(CHECKPOINT_FILE);
    let temporary = temporary_path(&tensors_path);
    vars.save(&temporary)?;
    rename(&temporary, &tensors_path)?;

    let mut moments = HashMap::new();
    let mut meta = meta.clone();
    meta.adam_steps.clear();
    for (name, var) in lock_vars(vars)?.iter() {
        if let Some((m, v, step)) = adam.moments(var) {
            moments.insert(
                format!("{name}.m"),
                Tensor::from_slice(m, var.shape(), &Device::Cpu)?,
            );
            moments.insert(
                format!("{name}.v"),
                Tensor::from_slice(v, var.shape(), &Device::Cpu)?,
            );
            meta.adam_steps.insert(name.clone(), step);
        }
    }
    let optimizer_path = dir.join(OPTIMIZER_FILE);
    let temporary = temporary_path(&optimizer_path);
    candle_core::safetensors::save(&moments, &temporary)?;
    rename(&temporary, &optimizer_path)?;

    let meta_path = dir.join(CHECKPOINT_META_FILE);
    let text =
        ron::ser::to_string_pretty(&meta, ron::ser::PrettyConfig::default()).map_err(|error| {
            TrainError::Malformed {
                path: meta_path.clone(),
                message: format!("cannot format the checkpoint metadata: {error}"),
            }
        })?;
    write_atomically(&meta_path, text.as_bytes())
}

/// Restores Adam's moments of every variable listed in `meta.adam_steps` from
/// `optimizer.safetensors`. Returns false, changing nothing, when the checkpoint has none.
pub fn load_optimizer_state(
    dir: &Path,
    vars: &VarMap,
    adam: &mut Adam,
    meta: &CheckpointMeta,
) -> Result<bool, TrainError> {
    let path = dir.join(OPTIMIZER_FILE);
    if meta.adam_steps.is_empty() || !path.exists() {
        return Ok(false);
    }
    let resume_error = |reason: String| TrainError::Resume {
        path: dir.to_path_buf(),
        reason,
    };
    let tensors = candle_core::safetensors::load(&path, &Device::Cpu)
        .map_err(|error| resume_error(format!("cannot read {OPTIMIZER_FILE}: {error}")))?;
    let values = |key: &str| -> Result<Vec<f32>, TrainError> {
        let tensor = tensors
            .get(key)
            .ok_or_else(|| resume_error(format!("{OPTIMIZER_FILE} has no tensor {key}")))?;
        Ok(tensor.flatten_all()?.to_vec1::<f32>()?)
    };
    for (name, var) in lock_vars(vars)?.iter() {
        let Some(&step) = meta.adam_steps.get(name) else {
            continue;
        };
        let m = values(&format!("{name}.m"))?;
        let v = values(&format!("{name}.v"))?;
        adam.set_moments(var, m, v, step)
            .map_err(|error| resume_error(format!("{OPTIMIZER_FILE}, {name}: {error}")))?;
    }
    Ok(true)
}

fn lock_vars(
    vars: &VarMap,
) -> Result<std::sync::MutexGuard<'_, HashMap<String, candle_core::Var>>, TrainError> {
    vars.data()
        .lock()
        .map_err(|_| TrainError::Panicked("a thread panicked while holding the variables".into()))
}

fn rename(from: &Path, to: &Path) -> Result<(), TrainError> {
    std::fs::rename(from, to).map_err(|source| TrainError::Io {
        path: to.to_path_buf(),
        source,
    })
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

    fn adam_for(vars: &VarMap) -> Adam {
        use candle_nn::Optimizer;
        Adam::new(vars.all_vars(), crate::nn::AdamConfig::default()).expect("adam")
    }

    fn meta() -> CheckpointMeta {
        CheckpointMeta {
            model: ModelKind::HhFc,
            epochs_done: 2,
            step: 40,
            learning_rate: 1e-4,
            adam_steps: BTreeMap::new(),
        }
    }

    #[test]
    fn checkpoint_round_trips() {
        let dir = tempfile::tempdir().expect("tempdir");
        let saved = var_map_with(1.5);
        save_checkpoint(dir.path(), &saved, &adam_for(&saved), &meta()).expect("save");

        let mut restored = var_map_with(0.0);
        load_weights(dir.path(), &mut restored).expect("load");
        assert_eq!(first_value(&restored), 1.5);
        let read = read_checkpoint_meta(dir.path())
            .expect("meta")
            .expect("some");
        assert_eq!(read.epochs_done, 2);
        assert_eq!(read.adam_steps.get("layer.weight"), Some(&0));
    }

    #[test]
    fn adam_moments_round_trip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let saved = var_map_with(1.5);
        let mut adam = adam_for(&saved);
        let var = saved.all_vars().remove(0);
        let m: Vec<f32> = (0..6).map(|i| i as f32).collect();
        let v: Vec<f32> = (0..6).map(|i| 10.0 + i as f32).collect();
        adam.set_moments(&var, m.clone(), v.clone(), 7)
            .expect("set");
        save_checkpoint(dir.path(), &saved, &adam, &meta()).expect("save");

        let restored = var_map_with(0.0);
        let mut restored_adam = adam_for(&restored);
        let read = read_checkpoint_meta(dir.path())
            .expect("meta")
            .expect("some");
        assert!(
            load_optimizer_state(dir.path(), &restored, &mut restored_adam, &read).expect("load")
        );
        let restored_var = restored.all_vars().remove(0);
        let (m2, v2, step) = restored_adam.moments(&restored_var).expect("moments");
        assert_eq!(m2, m.as_slice());
        assert_eq!(v2, v.as_slice());
        assert_eq!(step, 7);
    }

    #[test]
    fn missing_checkpoint_reads_as_none() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(read_checkpoint_meta(dir.path()).expect("meta"), None);
        let error = load_weights(dir.path(), &mut var_map_with(0.0)).expect_err("no file");
        assert!(error.to_string().contains(CHECKPOINT_FILE), "{error}");
    }
}
