//! `hhlab data`: downloads datasets (`fetch`) and reports the contents of the data folder
//! (`info`).
//!
//! The data folder is `--data-dir`, else `HHLAB_DATA`, else the platform data folder
//! (`~/.local/share/hhlab` on Linux). Nothing is downloaded except by `hhlab data fetch`.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use hhlab::data::fetch::{self, FetchOptions, FetchOutcome};
use hhlab::data::{load_split, resolve_data_dir, DataError, DatasetKind, Split, CLASS_COUNT};

/// Arguments of `hhlab data`.
#[derive(Debug, Args)]
pub struct DataArgs {
    #[command(subcommand)]
    pub command: DataCommand,
}

/// The `hhlab data` subcommands.
#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Download the four IDX files of a dataset, verify their SHA-256 and resume partial
    /// downloads.
    Fetch(FetchArgs),
    /// Print which datasets the data folder contains, with counts, shapes and label counts.
    Info(InfoArgs),
}

/// Arguments of `hhlab data fetch`.
#[derive(Debug, Args)]
pub struct FetchArgs {
    /// Dataset to download.
    #[arg(value_enum)]
    pub dataset: DatasetKind,
    /// Data folder (default: HHLAB_DATA, else the platform data folder).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// URL prefix of the four files, instead of the official location.
    #[arg(long)]
    pub base_url: Option<String>,
    /// Do not draw progress bars.
    #[arg(long)]
    pub no_progress: bool,
}

/// Arguments of `hhlab data info`.
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// Data folder (default: HHLAB_DATA, else the platform data folder).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Also compare each file with the SHA-256 of the official download (MNIST: the
    /// decompressed files, Fashion-MNIST: the .gz files).
    #[arg(long)]
    pub verify: bool,
}

/// Runs `hhlab data`.
pub fn run(args: DataArgs) -> anyhow::Result<()> {
    match args.command {
        DataCommand::Fetch(args) => run_fetch(args),
        DataCommand::Info(args) => run_info(args),
    }
}

fn run_fetch(args: FetchArgs) -> anyhow::Result<()> {
    let data_dir = resolve_data_dir(args.data_dir.as_deref())?;
    let mut options = FetchOptions::official(args.dataset, &data_dir);
    if let Some(base_url) = args.base_url {
        options.base_url = base_url;
    }
    options.show_progress = !args.no_progress;

    let fetched = fetch::fetch(args.dataset, &options)?;

    let mut out = std::io::stdout().lock();
    for file in fetched {
        let status = match file.outcome {
            FetchOutcome::AlreadyPresent => "already present, verified".to_string(),
            FetchOutcome::Downloaded { resumed_from: 0 } => "downloaded, verified".to_string(),
            FetchOutcome::Downloaded { resumed_from } => {
                format!("downloaded (resumed at byte {resumed_from}), verified")
            }
        };
        writeln!(out, "{}: {status}", file.path.display())?;
    }
    Ok(())
}

fn run_info(args: InfoArgs) -> anyhow::Result<()> {
    let data_dir = resolve_data_dir(args.data_dir.as_deref())?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "data folder: {}", data_dir.display())?;

    for kind in DatasetKind::ALL {
        for split in Split::ALL {
            let line = match load_split(&data_dir, kind, split) {
                Ok(data) => describe(&data),
                Err(DataError::MissingDataset { fetch_command, .. }) => {
                    format!("missing; download with `{fetch_command}`")
                }
                Err(err) => format!("invalid: {err}"),
            };
            writeln!(out, "{kind} {split}: {line}")?;
        }
        if args.verify {
            for line in verify_lines(&data_dir, kind) {
                writeln!(out, "  {line}")?;
            }
        }
    }
    Ok(())
}

fn describe(data: &hhlab::data::LabeledImages) -> String {
    let mut histogram = [0usize; CLASS_COUNT];
    for &label in &data.labels {
        histogram[label as usize] += 1;
    }
    format!(
        "{} images of {}×{} u8, label counts 0–9 {:?}",
        data.count, data.rows, data.cols, histogram
    )
}

fn verify_lines(data_dir: &Path, kind: DatasetKind) -> Vec<String> {
    let folder = kind.folder(data_dir);
    fetch::official_files(kind)
        .iter()
        .map(|file| {
            let path = folder.join(&file.name);
            if !path.is_file() {
                return format!("{}: not checked, the .gz file is missing", file.name);
            }
            match fetch::verify_file(&path, file) {
                Ok(()) => format!("{}: matches the official SHA-256", file.name),
                // A rebuilt or recompressed copy can be valid and still differ.
                Err(DataError::ChecksumMismatch { content, found, .. }) => format!(
                    "{}: differs from the official download ({content} SHA-256 {found})",
                    file.name
                ),
                Err(err) => format!("{}: {err}", file.name),
            }
        })
        .collect()
}
