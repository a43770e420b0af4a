//! `metrics.csv` of a run folder: one row per measured value, appended and flushed as the run
//! streams, so a crash or a kill loses at most the row being written.
//!
//! Columns: `step,epoch,metric,value`. `step` counts optimizer steps from the run's start,
//! `epoch` is 1-based, `metric` is one of the names below, `value` is in the unit the name
//! states (`_pct` in percent, losses in nats).

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use super::error::TrainError;

/// Sum of the two tasks' cross-entropies of one training batch (nats), one row per batch.
pub const TRAIN_LOSS: &str = "train_loss";
/// Mean training loss over an epoch (nats).
pub const TRAIN_LOSS_EPOCH: &str = "train_loss_epoch";
/// Training accuracy of task 1 (the top-left digit) over an epoch, in percent.
pub const TRAIN_ACCURACY_TASK1: &str = "train_accuracy_task1_pct";
/// Training accuracy of task 2 (the bottom-right digit) over an epoch, in percent.
pub const TRAIN_ACCURACY_TASK2: &str = "train_accuracy_task2_pct";
/// Mean test loss after an epoch (nats, sum of both tasks).
pub const TEST_LOSS: &str = "test_loss";
/// Test accuracy of task 1 after an epoch, in percent.
pub const TEST_ACCURACY_TASK1: &str = "test_accuracy_task1_pct";
/// Test accuracy of task 2 after an epoch, in percent.
pub const TEST_ACCURACY_TASK2: &str = "test_accuracy_task2_pct";
/// Learning rate used during an epoch.
pub const LEARNING_RATE: &str = "learning_rate";
/// Mean training throughput over an epoch, in samples per second.
pub const SAMPLES_PER_SEC: &str = "samples_per_sec";

/// The header line of `metrics.csv`.
pub const METRICS_HEADER: &str = "step,epoch,metric,value";

/// One row of `metrics.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricRow {
    /// Optimizer steps done when the value was measured.
    pub step: u64,
    /// Epoch (1-based).
    pub epoch: usize,
    /// Metric name.
    pub metric: String,
    /// The value.
    pub value: f64,
}

/// Appends rows to `metrics.csv` and flushes after each one.
#[derive(Debug)]
pub struct MetricsWriter {
    path: PathBuf,
    file: File,
}

impl MetricsWriter {
    /// Opens `path` for appending; writes the header when the file is new or empty.
    pub fn open(path: &Path) -> Result<Self, TrainError> {
        let io_error = |source| TrainError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io_error)?;
        let is_empty = file.metadata().map_err(io_error)?.len() == 0;
        if is_empty {
            writeln!(file, "{METRICS_HEADER}").map_err(io_error)?;
            file.flush().map_err(io_error)?;
        }
        Ok(Self {
            path: path.to_path_buf(),
            file,
        })
    }

    /// Appends one row and flushes it to the operating system.
    pub fn append(&mut self, row: &MetricRow) -> Result<(), TrainError> {
        let MetricRow {
            step,
            epoch,
            metric,
            value,
        } = row;
        writeln!(self.file, "{step},{epoch},{metric},{value}")
            .and_then(|()| self.file.flush())
            .map_err(|source| TrainError::Io {
                path: self.path.clone(),
                source,
            })
    }
}

