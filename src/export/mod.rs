//! Export of simulation results: CSV files of traces, spike onsets and metrics.
//!
//! A run folder contains `spikes.csv` (`model,neuron,time_ms`, one row per onset),
//! `traces.csv` (`time_ms` and one column per trace, headed with its unit, such as
//! `HH1 u (mV)`) and `metrics.csv` (`metric,value`, the unit in the metric name).

pub mod csv;

pub use self::csv::{write_metrics_csv, write_sim_output, write_spikes_csv, write_traces_csv};

use std::path::PathBuf;

/// Errors of writing export files.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Occurs when a folder cannot be created or a file cannot be written.
    #[error(
        "cannot write {path}: {source}; choose a folder you can write to (for example with --out)"
    )]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Occurs when the CSV writer fails.
    #[error("cannot write CSV file {path}: {source}; choose a folder you can write to")]
    Csv {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: ::csv::Error,
    },
}
