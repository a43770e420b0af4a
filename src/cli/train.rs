//! `hhlab train PRESET --out DIR`: trains a classifier headless with a progress bar and
//! writes the same run folder as the GUI.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

use hhlab::data::resolve_data_dir;
use hhlab::preset::apply_overrides;
use hhlab::preset::train::AnyTrainPreset;
use hhlab::train::folder::RUN_RECORD_FILE;
use hhlab::train::metrics::{TEST_ACCURACY_TASK1, TEST_ACCURACY_TASK2};
use hhlab::train::record::preset_changes;
use hhlab::train::{self, RunConfig, RunEvent, RunOutcome, RunRecord};

/// Arguments of `hhlab train`.
#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// Preset file (RON): a Multi-MNIST classifier (e.g. presets/multitask-HH_fc.ron) or the
    /// MNIST classifier for the simulation (presets/mnist-mlp.ron).
    pub preset: PathBuf,
    /// Run folder to write; created when missing.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Seed of weights, pairing, shuffles and noise; replaces the preset's `seed`.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Replaces a preset field, FIELD=VALUE with VALUE in RON syntax (repeatable), e.g.
    /// --set epochs=1 --set learning_rate=0.001. Fields: model (LIF_fc, HH_fc, ANN, CNN, ...),
    /// dataset, epochs, batch_size (samples per step), learning_rate (Adam step size),
    /// weight_decay (L2 factor), lr_milestones (epochs where the rate drops), lr_gamma (rate
    /// factor at each milestone), train_samples and test_samples (Some(n) or None for all),
    /// noise_amplitude (amplitude of the fixed input noise, pixels on the 0-255 scale), seed,
    /// scale_to_unit (true divides pixels by 255),
    /// threads (Some(n) or None).
    #[arg(long = "set", value_name = "FIELD=VALUE")]
    pub sets: Vec<String>,
    /// Folder holding mnist/ and fashion-mnist/ (default: $HHLAB_DATA, else the platform
    /// data folder).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Continue the run in --out from its last checkpoint, with the preset recorded in its
    /// run.ron (PRESET is then only compared with it); --set and --seed apply on top, e.g.
    /// --set epochs=5 extends the run, and run.ron lists each change.
    #[arg(long)]
    pub resume: bool,
}

/// Runs `hhlab train`.
pub fn run(args: TrainArgs) -> anyhow::Result<()> {
    let mut sets = args.sets.clone();
    if let Some(seed) = args.seed {
        sets.push(format!("seed={seed}"));
    }
    let preset = if args.resume {
        resumed_preset(&args, &sets)?
    } else {
        AnyTrainPreset::load(&args.preset, &sets).map_err(|error| {
            let text = error.to_string();
            if text.contains("unknown field `name`") || text.contains("unknown field `experiment`")
            {
                anyhow::anyhow!(
                    "{text}\nhint: this looks like a simulation preset; run `hhlab simulate {} --out DIR`",
                    args.preset.display()
                )
            } else {
                error.into()
            }
        })?
    };
    let data_dir = resolve_data_dir(args.data_dir.as_deref())?;

    match preset {
        AnyTrainPreset::MultiTask(preset) => {
            let mut config = RunConfig::new(preset, args.out.clone(), data_dir);
            config.resume = args.resume;
            run_multitask(&config)
        }
        AnyTrainPreset::MnistMlp(preset) => {
            if args.resume {
                anyhow::bail!("--resume is not supported for the MNIST classifier; run it again");
            }
            let weights = train::mnist::run_blocking(&preset, &args.out, &data_dir)?;
            writeln!(
                std::io::stdout(),
                "wrote {} (test accuracy {:.2}%)",
                weights.path.display(),
                weights.test_accuracy_pct
            )?;
            Ok(())
        }
    }
}

/// Returns the preset of a resumed run: the one recorded in `--out`/run.ron, with `sets`
/// applied on top. A PRESET argument that differs from the record is reported and ignored.
fn resumed_preset(args: &TrainArgs, sets: &[String]) -> anyhow::Result<AnyTrainPreset> {
    let record_path = args.out.join(RUN_RECORD_FILE);
    if !record_path.exists() {
        anyhow::bail!(
            "cannot resume {}: it has no {RUN_RECORD_FILE}; start the run without --resume",
            args.out.display()
        );
    }
    let record = RunRecord::read(&args.out)?;
    match AnyTrainPreset::load(&args.preset, &[]) {
        Ok(AnyTrainPreset::MultiTask(given)) => {
            let changes = preset_changes(&record.preset, &given);
            if !changes.is_empty() {
                tracing::warn!(
                    "{} differs from the preset recorded in {} ({}); resuming with the recorded one",
                    args.preset.display(),
                    record_path.display(),
                    changes.join(", ")
                );
            }
        }
        Ok(AnyTrainPreset::MnistMlp(_)) => {
            anyhow::bail!("--resume is not supported for the MNIST classifier; run it again");
        }
        Err(error) => tracing::warn!(
            "cannot read {} ({error}); resuming with the preset recorded in {}",
            args.preset.display(),
            record_path.display()
        ),
    }
    let preset = apply_overrides(record.preset, sets)?;
    preset.validate()?;
    Ok(AnyTrainPreset::MultiTask(preset))
}

fn run_multitask(config: &RunConfig) -> anyhow::Result<()> {
    let bar = ProgressBar::hidden();
    bar.set_style(
        ProgressStyle::with_template(
            "{elapsed_precise} [{bar:40}] {pos}/{len} steps, {msg}, ETA {eta_precise}",
        )
        .context("invalid progress bar template")?
        .progress_chars("=> "),
    );
    let mut last_accuracy = (None, None);
    let cancel = AtomicBool::new(false);

    let outcome = train::run_blocking(config, &cancel, |event| match event {
        RunEvent::Started { total_steps, .. } => {
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            bar.set_length(total_steps);
        }
        RunEvent::Progress {
            step,
            samples_per_sec,
            ..
        } => {
            bar.set_position(step);
            bar.set_message(format!("{samples_per_sec:.0} samples/s"));
        }
        RunEvent::Metric { name, value, .. } => {
            if name == TEST_ACCURACY_TASK1 {
                last_accuracy.0 = Some(value);
            } else if name == TEST_ACCURACY_TASK2 {
                last_accuracy.1 = Some(value);
            }
        }
        RunEvent::Log(line) => bar.println(line),
        RunEvent::Finished | RunEvent::Cancelled { .. } | RunEvent::Failed { .. } => {
            bar.finish_and_clear();
        }
    })?;

    let folder = config.out_dir.display();
    let summary = match (outcome, last_accuracy) {
        (RunOutcome::Finished, (Some(task1), Some(task2))) => {
            format!("finished: test accuracy {task1:.2}% / {task2:.2}%, run folder {folder}")
        }
        (RunOutcome::Finished, _) => format!("finished: run folder {folder}"),
        (RunOutcome::Cancelled { step }, _) => {
            format!("cancelled after step {step}: run folder {folder}")
        }
    };
    writeln!(std::io::stdout(), "{summary}")?;
    Ok(())
}
