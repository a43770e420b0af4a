//! The shipped simulation presets: each loads, equals the built-in default it describes,
//! and survives a save/load round trip.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::path::PathBuf;

use hhlab::neuron::stimulus::Waveform;
use hhlab::preset::sim::SimPreset;
use hhlab::preset::{load_ron, save_ron};

fn preset_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("presets")
        .join(name)
}

fn shipped() -> Vec<(&'static str, SimPreset)> {
    vec![
        ("chain-const.ron", SimPreset::chain(Waveform::Const)),
        ("chain-sine.ron", SimPreset::chain(Waveform::Sine)),
        ("chain-square.ron", SimPreset::chain(Waveform::Square)),
        ("chain-sawtooth.ron", SimPreset::chain(Waveform::Sawtooth)),
        ("chain-triangle.ron", SimPreset::chain(Waveform::Triangle)),
        ("xor.ron", SimPreset::xor()),
        ("fully-connected.ron", SimPreset::fully_connected()),
    ]
}

#[test]
fn shipped_presets_equal_defaults() {
    for (file, expected) in shipped() {
        let loaded: SimPreset = load_ron(&preset_path(file)).unwrap();
        assert_eq!(loaded, expected, "{file}");
    }
}

#[test]
fn shipped_presets_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    for (file, _) in shipped() {
        let loaded: SimPreset = load_ron(&preset_path(file)).unwrap();
        let copy = dir.path().join(file);
        save_ron(&loaded, &copy).unwrap();
        let reloaded: SimPreset = load_ron(&copy).unwrap();
        assert_eq!(reloaded, loaded, "{file}");
    }
}
