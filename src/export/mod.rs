//! CSV and PNG export of traces, spikes and metrics.
