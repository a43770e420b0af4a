//! `hhlab train`.

/// Arguments of `hhlab train`.
#[derive(Debug, clap::Args)]
pub struct TrainArgs {}

/// Runs `hhlab train`.
pub fn run(_args: TrainArgs) -> anyhow::Result<()> {
    anyhow::bail!("hhlab train is not built yet")
}
