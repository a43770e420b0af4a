//! `run.ron` (what a run was asked to do) and reading a whole past run folder back, for the
//! GUI to reopen and overlay finished or interrupted runs.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::checkpoint::{read_checkpoint_meta, CheckpointMeta};
use super::error::TrainError;
use super::folder::{write_atomically, METRICS_FILE, RUN_RECORD_FILE};
use super::metrics::{read_metrics, MetricRow};
use crate::nn::OptimConfig;
use crate::preset::train::TrainPreset;

/// The hhlab version written into every run record.
pub const HHLAB_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Contents of `run.ron`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunRecord {
    /// Version of hhlab that ran it.
    pub hhlab_version: String,
    /// The run id (the run folder's name).
    pub run_id: String,
    /// The seed in force (also `preset.seed`).
    pub seed: u64,
    /// The exact preset, after `--seed` and `--set` were applied.
    pub preset: TrainPreset,
    /// The optimizer settings the preset resolves to.
    pub optimizer: OptimConfig,
    /// Each `--resume` that changed the preset, oldest first; `preset` is the one in force
    /// after the last, and undoing the changes in reverse gives the original.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resumes: Vec<ResumeRecord>,
}

/// One resume of a run that changed its preset (for example `--set epochs=5`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResumeRecord {
    /// Version of hhlab that resumed it.
    pub hhlab_version: String,
    /// Epochs checkpointed before the resume.
    pub after_epoch: usize,
    /// Changed preset fields, each `FIELD: OLD -> NEW` with values in RON.
    pub changes: Vec<String>,
}

impl RunRecord {
    /// Creates the record of a run of `preset` in a folder called `run_id`.
    pub fn new(run_id: String, preset: &TrainPreset) -> Self {
        Self {
            hhlab_version: HHLAB_VERSION.to_string(),
            run_id,
            seed: preset.seed,
            preset: preset.clone(),
            optimizer: preset.optim_config(),
            resumes: Vec::new(),
        }
    }

    /// Returns the record of this run resumed after `after_epoch` epochs with `preset`: the
    /// same record when the preset is unchanged, else one with the new preset and a
    /// [`ResumeRecord`] listing the changed fields.
    pub fn resumed(&self, preset: &TrainPreset, after_epoch: usize) -> Self {
        let changes = preset_changes(&self.preset, preset);
        if changes.is_empty() {
            return self.clone();
        }
        let mut record = self.clone();
        record.seed = preset.seed;
        record.preset = preset.clone();
        record.optimizer = preset.optim_config();
        record.resumes.push(ResumeRecord {
            hhlab_version: HHLAB_VERSION.to_string(),
            after_epoch,
            changes,
        });
        record
    }

    /// Writes the record as `run.ron` in `dir`.
    pub fn write(&self, dir: &Path) -> Result<(), TrainError> {
        let path = dir.join(RUN_RECORD_FILE);
        let text = crate::preset::to_ron_string(self)?;
        write_atomically(&path, text.as_bytes())
    }

    /// Reads `run.ron` from `dir`.
    pub fn read(dir: &Path) -> Result<Self, TrainError> {
        Ok(crate::preset::load_ron(&dir.join(RUN_RECORD_FILE))?)
    }
}

/// Lists the top-level fields that differ between two presets, each as `FIELD: OLD -> NEW`
/// with the values in RON.
pub fn preset_changes(old: &TrainPreset, new: &TrainPreset) -> Vec<String> {
    let (Ok(serde_json::Value::Object(old_fields)), Ok(serde_json::Value::Object(new_fields))) =
        (serde_json::to_value(old), serde_json::to_value(new))
    else {
        return Vec::new();
    };
    let as_ron = |value: Option<&serde_json::Value>| {
        value
            .and_then(|value| ron::to_string(value).ok())
            .unwrap_or_else(|| "None".to_string())
    };
    new_fields
        .iter()
        .filter(|(name, value)| old_fields.get(*name) != Some(*value))
        .map(|(name, value)| {
            format!(
                "{name}: {} -> {}",
                as_ron(old_fields.get(name)),
                as_ron(Some(value))
            )
        })
        .collect()
}

/// How far a past run got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PastRunStatus {
    /// The checkpoint covers every epoch of the preset.
    Complete,
    /// Fewer epochs than the preset requests were checkpointed (cancelled, failed, killed or
    /// still running).
    Incomplete {
        /// Epochs with a checkpoint.
        epochs_done: usize,
    },
}

