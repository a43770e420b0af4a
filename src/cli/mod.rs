//! Command-line definitions and dispatch. Each subcommand lives in its own file.

pub mod bench;
pub mod data;
pub mod simulate;
pub mod train;

use clap::{Parser, Subcommand};

/// hhlab: Hodgkin–Huxley neurons versus networks of LIF neurons, live and headless.
#[derive(Debug, Parser)]
#[command(name = "hhlab", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Options of the GUI (used when no subcommand is given).
    #[command(flatten)]
    pub gui: hhlab::app::GuiArgs,
}

/// The headless subcommands. Without one, hhlab opens the GUI.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a simulation preset headless and write its run folder.
    Simulate(simulate::SimulateArgs),
    /// Train a classifier preset headless and write its run folder.
    Train(train::TrainArgs),
    /// Manage datasets.
    Data(data::DataArgs),
    /// Measure throughput and print it as JSON.
    Bench(bench::BenchArgs),
}

/// Sets up `tracing` output on stderr; `RUST_LOG` selects the level (default `info`).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

/// Dispatches to the subcommand, or opens the GUI when there is none.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        None => hhlab::app::run_native(cli.gui),
        Some(Command::Simulate(args)) => simulate::run(args),
        Some(Command::Train(args)) => train::run(args),
        Some(Command::Data(args)) => data::run(args),
        Some(Command::Bench(args)) => bench::run(args),
    }
}
