//! The hhlab command line: no subcommand opens the GUI; subcommands run headless.

mod cli;

use clap::Parser;

fn main() -> anyhow::Result<()> {
    cli::init_logging();
    let args = cli::Cli::parse();
    cli::run(args)
}
