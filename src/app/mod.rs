//! The eframe application: one module per tab, shared plot widgets and the run manager.

/// Opens the main window on the default simulation.
pub fn run_native() -> anyhow::Result<()> {
    anyhow::bail!("the GUI is not built yet")
}
