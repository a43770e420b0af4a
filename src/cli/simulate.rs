//! `hhlab simulate PRESET --out DIR [--set FIELD=VALUE]...`: runs a simulation preset
//! headless and writes its run folder.
//!
//! The folder receives `run.ron` (the preset as run, after overrides), `spikes.csv`,
//! `traces.csv` and `metrics.csv`; a short summary goes to stdout.

use std::io::Write;
use std::path::PathBuf;

use hhlab::preset::sim::SimPreset;
use hhlab::preset::{apply_overrides, load_ron, save_ron};

/// Arguments of `hhlab simulate`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Units: times in ms, currents in µA/cm², potentials in mV.\n\
    Examples:\n  hhlab simulate presets/chain-sine.ron --out runs/sine\n  \
    hhlab simulate presets/chain-sine.ron --out runs/sine2 --set stimulus.amplitude=10.0\n  \
    hhlab simulate presets/xor.ron --out runs/xor --set dt_ms=0.0005 --set record_every=10"
)]
pub struct SimulateArgs {
    /// Simulation preset file (RON), such as presets/chain-const.ron.
    pub preset: PathBuf,

    /// Output folder for run.ron, spikes.csv, traces.csv and metrics.csv; created if missing
    /// and checked before the simulation starts. Files of an earlier run there are replaced,
    /// with a warning that lists them.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,

    /// Override a preset field, VALUE in RON syntax; repeatable. FIELD is a dotted path:
    /// dt_ms (ms), duration_ms (ms), record_every (fine steps per trace sample),
    /// stimulus.waveform (Const|Sine|Square|Sawtooth|Triangle), stimulus.offset (µA/cm²),
    /// stimulus.amplitude (µA/cm²), stimulus.period_ms (ms), chain.lif_dt_ms (ms),
    /// xor.cases (list of (xA, xB) in µA/cm²), xor.weight (µA/cm²),
    /// fully_connected.weights (Random(seed: 1, scale: 1.0) or File("w.safetensors")),
    /// fully_connected.image (Builtin or Mnist(index: 0)).
    #[arg(long = "set", value_name = "FIELD=VALUE")]
    pub sets: Vec<String>,
}

/// Runs `hhlab simulate`.
pub fn run(args: SimulateArgs) -> anyhow::Result<()> {
    let preset: SimPreset = load_ron(&args.preset).map_err(|error| {
        let text = error.to_string();
        if text.contains("unknown field `model`") {
            anyhow::anyhow!(
                "{text}\nhint: this looks like a training preset; run `hhlab train {} --out DIR`",
                args.preset.display()
            )
        } else {
            error.into()
        }
    })?;
    let preset = apply_overrides(preset, &args.sets)?;

    let replaced = hhlab::export::prepare_sim_folder(&args.out)?;
    if !replaced.is_empty() {
        tracing::warn!(
            "{} already contains a run; replacing {}",
            args.out.display(),
            replaced.join(", ")
        );
    }

    let started = std::time::Instant::now();
    tracing::info!(preset = %args.preset.display(), name = %preset.name, "simulation started");
    let output = hhlab::sim::run(&preset)?;
    let elapsed_s = started.elapsed().as_secs_f64();

    save_ron(&preset, &args.out.join("run.ron"))?;
    hhlab::export::write_sim_output(&args.out, &output)?;
    tracing::info!(out = %args.out.display(), "run folder written");

    // A closed stdout (for example `| head`) is not an error: the run folder is written.
    match print_summary(&preset, &output, &args.out, elapsed_s) {
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// Prints spike counts, metrics and notes of a finished run.
fn print_summary(
    preset: &SimPreset,
    output: &hhlab::sim::SimOutput,
    out: &std::path::Path,
    elapsed_s: f64,
) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    writeln!(
        stdout,
        "{} ({:?}): {} ms simulated in {elapsed_s:.2} s",
        preset.name, preset.experiment, preset.duration_ms
    )?;
    const SHOWN_TRAINS: usize = 12;
    let spiking: Vec<String> = output
        .spikes
        .iter()
        .filter(|train| output.spikes.len() <= SHOWN_TRAINS || !train.onsets_ms.is_empty())
        .map(|train| format!("{} {}: {}", train.model, train.label, train.onsets_ms.len()))
        .collect();
    let mut line = spiking
        .iter()
        .take(SHOWN_TRAINS)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if spiking.len() > SHOWN_TRAINS {
        let rest = spiking.len() - SHOWN_TRAINS;
        line.push_str(&format!(", … and {rest} more (all in spikes.csv)"));
    }
    writeln!(stdout, "spikes: {line}")?;
    for metric in &output.metrics {
        let value = format!("{:.6}", metric.value);
        let value = value.trim_end_matches('0').trim_end_matches('.');
        if metric.unit.is_empty() {
            writeln!(stdout, "{}: {value}", metric.name)?;
        } else {
            writeln!(stdout, "{}: {value} {}", metric.name, metric.unit)?;
        }
    }
    for note in &output.notes {
        writeln!(stdout, "note: {note}")?;
    }
    writeln!(stdout, "wrote {}", out.display())?;
    Ok(())
}
