//! `hhlab bench`: throughput measurements printed as JSON, read by the comparison scripts.

/// Arguments of `hhlab bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {}

/// Runs `hhlab bench`.
pub fn run(_args: BenchArgs) -> anyhow::Result<()> {
    anyhow::bail!("hhlab bench is not built yet")
}
