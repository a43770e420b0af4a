//! `hhlab bench`: throughput measurements printed as one JSON line on stdout, read by the
//! comparison scripts in `bench/`.
//!
//! `hhlab bench hh` runs N independent rest-at−65 Hodgkin–Huxley neurons for a duration with
//! forward Euler. Neuron i of N gets the constant current I_max·i/(N − 1) µA/cm² (I_max
//! defaults to 20 µA/cm², which spans silent, threshold and fast-firing neurons). The timer
//! covers stepping only, not building the population. A spike is an onset of "previous
//! step's u > −40 mV".
//!
//! `hhlab bench train` times training steps (forward, backward, optimiser step) of one
//! classifier on synthetic batches, through `hhlab::train::bench::measure_throughput`.

use std::io::Write;
use std::time::Instant;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;

use hhlab::neuron::population::{
    linear_currents, simd_instruction_set, HhPopulation, Kernel, PopulationConfig,
};

/// Arguments of `hhlab bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub target: BenchTarget,
}

/// Benchmark targets of `hhlab bench`.
#[derive(Debug, Subcommand)]
pub enum BenchTarget {
    /// Hodgkin–Huxley neuron updates per second of a population with constant inputs.
    Hh(HhBenchArgs),
    /// Training samples per second of one classifier.
    Train(TrainBenchArgs),
    /// CPU time per frame of the trace plots (layout, decimation, tessellation), no window.
    Gui(GuiBenchArgs),
}

/// Arguments of `hhlab bench gui`.
#[derive(Debug, Args)]
pub struct GuiBenchArgs {
    /// Samples per trace.
    #[arg(long, default_value_t = 1_000_000)]
    pub points: usize,
    /// Number of traces, each in its own plot.
    #[arg(long, default_value_t = 4)]
    pub traces: usize,
}

/// One JSON line of `hhlab bench gui`, frame times in ms.
#[derive(Serialize)]
struct GuiReport {
    tool: &'static str,
    points: usize,
    traces: usize,
    first_frame_ms: f64,
    growing_data_ms: f64,
    replaced_data_ms: f64,
    static_data_ms: f64,
}

/// Arguments of `hhlab bench hh`.
#[derive(Debug, Args)]
pub struct HhBenchArgs {
    /// Number of neurons.
    #[arg(long, default_value_t = 100_000)]
    pub neurons: usize,
    /// Simulated time (ms).
    #[arg(long, default_value_t = 100.0)]
    pub duration_ms: f64,
    /// Forward-Euler time step (ms).
    #[arg(long, default_value_t = 0.01)]
    pub dt_ms: f64,
    /// Worker threads (default: rayon's choice, one per CPU or RAYON_NUM_THREADS).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Current of the last neuron, I_max (µA/cm²); neuron i gets I_max·i/(N − 1).
    #[arg(long, default_value_t = 20.0)]
    pub max_current: f64,
    /// Code path: the vector kernel or the scalar f64::exp reference.
    #[arg(long, value_enum, default_value_t = KernelChoice::Simd)]
    pub kernel: KernelChoice,
    /// Number of neurons, evenly spaced by index, whose spike counts are printed.
    #[arg(long, default_value_t = 10)]
    pub sample: usize,
}

/// `--kernel` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KernelChoice {
    /// Four neurons per vector with the vector exponential, AVX2 and FMA when the CPU has them.
    Simd,
    /// Four neurons per wide::f64x4 with the instructions of the build (SSE2 by default).
    SimdBaseline,
    /// One neuron at a time with f64::exp.
    Scalar,
}

/// Arguments of `hhlab bench train`.
#[derive(Debug, Args)]
pub struct TrainBenchArgs {
    /// Model name: LIF_fc, 4LIF_fc, HH_fc, LIF_hh_fc, ANN, LIF_conv, 4LIF_conv, HH_conv, ...
    #[arg(long)]
    pub model: String,
    /// Samples per batch.
    #[arg(long, default_value_t = 128)]
    pub batch_size: usize,
    /// Timed batches (after warm-up).
    #[arg(long, default_value_t = 20)]
    pub batches: usize,
}

