//! Export of simulation results: CSV files of traces, spike onsets and metrics.
//!
//! A run folder contains `spikes.csv` (`model,neuron,time_ms`, one row per onset),
//! `traces.csv` (`time_ms` and one column per trace, headed with its unit, such as
//! `HH1 u (mV)`) and `metrics.csv` (`metric,value`, the unit in the metric name).

pub mod csv;

pub use self::csv::{write_metrics_csv, write_sim_output, write_spikes_csv, write_traces_csv};

use std::path::{Path, PathBuf};

/// Files of a simulation run folder, as `hhlab simulate` writes them.
pub const SIM_RUN_FILES: [&str; 4] = ["run.ron", "spikes.csv", "traces.csv", "metrics.csv"];

/// Creates `dir` (and its parents) and checks that a file can be written in it, so that a bad
/// `--out` fails before the simulation runs. Returns the run files already in `dir`, which a
/// new run replaces.
pub fn prepare_sim_folder(dir: &Path) -> Result<Vec<&'static str>, ExportError> {
    let io_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ExportError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io_error(dir))?;
    let probe = dir.join(".write-probe");
    std::fs::write(&probe, b"").map_err(io_error(dir))?;
    std::fs::remove_file(&probe).map_err(io_error(&probe))?;
    Ok(SIM_RUN_FILES
        .into_iter()
        .filter(|name| dir.join(name).exists())
        .collect())
}

/// Errors of writing export files.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Occurs when a folder cannot be created or a file cannot be written.
    #[error("cannot write {path}; choose a folder you can write to (for example with --out)")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Occurs when the CSV writer fails.
    #[error("cannot write CSV file {path}; choose a folder you can write to")]
    Csv {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: ::csv::Error,
    },
}
