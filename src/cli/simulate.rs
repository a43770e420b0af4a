//! `hhlab simulate`.

/// Arguments of `hhlab simulate`.
#[derive(Debug, clap::Args)]
pub struct SimulateArgs {}

/// Runs `hhlab simulate`.
pub fn run(_args: SimulateArgs) -> anyhow::Result<()> {
    anyhow::bail!("hhlab simulate is not built yet")
}
