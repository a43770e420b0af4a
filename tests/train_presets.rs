//! The shipped training presets parse and hold the reference settings.

use std::path::Path;

use hhlab::nn::ModelKind;
use hhlab::preset::train::{AnyTrainPreset, TrainPreset};

fn presets_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/presets"))
}

fn load(name: &str) -> TrainPreset {
    let path = presets_dir().join(name);
    match AnyTrainPreset::load(&path, &[]) {
        Ok(AnyTrainPreset::MultiTask(preset)) => preset,
        other => panic!("{name}: expected a multitask preset, got {other:?}"),
    }
}

#[test]
fn multitask_presets_use_reference_settings() {
    for kind in ModelKind::ALL {
        let name = format!("multitask-{kind}.ron");
        let preset = load(&name);
        assert_eq!(preset.model, kind, "{name}");
        assert_eq!(preset.epochs, 40, "{name}");
        assert_eq!(preset.batch_size, 128, "{name}");
        assert_eq!(preset.train_samples, None, "{name}: all 120,000 samples");
        assert_eq!(preset.test_samples, None, "{name}: all 20,000 samples");
        assert_eq!(preset.noise_amplitude, 0.0, "{name}");
        assert!(!preset.scale_to_unit, "{name}: raw 0–255 pixels");
        assert_eq!(preset.optim_config(), kind.optim_config(), "{name}");
    }
}

#[test]
fn noise_presets_cover_fc_models() {
    let fc_models = [
        ModelKind::LifFc,
        ModelKind::FourLifFc,
        ModelKind::HhFc,
        ModelKind::LifHhFc,
        ModelKind::Ann,
    ];
    for kind in fc_models {
        for amplitude in [25, 50, 75] {
            let name = format!("noise-{kind}-A{amplitude}.ron");
            let preset = load(&name);
            assert_eq!(preset.model, kind, "{name}");
            assert_eq!(preset.noise_amplitude, amplitude as f32, "{name}");
            assert_eq!(preset.epochs, 40, "{name}");
        }
    }
}

#[test]
fn overrides_apply_to_shipped_preset() {
    let path = presets_dir().join("multitask-HH_fc.ron");
    let sets = ["epochs=1".to_string(), "train_samples=24000".to_string()];
    let Ok(AnyTrainPreset::MultiTask(preset)) = AnyTrainPreset::load(&path, &sets) else {
        panic!("multitask-HH_fc.ron must load");
    };
    assert_eq!(preset.epochs, 1);
    assert_eq!(preset.train_samples, Some(24_000));
}

#[test]
fn unknown_model_name_lists_valid_names() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bad.ron");
    std::fs::write(&path, "(model: HH_fully, epochs: 1)").expect("write");

    let error = AnyTrainPreset::load(&path, &[]).expect_err("unknown model");
    let text = error.to_string();
    assert!(text.contains("bad.ron:1:"), "{text}");
    assert!(text.contains("HH_fully"), "{text}");
    for kind in ModelKind::ALL {
        assert!(text.contains(kind.name()), "{text} should list {kind}");
    }
}
