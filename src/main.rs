//! The hhlab command line: no subcommand opens the GUI; subcommands run headless.

mod cli;

use std::process::ExitCode;

use clap::Parser;

/// Runs the command and prints a failure as one line of causes, `error: what: why`.
///
/// Returning the error from `main` instead would print a backtrace whenever `RUST_BACKTRACE`
/// is set, which buries the message and its fix for someone who only mistyped a value.
#[allow(clippy::print_stderr)]
fn main() -> ExitCode {
    cli::init_logging();
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
