//! `hhlab data`.

/// Arguments of `hhlab data`.
#[derive(Debug, clap::Args)]
pub struct DataArgs {}

/// Runs `hhlab data`.
pub fn run(_args: DataArgs) -> anyhow::Result<()> {
    anyhow::bail!("hhlab data is not built yet")
}
