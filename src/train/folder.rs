//! The run folder: where a training run writes everything it produces.
//!
//! ```text
//! run.ron                  the exact preset, seed and hhlab version (RunRecord)
//! metrics.csv              step,epoch,metric,value; appended and flushed per row
//! log.txt                  human-readable log, one line per message
//! checkpoint.safetensors   model weights after the last full epoch
//! optimizer.safetensors    Adam's moments at the same point
//! checkpoint.ron           epochs done, step, learning rate, Adam steps (CheckpointMeta)
//! ```

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::error::TrainError;

/// File name of the run record.
pub const RUN_RECORD_FILE: &str = "run.ron";
/// File name of the metrics table.
pub const METRICS_FILE: &str = "metrics.csv";
/// File name of the log.
pub const LOG_FILE: &str = "log.txt";
/// File name of the checkpoint tensors.
pub const CHECKPOINT_FILE: &str = "checkpoint.safetensors";
/// File name of Adam's moments saved with the checkpoint.
pub const OPTIMIZER_FILE: &str = "optimizer.safetensors";
/// File name of the checkpoint metadata.
pub const CHECKPOINT_META_FILE: &str = "checkpoint.ron";

/// Paths of one run folder and its open log.
#[derive(Debug)]
pub struct RunFolder {
    dir: PathBuf,
    log: File,
    started: Instant,
}

impl RunFolder {
    /// Creates `dir` (and its parents) and opens `log.txt` for appending. Fails with
    /// [`TrainError::RunFolder`] when the folder cannot be created or written, so that an
    /// unwritable `--out` is reported before any data is loaded.
    pub fn create(dir: &Path) -> Result<Self, TrainError> {
        let folder_error = |source| TrainError::RunFolder {
            path: dir.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(folder_error)?;
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(LOG_FILE))
            .map_err(folder_error)?;

        // Opening a file for append can succeed where creating one fails (read-only
        // bind mounts with an existing log), so probe a fresh file as well.
        let probe = dir.join(".write-probe");
        std::fs::write(&probe, b"").map_err(folder_error)?;
        std::fs::remove_file(&probe).map_err(folder_error)?;

        Ok(Self {
            dir: dir.to_path_buf(),
            log,
            started: Instant::now(),
        })
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Returns the run id: the folder's last path component.
    pub fn run_id(&self) -> String {
        run_id_of(&self.dir)
    }

    /// Path of a file in the folder.
    pub fn path(&self, file_name: &str) -> PathBuf {
        self.dir.join(file_name)
    }

    /// Appends a line to `log.txt`, prefixed with the seconds since the folder was opened.
    pub fn log(&mut self, message: &str) -> Result<(), TrainError> {
        let elapsed_s = self.started.elapsed().as_secs_f64();
        writeln!(self.log, "[{elapsed_s:9.2}s] {message}")
            .and_then(|()| self.log.flush())
            .map_err(|source| TrainError::Io {
                path: self.dir.join(LOG_FILE),
                source,
            })
    }
}

/// Returns the run id of a run folder: its last path component, or `run` for a bare root.
pub fn run_id_of(dir: &Path) -> String {
    dir.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "run".to_string())
}

/// Writes `bytes` to `path` through a temporary file and a rename, so that a reader (or a
/// later resume) finds either the old file or the new one, never a half-written one.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), TrainError> {
    let temporary = temporary_path(path);
    std::fs::write(&temporary, bytes)
        .and_then(|()| std::fs::rename(&temporary, path))
        .map_err(|source| TrainError::Io {
            path: path.to_path_buf(),
            source,
        })
}

/// Returns the sibling path used while writing `path` atomically (`name.tmp`).
pub fn temporary_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_under_a_file_is_rejected() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("plain-file");
        std::fs::write(&file, b"x").expect("write");

        let error = RunFolder::create(&file.join("run")).expect_err("must fail");
        assert!(matches!(error, TrainError::RunFolder { .. }), "{error}");
        assert!(error.to_string().contains("--out"), "{error}");
    }

    #[test]
    fn log_lines_are_appended() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut folder = RunFolder::create(&dir.path().join("run-a")).expect("create");
        folder.log("first").expect("log");
        folder.log("second").expect("log");

        let text = std::fs::read_to_string(folder.path(LOG_FILE)).expect("read");
        assert_eq!(text.lines().count(), 2);
        assert!(text.contains("second"));
        assert_eq!(folder.run_id(), "run-a");
    }

    #[test]
    fn atomic_write_replaces_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("checkpoint.ron");
        write_atomically(&path, b"old").expect("first");
        write_atomically(&path, b"new").expect("second");

        assert_eq!(std::fs::read(&path).expect("read"), b"new");
        assert!(!temporary_path(&path).exists());
    }
}