/// Reads every row of a `metrics.csv`.
pub fn read_metrics(path: &Path) -> Result<Vec<MetricRow>, TrainError> {
    let file = File::open(path).map_err(|source| TrainError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut rows = Vec::new();
    for (index, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|source| TrainError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let line_number = index + 1;
        if line_number == 1 {
            if line.trim() != METRICS_HEADER {
                return Err(malformed(path, line_number, "expected the header", &line));
            }
            continue;
        }
        if line.trim().is_empty() {
            continue;
        }
        match parse_row(&line) {
            Some(row) => rows.push(row),
            // A run killed mid-write can leave a partial last line; skip it.
            None if is_last_line(path, line_number)? => {
                tracing::warn!(path = %path.display(), line_number, "skipped a partial last row");
            }
            None => {
                return Err(malformed(
                    path,
                    line_number,
                    "expected step,epoch,metric,value",
                    &line,
                ))
            }
        }
    }
    Ok(rows)
}

/// Rewrites `metrics.csv` keeping only the rows measured at or before `step`, so that a resumed
/// run does not repeat the rows of the batches it redoes.
pub fn truncate_after_step(path: &Path, step: u64) -> Result<(), TrainError> {
    let rows = read_metrics(path)?;
    let mut text = format!("{METRICS_HEADER}\n");
    for row in rows.iter().filter(|row| row.step <= step) {
        text.push_str(&format!(
            "{},{},{},{}\n",
            row.step, row.epoch, row.metric, row.value
        ));
    }
    std::fs::write(path, text).map_err(|source| TrainError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn parse_row(line: &str) -> Option<MetricRow> {
    let mut fields = line.trim().split(',');
    let step = fields.next()?.parse().ok()?;
    let epoch = fields.next()?.parse().ok()?;
    let metric = fields.next()?.to_string();
    let value = fields.next()?.parse().ok()?;
    if fields.next().is_some() || metric.is_empty() {
        return None;
    }
    Some(MetricRow {
        step,
        epoch,
        metric,
        value,
    })
}

fn is_last_line(path: &Path, line_number: usize) -> Result<bool, TrainError> {
    let text = std::fs::read_to_string(path).map_err(|source| TrainError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(text.lines().count() == line_number && !text.ends_with('\n'))
}

fn malformed(path: &Path, line_number: usize, expected: &str, line: &str) -> TrainError {
    TrainError::Malformed {
        path: path.to_path_buf(),
        message: format!("line {line_number}: {expected}, got {line:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(step: u64, metric: &str, value: f64) -> MetricRow {
        MetricRow {
            step,
            epoch: 1,
            metric: metric.to_string(),
            value,
        }
    }

    #[test]
    fn metrics_round_trip_through_csv() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("metrics.csv");
        let rows = vec![row(1, TRAIN_LOSS, 4.5), row(2, TEST_ACCURACY_TASK1, 87.25)];
        let mut writer = MetricsWriter::open(&path).expect("open");
        for r in &rows {
            writer.append(r).expect("append");
        }

        assert_eq!(read_metrics(&path).expect("read"), rows);
    }

    #[test]
    fn reopened_writer_appends_without_header() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("metrics.csv");
        MetricsWriter::open(&path)
            .and_then(|mut w| w.append(&row(1, TRAIN_LOSS, 1.0)))
            .expect("first write");
        MetricsWriter::open(&path)
            .and_then(|mut w| w.append(&row(2, TRAIN_LOSS, 2.0)))
            .expect("second write");

        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(text.matches(METRICS_HEADER).count(), 1);
        assert_eq!(read_metrics(&path).expect("rows").len(), 2);
    }

    #[test]
    fn partial_last_row_is_skipped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("metrics.csv");
        std::fs::write(
            &path,
            "step,epoch,metric,value\n1,1,train_loss,2.5\n2,1,train_lo",
        )
        .expect("write");

        assert_eq!(read_metrics(&path).expect("read").len(), 1);
    }

    #[test]
    fn truncation_drops_later_steps() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("metrics.csv");
        let mut writer = MetricsWriter::open(&path).expect("open");
        for step in 1..=5 {
            writer
                .append(&row(step, TRAIN_LOSS, step as f64))
                .expect("append");
        }
        truncate_after_step(&path, 3).expect("truncate");

        let steps: Vec<u64> = read_metrics(&path)
            .expect("read")
            .iter()
            .map(|r| r.step)
            .collect();
        assert_eq!(steps, vec![1, 2, 3]);
    }
}
