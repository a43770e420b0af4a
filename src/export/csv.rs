//! CSV writers for a simulation's output.

use std::path::Path;

use crate::export::ExportError;
use crate::sim::{Metric, SimOutput, SpikeTrain, Trace};

/// Writes `spikes.csv`, `traces.csv` and `metrics.csv` into `dir`, creating it if needed.
pub fn write_sim_output(dir: &Path, output: &SimOutput) -> Result<(), ExportError> {
    std::fs::create_dir_all(dir).map_err(|source| ExportError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    write_spikes_csv(&dir.join("spikes.csv"), &output.spikes)?;
    write_traces_csv(&dir.join("traces.csv"), output.sample_dt_ms, &output.traces)?;
    write_metrics_csv(&dir.join("metrics.csv"), &output.metrics)?;
    Ok(())
}

/// Writes one row `model,neuron,time_ms` per spike onset.
pub fn write_spikes_csv(path: &Path, spikes: &[SpikeTrain]) -> Result<(), ExportError> {
    let mut writer = open(path)?;
    let csv_error = |source| ExportError::Csv {
        path: path.to_path_buf(),
        source,
    };
    writer
        .write_record(["model", "neuron", "time_ms"])
        .map_err(csv_error)?;
    for train in spikes {
        let neuron = train.neuron.to_string();
        for onset in &train.onsets_ms {
            let time = format_time_ms(*onset);
            writer
                .write_record([train.model.as_str(), neuron.as_str(), time.as_str()])
                .map_err(csv_error)?;
        }
    }
    finish(writer, path)
}

/// Writes `time_ms` and one column per trace; sample k is at k·`sample_dt_ms`.
pub fn write_traces_csv(
    path: &Path,
    sample_dt_ms: f64,
    traces: &[Trace],
) -> Result<(), ExportError> {
    let mut writer = open(path)?;
    let csv_error = |source| ExportError::Csv {
        path: path.to_path_buf(),
        source,
    };
    let mut header = vec!["time_ms".to_string()];
    header.extend(traces.iter().map(Trace::header));
    writer.write_record(&header).map_err(csv_error)?;

    let samples = traces
        .iter()
        .map(|trace| trace.values.len())
        .max()
        .unwrap_or(0);
    let mut record = Vec::with_capacity(traces.len() + 1);
    for k in 0..samples {
        record.clear();
        record.push(format_time_ms(k as f64 * sample_dt_ms));
        for trace in traces {
            record.push(trace.values.get(k).map_or_else(String::new, f64::to_string));
        }
        writer.write_record(&record).map_err(csv_error)?;
    }
    finish(writer, path)
}

/// Writes one row `metric,value` per metric; a unit is appended to the name in brackets.
pub fn write_metrics_csv(path: &Path, metrics: &[Metric]) -> Result<(), ExportError> {
    let mut writer = open(path)?;
    let csv_error = |source| ExportError::Csv {
        path: path.to_path_buf(),
        source,
    };
    writer
        .write_record(["metric", "value"])
        .map_err(csv_error)?;
    for metric in metrics {
        let name = if metric.unit.is_empty() {
            metric.name.clone()
        } else {
            format!("{} ({})", metric.name, metric.unit)
        };
        writer
            .write_record([name, metric.value.to_string()])
            .map_err(csv_error)?;
    }
    finish(writer, path)
}

fn open(path: &Path) -> Result<csv::Writer<std::fs::File>, ExportError> {
    csv::Writer::from_path(path).map_err(|source| ExportError::Csv {
        path: path.to_path_buf(),
        source,
    })
}

fn finish(mut writer: csv::Writer<std::fs::File>, path: &Path) -> Result<(), ExportError> {
    writer.flush().map_err(|source| ExportError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Formats a time in ms with at most nine decimals and no trailing zeros.
///
/// Times are step counts times dt, so `k as f64 * 0.001` carries binary rounding noise such
/// as 42.858000000000004; nine decimals keep every step of dt ≥ 1e-9 ms distinct.
pub fn format_time_ms(t_ms: f64) -> String {
    let text = format!("{t_ms:.9}");
    let trimmed = text.trim_end_matches('0').trim_end_matches('.');
    if trimmed == "-0" {
        "0".to_string()
    } else {
        trimmed.to_string()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::sim::TraceKind;

    fn sample_output() -> SimOutput {
        SimOutput {
            sample_dt_ms: 0.5,
            traces: vec![Trace {
                name: "HH1 u".to_string(),
                model: "HH".to_string(),
                kind: TraceKind::Voltage,
                unit: "mV".to_string(),
                values: vec![-70.0, -69.5],
            }],
            spikes: vec![SpikeTrain {
                model: "HH".to_string(),
                neuron: 1,
                label: "HH2".to_string(),
                onsets_ms: vec![3.25, 10.0],
            }],
            metrics: vec![Metric::new("output ISI difference", -0.5, "ms")],
            notes: Vec::new(),
        }
    }

    #[test]
    fn writes_three_files_with_headers() {
        let dir = tempfile::tempdir().unwrap();
        write_sim_output(dir.path(), &sample_output()).unwrap();
        let spikes = std::fs::read_to_string(dir.path().join("spikes.csv")).unwrap();
        assert_eq!(spikes, "model,neuron,time_ms\nHH,1,3.25\nHH,1,10\n");
        let traces = std::fs::read_to_string(dir.path().join("traces.csv")).unwrap();
        assert_eq!(traces, "time_ms,HH1 u (mV)\n0,-70\n0.5,-69.5\n");
        let metrics = std::fs::read_to_string(dir.path().join("metrics.csv")).unwrap();
        assert_eq!(metrics, "metric,value\noutput ISI difference (ms),-0.5\n");
    }

    #[test]
    fn unwritable_folder_names_path() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, "x").unwrap();
        let target = blocker.join("run");
        let err = write_sim_output(&target, &sample_output()).unwrap_err();
        let message = err.to_string();
        assert!(message.contains(&target.display().to_string()), "{message}");
        assert!(message.contains("choose a folder"), "{message}");
    }

    #[test]
    fn time_format_drops_rounding_noise() {
        let cases = [
            (42.858000000000004, "42.858"),
            (14.0, "14"),
            (0.0, "0"),
            (0.001, "0.001"),
            (20.618000000000002, "20.618"),
        ];
        for (t_ms, expected) in cases {
            assert_eq!(format_time_ms(t_ms), expected, "{t_ms}");
        }
    }
}
