//! Training runs: worker threads, typed events, run folders and checkpoints.
