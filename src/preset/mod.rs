//! Presets: the RON schema of every run kind, loading with located errors and overrides.