/// A run folder read back from disk.
#[derive(Debug, Clone, PartialEq)]
pub struct PastRun {
    /// The folder.
    pub dir: PathBuf,
    /// Contents of `run.ron`.
    pub record: RunRecord,
    /// Every row of `metrics.csv`, in file order (empty when the run wrote none).
    pub metrics: Vec<MetricRow>,
    /// Contents of `checkpoint.ron`, when a checkpoint was saved.
    pub checkpoint: Option<CheckpointMeta>,
    /// Whether every epoch was checkpointed.
    pub status: PastRunStatus,
}

impl PastRun {
    /// Returns the rows of one metric as `(step, value)` points, in step order.
    pub fn series(&self, metric: &str) -> Vec<(u64, f64)> {
        let mut points: Vec<(u64, f64)> = self
            .metrics
            .iter()
            .filter(|row| row.metric == metric)
            .map(|row| (row.step, row.value))
            .collect();
        points.sort_by_key(|&(step, _)| step);
        points
    }

    /// Returns the last value of a metric, if the run wrote any.
    pub fn last_value(&self, metric: &str) -> Option<f64> {
        self.series(metric).last().map(|&(_, value)| value)
    }
}

/// Reads a past run: `run.ron`, `metrics.csv` (if present) and `checkpoint.ron` (if present).
pub fn read_run_folder(dir: &Path) -> Result<PastRun, TrainError> {
    let record = RunRecord::read(dir)?;
    let metrics_path = dir.join(METRICS_FILE);
    let metrics = if metrics_path.exists() {
        read_metrics(&metrics_path)?
    } else {
        Vec::new()
    };
    let checkpoint = read_checkpoint_meta(dir)?;
    let epochs_done = checkpoint.as_ref().map_or(0, |meta| meta.epochs_done);
    let status = if epochs_done >= record.preset.epochs {
        PastRunStatus::Complete
    } else {
        PastRunStatus::Incomplete { epochs_done }
    };
    Ok(PastRun {
        dir: dir.to_path_buf(),
        record,
        metrics,
        checkpoint,
        status,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::ModelKind;
    use crate::train::metrics::{MetricsWriter, TEST_ACCURACY_TASK1};

    #[test]
    fn run_folder_reads_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut preset = TrainPreset::full(ModelKind::LifFc);
        preset.epochs = 3;
        preset.seed = 9;
        RunRecord::new("run-9".to_string(), &preset)
            .write(dir.path())
            .expect("write record");
        let mut writer = MetricsWriter::open(&dir.path().join(METRICS_FILE)).expect("open");
        for (step, value) in [(20, 60.0), (10, 50.0)] {
            let row = MetricRow {
                step,
                epoch: 1,
                metric: TEST_ACCURACY_TASK1.to_string(),
                value,
            };
            writer.append(&row).expect("append");
        }

        let past = read_run_folder(dir.path()).expect("read");
        assert_eq!(past.record.preset, preset);
        assert_eq!(past.record.seed, 9);
        assert_eq!(
            past.series(TEST_ACCURACY_TASK1),
            vec![(10, 50.0), (20, 60.0)]
        );
        assert_eq!(past.last_value(TEST_ACCURACY_TASK1), Some(60.0));
        assert_eq!(past.status, PastRunStatus::Incomplete { epochs_done: 0 });
    }

    #[test]
    fn resume_records_changed_fields() {
        let mut preset = TrainPreset::full(ModelKind::LifFc);
        preset.epochs = 1;
        let record = RunRecord::new("run-r".to_string(), &preset);
        assert_eq!(record.resumed(&preset, 1), record);

        let mut extended = preset.clone();
        extended.epochs = 5;
        let resumed = record.resumed(&extended, 1);
        assert_eq!(resumed.preset.epochs, 5);
        assert_eq!(resumed.resumes.len(), 1);
        assert_eq!(resumed.resumes[0].after_epoch, 1);
        assert_eq!(
            resumed.resumes[0].changes,
            vec!["epochs: 1 -> 5".to_string()]
        );

        let dir = tempfile::tempdir().expect("tempdir");
        resumed.write(dir.path()).expect("write");
        assert_eq!(RunRecord::read(dir.path()).expect("read"), resumed);
    }

    #[test]
    fn folder_without_record_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let error = read_run_folder(dir.path()).expect_err("no run.ron");
        assert!(error.to_string().contains(RUN_RECORD_FILE), "{error}");
    }
}