/// The JSON line of `hhlab bench hh`.
#[derive(Debug, Serialize)]
struct HhReport {
    tool: &'static str,
    kernel: String,
    neurons: usize,
    steps: usize,
    dt_ms: f64,
    duration_ms: f64,
    max_current_ua_per_cm2: f64,
    threads: usize,
    seconds: f64,
    updates_per_sec: f64,
    /// CPU time of all threads during the run, where the platform reports it (Linux).
    cpu_seconds: Option<f64>,
    /// Updates per CPU second: per-core speed, less sensitive to other load on the machine.
    updates_per_cpu_sec: Option<f64>,
    total_spikes: u64,
    sample_neurons: Vec<usize>,
    spikes_per_neuron_sample: Vec<u64>,
}

/// The JSON line of `hhlab bench train`.
#[derive(Debug, Serialize)]
struct TrainReport {
    tool: &'static str,
    model: String,
    batch_size: usize,
    batches: usize,
    samples_per_sec: f64,
}

/// Runs `hhlab bench`.
pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    match args.target {
        BenchTarget::Hh(args) => run_hh(&args),
        BenchTarget::Train(args) => run_train(&args),
        BenchTarget::Gui(args) => run_gui(&args),
    }
}

/// Indices k·(N − 1)/(S − 1) for k in 0..S (integer division), so the Brian2 script can pick
/// the same neurons.
fn sample_indices(neurons: usize, sample: usize) -> Vec<usize> {
    match sample.min(neurons) {
        0 => Vec::new(),
        1 => vec![0],
        count => (0..count)
            .map(|k| k * (neurons - 1) / (count - 1))
            .collect(),
    }
}

fn run_hh(args: &HhBenchArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.neurons > 0, "invalid --neurons 0: expected at least 1");
    anyhow::ensure!(
        args.duration_ms.is_finite() && args.duration_ms > 0.0,
        "invalid --duration-ms {}: expected a positive number of milliseconds",
        args.duration_ms
    );
    anyhow::ensure!(
        args.max_current.is_finite(),
        "invalid --max-current {}: expected a finite current in µA/cm²",
        args.max_current
    );
    anyhow::ensure!(
        args.dt_ms.is_finite() && args.dt_ms > 0.0,
        "invalid --dt-ms {}: expected a positive time step in milliseconds such as 0.01",
        args.dt_ms
    );
    let steps = (args.duration_ms / args.dt_ms).round() as usize;
    anyhow::ensure!(
        steps > 0,
        "invalid --dt-ms {}: expected a step no longer than --duration-ms {}",
        args.dt_ms,
        args.duration_ms
    );
    let (kernel, kernel_name) = match args.kernel {
        KernelChoice::Simd => (Kernel::Simd, format!("simd ({})", simd_instruction_set())),
        KernelChoice::SimdBaseline => (Kernel::SimdBaseline, "simd-baseline".to_string()),
        KernelChoice::Scalar => (Kernel::Scalar, "scalar".to_string()),
    };

    let config = PopulationConfig {
        dt_ms: args.dt_ms,
        kernel,
        record_onsets: false,
    };
    let currents = linear_currents(args.neurons, args.max_current);
    let mut population = HhPopulation::new(&currents, config)?;
    let pool = build_pool(args.threads)?;
    let threads = pool.current_num_threads();

    let cpu_start = process_cpu_seconds();
    let start = Instant::now();
    pool.install(|| population.advance(steps))?;
    let seconds = start.elapsed().as_secs_f64();
    let cpu_seconds = cpu_start
        .zip(process_cpu_seconds())
        .map(|(start, end)| end - start);
    let updates = (args.neurons as f64) * (steps as f64);

    let sample_neurons = sample_indices(args.neurons, args.sample);
    let spikes_per_neuron_sample = sample_neurons
        .iter()
        .map(|&i| population.spike_counts()[i])
        .collect();
    let report = HhReport {
        tool: "hhlab",
        kernel: kernel_name,
        neurons: args.neurons,
        steps,
        dt_ms: args.dt_ms,
        duration_ms: args.duration_ms,
        max_current_ua_per_cm2: args.max_current,
        threads,
        seconds,
        updates_per_sec: updates / seconds,
        cpu_seconds,
        updates_per_cpu_sec: cpu_seconds.map(|cpu| updates / cpu),
        total_spikes: population.total_spikes(),
        sample_neurons,
        spikes_per_neuron_sample,
    };
    print_json(&report)
}

/// CPU time (s) all threads of this process have run so far, summed from
/// /proc/self/task/*/schedstat (Linux); `None` where that is unavailable.
fn process_cpu_seconds() -> Option<f64> {
    let mut total_ns: u64 = 0;
    for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let schedstat = std::fs::read_to_string(task.path().join("schedstat")).ok()?;
        total_ns += schedstat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(total_ns as f64 * 1e-9)
}

/// Builds a rayon pool with `threads` workers, or rayon's default count.
fn build_pool(threads: Option<usize>) -> anyhow::Result<rayon::ThreadPool> {
    if threads == Some(0) {
        anyhow::bail!("invalid --threads 0: expected at least 1");
    }
    let mut builder = rayon::ThreadPoolBuilder::new().thread_name(|i| format!("bench-hh-{i}"));
    if let Some(threads) = threads {
        builder = builder.num_threads(threads);
    }
    builder
        .build()
        .context("failed to start the benchmark thread pool")
}

fn run_train(args: &TrainBenchArgs) -> anyhow::Result<()> {
    let kind: hhlab::nn::ModelKind = args.model.parse()?;
    anyhow::ensure!(
        args.batch_size > 0,
        "invalid --batch-size 0: expected at least 1"
    );
    anyhow::ensure!(args.batches > 0, "invalid --batches 0: expected at least 1");

    let samples_per_sec = measure_train_throughput(kind, args.batch_size, args.batches)?;
    print_json(&TrainReport {
        tool: "hhlab",
        model: kind.to_string(),
        batch_size: args.batch_size,
        batches: args.batches,
        samples_per_sec,
    })
}

/// Training samples per second of `kind`, timed after one warm-up batch.
fn measure_train_throughput(
    kind: hhlab::nn::ModelKind,
    batch_size: usize,
    batches: usize,
) -> anyhow::Result<f64> {
    hhlab::train::bench::measure_throughput(kind, batch_size, batches)
        .with_context(|| format!("failed to measure the training throughput of {kind}"))
}

fn run_gui(args: &GuiBenchArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.points > 0 && args.traces > 0,
        "invalid --points {} or --traces {}: expected at least 1 each",
        args.points,
        args.traces
    );
    let times = hhlab::app::bench::measure_frames(args.points, args.traces);
    print_json(&GuiReport {
        tool: "hhlab",
        points: args.points,
        traces: args.traces,
        first_frame_ms: times.first_ms,
        growing_data_ms: times.growing_data_ms,
        replaced_data_ms: times.replaced_data_ms,
        static_data_ms: times.static_data_ms,
    })
}

/// Writes `value` as one JSON line on stdout.
fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    let line = serde_json::to_string(value)?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{line}").context("failed to write the benchmark result to stdout")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_indices_span_population() {
        assert_eq!(sample_indices(100, 5), vec![0, 24, 49, 74, 99]);
        assert_eq!(sample_indices(3, 10), vec![0, 1, 2]);
        assert_eq!(sample_indices(7, 1), vec![0]);
        assert!(sample_indices(7, 0).is_empty());
    }
}
